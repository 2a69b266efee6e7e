//! The pipeline: precheck, schema sync, full sync, incremental sync — each phase resumable,
//! the hand-off from full to incremental exact (incremental sync replays from the full copy's
//! low watermark; the applier overwrites rows the copy already holds in a later state).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use dts_applier::{Applier, ApplyOptions, ApplyStats};
use dts_fullcopy::{CopyOptions, ExistingRows, Throttle};

use dts_precheck::{ConflictingTables, SyncTypes};
use dts_schema::MappedTable;
use dts_types::SourcePosition;
use dts_types::fence::Fence;
use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder};

use crate::config::{Config, Conflicting};
use crate::input::BinlogInput;
use crate::state::{Phase, StateTable};

/// Why a task stopped.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The source server failed or refused a query.
    #[error("the source server")]
    Source(#[source] mysql::Error),
    /// The destination server failed or refused a query (the task's state, its metadata).
    #[error("the destination server")]
    Destination(#[source] mysql::Error),
    /// The precheck found failures, or warnings not acknowledged: the report's table.
    #[error("the precheck failed:\n{0}")]
    Precheck(String),
    /// The precheck found no failure, but warnings not acknowledged (with `--ignore ID` or
    /// `[precheck] acknowledge`): the report's table.
    #[error("the precheck found warnings not acknowledged:\n{0}")]
    PrecheckUnacknowledged(String),
    /// Schema sync could not plan the destination's DDL.
    #[error("schema sync")]
    SchemaPlan(#[from] dts_schema::SyncError),
    /// The destination refused one of schema sync's statements.
    #[error("schema sync: the destination refused {statement}")]
    SchemaStatement {
        /// The statement as sent.
        statement: String,
        /// The destination's error.
        #[source]
        source: mysql::Error,
    },
    /// `dts-sync cutover` while the task still reads the source's binlog.
    #[error(
        "the task is still running (its heartbeat on the source moves): stop it before the cut-over, or the destination's events and triggers would apply the source's changes a second time"
    )]
    StillRunning,
    /// Incremental sync could not read the source.
    #[error("incremental sync")]
    Input(#[from] crate::input::SourceError),
    /// The full copy stopped.
    #[error("full sync: {0}")]
    Full(#[from] dts_fullcopy::CopyError),
    /// The applier stopped.
    #[error("incremental sync: {0}")]
    Apply(#[from] dts_applier::ApplyError),
    /// Another runner holds the task, or took it over from this one.
    #[error(transparent)]
    Lease(#[from] crate::lease::LeaseError),
    /// Tables changed on the source while they were copied: the other tables were copied;
    /// these wait for `dts-sync recopy`.
    #[error(
        "full sync: {changes} changed on the source while being copied; every other table was copied. Copy them again from their current definition: {command}"
    )]
    NeedsRecopy {
        /// The tables and what changed.
        changes: String,
        /// The command that copies them again.
        command: String,
    },
    /// A `dts-sync recopy` stopped before its tables were copied whole.
    #[error(
        "incremental sync cannot go on: {tables}: a `dts-sync recopy` of it did not finish (stopped or killed), so the destination table holds part of its rows. Finish it: {command}"
    )]
    RecopyUnfinished {
        /// The tables.
        tables: String,
        /// The command that copies them again.
        command: String,
    },
    /// Copying a table again failed.
    #[error("full sync")]
    Recopy(#[from] crate::recopy::RecopyError),
    /// The binlog stream ended while incremental sync was neither asked to stop nor caught up.
    #[error("incremental sync: the source's binlog stream ended without a stop request")]
    InputEnded,
    /// A transient error kept coming back for the whole retry window.
    #[error("{what}: retrying {class} errors for {minutes} min did not succeed")]
    RetriesExhausted {
        /// The phase.
        what: &'static str,
        /// The error's class.
        class: &'static str,
        /// The retry window.
        minutes: u64,
        /// The last error.
        #[source]
        last: Box<TaskError>,
    },
    /// A two-way task cannot start as it is: what and why, and the fix.
    #[error("two-way sync: {0}")]
    TwoWay(String),
    /// The reverse direction of a two-way task stopped (`[destination]` → `[source]`).
    #[error("the reverse direction ([destination] → [source])")]
    Reverse(#[source] Box<TaskError>),
}

impl TaskError {
    /// Whether and under which `[retry]` window a retry of the phase may cure it. The
    /// applier's errors come out after its own retries, so they are final here.
    pub fn class(&self) -> dts_types::retry::ErrorClass {
        use dts_types::retry::{ErrorClass, classify};
        match self {
            TaskError::Source(e) | TaskError::Destination(e) | TaskError::SchemaStatement { source: e, .. } => {
                classify(e)
            }
            TaskError::SchemaPlan(_) => ErrorClass::Definite,
            TaskError::Full(e) => e.class(),
            TaskError::Input(e) => e.class(),
            TaskError::Lease(crate::lease::LeaseError::Sql(e)) => classify(e),
            // Connecting the applier; once it runs, its errors come out after its own retries.
            TaskError::Apply(dts_applier::ApplyError::Sql(e)) => classify(e),
            TaskError::Reverse(e) => e.class(),
            _ => ErrorClass::Definite,
        }
    }
}

/// How `run` behaves.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Stop cleanly once everything the source had committed when incremental sync started is
    /// applied (or after full sync for a task without incremental sync).
    pub exit_when_caught_up: bool,
    /// Warnings acknowledged by id.
    pub acknowledged: Vec<String>,
    /// Set from outside (a signal) to stop at the next transaction boundary.
    pub stop: Arc<AtomicBool>,
    /// Set by `run` when incremental sync starts (before it, stopping means exiting between
    /// the full copy's atomic chunks).
    pub in_incremental: Arc<AtomicBool>,
    /// The full copy's per-table progress, for progress bars and metrics.
    pub copy_progress: Arc<dts_fullcopy::Progress>,
    /// Incremental sync's counters, for metrics.
    pub input_stats: Arc<crate::input::InputStats>,
    /// Continuous verification's counters (with `[verify] continuous = true`).
    pub verify_counters: Arc<crate::continuous::Counters>,
    /// Schema sync's statements: (done, total), for a progress bar.
    pub schema_progress: Arc<SchemaProgress>,
    /// The phase `run` is in now, for progress displays.
    pub phase: Arc<CurrentPhase>,
    /// The runner's lease: lost (another runner took over) and the epoch held.
    pub lease: Arc<crate::lease::LeaseSignals>,
    /// The rate limits, set from the task file when `run` starts and changeable while it runs
    /// ([`crate::lifecycle::reload`] on SIGHUP).
    pub limits: Arc<RateLimits>,
    /// This run's precheck report, set once the precheck ran (acknowledgements applied), for
    /// the monitor's status page.
    pub precheck: Arc<std::sync::Mutex<Option<dts_precheck::Report>>>,
    /// Two-way: the opposite direction's probe this direction's input must drop
    /// (`crate::input::EchoProbe`), set by the two-way runner once written.
    pub echo_probe: Arc<parking_lot::Mutex<Option<crate::input::EchoProbe>>>,
}

/// The rate limits of a running task: the full copy's throttle and the applier's.
#[derive(Debug, Default)]
pub struct RateLimits {
    /// `[full] qps, rows_per_sec, mb_per_sec`.
    pub copy: Arc<Throttle>,
    /// `[incremental] rows_per_sec, mb_per_sec`.
    pub apply: Arc<dts_applier::ApplyLimits>,
}

/// How far schema sync is.
#[derive(Debug, Default)]
pub struct SchemaProgress {
    /// Statements run.
    pub done: std::sync::atomic::AtomicU64,
    /// Statements planned.
    pub total: std::sync::atomic::AtomicU64,
}

/// The phases of a running task as they began, set by `run` (read by progress displays, which
/// show and sum up each phase, also one that began and ended between two of their looks).
#[derive(Debug, Default)]
pub struct CurrentPhase(std::sync::Mutex<Vec<(Phase, std::time::Instant)>>);

impl CurrentPhase {
    /// The phase now; `None` before the first one began (the precheck).
    pub fn get(&self) -> Option<Phase> {
        self.began().last().map(|b| b.0)
    }

    /// Every phase this run began, in order, with when it began.
    pub fn began(&self) -> Vec<(Phase, std::time::Instant)> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, phase: Phase) {
        let mut began = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if began.last().map(|b| b.0) != Some(phase) {
            began.push((phase, std::time::Instant::now()));
        }
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub struct RunReport {
    /// The phase the run ended in.
    pub phase: Option<Phase>,
    /// Statements schema sync ran.
    pub schema_statements: usize,
    /// Rows the full copy wrote in this run.
    pub full_rows: u64,
    /// What incremental sync applied, if it ran.
    pub apply: Option<ApplyStats>,
    /// Two-way: what the reverse direction applied, if it ran.
    pub reverse_apply: Option<ApplyStats>,
    /// The run ended because [`RunOptions::stop`] was set.
    pub stopped_by_request: bool,
}

/// A connection with the common session setup (`dts_types::session::init_statements`: UTC,
/// binary character set, the strict sql_mode, the task's marker variable). Every connection
/// the task opens is made here, so no two of them read a TIMESTAMP or a string differently.
pub(crate) fn connect(opts: mysql::Opts) -> Result<Conn, mysql::Error> {
    Conn::new(OptsBuilder::from_opts(opts).init(dts_types::session::init_statements().to_vec()))
}

/// The precheck of this task (on resume, the task's own tables are expected on the
/// destination).
pub fn precheck_task(config: &Config, resuming: bool, resume_from: Option<SourcePosition>) -> dts_precheck::Task {
    dts_precheck::Task {
        name: config.name().to_string(),
        source: config.source.clone(),
        destination: config.destination.clone(),
        types: SyncTypes {
            schema: config.schema() && !resuming,
            full: config.full() && !resuming,
            incremental: config.incremental(),
        },
        server_id: config.raw.task.server_id,
        meta_database: config.raw.task.meta_database.clone(),
        conflicting_tables: if resuming || config.raw.task.conflicting_tables == Conflicting::Ignore {
            ConflictingTables::Ignore
        } else {
            ConflictingTables::Precheck
        },
        selection: config.selection.clone(),
        resume_from,
        resuming,
        heartbeat: config.raw.task.heartbeat && config.incremental(),
    }
}

/// Where a resumed task reads the binlog from: the applier's checkpoint, else the start of
/// incremental sync (after the full copy); `None` for a task that has not reached it.
fn resume_position(
    config: &Config,
    dst: &mut Conn,
    state: Option<&crate::state::State>,
) -> Result<Option<SourcePosition>, mysql::Error> {
    let Some(state) = state else { return Ok(None) };
    let exists: Option<u8> = dst.exec_first(
        "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'apply_checkpoint'",
        (config.meta_db.as_str(),),
    )?;
    if exists.is_some() {
        let ck = dts_applier::checkpoint::Checkpoint::new(config.name(), &config.meta_db);
        if let Ok(Some(p)) = ck.read(dst) {
            return Ok(Some(p));
        }
    }
    // Before the first checkpoint: the start, with its GTID state where it was recorded.
    let Some(binlog) = state.incremental_from.clone() else { return Ok(None) };
    let recorded = crate::source_identity::Recorded { task: config.name().to_string(), db: config.meta_db.clone() };
    Ok(Some(recorded.start(dst, &binlog)?.unwrap_or(SourcePosition { binlog, gtid: None })))
}

/// The precheck of a task as `run` would do it now (a task with state on the destination is
/// checked as resumed).
pub fn precheck_now(config: &Config) -> dts_precheck::Task {
    let resumed = (|| -> Result<_, mysql::Error> {
        let mut dst = connect(config.destination.opts())?;
        let state = StateTable { task: config.name().to_string(), db: config.meta_db.clone() };
        let current = state.read(&mut dst)?;
        let from = resume_position(config, &mut dst, current.as_ref())?;
        let now = config.clone().with_followed_renames(&mut dst)?;
        Ok((current.is_some(), from, now))
    })();
    // Unreachable destination: the precheck itself reports it.
    match resumed {
        Ok((resuming, from, now)) => precheck_task(&now, resuming, from),
        Err(_) => precheck_task(config, false, None),
    }
}

fn first_phase(config: &Config) -> Phase {
    if config.schema() {
        Phase::Schema
    } else if config.full() {
        Phase::Full
    } else {
        Phase::Incremental
    }
}

fn next_phase(config: &Config, after: Phase) -> Phase {
    match after {
        Phase::Schema if config.full() => Phase::Full,
        Phase::Schema | Phase::Full if config.incremental() => Phase::Incremental,
        _ => Phase::Done,
    }
}

/// Every selected table of the source.
pub fn mapped_tables(config: &Config, src: &mut Conn) -> Result<Vec<MappedTable>, mysql::Error> {
    Ok(config.selection.mapped(&dts_schema::catalog(src)?))
}

/// Runs or resumes the task: a two-way task runs both its directions (`crate::two_way`).
pub fn run(config: &Config, o: &RunOptions) -> Result<RunReport, TaskError> {
    match config.direction {
        crate::config::Direction::Forward => crate::two_way::run(config, o),
        _ => run_direction(config, o),
    }
}

/// Runs one direction of a task (a one-way task's only one).
pub(crate) fn run_direction(config: &Config, o: &RunOptions) -> Result<RunReport, TaskError> {
    let mut dst = connect(config.destination.opts()).map_err(TaskError::Destination)?;
    // The task as it stands: with the renames it followed.
    let config = &config.clone().with_followed_renames(&mut dst).map_err(TaskError::Destination)?;
    // One runner per task: before anything else, so a second runner changes nothing.
    let lease = crate::lease::HeldLease::take(
        config.destination.opts(),
        crate::lease::LeaseTable { task: config.name().to_string(), db: config.meta_db.clone() },
        config.lease_period(),
        o.stop.clone(),
        o.lease.clone(),
    )?;
    let fence = lease.fence.clone();
    crate::lifecycle::set_rate_limits(config, &o.limits);
    let result = run_holding(config, o, &mut dst, &fence);
    drop(lease);
    if o.lease.lost.load(std::sync::atomic::Ordering::SeqCst) {
        // Whatever the phases returned, nothing was committed after the loss (the fence).
        let found = "a newer one".to_string();
        return Err(TaskError::Lease(crate::lease::LeaseError::Fenced(dts_types::fence::Fenced {
            task: config.name().to_string(),
            held: fence.epoch,
            found,
        })));
    }
    result
}

fn run_holding(config: &Config, o: &RunOptions, dst: &mut Conn, fence: &Fence) -> Result<RunReport, TaskError> {
    let state = StateTable { task: config.name().to_string(), db: config.meta_db.clone() };
    let current = state.read(dst).map_err(TaskError::Destination)?;
    let resuming = current.is_some();
    let mut report = RunReport::default();
    // The precheck: failures always stop the task; warnings unless acknowledged.
    let resume_from = resume_position(config, dst, current.as_ref()).map_err(TaskError::Destination)?;
    let mut pre = dts_precheck::run(&precheck_task(config, resuming, resume_from.clone()));
    config.acknowledge(&mut pre, &o.acknowledged).map_err(|e| TaskError::Precheck(e.to_string()))?;
    *o.precheck.lock().unwrap_or_else(|e| e.into_inner()) = Some(pre.clone());
    if !pre.passed() {
        if pre.count(dts_precheck::Status::Failure) == 0 {
            return Err(TaskError::PrecheckUnacknowledged(pre.to_table()));
        }
        return Err(TaskError::Precheck(pre.to_table()));
    }
    let windows = config.retry_windows();
    let stop = &o.stop;
    // Every write of the task's state checks the lease in its transaction, on a connection
    // made afresh when the last one broke (each phase retries within `[retry]`).
    let mut dest = Dest { opts: config.destination.opts(), conn: None, fence: fence.clone() };
    retrying("the task's state", windows, stop, |_| dest.write(|c| state.ensure(c)))?;
    let mut phase = match &current {
        Some(s) => s.phase,
        None => {
            let p = first_phase(config);
            retrying("the task's state", windows, stop, |_| dest.write(|c| state.set_phase(c, p)))?;
            p
        }
    };
    if let Some(s) = &current {
        tracing::info!(
            task = config.name(),
            phase = s.phase.as_str(),
            checkpoint = %resume_from.as_ref().map_or("none yet".to_string(), |p| p.to_string()),
            applied_transactions = s.counters.transactions,
            "resuming the task from its checkpoint"
        );
    }
    let result = (|| -> Result<(), TaskError> {
        loop {
            report.phase = Some(phase);
            o.phase.set(phase);
            match phase {
                Phase::Schema => {
                    tracing::info!(task = config.name(), "schema sync");
                    report.schema_statements = retrying("schema sync", windows, stop, |attempt| {
                        // A retry keeps what the failed attempt created.
                        schema_sync(config, fence, resuming || attempt > 0, &o.schema_progress)
                    })?;
                }
                Phase::Full => {
                    tracing::info!(task = config.name(), "full sync");
                    let r = retrying("full sync", windows, stop, |_| {
                        full_sync(config, fence, o.copy_progress.clone(), o.limits.copy.clone())
                    })?;
                    report.full_rows = r.rows;
                    if !r.indexes_built_after_rows.is_empty() {
                        let names: Vec<String> = r.indexes_built_after_rows.iter().map(|t| t.to_string()).collect();
                        tracing::info!(tables = %names.join(", "), "secondary indexes built after the rows were copied");
                    }
                    retrying("the task's state", windows, stop, |_| {
                        dest.write(|c| state.set_incremental_from(c, &r.low.binlog))
                    })?;
                }
                Phase::Incremental => {
                    let stats = retrying("incremental sync", windows, stop, |_| {
                        incremental_sync(config, o, &state, &mut dest)
                    })?;
                    report.stopped_by_request = o.stop.load(std::sync::atomic::Ordering::Relaxed);
                    report.apply = Some(stats);
                    return Ok(());
                }
                Phase::Done => return Ok(()),
            }
            let stopping = o.stop.load(std::sync::atomic::Ordering::Relaxed);
            // The phase finished; the next run starts with the one after it.
            phase = next_phase(config, phase);
            retrying("the task's state", windows, stop, |_| dest.write(|c| state.set_phase(c, phase)))?;
            if stopping {
                report.stopped_by_request = true;
                return Ok(());
            }
        }
    })();
    if result.is_ok() {
        // A run that ended well: the last run's error is history.
        let _ = dest.write(|c| state.clear_error(c));
    }
    if let Err(e) = &result {
        // Best effort, for `status`: the error itself is returned (and printed by the binary)
        // whether or not the destination can record it.
        // Fenced like every write: a runner that lost the task leaves the new one's state alone.
        let mut d = Dest { opts: config.destination.opts(), conn: None, fence: fence.clone() };
        // Best effort, for `status`: the error itself is returned and printed by the binary.
        let _ = d.write(|c| state.set_error(c, &dts_types::describe::chain(e)));
    }
    result.map(|()| report)
}

/// Incremental sync until asked to stop or (with `exit_when_caught_up`) caught up; the
/// binlog stream ending otherwise is an error, never a clean exit.
fn incremental_sync(
    config: &Config,
    o: &RunOptions,
    state: &StateTable,
    dest: &mut Dest,
) -> Result<ApplyStats, TaskError> {
    let from = match dest.read(|c| state.read(c))?.and_then(|s| s.incremental_from) {
        Some(p) => p,
        None => {
            let mut src = connect(config.source.opts()).map_err(TaskError::Source)?;
            let p = dts_fullcopy::without_prepared_xa(&mut src, dts_fullcopy::source_binlog_position)?;
            crate::history::bootstrap(config, &p).map_err(crate::input::SourceError::from)?;
            dest.write(|c| state.set_incremental_from(c, &p))?;
            p
        }
    };
    let recopy = crate::recopy::RecopyTable { task: config.name().to_string(), db: config.meta_db.clone() };
    let unfinished = dest.read(|c| recopy.needed(c))?;
    if !unfinished.is_empty() {
        let names: Vec<String> = unfinished.iter().map(|(t, _)| format!("{}.{}", t.database, t.table)).collect();
        return Err(TaskError::RecopyUnfinished {
            tables: unfinished.iter().map(|(t, _)| t.to_string()).collect::<Vec<_>>().join(", "),
            command: format!("dts-sync recopy --config {} {}", config.path.display(), names.join(" ")),
        });
    }
    // Indexes a copy left waiting (its build failed after the table's last chunk): built before
    // anything is applied, so every table is whole.
    let meta = dts_fullcopy::Meta { task: config.name().to_string(), db: config.meta_db.clone() };
    let fence = dest.fence.clone();
    let built = meta.deferred_indexes().restore_waiting(dest.conn()?, Some(&fence));
    if built.is_err() {
        // Connected afresh by the retry.
        dest.conn = None;
    }
    let built = built?;
    if !built.is_empty() {
        let names: Vec<String> = built.iter().map(|t| t.to_string()).collect();
        tracing::info!(tables = %names.join(", "), "secondary indexes a copy left waiting built");
    }
    tracing::info!(task = config.name(), from = %from, "incremental sync");
    o.in_incremental.store(true, std::sync::atomic::Ordering::Relaxed);
    let heartbeat_stop = Arc::new(AtomicBool::new(false));
    if config.raw.task.heartbeat {
        dest.read(|c| crate::heartbeat::ensure(c, &config.meta_db))?;
        crate::heartbeat::start(
            config.source.opts(),
            config.meta_db.clone(),
            config.name().to_string(),
            heartbeat_stop.clone(),
        );
    }
    let _stop_heartbeat = StopAndJoin(heartbeat_stop, None);
    // No state row's counters yet (the first run): they start from zero.
    let base = dest.read(|c| state.read(c))?.map(|s| s.counters).unwrap_or_default();
    dest.read(|c| c.query_drop(dts_types::totals::create_sql(&config.meta_db)))?;
    let persister = Arc::new(AtomicBool::new(false));
    let _persisted = StopAndJoin(
        persister.clone(),
        Some(persist_counters(
            config,
            state.clone(),
            base,
            (o.input_stats.clone(), o.verify_counters.clone()),
            persister,
            dest.fence.clone(),
        )),
    );
    let mut input = BinlogInput::new(config, from, o.stop.clone(), o.exit_when_caught_up, o.input_stats.clone());
    input.fence_with(dest.fence.clone());
    input.expect_echo_probe(o.echo_probe.clone());
    if config.raw.verify.continuous {
        input.verify_with(crate::continuous::start(config, o.verify_counters.clone(), _stop_heartbeat.0.clone()));
    }
    let mut ao = apply_options(config);
    if let Some(t) = &ao.two_way
        && config.full()
    {
        // Two-way: no conflicts while the forward direction replays over its own copy.
        let meta = dts_fullcopy::Meta { task: config.name().to_string(), db: config.meta_db.clone() };
        if let Some(high) = dest.read(|c| {
            meta.high(c).map_err(|e| match e {
                dts_fullcopy::CopyError::Sql(e) => e,
                other => mysql::Error::from(std::io::Error::other(other.to_string())),
            })
        })? {
            input.catch_up_until(high, t.catching_up.clone());
        }
    }
    ao.limits = o.limits.apply.clone();
    ao.fence = Some(dest.fence.clone());
    let mut applier = Applier::new(config.destination.opts(), ao)?;
    let stats = applier.run(&mut input)?;
    let asked = o.stop.load(std::sync::atomic::Ordering::Relaxed);
    if !asked && !input.caught_up() {
        return Err(TaskError::InputEnded);
    }
    Ok(stats)
}

/// The destination connection of the task's own state, made afresh after an error.
struct Dest {
    opts: mysql::Opts,
    conn: Option<Conn>,
    fence: Fence,
}

impl Dest {
    fn conn(&mut self) -> Result<&mut Conn, TaskError> {
        if self.conn.is_none() {
            self.conn = Some(connect(self.opts.clone()).map_err(TaskError::Destination)?);
        }
        Ok(self.conn.as_mut().expect("connected"))
    }

    /// A read (or a write that needs no fence, such as creating a table).
    fn read<T>(&mut self, f: impl FnOnce(&mut Conn) -> Result<T, mysql::Error>) -> Result<T, TaskError> {
        let r = f(self.conn()?).map_err(TaskError::Destination);
        if r.is_err() {
            self.conn = None;
        }
        r
    }

    /// A write of the task's state, in one transaction with the lease check.
    fn write(&mut self, f: impl FnOnce(&mut Conn) -> Result<(), mysql::Error>) -> Result<(), TaskError> {
        let fence = self.fence.clone();
        let c = self.conn()?;
        let r = (|| -> Result<(), TaskError> {
            c.query_drop("BEGIN").map_err(TaskError::Destination)?;
            check_fence(c, &fence)?;
            f(c).map_err(TaskError::Destination)?;
            c.query_drop("COMMIT").map_err(TaskError::Destination)
        })();
        if r.is_err() {
            // The error is returned; the transaction ends with the connection either way.
            let _ = c.query_drop("ROLLBACK");
            self.conn = None;
        }
        r
    }
}

/// The lease check of [`dts_types::fence`] on `c` (inside the caller's transaction, or just
/// before a statement that cannot be in one).
fn check_fence(c: &mut Conn, fence: &Fence) -> Result<(), TaskError> {
    let found: Option<u64> = c.query_first(fence.check_sql()).map_err(TaskError::Destination)?;
    fence.verify(found).map_err(|e| TaskError::Lease(e.into()))
}

/// Runs `op` (given the attempt number, from 0) again after transient errors, within the
/// `[retry]` window of each error's class counted from the first failure; a stop request ends
/// the retries with the last error.
fn retrying<T>(
    what: &'static str,
    windows: dts_types::retry::RetryWindows,
    stop: &AtomicBool,
    mut op: impl FnMut(u32) -> Result<T, TaskError>,
) -> Result<T, TaskError> {
    let since = std::time::Instant::now();
    let mut attempt = 0u32;
    loop {
        let e = match op(attempt) {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let class = e.class();
        let Some(window) = windows.for_class(class) else { return Err(e) };
        if since.elapsed() > window {
            return Err(TaskError::RetriesExhausted {
                what,
                class: class.name(),
                minutes: window.as_secs() / 60,
                last: Box::new(e),
            });
        }
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(e);
        }
        tracing::warn!(
            kind = class.name(),
            "{what}: retrying after a transient error: {}",
            dts_types::describe::chain(&e)
        );
        std::thread::sleep(std::time::Duration::from_millis((250u64 << attempt.min(7)).min(30_000)));
        attempt += 1;
    }
}

/// Every second, and when incremental sync ends, the counters (over all runs) go to the task's
/// state, for `status`, and to its totals (`input_totals`), for `/metrics`.
fn persist_counters(
    config: &Config,
    state: StateTable,
    base: crate::state::Counters,
    (input, verify): (Arc<crate::input::InputStats>, Arc<crate::continuous::Counters>),
    stop: Arc<AtomicBool>,
    fence: Fence,
) -> std::thread::JoinHandle<()> {
    // Fenced like every write of the task's state; a write that fails is tried again next time.
    let mut dest = Dest { opts: config.destination.opts(), conn: None, fence };
    let (meta_db, task) = (config.meta_db.clone(), config.name().to_string());
    let get = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    // The input's counters live as long as the process, across retries of incremental sync,
    // while `base` (read at each attempt) already holds what earlier attempts saved: only what
    // this attempt adds counts on top of it.
    let at_base = [get(&input.transactions), get(&input.rows), get(&input.rows_filtered_out), get(&input.ddl)];
    let part = crate::input_totals::part(dest.fence.epoch);
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        let (mut error_cleared, mut folded) = (false, false);
        loop {
            let last = stop.load(std::sync::atomic::Ordering::Relaxed);
            let since = |a: &std::sync::atomic::AtomicU64, i: usize| get(a).saturating_sub(at_base[i]);
            let k = crate::state::Counters {
                transactions: base.transactions + since(&input.transactions, 0),
                row_changes: base.row_changes + since(&input.rows, 1),
                rows_filtered_out: base.rows_filtered_out + since(&input.rows_filtered_out, 2),
                ddl: base.ddl + since(&input.ddl, 3),
            };
            // Counters for `status` only; the next write (5 s later, or at the end) catches up.
            let _ = dest.write(|c| state.set_counters(c, &k));
            // The totals /metrics serves: absolute values, so a write repeated after a lost reply
            // counts nothing twice; what fails is written next time.
            if !folded {
                let fold = crate::input_totals::fold_sql(&meta_db, &task, part);
                folded = dest.write(|c| fold.iter().try_for_each(|s| c.query_drop(s))).is_ok();
            }
            if let Some(sql) = crate::input_totals::Snapshot::of(&input, &verify, part).sql(&meta_db, &task) {
                // Absolute values: a write that fails now is made whole by the next one, a second later.
                let _ = dest.write(|c| c.query_drop(&sql));
            }
            // Running for 5 s after a resume is healthy: the last run's error is history.
            if !error_cleared && started.elapsed() >= std::time::Duration::from_secs(5) {
                error_cleared = dest.write(|c| state.clear_error(c)).is_ok();
            }
            if last {
                return;
            }
            // Woken early by `StopAndJoin` (unpark), so the run's end does not wait a tick.
            let next = std::time::Instant::now() + std::time::Duration::from_secs(1);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let left = next.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::park_timeout(left);
            }
        }
    })
}

