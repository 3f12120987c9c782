//! Parquet: people → Arrow arrays of the fixed schema ([`super::schema`]) → row groups of bounded size,
//! zstd inside. Values are read leniently but typed strictly: a value that does not fit its column's type
//! (a date that is no date, a list that is a string) is left null and counted, and the run says so at the
//! end; the NDJSON output keeps every value as the API sent it. Fields the schema does not know (added to
//! the API later) are not in the file: its columns are the same on every run.

use std::fs::File;
use std::io;
use std::sync::Arc;

use arrow_array::builder::{Date32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, ListArray, RecordBatch, StructArray};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, FieldRef, Fields, SchemaRef};
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::render::{Render, io_error as other_error};
use super::schema::{self, Kind};
use crate::api::Person;
use crate::api::person::Text;

/// A Parquet error as an I/O error, keeping the OS error of a failed write (a full disk, say).
fn io_error(error: parquet::errors::ParquetError) -> io::Error {
    match error {
        parquet::errors::ParquetError::External(inner) => other_error(inner),
        other => other_error(other),
    }
}

/// People per record batch handed to the writer.
const BATCH_ROWS: usize = 1024;
/// Bytes of JSON per record batch at most (a batch of people with 20 KB summaries stays small).
const BATCH_BYTES: usize = 4 << 20;
/// A row group is flushed once its encoded size passes this, or it holds this many rows: the writer's
/// memory stays bounded.
const ROW_GROUP_BYTES: usize = 16 << 20;
const ROW_GROUP_ROWS: usize = 128 * 1024;
/// Bytes of one column's data page, and of its dictionary, before they are compressed and flushed (the
/// library's 1 MiB each, times some forty columns, would hold 80 MiB).
const PAGE_BYTES: usize = 256 << 10;
/// zstd level inside the file.
const ZSTD_LEVEL: i32 = 1;

/// Columns whose values are mostly distinct or long (free text, URLs, ids): a dictionary would only cost.
const NO_DICTIONARY: &[&str] = &[
    "id",
    "name",
    "firstName",
    "lastName",
    "linkedinUrl",
    "photo",
    "jobTitleEnglish",
    "currentJobDescription",
    "summary",
    "headline",
    "inferredEmails",
    "phone.numbers",
    "email.address",
    "experiences.description",
];

/// Long free text: min and max statistics of a page of summaries help no reader and cost comparisons.
const NO_STATISTICS: &[&str] =
    &["summary", "currentJobDescription", "headline", "experiences.description", "photo", "company.logo"];

/// The writer settings: zstd, bounded row groups, dictionaries where values repeat.
pub fn writer_properties(schema: &arrow_schema::Schema) -> parquet::errors::Result<WriterProperties> {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(ZSTD_LEVEL)?))
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_data_page_size_limit(PAGE_BYTES)
        .set_dictionary_page_size_limit(PAGE_BYTES)
        .set_created_by(format!("ocean-export {} (parquet-rs)", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "ocean-export.schema".to_owned(),
            format!("person-v{}", schema::VERSION),
        )]));
    let descriptor = ArrowSchemaConverter::new().convert(schema)?;
    for column in descriptor.columns() {
        let parts = column.path().parts();
        let name: Vec<&str> =
            parts.iter().map(String::as_str).filter(|p| !matches!(*p, "list" | "item" | "element")).collect();
        let name = name.join(".");
        if NO_DICTIONARY.contains(&name.as_str()) {
            builder = builder.set_column_dictionary_enabled(ColumnPath::new(parts.to_vec()), false);
        }
        if NO_STATISTICS.contains(&name.as_str()) {
            builder = builder.set_column_statistics_enabled(ColumnPath::new(parts.to_vec()), EnabledStatistics::None);
        }
    }
    Ok(builder.build())
}

/// The Parquet message type of the schema, as `schema --format parquet` prints it.
pub fn describe() -> String {
    let descriptor = ArrowSchemaConverter::new().convert(&schema::arrow_schema()).expect("the schema converts");
    let mut out = Vec::new();
    parquet::schema::printer::print_schema(&mut out, descriptor.root_schema());
    String::from_utf8(out).expect("the printer writes UTF-8")
}

/// Values that did not fit their column, for the warning at the end.
#[derive(Default)]
struct Unfit {
    count: u64,
    example: Option<String>,
}

impl Unfit {
    fn note(&mut self, path: &str, raw: &str) {
        self.count += 1;
        if self.example.is_none() {
            let shown: String = raw.chars().take(60).collect();
            self.example = Some(format!("{path} = {shown}"));
        }
    }
}

