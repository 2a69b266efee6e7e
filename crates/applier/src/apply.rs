//! The applier: applies an input until it ends, and after a transient error reconnects,
//! reads the checkpoint back and restarts the input right after it.

use std::time::{Duration, Instant};

use dts_types::{SourcePosition, session};
use mysql::{Conn, Opts, OptsBuilder};

use crate::checkpoint::Checkpoint;
use crate::target::Plans;
use crate::throttle::Throttle;
use crate::{ApplyError, ApplyOptions, InputSource};

/// What the applier did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyStats {
    /// Source transactions read to their commit (including ones found applied already).
    pub transactions: u64,
    /// Row changes applied.
    pub row_changes: u64,
    /// Destination transactions committed with a checkpoint (groups, DDL checkpoints, the
    /// parallel path's low watermark), counted once the COMMIT succeeded.
    pub commits: u64,
    /// Statements sent.
    pub statements: u64,
    /// DDL statements the destination ran.
    pub ddl_applied: u64,
    /// DDL the destination refused with `ddl_errors = skip`: logged at WARN and recorded in
    /// the DDL log, sync went on.
    pub ddl_failed: Vec<String>,
    /// Inserts whose key already existed (the row was overwritten).
    pub insert_existing: u64,
    /// Updates whose row was missing (the after image was inserted).
    pub update_missing: u64,
    /// Deletes whose row was missing (nothing to do).
    pub delete_missing: u64,
    /// Two-way conflicts by class (`crate::conflict`), each resolved by its table's policy.
    pub conflicts: crate::conflict::ConflictCounts,
    /// Destination transactions retried in place after a deadlock or lock wait timeout.
    pub retries: u64,
    /// Restarts from the checkpoint after a transient error.
    pub restarts: u64,
}

impl ApplyStats {
    /// Adds what a parallel worker's committed group did.
    pub(crate) fn add_group(&mut self, g: &ApplyStats) {
        self.commits += 1;
        self.retries += g.retries;
        self.add_counts(g);
    }

    /// Adds the statements and conflicts a destination job counted.
    pub(crate) fn add_counts(&mut self, g: &ApplyStats) {
        self.statements += g.statements;
        self.insert_existing += g.insert_existing;
        self.update_missing += g.update_missing;
        self.delete_missing += g.delete_missing;
        self.conflicts.add(&g.conflicts);
    }
}

/// Applies inputs to one destination, exactly once: see the crate documentation.
#[derive(Debug)]
pub struct Applier {
    pub(crate) dest: Opts,
    pub(crate) o: ApplyOptions,
    /// The applier's own connection: the serial path, or the parallel path's barriers.
    pub(crate) conn: Conn,
    pub(crate) ck: Checkpoint,
    pub(crate) plans: Plans,
    pub(crate) stats: ApplyStats,
    pub(crate) throttle: Throttle,
    /// Where DDL outcomes go and what a refused one does.
    pub(crate) ddl: crate::ddl::DdlContext,
}

/// A destination connection as the applier uses it: the session settings every writer
/// shares, and no foreign key checks (the source checked them; rows arrive in groups). An
/// UPDATE counts the rows it found (CLIENT_FOUND_ROWS), not those it changed: a keyless update
/// whose written columns already hold the after image (it changed only unsynced columns) found
/// its row.
pub(crate) fn connect(dest: &Opts) -> Result<Conn, ApplyError> {
    let init: Vec<String> =
        session::init_statements().into_iter().chain(["SET SESSION foreign_key_checks = 0".to_string()]).collect();
    let opts = OptsBuilder::from_opts(dest.clone())
        .init(init)
        .additional_capabilities(mysql::consts::CapabilityFlags::CLIENT_FOUND_ROWS);
    Ok(Conn::new(opts)?)
}

/// How long to wait before restart number `attempt` (from 0): doubling from 100 ms to 10 s.
fn restart_backoff(attempt: u32) -> Duration {
    Duration::from_millis((100u64 << attempt.min(8)).min(10_000))
}

/// A run of transient errors: since when they keep coming, and how many restarts it took.
/// A commit since the last error ends the run (the destination worked again), so the retry
/// window and the backoff start afresh at the next error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Failing {
    since: Instant,
    /// Commits made when the last error of the run came.
    commits: u64,
    attempt: u32,
}

