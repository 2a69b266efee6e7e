//! Parallel apply: whole groups of source transactions go to worker connections; a group waits
//! for in-flight groups it shares a key with, so transactions on one key apply in source order.
//!
//! Keys are every unique index's value in the before and after images. Values that compare
//! exactly (integers, temporal, DECIMAL, binary) identify themselves; a string or float part
//! (compared by collation) stands for the whole index, so any two changes on that index
//! conflict: never a missed conflict, at worst less parallelism. Keyless tables conflict as a
//! whole.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Instant;

use dts_types::{BinlogPosition, RowChange, SourcePosition, Value};
use parking_lot::Mutex;

use crate::checkpoint::DoneRange;
use crate::target::TablePlan;

/// Source transactions applied together in one destination transaction by a worker.
#[derive(Debug)]
pub(crate) struct Group {
    /// Groups are numbered in source order; the low watermark follows the numbers.
    pub id: u64,
    pub changes: Vec<(Arc<TablePlan>, RowChange)>,
    /// The conflict tokens of every change.
    pub tokens: HashSet<u64>,
    /// The source range it applies, recorded in `apply_done` with it.
    pub range: DoneRange,
    /// Where its last transaction ends.
    pub end: SourcePosition,
    pub transactions: usize,
    /// When its first transaction arrived (a group waits at most `group_delay`).
    pub started: Instant,
}

impl Group {
    /// An empty group whose range starts after `start`.
    pub fn new(id: u64, start: Option<BinlogPosition>, end: SourcePosition) -> Self {
        Group {
            id,
            changes: Vec::new(),
            tokens: HashSet::new(),
            range: (start, end.binlog.clone()),
            end,
            transactions: 0,
            started: Instant::now(),
        }
    }

    /// Adds a whole source transaction ending at `end`.
    pub fn add(&mut self, mut changes: Vec<(Arc<TablePlan>, RowChange)>, tokens: HashSet<u64>, end: SourcePosition) {
        self.changes.append(&mut changes);
        self.tokens.extend(tokens);
        self.range.1 = end.binlog.clone();
        self.end = end;
        self.transactions += 1;
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
    if plan.uniques.is_empty() {
        out.insert(hash_of(&[&table]));
        return;
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

/// Tracks groups in flight and the low watermark: the end of the longest prefix of committed
/// groups. The watermark is shared with the workers, which record it in each commit.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    in_flight: HashMap<u64, HashSet<u64>>,
    ends: HashMap<u64, SourcePosition>,
    committed: BTreeSet<u64>,
    next: u64,
    low: Arc<Mutex<Option<SourcePosition>>>,
}

impl Tracker {
    pub fn new(first_id: u64, low: Option<SourcePosition>) -> Tracker {
        Tracker { next: first_id, low: Arc::new(Mutex::new(low)), ..Default::default() }
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

    pub fn dispatched(&mut self, g: &Group) {
        self.in_flight.insert(g.id, g.tokens.clone());
        self.ends.insert(g.id, g.end.clone());
    }

    /// Whether a group in flight shares a token with `tokens`.
    pub fn conflicts(&self, tokens: &HashSet<u64>) -> bool {
        self.in_flight.values().any(|t| !t.is_disjoint(tokens))
    }

    pub fn committed(&mut self, id: u64) {
        self.in_flight.remove(&id);
        self.committed.insert(id);
        while self.committed.remove(&self.next) {
            if let Some(end) = self.ends.remove(&self.next) {
                *self.low.lock() = Some(end);
            }
            self.next += 1;
        }
    }
}