/// One column's values, in the making.
enum Column {
    Text(StringBuilder),
    Int(Int64Builder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    List { offsets: Vec<i32>, valid: NullBufferBuilder, item: Box<Column>, field: FieldRef, path: String },
    Object(Object),
}

/// A struct column: one child per field of the schema.
struct Object {
    fields: &'static [schema::Field],
    children: Vec<Column>,
    /// Which children got a value for the row in progress (the first of a repeated key wins).
    set: u64,
    valid: NullBufferBuilder,
    arrow: Fields,
    path: String,
}

impl Column {
    fn new(kind: &Kind, path: &str) -> Column {
        match kind {
            Kind::Text => Column::Text(StringBuilder::new()),
            Kind::Int => Column::Int(Int64Builder::new()),
            Kind::Date => Column::Date(Date32Builder::new()),
            Kind::Timestamp => Column::Timestamp(TimestampMicrosecondBuilder::new()),
            Kind::List(item) => {
                let DataType::List(field) = schema::arrow_type(kind) else { unreachable!("a list type") };
                Column::List {
                    offsets: vec![0],
                    valid: NullBufferBuilder::new(0),
                    item: Box::new(Column::new(item, path)),
                    field,
                    path: path.to_owned(),
                }
            }
            Kind::Object(fields) => Column::Object(Object::new(fields, path)),
        }
    }

    fn append_null(&mut self) {
        match self {
            Column::Text(b) => b.append_null(),
            Column::Int(b) => b.append_null(),
            Column::Date(b) => b.append_null(),
            Column::Timestamp(b) => b.append_null(),
            Column::List { offsets, valid, .. } => {
                offsets.push(*offsets.last().expect("offsets start at 0"));
                valid.append_null();
            }
            Column::Object(object) => object.append_null(),
        }
    }

    fn append(&mut self, raw: &RawValue, unfit: &mut Unfit) {
        let text = raw.get();
        let first = text.as_bytes().first().copied().unwrap_or(b'n');
        if first == b'n' {
            self.append_null();
            return;
        }
        match self {
            Column::Text(b) => match first {
                b'"' => b.append_value(string_value(text)),
                b'{' | b'[' => {
                    let mut out = Vec::with_capacity(text.len());
                    super::ndjson::minify_into(text.as_bytes(), &mut out);
                    b.append_value(String::from_utf8_lossy(&out));
                }
                _ => b.append_value(text),
            },
            Column::Int(b) => match integer(text) {
                Some(n) => b.append_value(n),
                None => {
                    b.append_null();
                    unfit.note("an integer", text);
                }
            },
            Column::Date(b) => match (first == b'"').then(|| date(&string_value(text))).flatten() {
                Some(days) => b.append_value(days),
                None => {
                    b.append_null();
                    unfit.note("a date", text);
                }
            },
            Column::Timestamp(b) => match (first == b'"').then(|| timestamp(&string_value(text))).flatten() {
                Some(micros) => b.append_value(micros),
                None => {
                    b.append_null();
                    unfit.note("a timestamp", text);
                }
            },
            Column::List { offsets, valid, item, path, .. } => {
                let start = *offsets.last().expect("offsets start at 0");
                let mut items = ListItems { item, unfit, count: 0 };
                let read =
                    first == b'[' && serde_json::Deserializer::from_str(text).deserialize_seq(&mut items).is_ok();
                let count = items.count;
                if read {
                    offsets.push(start + count);
                    valid.append_non_null();
                } else {
                    // Items read before the list turned out unreadable stay in the child; a list of the
                    // right length keeps the arrays consistent, marked null.
                    offsets.push(start + count);
                    valid.append_null();
                    unfit.note(path, text);
                }
            }
            Column::Object(object) => {
                if first == b'{' {
                    object.begin();
                    let _ = serde_json::Deserializer::from_str(text).deserialize_map(ObjectFields { object, unfit });
                    object.end(true);
                } else {
                    object.append_null();
                    let path = object.path.clone();
                    unfit.note(&path, text);
                }
            }
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Text(b) => Arc::new(b.finish()),
            Column::Int(b) => Arc::new(b.finish()),
            Column::Date(b) => Arc::new(b.finish()),
            Column::Timestamp(b) => Arc::new(b.finish().with_timezone("UTC")),
            Column::List { offsets, valid, item, field, .. } => {
                let offsets = OffsetBuffer::new(ScalarBuffer::from(std::mem::replace(offsets, vec![0])));
                Arc::new(ListArray::new(field.clone(), offsets, item.finish(), valid.finish()))
            }
            Column::Object(object) => Arc::new(object.finish()),
        }
    }
}

impl Object {
    fn new(fields: &'static [schema::Field], path: &str) -> Object {
        let children = fields
            .iter()
            .map(|f| {
                Column::new(&f.kind, &if path.is_empty() { f.name.to_owned() } else { format!("{path}.{}", f.name) })
            })
            .collect();
        let DataType::Struct(arrow) = schema::arrow_type(&Kind::Object(fields)) else { unreachable!("a struct") };
        Object { fields, children, set: 0, valid: NullBufferBuilder::new(0), arrow, path: path.to_owned() }
    }

