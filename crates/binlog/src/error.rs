//! Errors of the binlog reader: each names where it happened and, where it can, what to change.

use dts_types::{BinlogPosition, TableId};

/// Where in a binlog an event sits, for messages: `binlog.000003:1234 (TABLE_MAP)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventAt {
    /// The binlog file and the event's end position (its header's `log_pos`).
    pub position: BinlogPosition,
    /// The event's type code.
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
    /// The row event.
    pub at: EventAt,
    /// The table the row belongs to.
    pub table: TableId,
    /// The column's name (or `@n` where the binlog does not name it).
    pub column: String,
    /// The column's type as the table map gives it.
    pub column_type: String,
    /// What was wrong with the bytes.
    pub reason: String,
}

/// What a table map lacked to decode its rows, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("table map for {table} at {at} lacks {what}; {fix}")]
pub struct MissingAt {
    /// The TABLE_MAP event.
    pub at: EventAt,
    /// The table it maps.
    pub table: TableId,
    /// What it lacks (column names, signedness, charsets...).
    pub what: String,
    /// What to change on the source (or in the reader's parts) so it decodes.
    pub fix: String,
}

/// Why the reader stopped. Only [`is_transient`](BinlogError::is_transient) errors are cured by
/// reconnecting, which the reader already does within its retry window.
#[derive(Debug, thiserror::Error)]
pub enum BinlogError {
    /// An event's bytes do not hold what its type says.
    #[error("event at {at} is malformed: {reason}")]
    Malformed {
        /// The event.
        at: EventAt,
        /// What is wrong with it.
        reason: String,
    },
    /// The stream or file ends inside an event.
    #[error("binlog ends inside an event at {position}: the file is truncated ({reason})")]
    Truncated {
        /// Where the cut event starts.
        position: BinlogPosition,
        /// What was missing.
        reason: String,
    },
    /// The file does not start with the binlog magic bytes.
    #[error("{path} is not a binlog file (no binlog magic bytes)")]
    NotABinlog {
        /// The file.
        path: String,
    },
    /// An event's CRC32 does not match its bytes.
    #[error("checksum mismatch at {at}: the event says {expected:#010x}, its bytes give {actual:#010x}")]
    Checksum {
        /// The event.
        at: EventAt,
        /// The checksum the event carries.
        expected: u32,
        /// The checksum of its bytes.
        actual: u32,
    },
    /// A column value could not be decoded.
    #[error("{0}")]
    Value(Box<ValueAt>),
    /// A table map lacks what decoding its rows needs.
    #[error("{0}")]
    MissingMetadata(Box<MissingAt>),
    /// A row event names a table id no TABLE_MAP introduced.
    #[error("row event at {at} refers to table id {table_id} with no table map before it")]
    UnknownTable {
        /// The row event.
        at: EventAt,
        /// The table id it names.
        table_id: u64,
    },
    /// An event this reader cannot decode (it never skips one).
    #[error("unsupported event at {at}: {reason}")]
    Unsupported {
        /// The event.
        at: EventAt,
        /// What is not supported.
        reason: String,
    },
    /// The start position is no longer in the source's binlog.
    #[error(
        "the source no longer has the start position {start}: {message} (its binlog was purged; start from a newer position or run a full sync again)"
    )]
    Purged {
        /// The start position asked for.
        start: String,
        /// The source's message.
        message: String,
    },
    /// The connection or the source failed.
    #[error("source error: {0}")]
    Source(#[from] mysql::Error),
    /// Nothing arrived within the silence timeout.
    #[error(
        "the source sent nothing for {seconds} s (no event, no heartbeat): the connection is dead or the source hangs"
    )]
    Silent {
        /// The silence timeout.
        seconds: u64,
    },
    /// The consumer asked to stop ([`ReplicaOptions::stop`](crate::ReplicaOptions::stop))
    /// while the reader was reconnecting: not a failure.
    #[error("stopped on request while reconnecting to the source")]
    Stopped,
    /// Reconnecting kept failing for longer than the retry window.
    #[error("reconnecting to the source failed for {minutes} min, longer than the retry window")]
    RetryWindowExceeded {
        /// The retry window.
        minutes: u64,
        /// The last reconnection's error.
        #[source]
        last: Box<BinlogError>,
    },
    /// Reading a binlog file failed.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The [`SchemaProvider`](crate::SchemaProvider) failed.
    #[error("schema provider failed for {table}: {source}")]
    Schema {
        /// The table asked for.
        table: TableId,
        /// The provider's error.
        source: crate::SchemaError,
    },
    /// Reconnecting to read on by file and offset reached another server (a failover behind the
    /// same address): the offset is a place in the first server's binlog, not in this one's.
    #[error(
        "the source reconnected to is another server (server_id {now}, was {was}): the binlog position {start} belongs to the first one's binlog; point the reader at that server, or start again from a position on this one"
    )]
    SourceChanged {
        /// The first server's server_id.
        was: u64,
        /// The server reached now.
        now: u64,
        /// Where reading was to go on.
        start: String,
    },
    /// The reader's options cannot work (e.g. server_id 0).
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
