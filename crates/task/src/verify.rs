//! `verify` over a task's objects. While the task is in incremental sync, a difference is only
//! reported once the applier's checkpoint has passed the source position at which it was seen.

use std::time::{Duration, Instant};

use dts_applier::checkpoint::Checkpoint;
use dts_types::BinlogPosition;
use dts_verify::{Progress, RepairOptions, Report, VerifyError, VerifyOptions};

use crate::config::Config;
use crate::lease::LeaseTable;
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
/// task's state, refusing the rest with the reason (see `dts_verify::apply` for why the row
/// repairs cannot fight a running applier):
/// - during schema sync or the full copy nothing is repaired (the copy writes the tables);
/// - while a runner is live no ALTER runs (its applier writes with the destination's columns);
/// - once incremental sync has begun, rows of tables without a key are not repaired (the
///   applier matches them by value, so an event replayed over a repair would count twice);
/// - every row repair holds the task's commits through its lease row
///   ([`crate::lease::LeaseTable::hold_commits_sql`]).
pub fn verify_apply(config: &Config) -> Result<Report, VerifyError> {
    let mut dst = crate::run::connect(config.destination.opts())?;
    let state = StateTable { task: config.name().to_string(), db: config.meta_db.clone() };
    let phase = state.read(&mut dst)?.map(|s| s.phase);
    let lease = LeaseTable { task: config.name().to_string(), db: config.meta_db.clone() };
    let running = lease.read(&mut dst)?.is_some_and(|h| h.running);
    let r = RepairOptions {
        hold_commits: lease.hold_commits_sql(&mut dst)?,
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
    };
    compare(config, Some(&r))
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
        .map(|t| t.to_string().replace('`', ""))
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

fn compare(config: &Config, repair: Option<&RepairOptions>) -> Result<Report, VerifyError> {
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