/// Sets its flag when dropped, and waits for its thread if it has one (the heartbeat stops
/// with the incremental phase; the counters' last write happens before `run` returns).
struct StopAndJoin(Arc<AtomicBool>, Option<std::thread::JoinHandle<()>>);

impl Drop for StopAndJoin {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(h) = self.1.take() {
            h.thread().unpark();
            // The persister only logs; its end is all that matters here.
            let _ = h.join();
        }
    }
}

fn apply_options(config: &Config) -> ApplyOptions {
    let mut a = ApplyOptions::new(config.name());
    a.meta_db = config.meta_db.clone();
    a.workers = config.raw.incremental.workers;
    a.retry = config.retry_windows();
    a.ddl_errors = config.ddl_errors();
    a.two_way = config.two_way_writes();
    a
}

/// Creates the selected objects on the destination. On a resumed or "ignore" run, objects that
/// already exist are kept.
fn schema_sync(config: &Config, fence: &Fence, resuming: bool, progress: &SchemaProgress) -> Result<usize, TaskError> {
    let mut dst = connect(config.destination.opts()).map_err(TaskError::Destination)?;
    let dst = &mut dst;
    let mut src = connect(config.source.opts()).map_err(TaskError::Source)?;
    let plan = crate::plan::schema_plan(config, &mut src)?;
    for w in &plan.warnings {
        tracing::warn!("schema sync: {w}");
    }
    // Every object of a selected database that is not created is named (tables left out by
    // the selection at INFO: the user chose them).
    for (object, why) in &plan.left_out {
        if object.starts_with("table ") {
            tracing::info!("schema sync: not synced: {object}: {why}");
        } else {
            tracing::warn!("schema sync: not synced: {object}: {why}");
        }
    }
    dst.query_drop("SET SESSION foreign_key_checks = 0").map_err(TaskError::Destination)?;
    let keep_existing = resuming || config.raw.task.conflicting_tables == Conflicting::Ignore;
    progress.total.store(plan.statements.len() as u64, std::sync::atomic::Ordering::Relaxed);
    for s in &plan.statements {
        progress.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // DDL commits by itself: the lease is checked just before each statement.
        check_fence(dst, fence)?;
        match dst.query_drop(s) {
            Ok(()) => {}
            // Already there (a table, routine, trigger, key or column).
            Err(e) if keep_existing && dts_types::retry::is_already_done(&e) => {
                tracing::info!(statement = %s, "kept the existing object: {}", dts_types::describe::chain(&e));
            }
            Err(source) => return Err(TaskError::SchemaStatement { statement: s.clone(), source }),
        }
    }
    Ok(plan.statements.len())
}

