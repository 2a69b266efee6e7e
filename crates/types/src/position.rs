//! Where in the source's binary log a change sits: file + offset, and the GTID state reached.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::gtid::GtidPosition;

/// A position in the source's binary log: a file name and a byte offset inside it.
///
/// Positions order by the file's sequence number (the numeric extension, so `binlog.1000000`
/// comes after `binlog.999999`), then by offset.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct BinlogPosition {
    /// The binlog file's name.
    pub file: String,
    /// The byte offset in it.
    pub offset: u64,
}

/// Why a binlog position could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid binlog position {text:?}: expected FILE:OFFSET, for example binlog.000042:1234")]
pub struct BinlogPositionError {
    /// The text.
    pub text: String,
}

impl BinlogPosition {
    /// `file:offset`.
    pub fn new(file: impl Into<String>, offset: u64) -> Self {
        BinlogPosition { file: file.into(), offset }
    }

    /// The file's base name and sequence number: `("binlog", 42)` for `binlog.000042`.
    pub fn file_sequence(&self) -> (&str, Option<u64>) {
        match self.file.rsplit_once('.') {
            Some((base, ext)) if !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_digit()) => (base, ext.parse().ok()),
            _ => (&self.file, None),
        }
    }
}

impl Ord for BinlogPosition {
    fn cmp(&self, other: &Self) -> Ordering {
        self.file_sequence()
            .cmp(&other.file_sequence())
            .then_with(|| self.file.cmp(&other.file))
            .then(self.offset.cmp(&other.offset))
    }
}

impl PartialOrd for BinlogPosition {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for BinlogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.offset)
    }
}

impl FromStr for BinlogPosition {
    type Err = BinlogPositionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || BinlogPositionError { text: s.to_string() };
        let (file, offset) = s.rsplit_once(':').ok_or_else(err)?;
        if file.is_empty() {
            return Err(err());
        }
        let offset = offset.parse().map_err(|_| err())?;
        Ok(BinlogPosition::new(file, offset))
    }
}

/// The point to resume reading the source from: always a binlog position, and the GTID state
/// reached there where the source has GTIDs.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SourcePosition {
    /// The binlog file and offset.
    pub binlog: BinlogPosition,
    /// The GTID state reached there, if the source has GTIDs.
    pub gtid: Option<GtidPosition>,
}

impl fmt::Display for SourcePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.binlog)?;
        if let Some(g) = &self.gtid {
            write!(f, " (gtid {g})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse_display_and_order_by_sequence() {
        let p: BinlogPosition = "binlog.000042:1234".parse().unwrap();
        assert_eq!(p, BinlogPosition::new("binlog.000042", 1234));
        assert_eq!(p.to_string(), "binlog.000042:1234");
        let a = BinlogPosition::new("binlog.999999", 9_000);
        let b = BinlogPosition::new("binlog.1000000", 4);
        assert!(a < b, "the sequence number orders files, not the text");
        assert!(BinlogPosition::new("b.000001", 4) < BinlogPosition::new("b.000001", 5));
        let with_colon: BinlogPosition = "C:\\logs\\bin.000001:4".parse().unwrap();
        assert_eq!(with_colon.file, "C:\\logs\\bin.000001");
    }

    #[test]
    fn bad_positions_are_errors() {
        for s in ["", "binlog.000001", ":4", "binlog.000001:x", "binlog.000001:-4"] {
            assert!(s.parse::<BinlogPosition>().is_err(), "{s:?} must not parse");
        }
    }
}
