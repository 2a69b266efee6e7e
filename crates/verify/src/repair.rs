//! `verify --apply`: repairs the destination, also while the task's incremental sync runs.
//!
//! # Why a repair cannot fight the running applier
//!
//! Each repair transaction, for a batch of differing keys of a keyed table:
//! 1. locks the batch's destination rows (`SELECT … FOR UPDATE`: a row the applier is writing
//!    is waited for, never interleaved with);
//! 2. runs [`RepairOptions::hold_commits`] ([`Hold::sql`]): the task's lease row locked
//!    exclusively (no row: the lease is not the one the repair was decided under, and nothing
//!    more is repaired). Every commit
//!    of every runner checks its fence inside its transaction with a *shared* lock on that row
//!    just before COMMIT ([`dts_types::fence`]), so from here until the repair commits no applier
//!    transaction can commit: the destination holds exactly the source's changes up to some
//!    position C, and nothing after;
//! 3. checks that the table's definition on both servers is still the one compared (a DDL in
//!    between, on the source or applied by the task, would make the rows written with the old
//!    columns wrong: the table's repair stops there, refused naming it; the row lock holds the
//!    destination table's metadata lock, so it cannot change after the check);
//! 4. only then reads the rows from the source (a fresh read, at some position P). Everything the
//!    destination holds was read from the source's binlog before step 2, so C ≤ P: the repair
//!    never writes a row older than what the applier already wrote (no newer data of the
//!    applier is overwritten);
//! 5. deletes the keys the source no longer has, then writes each row whole (`REPLACE`), checks
//!    the source's definition again (the read was under it), and commits (deletes first: under a collation that folds case or trailing spaces a stale key
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
//! What may be repaired is decided by the caller ([`apply`]'s `policy`) once the comparison is
//! done, from the state the task is in then (`dts-task` holds the task's lease meanwhile when no
//! runner is live, so the state cannot change under the repair).
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

/// How each repair transaction holds the task's commits.
#[derive(Debug, Clone)]
pub struct Hold {
    /// Run in each repair transaction after its rows are locked and before the source is read:
    /// holds every commit of the task until the repair commits (the lease row locked
    /// exclusively). It must return a row.
    pub sql: String,
    /// Why nothing more is repaired when [`Hold::sql`] returns no row (the lease is no longer
    /// the one the repair was decided under).
    pub lost: String,
}

/// How `verify --apply` may repair, decided by the caller from the task's state once the
/// comparison is done (see [`apply`]).
#[derive(Debug, Clone, Default)]
pub struct RepairOptions {
    /// How each repair transaction holds the task's commits. `None`: no task to coordinate with.
    pub hold_commits: Option<Hold>,
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
    /// Set when the repair is asked to stop (`dts-sync stop`, through the lease it holds):
    /// the tables not repaired yet are refused, each saying so.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// A repair `verify --apply` did not make, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    /// The destination table, `db.table`.
    pub table: String,
    /// `schema`, `schema and rows`, `rows` (listed rows not repaired) or `unlisted rows` (the
    /// differences beyond the listed ones: never repaired).
    pub what: String,
    /// Why, and what to do instead.
    pub reason: String,
}

/// The rows of one table that `verify --apply` repaired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repaired {
    /// The destination table, `db.table`.
    pub table: String,
    /// Rows written whole.
    pub rows_written: u64,
    /// Rows deleted.
    pub rows_deleted: u64,
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
    /// Per table, the rows repaired (tables with none are not listed).
    pub repaired: Vec<Repaired>,
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
        for r in &self.repaired {
            out.push_str(&format!(
                "repaired: {}: {} row(s) written, {} deleted\n",
                r.table, r.rows_written, r.rows_deleted
            ));
        }
        for r in &self.refused {
            out.push_str(&format!("not applied: {} ({}): {}\n", r.table, r.what, r.reason));
        }
        out
    }

    fn refuse(&mut self, table: &str, what: &str, reason: &str) {
        self.refused.push(Refused { table: table.into(), what: what.into(), reason: reason.into() });
    }

    fn count(&mut self, table: &str, written: u64, deleted: u64) {
        if written + deleted == 0 {
            return;
        }
        self.rows_written += written;
        self.rows_deleted += deleted;
        self.repaired.push(Repaired { table: table.into(), rows_written: written, rows_deleted: deleted });
    }
}

fn retryable(e: &VerifyError) -> bool {
    matches!(e, VerifyError::Sql(m) if classify(m) == ErrorClass::TransientOther)
}

/// Why a table's repair stopped before its last row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// [`Hold::sql`] found no row: nothing more may be repaired.
    HoldLost,
    /// The table's definition on this server is not the one compared.
    Changed(Side),
}

