//! Parallel apply: each source transaction goes, whole, to the worker whose groups share a key
//! with it (any worker when none does); a transaction sharing keys with two workers' groups
//! waits until it shares with one. Each worker applies its groups in order, so transactions on
//! one key apply in source order.
//!
//! Keys are every unique index's value in the before and after images. Values that compare
//! exactly (integers, temporal, DECIMAL, binary) identify themselves; a string or float part
//! (compared by collation) stands for the whole index, so any two changes on that index
//! conflict: never a missed conflict, at worst less parallelism. A keyless table's changes
//! conflict by row image (the values of its integer columns; see `keyless_tokens`), or as a
//! whole table where those do not identify a row.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Instant;

use dts_types::{BinlogPosition, RowChange, SourcePosition, Value};
use parking_lot::Mutex;

use crate::checkpoint::DoneRange;
use crate::target::TablePlan;

/// Source transactions applied together in one destination transaction by one worker. Its
/// transactions need not be consecutive in the source: the dispatcher routes each transaction
/// to the worker whose groups share a token with it, so the group records every run of
/// consecutive transactions it holds.
#[derive(Debug)]
pub(crate) struct Group {
    /// Groups are numbered in the order they were started.
    pub id: u64,
    /// The worker that applies it (groups of one worker apply in order).
    pub worker: usize,
    pub changes: Vec<(Arc<TablePlan>, RowChange)>,
    /// The conflict tokens of every change.
    pub tokens: HashSet<u64>,
    /// The source ranges it applies, one per run, recorded in `apply_done` with it.
    pub ranges: Vec<DoneRange>,
    /// Its runs of transactions by sequence number (first, last, where the last ends): what
    /// the low watermark follows.
    pub runs: Vec<Run>,
    pub transactions: usize,
    /// Those of its transactions with a change to apply (the others only move the checkpoint):
    /// what the task's `transactions_applied` counts.
    pub applied: usize,
    /// When its first transaction arrived (a group waits at most `group_delay`).
    pub started: Instant,
}

/// Consecutive transactions (by the dispatcher's sequence numbers) of one group, and where
/// the last one ends.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub first: u64,
    pub last: u64,
    pub end: SourcePosition,
}

impl Group {
    pub fn new(id: u64, worker: usize) -> Self {
        Group {
            id,
            worker,
            changes: Vec::new(),
            tokens: HashSet::new(),
            ranges: Vec::new(),
            runs: Vec::new(),
            transactions: 0,
            applied: 0,
            started: Instant::now(),
        }
    }

    /// Adds a whole source transaction, number `seq`, that follows `start` and ends at `end`.
    /// The transaction right after this group's last one extends its last run and range
    /// (what lies between them, transactions applied before a restart, is applied too).
    pub fn add(
        &mut self,
        seq: u64,
        start: Option<BinlogPosition>,
        mut changes: Vec<(Arc<TablePlan>, RowChange)>,
        tokens: HashSet<u64>,
        end: SourcePosition,
    ) {
        self.applied += usize::from(!changes.is_empty());
        self.changes.append(&mut changes);
        self.tokens.extend(tokens);
        match (self.runs.last_mut(), self.ranges.last_mut()) {
            (Some(run), Some(range)) if run.last + 1 == seq => {
                run.last = seq;
                run.end = end.clone();
                range.1 = end.binlog;
            }
            _ => {
                self.runs.push(Run { first: seq, last: seq, end: end.clone() });
                self.ranges.push((start, end.binlog));
            }
        }
        self.transactions += 1;
    }

    /// Takes in `other`'s transactions (none of which shares a token with this group's, so
    /// their order between the two does not matter), keeping this group's worker.
    pub fn merge(&mut self, mut other: Group) {
        self.changes.append(&mut other.changes);
        self.tokens.extend(other.tokens);
        self.ranges.append(&mut other.ranges);
        self.runs.append(&mut other.runs);
        self.transactions += other.transactions;
        self.applied += other.applied;
        self.started = self.started.min(other.started);
    }
}

