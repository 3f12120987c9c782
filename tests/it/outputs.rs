//! Outputs for every consumer, checked with the tools users load them with: Parquet with DuckDB and
//! pyarrow, workbooks with calamine, openpyxl and LibreOffice, compressed files with gzip, zstd and
//! DuckDB; CRM presets and renames; several outputs from one walk; and the job-file checks on outputs.
//!
//! The Python checks run the interpreter of `.venv/` at the repository root (or `OCEAN_EXPORT_PYTHON`),
//! which `.ci/run` creates from `tests/python/requirements.txt`. Without it they are skipped with a
//! message, unless `OCEAN_TEST_REQUIRE_PYTHON` is set (as `.ci/run` sets it), when they fail.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use ocean_sandbox::FieldsDefault;
use predicates::prelude::*;
use serde_json::Value;

use crate::support::{Dice, World, assert_fetched_again_at_most, csv_ids, kill_repeatedly, ndjson_ids, signal};

/// A world whose people have every field (email and phone included), a fifth of them hostile.
fn world(people: u64) -> World {
    World::new(people, |o| {
        o.fields_default = FieldsDefault::All;
        o.hostile_share = 0.2;
    })
}

/// The Python interpreter of the test tools, or `None` (with a message) when it is absent and not
/// required.
fn python() -> Option<PathBuf> {
    let path = std::env::var_os("OCEAN_EXPORT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("OCEAN_TEST_REQUIRE_PYTHON").is_none(),
        "{} is missing and OCEAN_TEST_REQUIRE_PYTHON is set: python3 -m venv .venv && .venv/bin/pip install -r tests/python/requirements.txt",
        path.display()
    );
    eprintln!(
        "SKIPPED: no {} (python3 -m venv .venv && .venv/bin/pip install -r tests/python/requirements.txt)",
        path.display()
    );
    None
}

/// Runs a script of `tests/python` and returns its stdout, once it has exited 0.
fn run_python(python: &Path, script: &str, args: &[&Path]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python").join(script);
    let output = std::process::Command::new(python).arg(&script).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{} failed:\n{stdout}\n{}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The rows of a Parquet file as the parquet crate reads them back.
fn parquet_ids(path: &Path) -> Vec<String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    reader
        .get_row_iter(None)
        .unwrap()
        .map(|row| {
            let row = row.unwrap();
            let (name, value) = row.get_column_iter().next().unwrap();
            assert_eq!(name, "id");
            value.to_string().trim_matches('"').to_owned()
        })
        .collect()
}

/// The cells of a workbook's sheets (each sheet's rows, as text), read back by calamine.
fn workbook(path: &Path) -> Vec<(String, Vec<Vec<calamine::Data>>)> {
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(path).unwrap();
    let names = book.sheet_names().to_vec();
    names
        .into_iter()
        .map(|name| {
            let range = book.worksheet_range(&name).unwrap();
            (name, range.rows().map(<[calamine::Data]>::to_vec).collect())
        })
        .collect()
}

fn text(cell: &calamine::Data) -> String {
    match cell {
        calamine::Data::Empty => String::new(),
        calamine::Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        other => other.to_string(),
    }
}

fn gunzip(bytes: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::MultiGzDecoder::new(bytes).read_to_string(&mut out).unwrap();
    out
}

fn unzstd(bytes: &[u8]) -> String {
    String::from_utf8(zstd::stream::decode_all(bytes).unwrap()).unwrap()
}