/// What repairing one table did.
#[derive(Debug, Default)]
struct TableRepair {
    written: u64,
    deleted: u64,
    stop: Option<Stop>,
}

/// Compares like [`crate::run`], then asks `policy` what may be repaired — decided from the
/// state the task is in once the comparison, which may take hours, is done — and repairs the
/// destination (see the module doc for why that is safe while sync runs). The report is the
/// comparison's (after the ALTERs, when any ran), with [`Report::apply`] saying what was
/// repaired and what was refused.
pub fn apply(
    source: &Opts,
    destination: &Opts,
    selection: &dts_schema::Selection,
    o: &VerifyOptions,
    progress: Option<&dyn Progress>,
    policy: &mut dyn FnMut() -> Result<RepairOptions, VerifyError>,
) -> Result<Report, VerifyError> {
    let mut compared = compare_all(source, destination, selection, o, progress)?;
    let mut applied = Applied::default();
    if compared.report.identical() {
        compared.report.apply = Some(applied);
        return Ok(compared.report);
    }
    let r = policy()?;
    if let Some(why) = &r.refuse_all {
        for t in compared.report.tables.iter().filter(|t| !t.identical()) {
            applied.refuse(&t.target, "schema and rows", why);
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
                    applied.refuse(table, "schema", why);
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
    let mut hold_lost = false;
    for (res, (t, keys)) in compared.report.tables.iter().zip(&compared.tables) {
        for u in &res.schema_unrepaired {
            applied.refuse(&res.target, "schema", u);
        }
        if res.differences() == 0 {
            continue;
        }
        let listed = res.differences() - res.unlisted;
        let lost = r.hold_commits.as_ref().filter(|_| hold_lost).map(|h| h.lost.as_str());
        let stopped = r.stop.as_ref().is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst));
        if let Some(why) = lost {
            applied.refuse(&res.target, "rows", why);
        } else if stopped {
            applied.refuse(
                &res.target,
                "rows",
                "verify --apply was asked to stop (`dts-sync stop`) before this table: run verify --apply again",
            );
        } else if schema_refused.contains(&res.target) || !res.schema_unrepaired.is_empty() {
            applied.refuse(&res.target, "rows", "the table's schema differs and is not repaired (above)");
        } else if let Some((why, _)) = r.refuse_cascading.as_ref().filter(|(_, tables)| tables.contains(&res.target)) {
            applied.refuse(&res.target, "rows", why);
        } else if !t.has_key()
            && let Some(why) = &r.refuse_keyless
        {
            applied.refuse(&res.target, "rows", why);
        } else if listed > 0 {
            let done = if t.has_key() {
                repair_keys(&mut c, t, keys, &r, &mut applied)?
            } else {
                let stmts: Vec<&str> = res.extra.iter().chain(&res.missing).map(|d| d.repair.as_str()).collect();
                // Locks the table's metadata: no DDL changes it until the repair commits.
                let lock = format!("SELECT 1 FROM {} LIMIT 0 FOR UPDATE", t.name(Side::Destination));
                let stop = in_transaction(&mut c, t, &r, &mut applied, Some(&lock), |c| {
                    for s in &stmts {
                        c.dst.query_drop(s)?;
                    }
                    Ok(())
                })?;
                match stop {
                    Some(stop) => TableRepair { stop: Some(stop), ..Default::default() },
                    None => TableRepair { written: res.missing.len() as u64, deleted: res.extra.len() as u64, stop },
                }
            };
            applied.count(&res.target, done.written, done.deleted);
            match done.stop {
                None => {}
                Some(Stop::HoldLost) => {
                    hold_lost = true;
                    let why = r.hold_commits.as_ref().map_or("", |h| h.lost.as_str());
                    applied.refuse(&res.target, "rows", &of_listed(done.written + done.deleted, listed, why));
                }
                Some(Stop::Changed(side)) => {
                    let side = if side == Side::Source { "source" } else { "destination" };
                    let why = format!(
                        "its definition changed on the {side} since the comparison (a DDL): verify --apply again"
                    );
                    applied.refuse(&res.target, "rows", &of_listed(done.written + done.deleted, listed, &why));
                }
            }
        }
        if res.unlisted > 0 {
            applied.refuse(
                &res.target,
                "unlisted rows",
                &format!(
                    "{} difference(s) beyond the {listed} listed (verify lists at most {} per table) were not repaired: \
                     recopy the table (`dts-sync recopy {}`)",
                    res.unlisted, o.max_listed, res.source
                ),
            );
        }
    }
    compared.report.apply = Some(applied);
    Ok(compared.report)
}