fn full_sync(
    config: &Config,
    fence: &Fence,
    progress: Arc<dts_fullcopy::Progress>,
    throttle: Arc<Throttle>,
) -> Result<dts_fullcopy::CopyReport, TaskError> {
    let mut src = connect(config.source.opts()).map_err(TaskError::Source)?;
    let mut dst = connect(config.destination.opts()).map_err(TaskError::Destination)?;
    // The low watermark first, the list of tables after it: a table created later is created
    // (and filled) by replaying the binlog from the watermark; one created before it is listed.
    let meta = dts_fullcopy::Meta { task: config.name().to_string(), db: config.meta_db.clone() };
    meta.ensure(&mut dst)?;
    if meta.low(&mut dst)?.is_none() {
        let p = dts_fullcopy::without_prepared_xa(&mut src, dts_fullcopy::source_position)?;
        meta.set_low(&mut dst, &p)?;
        if config.incremental() {
            // Incremental sync replays from here: the schema as of here is where its history starts.
            crate::history::bootstrap(config, &p.binlog).map_err(crate::input::SourceError::from)?;
        }
    }
    let mut tables = mapped_tables(config, &mut src).map_err(TaskError::Source)?;
    crate::sequences::copy_states(config, &mut src, &mut dst)?;
    // Tables whose copy stopped at a change of their definition wait for `dts-sync recopy`.
    let recopy = crate::recopy::RecopyTable { task: config.name().to_string(), db: config.meta_db.clone() };
    let mut needed = recopy.needed(&mut dst).map_err(TaskError::Destination)?;
    tables.retain(|m| !needed.iter().any(|(t, _)| *t == m.source));
    // Tables created on the source after schema sync ran are created now.
    if config.schema() {
        let targets: Vec<(String, String)> = dst
            .query(format!(
                "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN {}",
                "('mysql', 'information_schema', 'performance_schema', 'sys')"
            ))
            .map_err(TaskError::Destination)?;
        let missing: Vec<(String, String)> = tables
            .iter()
            .filter(|m| !targets.iter().any(|(d, t)| d == m.target.database.as_str() && t == m.target.table.as_str()))
            .map(|m| (m.source.database.to_string(), m.source.table.to_string()))
            .collect();
        if !missing.is_empty() {
            tracing::info!("tables appeared on the source after schema sync: creating them");
            // Before their definitions are read: incremental sync skips their DDL up to here.
            let at = dts_fullcopy::source_binlog_position(&mut src)?;
            schema_sync(config, fence, true, &SchemaProgress::default())?;
            crate::late_tables::LateTables { task: config.name().to_string(), db: config.meta_db.clone() }
                .record(&mut dst, &missing, &at)
                .map_err(TaskError::Destination)?;
        }
    }
    drop(src);
    let o = copy_options(config, fence, &mut dst, progress, throttle)?;
    // At most once per table: a table that changed before any of its chunks was copied is
    // copied again at once from its new definition, then the copy runs again (what is done
    // stays done).
    for _ in 0..=tables.len() {
        let changed = match dts_fullcopy::run(config.source.opts(), config.destination.opts(), tables.clone(), &o) {
            Ok(report) if needed.is_empty() => return Ok(report),
            Ok(_) => break,
            Err(dts_fullcopy::CopyError::TablesChanged(changed)) => changed,
            Err(e) => return Err(e.into()),
        };
        let mut again = Vec::new();
        for c in changed {
            let copied = meta.chunks(&mut dst, &c.table)?.iter().filter(|(_, done)| *done).count();
            // Only a table this task created is dropped and created again without asking.
            let ours = config.schema() && config.raw.task.conflicting_tables != Conflicting::Ignore;
            if copied == 0 && ours {
                tracing::info!(table = %c.table, "{} before any chunk of it was copied: copying it from its new definition", c.what);
                again.push(c.table);
            } else {
                recopy.mark_needed(&mut dst, &c.table, &c.what).map_err(TaskError::Destination)?;
                tables.retain(|m| m.source != c.table);
                needed.push((c.table, c.what));
            }
        }
        if !again.is_empty() {
            crate::recopy::recopy_tables(config, fence, &again, false)?;
        }
    }
    let names: Vec<String> = needed.iter().map(|(t, _)| format!("{}.{}", t.database, t.table)).collect();
    Err(TaskError::NeedsRecopy {
        changes: needed.iter().map(|(t, what)| format!("{t} ({what})")).collect::<Vec<_>>().join(", "),
        command: format!("dts-sync recopy --config {} {}", config.path.display(), names.join(" ")),
    })
}

