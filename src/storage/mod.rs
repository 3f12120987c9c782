//! Object storage: where an output goes when its path is an `s3://bucket/key` address, and the client
//! that reaches it. The export itself always runs on local disk (the partial file and the checkpoint stay
//! in `state_dir`); the finished file is uploaded at publish (`export::upload`).
//!
//! Only S3 and S3-compatible stores (MinIO, Cloudflare R2, Ceph, GCS's S3 interoperability endpoint via
//! `AWS_ENDPOINT_URL`) are supported. `gs://` and `az://` are refused with a clear message: their native
//! clients would double the build's dependencies for a path the S3 endpoint already covers.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, S3CopyIfNotExists};
use object_store::{ClientOptions, ObjectStore, RetryConfig};

/// A URL scheme at the start of a path (`s3://…`), if it has one.
pub fn url_scheme(template: &str) -> Option<&str> {
    let (scheme, _) = template.split_once("://")?;
    let mut chars = scheme.chars();
    let plain = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (plain && scheme.len() >= 2).then_some(scheme)
}

/// An object an output is uploaded to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectTarget {
    pub bucket: String,
    pub key: String,
}

impl ObjectTarget {
    /// `s3://bucket/key`.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// The object beside this one with `suffix` added to its key (the report: `.report.json`).
    pub fn beside(&self, suffix: &str) -> ObjectTarget {
        ObjectTarget { bucket: self.bucket.clone(), key: format!("{}{suffix}", self.key) }
    }
}

/// Reads an object-storage address (placeholders already filled in). The message says what is wrong.
pub fn parse(url: &str) -> Result<ObjectTarget, String> {
    let Some(scheme) = url_scheme(url) else { return Err(format!("`{url}` is not an s3:// address")) };
    match scheme {
        "s3" => {}
        "gs" | "az" | "abfs" | "abfss" | "azure" => {
            return Err(format!(
                "{scheme}:// is not supported; ocean-export uploads to s3:// (Amazon S3 and S3-compatible stores: \
                 for Google Cloud Storage use its S3 interoperability endpoint with AWS_ENDPOINT_URL=https://storage.googleapis.com and HMAC keys)"
            ));
        }
        other => {
            return Err(format!("unknown scheme {other}://; an output is a local path or an s3://bucket/key address"));
        }
    }
    let rest = &url["s3://".len()..];
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    check_bucket(bucket)?;
    check_key(key)?;
    Ok(ObjectTarget { bucket: bucket.to_owned(), key: key.to_owned() })
}

/// S3's bucket naming rules: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending
/// with a letter or digit, no `..`, not an IP address.
fn check_bucket(bucket: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("`{bucket}` is not a valid bucket name: {why}"));
    if bucket.is_empty() {
        return Err("the address names no bucket (s3://BUCKET/KEY)".to_owned());
    }
    if !(3..=63).contains(&bucket.len()) {
        return bad("bucket names have 3 to 63 characters");
    }
    if !bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-') {
        return bad("bucket names use lowercase letters, digits, dots and hyphens only");
    }
    let edge = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !edge(bucket.as_bytes()[0]) || !edge(bucket.as_bytes()[bucket.len() - 1]) {
        return bad("bucket names start and end with a letter or digit");
    }
    if bucket.contains("..") {
        return bad("two dots in a row");
    }
    if bucket.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("a bucket name is not an IP address");
    }
    Ok(())
}

/// An object key: a file name, perhaps under folders; no `.`/`..` segment, no empty one.
fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.ends_with('/') {
        return Err("the address names no object (s3://BUCKET/folder/file.csv)".to_owned());
    }
    for segment in key.split('/') {
        match segment {
            ".." => {
                return Err(format!(
                    "the object key `{key}` contains `..`; keys are written as they are, never resolved"
                ));
            }
            "." => return Err(format!("the object key `{key}` contains a `.` segment")),
            "" => return Err(format!("the object key `{key}` has an empty segment (`//`)")),
            _ => {}
        }
    }
    if key.chars().any(char::is_control) {
        return Err(format!("the object key {key:?} contains a control character"));
    }
    object_store::path::Path::parse(key).map_err(|e| format!("the object key `{key}` is not usable: {e}"))?;
    Ok(())
}

/// The client of a bucket, from the standard environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, `AWS_REGION` / `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL` (S3-compatible stores;
/// plain http allowed for loopback addresses, or with `AWS_ALLOW_HTTP=true`), web identity (EKS) and
/// instance or container credentials.
pub fn client(bucket: &str) -> Result<Arc<dyn ObjectStore>, StorageError> {
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        // A conditional copy (the object appears only if none is there) by a multipart upload that copies
        // the uploaded object and completes with If-None-Match, which S3, MinIO and moto honour.
        .with_copy_if_not_exists(S3CopyIfNotExists::Multipart)
        .with_retry(RetryConfig { max_retries: 4, retry_timeout: Duration::from_secs(120), ..RetryConfig::default() })
        .with_client_options(ClientOptions::new().with_timeout(Duration::from_secs(300)));
    if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
        builder = builder.with_region("us-east-1");
    }
    let endpoint = std::env::var("AWS_ENDPOINT_URL_S3").or_else(|_| std::env::var("AWS_ENDPOINT_URL")).ok();
    if let Some(endpoint) = endpoint.as_deref().and_then(|e| e.strip_prefix("http://")) {
        let host = endpoint.split(['/', ':']).next().unwrap_or("");
        if host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
            builder = builder.with_allow_http(true);
        }
    }
    builder
        .build()
        .map(|store| Arc::new(store) as Arc<dyn ObjectStore>)
        .map_err(|e| StorageError::Client(scrub(&e.to_string())))
}