fn report(world: &World, path: &str) -> Value {
    serde_json::from_str(&world.read(&format!("{path}.report.json"))).unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The ids of the people of a CSV with a header `Ocean ID` or `id`.
fn ids_in_csv(text: &str) -> Vec<String> {
    csv_ids(text.trim_start_matches('\u{feff}'))
}

const SEVERAL: &str = r#"
name = "several"
[search]
size = 50
peopleFilters = { countries = ["dk", "se", "no"] }

[[output]]
path = "out/team/people.xlsx"

[[output]]
path = "out/warehouse/people.parquet"
state_dir = "state"

[[output]]
path = "out/people.csv"
preset = "hubspot"

[[output]]
path = "out/people.ndjson.gz"
"#;

// Several outputs from one walk: each page fetched once, every output published with its report, the
// same people in each.
#[test]
fn several_outputs_come_from_one_walk_each_published_with_its_report() {
    let world = world(1500);
    world.write("job.toml", SEVERAL);
    world.run("job.toml", &[]).success().stderr(predicate::str::contains("people.parquet"));
    assert!(world.fetch_counts().values().all(|&n| n == 1), "a page was fetched twice");
    let ndjson = gunzip(&world.bytes("out/people.ndjson.gz"));
    let expected = ndjson_ids(&ndjson);
    assert!(expected.len() > 100);
    assert_eq!(ids_in_csv(&world.read("out/people.csv")), expected);
    assert_eq!(parquet_ids(&world.path("out/warehouse/people.parquet")), expected);
    let sheets = workbook(&world.path("out/team/people.xlsx"));
    let ids: Vec<String> = sheets[0].1[1..].iter().map(|row| text(row.last().unwrap())).collect();
    assert_eq!(ids, expected);
    // Each output has its report, about itself, listing them all.
    for path in ["out/team/people.xlsx", "out/warehouse/people.parquet", "out/people.csv", "out/people.ndjson.gz"] {
        let report = report(&world, path);
        assert_eq!(report["people"].as_u64(), Some(expected.len() as u64), "{path}");
        assert!(report["output"].as_str().unwrap().ends_with(path), "{path}");
        assert_eq!(report["sha256"].as_str().unwrap(), sha256(&world.bytes(path)), "{path}");
        assert_eq!(report["bytes"].as_u64().unwrap(), world.bytes(path).len() as u64, "{path}");
        let outputs = report["outputs"].as_array().unwrap();
        assert_eq!(outputs.len(), 4);
        let written: Vec<&str> = outputs.iter().map(|o| o["written"].as_str().unwrap()).collect();
        assert_eq!(written, ["rendered", "rendered", "appended", "appended"]);
    }
    // The job's state folder is where an entry put it, and the run cleaned it up.
    assert!(world.path("state/several").exists());
    assert_eq!(std::fs::read_dir(world.path("state/several")).unwrap().count(), 1, "only the lock is left");
    let leftovers: Vec<PathBuf> =
        world.all_files().into_iter().filter(|p| p.to_string_lossy().ends_with(".partial")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// Parquet: the fixed schema, loaded by DuckDB into the table `schema --format duckdb` creates, and every
// person and value of the NDJSON export, typed.
#[test]
fn parquet_holds_the_ndjson_people_typed_as_the_schema_says() {
    let world = world(2500);
    world.write(
        "job.toml",
        "name = \"typed\"\n[search]\nsize = 200\n[[output]]\npath = \"out/p.ndjson\"\n[[output]]\npath = \"out/p.parquet\"\n",
    );
    world.run("job.toml", &[]).success();
    let ndjson = world.read("out/p.ndjson");
    assert_eq!(parquet_ids(&world.path("out/p.parquet")), ndjson_ids(&ndjson));
    // Every NDJSON person fits the JSON Schema the typed outputs follow.
    let schema: Value = serde_json::from_str(&world.stdout(&["schema", "--format", "json-schema"])).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for line in ndjson.lines() {
        let person: Value = serde_json::from_str(line).unwrap();
        assert!(validator.is_valid(&person), "{line}");
    }
    // Small for its content: zstd, columns, dictionaries.
    let parquet = world.bytes("out/p.parquet");
    assert!(parquet.len() * 3 < ndjson.len(), "{} bytes of Parquet for {} of NDJSON", parquet.len(), ndjson.len());
    let Some(python) = python() else { return };
    world.write("schema.json", &world.stdout(&["schema", "--format", "json-schema"]));
    world.write("create.sql", &world.stdout(&["schema", "--format", "duckdb"]));
    let out = run_python(
        &python,
        "parquet_matches_ndjson.py",
        &[
            &world.path("out/p.parquet"),
            &world.path("out/p.ndjson"),
            &world.path("schema.json"),
            &world.path("create.sql"),
        ],
    );
    assert!(out.starts_with("ok "), "{out}");
}

// The schema is fixed: a three-person night and a big night make files with the same schema, the one
// `schema --format parquet` prints.
#[test]
fn a_tiny_export_and_a_big_one_have_the_same_parquet_schema() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let world = world(3000);
    world.write(
        "tiny.toml",
        "name = \"tiny\"\n[search]\nsize = 3\n[limits]\nmax_records = 3\n[output]\npath = \"out/tiny.parquet\"\n",
    );
    world.write("big.toml", "name = \"big\"\n[search]\nsize = 1000\n[output]\npath = \"out/big.parquet\"\n");
    world.run("tiny.toml", &[]).success();
    world.run("big.toml", &[]).success();
    let schema = |path: &str| {
        let reader = SerializedFileReader::new(std::fs::File::open(world.path(path)).unwrap()).unwrap();
        let mut out = Vec::new();
        parquet::schema::printer::print_schema(&mut out, reader.metadata().file_metadata().schema());
        (String::from_utf8(out).unwrap(), reader.metadata().file_metadata().num_rows())
    };
    let (tiny, tiny_rows) = schema("out/tiny.parquet");
    let (big, big_rows) = schema("out/big.parquet");
    assert_eq!((tiny_rows, big_rows), (3, 3000));
    assert_eq!(tiny, big);
    assert_eq!(tiny, world.stdout(&["schema", "--format", "parquet"]));
    for typed in ["INT64 connectionsCount", "INT32 dateFrom (DATE)", "INT64 updatedAt (TIMESTAMP(MICROS,true))"] {
        assert!(tiny.contains(typed), "{typed} in\n{tiny}");
    }
}

// XLSX: typed cells (hostile text stays text), a frozen, filterable, bold header, widths, links; the
// same cells as a CSV of the same columns. calamine always; openpyxl when the test tools are installed.
#[test]
fn a_workbook_has_typed_cells_a_frozen_filterable_header_and_links() {
    let world = world(1200);
    let columns = r#"columns = ["id", "name", "linkedinUrl", "connectionsCount", "summary", "phone.number", { field = "company.name", header = "Company" }]"#;
    world.write(
        "job.toml",
        &format!(
            "name = \"book\"\n[search]\nsize = 300\n[[output]]\npath = \"out/b.xlsx\"\n{columns}\n[[output]]\npath = \"out/b.csv\"\n{columns}\nneutralize_formulas = false\nbom = false\n"
        ),
    );
    world.run("job.toml", &[]).success();
    let csv_text = world.read("out/b.csv");
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    let sheets = workbook(&world.path("out/b.xlsx"));
    assert_eq!(sheets.len(), 1);
    let (name, cells) = &sheets[0];
    assert_eq!(name, "People");
    let got_header: Vec<String> = cells[0].iter().map(text).collect();
    assert_eq!(got_header, header);
    assert_eq!(cells.len(), rows.len() + 1);
    let (mut formulas, mut numbers) = (0, 0);
    for (row, expected) in cells[1..].iter().zip(&rows) {
        for (cell, want) in row.iter().zip(expected) {
            match cell {
                calamine::Data::Float(f) => {
                    assert_eq!(*f, want.parse::<f64>().unwrap());
                    numbers += 1;
                }
                other => assert_eq!(&text(other), want),
            }
            formulas += usize::from(want.starts_with(['=', '+', '-', '@']));
        }
    }
    assert!(formulas > 0 && numbers > 0, "the hostile people start cells with = + - @; counts are numbers");
    let Some(python) = python() else { return };
    let out = run_python(
        &python,
        "xlsx_features.py",
        &[&world.path("out/b.xlsx"), &world.path("out/b.csv"), Path::new("linkedinUrl")],
    );
    assert!(out.starts_with("ok "), "{out}");
}

/// LibreOffice, converting the workbook to CSV: the same cells as ocean-export's own CSV. Needs
/// `soffice` (`apt-get install libreoffice-calc-nogui`); `.ci/run` runs it when it is installed.
#[test]
#[ignore = "needs LibreOffice (soffice); run with --ignored"]
fn libreoffice_reads_the_workbook_as_the_csv() {
    let world = world(400);
    let columns =
        r#"columns = ["id", "firstName", "lastName", "jobTitle", "linkedinUrl", "connectionsCount", "phone.number"]"#;
    world.write(
        "job.toml",
        &format!(
            "name = \"lo\"\n[search]\nsize = 400\n[[output]]\npath = \"out/lo.xlsx\"\n{columns}\n[[output]]\npath = \"out/lo.csv\"\n{columns}\nneutralize_formulas = false\nbom = false\n"
        ),
    );
    world.run("job.toml", &[]).success();
    let converted = world.path("converted");
    let status = std::process::Command::new("soffice")
        .args([
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
        ])
        .arg(&converted)
        .arg(world.path("out/lo.xlsx"))
        .env("HOME", world.path("lo-home"))
        .output()
        .expect("LibreOffice (soffice) is installed: apt-get install libreoffice-calc-nogui");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let ours = world.read("out/lo.csv");
    // One CSV per sheet (the `-1`), named after it.
    let theirs = std::fs::read_to_string(converted.join("lo-People.csv")).unwrap();
    let read = |text: &str| -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            // LibreOffice writes a line break inside a cell as LF, whatever it was (CR LF here).
            .map(|r| r.unwrap().iter().map(|cell| cell.replace("\r\n", "\n")).collect())
            .collect()
    };
    let (theirs, ours) = (read(&theirs), read(&ours));
    assert_eq!(theirs.len(), ours.len(), "rows");
    for (row, (a, b)) in theirs.iter().zip(&ours).enumerate() {
        assert_eq!(a, b, "row {row}: LibreOffice's, then ours");
    }
}

// Compression: many gzip members and zstd frames (one per page), read as one stream by flate2, zstd,
// the gzip and zstd tools, and DuckDB; the same content as the plain files.
#[test]
fn compressed_outputs_are_standard_streams_with_the_plain_files_content() {
    let world = world(1200);
    world.write(
        "job.toml",
        r#"name = "packed"
[search]
size = 40
[[output]]
path = "out/p.csv"
[[output]]
path = "out/p.csv.gz"
[[output]]
path = "out/p.ndjson"
[[output]]
path = "out/p.ndjson.zst"
[[output]]
compression = "gzip"
compression_level = 9
format = "ndjson"
path = "out/q.ndjson.gz"
"#,
    );
    world.run("job.toml", &[]).success();
    let (csv_plain, ndjson_plain) = (world.read("out/p.csv"), world.read("out/p.ndjson"));
    assert_eq!(gunzip(&world.bytes("out/p.csv.gz")), csv_plain);
    assert_eq!(unzstd(&world.bytes("out/p.ndjson.zst")), ndjson_plain);
    assert_eq!(gunzip(&world.bytes("out/q.ndjson.gz")), ndjson_plain);
    // One member per page: many of them.
    let gz = world.bytes("out/p.csv.gz");
    assert!(gz.windows(3).filter(|w| w == &[0x1f, 0x8b, 0x08]).count() > 10);
    assert!(world.bytes("out/p.ndjson.zst").len() * 3 < ndjson_plain.len());
    for (tool, file, plain) in [("gzip", "out/p.csv.gz", &csv_plain), ("zstd", "out/p.ndjson.zst", &ndjson_plain)] {
        match std::process::Command::new(tool).arg("-dc").arg(world.path(file)).output() {
            Ok(out) => assert_eq!(&String::from_utf8(out.stdout).unwrap(), plain, "{tool} -dc"),
            Err(_) => eprintln!("SKIPPED: {tool} is not installed"),
        }
    }
    let Some(python) = python() else { return };
    let out = run_python(
        &python,
        "compressed_read.py",
        &[&world.path("out/p.csv.gz"), &world.path("out/p.ndjson.zst"), Path::new("Ocean ID")],
    );
    let mut lines = out.lines();
    let csv_from_duckdb: Vec<String> = serde_json::from_str(lines.next().unwrap()).unwrap();
    let ndjson_from_duckdb: Vec<String> = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(csv_from_duckdb, ids_in_csv(&csv_plain));
    assert_eq!(ndjson_from_duckdb, ndjson_ids(&ndjson_plain));
}

// CRM-ready CSV: the person card by default, the presets' headers, renames, every field on request, the
// first phone number in its own column.
#[test]
fn csv_columns_come_as_a_person_card_a_crm_preset_renames_or_every_field() {
    let world = world(300);
    let header = |path: &str| -> Vec<String> {
        let text = world.read(path);
        let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        reader.headers().unwrap().iter().map(str::to_owned).collect()
    };
    let run = |name: &str, output: &str| {
        world.write(
            &format!("{name}.toml"),
            &format!("name = \"{name}\"\n[search]\nsize = 300\n[output]\npath = \"out/{name}.csv\"\n{output}\n"),
        );
        world.run(&format!("{name}.toml"), &[]).success();
        header(&format!("out/{name}.csv"))
    };
    let card = run("card", "");
    assert_eq!(
        card,
        [
            "First Name",
            "Last Name",
            "Job Title",
            "Company",
            "Company Domain",
            "Email",
            "Email Status",
            "Phone",
            "LinkedIn URL",
            "Country",
            "Location",
            "Seniority",
            "Department",
            "Company Size",
            "Ocean ID"
        ]
    );
    assert!(world.bytes("out/card.csv").starts_with("\u{feff}".as_bytes()), "a byte-order mark by default, for Excel");
    assert_eq!(
        run("hubspot", "preset = \"hubspot\""),
        [
            "First Name",
            "Last Name",
            "Email",
            "Phone Number",
            "Job Title",
            "Company Name",
            "Website URL",
            "Country/Region",
            "State/Region",
            "LinkedIn URL",
            "Ocean ID"
        ]
    );
    assert_eq!(
        run("salesforce", "preset = \"salesforce\""),
        [
            "First Name",
            "Last Name",
            "Email",
            "Phone",
            "Title",
            "Company",
            "Website",
            "Country",
            "State/Province",
            "LinkedIn URL",
            "Ocean ID"
        ]
    );
    assert_eq!(
        run("renamed", r#"columns = ["id", { field = "email.address", header = "E-mail" }, "phone.number"]"#),
        ["id", "E-mail", "phone.number"]
    );
    assert_eq!(run("all", "columns = \"all\"").len(), 39);
    // The first phone number alone, dialable (no apostrophe), where the person has one.
    let text = world.read("out/renamed.csv");
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let people: BTreeMap<String, Value> = (0..world.options.people)
        .map(|i| crate::support::person(&world, i))
        .map(|p| (p["id"].as_str().unwrap().to_owned(), p))
        .collect();
    let mut phones = 0;
    for record in reader.records() {
        let record = record.unwrap();
        let first = people[&record[0]]["phone"]["numbers"][0].as_str().unwrap_or_default().to_owned();
        assert_eq!(&record[2], first);
        phones += usize::from(!first.is_empty());
    }
    assert!(phones > 10);
    // The flag and the environment still pick a single output's format and preset.
    world.run("card.toml", &["--output", "out/flag.parquet"]).success();
    assert!(world.bytes("out/flag.parquet").starts_with(b"PAR1"));
    let mut cmd = world.cmd();
    cmd.args(["run", "card.toml", "--base-url", &world.base_url(), "--output", "out/env.csv"])
        .env("OCEAN_EXPORT_OUTPUT__PRESET", "salesforce")
        .assert()
        .success();
    assert_eq!(header("out/env.csv")[4], "Title");
}

// Bad outputs in a job: exit 2 at the key, nothing sent, no folder named after a URL.
#[test]
fn output_mistakes_exit_2_at_their_place_and_send_nothing() {
    let world = world(100);
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "[output]\npath = \"s3://Bucket/x.ndjson\"\n",
            &[],
            "job.toml:5:8: output.path: `Bucket` is not a valid bucket name",
        ),
        ("[output]\npath = \"x.csv\"\n", &["--output", "gs://b/x.csv"], "output.path (from flag --output)"),
        (
            "[output]\npath = \"s3://bucket/x.csv\"\nstate_dir = \"s3://bucket/state\"\n",
            &[],
            "job.toml:6:13: output.state_dir: `s3://bucket/state` is object storage",
        ),
        (
            "[output]\npath = \"x.csv\"\nformat = \"parquet\"\n",
            &[],
            "job.toml:5:8: output.path: the path ends in .csv but the format is parquet",
        ),
        (
            "[output]\npath = \"x.ndjson.gz\"\ncompression = \"zstd\"\n",
            &[],
            "compression is zstd but the path does not end in .zst; name it x.ndjson.zst",
        ),
        ("[output]\npath = \"x.xlsx\"\ncompression = \"gzip\"\n", &[], "xlsx files are compressed inside"),
        ("[output]\ncolumns = [\"First Name\"]\n", &[], "unknown column `First Name`"),
        (
            "[output]\npath = \"x.csv\"\ncolumns = []\n",
            &[],
            "job.toml:6:11: output.columns: the list of columns is empty",
        ),
        ("[output]\npreset = \"salesforc\"\n", &[], "did you mean `salesforce`?"),
        (
            "[[output]]\npath = \"a.csv\"\n[[output]]\npath = \"b.xlsx\"\n",
            &["--output", "c.csv"],
            "output.path (from flag --output) names one output, but this job writes 2",
        ),
        (
            "[[output]]\npath = \"a.csv\"\n[[output]]\npath = \"./a.csv\"\n",
            &[],
            "job.toml:7:8: output[1].path: outputs 1 and 2 both write",
        ),
        // Compressions we do not write are refused, not written as plain CSV under their name.
        (
            "[output]\npath = \"people.ndjson.bz2\"\n",
            &[],
            "job.toml:5:8: output.path: `.bz2` compression is not supported: use .gz or .zst",
        ),
        ("[output]\npath = \"people.parquet.xz\"\n", &[], "`.xz` compression is not supported: use .gz or .zst"),
        ("[output]\npath = \"people.xlsx.zip\"\n", &[], "`.zip` compression is not supported: use .gz or .zst"),
        ("[output]\npath = \"x.csv\"\n", &["-o", "p.csv.lz4"], "output.path (from flag --output): `.lz4` compression"),
        // The job file itself is not an output, nor is any settings file.
        (
            "[output]\npath = \"job.toml\"\nformat = \"csv\"\n",
            &[],
            "job.toml:5:8: output.path: `job.toml` is the job file",
        ),
        (
            "[seeds]\nfile = \"s.csv\"\n[output]\npath = \"s.csv\"\n",
            &[],
            "job.toml:7:8: output.path: `s.csv` is the seeds file",
        ),
        (
            "[output]\npath = \"x.csv\"\n",
            &["-o", "job.toml"],
            "output.path (from flag --output): the path ends in .toml",
        ),
        ("[output]\npath = \"x.yaml\"\n", &[], "job.toml:5:8: output.path: the path ends in .yaml"),
        (
            "[[output]]\npath = \"job.toml\"\nformat = \"csv\"\n",
            &[],
            "job.toml:5:8: output[0].path: `job.toml` is the job file",
        ),
        // Another output's report or partial file is taken too.
        (
            "[[output]]\npath = \"a.csv\"\n[[output]]\npath = \"a.csv.report.json\"\n",
            &[],
            "job.toml:7:8: output[1].path: outputs 1 and 2 both write",
        ),
        (
            "[[output]]\npath = \"a.csv.partial\"\nformat = \"csv\"\n[[output]]\npath = \"a.csv\"\n",
            &[],
            "output[1].path: outputs 1 and 2 both write",
        ),
        // `..` is resolved before paths are compared.
        (
            "[[output]]\npath = \"dd/a.csv\"\n[[output]]\npath = \"sub/../dd/a.csv\"\n",
            &[],
            "job.toml:7:8: output[1].path: outputs 1 and 2 both write",
        ),
        // A folder that exists is found before anything is bought.
        ("[output]\npath = \"dirout\"\n", &[], "job.toml:5:8: output.path: `dirout` names a folder, not a file"),
        (
            "[output]\npath = \"x.csv.gz\"\ncompression_level = 1.5\n",
            &[],
            "output.compression_level: invalid type: floating point `1.5`, expected a whole number",
        ),
    ];
    std::fs::create_dir_all(world.path("dirout")).unwrap();
    world.write("s.csv", "handle\ndwight-schrute\n");
    for (output, args, expected) in cases {
        world.write("job.toml", &format!("name = \"bad\"\n[search]\nsize = 10\n{output}"));
        let out = world.run("job.toml", args).code(2).get_output().clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{output}: {stderr}");
        assert!(world.requests().is_empty(), "{output}: a request was sent");
        assert!(String::from_utf8_lossy(&std::fs::read(world.path("job.toml")).unwrap()).contains("[search]"));
    }
    for plain in
        ["people.ndjson.bz2", "people.parquet.xz", "people.xlsx.zip", "p.csv.lz4", "x.yaml", "a.csv.report.json"]
    {
        assert!(!world.path(plain).exists(), "{plain} was written");
    }
    // The environment's per-output settings are refused too with several outputs, and nothing became a
    // folder named `s3:` or `gs:`.
    world.write("job.toml", "name = \"bad\"\n[search]\n[[output]]\npath = \"a.csv\"\n[[output]]\npath = \"b.csv\"\n");
    let mut cmd = world.cmd();
    cmd.args(["run", "job.toml", "--base-url", &world.base_url()])
        .env("OCEAN_EXPORT_OUTPUT__COLUMNS", "id")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("OCEAN_EXPORT_OUTPUT__COLUMNS"));
    assert!(!world.path("s3:").exists() && !world.path("gs:").exists());
    assert!(world.requests().is_empty());
}

