//! `verify --apply`: repairs the destination, also while the task's incremental sync runs.
//!
//! # Why a repair cannot fight the running applier
//!
//! Each repair transaction, for a batch of differing keys of a keyed table:
//! 1. locks the batch's destination rows (`SELECT … FOR UPDATE`: a row the applier is writing
//!    is waited for, never interleaved with);
//! 2. runs [`RepairOptions::hold_commits`]: the task's lease row locked exclusively. Every commit
//!    of every runner checks its fence inside its transaction with a *shared* lock on that row
//!    just before COMMIT ([`dts_types::fence`]), so from here until the repair commits no applier
//!    transaction can commit: the destination holds exactly the source's changes up to some
//!    position C, and nothing after;
//! 3. only then reads the rows from the source (a fresh read, at some position P). Everything the
//!    destination holds was read from the source's binlog before step 2, so C ≤ P: the repair
//!    never writes a row older than what the applier already wrote (no newer data of the
//!    applier is overwritten);
//! 4. deletes the keys the source no longer has, then writes each row whole (`REPLACE`), and
//!    commits (deletes first: under a collation that folds case or trailing spaces a stale key
//!    and the source's may be one key).
//!
//! Every source change after C is applied after the repair commits, in source order, and the
//! applier writes each keyed row change as a whole image by key (`REPLACE` / `DELETE`, whatever
//! the destination holds: `crates/applier/src/sql.rs`). So the last change of a key at or before
//! P leaves it as P's image — the repaired one — and later changes apply as usual: a repaired
//! row is never left with an older event's image. This is the argument the catch-up after the
//! full copy rests on (rows read after the low watermark, changes replayed over them). A cascade
//! parent's change, which the applier writes as `UPDATE`/`DELETE` by key, either finds the key
//! and sets its image or finds nothing, and the later changes of that key replayed after it
//! leave P's image just the same. The repair runs with `foreign_key_checks = 0`, as the repair
//! script does: its `REPLACE` must not cascade into rows the applier owns.
//!
//! What this cannot cover is refused, with the reason ([`Refused`]): rows of a table without a
//! key while incremental sync may replay over them (the applier matches such rows by value, so
//! an event replayed after a repair would count twice), rows of a foreign-key cascade group's
//! tables while incremental sync may replay over them (their inserts are plain `INSERT`s, so the
//! destination's cascades repeat the source's, and one replayed over a repaired row would
//! fail), `ALTER`s while a runner is live (the
//! applier writes with the destination's current columns), a missing table, differences beyond
//! the listed ones.

use std::time::Duration;

use dts_types::Value;
use dts_types::retry::{ErrorClass, classify};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts};
use serde::Serialize;

use crate::compare::{Conns, fetch_rows, key_literal};
use crate::table::{Side, VerifyTable};
use crate::{Progress, Report, VerifyError, VerifyOptions, compare_all, connect};

/// Keys per repair transaction.
const BATCH: usize = 200;
/// Attempts of one repair transaction that a deadlock or lock wait timeout rolled back.
const ATTEMPTS: u32 = 10;

/// How `verify --apply` may repair, decided by the caller from the task's state.
#[derive(Debug, Clone, Default)]
pub struct RepairOptions {
    /// Run in each repair transaction after its rows are locked and before the source is read:
    /// holds every commit of the task until the repair commits (the lease row locked
    /// exclusively). `None`: no task to coordinate with.
    pub hold_commits: Option<String>,
    /// Nothing is repaired, for this reason (a full copy in progress).
    pub refuse_all: Option<String>,
    /// ALTERs are not run, for this reason (a runner is live).
    pub refuse_alters: Option<String>,
    /// Rows of tables without a key are not repaired, for this reason (incremental sync may
    /// replay over them).
    pub refuse_keyless: Option<String>,
    /// Rows of these destination tables (`db.table`: the tables of foreign-key cascade groups)
    /// are not repaired, for this reason (incremental sync inserts their rows with a plain
    /// INSERT, which a repaired row would make fail).
    pub refuse_cascading: Option<(String, std::collections::BTreeSet<String>)>,
}

