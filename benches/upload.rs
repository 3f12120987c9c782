//! Upload of a finished file to object storage (issue 15): `cargo bench --bench upload` (add `-- quick`
//! for 256 MiB instead of 1 GiB).
//!
//! The upload runs in a process of its own (this binary, re-run as `child`) that calls the exporter's
//! publish step (`ocean_export::export::upload::publish`: multipart to a temporary key, verify, conditional
//! copy, delete): its throughput, and its peak RSS above what it held just before the upload (VmHWM minus
//! VmRSS), for a file of random bytes in `/dev/shm` (else target/tmp).
//!
//! Two servers:
//! 1. moto's server mode from `.venv/` (the tests' S3-compatible server; Python, so likely the ceiling);
//! 2. a null S3 server in this process (wiremock with a responder that answers the S3 calls the upload
//!    makes, keeping only each part's MD5 for the ETags): the exporter's own side.
//!
//! Targets: at least 100 MiB/s to the local server, peak RSS at most 64 MiB above the export's own.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use md5::{Digest as _, Md5};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        return child(&args[2], &args[3]);
    }
    let quick = args.iter().any(|a| a == "quick");
    let mib: usize = if quick { 256 } else { 1024 };
    let dir = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp")
    };
    std::fs::create_dir_all(&dir).unwrap();
    let file = tempfile::Builder::new().prefix("upload-bench-").tempfile_in(&dir).unwrap();
    {
        let mut out = std::io::BufWriter::new(file.as_file());
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..mib {
            for chunk in block.chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
            }
            out.write_all(&block).unwrap();
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "upload of {mib} MiB (parts of 8 MiB, 4 in flight), {}; load average {}",
        file.path().display(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );

    // 1. Null server.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let server = runtime.block_on(null_server());
    run_child("null S3 server (the exporter's side)", &server.uri(), file.path());
    drop(server);

    // 2. moto.
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin");
    if !venv.join("moto_server").exists() {
        println!("   moto: SKIPPED (no .venv/bin/moto_server; pip install -r tests/python/requirements.txt)");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut moto = Command::new(venv.join("moto_server"))
        .args(["-p", &port.to_string(), "-H", "127.0.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = Command::new(venv.join("python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/s3.py"))
        .args(["setup", &endpoint, "bench"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    run_child("moto server mode", &endpoint, file.path());
    let _ = moto.kill();
    let _ = moto.wait();
}

/// Runs the upload in a child process and prints its figures.
fn run_child(label: &str, endpoint: &str, file: &Path) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["child", endpoint, &file.display().to_string()])
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        println!("   {label}: FAILED\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        return;
    }
    let fields: Vec<f64> = stdout.split_whitespace().map(|f| f.parse().unwrap()).collect();
    let (seconds, mib, rss_before, rss_peak, cpu) = (fields[0], fields[1], fields[2], fields[3], fields[4]);
    let rate = mib / seconds;
    let above = rss_peak - rss_before;
    println!(
        "   {label:<38} {seconds:>6.2} s  {rate:>7.1} MiB/s (target >= 100: {})  CPU {cpu:.1} s (with the file's SHA-256 before)  RSS {rss_before:.1} -> peak {rss_peak:.1} MiB, +{above:.1} MiB (target <= 64: {})",
        if rate >= 100.0 { "met" } else { "NOT met" },
        if above <= 64.0 { "met" } else { "NOT met" },
    );
}

/// `VmRSS` and `VmHWM` of this process, in MiB.
fn rss() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The child: uploads `file` with the exporter's publish step; prints seconds, MiB, RSS before, peak RSS.
fn child(_endpoint: &str, file: &str) {
    let path = Path::new(file);
    let bytes = std::fs::metadata(path).unwrap().len();
    let sha256 = ocean_export::sink::file_sha256(path).unwrap();
    let sealed = ocean_export::sink::Sealed { bytes, sha256 };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let target = ocean_export::storage::parse("s3://bench/people/export.ndjson").unwrap();
    let store = ocean_export::storage::client(&target.bucket).unwrap();
    let (before, _) = rss();
    let start = Instant::now();
    runtime
        .block_on(ocean_export::export::upload::publish(&store, path, &sealed, &target, true))
        .unwrap_or_else(|e| panic!("{e}"));
    let seconds = start.elapsed().as_secs_f64();
    let (_, peak) = rss();
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let cpu = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu = cpu(usage.ru_utime) + cpu(usage.ru_stime);
    println!("{seconds} {} {before} {peak} {cpu}", bytes as f64 / (1 << 20) as f64);
}

/// The objects of the null server: key → (size, ETag); the parts of open uploads: upload id → part MD5s.
#[derive(Default)]
struct Store {
    objects: HashMap<String, (u64, String)>,
    parts: HashMap<String, Vec<(u32, [u8; 16], u64)>>,
    next: u64,
}

/// An S3 endpoint that discards what it is sent, answering the calls of an upload: HEAD, PUT (an object,
/// a part, a part copied), POST (start and complete a multipart upload), DELETE.
struct NullS3(Arc<Mutex<Store>>);

impl wiremock::Respond for NullS3 {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        use wiremock::ResponseTemplate as R;
        let mut store = self.0.lock().unwrap();
        let key = request.url.path().to_owned();
        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        let xml = |body: String| R::new(200).insert_header("content-type", "application/xml").set_body_string(body);
        match request.method.as_str() {
            "HEAD" | "GET" => match store.objects.get(&key) {
                Some((size, etag)) => R::new(200)
                    .insert_header("content-length", size.to_string().as_str())
                    .insert_header("etag", format!("\"{etag}\"").as_str())
                    .insert_header("last-modified", "Tue, 01 Dec 2026 00:00:00 GMT"),
                None => R::new(404),
            },
            "POST" if query.contains_key("uploads") => {
                store.next += 1;
                let id = format!("u{}", store.next);
                store.parts.insert(id.clone(), Vec::new());
                xml(format!(
                    "<InitiateMultipartUploadResult><Bucket>bench</Bucket><Key>{key}</Key><UploadId>{id}</UploadId></InitiateMultipartUploadResult>"
                ))
            }
            "POST" => {
                let id = query.get("uploadId").cloned().unwrap_or_default();
                let mut parts = store.parts.remove(&id).unwrap_or_default();
                parts.sort_by_key(|p| p.0);
                let mut all = Md5::new();
                for part in &parts {
                    all.update(part.1);
                }
                let etag = format!("{}-{}", hex::encode(all.finalize()), parts.len());
                let size = parts.iter().map(|p| p.2).sum();
                store.objects.insert(key, (size, etag.clone()));
                xml(format!("<CompleteMultipartUploadResult><ETag>\"{etag}\"</ETag></CompleteMultipartUploadResult>"))
            }
            "PUT" => {
                let copied = request.headers.get("x-amz-copy-source").map(|v| v.to_str().unwrap_or("").to_owned());
                let (size, digest) = match &copied {
                    Some(source) => {
                        let source = format!("/{}", source.trim_start_matches('/'));
                        let (size, _) = store.objects.get(&source).cloned().unwrap_or((0, String::new()));
                        (size, [0u8; 16])
                    }
                    None => (request.body.len() as u64, Md5::digest(&request.body).into()),
                };
                match (query.get("uploadId"), query.get("partNumber")) {
                    (Some(id), Some(number)) => {
                        let number: u32 = number.parse().unwrap_or(1);
                        store.parts.entry(id.clone()).or_default().push((number, digest, size));
                        let etag = hex::encode(digest);
                        match copied {
                            Some(_) => xml(format!("<CopyPartResult><ETag>\"{etag}\"</ETag></CopyPartResult>")),
                            None => R::new(200).insert_header("etag", format!("\"{etag}\"").as_str()),
                        }
                    }
                    _ => {
                        let etag = hex::encode(digest);
                        store.objects.insert(key, (size, etag.clone()));
                        match copied {
                            Some(_) => xml(format!("<CopyObjectResult><ETag>\"{etag}\"</ETag></CopyObjectResult>")),
                            None => R::new(200).insert_header("etag", format!("\"{etag}\"").as_str()),
                        }
                    }
                }
            }
            "DELETE" => {
                store.objects.remove(&key);
                R::new(204)
            }
            _ => R::new(400),
        }
    }
}

async fn null_server() -> wiremock::MockServer {
    let server = wiremock::MockServer::builder().disable_request_recording().start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(NullS3(Arc::new(Mutex::new(Store::default()))))
        .mount(&server)
        .await;
    server
}
