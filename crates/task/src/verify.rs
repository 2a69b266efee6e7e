//! `verify` over a task's objects. While the task is in incremental sync, a difference is only
//! reported once the applier's checkpoint has passed the source position at which it was seen.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use dts_applier::checkpoint::Checkpoint;
use dts_types::BinlogPosition;
use dts_verify::{Hold, Progress, RepairOptions, Report, VerifyError, VerifyOptions};

use crate::config::Config;
use crate::lease::{HeldLease, LeaseError, LeaseSignals, LeaseTable};
use crate::state::{Phase, StateTable};

/// The applier's checkpoint as a [`Progress`]: waits only while a runner holds the task's
/// lease (a stopped task's checkpoint does not move, so waiting for it would only take the
/// timeout).
#[derive(Debug)]
pub struct CheckpointProgress {
    pub destination: mysql::Opts,
    pub checkpoint: Checkpoint,
    pub lease: LeaseTable,
}

impl Progress for CheckpointProgress {
    fn wait_applied(&self, pos: &BinlogPosition, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let Ok(mut c) = crate::run::connect(self.destination.clone()) else { return false };
        let running = self.lease.read(&mut c).ok().flatten().is_some_and(|h| h.running);
        loop {
            if let Ok(Some(p)) = self.checkpoint.read(&mut c)
                && p.binlog >= *pos
            {
                return true;
            }
            if !running || Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Compares the task's objects between source and destination. While incremental sync runs, a difference is re-checked once the applier has passed the position where it was seen.
pub fn verify(config: &Config) -> Result<Report, VerifyError> {
    compare(config, None)
}

/// `verify --apply`: compares, then repairs the destination where that is safe given the
/// state the task is in once the comparison is done (which may take hours: a `run` may have
/// started or stopped meanwhile), refusing the rest with the reason (see `dts_verify::apply` for
/// why the row repairs cannot fight a running applier):
/// - when no runner is live, `verify --apply` takes the task's lease itself and holds it until
///   the repair ends, like `recopy`: a `run` started meanwhile is refused as a second runner, so
///   the state the repair was decided under cannot change under it;
/// - during schema sync or the full copy nothing is repaired (the copy writes the tables);
/// - while a runner is live no ALTER runs (its applier writes with the destination's columns);
/// - once incremental sync has begun, rows of tables without a key are not repaired (the
///   applier matches them by value, so an event replayed over a repair would count twice);
/// - every row repair holds the task's commits through its lease row
///   ([`crate::lease::LeaseTable::hold_commits_sql`]), and stops if that row is no longer the
///   one decided under (this repair's own lease taken over, the task reset).
pub fn verify_apply(config: &Config) -> Result<Report, VerifyError> {
    let mut held: Option<HeldLease> = None;
    let report = compare(config, Some(&mut || decide(config, &mut held)));
    drop(held);
    report
}

/// What `verify --apply` may repair, from the task's state now; takes the task's lease into
/// `held` when no runner is live.
fn decide(config: &Config, held: &mut Option<HeldLease>) -> Result<RepairOptions, VerifyError> {
    let mut dst = crate::run::connect(config.destination.opts())?;
    let lease = LeaseTable { task: config.name().to_string(), db: config.meta_db.clone() };
    let live = lease.read(&mut dst)?.is_some_and(|h| h.running);
    // Set by the lease's keeper when `dts-sync stop` asks this holder to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let mine = if live {
        None
    } else {
        let signals = Arc::new(LeaseSignals::default());
        match HeldLease::take(config.destination.opts(), lease.clone(), config.lease_period(), stop.clone(), signals) {
            Ok(l) => Some(l),
            // A run took the task just now: repair beside it, as with one live from the start.
            Err(LeaseError::AlreadyRunning { .. }) => None,
            Err(e) => return Err(VerifyError::Policy(Box::new(e))),
        }
    };
    let running = mine.is_none();
    // With the lease held here no runner can change the phase; with one live it only moves on.
    let state = StateTable { task: config.name().to_string(), db: config.meta_db.clone() };
    let phase = state.read(&mut dst)?.map(|s| s.phase);
    let hold = match &mine {
        Some(l) => Hold {
            sql: lease.hold_commits_sql(Some(l.fence.epoch)),
            lost: "verify --apply lost the task's lease (another runner took the task over): run verify --apply again"
                .into(),
        },
        None => Hold {
            sql: lease.hold_commits_sql(None),
            lost: "the task's lease is gone (the task was reset): run verify --apply again".into(),
        },
    };
    *held = mine;
    Ok(RepairOptions {
        hold_commits: Some(hold),
        refuse_all: matches!(phase, Some(Phase::Schema | Phase::Full)).then(|| {
            format!(
                "the task is in its {} phase, which writes these tables itself: verify --apply repairs once it is in incremental sync",
                phase.map_or("", |p| p.as_str())
            )
        }),
        refuse_alters: running.then(|| {
            "the task is running, and its applier writes with the destination's current columns: \
             stop it (`dts-sync stop`), run verify --apply again, then start it"
                .to_string()
        }),
        refuse_keyless: (phase == Some(Phase::Incremental)).then(|| {
            "a table without a key: incremental sync matches its rows by value, so a change replayed over a repair \
             would apply twice; stop the task once caught up and the source is quiet, then run the repair script"
                .to_string()
        }),
        refuse_cascading: if phase == Some(Phase::Incremental) { cascading(&mut dst)? } else { None },
        stop: held.is_some().then_some(stop),
    })
}

/// The destination's tables in foreign-key cascade groups ([`dts_types::fk`]), with why their
/// rows are not repaired while incremental sync runs.
fn cascading(dst: &mut mysql::Conn) -> Result<Option<(String, std::collections::BTreeSet<String>)>, mysql::Error> {
    use mysql::prelude::Queryable;
    let keys: Vec<dts_types::fk::ForeignKey> =
        dst.query(dts_types::fk::QUERY)?.into_iter().filter_map(dts_types::fk::ForeignKey::from_row).collect();
    let tables: std::collections::BTreeSet<String> = dts_types::fk::cascade_groups(&keys, |_| true)
        .into_keys()
        // As verify's report names a destination table.
        .map(|t| t.plain())
        .collect();
    Ok((!tables.is_empty()).then(|| {
        (
            "a table of a foreign-key cascade group: incremental sync writes its inserts as plain INSERTs (so the \
             destination's cascades repeat the source's), and one replayed over a repaired row would fail; stop the \
             task once caught up and the source is quiet, then apply the repair script (verify --repair-sql FILE)"
                .to_string(),
            tables,
        )
    }))
}

type Policy<'a> = &'a mut dyn FnMut() -> Result<RepairOptions, VerifyError>;

fn compare(config: &Config, repair: Option<Policy>) -> Result<Report, VerifyError> {
    let mut dst = crate::run::connect(config.destination.opts())?;
    let config = &config.clone().with_followed_renames(&mut dst)?;
    let state = StateTable { task: config.name().to_string(), db: config.meta_db.clone() };
    let incremental = state.read(&mut dst)?.is_some_and(|s| s.phase == Phase::Incremental);
    let progress = CheckpointProgress {
        destination: config.destination.opts(),
        checkpoint: Checkpoint::new(config.name(), &config.meta_db),
        lease: LeaseTable { task: config.name().to_string(), db: config.meta_db.clone() },
    };
    let o = VerifyOptions {
        threads: config.raw.full.threads.max(2),
        chunk_rows: config.raw.full.chunk_rows,
        rows_per_sec: config.raw.full.rows_per_sec,
        qps: config.raw.full.qps,
        ..Default::default()
    };
    let progress = if incremental { Some(&progress as &dyn Progress) } else { None };
    let (source, destination) = (config.source.opts(), config.destination.opts());
    match repair {
        None => dts_verify::run(&source, &destination, &config.selection, &o, progress),
        Some(r) => dts_verify::apply(&source, &destination, &config.selection, &o, progress, r),
    }
}