/// The full copy's options for this task, fenced by the runner's lease.
pub(crate) fn copy_options(
    config: &Config,
    fence: &Fence,
    dst: &mut Conn,
    progress: Arc<dts_fullcopy::Progress>,
    throttle: Arc<Throttle>,
) -> Result<CopyOptions, dts_fullcopy::CopyError> {
    let f = &config.raw.full;
    let mut o = CopyOptions::new(config.name());
    o.meta_db = config.meta_db.clone();
    o.threads = f.threads;
    o.chunk_rows = f.chunk_rows;
    o.indexes_after_rows = f.indexes_after_rows;
    o.throttle = throttle;
    o.progress = progress;
    o.fence = Some(fence.clone());
    if config.direction == crate::config::Direction::Forward {
        o.origin = Some(config.origin_mark());
    }
    if config.raw.task.conflicting_tables == Conflicting::Ignore {
        o.existing_rows = ExistingRows::Ignore;
    }
    // LOAD DATA LOCAL needs local_infile on the destination; without it, INSERTs.
    let local_infile: Option<String> = dst.query_first("SELECT @@GLOBAL.local_infile")?;
    o.load_data = local_infile.as_deref().is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("ON"));
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dts_types::retry::RetryWindows;
    use std::time::Duration;

    fn lost() -> TaskError {
        TaskError::Source(mysql::Error::IoError(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset")))
    }

    #[test]
    fn a_phase_is_retried_within_its_window_and_stops_past_it() {
        let stop = AtomicBool::new(false);
        let long = RetryWindows { connection: Duration::from_secs(60), other: Duration::from_secs(60) };
        let mut tries = 0;
        let r = retrying("test", long, &stop, |attempt| {
            tries += 1;
            if attempt < 2 { Err(lost()) } else { Ok(attempt) }
        });
        assert_eq!((r.unwrap(), tries), (2, 3));
        let none = RetryWindows { connection: Duration::ZERO, other: Duration::ZERO };
        let e = retrying("full sync", none, &stop, |_| -> Result<(), _> { Err(lost()) }).unwrap_err();
        assert!(matches!(e, TaskError::RetriesExhausted { class: "connection", .. }), "{e}");
        assert!(dts_types::describe::chain(&e).contains("full sync: retrying connection errors for 0 min"), "{e}");
        let mut tries = 0;
        let e = retrying("test", long, &stop, |_| -> Result<(), _> {
            tries += 1;
            Err(TaskError::InputEnded)
        })
        .unwrap_err();
        assert!(matches!(e, TaskError::InputEnded) && tries == 1, "a definite error is not retried");
    }
}
