//! Applies the source's transactions to the destination exactly once: each source transaction
//! is applied whole, its rows as full images (an insert or update replaces the row, a delete
//! removes it), small transactions are grouped into one destination commit, and the checkpoint
//! (position and GTID reached) is written in the same destination transaction as the data it
//! covers. After any crash the restart point is that checkpoint.
//!
//! It never leaves a source transaction half-applied (a destination transaction holds whole
//! source transactions only) and never applies one twice (what committed is exactly what the
//! checkpoint covers). It does not read the binlog itself: the caller feeds [`Input`]s through
//! an [`InputSource`] that can restart from a checkpoint, and [`Applier::run`] applies them
//! until the input ends, restarting from the checkpoint after transient errors.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use dts_applier::{Applier, ApplyOptions, Input, InputError, InputSource, RowTarget};
//! use dts_types::{BinlogPosition, Ident, RowChange, SourcePosition, TableId, Value};
//!
//! /// A recorded history: a restart replays what follows the checkpoint's commit.
//! struct Recorded {
//!     inputs: Vec<Input>,
//!     next: usize,
//! }
//!
//! impl InputSource for Recorded {
//!     fn start(&mut self, from: Option<&SourcePosition>) -> Result<(), InputError> {
//!         self.next = self
//!             .inputs
//!             .iter()
//!             .position(|i| matches!((i, from), (Input::Commit(c), Some(f)) if c == f))
//!             .map_or(0, |at| at + 1);
//!         Ok(())
//!     }
//!
//!     fn next_input(&mut self) -> Option<Result<Input, InputError>> {
//!         let input = self.inputs.get(self.next)?.clone();
//!         self.next += 1;
//!         Some(Ok(input))
//!     }
//! }
//!
//! let kv = TableId::parse("app", "kv")?;
//! let target = Arc::new(RowTarget::identity(kv, &[Ident::new("id")?, Ident::new("v")?]));
//! let inputs = vec![
//!     Input::Begin,
//!     Input::Row { target, change: RowChange::Insert { after: vec![Value::Int(1), Value::Int(10)] } },
//!     Input::Commit(SourcePosition { binlog: BinlogPosition::new("binlog.000001", 1234), gtid: None }),
//! ];
//! let destination = mysql::Opts::from_url("mysql://dts@127.0.0.1:3306")?;
//! let mut applier = Applier::new(destination, ApplyOptions::new("example"))?;
//! let stats = applier.run(&mut Recorded { inputs, next: 0 })?;
//! assert_eq!(stats.row_changes, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Inside, one type owns a destination transaction (rows, checkpoint, commit: `txn`); the
//! serial path streams every transaction into it (`serial`, `stream`); with `workers > 1` a
//! dispatcher forms conflict-free groups for worker connections (`dispatch`, `worker`,
//! `parallel`). ARCHITECTURE.md explains why this is exactly once.

#![warn(missing_docs)]

mod apply;
pub mod checkpoint;
pub mod conflict;
mod ddl;
mod ddl_log;
mod dispatch;
mod error;
mod input;
pub mod latency;
mod options;
mod parallel;
mod serial;
mod sql;
mod stream;
mod target;
mod throttle;
mod txn;
mod worker;

#[cfg(test)]
mod tests;

pub use apply::{Applier, ApplyStats};
pub use ddl_log::{DdlCounts, DdlEntry, DdlErrors, DdlLog, DdlOutcome};
pub use error::ApplyError;
pub use input::{Ddl, Input, InputError, InputSource};
pub use options::ApplyOptions;
pub use target::RowTarget;
pub use throttle::ApplyLimits;
