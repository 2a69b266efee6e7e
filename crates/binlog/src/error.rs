//! Errors of the binlog reader: each names where it happened and, where it can, what to change.

use dts_types::{BinlogPosition, TableId};

/// Where in a binlog an event sits, for messages: `binlog.000003:1234 (TABLE_MAP)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventAt {
    pub position: BinlogPosition,
    pub event_type: u8,
}

impl std::fmt::Display for EventAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.position, crate::event::type_name(self.event_type))
    }
}

/// A column value that could not be decoded, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode column {column} ({column_type}) of {table} at {at}: {reason}")]
pub struct ValueAt {
    pub at: EventAt,
    pub table: TableId,
    pub column: String,
    pub column_type: String,
    pub reason: String,
}

/// What a table map lacked to decode its rows, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("table map for {table} at {at} lacks {what}; {fix}")]
pub struct MissingAt {
    pub at: EventAt,
    pub table: TableId,
    pub what: String,
    pub fix: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BinlogError {
    #[error("event at {at} is malformed: {reason}")]
    Malformed { at: EventAt, reason: String },
    #[error("binlog ends inside an event at {position}: the file is truncated ({reason})")]
    Truncated { position: BinlogPosition, reason: String },
    #[error("{path} is not a binlog file (no binlog magic bytes)")]
    NotABinlog { path: String },
    #[error("checksum mismatch at {at}: the event says {expected:#010x}, its bytes give {actual:#010x}")]
    Checksum { at: EventAt, expected: u32, actual: u32 },
    #[error("{0}")]
    Value(Box<ValueAt>),
    #[error("{0}")]
    MissingMetadata(Box<MissingAt>),
    #[error("row event at {at} refers to table id {table_id} with no table map before it")]
    UnknownTable { at: EventAt, table_id: u64 },
    #[error("unsupported event at {at}: {reason}")]
    Unsupported { at: EventAt, reason: String },
    #[error(
        "the source no longer has the start position {start}: {message} (its binlog was purged; start from a newer position or run a full sync again)"
    )]
    Purged { start: String, message: String },
    #[error("source error: {0}")]
    Source(#[from] mysql::Error),
    #[error(
        "the source sent nothing for {seconds} s (no event, no heartbeat): the connection is dead or the source hangs"
    )]
    Silent { seconds: u64 },
    #[error("reconnecting to the source failed for {minutes} min, longer than the retry window; last error: {last}")]
    RetryWindowExceeded { minutes: u64, last: String },
    #[error("reading {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("schema provider failed for {table}: {message}")]
    Schema { table: TableId, message: String },
    #[error("bad reader options: {0}")]
    Options(String),
}

impl BinlogError {
    /// Whether reconnecting may cure the error (a lost or silent connection).
    pub fn is_transient(&self) -> bool {
        match self {
            BinlogError::Silent { .. } => true,
            BinlogError::Source(e) => dts_types::retry::classify(e).is_transient(),
            _ => false,
        }
    }
}
