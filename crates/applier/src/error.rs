//! Why applying stopped.

use dts_types::retry::{ErrorClass, classify};

use crate::InputError;

/// Why applying stopped. [`Applier::run`](crate::Applier::run) already retried what
/// [`ApplyError::class`] calls transient, within the retry windows.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The destination refused or lost a statement of the applier's own (checkpoint, BEGIN,
    /// COMMIT, a table's shape).
    #[error("destination: {0}")]
    Sql(#[from] mysql::Error),
    /// A value could not be written as SQL.
    #[error("value: {0}")]
    Value(#[from] dts_types::ValueError),
    /// A destination key column is not among the synced columns.
    #[error("the key column {column} of {table} is not synced, so its rows cannot be found")]
    KeyNotSynced {
        /// The destination table.
        table: String,
        /// The key column missing from the mapping.
        column: String,
    },
    /// A keyless table's character column has no binary collation to find its rows exactly by.
    #[error(
        "the column {column} of the keyless table {table} is in the character set {charset}, which has no binary collation on the destination to find rows by their exact value: give the table a primary key, or use another character set there"
    )]
    NoBinaryCollation {
        /// The destination table.
        table: String,
        /// The column.
        column: String,
        /// Its character set.
        charset: String,
    },
    /// The destination refused a row change's statement.
    #[error("applying to {table} failed: {source} (checkpoint intact: the task resumes from it)")]
    Statement {
        /// The (first) table of the refused batch.
        table: String,
        /// The server's error.
        source: mysql::Error,
    },
    /// A statement writing ENUM index-0 values (run non-strict) warned otherwise than once
    /// per such value: the destination changed another value.
    #[error(
        "applying to {table}: the destination changed values ({warnings}), where only {expected} ENUM index-0 value(s) were expected to warn"
    )]
    Changed {
        /// The (first) table of the statement.
        table: String,
        /// The destination's warnings.
        warnings: String,
        /// How many ENUM index-0 values the statement wrote.
        expected: usize,
    },
    /// A two-way conflict on a table whose policy is `fail` (`crate::conflict`).
    #[error("{0}")]
    Conflict(Box<crate::conflict::Unresolved>),
    /// A `use_max`/`use_min` policy names a column the table does not write.
    #[error(
        "the conflict policy of {table} compares the column {column}, which the table does not have (or does not sync): name one of its columns in [two_way]"
    )]
    ConflictColumn {
        /// The destination table.
        table: String,
        /// The column named.
        column: String,
    },
    /// Two-way writes need a key to find a row by.
    #[error(
        "{table} has no primary key or unique key of NOT NULL columns: two-way sync cannot tell its rows apart; give it a key or leave it out of the two-way task"
    )]
    TwoWayKeyless {
        /// The destination table.
        table: String,
    },
    /// The input could not go on.
    #[error("reading the input")]
    Input(#[source] InputError),
    /// A transient error kept coming back for the whole retry window.
    #[error("retrying {what} errors for {minutes} min did not succeed")]
    RetriesExhausted {
        /// The error's class ([`ErrorClass::name`]).
        what: &'static str,
        /// The retry window.
        minutes: u64,
        /// The last error.
        #[source]
        last: Box<ApplyError>,
    },
    /// The destination refused a DDL statement (with `ddl_errors = stop`, the default).
    #[error(
        "the destination refused the DDL at source position {position}: {statement} (the task stops so that the \
         destination's schema does not silently differ from the source's; fix the destination and run again, or skip \
         this statement with `skip_ddl = [\"{position}\"]` or every refused one with `ddl_errors = \"skip\"` under \
         [incremental])"
    )]
    Ddl {
        /// Where the statement ends in the source's binlog (what `skip_ddl` takes).
        position: String,
        /// The statement as translated for the destination.
        statement: String,
        /// The destination's error.
        #[source]
        source: Box<ApplyError>,
    },
    /// Another runner took the task over: nothing more is committed.
    #[error(transparent)]
    Fenced(#[from] dts_types::fence::Fenced),
    /// The input broke the Begin / rows / Commit structure of a transaction.
    #[error("input broke the transaction structure: {0}")]
    Protocol(String),
}

impl ApplyError {
    /// Whether a retry may cure the error, and under which window: a server error by
    /// [`dts_types::retry::classify`], anything else is definite.
    pub fn class(&self) -> ErrorClass {
        match self {
            ApplyError::Sql(m) | ApplyError::Statement { source: m, .. } => classify(m),
            ApplyError::Input(i) => i.class(),
            _ => ErrorClass::Definite,
        }
    }
}
