//! A page received while other pages are still arriving: its people are held here, one compact JSON line
//! each, until it is its turn to go into the output. Up to a megabyte stays in memory; the rest goes to an
//! unnamed temporary file in the job's state folder (owner-only, gone when dropped), so four pages of
//! 10 000 people in flight cost a few megabytes of memory, not hundreds.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::api::{Person, PersonSink};
use crate::fetch::PageSink;

/// Bytes kept in memory before the buffer spills to its file.
const IN_MEMORY: usize = 1 << 20;

/// The people of one page, in order.
pub struct PageBuffer {
    dir: PathBuf,
    memory: Vec<u8>,
    file: Option<File>,
    people: u64,
}

impl PageBuffer {
    /// An empty buffer that spills into `dir`.
    pub fn new(dir: &Path) -> PageBuffer {
        PageBuffer { dir: dir.to_owned(), memory: Vec::new(), file: None, people: 0 }
    }

    fn spill(&mut self) -> io::Result<()> {
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(tempfile::tempfile_in(&self.dir)?),
        };
        file.write_all(&self.memory)?;
        self.memory.clear();
        Ok(())
    }

    /// Hands every person to `sink`, in the order they came.
    pub fn replay<S: PersonSink>(mut self, sink: &mut S) -> Result<(), ReplayError<S::Error>> {
        if let Some(file) = &mut self.file {
            file.flush().map_err(ReplayError::Read)?;
            file.seek(SeekFrom::Start(0)).map_err(ReplayError::Read)?;
            let mut reader = BufReader::with_capacity(1 << 16, &*file);
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).map_err(ReplayError::Read)? == 0 {
                    break;
                }
                hand_over(line.trim_end_matches('\n'), sink)?;
            }
        }
        for line in std::str::from_utf8(&self.memory).map_err(|e| ReplayError::Read(io::Error::other(e)))?.lines() {
            hand_over(line, sink)?;
        }
        Ok(())
    }
}

fn hand_over<S: PersonSink>(line: &str, sink: &mut S) -> Result<(), ReplayError<S::Error>> {
    let person = Person::from_json(line).map_err(|e| ReplayError::Read(io::Error::other(e)))?;
    sink.person(&person).map_err(ReplayError::Sink)
}

/// Why a buffered page could not be handed over.
#[derive(Debug)]
pub enum ReplayError<E> {
    /// The buffer's own file.
    Read(io::Error),
    Sink(E),
}

impl PersonSink for PageBuffer {
    type Error = io::Error;

    fn person(&mut self, person: &Person<'_>) -> io::Result<()> {
        super::ndjson::minify_into(person.raw(), &mut self.memory);
        self.memory.push(b'\n');
        self.people += 1;
        if self.memory.len() >= IN_MEMORY {
            self.spill()?;
        }
        Ok(())
    }
}

impl PageSink for PageBuffer {
    fn rollback(&mut self) -> io::Result<()> {
        self.memory.clear();
        self.people = 0;
        if let Some(file) = &mut self.file {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Vec<String>);

    impl PersonSink for Collect {
        type Error = std::convert::Infallible;
        fn person(&mut self, person: &Person<'_>) -> Result<(), Self::Error> {
            self.0.push(String::from_utf8(person.raw().to_vec()).unwrap());
            Ok(())
        }
    }

    #[test]
    fn people_come_back_compact_and_in_order_across_the_spill() {
        let dir = tempfile::tempdir().unwrap();
        let mut buffer = PageBuffer::new(dir.path());
        let long = "ø".repeat(300_000);
        let people: Vec<String> =
            (0..12).map(|i| format!("{{ \"id\": \"p{i}\", \"summary\": \"{long}\\n\\u00e6\" }}")).collect();
        buffer.person(&Person::from_json(&people[0]).unwrap()).unwrap();
        buffer.rollback().unwrap();
        for person in &people {
            buffer.person(&Person::from_json(person).unwrap()).unwrap();
        }
        assert!(buffer.file.is_some(), "seven megabytes spill to the file");
        let mut collect = Collect::default();
        buffer.replay(&mut collect).map_err(|_| "replay").unwrap();
        let expected: Vec<String> = people
            .iter()
            .map(|p| p.replace("{ ", "{").replace(": ", ":").replace(", ", ",").replace(" }", "}"))
            .collect();
        assert_eq!(collect.0, expected);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the file has no name");
    }
}
