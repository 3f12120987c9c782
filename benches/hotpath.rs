//! Micro-benchmark of the hot path: pages of 1 000 sandbox people (a fifth of them hostile, with 20 KB
//! summaries) through the streaming parser into the CSV and NDJSON sinks.
//!
//! `cargo bench --bench hotpath`
//!
//! Two groups:
//! - `page of 1000 people`: parse, convert and write one page into a file in `/dev/shm`, then roll the
//!   page back. This is the main thread's CPU per page without what makes a page durable: no fsync, no
//!   id set written, no SHA-256 (a rollback drops the page before any of that).
//! - `committed pages of 1000 people`: what the exporter does per page, through the same public API
//!   (`Sink::create`, the parser feeding `Sink`, `Sink::commit` after every page, `Sink::seal` and `sink::publish` at the
//!   end): the rows, the XXH3 checksum, `fdatasync` of the file, the id set's files and their fsyncs, and
//!   the SHA-256 of the output, which runs on the sink's own thread and is waited for by `publish`. Each
//!   timed round is one export of 16 pages of distinct people into a fresh folder (16 000 ids), once on
//!   `/dev/shm` (fsync costs nothing there) and once on the disk under `target/` (real fsyncs);
//!   `Sink::create` and removing the folder are not timed, `publish` is. The figure is per page.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ocean_export::api::PageParser;
use ocean_export::sink::{Compression, Format, OutputOptions, Sink, Target, columns};
use ocean_sandbox::dataset;

/// Pages per timed export in the committed group.
const ROUND: usize = 16;

/// Page `number` of 1 000 people as the API sends it, split into 64 KiB chunks as they come off the socket.
fn page(number: u64) -> Vec<Vec<u8>> {
    let people: Vec<serde_json::Value> =
        (number * 1000..(number + 1) * 1000).map(|i| dataset::person(42, i, 0.2)).collect();
    let body = serde_json::json!({"people": people, "detail": "OK", "total": 1_000_000, "searchAfter": "x", "creditsUsed": 200.0});
    serde_json::to_vec(&body).unwrap().chunks(64 * 1024).map(<[u8]>::to_vec).collect()
}

fn size(chunks: &[Vec<u8>]) -> u64 {
    chunks.iter().map(|c| c.len() as u64).sum()
}

fn shm() -> &'static Path {
    Path::new(if Path::new("/dev/shm").exists() { "/dev/shm" } else { "/tmp" })
}

/// One plain output in `format` at `path`: every column for CSV, as the benchmark always measured.
fn target(format: Format, path: PathBuf) -> Target {
    let columns = match format {
        Format::Csv => columns::resolve(Some(&columns::ColumnSpec::All), None).unwrap(),
        _ => Vec::new(),
    };
    let options = OutputOptions {
        format,
        compression: Compression::None,
        level: None,
        columns,
        neutralise_formulas: true,
        bom: false,
    };
    Target { path, options }
}

/// Feeds one page to the sink, checking that all of its people were written.
fn feed(chunks: &[Vec<u8>], sink: &mut Sink) {
    let mut parser = PageParser::new();
    for chunk in chunks {
        parser.feed(chunk, sink).unwrap();
    }
    let meta = parser.finish(sink).unwrap();
    assert_eq!(meta.people, 1000);
    assert_eq!(sink.page_counts().written, 1000, "every person is new");
}

fn parse_convert_write(c: &mut Criterion) {
    let chunks = page(0);
    let dir = tempfile::tempdir_in(shm()).unwrap();
    let mut group = c.benchmark_group("page of 1000 people");
    group.throughput(Throughput::Bytes(size(&chunks)));
    for format in [Format::Csv, Format::Ndjson] {
        let out = dir.path().join(format!("out.{}", format.extension()));
        let state = dir.path().join(format!("state-{}", format.extension()));
        std::fs::create_dir(&state).unwrap();
        let mut sink = Sink::create(&[target(format, out)], &state, 0).unwrap();
        group.bench_function(format!("parse, convert, write: {}", format.extension()), |b| {
            b.iter(|| {
                feed(&chunks, &mut sink);
                // Keep the file small and the ids fresh for the next round.
                sink.rollback().unwrap();
            })
        });
    }
    group.finish();
}

fn committed(c: &mut Criterion) {
    let pages: Vec<Vec<Vec<u8>>> = (0..ROUND as u64).map(page).collect();
    let mean = pages.iter().map(|p| size(p)).sum::<u64>() / ROUND as u64;
    let disk = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let mut group = c.benchmark_group("committed pages of 1000 people");
    group.throughput(Throughput::Bytes(mean));
    group.sample_size(20).measurement_time(Duration::from_secs(10)).sampling_mode(SamplingMode::Flat);
    for (place, root) in [("tmpfs", shm()), ("disk", disk.as_path())] {
        for format in [Format::Csv, Format::Ndjson] {
            let name = format!("parse, convert, write, commit, hash: {}, {place}", format.extension());
            group.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    let mut timed = Duration::ZERO;
                    let mut done = 0;
                    while done < iters {
                        let n = (iters - done).min(ROUND as u64) as usize;
                        let dir = tempfile::tempdir_in(root).unwrap();
                        let state = dir.path().join("state");
                        std::fs::create_dir(&state).unwrap();
                        let out = dir.path().join(format!("out.{}", format.extension()));
                        let mut sink = Sink::create(&[target(format, out.clone())], &state, 0).unwrap();
                        let started = Instant::now();
                        for chunks in &pages[..n] {
                            feed(chunks, &mut sink);
                            sink.commit().unwrap();
                        }
                        assert_eq!(sink.position().people, n as u64 * 1000);
                        let sealed = sink.seal(0).unwrap();
                        ocean_export::sink::publish(&out, &sealed).unwrap();
                        timed += started.elapsed();
                        assert_eq!(sealed.sha256.len(), 64);
                        done += n as u64;
                    }
                    timed
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, parse_convert_write, committed);
criterion_main!(benches);