fn hash_of(parts: &[&str]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

fn exact(v: &Value) -> bool {
    !matches!(v, Value::String(_) | Value::Float(_) | Value::Double(_) | Value::Json(_) | Value::Geometry(_))
}

/// The conflict tokens of one change.
pub(crate) fn tokens(plan: &TablePlan, change: &RowChange, out: &mut HashSet<u64>) {
    let table = plan.target.quoted();
    // A cascade reaches rows no image names: the whole group is one token.
    if let Some(c) = &plan.cascade {
        out.insert(hash_of(&["cascade group", &c.group]));
        return;
    }
    if plan.key.is_empty() {
        // Rows found by all their columns (no unique index, or only nullable ones): a token
        // per row image, and the unique indexes' tokens below as well.
        keyless_tokens(plan, &table, change, out);
    }
    for image in [change.before(), change.after()].into_iter().flatten() {
        for (u, cols) in plan.uniques.iter().enumerate() {
            let idx = u.to_string();
            let values: Vec<Option<&Value>> = cols.iter().map(|c| c.map(|i| &image[i])).collect();
            if values.iter().any(|v| matches!(v, Some(Value::Null))) {
                continue; // NULLs never conflict in a unique index
            }
            if values.iter().any(|v| v.is_none_or(|v| !exact(v))) {
                out.insert(hash_of(&[&table, &idx]));
                continue;
            }
            let mut text = String::new();
            for v in values.into_iter().flatten() {
                // Only a conflict token: a value that cannot be written as SQL stops the apply
                // when its statement is built, so the token may leave it out.
                let _ = v.write_sql_literal(&mut text);
                text.push('\u{1}');
            }
            out.insert(hash_of(&[&table, &idx, &text]));
        }
    }
}

/// A keyless table's change (rows found by all their columns): one token per image, from the
/// values of its integer columns (`TablePlan::row_identity`), so changes of rows that differ
/// there run in parallel. Two images that could be one destination row are equal in every such
/// column: the source gives an integer column's value as an integer, stored as is. Any other
/// value there (a string '05' or a DECIMAL 1.4 could become an integer equal to another's)
/// gives the image the whole table's token instead, as does a table without integer columns
/// or without an index (there every change scans and locks the whole table anyway). Such an
/// image never shares a row with a row-token image of the same column: in strict mode a
/// non-integer value becomes a number, never the NULL the other holds there. Changes sharing
/// an image keep source order, which is what `LIMIT 1` on identical rows needs.
fn keyless_tokens(plan: &TablePlan, table: &str, change: &RowChange, out: &mut HashSet<u64>) {
    let whole = hash_of(&[table]);
    if plan.row_identity.is_empty() {
        out.insert(whole);
        return;
    }
    'images: for image in [change.before(), change.after()].into_iter().flatten() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (table, "row").hash(&mut h);
        for &i in &plan.row_identity {
            match &image[i] {
                Value::Null => h.write_u8(0),
                Value::Int(v) => i128::from(*v).hash(&mut h),
                Value::UInt(v) => i128::from(*v).hash(&mut h),
                _ => {
                    out.insert(whole);
                    continue 'images;
                }
            }
        }
        out.insert(h.finish());
    }
}

/// Tracks groups in flight (by worker, with their tokens) and the low watermark: where the
/// longest prefix of committed transactions ends. The watermark is shared with the workers,
/// which record it in each commit.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    in_flight: HashMap<u64, InFlight>,
    /// Runs committed beyond the watermark, by first sequence number.
    committed: BTreeMap<u64, Run>,
    /// The first transaction not known committed.
    next: u64,
    low: Arc<Mutex<Option<SourcePosition>>>,
}

#[derive(Debug)]
struct InFlight {
    worker: usize,
    tokens: HashSet<u64>,
    runs: Vec<Run>,
}

impl Tracker {
    pub fn new(low: Option<SourcePosition>) -> Tracker {
        Tracker { low: Arc::new(Mutex::new(low)), ..Default::default() }
    }

