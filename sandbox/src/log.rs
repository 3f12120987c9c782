//! The request log (`--log PATH`): one JSON line per request, appended and flushed before the response
//! goes out, so a test that has its response can read the line. It never contains the token.
//!
//! Fields: `seq` (request number, also the fault dice index), `ts` (RFC 3339, microseconds, UTC),
//! `unix_ms` (float milliseconds since the epoch, when the request arrived), `method`, `path`, `status`
//! (0 for a connection closed without response), `fault` (null, "429", "5xx", "reset", "truncate"),
//! `token_index` (which accepted token, never the token itself; null if none), `account` (the ACCOUNT of a
//! `--token NAME@ACCOUNT`; null for a plain token, which is its own account, or none), `detail` (error text or
//! first 422 type), `query` (short hash of the query; null before the body is valid), `size`, `position`
//! (offset in the result list where the page starts, 0 for the first page), `page` (page number of the
//! walk from the cursor, 0 without cursor), `people` (people in the body), `next_position`, `total`,
//! `end` (the response signals the end of results), `window_cut` (`--window` changed the answer: the page
//! was cut at the window, lost its cursor there, or was answered per `--window-style`), `credits_charged`,
//! `balance` (after the request; null when unlimited), `delay_ms` (injected latency).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::SandboxError;

#[derive(Debug, Default, Serialize)]
pub(crate) struct Record {
    pub seq: u64,
    pub ts: String,
    pub unix_ms: f64,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub fault: Option<&'static str>,
    pub token_index: Option<usize>,
    pub account: Option<String>,
    pub detail: Option<String>,
    pub query: Option<String>,
    pub size: Option<u64>,
    pub position: Option<u64>,
    pub page: Option<u32>,
    pub people: Option<u64>,
    pub next_position: Option<u64>,
    pub total: Option<u64>,
    pub end: Option<bool>,
    pub window_cut: bool,
    pub credits_charged: f64,
    pub balance: Option<f64>,
    pub delay_ms: u64,
}

impl Record {
    pub fn new(seq: u64, arrived: SystemTime, method: &str, path: &str) -> Record {
        let since_epoch = arrived.duration_since(SystemTime::UNIX_EPOCH).unwrap_or(Duration::ZERO);
        let ts = jiff::Timestamp::try_from(arrived).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        Record {
            seq,
            ts: format!("{ts:.6}"),
            unix_ms: since_epoch.as_micros() as f64 / 1000.0,
            method: method.to_string(),
            path: path.to_string(),
            ..Record::default()
        }
    }
}

pub(crate) struct RequestLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl RequestLog {
    pub fn open(path: &Path) -> Result<RequestLog, SandboxError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| SandboxError::Io { path: path.to_path_buf(), source })?;
        Ok(RequestLog { path: path.to_path_buf(), file: Mutex::new(file) })
    }

    /// One `write` per line on an append-mode file, so lines never interleave.
    pub fn write(&self, record: &Record) {
        let mut line = serde_json::to_vec(record).unwrap_or_default();
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = file.write_all(&line).and_then(|()| file.flush()) {
            tracing::warn!("sandbox: cannot write the request log {}: {e}", self.path.display());
        }
    }
}
