//! The full data sync: copies the selected tables from source to destination chunk by chunk, in
//! parallel and resumably, and records the binlog watermarks from which incremental sync makes
//! the copy exact (see ARCHITECTURE.md, "Full copy and the hand-off to incremental sync").
//!
//! It never holds a lock on the source beyond one chunk's consistent read, never writes a value
//! that differs from the source's bytes (every value goes through the exact value model), and
//! never commits part of a chunk: a chunk's rows and its "done" mark commit together, so a
//! restart after a crash copies exactly the unfinished chunks. Tables without a key and
//! foreign-key cascade groups are read from one consistent snapshot whose binlog position
//! incremental sync starts them from ([`Meta::snapshots`]), streamed in bounded pieces and
//! copied again from the start after a crash.

//!
//! # Example
//!
//! Copy database `shop` (its tables must exist on the destination, see `dts_schema::plan`),
//! then replay the binlog from the copy's low watermark:
//!
//! ```no_run
//! use dts_fullcopy::CopyOptions;
//! use dts_schema::{DatabaseRule, Selection};
//!
//! let server = |host: &str, password: &str| -> mysql::Opts {
//!     mysql::OptsBuilder::new().ip_or_hostname(Some(host)).user(Some("dts")).pass(std::env::var(password).ok()).into()
//! };
//! let (source, destination) = (server("10.0.0.1", "SOURCE_PASSWORD"), server("10.0.0.2", "DESTINATION_PASSWORD"));
//! let shop = DatabaseRule { database: "shop".into(), ..Default::default() };
//! let selection = Selection { databases: vec![shop], ..Default::default() };
//! let tables = selection.mapped(&dts_schema::catalog(&mut mysql::Conn::new(source.clone())?)?);
//!
//! let report = dts_fullcopy::run(source, destination, tables, &CopyOptions::new("shop-sync"))?;
//! println!("copied {} rows; incremental sync replays from {}", report.rows, report.low);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod chunk;
mod copy;
pub mod indexes;
mod meta;
mod progress;
mod render;
mod snapshot;
pub mod table;
mod throttle;
mod tsv;

use std::sync::Arc;

use dts_types::Ident;

pub use copy::{CopyReport, run, source_binlog_position, source_position, without_prepared_xa};
pub use meta::Meta;
pub use progress::{Progress, TableProgress};
pub use throttle::Throttle;

/// What to do with rows already in the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExistingRows {
    /// The destination tables start empty (the precheck demands it); a row whose key the copy
    /// meets again (it moved to a later chunk during the copy) replaces the row it collides
    /// with on any unique key: the later read is the newer state, as in the applier.
    #[default]
    Replace,
    /// Keep the destination's row where the key exists.
    Ignore,
}

/// How to copy.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// The task the copy belongs to (keys its metadata).
    pub task: String,
    /// The destination database holding the copy's metadata.
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
    /// What to do with rows already in the destination.
    pub existing_rows: ExistingRows,
    /// Build the plain secondary indexes of a large, empty destination table after its rows
    /// ([`indexes`]); only with [`ExistingRows::Replace`].
    pub indexes_after_rows: bool,
    /// Limits on queries, rows and bytes per second (shared, so they can change while copying).
    pub throttle: Arc<Throttle>,
    /// Where the copy reports its per-table progress.
    pub progress: Arc<Progress>,
    /// The runner's lease epoch, checked inside every chunk's transaction before its COMMIT
    /// (`None`: unfenced).
    pub fence: Option<dts_types::fence::Fence>,
    /// The forward direction of a two-way task: every transaction that writes rows begins with
    /// this origin mark, so the reverse direction never copies them back
    /// (`dts_types::origin`; its table must exist).
    pub origin: Option<dts_types::origin::OriginMark>,
}

impl CopyOptions {
    /// The defaults for `task`: 2 threads, 50 000-row / 16 MiB chunks, 2 MiB statements, LOAD DATA where exact, no throttle.
    pub fn new(task: &str) -> Self {
        CopyOptions {
            task: task.to_string(),
            meta_db: Ident::new("dts_meta").expect("valid"),
            threads: 2,
            chunk_rows: 50_000,
            chunk_bytes: 16 << 20,
            batch_bytes: 2 << 20,
            load_data: true,
            existing_rows: ExistingRows::Replace,
            indexes_after_rows: true,
            throttle: Arc::new(Throttle::default()),
            progress: Arc::new(Progress::default()),
            fence: None,
            origin: None,
        }
    }
}

