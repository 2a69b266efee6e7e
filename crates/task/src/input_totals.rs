//! Incremental input's counters over the task's life, added to `<meta>.metric_totals`
//! ([`dts_types::totals`]) by the counters' persister every few seconds and when incremental
//! sync ends: the totals `/metrics` serves as counters that do not run backwards across restarts.
//!
//! These count what the binlog input handed over (or skipped), not what committed, so they are
//! not written with the checkpoint: after a crash, up to one interval of counts is lost and the
//! transactions replayed from the checkpoint are counted again. Clean stops persist everything.
//! The counters of committed work (rows applied, rows copied) are exact: see
//! [`dts_types::totals`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use dts_types::Ident;
use mysql::prelude::Queryable;

use crate::continuous::Counters as VerifyCounters;
use crate::input::InputStats;

/// How much of each counter of this process is in the totals already.
#[derive(Debug, Default)]
pub struct Marks(std::sync::Mutex<BTreeMap<&'static str, u64>>);

/// The counters persisted here, by their name in the totals.
fn counters<'a>(i: &'a InputStats, v: &'a VerifyCounters) -> [(&'static str, &'a AtomicU64); 14] {
    [
        ("transactions", &i.transactions),
        ("row_changes", &i.rows),
        ("rows_filtered_out", &i.rows_filtered_out),
        ("ddl", &i.ddl),
        ("ddl_skipped", &i.ddl_skipped),
        ("ddl_warnings", &i.ddl_warnings),
        ("rows_events_skipped", &i.rows_events_skipped),
        ("history_rows_skipped", &i.history_rows_skipped),
        ("statement_writes_skipped", &i.statement_writes_skipped),
        ("xa_transactions_skipped", &i.xa_transactions_skipped),
        ("rows_in_snapshot", &i.rows_in_snapshot),
        ("verify_rows_checked", &v.checked),
        ("verify_rows_mismatched", &v.mismatched),
        ("verify_rows_skipped", &v.skipped),
    ]
}

/// What the counters gained since the last write that committed.
pub(crate) struct Pending {
    now: Vec<(&'static str, u64)>,
    deltas: Vec<(&'static str, u64)>,
}

impl Pending {
    /// The counters now, against what is persisted already.
    pub fn of(input: &InputStats, verify: &VerifyCounters) -> Self {
        let marks = input.persisted.0.lock().unwrap_or_else(|e| e.into_inner());
        let now: Vec<(&'static str, u64)> =
            counters(input, verify).map(|(n, a)| (n, a.load(Ordering::Relaxed))).to_vec();
        let deltas = now.iter().map(|&(n, v)| (n, v.saturating_sub(marks.get(n).copied().unwrap_or(0)))).collect();
        Pending { now, deltas }
    }

    /// The statement adding the gains to the totals (`None`: nothing gained).
    pub fn sql(&self, db: &Ident, task: &str) -> Option<String> {
        dts_types::totals::add_sql(db, task, 0, &self.deltas)
    }

    /// Records that [`Pending::sql`] committed.
    pub fn committed(self, input: &InputStats) {
        input.persisted.0.lock().unwrap_or_else(|e| e.into_inner()).extend(self.now);
    }
}

/// Every counter's total over the task's life, by name (empty before the first write).
pub fn read(c: &mut mysql::Conn, db: &Ident, task: &str) -> Result<BTreeMap<String, u64>, mysql::Error> {
    let exists: Option<u8> = c.exec_first(
        "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'metric_totals'",
        (db.as_str(),),
    )?;
    if exists.is_none() {
        return Ok(BTreeMap::new());
    }
    Ok(c.query::<(String, u64), _>(dts_types::totals::read_sql(db, task))?.into_iter().collect())
}

/// What each counter of this process gained that is not in the totals yet: `/metrics` adds it
/// to the totals it last read, so the counters it serves move as the task works.
pub fn unpersisted(input: &InputStats, verify: &VerifyCounters) -> Vec<(&'static str, u64)> {
    Pending::of(input, verify).deltas
}
