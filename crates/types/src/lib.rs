//! The shared vocabulary of dts-sync: the types every other crate speaks.
//!
//! It names things — databases, tables and columns ([`ident`]), binlog and GTID positions
//! ([`position`], [`gtid`]), row changes ([`change`]) — and holds the exact value model
//! ([`value`]) with its SQL rendering: every MySQL/MariaDB column value is represented without
//! loss (unsigned integers, DECIMAL digits, bit-exact floats, zero dates, negative TIME, strings as
//! bytes with their charset) and turns into a SQL literal or a bound parameter byte-exactly.
//! This crate never does I/O: it opens no connection and reads no file (an [`Endpoint`] only
//! describes one), so every crate and every
//! embedding service can depend on it cheaply.

#![warn(missing_docs)]

mod change;
mod column;
mod endpoint;
mod gtid;
mod ident;
mod position;
pub mod retry;
mod secret;
pub mod session;
pub mod value;

pub use change::{Row, RowChange, TableChange};
pub use column::{ColumnDef, ColumnType, LobSize, TableSchema};
pub use endpoint::{Endpoint, TlsMode};
pub use gtid::{GtidParseError, GtidPosition, GtidTag, MariaGtid, MariaGtidList, MysqlGtid, MysqlGtidSet, Uuid};
pub use ident::{ColumnId, Ident, IdentError, MAX_IDENT_CHARS, TableId, push_quoted_ident, quote_ident};
pub use position::{BinlogPosition, BinlogPositionError, SourcePosition};
pub use secret::Secret;
pub use value::{Bits, Charset, Date, DateTime, Decimal, Geometry, Text, Time, Timestamp, Value, ValueError};
