//! Continuous verification (`[verify] continuous = true`): every row incremental sync applies
//! is compared again between source and destination once the applier has passed it, counting
//! rows checked and rows that differ. Keys travel from the binlog input through a bounded queue;
//! when the checker falls behind, keys are dropped and counted rather than held.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use dts_applier::checkpoint::Checkpoint;
use dts_types::{TableId, Value};
use dts_verify::VerifyTable;
use dts_verify::{RowChecker, VerifyOptions};

use crate::config::Config;
use crate::verify::CheckpointProgress;

/// What the input sends.
#[derive(Debug)]
pub enum Msg {
    /// A source table's row (by key) that incremental sync applied.
    Row(TableId, Vec<Value>),
    /// A DDL passed: table descriptions must be read again.
    Reset,
}

/// Counters of continuous verification, served by the monitor.
#[derive(Debug, Default)]
pub struct Counters {
    /// Rows compared with the destination.
    pub checked: AtomicU64,
    /// Rows that differed from the destination's.
    pub mismatched: AtomicU64,
    /// Keys not checked because the checker was behind (the queue was full).
    pub skipped: AtomicU64,
}

/// The input's end of the queue.
#[derive(Debug, Clone)]
pub struct Feed {
    tx: Sender<Msg>,
    counters: Arc<Counters>,
}

impl Feed {
    pub fn send(&self, m: Msg) {
        if let Err(TrySendError::Full(_)) = self.tx.try_send(m) {
            self.counters.skipped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Starts the checker thread; it ends when `stop` is set or every [`Feed`] is dropped.
pub fn start(config: &Config, counters: Arc<Counters>, stop: Arc<AtomicBool>) -> Feed {
    let (tx, rx) = crossbeam_channel::bounded(20_000);
    let config = config.clone();
    let c = counters.clone();
    std::thread::spawn(move || checker(&config, &rx, &c, &stop));
    Feed { tx, counters }
}

fn checker(config: &Config, rx: &Receiver<Msg>, counters: &Counters, stop: &AtomicBool) {
    let progress = CheckpointProgress {
        destination: config.destination.opts(),
        checkpoint: Checkpoint::new(config.name(), &config.meta_db),
        lease: crate::lease::LeaseTable { task: config.name().to_string(), db: config.meta_db.clone() },
    };
    let o = VerifyOptions { rechecks: 3, recheck_wait: Duration::from_secs(30), ..Default::default() };
    let mut checker: Option<RowChecker> = None;
    let mut tables: HashMap<TableId, Option<VerifyTable>> = HashMap::new();
    while !stop.load(Ordering::Relaxed) {
        // Gather up to a second's worth of keys, per table, without repeats.
        let mut batch: BTreeMap<TableId, BTreeMap<String, Vec<Value>>> = BTreeMap::new();
        let until = Instant::now() + Duration::from_secs(1);
        let mut n = 0;
        while n < 2_000 {
            let Some(left) = until.checked_duration_since(Instant::now()) else { break };
            match rx.recv_timeout(left) {
                Ok(Msg::Row(t, key)) => {
                    let id = key.iter().map(|v| v.to_sql_literal().unwrap_or_default()).collect::<Vec<_>>().join(",");
                    batch.entry(t).or_default().insert(id, key);
                    n += 1;
                }
                Ok(Msg::Reset) => tables.clear(),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => break,
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
            }
        }
        if batch.is_empty() {
            continue;
        }
        if checker.is_none() {
            match RowChecker::new(&config.source.opts(), &config.destination.opts()) {
                Ok(c) => checker = Some(c),
                Err(e) => {
                    tracing::warn!("continuous verification cannot connect: {e}");
                    continue;
                }
            }
        }
        let ch = checker.as_mut().expect("connected");
        for (table, keys) in batch {
            let t = tables.entry(table.clone()).or_insert_with(|| {
                let m = config.selection.table(table.database.as_str(), table.table.as_str())?;
                ch.table(m).ok().filter(|t| t.has_key())
            });
            let Some(t) = t else { continue };
            let keys: Vec<Vec<Value>> = keys.into_values().collect();
            match ch.check(t, &keys, &o, Some(&progress)) {
                Ok(d) => {
                    for r in d.missing.iter().chain(&d.extra).chain(&d.different) {
                        tracing::warn!(table = %table, key = %r.key, columns = ?r.columns, "continuous verification: rows differ");
                    }
                }
                Err(e) => {
                    tracing::warn!(table = %table, "continuous verification failed: {e}");
                    checker = None;
                    break;
                }
            }
            counters.checked.store(ch.checked, Ordering::Relaxed);
            counters.mismatched.store(ch.mismatched, Ordering::Relaxed);
        }
    }
}
