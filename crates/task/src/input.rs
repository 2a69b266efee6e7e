//! The binlog as the applier's input: the source's transactions, each row and statement passed
//! through the task's [`Router`] (selection, renames, column subsets, shadow tables, row
//! filters, DDL translation). It also decides when to stop: on a stop request or once caught
//! up, always at a transaction boundary.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use dts_applier::{Input, InputError, InputSource};
use dts_binlog::{BinlogReader, Item, ReaderParts, ReplicaOptions, StartPosition};
use dts_types::{BinlogPosition, SourcePosition};
use mysql::Opts;

use crate::config::Config;
use crate::filter::EvalError;
use crate::router::{Routed, RoutedStatement, Router};

/// Why incremental sync's input stopped.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Connecting to or reading the source's binlog.
    #[error("reading the source's binlog")]
    Binlog(#[from] dts_binlog::BinlogError),
    /// Reading where the source's binlog ends now.
    #[error("reading the source's end of binlog")]
    End(#[from] dts_fullcopy::CopyError),
    /// Reading, on the destination, where the keyless tables' snapshots stand.
    #[error("reading the full copy's snapshot positions on the destination")]
    Snapshots(#[source] dts_fullcopy::CopyError),
    /// The row filter of a table cannot be evaluated on its rows.
    #[error("the row filter of {table}")]
    Filter {
        /// The source table, `db.table`.
        table: String,
        /// What is wrong with the filter, or why the source could not decide it.
        #[source]
        source: EvalError,
    },
    /// The schema history (the schema each event is decoded with) could not be read or
    /// written.
    #[error("the schema history")]
    History(#[from] dts_schema::HistoryError),
    /// A statement from the binlog that the DDL translator cannot read.
    #[error("cannot translate the source's statement {statement:?}")]
    Translate {
        /// The statement as the source logged it.
        statement: String,
        /// Where the lexer failed.
        #[source]
        source: dts_schema::ParseError,
    },
    /// The translator refused a statement: applying it or skipping it would lose a change on
    /// the destination ([`dts_schema::Decision::Stop`]).
    #[error("cannot go on at the source's statement {statement:?} on {table}: {reason}")]
    Refused {
        /// The statement as the source logged it.
        statement: String,
        /// The source table concerned, `db.table`.
        table: String,
        /// What happened and how to fix it.
        reason: String,
    },
}

impl From<SourceError> for InputError {
    fn from(e: SourceError) -> Self {
        InputError::new(e)
    }
}

/// What incremental sync has handed to the applier in this process: shared with the monitor,
/// which serves them as Prometheus counters.
#[derive(Debug, Default)]
pub struct InputStats {
    /// Source transactions handed to the applier.
    pub transactions: AtomicU64,
    /// Row changes handed to the applier.
    pub rows: AtomicU64,
    /// Row changes a row filter left out.
    pub rows_filtered_out: AtomicU64,
    /// Statements handed to the applier.
    pub ddl: AtomicU64,
    /// Statements the translator skipped (logged with the reason).
    pub ddl_skipped: AtomicU64,
    /// Warnings about statements, logged at WARN: a RENAME out of or into the selection, a
    /// CREATE TABLE ... LIKE an unselected table, a statement applied in part.
    pub ddl_warnings: AtomicU64,
    /// Row events the reader skipped before decoding them, their table not selected.
    pub rows_events_skipped: AtomicU64,
    /// Row changes of tables copied from a snapshot of their own (keyless tables) that the
    /// snapshot already held: not applied again.
    pub rows_in_snapshot: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Incremental sync's input: the source's binlog read as a replica, selected, mapped, filtered
/// and translated for the applier ([`dts_applier::InputSource`]).
pub struct BinlogInput {
    source: Opts,
    server_id: u32,
    /// Where incremental sync begins when the applier has no checkpoint yet.
    first_start: BinlogPosition,
    /// Selection, mapping, row filters and DDL translation: the only route to the applier.
    router: Router,
    reader: Option<BinlogReader>,
    in_txn: bool,
    /// Stop at the next transaction boundary.
    stop: Arc<AtomicBool>,
    /// Stop once a transaction ending at or after this position has been handed over.
    stop_at: Option<BinlogPosition>,
    exit_when_caught_up: bool,
    finished: bool,
    /// Continuous verification's queue, when on.
    verify_feed: Option<crate::continuous::Feed>,
    /// The task, for the schema history (opened at the first start).
    config: Config,
    /// The schema history: the reader's schema provider, fed every statement read.
    history: Option<crate::history::TaskHistory>,
    /// Row events skipped by earlier readers of this input (each start makes a new reader).
    skipped_before: u64,
    /// What it handed over, shared with the monitor.
    pub stats: Arc<InputStats>,
    /// The last position handed over (a commit) or seen idle (a heartbeat).
    pub last_position: Option<BinlogPosition>,
}

impl std::fmt::Debug for BinlogInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinlogInput").field("first_start", &self.first_start).finish()
    }
}

impl BinlogInput {
    /// The input of `config`'s task, starting at `first_start` when the applier has no
    /// checkpoint; it ends when `stop` is set, or once caught up with `exit_when_caught_up`.
    pub fn new(
        config: &Config,
        first_start: BinlogPosition,
        stop: Arc<AtomicBool>,
        exit_when_caught_up: bool,
        stats: Arc<InputStats>,
    ) -> Self {
        BinlogInput {
            source: config.source.opts(),
            server_id: config.raw.task.server_id,
            first_start,
            router: Router::new(config),
            reader: None,
            in_txn: false,
            stop,
            stop_at: None,
            exit_when_caught_up,
            finished: false,
            verify_feed: None,
            config: config.clone(),
            history: None,
            skipped_before: 0,
            stats,
            last_position: None,
        }
    }

    /// Sends the key of every applied row to continuous verification.
    pub fn verify_with(&mut self, feed: crate::continuous::Feed) {
        self.verify_feed = Some(feed);
    }

    fn stop_now(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// The source's current end of binlog.
pub fn source_end(source: &Opts) -> Result<BinlogPosition, SourceError> {
    let mut c = mysql::Conn::new(source.clone()).map_err(|e| SourceError::End(e.into()))?;
    Ok(dts_fullcopy::source_position(&mut c)?.binlog)
}

impl InputSource for BinlogInput {
    fn start(&mut self, from: Option<&SourcePosition>) -> Result<(), InputError> {
        let at = from.map_or(self.first_start.clone(), |p| p.binlog.clone());
        if self.exit_when_caught_up && self.stop_at.is_none() {
            self.stop_at = Some(source_end(&self.source)?);
        }
        // Decided afresh at every start: after a restart from the checkpoint, what was handed
        // over before the restart but not committed must come again.
        self.finished = self.stop_at.as_ref().is_some_and(|s| at >= *s);
        let mut o = ReplicaOptions::new(self.server_id, StartPosition::File(at));
        o.heartbeat = Duration::from_secs(1);
        if let Some(r) = self.reader.take() {
            self.skipped_before += r.stats().skipped_rows_events;
        }
        self.in_txn = false;
        if self.history.is_none() {
            let h = crate::history::TaskHistory::open(&self.config, &self.first_start).map_err(SourceError::from)?;
            self.history = Some(h);
            self.router.set_snapshots(crate::snapshots::read(&self.config)?);
        }
        let parts = ReaderParts {
            schema: self.history.as_ref().map(|h| h.provider()),
            filter: Some(self.router.table_filter()),
            positional_names: false,
        };
        self.reader = Some(BinlogReader::connect(self.source.clone(), o, parts).map_err(SourceError::from)?);
        Ok(())
    }

    fn next_input(&mut self) -> Option<Result<Input, InputError>> {
        loop {
            if self.finished || (!self.in_txn && self.stop_now()) {
                return None;
            }
            let reader = self.reader.as_mut()?;
            let next = reader.next();
            self.stats
                .rows_events_skipped
                .store(self.skipped_before + reader.stats().skipped_rows_events, Ordering::Relaxed);
            let item = match next? {
                Ok(i) => i,
                Err(e) => return Some(Err(SourceError::from(e).into())),
            };
            return Some(Ok(match item {
                Item::Begin(b) => {
                    self.router.begin(&b.start);
                    self.in_txn = true;
                    Input::Begin
                }
                Item::Commit(p) => {
                    self.in_txn = false;
                    bump(&self.stats.transactions);
                    if self.stop_at.as_ref().is_some_and(|s| p.binlog >= *s) {
                        self.finished = true;
                    }
                    self.last_position = Some(p.binlog.clone());
                    Input::Commit(p)
                }
                Item::Heartbeat(p) => {
                    if !self.in_txn && self.stop_at.as_ref().is_some_and(|s| p >= *s) {
                        self.finished = true;
                    }
                    if !self.in_txn {
                        self.last_position = Some(p);
                    }
                    Input::Idle
                }
                Item::Row(tc) => match self.router.row(&tc.table, tc.change) {
                    Ok(Routed::Row { target, change }) => {
                        bump(&self.stats.rows);
                        if let Some(feed) = &self.verify_feed
                            && !tc.table.primary_key.is_empty()
                            && let Some(row) = change.after().or(change.before())
                        {
                            let key = tc.table.primary_key.iter().map(|&i| row[i].clone()).collect();
                            feed.send(crate::continuous::Msg::Row(tc.table.id.clone(), key));
                        }
                        Input::Row { target, change }
                    }
                    Ok(Routed::Heartbeat { target, change }) => Input::Row { target, change },
                    Ok(Routed::FilteredOut) => {
                        bump(&self.stats.rows_filtered_out);
                        continue;
                    }
                    Ok(Routed::NotSynced) => continue,
                    Ok(Routed::InSnapshot) => {
                        bump(&self.stats.rows_in_snapshot);
                        continue;
                    }
                    Err(e) => return Some(Err(e.into())),
                },
                Item::Statement(s) => {
                    // Recorded in the schema history before the reader decodes the events after it.
                    let ansi_quotes = s.context.sql_mode.unwrap_or(0) & 4 != 0;
                    if let Some(h) = self.history.as_mut()
                        && let Err(e) =
                            h.on_statement(&s.sql_lossy(), s.context.database.as_deref(), ansi_quotes, &s.end)
                    {
                        return Some(Err(SourceError::from(e).into()));
                    }
                    match self.router.statement(&s) {
                        Ok(RoutedStatement::Apply { ddl, warnings }) => {
                            self.stats.ddl_warnings.fetch_add(warnings as u64, Ordering::Relaxed);
                            if let Some(feed) = &self.verify_feed {
                                feed.send(crate::continuous::Msg::Reset);
                            }
                            bump(&self.stats.ddl);
                            Input::Ddl(ddl)
                        }
                        Ok(RoutedStatement::Skipped { warnings }) => {
                            self.stats.ddl_warnings.fetch_add(warnings as u64, Ordering::Relaxed);
                            bump(&self.stats.ddl_skipped);
                            continue;
                        }
                        Err(e) => return Some(Err(e.into())),
                    }
                }
            }));
        }
    }
}