/// A refusal's reason, with how many of the listed rows were repaired before it.
fn of_listed(repaired: u64, listed: u64, why: &str) -> String {
    format!("{repaired} of the {listed} listed row(s) repaired, the others not: {why}")
}

/// Whether `t`'s definition on `side` is not the one its comparison saw.
fn changed(conn: &mut Conn, t: &VerifyTable, side: Side) -> Result<bool, VerifyError> {
    let (id, seen) = match side {
        Side::Source => (&t.job.map.source, &t.seen.source),
        Side::Destination => (&t.job.map.target, &t.seen.destination),
    };
    Ok(crate::definition::read(conn, id)? != *seen)
}

/// Runs `f` in a destination transaction holding the task's commits, again after a deadlock
/// or lock wait timeout. `lock` (the rows `f` will write, `SELECT ... FOR UPDATE`) runs before
/// the hold: an applier transaction holding one of those rows reaches its commit (the hold is
/// not taken yet) instead of waiting at its fence check for a repair that waits for its row.
/// The lock also holds the table's metadata lock, so after it the destination's definition
/// cannot change until the COMMIT; it is compared with the one the comparison saw then, and
/// the source's before and after `f` reads it. `Some`: rolled back, and why.
fn in_transaction(
    c: &mut Conns,
    t: &VerifyTable,
    r: &RepairOptions,
    applied: &mut Applied,
    lock: Option<&str>,
    mut f: impl FnMut(&mut Conns) -> Result<(), VerifyError>,
) -> Result<Option<Stop>, VerifyError> {
    for attempt in 1..=ATTEMPTS {
        let result = (|| -> Result<Option<Stop>, VerifyError> {
            // Before the lock too: a lock naming a dropped column would fail rather than stop.
            if changed(&mut c.dst, t, Side::Destination)? {
                return Ok(Some(Stop::Changed(Side::Destination)));
            }
            c.dst.query_drop("BEGIN")?;
            if let Some(lock) = lock {
                let _: Vec<mysql::Row> = c.dst.query(lock)?;
            }
            if let Some(hold) = &r.hold_commits {
                let held: Vec<mysql::Row> = c.dst.query(&hold.sql)?;
                if held.is_empty() {
                    return Ok(Some(Stop::HoldLost));
                }
            }
            for side in [Side::Destination, Side::Source] {
                let conn = if side == Side::Source { &mut c.src } else { &mut c.dst };
                if changed(conn, t, side)? {
                    return Ok(Some(Stop::Changed(side)));
                }
            }
            f(c)?;
            if changed(&mut c.src, t, Side::Source)? {
                return Ok(Some(Stop::Changed(Side::Source)));
            }
            c.dst.query_drop("COMMIT")?;
            Ok(None)
        })();
        match result {
            Ok(None) => {
                applied.transactions += 1;
                return Ok(None);
            }
            Ok(stop) => {
                // Nothing of this transaction is kept; the connection ends it either way.
                let _ = c.dst.query_drop("ROLLBACK");
                return Ok(stop);
            }
            Err(e) => {
                // The error is what counts; the transaction ends with the connection either way.
                let _ = c.dst.query_drop("ROLLBACK");
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
/// says, until a batch stops (the hold lost, the table's definition changed).
fn repair_keys(
    c: &mut Conns,
    t: &VerifyTable,
    keys: &[Vec<Value>],
    r: &RepairOptions,
    applied: &mut Applied,
) -> Result<TableRepair, VerifyError> {
    let mut done = TableRepair::default();
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
        let (mut written, mut deleted) = (0, 0);
        done.stop = in_transaction(c, t, r, applied, Some(&lock), |c| {
            (written, deleted) = (0, 0);
            // After the hold: the source read is at or after everything the destination has.
            let rows = fetch_rows(&mut c.src, t, Side::Source, batch)?;
            // Deletes first: under a collation that folds case or trailing spaces a stale key
            // ('abc') and the source's ('ABC') are one key, and deleting the stale one after
            // writing the source's would delete the row just written.
            for k in batch.iter().filter(|k| !rows.contains_key(&key_literal(k))) {
                c.dst.query_drop(t.delete_key_sql(k)?)?;
                deleted += 1;
            }
            for (row, _) in batch.iter().filter_map(|k| rows.get(&key_literal(k))) {
                c.dst.query_drop(t.replace_sql(row)?)?;
                written += 1;
            }
            Ok(())
        })?;
        if done.stop.is_some() {
            break;
        }
        done.written += written;
        done.deleted += deleted;
    }
    Ok(done)
}
