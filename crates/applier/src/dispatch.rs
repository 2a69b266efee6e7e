//! The parallel path (`workers > 1`): the dispatcher reads whole source transactions, forms
//! groups of them and hands each group to a worker, holding a group back while a group in
//! flight shares a key token with it. DDL and transactions larger than a group are barriers:
//! everything in flight commits, then they apply on the applier's own connection.
//!
//! Every destination transaction records the source range it applies (`apply_done`), so a
//! restart from the low watermark skips the transactions after it that a worker committed
//! already.

use std::collections::HashSet;
use std::sync::Arc;

use dts_types::{BinlogPosition, RowChange, SourcePosition};

use crate::checkpoint::{DoneRange, Writer};
use crate::parallel::{Group, Tracker, tokens};
use crate::stream::{Stream, Streamed};
use crate::target::TablePlan;
use crate::txn::DestTxn;
use crate::worker::{Completion, Pool, WorkerSetup};
use crate::{Applier, ApplyError, Ddl, Input, InputSource};

/// How many committed parallel groups between two prunes of the done ranges.
const PRUNE_EVERY_GROUPS: usize = 256;

/// Applies the input with parallel workers until it ends.
pub(crate) fn run(app: &mut Applier, input: &mut dyn InputSource) -> Result<(), ApplyError> {
    let mut d = Dispatcher::start(app)?;
    while let Some(item) = d.next_input(input)? {
        match item {
            Input::Begin => d.read_transaction(input)?,
            Input::Idle => d.dispatch()?,
            other => return Err(ApplyError::Protocol(format!("{} outside a transaction", other.name()))),
        }
    }
    d.finish()
}

/// Whether a worker committed the transaction ending at `end` before the restart.
fn covers(done: &[DoneRange], end: &BinlogPosition) -> bool {
    done.iter().any(|(s, e)| s.as_ref().is_none_or(|s| s < end) && end <= e)
}

/// A source transaction read whole, held until it joins a group.
#[derive(Default)]
struct Held {
    changes: Vec<(Arc<TablePlan>, RowChange)>,
    tokens: HashSet<u64>,
    ddl: Option<Ddl>,
}

struct Dispatcher<'a> {
    app: &'a mut Applier,
    tracker: Tracker,
    /// Source ranges committed beyond the low watermark before this run (by workers).
    done_before: Vec<DoneRange>,
    /// The group being formed.
    forming: Option<Group>,
    /// Where the last transaction read ends: the next range starts after it.
    prev_end: Option<BinlogPosition>,
    next_id: u64,
    /// Groups committed since the done ranges were last pruned.
    since_prune: usize,
    pool: Pool,
}

impl<'a> Dispatcher<'a> {
    fn start(app: &'a mut Applier) -> Result<Self, ApplyError> {
        let low = app.ck.read(&mut app.conn)?;
        let done_before = app.ck.done_after(&mut app.conn, low.as_ref().map(|p| &p.binlog))?;
        let prev_end = low.as_ref().map(|p| p.binlog.clone());
        let tracker = Tracker::new(0, low);
        let setup = WorkerSetup {
            dest: app.dest.clone(),
            ck: app.ck.clone(),
            low: tracker.shared_low(),
            batch_bytes: app.o.batch_bytes,
            other_retry: app.o.retry.other,
        };
        let pool = Pool::start(app.o.workers, &setup);
        Ok(Dispatcher { app, tracker, done_before, forming: None, prev_end, next_id: 0, since_prune: 0, pool })
    }

    /// The next input, after taking in the groups committed meanwhile (and pruning now and
    /// then).
    fn next_input(&mut self, input: &mut dyn InputSource) -> Result<Option<Input>, ApplyError> {
        let item = input.next_input();
        while let Some(c) = self.pool.try_recv()? {
            self.settled(c)?;
        }
        if self.since_prune >= PRUNE_EVERY_GROUPS {
            self.since_prune = 0;
            self.persist_low()?;
        }
        item.transpose().map_err(ApplyError::Input)
    }

    /// Reads a source transaction after its Begin: held while it fits a group, streamed once
    /// it outgrows one. The input ending inside it drops it.
    fn read_transaction(&mut self, input: &mut dyn InputSource) -> Result<(), ApplyError> {
        let mut held = Held::default();
        while let Some(item) = self.next_input(input)? {
            match item {
                Input::Row { target, change } => {
                    let plan = self.app.plans.get(&mut self.app.conn, &target)?;
                    tokens(&plan, &change, &mut held.tokens);
                    held.changes.push((plan, change));
                    self.app.throttle.row();
                    if held.changes.len() > self.app.o.group_rows {
                        return self.stream_large(held, input);
                    }
                }
                Input::Ddl(d) => held.ddl = Some(d),
                Input::Commit(at) => return self.on_commit(held, at),
                Input::Idle => {}
                Input::Begin => return Err(ApplyError::Protocol("a transaction began inside another".into())),
            }
        }
        Ok(())
    }

