//! Incremental input's counters over the task's life, in `<meta>.metric_totals`
//! ([`dts_types::totals`]): the totals `/metrics` serves as counters that do not run backwards
//! across restarts.
//!
//! These count what the binlog input handed over (or skipped), not what committed, so they are
//! not written with the checkpoint. Each runner keeps them in a part of its own (by its lease
//! epoch: [`part`]) and the counters' persister writes that part's *absolute* values, this
//! process's counts since the part began, every second and when incremental sync ends
//! ([`Snapshot::sql`], which only raises a value): a write repeated after a lost COMMIT reply
//! changes nothing, so the totals never count a gain twice. When a runner begins incremental
//! sync it folds the parts of earlier runners into part 0 ([`fold_sql`]), totals unchanged.
//! After a crash up to one interval of counts is lost and the transactions replayed from the
//! checkpoint are counted again. `/metrics` serves the totals as written, never more, so no
//! counter it served runs backwards even across a kill -9. The counters of committed work
//! (rows applied, rows copied) are exact: see [`dts_types::totals`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use dts_types::Ident;
use mysql::prelude::Queryable;

use crate::continuous::Counters as VerifyCounters;
use crate::input::InputStats;

/// Where this process's part began: its part and each counter's value then.
#[derive(Debug, Default)]
pub struct Marks(std::sync::Mutex<Option<(u32, BTreeMap<&'static str, u64>)>>);

/// The names of the counters persisted here, in the totals.
const NAMES: [&str; 15] = [
    "transactions",
    "row_changes",
    "rows_filtered_out",
    "ddl",
    "ddl_skipped",
    "ddl_warnings",
    "rows_events_skipped",
    "history_rows_skipped",
    "statement_writes_skipped",
    "xa_transactions_skipped",
    "rows_in_snapshot",
    "verify_rows_checked",
    "verify_rows_mismatched",
    "verify_rows_skipped",
    "echo_transactions_dropped",
];

/// The counters persisted here, by their name in the totals ([`NAMES`], in order).
fn counters<'a>(i: &'a InputStats, v: &'a VerifyCounters) -> [(&'static str, &'a AtomicU64); 15] {
    let a = [
        &i.transactions,
        &i.rows,
        &i.rows_filtered_out,
        &i.ddl,
        &i.ddl_skipped,
        &i.ddl_warnings,
        &i.rows_events_skipped,
        &i.history_rows_skipped,
        &i.statement_writes_skipped,
        &i.xa_transactions_skipped,
        &i.rows_in_snapshot,
        &v.checked,
        &v.mismatched,
        &v.skipped,
        &i.echo_transactions_dropped,
    ];
    std::array::from_fn(|k| (NAMES[k], a[k]))
}

/// The part of the totals a runner holding lease `epoch` keeps the input's counters in (never
/// 0, which holds what earlier runners counted).
pub(crate) fn part(epoch: u64) -> u32 {
    u32::try_from(epoch).unwrap_or(u32::MAX).max(1)
}

/// The statements (one transaction) folding every other runner's part into part 0.
pub(crate) fn fold_sql(db: &Ident, task: &str, keep: u32) -> [String; 2] {
    dts_types::totals::fold_sql(db, task, &NAMES, keep)
}

/// This process's counts in its part, now.
pub(crate) struct Snapshot {
    part: u32,
    values: Vec<(&'static str, u64)>,
}

impl Snapshot {
    /// The counters now, less their values when `part` began in this process (the first
    /// snapshot of a part marks its beginning: the counters outlive retries of incremental
    /// sync, and a part is the same across them).
    pub fn of(input: &InputStats, verify: &VerifyCounters, part: u32) -> Self {
        let mut marks = input.persisted.0.lock().unwrap_or_else(|e| e.into_inner());
        let now: Vec<(&'static str, u64)> =
            counters(input, verify).map(|(n, a)| (n, a.load(Ordering::Relaxed))).to_vec();
        if marks.as_ref().is_none_or(|(p, _)| *p != part) {
            *marks = Some((part, now.iter().copied().collect()));
        }
        let (_, at) = marks.as_ref().expect("set above");
        let values = now.iter().map(|&(n, v)| (n, v.saturating_sub(at.get(n).copied().unwrap_or(0)))).collect();
        Snapshot { part, values }
    }

    /// The statement writing the part's values (`None`: all 0). Idempotent: a value only rises.
    pub fn sql(&self, db: &Ident, task: &str) -> Option<String> {
        dts_types::totals::set_sql(db, task, self.part, &self.values)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(c: &mut mysql::Conn, db: &Ident, task: &str) -> BTreeMap<String, u64> {
        read(c, db, task).unwrap()
    }

    /// A write whose COMMIT reply was lost is written again: the totals must not count it twice.
    /// (The persister used to add each gain since its last acknowledged write.)
    #[test]
    fn a_write_repeated_after_a_lost_reply_counts_once_and_a_fold_keeps_the_totals() {
        let dest = &dts_testkit::shared_pair().destination;
        let db = dest.fresh_database("totals").unwrap();
        let mut c = dest.conn().unwrap();
        c.query_drop(dts_types::totals::create_sql(&db)).unwrap();
        let (input, verify) = (InputStats::default(), VerifyCounters::default());
        // An earlier runner's part, and part 0 from before it.
        c.query_drop(dts_types::totals::add_sql(&db, "t", 0, &[("transactions", 5)]).unwrap()).unwrap();
        c.query_drop(dts_types::totals::set_sql(&db, "t", 3, &[("transactions", 7), ("ddl", 1)]).unwrap()).unwrap();
        for s in fold_sql(&db, "t", part(4)) {
            c.query_drop(s).unwrap();
        }
        assert_eq!(totals(&mut c, &db, "t"), BTreeMap::from([("ddl".into(), 1), ("transactions".into(), 12)]));
        let parts: Vec<u32> = c.query(format!("SELECT DISTINCT part FROM {}", dts_types::totals::table(&db))).unwrap();
        assert_eq!(parts, vec![0], "the earlier part is folded into part 0");

        input.transactions.store(100, Ordering::Relaxed);
        let first = Snapshot::of(&input, &verify, part(4));
        input.transactions.fetch_add(10, Ordering::Relaxed);
        input.rows.fetch_add(30, Ordering::Relaxed);
        let snap = Snapshot::of(&input, &verify, part(4));
        assert!(first.sql(&db, "t").is_none(), "nothing counted yet when the part began");
        let sql = snap.sql(&db, "t").unwrap();
        c.query_drop(&sql).unwrap();
        // The reply was lost: the same write again, and a later one.
        c.query_drop(&sql).unwrap();
        c.query_drop(Snapshot::of(&input, &verify, part(4)).sql(&db, "t").unwrap()).unwrap();
        let want = BTreeMap::from([("ddl".into(), 1), ("row_changes".into(), 30), ("transactions".into(), 22)]);
        assert_eq!(totals(&mut c, &db, "t"), want);
        // Folded by the next runner: the same totals.
        for s in fold_sql(&db, "t", part(5)) {
            c.query_drop(s).unwrap();
        }
        assert_eq!(totals(&mut c, &db, "t"), want);
        c.query_drop(format!("DROP DATABASE {}", db.quoted())).unwrap();
    }
}
