//! Binlog files on disk as an event source, for tests and offline inspection.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use dts_types::BinlogPosition;

use crate::error::BinlogError;
use crate::event::{HEADER_LEN, MAGIC, MAX_EVENT_SIZE};

/// Reads whole events (header through checksum) from a binlog file, checking only framing:
/// a file cut inside an event is a [`BinlogError::Truncated`], never a panic.
#[derive(Debug)]
pub struct BinlogFile {
    path: PathBuf,
    name: String,
    reader: BufReader<File>,
    offset: u64,
    buf: Vec<u8>,
}

impl BinlogFile {
    /// Opens a binlog file and checks its magic bytes.
    pub fn open(path: impl AsRef<Path>) -> Result<BinlogFile, BinlogError> {
        let path = path.as_ref().to_path_buf();
        let io = |source| BinlogError::Io { path: path.display().to_string(), source };
        let mut reader = BufReader::with_capacity(1 << 16, File::open(&path).map_err(io)?);
        let mut magic = [0u8; 4];
        let n = read_full(&mut reader, &mut magic).map_err(io)?;
        if n < 4 || magic != MAGIC {
            return Err(BinlogError::NotABinlog { path: path.display().to_string() });
        }
        let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        Ok(BinlogFile { path, name, reader, offset: 4, buf: Vec::new() })
    }

    /// The file's name, as positions name it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next event, or `None` at the end of the file.
    pub fn next_event(&mut self) -> Result<Option<&[u8]>, BinlogError> {
        let io = |source| BinlogError::Io { path: self.path.display().to_string(), source };
        let start = self.offset;
        let truncated =
            |reason: String| BinlogError::Truncated { position: BinlogPosition::new(self.name.clone(), start), reason };
        self.buf.resize(HEADER_LEN, 0);
        let n = read_full(&mut self.reader, &mut self.buf).map_err(io)?;
        if n == 0 {
            return Ok(None);
        }
        if n < HEADER_LEN {
            return Err(truncated(format!("{n} of {HEADER_LEN} header bytes")));
        }
        let size = u32::from_le_bytes(self.buf[9..13].try_into().expect("4 bytes")) as usize;
        if !(HEADER_LEN..=MAX_EVENT_SIZE).contains(&size) {
            return Err(BinlogError::Malformed {
                at: crate::error::EventAt {
                    position: BinlogPosition::new(self.name.clone(), start),
                    event_type: self.buf[4],
                },
                reason: format!("event size {size} is impossible"),
            });
        }
        self.buf.resize(size, 0);
        let got = read_full(&mut self.reader, &mut self.buf[HEADER_LEN..]).map_err(io)?;
        if got < size - HEADER_LEN {
            return Err(truncated(format!("{} of {size} event bytes", HEADER_LEN + got)));
        }
        self.offset += size as u64;
        Ok(Some(&self.buf))
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
