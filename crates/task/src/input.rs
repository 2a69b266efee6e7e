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
    /// The source is another server than the one the task has been reading
    /// (recorded in `<meta>.source_identity`); the message names both and the fix.
    #[error("{0}")]
    SourceChanged(String),
    /// The source's binlog at the checkpoint is not the one the task read (RESET MASTER, a
    /// restored backup); the message names both GTID states and the fix.
    #[error("{0}")]
    BinlogReplaced(String),
    /// The applier's checkpoint could not be read on the destination.
    #[error("reading the applier's checkpoint on the destination")]
    Checkpoint(#[source] dts_applier::ApplyError),
    /// The source's identity or GTID state could not be read.
    #[error("reading the source's server_id and GTID state")]
    Identity(#[source] mysql::Error),
    /// The task's metadata on the destination (which tables schema sync created late) could
    /// not be read.
    #[error("reading the task's metadata on the destination")]
    Destination(#[source] mysql::Error),
    /// The schema history (the schema each event is decoded with) could not be read or
    /// written.
    #[error("the schema history")]
    History(#[from] dts_schema::HistoryError),
    /// Another runner took the task over: the schema history is not changed any more.
    #[error(transparent)]
    Fenced(#[from] dts_types::fence::Fenced),
    /// The tables copied again (`dts-sync recopy`) could not be read from the destination.
    #[error("reading the tables copied again from the destination")]
    Recopied(#[source] mysql::Error),
    /// A statement from the binlog that the DDL translator cannot read.
    #[error("cannot translate the source's statement {statement:?}")]
    Translate {
        /// The statement as the source logged it.
        statement: String,
        /// Where the lexer failed.
        #[source]
        source: dts_schema::ParseError,
    },
    /// Which tables are system-versioned could not be read from the source's catalog.
    #[error("reading whether {table} is system-versioned on the source")]
    Catalog {
        /// The source table, `db.table`.
        table: String,
        /// The source's error.
        #[source]
        source: mysql::Error,
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
    /// A statement whose text cannot be carried to the destination exactly (see
    /// `statement_text`).
    #[error("cannot read the source's statement {statement:?} exactly from its client charset {charset}: {reason}")]
    Undecodable {
        /// The statement, for the message only (bytes that are not UTF-8 shown replaced).
        statement: String,
        /// Its session's character_set_client.
        charset: String,
        /// Why, and what to change.
        reason: String,
    },
    /// Asking the source to convert a statement's text to Unicode failed.
    #[error("converting the source's statement {statement:?} from its client charset {charset}")]
    Conversion {
        /// The statement, for the message only.
        statement: String,
        /// Its session's character_set_client.
        charset: String,
        /// The source's error.
        #[source]
        source: mysql::Error,
    },
    /// A write the source logged in statement format (its session had `binlog_format` STATEMENT
    /// or MIXED) that may change a synced table.
    #[error(
        "the source logged a write to {object} in statement format (binlog_format=STATEMENT or MIXED in its session): {statement:?}: {reason}"
    )]
    StatementFormat {
        /// The statement as the source logged it.
        statement: String,
        /// What it may write: `db.table`, or the tables of a database.
        object: String,
        /// Why that cannot be synced, and the fix.
        reason: String,
    },
    /// Two-way: the opposite direction's origin mark is not a transaction's first row.
    #[error(
        "a transaction on the source writes {table} after other rows: the two-way marks of dts-sync must come first in their transactions; a transaction writing both the application's rows and that table cannot be told apart. Do not write {table} yourself"
    )]
    EchoNotFirst {
        /// The mark table, `db.table`.
        table: String,
    },
    /// Two-way: the opposite direction's probe was read past without being recognised.
    #[error(
        "two-way: the other direction's origin mark, written to this direction's source between {from} and {to}, is not in its binlog as the first row of its transaction, so every transaction synced would come back (a loop): make sure the binlog logs the metadata database {db} (no binlog_do_db / binlog_ignore_db leaving it out) in ROW format"
    )]
    EchoProbeMissed {
        /// The position before the probe.
        from: String,
        /// The position after it.
        to: String,
        /// The metadata database.
        db: String,
    },
    /// The prepared part of an XA transaction changes a synced table.
    #[error("XA transaction {xid} (XA START ... XA PREPARE) writes {table}, which the task syncs: {reason}")]
    Xa {
        /// Its xid as XA statements write it.
        xid: String,
        /// The synced table, `db.table`.
        table: String,
        /// Why that cannot be synced, and the fix.
        reason: String,
    },
}

