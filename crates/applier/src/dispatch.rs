//! The parallel path (`workers > 1`): the dispatcher reads whole source transactions and
//! routes each to a worker's forming group. A transaction that shares a key token with one
//! worker's groups (forming or in flight) goes to that worker, which applies its groups in
//! order; one sharing with none joins the free group, which is given to the least busy worker
//! only when it is sent; one sharing with two workers waits until it shares with one. So a
//! conflict orders two transactions on one connection instead of stalling the others. DDL and
//! transactions larger than a group are barriers: everything in flight commits, then they apply
//! on the applier's own connection.
//!
//! Every destination transaction records the source ranges it applies (`apply_done`, one per
//! run of consecutive transactions), so a restart from the low watermark skips the
//! transactions after it that a worker committed already.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use dts_types::{BinlogPosition, RowChange, SourcePosition};

use crate::checkpoint::{DoneRange, Writer};
use crate::parallel::{Group, Tracker, tokens};
use crate::stream::{Stream, Streamed};
use crate::target::TablePlan;
use crate::txn::DestTxn;
use crate::worker::{Completion, DEPTH, Pool, WorkerSetup};
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

/// The source ranges workers committed beyond the low watermark before the restart, merged
/// where they overlap (a run extended over transactions skipped at an earlier restart spans
/// their ranges; every position in either is committed), in source order, forgotten as the
/// input passes them. A group records one range per run of its transactions, so there can be
/// many; each transaction looks at the first one left.
struct DoneBefore(std::collections::VecDeque<DoneRange>);

impl DoneBefore {
    fn new(mut ranges: Vec<DoneRange>) -> Self {
        // `None` (from the very start) sorts first.
        ranges.sort_by(|a, b| a.0.cmp(&b.0));
        let mut merged: std::collections::VecDeque<DoneRange> = std::collections::VecDeque::new();
        for (start, end) in ranges {
            match merged.back_mut() {
                Some(last) if start.as_ref().is_none_or(|s| *s < last.1) => {
                    if end > last.1 {
                        last.1 = end;
                    }
                }
                _ => merged.push_back((start, end)),
            }
        }
        DoneBefore(merged)
    }

    /// Whether a worker committed the transaction ending at `end` before the restart (`end`
    /// grows from call to call).
    fn covers(&mut self, end: &BinlogPosition) -> bool {
        while self.0.front().is_some_and(|(_, e)| e < end) {
            self.0.pop_front();
        }
        self.0.front().is_some_and(|(s, _)| s.as_ref().is_none_or(|s| s < end))
    }
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
    done_before: DoneBefore,
    /// The group of transactions that share no token with any worker's groups: it goes to
    /// the least busy worker when it is sent.
    free: Option<Group>,
    /// Each worker's forming group: transactions that share a token with its groups (in
    /// flight, or this one), so they must follow them there.
    bound: Vec<Option<Group>>,
    /// Where the last transaction read ends: the next range starts after it.
    prev_end: Option<BinlogPosition>,
    next_id: u64,
    /// The sequence number of the next transaction to join a group (the low watermark
    /// follows them).
    next_seq: u64,
    /// Groups committed since the done ranges were last pruned.
    since_prune: usize,
    pool: Pool,
}

impl<'a> Dispatcher<'a> {
    fn start(app: &'a mut Applier) -> Result<Self, ApplyError> {
        let low = app.ck.read(&mut app.conn)?;
        let done_before = DoneBefore::new(app.ck.done_after(&mut app.conn, low.as_ref().map(|p| &p.binlog))?);
        let prev_end = low.as_ref().map(|p| p.binlog.clone());
        let tracker = Tracker::new(low);
        let setup = WorkerSetup {
            dest: app.dest.clone(),
            ck: app.ck.clone(),
            low: tracker.shared_low(),
            batch_bytes: app.o.batch_bytes,
            other_retry: app.o.retry.other,
        };
        let pool = Pool::start(app.o.workers, &setup);
        let bound = (0..app.o.workers).map(|_| None).collect();
        Ok(Dispatcher {
            app,
            tracker,
            done_before,
            free: None,
            bound,
            prev_end,
            next_id: 0,
            next_seq: 0,
            since_prune: 0,
            pool,
        })
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
                    self.app.throttle.change(&change);
                    held.changes.push((plan, change));
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
        if self.done_before.covers(&at.binlog) {
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
            let counted = !held.changes.is_empty();
            stream.held(held.changes)?;
            if txn.is_open() {
                txn.count_transactions(u64::from(counted));
                txn.commit_at(Writer::Main, None, &[], &mut app.stats)?;
            }
            drop(txn);
            return self.ddl_barrier(&d, at, counted);
        }
        let target = self.route(&held.tokens)?;
        let slot = match target {
            Some(w) => &mut self.bound[w],
            None => &mut self.free,
        };
        let g = slot.get_or_insert_with(|| {
            self.next_id += 1;
            Group::new(self.next_id - 1, target.unwrap_or(0))
        });
        self.app.stats.row_changes += held.changes.len() as u64;
        g.add(self.next_seq, self.prev_end.clone(), held.changes, held.tokens, at.clone());
        self.next_seq += 1;
        self.prev_end = Some(at.binlog);
        if self.app.throttle.group_due() {
            self.app.throttle.pace();
            return self.send(target);
        }
        // Every forming group waits at most `group_delay`, not only the one this joined.
        let o = &self.app.o;
        let full =
            |g: &Option<Group>| g.as_ref().is_some_and(|g| o.group_full(g.transactions, g.changes.len(), g.started));
        let due: Vec<Option<usize>> = std::iter::once(None)
            .chain((0..self.bound.len()).map(Some))
            .filter(|which| full(which.map_or(&self.free, |w| &self.bound[w])))
            .collect();
        for which in due {
            self.send(which)?;
        }
        Ok(())
    }