/// Why an upload did not happen. Never carries a credential: messages from the store are [`scrub`]bed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object-storage client could not be set up (an unusable `AWS_*` variable).
    #[error("cannot set up the object-storage client: {0}")]
    Client(String),
    /// An object is already at the key, and `--overwrite` was not given. It was left untouched.
    #[error(
        "{url} already exists and was left untouched; rerun with --overwrite to replace it, or change the output path (a {{date}} or {{datetime}} placeholder gives each run its own key)"
    )]
    Exists { url: String },
    /// The store refused our credentials, or they may not write there.
    #[error(
        "object storage refused the credentials for {url} ({message}); check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (or the role) and the bucket policy"
    )]
    Denied { url: String, message: String },
    /// The bucket is not there (or these credentials cannot see it).
    #[error("the bucket of {url} does not exist, or these credentials cannot see it ({message})")]
    NoBucket { url: String, message: String },
    /// The store failed, or could not be reached.
    #[error("uploading {url} failed: {message}")]
    Failed { url: String, message: String },
    /// The uploaded object is not the file: it was not made visible.
    #[error("the upload of {url} did not verify ({what}); it was not made visible")]
    Verify { url: String, what: String },
    /// The local file could not be read.
    #[error("cannot upload {}: {source}", path.display())]
    Local { path: std::path::PathBuf, source: std::io::Error },
}

impl StorageError {
    /// Classifies an error of the store about `url`.
    pub fn from_store(url: &str, error: object_store::Error) -> StorageError {
        let message = scrub(&error.to_string());
        let url = url.to_owned();
        if message.contains("169.254.169.254") || message.contains("169.254.170.2") {
            // No keys in the environment, so the client asked the instance metadata service, which is not there.
            return StorageError::Denied {
                url,
                message: format!(
                    "no credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, and no instance or container role answered ({message})"
                ),
            };
        }
        match error {
            object_store::Error::Unauthenticated { .. } | object_store::Error::PermissionDenied { .. } => {
                StorageError::Denied { url, message }
            }
            _ if message.contains("InvalidAccessKeyId")
                || message.contains("SignatureDoesNotMatch")
                || message.contains("AccessDenied") =>
            {
                StorageError::Denied { url, message }
            }
            _ if message.contains("NoSuchBucket") => StorageError::NoBucket { url, message },
            object_store::Error::AlreadyExists { .. } => StorageError::Exists { url },
            _ => StorageError::Failed { url, message },
        }
    }
}

/// A message with every secret of the environment's credentials replaced by `***` (object_store's errors
/// quote URLs and responses, which should never carry one, but a log is no place to find out).
pub fn scrub(message: &str) -> String {
    let mut out = message.to_owned();
    for var in ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID"] {
        if let Ok(secret) = std::env::var(var)
            && secret.len() >= 4
        {
            out = out.replace(&secret, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            parse("s3://my-bucket/people/x.ndjson").unwrap(),
            ObjectTarget { bucket: "my-bucket".into(), key: "people/x.ndjson".into() }
        );
        assert!(parse("gs://b/x").unwrap_err().contains("not supported"));
        assert!(parse("ftp://bucket/x").unwrap_err().contains("unknown scheme"));
        assert!(parse("s3://Bucket/x").unwrap_err().contains("not a valid bucket name"));
        assert!(parse("s3://ab/x").unwrap_err().contains("3 to 63"));
        assert!(parse("s3://-ab/x").unwrap_err().contains("start and end"));
        assert!(parse("s3://a..b/x").unwrap_err().contains("two dots"));
        assert!(parse("s3://10.0.0.1/x").unwrap_err().contains("IP address"));
        assert!(parse("s3://bucket/a/../x").unwrap_err().contains(".."));
        assert!(parse("s3://bucket/a//x").unwrap_err().contains("empty segment"));
        assert!(parse("s3://bucket/").unwrap_err().contains("names no object"));
        assert!(parse("s3://bucket").unwrap_err().contains("names no object"));
        assert!(parse("s3:///x").unwrap_err().contains("no bucket"));
    }

    #[test]
    fn url_schemes_are_recognised() {
        assert_eq!(url_scheme("s3://bucket/x.csv"), Some("s3"));
        assert_eq!(url_scheme("gs://b/x"), Some("gs"));
        assert_eq!(url_scheme("output/x.csv"), None);
        assert_eq!(url_scheme("out/a://b.csv"), None);
        assert_eq!(url_scheme("c://x"), None);
    }
}
