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

pub mod change;
pub mod column;
pub mod describe;
pub mod endpoint;
pub mod gtid;
pub mod ident;
pub mod position;
pub mod retry;
pub mod secret;
pub mod session;
pub mod value;

pub use change::{RowChange, TableChange};
pub use column::{ColumnDef, ColumnType, LobSize, TableSchema};
pub use endpoint::{Endpoint, TlsMode};
pub use gtid::{GtidPosition, MariaGtid, MariaGtidList, MysqlGtid, MysqlGtidSet};
pub use ident::{ColumnId, Ident, IdentError, TableId, quote_ident};
pub use position::{BinlogPosition, SourcePosition};
pub use secret::Secret;
pub use value::{Bits, Charset, Date, DateTime, Decimal, Geometry, Text, Time, Timestamp, Value, ValueError};