// Every output's problems at once, beside the rest of the job's, each at its place.
#[test]
fn every_output_problem_is_shown_at_once() {
    let world = world(10);
    world.write(
        "job.toml",
        "name = \"bad\"\n[search]\nsize = 0\n[[output]]\npath = \"a.csv\"\nformat = \"parquet\"\n\
         [[output]]\npath = \"b.xlsx\"\ncompression = \"gzip\"\n[[output]]\npreset = \"salesforc\"\n",
    );
    let out = world.run("job.toml", &[]).code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "job.toml:3:8: search.size",
        "job.toml:5:8: output[0].path: the path ends in .csv but the format is parquet",
        "job.toml:9:15: output[1].compression: xlsx files are compressed inside",
        "job.toml:11:10: unknown value `salesforc` for `output[2].preset`",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
    assert!(world.requests().is_empty());
}

/// One uninterrupted run of `job`: each output's content as read back.
fn contents(world: &World, outputs: &[&str]) -> Vec<String> {
    outputs
        .iter()
        .map(|path| {
            let bytes = world.bytes(path);
            if path.ends_with(".gz") {
                gunzip(&bytes)
            } else if path.ends_with(".zst") {
                unzstd(&bytes)
            } else if path.ends_with(".parquet") {
                let ids = parquet_ids(&world.path(path));
                format!("{} bytes, ids {ids:?}", bytes.len())
            } else if path.ends_with(".xlsx") {
                format!("{:?}", workbook(&world.path(path)))
            } else {
                String::from_utf8(bytes).unwrap()
            }
        })
        .collect()
}

