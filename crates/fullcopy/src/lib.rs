//! The full data sync: copies the selected tables from source to destination chunk by chunk, in
//! parallel and resumably, and records the binlog watermarks from which incremental sync makes
//! the copy exact (see ARCHITECTURE.md, "Full copy and the hand-off to incremental sync").
//!
//! It never holds a lock on the source beyond one chunk's consistent read, never writes a value
//! that differs from the source's bytes (every value goes through the exact value model), and
//! never commits part of a chunk: a chunk's rows and its "done" mark commit together, so a
//! restart after a crash copies exactly the unfinished chunks.

pub mod chunk;
mod copy;
pub mod meta;
pub mod progress;
pub mod table;
pub mod throttle;
pub mod tsv;

use std::sync::Arc;

use dts_types::Ident;

pub use copy::{CopyReport, run, source_position};
pub use progress::{Progress, TableProgress};
pub use throttle::Throttle;

/// What to do with rows already in the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExistingRows {
    /// A row whose key exists in the destination is an error (the precheck demands empty
    /// destination tables).
    #[default]
    Error,
    /// Keep the destination's row where the key exists.
    Ignore,
}

/// How to copy.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub task: String,
    pub meta_db: Ident,
    /// Reader/writer pairs working in parallel (over all tables and chunks).
    pub threads: usize,
    /// Most rows per chunk.
    pub chunk_rows: u64,
    /// Target bytes per chunk: wide rows make smaller chunks. A chunk is held whole in memory
    /// between its reader and its writer, so this bounds memory (about 3 x threads chunks).
    pub chunk_bytes: u64,
    /// Largest INSERT statement (kept under the destination's max_allowed_packet), and the
    /// throttling granularity.
    pub batch_bytes: usize,
    /// Stream rows with LOAD DATA LOCAL INFILE where every column type loads exactly (faster
    /// than INSERT); other tables always use INSERT.
    pub load_data: bool,
    pub existing_rows: ExistingRows,
    pub throttle: Arc<Throttle>,
    pub progress: Arc<Progress>,
}

impl CopyOptions {
    pub fn new(task: &str) -> Self {
        CopyOptions {
            task: task.to_string(),
            meta_db: Ident::new("dts_meta").expect("valid"),
            threads: 2,
            chunk_rows: 50_000,
            chunk_bytes: 16 << 20,
            batch_bytes: 2 << 20,
            load_data: true,
            existing_rows: ExistingRows::Error,
            throttle: Arc::new(Throttle::default()),
            progress: Arc::new(Progress::default()),
        }
    }
}

/// Why a copy stopped.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{0}")]
    Sql(#[from] mysql::Error),
    #[error("{0}")]
    Value(#[from] dts_types::ValueError),
    #[error("table {table} does not exist on the source")]
    NoSuchTable { table: String },
    #[error("table {table} has no column to copy (all are left out or generated)")]
    NoColumns { table: String },
    #[error("column {column} of {table}: {reason}")]
    Type { table: String, column: String, reason: String },
    #[error(
        "table {table} changed on the source while it was being copied ({what}); its copy cannot be trusted: \
         run the full sync of this table again"
    )]
    SchemaChanged { table: String, what: String },
    #[error("copy metadata: {reason}")]
    Meta { reason: String },
    #[error("writing {table} on the destination failed: {source}")]
    Write { table: String, source: mysql::Error },
    #[error("the destination changed or refused rows of {table}: {warnings}")]
    Rejected { table: String, warnings: String },
    #[error("a copy thread stopped unexpectedly")]
    Thread,
}
