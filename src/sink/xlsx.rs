//! Excel workbooks, for people who open the file rather than import it: the CSV's columns as typed cells
//! (text is a text cell, so no formula can run and no apostrophe is needed; numbers, dates and times are
//! numbers Excel can sort and sum), a bold, frozen, filterable header row, column widths by field, and
//! profile links as hyperlinks. Written in rust_xlsxwriter's constant-memory mode: each row goes to a
//! temporary file in the job's state folder as soon as it is complete.
//!
//! A sheet holds 1,048,575 people under its header (Excel's limit is 1,048,576 rows); past that the
//! export continues on a second sheet (`People 2`) with the same header, and so on, rather than refusing
//! an export already paid for.

use std::fs::File;
use std::io;
use std::path::Path;

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format as CellFormat, Url, Workbook, XlsxError};

use super::columns::Column;
use super::csv::{Layout, Row};
use super::render::{Render, io_error};
use crate::api::Person;

/// People on one sheet, under its header row.
pub const PEOPLE_PER_SHEET: u32 = 1_048_575;
/// Links on one sheet; later ones are written as text. Excel opens at most 65,530, and rust_xlsxwriter
/// holds each in memory until the workbook is saved (about 1.5 KB apiece), so half that keeps a sheet's
/// memory to some 50 MB.
const LINKS_PER_SHEET: u32 = 32_768;
/// Excel's limit on the text of one cell, in characters.
const MAX_CELL_CHARS: usize = 32_767;

/// How a column's cells are written.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cell {
    Text,
    /// A web link, clickable.
    Link,
    Date,
    Timestamp,
}

fn cell_kind(field: &str) -> Cell {
    match field {
        "linkedinUrl" | "photo" | "company.logo" | "company.fundingRound.cbUrl" => Cell::Link,
        "company.fundingRound.date" => Cell::Date,
        "updatedAt" => Cell::Timestamp,
        _ => Cell::Text,
    }
}

/// A column's width in characters: room for typical values, never narrower than the header.
fn width(column: &Column) -> f64 {
    let typical = match column.field.as_str() {
        "summary" | "currentJobDescription" | "experiences" | "headline" | "company.technologies" => 60,
        "linkedinUrl" | "photo" | "company.logo" | "company.fundingRound.cbUrl" | "email.address" => 40,
        "jobTitle" | "jobTitleEnglish" | "company.name" | "location" | "name" | "inferredEmails" => 30,
        "phone.number" | "phone.numbers" | "domain" | "company.industries" | "departments" | "updatedAt" => 22,
        "firstName" | "lastName" | "seniorities" | "id" => 16,
        _ => 12,
    };
    (typical.max(column.header.chars().count() + 3)).min(80) as f64
}

/// People → an Excel workbook.
pub(super) struct XlsxRender {
    workbook: Workbook,
    file: File,
    layout: Layout,
    row: Row,
    cells: Vec<Cell>,
    widths: Vec<f64>,
    header: CellFormat,
    date: CellFormat,
    datetime: CellFormat,
    /// People on a sheet: [`PEOPLE_PER_SHEET`] (smaller in tests).
    per_sheet: u32,
    /// The sheet being written (0-based), its people and links so far.
    sheet: usize,
    people: u32,
    links: u32,
    truncated: u64,
}

fn xlsx_error(e: XlsxError) -> io::Error {
    match e {
        XlsxError::IoError(e) => e,
        other => io_error(other),
    }
}

impl XlsxRender {
    /// A workbook of `columns` written into `file`; temporary files go to `scratch` (the job's state
    /// folder); `created` (Unix seconds) is its creation time, the export's start, so the same export
    /// always makes the same bytes.
    pub fn new(file: File, columns: &[Column], scratch: &Path, created: i64) -> io::Result<XlsxRender> {
        let mut workbook = Workbook::new();
        workbook.set_tempdir(scratch).map_err(xlsx_error)?;
        workbook.set_zip_compression_level(1);
        if let Ok(created) = ExcelDateTime::from_timestamp(created) {
            workbook.set_properties(&DocProperties::new().set_creation_datetime(&created));
        }
        let mut render = XlsxRender {
            workbook,
            file,
            layout: Layout::new(columns),
            row: Row::default(),
            cells: columns.iter().map(|c| cell_kind(&c.field)).collect(),
            widths: columns.iter().map(width).collect(),
            header: CellFormat::new().set_bold(),
            date: CellFormat::new().set_num_format("yyyy-mm-dd"),
            datetime: CellFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            per_sheet: PEOPLE_PER_SHEET,
            sheet: 0,
            people: 0,
            links: 0,
            truncated: 0,
        };
        render.add_sheet().map_err(xlsx_error)?;
        Ok(render)
    }

