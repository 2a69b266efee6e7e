//! `verify` over a task's objects. While the task is in incremental sync, a difference is only
//! reported once the applier's checkpoint has passed the source position at which it was seen.

use std::time::{Duration, Instant};

use dts_applier::checkpoint::Checkpoint;
use dts_types::BinlogPosition;
use dts_verify::{Progress, Report, VerifyError, VerifyOptions};

use crate::config::Config;
use crate::state::{Phase, StateTable};

/// The applier's checkpoint as a [`Progress`].
#[derive(Debug)]
pub struct CheckpointProgress {
    pub destination: mysql::Opts,
    pub checkpoint: Checkpoint,
}

impl Progress for CheckpointProgress {
    fn wait_applied(&self, pos: &BinlogPosition, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let Ok(mut c) = crate::run::connect(self.destination.clone()) else { return false };
        while Instant::now() < deadline {
            if let Ok(Some(p)) = self.checkpoint.read(&mut c)
                && p.binlog >= *pos
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

/// Compares the task's objects between source and destination. While incremental sync runs, a difference is re-checked once the applier has passed the position where it was seen.
pub fn verify(config: &Config) -> Result<Report, VerifyError> {
    let mut dst = crate::run::connect(config.destination.opts())?;
    let config = &config.clone().with_followed_renames(&mut dst)?;
    let state = StateTable { task: config.name().to_string(), db: config.meta_db.clone() };
    let incremental = state.read(&mut dst)?.is_some_and(|s| s.phase == Phase::Incremental);
    let progress = CheckpointProgress {
        destination: config.destination.opts(),
        checkpoint: Checkpoint::new(config.name(), &config.meta_db),
    };
    let o = VerifyOptions {
        threads: config.raw.full.threads.max(2),
        rows_per_sec: config.raw.full.rows_per_sec,
        qps: config.raw.full.qps,
        ..Default::default()
    };
    dts_verify::run(
        &config.source.opts(),
        &config.destination.opts(),
        &config.selection,
        &o,
        if incremental { Some(&progress as &dyn Progress) } else { None },
    )
}
