//! Parallel workers: each applies whole groups on its own destination connection, in the order
//! it receives them, one destination transaction per group with the group's done ranges and
//! the low watermark.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use dts_types::SourcePosition;
use dts_types::retry::ErrorClass;
use mysql::{Conn, Opts};
use parking_lot::Mutex;

use crate::apply::connect;
use crate::checkpoint::{Checkpoint, Writer};
use crate::parallel::Group;
use crate::txn::DestTxn;
use crate::{ApplyError, ApplyStats};

/// A worker's answer for one group.
pub(crate) struct Completion {
    pub group: u64,
    /// What the group's transaction did, or why it failed (it did not commit).
    pub result: Result<ApplyStats, ApplyError>,
}

/// What every worker needs.
#[derive(Clone)]
pub(crate) struct WorkerSetup {
    pub dest: Opts,
    pub ck: Checkpoint,
    /// The low watermark, advanced by the dispatcher as groups commit.
    pub low: Arc<Mutex<Option<SourcePosition>>>,
    pub batch_bytes: usize,
    /// How long a group is retried in place after deadlocks and lock waits.
    pub other_retry: Duration,
}

/// How many groups a worker holds at most (being applied, queued, answered but not yet
/// received): with two, its next group is there the moment it commits one.
pub(crate) const DEPTH: usize = 2;

/// The worker threads, a queue of groups to each, and one queue of their answers.
///
/// No send can block: the dispatcher sends a worker a group only while fewer than [`DEPTH`] of
/// its groups are in flight, and a group stays in flight until the dispatcher has received
/// its completion. So each group queue holds at most `DEPTH`, and the completion queue at most
/// `workers * DEPTH`, their capacities.
pub(crate) struct Pool {
    groups: Vec<Sender<Group>>,
    completions: Option<Receiver<Completion>>,
    handles: Vec<JoinHandle<()>>,
}

impl Pool {
    pub fn start(workers: usize, setup: &WorkerSetup) -> Pool {
        let (completion_tx, completions) = crossbeam_channel::bounded::<Completion>(workers * DEPTH);
        let mut groups = Vec::new();
        let handles = (0..workers)
            .map(|n| {
                let (tx, rx) = crossbeam_channel::bounded::<Group>(DEPTH);
                groups.push(tx);
                let (setup, completions) = (setup.clone(), completion_tx.clone());
                std::thread::spawn(move || worker_loop(Writer::Worker(n as u32), &setup, &rx, &completions))
            })
            .collect();
        Pool { groups, completions: Some(completions), handles }
    }

    /// Hands a group to its worker, after the groups it was given before.
    pub fn send(&self, g: Group) -> Result<(), ApplyError> {
        self.groups.get(g.worker).and_then(|s| s.send(g).ok()).ok_or_else(stopped)
    }

    /// The next completion, waiting for it.
    pub fn recv(&self) -> Result<Completion, ApplyError> {
        self.completions.as_ref().and_then(|r| r.recv().ok()).ok_or_else(stopped)
    }

    /// A completion if one is there.
    pub fn try_recv(&self) -> Result<Option<Completion>, ApplyError> {
        match self.completions.as_ref().map(|r| r.try_recv()) {
            Some(Ok(c)) => Ok(Some(c)),
            Some(Err(TryRecvError::Empty)) => Ok(None),
            _ => Err(stopped()),
        }
    }
}

fn stopped() -> ApplyError {
    ApplyError::Protocol("the parallel workers stopped".into())
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing the group queues ends each worker once it has taken what is queued for it
        // (a group depends only on groups queued before it on the same worker, so what it
        // applies is right, and a worker that failed applies none); closing the completion
        // queue too means none of them can wait on it (its send fails instead).
        self.groups.clear();
        self.completions = None;
        for h in self.handles.drain(..) {
            // A worker that panicked has already printed its panic, and the dispatcher saw its
            // group never complete ("workers stopped"): nothing more to report here.
            let _ = h.join();
        }
    }
}

/// One worker: applies the groups it receives until the queue closes, or until one fails.
///
/// After a failure (its own connection's, or a group's) it applies nothing more: the groups
/// queued behind the failed one may change the same rows after it, and committed they would
/// be skipped at the restart while the failed one is applied again, out of order. It keeps
/// taking groups without applying them, so the dispatcher's sends never fail and it sees the
/// first error itself (the restart from the checkpoint applies all of them).
fn worker_loop(writer: Writer, setup: &WorkerSetup, groups: &Receiver<Group>, completions: &Sender<Completion>) {
    let mut conn = match connect(&setup.dest) {
        Ok(c) => c,
        Err(e) => {
            // Report on the first group this worker gets.
            if let Ok(g) = groups.recv() {
                // Fails only when the dispatcher is gone: then nobody waits for this error.
                let _ = completions.send(Completion { group: g.id, result: Err(e) });
            }
            return discard(groups);
        }
    };
    while let Ok(g) = groups.recv() {
        let result = apply_retrying(&mut conn, setup, writer, &g);
        let failed = result.is_err();
        if completions.send(Completion { group: g.id, result }).is_err() {
            return;
        }
        if failed {
            return discard(groups);
        }
    }
}

/// Takes the groups still sent to a worker that failed, applying none, until the queue closes.
fn discard(groups: &Receiver<Group>) {
    while groups.recv().is_ok() {}
}

/// Applies a group; a deadlock or lock wait rolls it back, and since the worker still holds
/// the group it retries it in place instead of restarting the whole stream.
fn apply_retrying(conn: &mut Conn, setup: &WorkerSetup, writer: Writer, g: &Group) -> Result<ApplyStats, ApplyError> {
    let since = Instant::now();
    let mut attempt = 0u32;
    loop {
        match apply_group(conn, setup, writer, g) {
            Ok(mut s) => {
                s.retries += attempt as u64;
                return Ok(s);
            }
            Err(e) if e.class() == ErrorClass::TransientOther && since.elapsed() < setup.other_retry => {
                tracing::debug!(?writer, error = %e, "retrying a group in place");
                std::thread::sleep(Duration::from_millis((20u64 << attempt.min(7)).min(2_000)));
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// A group's destination transaction: its changes, its done range and the low watermark known
/// once its rows are in (every group up to it has committed).
fn apply_group(conn: &mut Conn, setup: &WorkerSetup, writer: Writer, g: &Group) -> Result<ApplyStats, ApplyError> {
    let mut stats = ApplyStats::default();
    let mut txn = DestTxn::new(conn, &setup.ck, setup.batch_bytes);
    for (plan, change) in &g.changes {
        txn.push(plan, change, &mut stats)?;
    }
    txn.flush(&mut stats)?;
    let low = setup.low.lock().clone();
    txn.count_transactions(g.applied as u64);
    txn.commit_at(writer, low.as_ref(), &g.ranges, &mut stats)?;
    Ok(stats)
}