/// `kill -9` at 20 random instants (seeded), then a rerun: every output holds what an uninterrupted
/// run writes (the same people, each once), and no run fetched more than the page it was killed in.
fn kill_nine_twenty_times(name: &str, outputs: &[&str]) {
    let entries: String = outputs.iter().map(|p| format!("[[output]]\npath = \"{p}\"\n")).collect();
    let job = format!(
        "name = \"{name}\"\n[search]\nsize = 20\npeopleFilters = {{ countries = [\"dk\", \"se\", \"no\"] }}\n{entries}"
    );
    // About 150 pages of 20 Nordic people: more than 20 kills, each after at most 2 pages and 40 ms
    // more, can get through.
    let people = 10_000;
    let reference = world(people);
    reference.write("job.toml", &job);
    reference.run("job.toml", &[]).success();
    let expected = contents(&reference, outputs);

    let world = World::new(people, |o| {
        o.fields_default = FieldsDefault::All;
        o.hostile_share = 0.2;
        o.latency_ms = 10;
    });
    world.write("job.toml", &job);
    let mut dice = Dice::new(&format!("kill -9 instants ({name})"));
    let args = ["run", "job.toml", "--quiet", "--base-url", &world.base_url(), "--requests-per-minute", "60000"];
    let starts = kill_repeatedly(&world, &args, 20, &mut dice);
    world.run("job.toml", &[]).success().stderr(predicate::str::contains("resumed at"));
    let got = contents(&world, outputs);
    for ((path, got), want) in outputs.iter().zip(&got).zip(&expected) {
        assert!(got == want, "{path} differs from an uninterrupted run's (seed {})", dice.seed);
    }
    // At most the page in hand is fetched again by each run.
    assert_fetched_again_at_most(&world, &starts, 1, dice.seed);
}

