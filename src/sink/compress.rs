//! gzip and zstd for appended outputs, one gzip member or zstd frame per committed page. Standard readers
//! (`gzip -d`, `zstd -d`, DuckDB, Python's `gzip`) read concatenated members and frames as one stream, and
//! a partial file cut back to its last commit ends at a whole member or frame, so resume stays exact.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

/// How an appended output is compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The suffix it adds to a path (`.gz`), without the dot.
    pub fn suffix(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gz"),
            Compression::Zstd => Some("zst"),
        }
    }

    /// The compression a path's last extension implies (`.gz`, `.zst`/`.zstd`), if any.
    pub fn from_suffix(suffix: &str) -> Option<Compression> {
        match suffix.to_ascii_lowercase().as_str() {
            "gz" | "gzip" => Some(Compression::Gzip),
            "zst" | "zstd" => Some(Compression::Zstd),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// The level used when the job sets none: fast ones, chosen so compression costs little throughput
    /// (see BENCHMARKS.md).
    pub fn default_level(self) -> i32 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Zstd => 3,
        }
    }

    /// The levels a job may choose.
    pub fn levels(self) -> std::ops::RangeInclusive<i32> {
        match self {
            Compression::None => 0..=0,
            Compression::Gzip => 0..=9,
            Compression::Zstd => 1..=19,
        }
    }
}

/// Bytes on their way into a file: passed through, or compressed a frame at a time.
pub enum Framer {
    Plain(Vec<u8>),
    Gzip { level: u32, encoder: Option<flate2::write::GzEncoder<Vec<u8>>> },
    Zstd { level: i32, encoder: Option<zstd::stream::write::Encoder<'static, Vec<u8>>> },
}

impl Framer {
    pub fn new(compression: Compression, level: i32) -> Framer {
        match compression {
            Compression::None => Framer::Plain(Vec::new()),
            Compression::Gzip => Framer::Gzip { level: level.clamp(0, 9) as u32, encoder: None },
            Compression::Zstd => Framer::Zstd { level, encoder: None },
        }
    }

    /// Takes bytes of the frame in progress (starting one if none is).
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        match self {
            Framer::Plain(out) => out.extend_from_slice(bytes),
            Framer::Gzip { level, encoder } => encoder
                .get_or_insert_with(|| {
                    flate2::write::GzEncoder::new(Vec::with_capacity(1 << 16), flate2::Compression::new(*level))
                })
                .write_all(bytes)?,
            Framer::Zstd { level, encoder } => {
                let encoder = match encoder {
                    Some(encoder) => encoder,
                    None => encoder.insert(zstd::stream::write::Encoder::new(Vec::with_capacity(1 << 16), *level)?),
                };
                encoder.write_all(bytes)?;
            }
        }
        Ok(())
    }

    /// Output ready to go into the file (compressed bytes so far; the frame goes on). The caller empties it.
    pub fn ready(&mut self) -> Option<&mut Vec<u8>> {
        match self {
            Framer::Plain(out) => Some(out),
            Framer::Gzip { encoder, .. } => encoder.as_mut().map(|e| e.get_mut()),
            Framer::Zstd { encoder, .. } => encoder.as_mut().map(|e| e.get_mut()),
        }
    }

    /// Ends the frame in progress and returns its last bytes (nothing when no frame was started, so a page
    /// without people adds nothing).
    pub fn finish_frame(&mut self) -> io::Result<Vec<u8>> {
        match self {
            Framer::Plain(out) => Ok(std::mem::take(out)),
            Framer::Gzip { encoder, .. } => encoder.take().map_or(Ok(Vec::new()), |e| e.finish()),
            Framer::Zstd { encoder, .. } => encoder.take().map_or(Ok(Vec::new()), |e| e.finish()),
        }
    }

    /// Drops the frame in progress.
    pub fn discard(&mut self) {
        match self {
            Framer::Plain(out) => out.clear(),
            Framer::Gzip { encoder, .. } => *encoder = None,
            Framer::Zstd { encoder, .. } => *encoder = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn frames(compression: Compression, pages: &[&str]) -> Vec<u8> {
        let mut framer = Framer::new(compression, compression.default_level());
        let mut file = Vec::new();
        for page in pages {
            for chunk in page.as_bytes().chunks(3) {
                framer.write(chunk).unwrap();
                if let Some(ready) = framer.ready() {
                    file.append(ready);
                }
            }
            file.extend(framer.finish_frame().unwrap());
        }
        file
    }

    #[test]
    fn concatenated_frames_read_as_one_stream() {
        let pages = ["a,b\r\n", "1,2\r\n3,4\r\n", "", "æøå\r\n"];
        let whole: String = pages.concat();
        let gz = frames(Compression::Gzip, &pages);
        let mut out = String::new();
        flate2::read::MultiGzDecoder::new(&gz[..]).read_to_string(&mut out).unwrap();
        assert_eq!(out, whole);
        let zst = frames(Compression::Zstd, &pages);
        assert_eq!(String::from_utf8(zstd::stream::decode_all(&zst[..]).unwrap()).unwrap(), whole);
        assert_eq!(frames(Compression::None, &pages), whole.as_bytes());
    }
}