    fn index(&self, key: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == key)
    }

    fn begin(&mut self) {
        self.set = 0;
    }

    /// Sets child `i` from `raw`, unless the row already has a value for it.
    fn put(&mut self, i: usize, raw: &RawValue, unfit: &mut Unfit) {
        if self.set & (1 << i) == 0 {
            self.set |= 1 << i;
            self.children[i].append(raw, unfit);
        }
    }

    /// Ends the row: children without a value get a null.
    fn end(&mut self, valid: bool) {
        for (i, child) in self.children.iter_mut().enumerate() {
            if self.set & (1 << i) == 0 {
                child.append_null();
            }
        }
        self.valid.append(valid);
    }

    fn append_null(&mut self) {
        self.set = 0;
        self.end(false);
    }

    fn finish(&mut self) -> StructArray {
        let arrays = self.children.iter_mut().map(Column::finish).collect();
        StructArray::new(self.arrow.clone(), arrays, self.valid.finish())
    }
}

struct ObjectFields<'a> {
    object: &'a mut Object,
    unfit: &'a mut Unfit,
}

impl<'de> Visitor<'de> for ObjectFields<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            match self.object.index(&key) {
                Some(i) => {
                    let raw: &'de RawValue = map.next_value()?;
                    self.object.put(i, raw, self.unfit);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct ListItems<'a> {
    item: &'a mut Column,
    unfit: &'a mut Unfit,
    count: i32,
}

impl<'de> Visitor<'de> for &mut ListItems<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            self.item.append(raw, self.unfit);
            self.count += 1;
        }
        Ok(())
    }
}

/// A JSON string's text; one that cannot be decoded (a lone UTF-16 surrogate escape) as spelled.
fn string_value(text: &str) -> std::borrow::Cow<'_, str> {
    let inner = text.get(1..text.len().saturating_sub(1)).unwrap_or_default();
    if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
        return std::borrow::Cow::Borrowed(inner);
    }
    match serde_json::from_str::<Text>(text) {
        Ok(Text(value)) => value,
        Err(_) => std::borrow::Cow::Borrowed(inner),
    }
}

/// An integer from a JSON number (`12`, `12.0`, `1.2e3`) or a string holding one.
fn integer(text: &str) -> Option<i64> {
    let text = if text.starts_with('"') { text.trim_matches('"').trim() } else { text };
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    let f: f64 = text.parse().ok()?;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

/// Days since 1970-01-01 of `2020-01-01`, `2020-01` (its first day), `2020` (1 January), or the date of a
/// timestamp (`2020-01-01T…`).
pub(super) fn date(text: &str) -> Option<i32> {
    let text = text.trim();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (year, month, day) = match text.len() {
        4 if digits(text) => (text, "1", "1"),
        7 if text.as_bytes()[4] == b'-' => (&text[..4], &text[5..7], "1"),
        n if n >= 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-' => {
            if n > 10 && !matches!(text.as_bytes()[10], b'T' | b't' | b' ') {
                return None;
            }
            (&text[..4], &text[5..7], &text[8..10])
        }
        _ => return None,
    };
    if !(digits(year) && digits(month) && digits(day)) {
        return None;
    }
    let date = jiff::civil::Date::new(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?).ok()?;
    let days = date.since(jiff::civil::date(1970, 1, 1)).ok()?.get_days();
    Some(days)
}

/// Microseconds since the epoch of an RFC 3339 timestamp; one without an offset, or a date, is UTC.
pub(super) fn timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Some(ts.as_microsecond());
    }
    let civil = text
        .parse::<jiff::civil::DateTime>()
        .ok()
        .or_else(|| text.parse::<jiff::civil::Date>().ok().map(|d| d.at(0, 0, 0, 0)))?;
    civil.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp().as_microsecond())
}

/// People → a Parquet file.
pub(super) struct ParquetRender {
    writer: ArrowWriter<File>,
    schema: SchemaRef,
    row: Object,
    /// The person's fields by name, for the top level (27 of them, looked up for every field).
    index: rustc_hash::FxHashMap<&'static str, usize>,
    id: usize,
    rows: usize,
    bytes: usize,
    unfit: Unfit,
}

