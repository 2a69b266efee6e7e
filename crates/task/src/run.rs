//! The pipeline: precheck, schema sync, full sync, incremental sync — each phase resumable,
//! the hand-off from full to incremental exact (incremental sync replays from the full copy's
//! low watermark; the applier overwrites rows the copy already holds in a later state).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use dts_applier::{Applier, ApplyOptions, ApplyStats};
use dts_fullcopy::{CopyOptions, ExistingRows, Throttle};

use dts_precheck::{ConflictingTables, SyncTypes};
use dts_schema::MappedTable;
use dts_types::BinlogPosition;
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
}

/// How far schema sync is.
#[derive(Debug, Default)]
pub struct SchemaProgress {
    /// Statements run.
    pub done: std::sync::atomic::AtomicU64,
    /// Statements planned.
    pub total: std::sync::atomic::AtomicU64,
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
pub fn precheck_task(config: &Config, resuming: bool, resume_from: Option<BinlogPosition>) -> dts_precheck::Task {
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
) -> Result<Option<BinlogPosition>, mysql::Error> {
    let Some(state) = state else { return Ok(None) };
    let exists: Option<u8> = dst.exec_first(
        "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'apply_checkpoint'",
        (config.meta_db.as_str(),),
    )?;
    if exists.is_some() {
        let ck = dts_applier::checkpoint::Checkpoint { task: config.name().to_string(), db: config.meta_db.clone() };
        if let Ok(Some(p)) = ck.read(dst) {
            return Ok(Some(p.binlog));
        }
    }
    Ok(state.incremental_from.clone())
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

/// Runs or resumes the task.
pub fn run(config: &Config, o: &RunOptions) -> Result<RunReport, TaskError> {
    let mut dst = connect(config.destination.opts()).map_err(TaskError::Destination)?;
    let config = &config.clone().with_followed_renames(&mut dst).map_err(TaskError::Destination)?;
    let state = StateTable { task: config.name().to_string(), db: config.meta_db.clone() };
    let current = state.read(&mut dst).map_err(TaskError::Destination)?;
    let resuming = current.is_some();
    let mut report = RunReport::default();
    // The precheck: failures always stop the task; warnings unless acknowledged.
    let resume_from = resume_position(config, &mut dst, current.as_ref()).map_err(TaskError::Destination)?;
    let mut pre = dts_precheck::run(&precheck_task(config, resuming, resume_from));
    pre.acknowledge(&o.acknowledged).map_err(|e| TaskError::Precheck(e.to_string()))?;
    if !pre.passed() {
        return Err(TaskError::Precheck(pre.to_table()));
    }
    state.ensure(&mut dst).map_err(TaskError::Destination)?;
    let mut phase = match &current {
        Some(s) => s.phase,
        None => {
            let p = first_phase(config);
            state.set_phase(&mut dst, p).map_err(TaskError::Destination)?;
            p
        }
    };
    let result = (|| -> Result<(), TaskError> {
        loop {
            report.phase = Some(phase);
            match phase {
                Phase::Schema => {
                    tracing::info!(task = config.name(), "schema sync");
                    report.schema_statements = schema_sync(config, &mut dst, resuming, &o.schema_progress)?;
                }
                Phase::Full => {
                    tracing::info!(task = config.name(), "full sync");
                    let r = full_sync(config, o.copy_progress.clone())?;
                    report.full_rows = r.rows;
                    state.set_incremental_from(&mut dst, &r.low.binlog).map_err(TaskError::Destination)?;
                }
                Phase::Incremental => {
                    let from =
                        match state.read(&mut dst).map_err(TaskError::Destination)?.and_then(|s| s.incremental_from) {
                            Some(p) => p,
                            None => {
                                let p = crate::input::source_end(&config.source.opts())?;
                                crate::history::bootstrap(config, &p).map_err(crate::input::SourceError::from)?;
                                state.set_incremental_from(&mut dst, &p).map_err(TaskError::Destination)?;
                                p
                            }
                        };
                    tracing::info!(task = config.name(), from = %from, "incremental sync");
                    o.in_incremental.store(true, std::sync::atomic::Ordering::Relaxed);
                    let heartbeat_stop = Arc::new(AtomicBool::new(false));
                    if config.raw.task.heartbeat {
                        crate::heartbeat::ensure(&mut dst, &config.meta_db).map_err(TaskError::Destination)?;
                        crate::heartbeat::start(
                            config.source.opts(),
                            config.meta_db.clone(),
                            config.name().to_string(),
                            heartbeat_stop.clone(),
                        );
                    }
                    let _stop_heartbeat = StopAndJoin(heartbeat_stop, None);
                    // No state row's counters yet (the first run): they start from zero.
                    let base =
                        state.read(&mut dst).map_err(TaskError::Destination)?.map(|s| s.counters).unwrap_or_default();
                    let persister = Arc::new(AtomicBool::new(false));
                    let _persisted = StopAndJoin(
                        persister.clone(),
                        Some(persist_counters(config, state.clone(), base, o.input_stats.clone(), persister)),
                    );
                    let mut input =
                        BinlogInput::new(config, from, o.stop.clone(), o.exit_when_caught_up, o.input_stats.clone());
                    if config.raw.verify.continuous {
                        input.verify_with(crate::continuous::start(
                            config,
                            o.verify_counters.clone(),
                            _stop_heartbeat.0.clone(),
                        ));
                    }
                    let mut applier = Applier::new(config.destination.opts(), apply_options(config))?;
                    let stats = applier.run(&mut input)?;
                    report.stopped_by_request = o.stop.load(std::sync::atomic::Ordering::Relaxed);
                    report.apply = Some(stats);
                    return Ok(());
                }
                Phase::Done => return Ok(()),
            }
            if o.stop.load(std::sync::atomic::Ordering::Relaxed) {
                report.stopped_by_request = true;
                // The phase finished; the next run starts with the one after it.
                phase = next_phase(config, phase);
                state.set_phase(&mut dst, phase).map_err(TaskError::Destination)?;
                return Ok(());
            }
            phase = next_phase(config, phase);
            state.set_phase(&mut dst, phase).map_err(TaskError::Destination)?;
        }
    })();
    if let Err(e) = &result {
        // Best effort, for `status`: the error itself is returned (and printed by the binary)
        // whether or not the destination can record it.
        if let Ok(mut c) = connect(config.destination.opts()) {
            let _ = state.set_error(&mut c, &dts_types::describe::chain(e));
        }
    }
    result.map(|()| report)
}

/// Every 5 s, and when incremental sync ends, the counters (over all runs) go to the task's
/// state, for `status`.
fn persist_counters(
    config: &Config,
    state: StateTable,
    base: crate::state::Counters,
    input: Arc<crate::input::InputStats>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let opts = config.destination.opts();
    std::thread::spawn(move || {
        let mut conn: Option<Conn> = None;
        loop {
            let last = stop.load(std::sync::atomic::Ordering::Relaxed);
            let get = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
            let k = crate::state::Counters {
                transactions: base.transactions + get(&input.transactions),
                row_changes: base.row_changes + get(&input.rows),
                rows_filtered_out: base.rows_filtered_out + get(&input.rows_filtered_out),
                ddl: base.ddl + get(&input.ddl),
            };
            if conn.is_none() {
                conn = connect(opts.clone()).ok();
            }
            if let Some(c) = conn.as_mut()
                && state.set_counters(c, &k).is_err()
            {
                conn = None;
            }
            if last {
                return;
            }
            for _ in 0..50 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
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
            let _ = h.join();
        }
    }
}

fn apply_options(config: &Config) -> ApplyOptions {
    let mut a = ApplyOptions::new(config.name());
    a.meta_db = config.meta_db.clone();
    a.workers = config.raw.incremental.workers;
    a.rows_per_sec = config.raw.incremental.rows_per_sec;
    a.bytes_per_sec = config.raw.incremental.mb_per_sec << 20;
    a.retry = dts_types::retry::RetryWindows { connection: config.connection_retry(), other: config.other_retry() };
    a.ddl_errors = config.ddl_errors();
    a
}

/// Creates the selected objects on the destination. On a resumed or "ignore" run, objects that
/// already exist are kept.
fn schema_sync(config: &Config, dst: &mut Conn, resuming: bool, progress: &SchemaProgress) -> Result<usize, TaskError> {
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

fn full_sync(config: &Config, progress: Arc<dts_fullcopy::Progress>) -> Result<dts_fullcopy::CopyReport, TaskError> {
    let mut src = connect(config.source.opts()).map_err(TaskError::Source)?;
    let mut dst = connect(config.destination.opts()).map_err(TaskError::Destination)?;
    // The low watermark first, the list of tables after it: a table created later is created
    // (and filled) by replaying the binlog from the watermark; one created before it is listed.
    let meta = dts_fullcopy::Meta { task: config.name().to_string(), db: config.meta_db.clone() };
    meta.ensure(&mut dst)?;
    if meta.low(&mut dst)?.is_none() {
        let p = dts_fullcopy::source_position(&mut src)?;
        meta.set_low(&mut dst, &p)?;
        if config.incremental() {
            // Incremental sync replays from here: the schema as of here is where its history starts.
            crate::history::bootstrap(config, &p.binlog).map_err(crate::input::SourceError::from)?;
        }
    }
    let tables = mapped_tables(config, &mut src).map_err(TaskError::Source)?;
    crate::sequences::copy_states(config, &mut src, &mut dst)?;
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
            let at = dts_fullcopy::source_position(&mut src)?;
            schema_sync(config, &mut dst, true, &SchemaProgress::default())?;
            crate::late_tables::LateTables { task: config.name().to_string(), db: config.meta_db.clone() }
                .record(&mut dst, &missing, &at.binlog)
                .map_err(TaskError::Destination)?;
        }
    }
    drop(src);
    let f = &config.raw.full;
    let mut o = CopyOptions::new(config.name());
    o.meta_db = config.meta_db.clone();
    o.threads = f.threads;
    o.chunk_rows = f.chunk_rows;
    o.throttle = Arc::new(Throttle::new(f.qps, f.rows_per_sec, f.mb_per_sec << 20));
    o.progress = progress;
    if config.raw.task.conflicting_tables == Conflicting::Ignore {
        o.existing_rows = ExistingRows::Ignore;
    }
    // LOAD DATA LOCAL needs local_infile on the destination; without it, INSERTs.
    let local_infile: Option<String> =
        dst.query_first("SELECT @@GLOBAL.local_infile").map_err(TaskError::Destination)?;
    o.load_data = local_infile.as_deref().is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("ON"));
    Ok(dts_fullcopy::run(config.source.opts(), config.destination.opts(), tables, &o)?)
}