    /// Where a transaction with `tokens` goes: `Some(w)`, worker `w`'s forming group, when it
    /// shares a token with `w`'s groups only (the free group, if it shares one too, joins that
    /// group: both must follow `w`'s); `None`, the free group, when it shares none with any
    /// worker. A transaction sharing tokens with two workers waits, their forming groups sent,
    /// until it shares with one.
    fn route(&mut self, tokens: &HashSet<u64>) -> Result<Option<usize>, ApplyError> {
        let shares = |g: &Option<Group>| g.as_ref().is_some_and(|g| !g.tokens.is_disjoint(tokens));
        loop {
            let mut workers = BTreeSet::new();
            self.tracker.conflicting_workers(tokens, &mut workers);
            workers.extend((0..self.bound.len()).filter(|&w| shares(&self.bound[w])));
            match workers.len() {
                0 => return Ok(None),
                1 => {
                    let w = *workers.first().expect("one worker");
                    if shares(&self.free) {
                        let free = self.free.take().expect("shares a token");
                        match &mut self.bound[w] {
                            Some(g) => g.merge(free),
                            slot => *slot = Some(Group { worker: w, ..free }),
                        }
                    }
                    return Ok(Some(w));
                }
                _ => {
                    for w in workers {
                        self.send(Some(w))?;
                    }
                    let c = self.pool.recv()?;
                    self.settled(c)?;
                }
            }
        }
    }

    /// Runs a DDL once everything before it committed, with its checkpoint and done range
    /// (`rows_counted`: its transaction's rows committed before it and counted it).
    fn ddl_barrier(&mut self, d: &Ddl, at: SourcePosition, rows_counted: bool) -> Result<(), ApplyError> {
        let range = (self.prev_end.clone(), at.binlog.clone());
        let app = &mut *self.app;
        let mut txn = DestTxn::new(&mut app.conn, &app.ck, app.o.batch_bytes);
        crate::ddl::barrier(
            &mut txn,
            &app.dest,
            &mut app.plans,
            &app.ddl,
            d,
            &at,
            Some(&range),
            rows_counted,
            &mut app.stats,
        )?;
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
        if self.done_before.covers(&at.binlog) {
            // Applied before the restart: keep the earlier application.
            txn.rollback()?;
            self.prev_end = Some(at.binlog);
            return Ok(());
        }
        if let Some(d) = ddl.or(held.ddl.map(Box::new)) {
            txn.count_transactions(1);
            txn.commit_at(Writer::Main, None, &[], &mut app.stats)?;
            drop(txn);
            return self.ddl_barrier(&d, at, true);
        }
        let range = (self.prev_end.clone(), at.binlog.clone());
        txn.count_transactions(1);
        txn.commit_at(Writer::Main, Some(&at), std::slice::from_ref(&range), &mut app.stats)?;
        self.prev_end = Some(at.binlog.clone());
        self.tracker.set_low(at);
        Ok(())
    }

    /// Hands every forming group to a worker (the input went idle, or a barrier).
    fn dispatch(&mut self) -> Result<(), ApplyError> {
        self.send(None)?;
        for w in 0..self.bound.len() {
            self.send(Some(w))?;
        }
        Ok(())
    }

    /// Hands a forming group to its worker (`Some(w)`: `w`'s bound group), or the free group
    /// (`None`) to the least busy worker, once that worker holds fewer than `DEPTH` groups.
    fn send(&mut self, which: Option<usize>) -> Result<(), ApplyError> {
        let slot = match which {
            Some(w) => &mut self.bound[w],
            None => &mut self.free,
        };
        let Some(mut g) = slot.take() else { return Ok(()) };
        loop {
            let w = match which {
                Some(w) => w,
                None => (0..self.bound.len()).min_by_key(|&w| self.tracker.in_flight_on(w)).expect("a worker"),
            };
            if self.tracker.in_flight_on(w) < DEPTH {
                g.worker = w;
                break;
            }
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

    /// Dispatches the forming groups and waits until every group in flight committed.
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
        txn.commit_at(Writer::Main, Some(&low), &[], &mut app.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: Option<u64>, end: u64) -> DoneRange {
        (start.map(|s| BinlogPosition::new("b.000001", s)), BinlogPosition::new("b.000001", end))
    }

    fn covered(done: Vec<DoneRange>, ends: &[u64]) -> Vec<u64> {
        let mut d = DoneBefore::new(done);
        ends.iter().copied().filter(|&e| d.covers(&BinlogPosition::new("b.000001", e))).collect()
    }

    #[test]
    fn done_ranges_cover_what_any_of_them_covers_even_when_they_overlap() {
        // (18, 20] lies inside (5, 30], recorded by a run extended over it after a restart.
        let done = vec![range(Some(18), 20), range(Some(40), 50), range(Some(5), 30), range(None, 2)];
        assert_eq!(
            covered(done, &[1, 2, 3, 5, 12, 19, 20, 25, 30, 35, 45, 50, 60]),
            [1, 2, 12, 19, 20, 25, 30, 45, 50]
        );
    }
}