// A kill while the files are being finished (the walk done, the workbook being written): the rerun
// finishes them from the spool without fetching, and they hold what an uninterrupted run writes.
#[test]
fn a_kill_while_the_files_are_finished_resumes_without_fetching() {
    use std::io::BufRead;
    let outputs = ["out/k.xlsx", "out/k.parquet", "out/k.csv"];
    let job = "name = \"finishing\"\n[search]\nsize = 500\n[[output]]\npath = \"out/k.xlsx\"\ncolumns = \"all\"\n[[output]]\npath = \"out/k.parquet\"\n[[output]]\npath = \"out/k.csv\"\n";
    let reference = world(3000);
    reference.write("job.toml", job);
    reference.run("job.toml", &[]).success();
    let world = world(3000);
    world.write("job.toml", job);
    let mut child = world
        .std_cmd()
        .args(["run", "job.toml", "--base-url", &world.base_url(), "--requests-per-minute", "60000"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let finishing = lines.by_ref().map_while(Result::ok).any(|line| line.contains("finishing"));
    signal(&child, libc::SIGKILL);
    child.wait().unwrap();
    assert!(finishing, "the run said it was finishing the files");
    assert!(!world.path("out/k.xlsx").exists(), "killed before the workbook was published");
    let fetched = world.pages_served().len();
    world.run("job.toml", &[]).success();
    assert_eq!(world.pages_served().len(), fetched, "the rerun fetched a page");
    for ((path, got), want) in outputs.iter().zip(contents(&world, &outputs)).zip(contents(&reference, &outputs)) {
        assert!(got == want, "{path} differs from an uninterrupted run's");
    }
}

#[test]
fn kill_nine_at_random_instants_keeps_parquet_exactly_once() {
    kill_nine_twenty_times("killed-parquet", &["out/k.parquet"]);
}

#[test]
fn kill_nine_at_random_instants_keeps_xlsx_exactly_once() {
    kill_nine_twenty_times("killed-xlsx", &["out/k.xlsx"]);
}

#[test]
fn kill_nine_at_random_instants_keeps_gzip_csv_and_zstd_ndjson_exactly_once() {
    kill_nine_twenty_times("killed-packed", &["out/k.csv.gz", "out/k.ndjson.zst"]);
}

#[test]
fn kill_nine_at_random_instants_keeps_several_outputs_exactly_once() {
    kill_nine_twenty_times("killed-several", &["out/k.csv", "out/k.xlsx", "out/k.parquet", "out/k.ndjson.gz"]);
}

/// A disk that fills while `output` (Parquet or XLSX) is rendered: exit 7, the spool kept; with room
/// again, the rerun renders and fetches nothing. The people carry only `id` and `domain` (`fields`), so
/// the spool (their NDJSON) stays small while the rendering outgrows it: the "disk" is RLIMIT_FSIZE, a
/// size no file may pass, set between the two.
fn full_disk_while_rendering(output: &str, people: u64) {
    let job = |outputs: &str| format!("name = \"full\"\n[search]\nsize = 500\nfields = [\"id\"]\n{outputs}");
    // The spool holds what an NDJSON output holds, byte for byte.
    let reference = world(people);
    reference.write("job.toml", &job("[output]\npath = \"out/f.ndjson\"\n"));
    reference.run("job.toml", &[]).success();
    let spool_bytes = reference.bytes("out/f.ndjson").len();
    let limit_blocks = (spool_bytes * 13 / 10).div_ceil(512).max(16);

    let world = world(people);
    world.write("job.toml", &job(&format!("[output]\npath = \"{output}\"\n")));
    let output_run = world.run_on_a_full_disk(
        limit_blocks as u64,
        &["run", "job.toml", "--base-url", &world.base_url(), "--requests-per-minute", "60000"],
    );
    let stderr = String::from_utf8_lossy(&output_run.stderr);
    eprintln!("{stderr}");
    assert_eq!(output_run.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains(output), "the error names the file: {stderr}");
    assert!(stderr.contains("without fetching"), "{stderr}");
    let spool = world.path("out/.state/full/spool.ndjson");
    assert_eq!(std::fs::metadata(&spool).map(|m| m.len() as usize).ok(), Some(spool_bytes), "the whole spool is kept");
    assert!(!world.path(output).exists(), "nothing half-published");
    let fetched = world.pages_served().len();
    let saved: Value = serde_json::from_str(&world.read("out/.state/full/checkpoint.json")).unwrap();
    assert_eq!(saved["checkpoint"]["position"]["people"].as_u64(), Some(people), "the walk completed");
    // With room again, the rerun renders and fetches nothing.
    world.run("job.toml", &[]).success();
    assert_eq!(world.pages_served().len(), fetched, "the rerun fetched a page");
    assert!(!spool.exists());
    let expected = ndjson_ids(&reference.read("out/f.ndjson"));
    let ids = if output.ends_with(".parquet") {
        parquet_ids(&world.path(output))
    } else {
        let sheets = workbook(&world.path(output));
        let id = sheets[0].1[0].iter().position(|h| text(h) == "Ocean ID").unwrap();
        sheets[0].1[1..].iter().map(|row| text(&row[id])).collect()
    };
    assert_eq!(ids, expected);
}

#[test]
fn a_full_disk_while_rendering_parquet_exits_7_and_the_rerun_renders_without_fetching() {
    full_disk_while_rendering("out/f.parquet", 100);
}

#[test]
fn a_full_disk_while_rendering_xlsx_exits_7_and_the_rerun_renders_without_fetching() {
    full_disk_while_rendering("out/f.xlsx", 2000);
}

// A changed output refuses to resume, as a changed search does.
#[test]
fn a_changed_output_refuses_to_resume() {
    let world = World::new(3000, |o| o.latency_ms = 30);
    world.write("job.toml", "name = \"changed\"\n[search]\nsize = 10\n[output]\npath = \"out/c.csv.gz\"\n");
    let mut child = world
        .std_cmd()
        .args(["run", "job.toml", "--quiet", "--base-url", &world.base_url(), "--requests-per-minute", "60000"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    signal(&child, libc::SIGKILL);
    child.wait().unwrap();
    for changed in ["compression_level = 9\n", "preset = \"hubspot\"\n", "bom = false\n"] {
        world.write(
            "job.toml",
            &format!("name = \"changed\"\n[search]\nsize = 10\n[output]\npath = \"out/c.csv.gz\"\n{changed}"),
        );
        world
            .run("job.toml", &[])
            .code(2)
            .stderr(predicate::str::contains("outputs (format, compression, columns) changed"));
    }
    world.write("job.toml", "name = \"changed\"\n[search]\nsize = 10\n[output]\npath = \"out/c.csv.gz\"\n");
    world.run("job.toml", &[]).success().stderr(predicate::str::contains("resumed at"));
}