impl SourceError {
    /// Whether and under which window a retry may cure it: a lost connection to the source
    /// (the reader's own reconnecting gave up only past its window) or to the destination's
    /// schema history.
    pub fn class(&self) -> dts_types::retry::ErrorClass {
        use dts_types::retry::{ErrorClass, classify};
        match self {
            SourceError::Binlog(dts_binlog::BinlogError::RetryWindowExceeded { .. }) => ErrorClass::Definite,
            // Restarting the input checks the new server and follows it by GTID, or stops.
            SourceError::Binlog(dts_binlog::BinlogError::SourceChanged { .. }) => ErrorClass::TransientConnection,
            SourceError::Binlog(e) if e.is_transient() => ErrorClass::TransientConnection,
            SourceError::End(e) => e.class(),
            SourceError::History(dts_schema::HistoryError::Sql(e))
            | SourceError::Recopied(e)
            | SourceError::Identity(e)
            | SourceError::Destination(e) => classify(e),
            SourceError::Filter { source: EvalError::Server { source, .. }, .. } => classify(source),
            _ => ErrorClass::Definite,
        }
    }
}

impl From<SourceError> for InputError {
    fn from(e: SourceError) -> Self {
        let class = e.class();
        InputError::with_class(e, class)
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
    /// Bytes of binlog events read (again after a restart from the checkpoint).
    pub binlog_bytes: AtomicU64,
    /// History rows of system-versioned tables not synced (the destination keeps its own).
    pub history_rows_skipped: AtomicU64,
    /// Writes logged in statement format (`binlog_format` STATEMENT or MIXED) skipped, as they
    /// touch no synced table.
    pub statement_writes_skipped: AtomicU64,
    /// XA transactions (their prepared parts) skipped, as they change no synced table.
    pub xa_transactions_skipped: AtomicU64,
    /// Row changes of tables copied from a snapshot of their own (keyless tables) that the
    /// snapshot already held: not applied again.
    pub rows_in_snapshot: AtomicU64,
    /// Two-way: transactions the opposite direction wrote, dropped at their first row (its
    /// origin mark), so they never come back.
    pub echo_transactions_dropped: AtomicU64,
    /// How much of each is in the task's totals already (`input_totals`).
    pub(crate) persisted: crate::input_totals::Marks,
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
    /// The xid of the XA transaction whose prepared part is being read.
    xa: Option<String>,
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
    /// Binlog bytes read by earlier readers of this input.
    bytes_before: u64,
    /// What it handed over, shared with the monitor.
    pub stats: Arc<InputStats>,
    /// The last position handed over (a commit) or seen idle (a heartbeat).
    pub last_position: Option<BinlogPosition>,
    /// Tables copied again, and from where incremental sync takes each over
    /// ([`crate::recopy`]): their changes in transactions that began before it are skipped.
    recopied: std::collections::BTreeMap<dts_types::TableId, BinlogPosition>,
    /// Where the current (or next) transaction begins.
    txn_start: Option<BinlogPosition>,
    /// The runner's lease, checked before the schema history changes.
    fence: Option<dts_types::fence::Fence>,
    /// Two-way: the copy's high watermark, and the applier's flag saying the current
    /// transaction begins before it (`dts_applier::conflict::TwoWay::catching_up`).
    catch_up: Option<(BinlogPosition, Arc<AtomicBool>)>,
    /// Two-way: the opposite direction's probe, a transaction holding only its origin mark,
    /// which this input must drop as an echo (see [`EchoProbe`]).
    probe: Arc<parking_lot::Mutex<Option<EchoProbe>>>,
}

/// Two-way: a transaction of the opposite direction's origin mark alone, written to this
/// direction's source between two positions when the task starts. Reading past it without
/// having dropped it as an echo means the marks do not reach this binlog (a binlog filter on
/// the metadata database, say), and every transaction synced would come back: the task stops.
#[derive(Debug, Clone)]
pub struct EchoProbe {
    /// The source's position before the probe began.
    pub from: BinlogPosition,
    /// The source's position after it committed.
    pub to: BinlogPosition,
    /// Dropped as an echo.
    pub seen: bool,
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
            xa: None,
            stop,
            stop_at: None,
            exit_when_caught_up,
            finished: false,
            verify_feed: None,
            config: config.clone(),
            history: None,
            skipped_before: 0,
            bytes_before: 0,
            stats,
            last_position: None,
            recopied: Default::default(),
            txn_start: None,
            fence: None,
            catch_up: None,
            probe: Default::default(),
        }
    }

    /// Two-way: where the opposite direction's probe will be (set once it is written).
    pub fn expect_echo_probe(&mut self, probe: Arc<parking_lot::Mutex<Option<EchoProbe>>>) {
        self.probe = probe;
    }

    /// Two-way: sets `flag` for every transaction that begins before `high` (the forward
    /// direction's copy's high watermark), clears it for every later one.
    pub fn catch_up_until(&mut self, high: BinlogPosition, flag: Arc<AtomicBool>) {
        self.catch_up = Some((high, flag));
    }

    /// Checks `fence` before each statement changes the schema history's shadows.
    pub fn fence_with(&mut self, fence: dts_types::fence::Fence) {
        self.fence = Some(fence);
    }

    /// Sends the key of every applied row to continuous verification.
    pub fn verify_with(&mut self, feed: crate::continuous::Feed) {
        self.verify_feed = Some(feed);
    }

    /// Whether the input ended because it caught up (`exit_when_caught_up`).
    pub fn caught_up(&self) -> bool {
        self.finished
    }

    /// Whether `table`'s changes in the current transaction are already in its copy (it was
    /// copied again after the transaction began).
    fn before_recopy(&self, table: &dts_types::TableId) -> bool {
        match (self.recopied.get(table), &self.txn_start) {
            (Some(from), Some(start)) => start < from,
            _ => false,
        }
    }

    /// A DDL on tables that were all copied again after its transaction began: the copy was
    /// made from the definition after it.
    fn statement_before_recopy(&self, sql: &str, database: Option<&str>, ansi_quotes: bool) -> bool {
        if self.recopied.is_empty() {
            return false;
        }
        let Ok(tables) = dts_schema::tables_changed(sql, database, ansi_quotes) else { return false };
        !tables.is_empty()
            && tables.iter().all(|(d, t)| {
                dts_types::TableId::parse(d, t)
                    .is_ok_and(|id| self.recopied.contains_key(&id) && self.before_recopy(&id))
            })
    }

    /// Where and how to read from `at` (the checkpoint `from`, or the first start): by GTID on a
    /// MariaDB source with GTIDs, by file and offset otherwise (with the GTID state there, if
    /// any, for the reader). When the source is another
    /// server than the one the task has been reading (the first start records it), the task
    /// follows it by GTID or stops ([`crate::source_switch`]); the position returned is then
    /// the new server's.
    fn start_position(
        &mut self,
        from: Option<&SourcePosition>,
        at: BinlogPosition,
    ) -> Result<(StartPosition, Option<dts_types::GtidPosition>, BinlogPosition), SourceError> {
        use crate::source_identity::{Identity, Recorded};
        let mut src = crate::run::connect(self.source.clone()).map_err(SourceError::Identity)?;
        let current = Identity::of(&mut src).map_err(SourceError::Identity)?;
        let recorded = Recorded { task: self.config.name().to_string(), db: self.config.meta_db.clone() };
        let was = crate::run::connect(self.config.destination.opts())
            .and_then(|mut c| recorded.check_or_record(&mut c, &current))
            .map_err(SourceError::Destination)?;
        let mut dst = crate::run::connect(self.config.destination.opts()).map_err(SourceError::Destination)?;
        if was != current {
            // Nothing applied yet: the point to follow from is where reading first started.
            let start = match from {
                Some(_) => None,
                None => recorded.start(&mut dst, &at).map_err(SourceError::Destination)?,
            };
            let from = from.or(start.as_ref());
            let s =
                crate::source_switch::switch(&self.config, self.fence.as_ref(), self.server_id, &was, &current, from)?;
            // Everything read back from the destination is read again, at the new positions.
            if self.history.take().is_some() {
                self.router = Router::new(&self.config);
            }
            self.first_start = s.at.clone();
            // Caught up means: with the new server's end of binlog.
            self.stop_at = None;
            return Ok((StartPosition::MariaDbGtid(s.gtid), None, s.at));
        }
        use crate::source_switch::SameServer;
        let how = crate::source_switch::same_server(&mut src, &at).map_err(SourceError::Identity)?;
        // The checkpoint, or before the first one the recorded start (with the GTID state the
        // server gave for it).
        let start = match from {
            Some(_) => None,
            None => recorded.start(&mut dst, &at).map_err(SourceError::Destination)?,
        };
        if let Some(from) = from.or(start.as_ref()) {
            crate::source_switch::same_history(&mut src, from, &how)?;
        }
        let gtid = match &how {
            SameServer::Gtid(g) | SameServer::File(Some(g)) => Some(dts_types::GtidPosition::MariaDb(g.clone())),
            SameServer::File(None) => None,
        };
        if from.is_none() && gtid.is_some() {
            let start = SourcePosition { binlog: at.clone(), gtid: gtid.clone() };
            recorded
                .ensure_start(&mut dst)
                .and_then(|()| recorded.record_start(&mut dst, &start))
                .map_err(SourceError::Destination)?;
        }
        Ok(match how {
            SameServer::Gtid(g) => (StartPosition::MariaDbGtid(g), None, at),
            SameServer::File(_) => (StartPosition::File(at.clone()), gtid, at),
        })
    }

    fn stop_now(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// The source's current end of binlog.
pub fn source_end(source: &Opts) -> Result<BinlogPosition, SourceError> {
    let mut c = crate::run::connect(source.clone()).map_err(|e| SourceError::End(e.into()))?;
    Ok(dts_fullcopy::source_binlog_position(&mut c)?)
}

impl InputSource for BinlogInput {
    fn start(&mut self, from: Option<&SourcePosition>) -> Result<(), InputError> {
        // The last reader goes first: a new one (or the probe of a new server) registers with
        // the same server_id, which a server allows once.
        if let Some(r) = self.reader.take() {
            self.skipped_before += r.stats().skipped_rows_events;
            self.bytes_before += r.stats().bytes;
        }
        let at = from.map_or(self.first_start.clone(), |p| p.binlog.clone());
        let (start, gtid_at_start, at) = self.start_position(from, at)?;
        if self.exit_when_caught_up && self.stop_at.is_none() {
            self.stop_at = Some(source_end(&self.source)?);
        }
        // Decided afresh at every start: after a restart from the checkpoint, what was handed
        // over before the restart but not committed must come again.
        self.finished = self.stop_at.as_ref().is_some_and(|s| at >= *s);
        {
            // A start after the probe began (from a checkpoint past it) cannot judge it.
            let mut probe = self.probe.lock();
            if probe.as_ref().is_some_and(|p| !p.seen && at > p.from) {
                *probe = None;
            }
        }
        let mut o = ReplicaOptions::new(self.server_id, start);
        o.gtid_at_start = gtid_at_start;
        o.heartbeat = Duration::from_secs(1);
        o.retry_window = self.config.connection_retry();
        o.stop = Some(self.stop.clone());
        self.in_txn = false;
        self.xa = None;
        self.txn_start = Some(at.clone());
        let recopy =
            crate::recopy::RecopyTable { task: self.config.name().to_string(), db: self.config.meta_db.clone() };
        self.recopied = mysql::Conn::new(self.config.destination.opts())
            .and_then(|mut c| recopy.recopied(&mut c))
            .map_err(SourceError::Recopied)?;
        if self.history.is_none() {
            let h = crate::history::TaskHistory::open(&self.config, &self.first_start).map_err(SourceError::from)?;
            self.router.follow_history(h.timeline());
            self.history = Some(h);
            let late = crate::late_tables::LateTables {
                task: self.config.name().to_string(),
                db: self.config.meta_db.clone(),
            };
            let state = crate::translator_state::TranslatorState::of(&self.config);
            // The applier records the translator's changes there from the first DDL on.
            let read = crate::run::connect(self.config.destination.opts())
                .and_then(|mut c| {
                    state.ensure(&mut c)?;
                    Ok((late.read(&mut c)?, state.read(&mut c)?))
                })
                .map_err(SourceError::Destination)?;
            self.router.set_created_late(read.0);
            self.router.restore(read.1);
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
            self.stats.binlog_bytes.store(self.bytes_before + reader.stats().bytes, Ordering::Relaxed);
            let item = match next? {
                Ok(i) => i,
                // The source is away and a stop was asked for: the input ends here (inside a
                // transaction nothing of its group commits).
                Err(dts_binlog::BinlogError::Stopped) => return None,
                Err(e) => return Some(Err(SourceError::from(e).into())),
            };
            return Some(Ok(match item {
                Item::Begin(b) => {
                    if let Some((high, flag)) = &self.catch_up {
                        flag.store(b.start < *high, Ordering::Relaxed);
                    }
                    self.router.begin(&b.start);
                    self.in_txn = true;
                    self.xa = b.xa;
                    Input::Begin
                }
                Item::Commit(p) => {
                    self.in_txn = false;
                    if let Some(xid) = self.xa.take() {
                        // No row of it was synced (else the task stopped): an empty transaction.
                        tracing::debug!(xid, "XA transaction on tables the task does not sync skipped");
                        bump(&self.stats.xa_transactions_skipped);
                    }
                    if let Some(probe) = self.probe.lock().as_ref()
                        && !probe.seen
                        && p.binlog >= probe.to
                    {
                        return Some(Err(SourceError::EchoProbeMissed {
                            from: probe.from.to_string(),
                            to: probe.to.to_string(),
                            db: self.config.meta_db.to_string(),
                        }
                        .into()));
                    }
                    self.txn_start = Some(p.binlog.clone());
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
                        self.txn_start = Some(p.clone());
                        self.last_position = Some(p);
                    }
                    Input::Idle
                }
                Item::Row(tc) if self.before_recopy(&tc.table.id) => continue,
                Item::Row(tc) => match self.router.row(&tc.table, tc.change) {
                    Ok(Routed::Row { .. }) if self.xa.is_some() => {
                        let xid = self.xa.as_deref().unwrap_or_default();
                        let e = crate::statement_writes::xa_on_synced_table(xid, &tc.table.id.to_string());
                        return Some(Err(e.into()));
                    }
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
                    Ok(Routed::HistoryRow) => {
                        bump(&self.stats.history_rows_skipped);
                        continue;
                    }
                    Ok(Routed::InSnapshot) => {
                        bump(&self.stats.rows_in_snapshot);
                        continue;
                    }
                    Ok(Routed::Echo { first }) => {
                        if first {
                            bump(&self.stats.echo_transactions_dropped);
                            if let (Some(probe), Some(start)) = (self.probe.lock().as_mut(), &self.txn_start)
                                && *start >= probe.from
                                && *start < probe.to
                            {
                                probe.seen = true;
                            }
                        }
                        continue;
                    }
                    Err(e) => return Some(Err(e.into())),
                },
                Item::Statement(s) => {
                    // Recorded in the schema history before the reader decodes the events after it.
                    let ansi_quotes = s.context.sql_mode.unwrap_or(0) & 4 != 0;
                    if let (Some(h), Some(f)) = (self.history.as_mut(), &self.fence)
                        && let Err(e) = h.check_fence(f)
                    {
                        return Some(Err(e.into()));
                    }
                    // Text that cannot be read exactly is no DDL the history could apply: the router
                    // stops on it, or skips it as a write to tables the task does not sync.
                    if let Some(h) = self.history.as_mut()
                        && let Ok(text) = self.router.statement_text(&s)
                        && let Err(e) = h.on_statement(&text, s.context.database.as_deref(), ansi_quotes, &s.end)
                    {
                        return Some(Err(SourceError::from(e).into()));
                    }
                    if self.router.in_echo() {
                        continue;
                    }
                    if self.statement_before_recopy(&s.sql_lossy(), s.context.database.as_deref(), ansi_quotes) {
                        tracing::info!(statement = %s.sql_lossy(), "not applied: the table was copied again after it");
                        bump(&self.stats.ddl_skipped);
                        let mut ddl = crate::router::ddl_for(&s, s.sql_lossy());
                        ddl.skipped = Some("its table was copied again after it (dts-sync recopy)".into());
                        return Some(Ok(Input::Ddl(ddl)));
                    }
                    let history = &mut self.history;
                    let mut definition =
                        |db: &str, table: &str| history.as_mut().and_then(|h| h.show_create(db, table));
                    match self.router.statement(&s, &mut definition) {
                        Ok(RoutedStatement::Apply { mut ddl, warnings })
                            if self.config.direction == crate::config::Direction::Reverse =>
                        {
                            self.stats.ddl_warnings.fetch_add(warnings as u64, Ordering::Relaxed);
                            tracing::info!(
                                statement = %s.sql_lossy(),
                                "two-way: not applied to [source]: the reverse direction applies no DDL"
                            );
                            bump(&self.stats.ddl_skipped);
                            ddl.skipped = Some(
                                "two-way: the reverse direction applies no DDL (DDL flows from [source] to [destination]); \
                                 run it on [source] yourself unless the forward direction wrote it"
                                    .into(),
                            );
                            Input::Ddl(ddl)
                        }
                        Ok(RoutedStatement::Apply { ddl, warnings }) => {
                            self.stats.ddl_warnings.fetch_add(warnings as u64, Ordering::Relaxed);
                            if let Some(feed) = &self.verify_feed {
                                feed.send(crate::continuous::Msg::Reset);
                            }
                            bump(&self.stats.ddl);
                            Input::Ddl(ddl)
                        }
                        Ok(RoutedStatement::Skipped { ddl, warnings }) => {
                            self.stats.ddl_warnings.fetch_add(warnings as u64, Ordering::Relaxed);
                            bump(&self.stats.ddl_skipped);
                            // Handed over all the same: the applier records why it was skipped.
                            Input::Ddl(ddl)
                        }
                        Ok(RoutedStatement::StatementWriteSkipped) => {
                            bump(&self.stats.statement_writes_skipped);
                            continue;
                        }
                        Ok(RoutedStatement::XaOutcome) => continue,
                        Err(e) => return Some(Err(e.into())),
                    }
                }
            }));
        }
    }
}