impl ParquetRender {
    pub fn new(file: File) -> io::Result<ParquetRender> {
        let schema: SchemaRef = Arc::new(schema::arrow_schema());
        let properties = writer_properties(&schema).map_err(io_error)?;
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties)).map_err(io_error)?;
        let index = schema::PERSON.iter().enumerate().map(|(i, f)| (f.name, i)).collect();
        let id = schema::PERSON.iter().position(|f| f.name == schema::ID).expect("an id field");
        Ok(ParquetRender {
            writer,
            schema,
            row: Object::new(schema::PERSON, ""),
            index,
            id,
            rows: 0,
            bytes: 0,
            unfit: Unfit::default(),
        })
    }
}

impl Render for ParquetRender {
    fn person(&mut self, person: &Person<'_>) -> io::Result<()> {
        let row = &mut self.row;
        row.begin();
        // The id as the export knows it (a number id is its text), never null.
        let id = person.id().unwrap_or_default();
        row.set |= 1 << self.id;
        match &mut row.children[self.id] {
            Column::Text(b) => b.append_value(&id),
            _ => unreachable!("the id is text"),
        }
        for (key, raw) in person.fields() {
            if let Some(&i) = self.index.get(key) {
                row.put(i, raw, &mut self.unfit);
            }
        }
        row.end(true);
        self.rows += 1;
        self.bytes += person.raw().len();
        if self.rows >= BATCH_ROWS || self.bytes >= BATCH_BYTES {
            self.write_batch()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.write_batch()?;
        if self.unfit.count > 0 {
            tracing::warn!(
                count = self.unfit.count,
                "{} value(s) did not fit the Parquet schema's types and were left empty there (first: {}); the NDJSON output keeps every value as sent",
                self.unfit.count,
                self.unfit.example.as_deref().unwrap_or_default()
            );
        }
        self.writer.close().map_err(io_error)?;
        Ok(())
    }
}

impl ParquetRender {
    fn write_batch(&mut self) -> io::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let columns = self.row.finish().into_parts().1;
        let batch = RecordBatch::try_new(self.schema.clone(), columns).map_err(other_error)?;
        self.rows = 0;
        self.bytes = 0;
        self.writer.write(&batch).map_err(io_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps_read_leniently() {
        assert_eq!(date("1970-01-02"), Some(1));
        assert_eq!(date("2020-02"), date("2020-02-01"));
        assert_eq!(date("2020"), date("2020-01-01"));
        assert_eq!(date("2020-01-01T10:00:00Z"), date("2020-01-01"));
        for bad in ["", "Present", "2020-13-01", "20-01-01", "2020-01-01x", "2020/01/01"] {
            assert_eq!(date(bad), None, "{bad}");
        }
        assert_eq!(timestamp("1970-01-01T00:00:01Z"), Some(1_000_000));
        assert_eq!(timestamp("1970-01-01T01:00:01+01:00"), Some(1_000_000));
        assert_eq!(timestamp("1970-01-01T00:00:01"), Some(1_000_000));
        assert_eq!(timestamp("1970-01-02"), Some(86_400_000_000));
        assert_eq!(timestamp("yesterday"), None);
        assert_eq!(
            (integer("12"), integer("12.0"), integer("\"7\""), integer("1.5"), integer("true")),
            (Some(12), Some(12), Some(7), None, None)
        );
    }

    #[test]
    fn people_become_typed_rows_and_odd_values_are_null() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.parquet");
        let mut render = Box::new(ParquetRender::new(File::create(&path).unwrap()).unwrap());
        let people = [
            r#"{"id":"a","name":"Ann","experiences":[{"jobTitle":"CEO","dateFrom":"2020-01-01","dateTo":null},{"dateFrom":"Present"}],
                "phone":{"numbers":["+45 1"],"status":"verified"},"updatedAt":"2022-10-27T12:09:37Z","connectionsCount":500,
                "company":{"name":"Acme","fundingRound":{"moneyRaisedInUsd":1000000,"date":"2021-05"}},"future":1}"#,
            r#"{"id":7,"skills":"not a list","connectionsCount":"many","id":"ignored","name":{"odd":true}}"#,
        ];
        for p in people {
            render.person(&Person::from_json(p).unwrap()).unwrap();
        }
        assert_eq!(render.unfit.count, 3);
        render.finish().unwrap();
        let reader = parquet::file::reader::SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        use parquet::file::reader::FileReader;
        assert_eq!(reader.metadata().file_metadata().num_rows(), 2);
        let rows: Vec<String> = reader.get_row_iter(None).unwrap().map(|r| r.unwrap().to_string()).collect();
        assert!(rows[0].contains("jobTitle: \"CEO\""), "{}", rows[0]);
        assert!(rows[0].contains("connectionsCount: 500"), "{}", rows[0]);
        assert!(rows[1].starts_with("{id: \"7\""), "{}", rows[1]);
        assert!(rows[1].contains(r#"name: "{"odd":true}""#), "{}", rows[1]);
        assert!(rows[1].contains("skills: null"), "{}", rows[1]);
    }
}