    fn add_sheet(&mut self) -> Result<(), XlsxError> {
        let index = self.workbook.worksheets().len();
        let sheet = self.workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(if index == 0 { "People".to_owned() } else { format!("People {}", index + 1) })?;
        for (col, header) in self.layout.headers().enumerate() {
            sheet.set_column_width(col as u16, self.widths[col])?;
            sheet.write_string_with_format(0, col as u16, header, &self.header)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        self.sheet = index;
        self.people = 0;
        self.links = 0;
        Ok(())
    }

    /// The filter over the header and every row of the current sheet.
    fn close_sheet(&mut self) -> Result<(), XlsxError> {
        let last_col = self.cells.len().saturating_sub(1) as u16;
        let sheet = self.workbook.worksheet_from_index(self.sheet)?;
        sheet.autofilter(0, 0, self.people, last_col)?;
        Ok(())
    }

    /// Writes the projected row. A value Excel cannot take as its type (a link too long, a date before
    /// 1900) is written as text instead, so no person can make the workbook impossible to finish.
    fn write_row(&mut self) -> Result<(), XlsxError> {
        let row = self.people;
        let sheet = self.workbook.worksheet_from_index(self.sheet)?;
        for (col, (text, numeric)) in self.layout.typed_cells(&self.row).enumerate() {
            if text.is_empty() {
                continue;
            }
            let col16 = col as u16;
            let number = if numeric { text.parse::<f64>().ok().filter(|n| n.is_finite()) } else { None };
            let typed = match (number, self.cells[col]) {
                (Some(n), _) => sheet.write_number(row, col16, n).map(|_| true),
                (None, Cell::Link)
                    if self.links < LINKS_PER_SHEET
                        && (text.starts_with("https://") || text.starts_with("http://"))
                        && text.len() < 2000 =>
                {
                    let written = sheet.write_url(row, col16, Url::new(text)).is_ok();
                    self.links += u32::from(written);
                    Ok(written)
                }
                (None, Cell::Date) => match super::parquet::date(text).filter(|_| !text.contains(';')) {
                    Some(days) => match excel_serial(i64::from(days) * 86_400) {
                        Some(serial) => sheet.write_number_with_format(row, col16, serial, &self.date).map(|_| true),
                        None => Ok(false),
                    },
                    None => Ok(false),
                },
                (None, Cell::Timestamp) => match super::parquet::timestamp(text).filter(|_| !text.contains(';')) {
                    Some(micros) => match excel_serial(micros.div_euclid(1_000_000)) {
                        Some(serial) => {
                            sheet.write_number_with_format(row, col16, serial, &self.datetime).map(|_| true)
                        }
                        None => Ok(false),
                    },
                    None => Ok(false),
                },
                _ => Ok(false),
            }?;
            if typed {
                continue;
            }
            let (text, cut) = cut_utf16(text, MAX_CELL_CHARS);
            self.truncated += u64::from(cut);
            sheet.write_string(row, col16, literal(text).as_ref())?;
        }
        Ok(())
    }
}

/// At most `max` UTF-16 units of `text` (Excel counts them), and whether it was cut.
fn cut_utf16(text: &str, max: usize) -> (&str, bool) {
    let mut units = 0;
    for (at, c) in text.char_indices() {
        units += c.len_utf16();
        if units > max {
            return (&text[..at], true);
        }
    }
    (text, false)
}

/// Text a worksheet can hold: U+FFFE and U+FFFF, which XML cannot hold at all, become U+FFFD. (Runs that
/// look like Excel's `_xHHHH_` escapes need nothing here: rust_xlsxwriter escapes their underscore itself,
/// and escaping it here too made `_x0041_` read back as `_x005F_x0041_`.)
fn literal(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\u{FFFE}', '\u{FFFF}']) {
        return std::borrow::Cow::Owned(text.replace(['\u{FFFE}', '\u{FFFF}'], "\u{FFFD}"));
    }
    std::borrow::Cow::Borrowed(text)
}

