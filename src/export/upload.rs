//! Publishing a finished file to object storage: streamed by multipart upload under a temporary key in
//! bounded memory, verified (length, the store's ETag against the MD5s computed while streaming, the
//! SHA-256 the checkpoint sealed), then made visible at its key in one step by a server-side copy: a
//! conditional one (the key appears only if no object is there) unless `--overwrite`.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use md5::Md5;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};

use crate::sink::Sealed;
use crate::storage::{ObjectTarget, StorageError, scrub};

/// Bytes per uploaded part (S3 takes 5 MiB to 5 GiB, at most 10 000 parts: files up to 80 GiB).
pub const PART: usize = 8 << 20;
/// Parts uploading at once: memory is about `PART` × (`IN_FLIGHT` + 1).
pub const IN_FLIGHT: usize = 4;
/// What is read from the local file at a time.
const READ: usize = 1 << 20;

/// The suffix of the key an upload goes to before it is verified and made visible.
pub const TEMP_SUFFIX: &str = ".ocean-export-upload";

/// What was sent, as computed while sending.
struct Streamed {
    bytes: u64,
    sha256: String,
    /// The ETag S3-compatible stores give such an upload: the MD5 of the bytes for one `PUT`, the MD5 of
    /// the parts' MD5s and `-N` for a multipart upload.
    etag: String,
}

/// Uploads `local` (sealed as `sealed`) to `target`. Without `overwrite`, an object already at the key is
/// left untouched and refused, unless it is this very file (an earlier run uploaded it and stopped before
/// recording that).
pub async fn publish(
    store: &Arc<dyn ObjectStore>,
    local: &Path,
    sealed: &Sealed,
    target: &ObjectTarget,
    overwrite: bool,
) -> Result<(), StorageError> {
    let url = target.url();
    let failed = |e: object_store::Error| StorageError::from_store(&url, e);
    let key = Key::parse(&target.key).map_err(|e| failed(e.into()))?;
    if !overwrite {
        match store.head(&key).await {
            Ok(meta) => {
                if meta.size == sealed.bytes && object_sha256(store, &key).await.map_err(failed)? == sealed.sha256 {
                    tracing::info!("{url} already holds this export's file; not uploading it again");
                    return Ok(());
                }
                return Err(StorageError::Exists { url });
            }
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(failed(e)),
        }
    }
    let temp = Key::parse(format!("{}{TEMP_SUFFIX}", target.key)).map_err(|e| failed(e.into()))?;
    tracing::info!(bytes = sealed.bytes, "uploading to {url}");
    let streamed = stream(store, local, &temp, sealed.bytes).await.map_err(|e| match e {
        Sent::Local(source) => StorageError::Local { path: local.to_owned(), source },
        Sent::Store(e) => failed(e),
    })?;
    if streamed.bytes != sealed.bytes || streamed.sha256 != sealed.sha256 {
        let _ = store.delete(&temp).await;
        return Err(StorageError::Local {
            path: local.to_owned(),
            source: std::io::Error::other("the file changed since it was finished (its length or SHA-256 differs)"),
        });
    }
    verify(store, &temp, &streamed).await.map_err(|e| match e {
        Checked::Store(e) => failed(e),
        Checked::Differs(what) => StorageError::Verify { url: url.clone(), what },
    })?;
    let made = if overwrite { store.copy(&temp, &key).await } else { store.copy_if_not_exists(&temp, &key).await };
    match made {
        Ok(()) => {}
        Err(object_store::Error::AlreadyExists { .. }) => {
            let _ = store.delete(&temp).await;
            return Err(StorageError::Exists { url });
        }
        Err(e) => return Err(failed(e)),
    }
    if let Err(e) = store.delete(&temp).await {
        tracing::warn!("uploaded {url}, but could not delete its temporary object: {}", scrub(&e.to_string()));
    }
    tracing::info!(bytes = sealed.bytes, sha256 = %sealed.sha256, "uploaded and verified {url}");
    Ok(())
}

/// Before a new export spends anything: refuses an object already at the key (unless `overwrite`), a
/// bucket that does not exist and credentials the store does not know, so no credits are spent on an
/// export that could not be published. Credentials that may write but not read or list (a write-only
/// role) are let through with a note: the upload itself decides.
pub async fn preflight(
    store: &Arc<dyn ObjectStore>,
    target: &ObjectTarget,
    overwrite: bool,
) -> Result<(), StorageError> {
    use futures_util::StreamExt;
    let url = target.url();
    let key = Key::parse(&target.key).map_err(|e| StorageError::from_store(&url, e.into()))?;
    let tolerated = |error: StorageError| match error {
        StorageError::Denied { ref message, .. } if message.contains("AccessDenied") => {
            tracing::info!("cannot check {url} before the export ({message}); the upload will tell");
            Ok(())
        }
        other => Err(other),
    };
    let head_denied = match store.head(&key).await {
        Ok(_) if !overwrite => return Err(StorageError::Exists { url }),
        Ok(_) => return Ok(()),
        Err(object_store::Error::NotFound { .. }) => false,
        // A HEAD's answer has no body to say why: the listing below does.
        Err(object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }) => true,
        Err(e) => return Err(StorageError::from_store(&url, e)),
    };
    // A HEAD cannot tell a missing bucket from a missing key either: list one key of the folder.
    match store.list(key.parent().as_ref()).next().await {
        None | Some(Ok(_)) if head_denied => {
            tracing::info!("these credentials may not read {url}, so whether it exists is left to the upload");
            Ok(())
        }
        None | Some(Ok(_)) => Ok(()),
        Some(Err(e)) => tolerated(StorageError::from_store(&url, e)),
    }
}

