//! Reads the source's binary log as a replica (or from binlog files) and yields its
//! transactions in commit order: row changes decoded into the exact value model of
//! `dts-types`, and statements with their session context, each transaction ending with the
//! position to resume from after it.
//!
//! It never writes to any server and never skips an event it cannot decode: such an event is an
//! error naming the table, column and type. Every event's CRC32 is verified. Memory stays
//! bounded by one event: a transaction streams through item by item.
//!
//! The API is [`BinlogReader`], an iterator of [`Item`]s, opened on a file
//! ([`BinlogReader::open_file`]) or on a live source ([`BinlogReader::connect`] with
//! [`ReplicaOptions`]). Keep the last [`Item::Commit`]'s position: a new reader started there
//! ([`StartPosition`]) continues with the next transaction, no gap and no repeat.
//!
//! Layers underneath, bottom up (all private): bounds-checked reads, event framing, one decoder
//! per event type with table maps and values, transaction boundaries and positions, and the
//! two event sources (files on disk and a live server).
//!
//! # Example
//!
//! Print every row change of a live source from a position on, until the end of its binlog
//! (`crates/binlog/examples/tail_binlog.rs` is the whole program):
//!
//! ```no_run
//! use dts_binlog::{BinlogReader, Item, ReaderParts, ReplicaOptions, StartPosition};
//! use dts_types::BinlogPosition;
//!
//! let source = mysql::OptsBuilder::new().ip_or_hostname(Some("127.0.0.1")).user(Some("repl")).pass(Some("secret"));
//! let start = StartPosition::File(BinlogPosition::new("mariadb-bin.000001", 4));
//! let mut options = ReplicaOptions::new(4_000_000_001, start);
//! options.stop_at_end = true;
//! for item in BinlogReader::connect(source.into(), options, ReaderParts::default())? {
//!     match item? {
//!         Item::Row(change) => println!("{}: {:?}", change.table.id, change.change),
//!         Item::Commit(position) => println!("commit; resume from {}", position.binlog),
//!         _ => {}
//!     }
//! }
//! # Ok::<(), dts_binlog::BinlogError>(())
//! ```
#![warn(missing_docs)]

mod collation;
mod cursor;
mod decode;
mod error;
mod event;
mod file;
mod reader;
mod replica;
mod schema;
mod txn;

pub use decode::TableFilter;
pub use decode::control::{Statement, StatementContext, StatementTextError};
pub use error::{BinlogError, EventAt, MissingAt, ValueAt};
pub use reader::{BinlogReader, ReaderParts, ReaderStats};
pub use replica::{ReplicaOptions, StartPosition};
pub use schema::{SchemaError, SchemaProvider};
pub use txn::{Begin, Item, TxnGtid};

/// The layers under [`BinlogReader`], reachable for `tests/fuzz.rs` only, which feeds mutated
/// events to the decoder directly. Not part of the API.
#[doc(hidden)]
pub mod internals {
    pub use crate::collation::Collations;
    pub use crate::decode::Decoder;
    pub use crate::event::{HEADER_LEN, crc32};
    pub use crate::file::BinlogFile;
    pub use crate::txn::Assembler;
}