/// Excel's day number (days since 1899-12-30, the time of day as a fraction) of a Unix time in seconds,
/// within the dates Excel shows (1900 to 9999).
fn excel_serial(unix_seconds: i64) -> Option<f64> {
    let serial = 25_569.0 + unix_seconds as f64 / 86_400.0;
    (61.0..2_958_466.0).contains(&serial).then_some(serial)
}

impl Render for XlsxRender {
    fn person(&mut self, person: &Person<'_>) -> io::Result<()> {
        if self.people == self.per_sheet {
            self.close_sheet().map_err(xlsx_error)?;
            self.add_sheet().map_err(xlsx_error)?;
        }
        self.layout.project(person, &mut self.row);
        self.people += 1;
        self.write_row().map_err(xlsx_error)
    }

    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.close_sheet().map_err(xlsx_error)?;
        if self.truncated > 0 {
            tracing::warn!(
                count = self.truncated,
                "{} cell(s) were longer than Excel's 32,767 characters and were cut there in the workbook; the NDJSON and Parquet outputs keep every character",
                self.truncated
            );
        }
        let mut file = Sticky::new(self.file.try_clone()?);
        let saved = self.workbook.save_to_writer(&mut file);
        // The first failure of the file itself is the error to report (a full disk stays a full disk),
        // whatever the zip writer made of it; and a save that claims success after a failed write is
        // no success.
        match (file.error.take(), saved) {
            (Some(error), _) => Err(error),
            (None, saved) => saved.map_err(xlsx_error),
        }
    }
}

/// The workbook's file for its save. After its first failed write it fails no more: it keeps that
/// error and takes everything else without writing it (following where it would be, so the zip writer's
/// offsets still add up). The zip writer, dropped unfinished after the failure, then finishes into
/// nothing instead of printing its own complaint to stderr in the middle of the user's log.
struct Sticky {
    file: File,
    error: Option<io::Error>,
    /// After the failure: where the file would be, and how long.
    at: u64,
    len: u64,
}

impl Sticky {
    fn new(file: File) -> Sticky {
        Sticky { file, error: None, at: 0, len: 0 }
    }

    fn keep(&mut self, error: io::Error) -> io::Error {
        use std::io::Seek;
        self.at = self.file.stream_position().unwrap_or(0);
        self.len = self.file.metadata().map(|m| m.len()).unwrap_or(0).max(self.at);
        let returned = io::Error::new(error.kind(), error.to_string());
        self.error = Some(error);
        returned
    }
}