impl Failing {
    /// Records an error that came at `now`, after `commits` commits in all.
    fn record(run: &mut Option<Failing>, commits: u64, now: Instant) -> &mut Failing {
        if run.is_some_and(|f| commits > f.commits) {
            *run = None;
        }
        let f = run.get_or_insert(Failing { since: now, commits, attempt: 0 });
        f.commits = commits;
        f
    }
}

impl Applier {
    /// Connects to the destination and creates the checkpoint tables where missing.
    pub fn new(dest: Opts, o: ApplyOptions) -> Result<Applier, ApplyError> {
        let mut conn = connect(&dest)?;
        let ck = Checkpoint {
            task: o.task.clone(),
            db: o.meta_db.clone(),
            fence: o.fence.clone(),
            two_way: o.two_way.clone().map(std::sync::Arc::new),
        };
        ck.ensure(&mut conn)?;
        if let Some(rules) = &ck.two_way {
            crate::conflict::ensure(&mut conn, rules)?;
        }
        let log = crate::DdlLog { task: o.task.clone(), db: o.meta_db.clone() };
        log.ensure(&mut conn)?;
        let ddl = crate::ddl::DdlContext { log, errors: o.ddl_errors };
        let throttle = Throttle::new(o.limits.clone());
        let plans = Plans::new(ck.two_way.is_some());
        Ok(Applier { dest, o, conn, plans, ck, stats: ApplyStats::default(), throttle, ddl })
    }

    /// The position every committed transaction reaches.
    pub fn checkpoint(&mut self) -> Result<Option<SourcePosition>, ApplyError> {
        self.ck.read(&mut self.conn)
    }

    /// Applies the input until it ends, restarting from the checkpoint after transient errors
    /// within the retry windows. Returns what this applier did so far (over every run).
    pub fn run(&mut self, input: &mut dyn InputSource) -> Result<ApplyStats, ApplyError> {
        let mut failing: Option<Failing> = None;
        // The first start too is retried (the source may be restarting just then).
        let mut result = self.start_input(input).and_then(|()| self.apply_stream(input));
        loop {
            let e = match result {
                Ok(()) => return Ok(self.stats.clone()),
                Err(e) => e,
            };
            let class = e.class();
            let Some(window) = self.o.retry.for_class(class) else { return Err(e) };
            tracing::warn!(kind = class.name(), error = %e, "applier restarting from the checkpoint after a transient error");
            let f = Failing::record(&mut failing, self.stats.commits, Instant::now());
            if f.since.elapsed() > window {
                return Err(ApplyError::RetriesExhausted {
                    what: class.name(),
                    minutes: window.as_secs() / 60,
                    last: Box::new(e),
                });
            }
            std::thread::sleep(restart_backoff(f.attempt));
            f.attempt += 1;
            // Never apply again before the input restarted from the checkpoint: the input is
            // somewhere inside what did not commit.
            result = self.restart(input).and_then(|()| self.apply_stream(input));
        }
    }

    /// Reconnects, reads the checkpoint back (a lost connection may have lost a COMMIT's
    /// answer: the checkpoint says what committed) and restarts the input right after it.
    fn restart(&mut self, input: &mut dyn InputSource) -> Result<(), ApplyError> {
        self.conn = connect(&self.dest)?;
        self.plans.clear();
        self.start_input(input)?;
        self.stats.restarts += 1;
        Ok(())
    }

    /// Starts the input right after the checkpoint.
    fn start_input(&mut self, input: &mut dyn InputSource) -> Result<(), ApplyError> {
        let from = self.checkpoint()?;
        input.start(from.as_ref()).map_err(ApplyError::Input)
    }

    fn apply_stream(&mut self, input: &mut dyn InputSource) -> Result<(), ApplyError> {
        if self.o.workers > 1 { crate::dispatch::run(self, input) } else { crate::serial::run(self, input) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_window_runs_from_the_first_error_until_a_commit() {
        let t0 = Instant::now();
        let mut run = None;
        Failing::record(&mut run, 5, t0).attempt += 1;
        // No commit in between: the same run, the window still counts from t0.
        let later = t0 + Duration::from_secs(20 * 60);
        let f = Failing::record(&mut run, 5, later);
        assert_eq!((f.since, f.attempt), (t0, 1));
        // Commits since: a new run, starting now with the shortest backoff.
        let much_later = later + Duration::from_secs(3600);
        let f = Failing::record(&mut run, 9, much_later);
        assert_eq!((f.since, f.attempt, f.commits), (much_later, 0, 9));
    }
}