    /// The low watermark, as the workers see it.
    pub fn shared_low(&self) -> Arc<Mutex<Option<SourcePosition>>> {
        self.low.clone()
    }

    pub fn low(&self) -> Option<SourcePosition> {
        self.low.lock().clone()
    }

    /// Everything dispatched committed, and then the applier's own connection committed up to
    /// `p`.
    pub fn set_low(&self, p: SourcePosition) {
        debug_assert!(self.in_flight.is_empty());
        *self.low.lock() = Some(p);
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Groups of `worker` sent and not yet settled.
    pub fn in_flight_on(&self, worker: usize) -> usize {
        self.in_flight.values().filter(|f| f.worker == worker).count()
    }

    pub fn dispatched(&mut self, g: &Group) {
        let f = InFlight { worker: g.worker, tokens: g.tokens.clone(), runs: g.runs.clone() };
        self.in_flight.insert(g.id, f);
    }

    /// Adds to `out` the workers with a group in flight that shares a token with `tokens`.
    pub fn conflicting_workers(&self, tokens: &HashSet<u64>, out: &mut BTreeSet<usize>) {
        for f in self.in_flight.values() {
            if !out.contains(&f.worker) && !f.tokens.is_disjoint(tokens) {
                out.insert(f.worker);
            }
        }
    }

    pub fn committed(&mut self, id: u64) {
        let Some(f) = self.in_flight.remove(&id) else { return };
        for run in f.runs {
            self.committed.insert(run.first, run);
        }
        while let Some(run) = self.committed.remove(&self.next) {
            self.next = run.last + 1;
            *self.low.lock() = Some(run.end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: u64) -> SourcePosition {
        SourcePosition { binlog: BinlogPosition::new("b.000001", offset), gtid: None }
    }

    fn group(id: u64, worker: usize, seqs: &[u64]) -> Group {
        let mut g = Group::new(id, worker);
        for &s in seqs {
            let start = (s > 0).then(|| at(s * 10).binlog);
            g.add(s, start, Vec::new(), HashSet::from([s]), at(s * 10 + 10));
        }
        g
    }

    #[test]
    fn a_group_records_one_range_per_run_of_consecutive_transactions() {
        let g = group(0, 0, &[0, 1, 2, 5, 6, 9]);
        let ends: Vec<(u64, u64)> = g.runs.iter().map(|r| (r.first, r.last)).collect();
        assert_eq!(ends, [(0, 2), (5, 6), (9, 9)]);
        let ranges: Vec<(Option<u64>, u64)> =
            g.ranges.iter().map(|(s, e)| (s.as_ref().map(|s| s.offset), e.offset)).collect();
        assert_eq!(ranges, [(None, 30), (Some(50), 70), (Some(90), 100)]);
    }

    #[test]
    fn the_low_watermark_follows_the_longest_committed_prefix_of_transactions() {
        let mut t = Tracker::new(None);
        let (a, b) = (group(0, 0, &[0, 1, 4]), group(1, 1, &[2, 3, 5]));
        t.dispatched(&a);
        t.dispatched(&b);
        t.committed(1);
        assert_eq!(t.low(), None, "transaction 0 is not committed yet");
        t.committed(0);
        assert_eq!(t.low().map(|p| p.binlog.offset), Some(60), "everything up to transaction 5");
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn conflicts_name_the_workers_holding_a_shared_token() {
        let mut t = Tracker::new(None);
        t.dispatched(&group(0, 0, &[0]));
        t.dispatched(&group(1, 1, &[1]));
        let mut out = BTreeSet::new();
        t.conflicting_workers(&HashSet::from([1, 7]), &mut out);
        assert_eq!(out, BTreeSet::from([1]));
        t.conflicting_workers(&HashSet::from([0]), &mut out);
        assert_eq!(out, BTreeSet::from([0, 1]));
        assert_eq!(t.in_flight_on(1), 1);
    }
}