impl io::Write for Sticky {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.error.is_some() {
            self.at += bytes.len() as u64;
            self.len = self.len.max(self.at);
            return Ok(bytes.len());
        }
        self.file.write(bytes).map_err(|e| self.keep(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.error.is_some() {
            return Ok(());
        }
        self.file.flush().map_err(|e| self.keep(e))
    }
}

impl io::Seek for Sticky {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        if self.error.is_none() {
            return self.file.seek(to).map_err(|e| self.keep(e));
        }
        let at = match to {
            io::SeekFrom::Start(at) => Some(at),
            io::SeekFrom::Current(by) => self.at.checked_add_signed(by),
            io::SeekFrom::End(by) => self.len.checked_add_signed(by),
        };
        self.at = at.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_a_full_sheet_people_continue_on_the_next_under_the_same_header() {
        use calamine::Reader;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.xlsx");
        let columns = vec![Column::named("id"), Column { field: "updatedAt".into(), header: "Updated".into() }];
        let file = std::fs::File::create(&path).unwrap();
        let mut render = Box::new(XlsxRender::new(file, &columns, dir.path(), 0).unwrap());
        render.per_sheet = 2;
        for i in 0..5 {
            let json = format!(r#"{{"id":"p{i}","updatedAt":"2022-10-27T12:00:00Z"}}"#);
            render.person(&Person::from_json(&json).unwrap()).unwrap();
        }
        render.finish().unwrap();
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
        assert_eq!(book.sheet_names(), vec!["People", "People 2", "People 3"]);
        let mut ids = Vec::new();
        for name in book.sheet_names() {
            let range = book.worksheet_range(&name).unwrap();
            let rows: Vec<_> = range.rows().collect();
            assert_eq!(rows[0][0].to_string(), "id", "{name} has the header");
            for row in &rows[1..] {
                ids.push(row[0].to_string());
                // A timestamp is a date-time cell, not text.
                assert!(matches!(row[1], calamine::Data::DateTime(_)), "{:?}", row[1]);
            }
        }
        assert_eq!(ids, ["p0", "p1", "p2", "p3", "p4"]);
    }

    #[test]
    fn text_that_looks_like_an_excel_escape_reads_back_as_written() {
        use calamine::Reader;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.xlsx");
        let columns = vec![Column::named("id"), Column::named("firstName")];
        let file = std::fs::File::create(&path).unwrap();
        let mut render = Box::new(XlsxRender::new(file, &columns, dir.path(), 0).unwrap());
        let json = r#"{"id":"p0","firstName":"_x0041_ lit \u0001 _x005F_ end\uffff"}"#;
        render.person(&Person::from_json(json).unwrap()).unwrap();
        render.finish().unwrap();
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
        let range = book.worksheet_range("People").unwrap();
        assert_eq!(range.get((1, 1)).unwrap().to_string(), "_x0041_ lit \u{1} _x005F_ end\u{FFFD}");
    }

    /// Saves a workbook into /dev/full (every write fails: no space left), as the child of
    /// [`a_full_disk_is_one_error_without_a_librarys_own_complaint`].
    #[test]
    fn full_disk_child() {
        let Some(scratch) = std::env::var_os("OCEAN_EXPORT_XLSX_FULL_CHILD") else { return };
        let file = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let columns = vec![Column::named("id")];
        let mut render = Box::new(XlsxRender::new(file, &columns, Path::new(&scratch), 0).unwrap());
        render.person(&Person::from_json(r#"{"id":"p0"}"#).unwrap()).unwrap();
        let error = render.finish().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::StorageFull, "{error}");
    }

    #[test]
    fn a_full_disk_is_one_error_without_a_librarys_own_complaint() {
        if !Path::new("/dev/full").exists() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "sink::xlsx::tests::full_disk_child", "--nocapture", "--test-threads", "1"])
            .env("OCEAN_EXPORT_XLSX_FULL_CHILD", dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"), "the child ran");
        // zip's writer, dropped unfinished, printed `ZipWriter::drop: failed to finalize archive: ...`
        // straight to stderr, without a line end, into the middle of the user's log.
        assert!(!stderr.contains("ZipWriter"), "{stderr}");
    }

    #[test]
    fn serial_numbers_are_excels() {
        // 2022-10-27T12:00:00Z is day 44861.5 in Excel.
        assert_eq!(excel_serial(1_666_872_000), Some(44_861.5));
        assert_eq!(excel_serial(0), Some(25_569.0));
        assert_eq!(excel_serial(-2_300_000_000), None, "before 1900");
    }

    #[test]
    fn cells_are_cut_in_utf16_units_and_non_characters_replaced() {
        assert_eq!(cut_utf16("ab😀c", 3), ("ab", true));
        assert_eq!(cut_utf16("ab😀c", 4), ("ab😀", true));
        assert_eq!(cut_utf16("abc", 3), ("abc", false));
        assert_eq!(literal("a _x0041_ b"), "a _x0041_ b", "rust_xlsxwriter escapes it");
        assert_eq!(literal("plain"), "plain");
        assert_eq!(literal("a\u{FFFF}\u{FFFE}_x0041_"), "a\u{FFFD}\u{FFFD}_x0041_");
    }
}
