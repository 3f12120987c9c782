//! Micro-benchmark of the hot path: one page of 1 000 sandbox people (a fifth of them hostile, with
//! 20 KB summaries) through the streaming parser into the CSV and NDJSON sinks.
//!
//! `cargo bench --bench hotpath`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ocean_export::api::PageParser;
use ocean_export::sink::{Format, Sink, SinkOptions};
use ocean_sandbox::dataset;

/// A page as the API sends it, split into 64 KiB chunks as they come off the socket.
fn page(people: u64) -> Vec<Vec<u8>> {
    let people: Vec<serde_json::Value> = (0..people).map(|i| dataset::person(42, i, 0.2)).collect();
    let body = serde_json::json!({"people": people, "detail": "OK", "total": 1_000_000, "searchAfter": "x", "creditsUsed": 200.0});
    serde_json::to_vec(&body).unwrap().chunks(64 * 1024).map(<[u8]>::to_vec).collect()
}

fn bench(c: &mut Criterion) {
    let chunks = page(1000);
    let bytes: usize = chunks.iter().map(Vec::len).sum();
    let dir =
        tempfile::tempdir_in(if std::path::Path::new("/dev/shm").exists() { "/dev/shm" } else { "/tmp" }).unwrap();
    let mut group = c.benchmark_group("page of 1000 people");
    group.throughput(Throughput::Bytes(bytes as u64));
    for format in [Format::Csv, Format::Ndjson] {
        let options = SinkOptions { format, columns: None, neutralise_formulas: true, bom: false };
        let out = dir.path().join(format!("out.{}", format.extension()));
        let state = dir.path().join(format!("state-{}", format.extension()));
        std::fs::create_dir(&state).unwrap();
        let mut sink = Sink::create(&out, &state, &options).unwrap();
        group.bench_function(format!("parse, convert, write: {}", format.extension()), |b| {
            b.iter(|| {
                let mut parser = PageParser::new();
                for chunk in &chunks {
                    parser.feed(chunk, &mut sink).unwrap();
                }
                let meta = parser.finish(&mut sink).unwrap();
                assert_eq!(meta.people, 1000);
                // Keep the file small and the ids fresh for the next round.
                sink.rollback().unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