/// Why a copy stopped.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// A server refused or the connection failed.
    #[error("{0}")]
    Sql(#[from] mysql::Error),
    /// A value could not be rendered for the destination.
    #[error("{0}")]
    Value(#[from] dts_types::ValueError),
    /// A selected table is not on the source.
    #[error("table {table} does not exist on the source")]
    NoSuchTable {
        /// The table.
        table: String,
    },
    /// Every column of a table is left out or generated.
    #[error("table {table} has no column to copy (all are left out or generated)")]
    NoColumns {
        /// The table.
        table: String,
    },
    /// A column's type cannot be copied exactly.
    #[error("column {column} of {table}: {reason}")]
    Type {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Why.
        reason: String,
    },
    /// The table's definition changed during its copy.
    #[error(
        "table {table} changed on the source while it was being copied ({what}); its copy cannot be trusted: \
         copy it again from its current definition (`dts-sync recopy --config FILE {table}`)"
    )]
    SchemaChanged {
        /// The table.
        table: String,
        /// What changed.
        what: String,
    },
    /// The copy's metadata on the destination is unreadable.
    #[error("copy metadata: {reason}")]
    Meta {
        /// What is wrong.
        reason: String,
    },
    /// Connecting to a server failed.
    #[error("connecting to the {server}")]
    Connect {
        /// `source` or `destination`.
        server: &'static str,
        /// The connection's error.
        #[source]
        source: mysql::Error,
    },
    /// Reading a chunk's rows from the source failed.
    #[error("reading {table} on the source failed")]
    Read {
        /// The table.
        table: String,
        /// The source's error.
        #[source]
        source: mysql::Error,
    },
    /// The destination refused a chunk's rows.
    #[error("writing {table} on the destination failed")]
    Write {
        /// The table.
        table: String,
        /// The destination's error.
        #[source]
        source: mysql::Error,
    },
    /// The destination truncated or converted values (it warned): the copy would not be exact.
    #[error("the destination changed or refused rows of {table}: {warnings}")]
    Rejected {
        /// The table.
        table: String,
        /// The destination's warnings.
        warnings: String,
    },
    /// A table copied from a snapshot (no key, or in a foreign-key cascade group) already holds
    /// rows on the destination (`conflicting_tables = "ignore"`): its copy cannot be exact.
    #[error(
        "table {table} {reason} and already holds rows on the destination: its copy cannot tell them \
         from the source's rows (conflicting_tables = \"ignore\" keeps rows only by key in tables copied by \
         chunks); empty it on the destination (TRUNCATE TABLE), or give the source table a primary key"
    )]
    NotEmpty {
        /// The destination table.
        table: String,
        /// Why it is copied from a snapshot.
        reason: &'static str,
    },
    /// Building a table's secondary indexes after its rows were copied failed.
    #[error("building the secondary indexes of {table} after its rows were copied failed")]
    Indexes {
        /// The destination table.
        table: String,
        /// The destination's error.
        #[source]
        source: mysql::Error,
    },
    /// XA transactions stayed prepared on the source where a sync would start.
    #[error(
        "XA transaction(s) {xids} stayed prepared on the source for 30 s: a sync starting now would never see \
         their rows (the binlog holds them before this point, and no snapshot sees them before they commit). \
         Commit or roll them back (XA COMMIT or XA ROLLBACK with each xid; XA RECOVER lists them), then run again"
    )]
    PreparedXa {
        /// The prepared transactions' xids, as XA COMMIT takes them.
        xids: String,
    },
    /// The source's user may not run `XA RECOVER`.
    #[error(
        "the source's user may not list prepared XA transactions (XA RECOVER), which a sync checks before it \
         takes its start position: GRANT XA_RECOVER_ADMIN ON *.* to it (MySQL 8)"
    )]
    XaRecoverDenied(#[source] mysql::Error),
    /// A reader or writer thread panicked.
    #[error("a copy thread stopped unexpectedly")]
    Thread,
    /// Tables whose definition changed while they were copied: their copy stopped, every other
    /// table's went on to the end.
    #[error("{}", changed_message(.0))]
    TablesChanged(Vec<ChangedTable>),
    /// Another runner took the task over: no chunk more is committed.
    #[error(transparent)]
    Fenced(#[from] dts_types::fence::Fenced),
}

/// A table whose definition changed during its copy (its copy stopped there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedTable {
    /// The source table.
    pub table: dts_types::TableId,
    /// What changed.
    pub what: String,
}

fn changed_message(tables: &[ChangedTable]) -> String {
    let each: Vec<String> = tables
        .iter()
        .map(|t| CopyError::SchemaChanged { table: t.table.to_string(), what: t.what.clone() }.to_string())
        .collect();
    format!("{} (the other tables were copied)", each.join("; "))
}

impl CopyError {
    /// Whether and under which window a retry may cure it: the servers' errors by
    /// [`dts_types::retry::classify`]; the copy resumes after the last chunk committed.
    pub fn class(&self) -> dts_types::retry::ErrorClass {
        use dts_types::retry::{ErrorClass, classify};
        match self {
            CopyError::Sql(e)
            | CopyError::Connect { source: e, .. }
            | CopyError::Read { source: e, .. }
            | CopyError::Write { source: e, .. }
            | CopyError::Indexes { source: e, .. } => classify(e),
            _ => ErrorClass::Definite,
        }
    }
}