    /// A transaction read whole: skipped if a worker committed it before the restart, a
    /// barrier if it holds DDL, else it joins the group being formed.
    fn on_commit(&mut self, held: Held, at: SourcePosition) -> Result<(), ApplyError> {
        self.app.stats.transactions += 1;
        if covers(&self.done_before, &at.binlog) {
            self.prev_end = Some(at.binlog);
            return Ok(());
        }
        if let Some(d) = held.ddl {
            self.barrier()?;
            // A DDL's own rows (a binlog has none) apply before it, as on the serial path.
            let app = &mut *self.app;
            let mut txn = DestTxn::new(&mut app.conn, &app.ck, app.o.batch_bytes);
            let mut stream =
                Stream { txn: &mut txn, plans: &mut app.plans, stats: &mut app.stats, throttle: &mut app.throttle };
            stream.held(held.changes)?;
            if txn.is_open() {
                txn.commit_at(Writer::Main, None, None, &mut app.stats)?;
            }
            drop(txn);
            return self.ddl_barrier(&d, at);
        }
        let g = self.forming.get_or_insert_with(|| {
            self.next_id += 1;
            Group::new(self.next_id - 1, self.prev_end.clone(), at.clone())
        });
        self.app.stats.row_changes += held.changes.len() as u64;
        g.add(held.changes, held.tokens, at.clone());
        self.prev_end = Some(at.binlog);
        let paced = self.app.throttle.group_rows().is_some_and(|most| g.changes.len() >= most);
        if paced || self.app.o.group_full(g.transactions, g.changes.len(), g.started) {
            self.app.throttle.pace(0);
            self.dispatch()?;
        }
        Ok(())
    }

    /// Runs a DDL once everything before it committed, with its checkpoint and done range.
    fn ddl_barrier(&mut self, d: &Ddl, at: SourcePosition) -> Result<(), ApplyError> {
        let range = (self.prev_end.clone(), at.binlog.clone());
        let app = &mut *self.app;
        let mut txn = DestTxn::new(&mut app.conn, &app.ck, app.o.batch_bytes);
        crate::ddl::barrier(&mut txn, &app.dest, &mut app.plans, &app.ddl, d, &at, Some(&range), &mut app.stats)?;
        self.prev_end = Some(at.binlog.clone());
        self.tracker.set_low(at);
        Ok(())
    }

    /// A transaction too large to hold: a barrier, then it streams through the applier's own
    /// connection and commits alone with its checkpoint and done range.
    fn stream_large(&mut self, held: Held, input: &mut dyn InputSource) -> Result<(), ApplyError> {
        self.barrier()?;
        let app = &mut *self.app;
        let mut txn = DestTxn::new(&mut app.conn, &app.ck, app.o.batch_bytes);
        let mut stream =
            Stream { txn: &mut txn, plans: &mut app.plans, stats: &mut app.stats, throttle: &mut app.throttle };
        stream.held(held.changes)?;
        let Streamed::Committed { at, ddl, .. } = stream.rest_of_transaction(input)? else {
            return txn.rollback();
        };
        app.stats.transactions += 1;
        if covers(&self.done_before, &at.binlog) {
            // Applied before the restart: keep the earlier application.
            txn.rollback()?;
            self.prev_end = Some(at.binlog);
            return Ok(());
        }
        if let Some(d) = ddl.or(held.ddl.map(Box::new)) {
            txn.commit_at(Writer::Main, None, None, &mut app.stats)?;
            drop(txn);
            return self.ddl_barrier(&d, at);
        }
        let range = (self.prev_end.clone(), at.binlog.clone());
        txn.count_transactions(1);
        txn.commit_at(Writer::Main, Some(&at), Some(&range), &mut app.stats)?;
        self.prev_end = Some(at.binlog.clone());
        self.tracker.set_low(at);
        Ok(())
    }

    /// Hands the group being formed to a worker once no group in flight conflicts with it and
    /// a worker is free.
    fn dispatch(&mut self) -> Result<(), ApplyError> {
        let Some(g) = self.forming.take() else { return Ok(()) };
        while self.tracker.conflicts(&g.tokens) || self.tracker.in_flight() >= self.app.o.workers {
            let c = self.pool.recv()?;
            self.settled(c)?;
        }
        self.tracker.dispatched(&g);
        self.pool.send(g)
    }

    /// Takes in a worker's answer: a failed group stops the stream (its transaction did not
    /// commit; the restart resumes from the checkpoint).
    fn settled(&mut self, c: Completion) -> Result<(), ApplyError> {
        let s = c.result?;
        self.app.stats.add_group(&s);
        self.tracker.committed(c.group);
        self.since_prune += 1;
        Ok(())
    }

    /// Dispatches the group being formed and waits until every group in flight committed.
    fn barrier(&mut self) -> Result<(), ApplyError> {
        self.dispatch()?;
        while self.tracker.in_flight() > 0 {
            let c = self.pool.recv()?;
            self.settled(c)?;
        }
        Ok(())
    }

    /// The input ended: everything commits, and the low watermark reaches the last group, so
    /// a restart begins after it.
    fn finish(mut self) -> Result<(), ApplyError> {
        self.barrier()?;
        self.persist_low()
    }

    /// Records the low watermark as the applier's own checkpoint and forgets the done ranges it
    /// covers, in one transaction. Only the dispatcher prunes: workers pruning the same rows
    /// concurrently deadlocked each other.
    fn persist_low(&mut self) -> Result<(), ApplyError> {
        let Some(low) = self.tracker.low() else { return Ok(()) };
        let app = &mut *self.app;
        let mut txn = DestTxn::new(&mut app.conn, &app.ck, app.o.batch_bytes);
        txn.prune_done(&low.binlog)?;
        txn.commit_at(Writer::Main, Some(&low), None, &mut app.stats)
    }
}
