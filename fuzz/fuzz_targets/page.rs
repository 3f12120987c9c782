//! Response-page parser and the sinks behind it: any body, split anywhere, makes a page or a
//! `PageError`, never a panic; the split never changes the result; and every person that comes out goes
//! through the real CSV and NDJSON conversion.
//!
//! The first byte of the input picks the chunk size, the rest is the body.

#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use ocean_export::api::{PageMeta, PageParser, Person, PersonSink};
use ocean_export::sink::{Column, Compression, Format, OutputOptions, Sink, SinkError, Target, columns, ndjson};
use serde_json::value::RawValue;

/// Sinks created once per process: CSV with the person card, CSV with every column (nested and
/// per-experience ones too), NDJSON, and gzip NDJSON. Their files are unlinked at once; the open handles
/// keep working, and a rollback after every input keeps them empty.
fn sinks() -> Vec<Sink> {
    let dir = tempfile::tempdir().expect("a temp dir");
    let every_column: Vec<Column> = columns::known().map(Column::named).collect();
    let card = columns::resolve(None, None).expect("the person card");
    let options = |format, compression, columns, bom| OutputOptions {
        format,
        compression,
        level: None,
        columns,
        neutralise_formulas: true,
        bom,
    };
    let options = [
        options(Format::Csv, Compression::None, card, true),
        options(Format::Csv, Compression::None, every_column, false),
        options(Format::Ndjson, Compression::None, Vec::new(), false),
        options(Format::Ndjson, Compression::Gzip, Vec::new(), false),
    ];
    options
        .into_iter()
        .enumerate()
        .map(|(i, options)| {
            let path = dir.path().join(format!("out-{i}"));
            let state = dir.path().join(format!("state-{i}"));
            std::fs::create_dir(&state).expect("a state folder in a temp dir");
            Sink::create(&[Target { path, options }], &state, 0).expect("a sink in a temp dir")
        })
        .collect()
}

thread_local! {
    static SINKS: RefCell<Vec<Sink>> = RefCell::new(sinks());
}

/// Collects the raw people and hands each to every sink.
struct Fan<'a> {
    people: Vec<String>,
    sinks: &'a mut [Sink],
}

impl PersonSink for Fan<'_> {
    type Error = SinkError;
    fn person(&mut self, person: &Person<'_>) -> Result<(), SinkError> {
        self.people.push(String::from_utf8(person.raw().to_vec()).expect("the parser hands over UTF-8"));
        for sink in self.sinks.iter_mut() {
            sink.person(person)?;
        }
        Ok(())
    }
}

/// Parses `body` fed in chunks of `chunk` bytes.
fn parse(body: &[u8], chunk: usize, sinks: &mut [Sink]) -> (Result<PageMeta, String>, Vec<String>) {
    let mut parser = PageParser::new();
    let mut fan = Fan { people: Vec::new(), sinks };
    for piece in body.chunks(chunk) {
        if let Err(e) = parser.feed(piece, &mut fan) {
            return (Err(e.to_string()), fan.people);
        }
    }
    let meta = parser.finish(&mut fan).map_err(|e| e.to_string());
    (meta, fan.people)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else { return };
    let chunk = match first {
        0 => body.len(),
        1..=127 => usize::from(first),
        _ => usize::from(first - 127) * 509,
    }
    .max(1);
    SINKS.with_borrow_mut(|sinks| {
        let (split, people) = parse(body, chunk, sinks);
        for sink in sinks.iter_mut() {
            sink.rollback().expect("rollback");
        }
        let (whole, whole_people) = parse(body, body.len().max(1), &mut []);
        assert_eq!(split.is_ok(), whole.is_ok(), "chunks of {chunk} bytes: {split:?}, whole: {whole:?}");
        if let (Ok(split), Ok(whole)) = (&split, &whole) {
            assert_eq!(split, whole, "chunks of {chunk} bytes");
            assert_eq!(people, whole_people, "chunks of {chunk} bytes");
        }
        // An NDJSON line is the person, unchanged but for whitespace between tokens.
        for person in &people {
            let mut line = Vec::new();
            ndjson::minify_into(person.as_bytes(), &mut line);
            serde_json::from_slice::<&RawValue>(&line).expect("a minified person is JSON");
            assert!(!line.contains(&b'\n'), "a line break inside an NDJSON line");
            // serde_json::Value refuses numbers beyond f64 (`1e999`), which a raw person may hold.
            if let Ok(before) = serde_json::from_str::<serde_json::Value>(person) {
                let after: serde_json::Value = serde_json::from_slice(&line).expect("the same numbers");
                assert_eq!(before, after);
            }
        }
    });
});
