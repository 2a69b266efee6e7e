//! What the applier reads: the source's history as [`Input`]s from a restartable
//! [`InputSource`].

use std::sync::Arc;

use dts_types::{RowChange, SourcePosition};

use crate::RowTarget;

/// One step of the source's history, already selected and mapped.
///
/// A source transaction is `Begin`, its `Row`s and `Ddl`, then `Commit`; `Idle` comes between
/// transactions (inside one it is ignored).
#[derive(Debug, Clone)]
pub enum Input {
    /// A source transaction starts.
    Begin,
    /// A row change of the transaction, with the destination table it lands in.
    Row {
        /// Where the change lands.
        target: Arc<RowTarget>,
        /// The change, as full row images in source column order.
        change: RowChange,
    },
    /// A DDL statement of the transaction, applied as a barrier at its commit.
    Ddl(Ddl),
    /// The end of a source transaction; where to resume after it.
    Commit(SourcePosition),
    /// The source has nothing more for now: commit what is grouped.
    Idle,
}

impl Input {
    /// How the input is named in a protocol error.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Input::Begin => "Begin",
            Input::Row { .. } => "Row",
            Input::Ddl(_) => "Ddl",
            Input::Commit(_) => "Commit",
            Input::Idle => "Idle",
        }
    }
}

/// A DDL statement (translated) with the session context it ran in on the source.
#[derive(Debug, Clone)]
pub struct Ddl {
    /// The statement as the source logged it (for the DDL log).
    pub source: String,
    /// Where it ends in the source's binlog: its key in the DDL log.
    pub position: dts_types::BinlogPosition,
    /// Why it is not applied (a rule of the task), with `statements` empty: it is only
    /// recorded.
    pub skipped: Option<String>,
    /// Warnings given about it, recorded with its outcome.
    pub warnings: Vec<String>,
    /// Statements on the caller's own metadata tables that commit with this statement's
    /// checkpoint (a task records the renames it follows), so they hold exactly when it does.
    pub record: Vec<String>,
    /// The statements to run, in order (a translation may need several).
    pub statements: Vec<String>,
    /// The default database it ran in.
    pub database: Option<String>,
    /// The source session's sql_mode, as its numeric bit set.
    pub sql_mode: Option<u64>,
    /// The source session's time_zone.
    pub time_zone: Option<String>,
    /// character_set_client, collation_connection, collation_server ids: those of the
    /// statements' text as given (the task gives UTF-8 text, so utf8mb4, with the source
    /// session's collation_connection and collation_server).
    pub charset: Option<(u16, u16, u16)>,
    /// The source's timestamp (seconds, microseconds) for NOW() in defaults.
    pub timestamp: Option<(u32, Option<u32>)>,
}

/// A restartable stream of inputs (the binlog reader, selected and mapped, in the binary).
pub trait InputSource {
    /// Starts, or restarts, the input right after `from` (`None`: from the configured start).
    fn start(&mut self, from: Option<&SourcePosition>) -> Result<(), InputError>;
    /// The next input; `None` when the input ends.
    fn next_input(&mut self) -> Option<Result<Input, InputError>>;
}

/// Why an [`InputSource`] could not go on: the reader's own error, kept whole so its cause
/// chain reaches the user, with its retry class (a lost source connection is retried by the
/// applier within the connection window, like its own).
#[derive(Debug)]
pub struct InputError {
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
    class: dts_types::retry::ErrorClass,
}

impl InputError {
    /// Wraps any error of the input's own; retrying it changes nothing.
    pub fn new(e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        InputError { source: e.into(), class: dts_types::retry::ErrorClass::Definite }
    }

    /// Wraps an error a retry may cure, under `class`'s window.
    pub fn with_class(
        e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
        class: dts_types::retry::ErrorClass,
    ) -> Self {
        InputError { source: e.into(), class }
    }

    /// Whether and under which window a retry may cure it.
    pub fn class(&self) -> dts_types::retry::ErrorClass {
        self.class
    }
}

// Transparent: the input's own error is the message and its causes are the chain.
impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.source.fmt(f)
    }
}

impl std::error::Error for InputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.source()
    }
}
