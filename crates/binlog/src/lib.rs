//! Reads the source's binary log as a replica (or from binlog files) and yields its
//! transactions in commit order: row changes decoded into the exact value model of
//! `dts-types`, and statements with their session context, each transaction ending with the
//! position to resume from after it.
//!
//! It never writes to any server and never skips an event it cannot decode: such an event is an
//! error naming the table, column and type. Every event's CRC32 is verified. Memory stays
//! bounded by one event: a transaction streams through item by item.
//!
//! Layers, bottom up: [`cursor`] (bounds-checked reads), [`event`] (framing), [`decode`] (one
//! decoder per event type, table maps, values), [`txn`] (transaction boundaries and positions),
//! [`file`] and [`replica`] (event sources: files on disk and a live server).

pub mod collation;
pub mod cursor;
pub mod decode;
pub mod error;
pub mod event;
pub mod file;
pub mod reader;
pub mod replica;
pub mod schema;
pub mod txn;

pub use collation::Collations;
pub use decode::control::{Flavor, Statement, StatementContext};
pub use error::BinlogError;
pub use reader::{BinlogReader, ReaderParts, ReaderStats};
pub use replica::{ReplicaOptions, StartPosition};
pub use schema::SchemaProvider;
pub use txn::{Begin, Item, TxnGtid};
