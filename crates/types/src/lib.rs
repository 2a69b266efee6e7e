//! The shared vocabulary of dts-sync: the types every other crate speaks.
//!
//! It names things — databases, tables and columns ([`Ident`], [`TableId`], [`TableSchema`]),
//! binlog and GTID positions ([`BinlogPosition`], [`GtidPosition`], [`SourcePosition`]), row
//! changes ([`TableChange`]) — and holds the exact value model ([`value`]) with its SQL
//! rendering: every MySQL/MariaDB column value is represented without loss (unsigned integers,
//! DECIMAL digits, bit-exact floats, zero dates, negative TIME, strings as bytes with their
//! charset) and turns into a SQL literal or a bound parameter byte-exactly. Server errors are
//! classified once, for every crate, in [`retry`]; [`session`] sets up a connection that moves
//! values exactly.
//!
//! This crate never does I/O: it opens no connection and reads no file (an [`Endpoint`] only
//! describes one), so every crate and every embedding service can depend on it cheaply.
//!
//! # Example
//!
//! ```
//! use dts_types::{ColumnType, Date, Value, quote_ident};
//!
//! // A zero date survives the round trip through a SQL literal.
//! let zero = Value::Date(Date::ZERO);
//! let literal = zero.to_sql_literal()?;
//! assert_eq!(literal, "'0000-00-00'");
//! assert_eq!(Value::from_sql_literal(&ColumnType::Date, &literal)?, zero);
//!
//! // Identifiers are always quoted.
//! assert_eq!(quote_ident("order`s"), "`order``s`");
//! # Ok::<(), dts_types::ValueError>(())
//! ```

#![warn(missing_docs)]

mod change;
mod column;
pub mod describe;
pub mod dialect;
mod endpoint;
pub mod exact_match;
pub mod fence;
pub mod fk;
mod gtid;
mod ident;
pub mod origin;
mod position;
pub mod retry;
mod secret;
pub mod session;
pub mod totals;
pub mod value;

pub use change::{Row, RowChange, TableChange};
pub use column::{ColumnDef, ColumnType, LobSize, TableSchema};
pub use endpoint::{Endpoint, TlsMode};
pub use gtid::{
    GtidGap, GtidHistory, GtidParseError, GtidPosition, GtidShortfall, GtidTag, MariaGtid, MariaGtidList, MysqlGtid,
    MysqlGtidSet, Uuid,
};
pub use ident::{ColumnId, Ident, IdentError, MAX_IDENT_CHARS, TableId, push_quoted_ident, quote_ident};
pub use position::{BinlogPosition, BinlogPositionError, SourcePosition};
pub use secret::Secret;
pub use value::{Bits, Charset, Date, DateTime, Decimal, Geometry, Text, Time, Timestamp, Value, ValueError};