/// A repair `verify --apply` did not make, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    /// The destination table, `db.table`.
    pub table: String,
    /// `schema` or `rows`.
    pub what: String,
    /// Why, and what to do instead.
    pub reason: String,
}

/// What `verify --apply` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// The ALTER statements run.
    pub alters: Vec<String>,
    /// Rows written whole (`REPLACE`, or `INSERT` of a keyless row).
    pub rows_written: u64,
    /// Rows deleted.
    pub rows_deleted: u64,
    /// Repair transactions committed.
    pub transactions: u64,
    /// Repair transactions rolled back by a deadlock or lock wait and run again.
    pub retries: u64,
    /// What was not repaired, and why (empty: everything found was repaired).
    pub refused: Vec<Refused>,
}

impl Applied {
    /// The lines the summary shows.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "applied: {} ALTER(s), {} row(s) written, {} row(s) deleted in {} transaction(s); verify again once the task has caught up\n",
            self.alters.len(),
            self.rows_written,
            self.rows_deleted,
            self.transactions
        );
        for r in &self.refused {
            out.push_str(&format!("not applied: {} ({}): {}\n", r.table, r.what, r.reason));
        }
        out
    }
}

fn retryable(e: &VerifyError) -> bool {
    matches!(e, VerifyError::Sql(m) if classify(m) == ErrorClass::TransientOther)
}

/// Compares like [`crate::run`], then repairs the destination (see the module doc for why
/// that is safe while sync runs). The report is the comparison's (after the ALTERs, when any
/// ran), with [`Report::apply`] saying what was repaired and what was refused.
pub fn apply(
    source: &Opts,
    destination: &Opts,
    selection: &dts_schema::Selection,
    o: &VerifyOptions,
    progress: Option<&dyn Progress>,
    r: &RepairOptions,
) -> Result<Report, VerifyError> {
    let mut compared = compare_all(source, destination, selection, o, progress)?;
    let mut applied = Applied::default();
    let refuse = |applied: &mut Applied, table: &str, what: &str, reason: &str| {
        applied.refused.push(Refused { table: table.into(), what: what.into(), reason: reason.into() })
    };
    if let Some(why) = &r.refuse_all {
        for t in compared.report.tables.iter().filter(|t| !t.identical()) {
            refuse(&mut applied, &t.target, "schema and rows", why);
        }
        compared.report.apply = Some(applied);
        return Ok(compared.report);
    }
    let alters: Vec<(String, String)> = compared
        .report
        .tables
        .iter()
        .flat_map(|t| t.schema_repair.iter().map(|a| (t.target.clone(), a.clone())))
        .collect();
    let mut schema_refused: Vec<String> = Vec::new();
    if !alters.is_empty() {
        match &r.refuse_alters {
            Some(why) => {
                for (table, _) in &alters {
                    refuse(&mut applied, table, "schema", why);
                    schema_refused.push(table.clone());
                }
            }
            None => {
                let mut dst = connect(destination)?;
                for (_, a) in &alters {
                    dst.query_drop(a)?;
                    applied.alters.push(a.clone());
                }
                // The rows are compared again with the schema the same.
                compared = compare_all(source, destination, selection, o, progress)?;
            }
        }
    }
    let mut c = Conns { src: connect(source)?, dst: connect(destination)? };
    c.dst.query_drop("SET SESSION foreign_key_checks = 0, SESSION innodb_lock_wait_timeout = 10")?;
    for (res, (t, keys)) in compared.report.tables.iter().zip(&compared.tables) {
        for u in &res.schema_unrepaired {
            refuse(&mut applied, &res.target, "schema", u);
        }
        if res.differences() == 0 {
            continue;
        }
        if schema_refused.contains(&res.target) || !res.schema_unrepaired.is_empty() {
            refuse(&mut applied, &res.target, "rows", "the table's schema differs and is not repaired (above)");
            continue;
        }
        if res.unlisted > 0 {
            refuse(
                &mut applied,
                &res.target,
                "rows",
                &format!("{} differences beyond the listed ones: recopy the table", res.unlisted),
            );
        }
        if let Some((why, _)) = r.refuse_cascading.as_ref().filter(|(_, tables)| tables.contains(&res.target)) {
            refuse(&mut applied, &res.target, "rows", why);
        } else if t.has_key() {
            repair_keys(&mut c, t, keys, r, &mut applied)?;
        } else if let Some(why) = &r.refuse_keyless {
            refuse(&mut applied, &res.target, "rows", why);
        } else {
            let stmts: Vec<&str> = res.extra.iter().chain(&res.missing).map(|d| d.repair.as_str()).collect();
            in_transaction(&mut c.dst, r, &mut applied, None, |dst| {
                for s in &stmts {
                    dst.query_drop(s)?;
                }
                Ok(())
            })?;
            applied.rows_written += res.missing.len() as u64;
            applied.rows_deleted += res.extra.len() as u64;
        }
    }
    compared.report.apply = Some(applied);
    Ok(compared.report)
}

