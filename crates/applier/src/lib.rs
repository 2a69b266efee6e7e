//! Applies the source's transactions to the destination exactly once: each source transaction
//! is applied whole, its rows as full images (an insert or update replaces the row, a delete
//! removes it), small transactions are grouped into one destination commit, and the checkpoint
//! (position and GTID reached) is written in the same destination transaction as the data it
//! covers. After any crash the restart point is that checkpoint.
//!
//! It never leaves a source transaction half-applied (a destination transaction holds whole
//! source transactions only) and never applies one twice (what committed is exactly what the
//! checkpoint covers). It does not read the binlog itself: the caller feeds [`Input`]s through
//! an [`InputSource`] that can restart from a checkpoint.

mod apply;
pub mod checkpoint;
mod parallel;
mod sql;
pub mod target;

use std::sync::Arc;
use std::time::Duration;

use dts_types::{Ident, RowChange, SourcePosition};

pub use apply::{Applier, ApplyStats, InputSource};

/// Why an [`InputSource`] could not go on: the reader's own error, kept whole so its cause
/// chain reaches the user.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct InputError(Box<dyn std::error::Error + Send + Sync + 'static>);

impl InputError {
    /// Wraps any error of the input's own.
    pub fn new(e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        InputError(e.into())
    }
}
pub use target::RowTarget;

/// One step of the source's history, already selected and mapped.
#[derive(Debug, Clone)]
pub enum Input {
    Begin,
    Row {
        target: Arc<RowTarget>,
        change: RowChange,
    },
    Ddl(Ddl),
    /// The end of a source transaction; where to resume after it.
    Commit(SourcePosition),
    /// The source has nothing more for now: commit what is grouped.
    Idle,
}

/// A DDL statement (translated) with the session context it ran in on the source.
#[derive(Debug, Clone, Default)]
pub struct Ddl {
    pub statements: Vec<String>,
    pub database: Option<String>,
    pub sql_mode: Option<u64>,
    pub time_zone: Option<String>,
    /// character_set_client, collation_connection, collation_server ids.
    pub charset: Option<(u16, u16, u16)>,
    /// The source's timestamp (seconds, microseconds) for NOW() in defaults.
    pub timestamp: Option<(u32, Option<u32>)>,
}

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub task: String,
    pub meta_db: Ident,
    /// Destination connections applying groups of transactions in parallel (1: in order on one
    /// connection). Groups sharing a key apply in source order.
    pub workers: usize,
    /// Most source transactions in one destination commit.
    pub group_transactions: usize,
    /// Most row changes in one destination commit (a larger source transaction commits alone).
    pub group_rows: usize,
    /// Longest a group waits for more transactions before it commits: under a steady trickle
    /// (no idle moment to flush on) this bounds the lag grouping adds.
    pub group_delay: Duration,
    /// Largest batch of statements sent in one round trip.
    pub batch_bytes: usize,
    /// How long to keep retrying after the destination connection is lost.
    pub connection_retry: Duration,
    /// How long to keep retrying other transient errors (deadlocks, lock waits, read-only).
    pub other_retry: Duration,
    /// Rows per second and bytes per second; 0 for no limit.
    pub rows_per_sec: u64,
    pub bytes_per_sec: u64,
}

impl ApplyOptions {
    pub fn new(task: &str) -> Self {
        ApplyOptions {
            task: task.to_string(),
            meta_db: Ident::new("dts_meta").expect("valid"),
            workers: 1,
            group_transactions: 500,
            group_rows: 20_000,
            group_delay: Duration::from_millis(100),
            batch_bytes: 1 << 20,
            connection_retry: Duration::from_secs(720 * 60),
            other_retry: Duration::from_secs(10 * 60),
            rows_per_sec: 0,
            bytes_per_sec: 0,
        }
    }
}

/// Why applying stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("destination: {0}")]
    Sql(#[from] mysql::Error),
    #[error("value: {0}")]
    Value(#[from] dts_types::ValueError),
    #[error("the key column {column} of {table} is not synced, so its rows cannot be found")]
    KeyNotSynced { table: String, column: String },
    #[error("applying to {table} failed: {source} (checkpoint intact: the task resumes from it)")]
    Statement { table: String, source: mysql::Error },
    #[error("reading the input")]
    Input(#[source] InputError),
    #[error("retrying {what} for {minutes} min did not succeed; last error: {last}")]
    RetriesExhausted { what: &'static str, minutes: u64, last: String },
    #[error("input broke the transaction structure: {0}")]
    Protocol(String),
}