/// Puts a small object (a report), replacing any.
pub async fn put_small(
    store: &Arc<dyn ObjectStore>,
    target: &ObjectTarget,
    bytes: Vec<u8>,
) -> Result<(), StorageError> {
    let url = target.url();
    let key = Key::parse(&target.key).map_err(|e| StorageError::from_store(&url, e.into()))?;
    store.put(&key, PutPayload::from(bytes)).await.map_err(|e| StorageError::from_store(&url, e))?;
    Ok(())
}

enum Sent {
    Local(std::io::Error),
    Store(object_store::Error),
}

/// Streams the file to `key`: one `PUT` when it is smaller than a part, else a multipart upload with at
/// most `IN_FLIGHT` parts sending. Reading the disk happens on a blocking thread, a megabyte at a time.
async fn stream(store: &Arc<dyn ObjectStore>, local: &Path, key: &Key, size: u64) -> Result<Streamed, Sent> {
    let file = std::fs::File::open(local).map_err(Sent::Local)?;
    let (chunks, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    // The reader thread also hashes (SHA-256) what it reads, beside the MD5s of the sending task.
    let reader = tokio::task::spawn_blocking(move || {
        let mut file = file;
        let mut sha = Sha256::new();
        loop {
            let mut buf = vec![0; READ];
            let mut filled = 0;
            while filled < READ {
                match file.read(&mut buf[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = chunks.blocking_send(Err(e));
                        return None;
                    }
                }
            }
            if filled == 0 {
                return Some(hex::encode(sha.finalize()));
            }
            buf.truncate(filled);
            sha.update(&buf);
            if chunks.blocking_send(Ok(Bytes::from(buf))).is_err() {
                return None;
            }
        }
    });
    let mut part_md5 = Md5::new();
    let mut in_part = 0usize;
    let mut part_digests = Vec::new();
    let mut bytes = 0u64;
    let result = if size < PART as u64 {
        let mut whole = Vec::with_capacity(size as usize);
        while let Some(chunk) = rx.recv().await {
            let chunk = chunk.map_err(Sent::Local)?;
            whole.extend_from_slice(&chunk);
        }
        bytes = whole.len() as u64;
        let etag = hex::encode(Md5::digest(&whole));
        store.put(key, PutPayload::from(whole)).await.map_err(Sent::Store)?;
        Ok(etag)
    } else {
        let upload = store.put_multipart(key).await.map_err(Sent::Store)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let sent: Result<(), Sent> = async {
            while let Some(chunk) = rx.recv().await {
                let chunk = chunk.map_err(Sent::Local)?;
                let mut rest = &chunk[..];
                while !rest.is_empty() {
                    let take = rest.len().min(PART - in_part);
                    part_md5.update(&rest[..take]);
                    in_part += take;
                    rest = &rest[take..];
                    if in_part == PART {
                        part_digests.extend_from_slice(&part_md5.finalize_reset());
                        in_part = 0;
                    }
                }
                bytes += chunk.len() as u64;
                writer.wait_for_capacity(IN_FLIGHT).await.map_err(Sent::Store)?;
                writer.put(chunk);
            }
            Ok(())
        }
        .await;
        match sent {
            Ok(()) => {
                writer.finish().await.map_err(Sent::Store)?;
                if in_part > 0 {
                    part_digests.extend_from_slice(&part_md5.finalize_reset());
                }
                let parts = part_digests.len() / 16;
                Ok(format!("{}-{parts}", hex::encode(Md5::digest(&part_digests))))
            }
            Err(e) => {
                // Best effort: a bucket lifecycle rule cleans up what an ill-timed crash leaves.
                let _ = writer.abort().await;
                Err(e)
            }
        }
    };
    drop(rx);
    let sha256 = reader.await.ok().flatten();
    let etag = result?;
    let sha256 = sha256.ok_or_else(|| Sent::Local(std::io::Error::other("the file could not be read to its end")))?;
    Ok(Streamed { bytes, sha256, etag })
}

enum Checked {
    Store(object_store::Error),
    Differs(String),
}

/// Checks the uploaded object: its length, and its ETag against the MD5s computed while streaming (or,
/// for a store whose ETag is no MD5, its SHA-256 read back).
async fn verify(store: &Arc<dyn ObjectStore>, key: &Key, streamed: &Streamed) -> Result<(), Checked> {
    let meta = store.head(key).await.map_err(Checked::Store)?;
    if meta.size != streamed.bytes {
        return Err(Checked::Differs(format!("the store holds {} bytes, {} were sent", meta.size, streamed.bytes)));
    }
    let etag = meta.e_tag.as_deref().unwrap_or("").trim_matches('"').to_ascii_lowercase();
    let md5_like = {
        let hash = etag.split_once('-').map_or(etag.as_str(), |(hash, _)| hash);
        hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit())
    };
    if md5_like {
        if etag != streamed.etag {
            return Err(Checked::Differs(format!(
                "the store's checksum (ETag {etag}) is not that of the bytes sent ({})",
                streamed.etag
            )));
        }
    } else {
        let sha256 = object_sha256(store, key).await.map_err(Checked::Store)?;
        if sha256 != streamed.sha256 {
            return Err(Checked::Differs("the object read back has another SHA-256 than the file".to_owned()));
        }
    }
    Ok(())
}

/// The SHA-256 of an object, read back as a stream.
async fn object_sha256(store: &Arc<dyn ObjectStore>, key: &Key) -> Result<String, object_store::Error> {
    use futures_util::StreamExt;
    let mut stream = store.get(key).await?.into_stream();
    let mut sha = Sha256::new();
    while let Some(chunk) = stream.next().await {
        sha.update(&chunk?);
    }
    Ok(hex::encode(sha.finalize()))
}