/// Runs `f` in a destination transaction holding the task's commits, again after a deadlock
/// or lock wait timeout. `lock` (the rows `f` will write, `SELECT ... FOR UPDATE`) runs before
/// the hold: an applier transaction holding one of those rows reaches its commit (the hold is
/// not taken yet) instead of waiting at its fence check for a repair that waits for its row.
fn in_transaction(
    dst: &mut Conn,
    r: &RepairOptions,
    applied: &mut Applied,
    lock: Option<&str>,
    mut f: impl FnMut(&mut Conn) -> Result<(), VerifyError>,
) -> Result<(), VerifyError> {
    for attempt in 1..=ATTEMPTS {
        let result = (|| {
            dst.query_drop("BEGIN")?;
            if let Some(lock) = lock {
                let _: Vec<mysql::Row> = dst.query(lock)?;
            }
            if let Some(hold) = &r.hold_commits {
                let _: Vec<mysql::Row> = dst.query(hold)?;
            }
            f(dst)?;
            dst.query_drop("COMMIT")?;
            Ok(())
        })();
        match result {
            Ok(()) => {
                applied.transactions += 1;
                return Ok(());
            }
            Err(e) => {
                // The error is what counts; the transaction ends with the connection either way.
                let _ = dst.query_drop("ROLLBACK");
                if !retryable(&e) || attempt == ATTEMPTS {
                    return Err(e);
                }
                applied.retries += 1;
                std::thread::sleep(Duration::from_millis(50 * u64::from(attempt)));
            }
        }
    }
    unreachable!("the last attempt returns")
}

/// Repairs the rows of these keys, batch by batch, each in one transaction as the module doc
/// says.
fn repair_keys(
    c: &mut Conns,
    t: &VerifyTable,
    keys: &[Vec<Value>],
    r: &RepairOptions,
    applied: &mut Applied,
) -> Result<(), VerifyError> {
    for batch in keys.chunks(BATCH) {
        let lock = format!(
            "SELECT 1 FROM {} WHERE {} FOR UPDATE",
            t.name(Side::Destination),
            batch
                .iter()
                .map(|k| Ok(format!("({})", t.key_match(Side::Destination, k)?)))
                .collect::<Result<Vec<_>, VerifyError>>()?
                .join(" OR ")
        );
        let Conns { src, dst } = c;
        let (mut written, mut deleted) = (0, 0);
        in_transaction(dst, r, applied, Some(&lock), |dst| {
            (written, deleted) = (0, 0);
            // After the hold: the source read is at or after everything the destination has.
            let rows = fetch_rows(src, t, Side::Source, batch)?;
            // Deletes first: under a collation that folds case or trailing spaces a stale key
            // ('abc') and the source's ('ABC') are one key, and deleting the stale one after
            // writing the source's would delete the row just written.
            for k in batch.iter().filter(|k| !rows.contains_key(&key_literal(k))) {
                dst.query_drop(t.delete_key_sql(k)?)?;
                deleted += 1;
            }
            for (row, _) in batch.iter().filter_map(|k| rows.get(&key_literal(k))) {
                dst.query_drop(t.replace_sql(row)?)?;
                written += 1;
            }
            Ok(())
        })?;
        applied.rows_written += written;
        applied.rows_deleted += deleted;
    }
    Ok(())
}
