//! One destination transaction: the only place that begins, commits or rolls back on the
//! destination and writes the checkpoint tables, so exactly-once lives here.
//!
//! A [`DestTxn`] begins lazily (at its first row or checkpoint write), sends its statements as
//! they fill a batch of `batch_bytes`, and commits the data together with the checkpoint row
//! saying which source position it reaches (and, with parallel workers, the source range it
//! applies). Either all of that commits or none of it does. Dropped while open, it rolls back,
//! so an error never leaves a half-applied transaction open on a connection that is used
//! again.

use std::sync::Arc;

use dts_types::{BinlogPosition, RowChange, SourcePosition, totals};
use mysql::Conn;
use mysql::prelude::Queryable;

use crate::checkpoint::{Checkpoint, DoneRange, Writer};
use crate::sql::{Builder, Kind, Stmt};
use crate::target::TablePlan;
use crate::{ApplyError, ApplyStats};

/// A destination transaction on one connection, with the checkpoint it commits.
///
/// Made [`pipelined`](DestTxn::pipelined), it sends each full batch and its commit from a
/// thread of its own and returns at once, so the caller builds the next batch (and the next
/// group) while the server runs this one: the connection is lent to that thread, one job at a
/// time, and every other use of the connection waits for the job first. A job's outcome (its
/// error, or the conflicts it counted) is taken at the next use, so an error is never lost:
/// the next `push`, `flush`, `commit_at` or [`finish`](DestTxn::finish) returns it, and the
/// caller restarts from the checkpoint the server holds (the failed job committed nothing).
pub(crate) struct DestTxn<'a, 's> {
    /// The connection, when no job has it.
    conn: Option<&'a mut Conn>,
    /// The job running on its own thread, which has the connection.
    flight: Option<Flight<'a, 's>>,
    /// Where jobs run when pipelined.
    scope: Option<&'s std::thread::Scope<'s, 'a>>,
    ck: &'a Checkpoint,
    builder: Builder,
    batch_bytes: usize,
    /// Begun: it holds rows or checkpoint writes.
    open: bool,
    /// Its BEGIN went to the server (sent lazily, with the first job).
    begun: bool,
    /// Row changes pushed and source transactions counted since the transaction began: added
    /// to the task's totals ([`dts_types::totals`]) by the commit that applies them.
    rows: u64,
    transactions: u64,
    /// What finished jobs counted, not yet added to the caller's stats.
    counted: ApplyStats,
}

/// A job on its thread, handing the connection back with its outcome.
type Flight<'a, 's> = std::thread::ScopedJoinHandle<'s, (&'a mut Conn, Result<ApplyStats, ApplyError>)>;

/// What one trip of work sends, in order: BEGIN (if not sent yet), the statements, then for a
/// commit the checkpoint writes, the fence check and COMMIT.
struct Job {
    begin: bool,
    stmts: Vec<Stmt>,
    /// The most statement bytes sent in one round trip.
    packet: usize,
    commit: Option<Commit>,
}

/// A job's commit: the checkpoint writes, and whether it counts in [`ApplyStats::commits`]
/// (it checkpoints source transactions).
struct Commit {
    writes: Vec<String>,
    counts: bool,
}

impl Job {
    /// Runs the job; one that fails rolls its transaction back before it returns, so a later
    /// BEGIN on the connection never commits half of it (nor a commit the fence refused).
    fn run(self, conn: &mut Conn, ck: &Checkpoint) -> Result<ApplyStats, ApplyError> {
        let mut stats = ApplyStats::default();
        let result = self.send(conn, ck, &mut stats);
        if result.is_err() {
            // The job's own error is what matters; on a broken connection this fails at
            // once and the server rolls back by itself.
            let _ = conn.query_drop("ROLLBACK");
        }
        result.map(|()| stats)
    }

    fn send(self, conn: &mut Conn, ck: &Checkpoint, stats: &mut ApplyStats) -> Result<(), ApplyError> {
        if self.begin {
            begin(conn, ck)?;
        }
        execute(conn, stats, self.stmts, self.packet)?;
        if let Some(commit) = self.commit {
            together(conn, &commit.writes)?;
            check_fence(conn, ck)?;
            let started = std::time::Instant::now();
            conn.query_drop("COMMIT")?;
            crate::latency::DESTINATION_COMMIT.observe(started.elapsed());
            stats.commits += u64::from(commit.counts);
        }
        Ok(())
    }
}

/// BEGIN, and in a two-way direction the origin mark as the transaction's first write
/// (`dts_types::origin`).
fn begin(conn: &mut Conn, ck: &Checkpoint) -> Result<(), ApplyError> {
    conn.query_drop("BEGIN")?;
    if let Some(t) = &ck.two_way {
        conn.query_drop(t.mark.mark_sql())?;
    }
    Ok(())
}

/// Checks the runner still holds the task ([`dts_types::fence`]): the lease row stays
/// share-locked until the transaction ends, so no takeover comes between the check and the
/// COMMIT.
fn check_fence(conn: &mut Conn, ck: &Checkpoint) -> Result<(), ApplyError> {
    if let Some(f) = &ck.fence {
        let found: Option<u64> = conn.query_first(f.check_sql())?;
        f.verify(found)?;
    }
    Ok(())
}

impl<'a, 's> DestTxn<'a, 's> {
    pub fn new(conn: &'a mut Conn, ck: &'a Checkpoint, batch_bytes: usize) -> Self {
        DestTxn {
            conn: Some(conn),
            flight: None,
            scope: None,
            ck,
            builder: Builder::new(batch_bytes),
            batch_bytes,
            open: false,
            begun: false,
            rows: 0,
            transactions: 0,
            counted: ApplyStats::default(),
        }
    }

    /// Sends batches and commits from threads of `scope`, one at a time (see [`DestTxn`]).
    pub fn pipelined(mut self, scope: &'s std::thread::Scope<'s, 'a>) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Waits for the job in flight and takes its outcome.
    fn settle(&mut self) -> Result<(), ApplyError> {
        let Some(flight) = self.flight.take() else { return Ok(()) };
        let (conn, result) = match flight.join() {
            Ok(done) => done,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        self.conn = Some(conn);
        self.took(result)
    }

    /// A job's outcome: what it counted, or its error (it rolled back what was begun).
    fn took(&mut self, result: Result<ApplyStats, ApplyError>) -> Result<(), ApplyError> {
        match result {
            Ok(counted) => {
                self.counted.add_counts(&counted);
                self.counted.commits += counted.commits;
                Ok(())
            }
            Err(e) => {
                self.begun = false;
                Err(e)
            }
        }
    }

    /// The connection, once no job has it; with the transaction's BEGIN sent if it has begun.
    fn ready(&mut self) -> Result<&mut Conn, ApplyError> {
        self.settle()?;
        let conn = self.conn.as_deref_mut().expect("the connection is back once settled");
        if self.open && !self.begun {
            begin(conn, self.ck)?;
            self.begun = true;
        }
        Ok(conn)
    }

    /// Sends a job: on a thread when pipelined (returning at once), else here.
    fn send(&mut self, stmts: Vec<Stmt>, commit: Option<Commit>) -> Result<(), ApplyError> {
        self.settle()?;
        let job = Job { begin: self.open && !self.begun, stmts, packet: self.batch_bytes, commit };
        self.begun = true;
        let conn = self.conn.take().expect("the connection is back once settled");
        let ck = self.ck;
        match self.scope {
            Some(scope) => {
                self.flight = Some(scope.spawn(move || {
                    let result = job.run(conn, ck);
                    (conn, result)
                }));
                Ok(())
            }
            None => {
                let result = job.run(conn, ck);
                self.conn = Some(conn);
                self.took(result)
            }
        }
    }

    /// Adds what finished jobs counted to `stats`.
    fn report(&mut self, stats: &mut ApplyStats) {
        let counted = std::mem::take(&mut self.counted);
        stats.add_counts(&counted);
        stats.commits += counted.commits;
    }

    /// The connection, for reads that belong inside the transaction (a table's shape).
    pub fn conn(&mut self) -> Result<&mut Conn, ApplyError> {
        self.ready()
    }

    /// Whether the transaction has begun (it holds rows or checkpoint writes).
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Adds a row change, sending the batch once it reaches `batch_bytes`. Returns how many
    /// bytes of statements it sent (0 when the change only joined the batch).
    pub fn push(
        &mut self,
        plan: &Arc<TablePlan>,
        change: &RowChange,
        stats: &mut ApplyStats,
    ) -> Result<usize, ApplyError> {
        self.open = true;
        if let Some(rules) = self.ck.two_way.clone() {
            // Row by row, each with its conflict check (no netting, no batching).
            let conn = self.ready()?;
            let mut counted = ApplyStats::default();
            crate::conflict::apply(conn, &rules, plan, change, &mut counted)?;
            self.counted.add_counts(&counted);
            self.rows += 1;
            self.report(stats);
            return Ok(0);
        }
        self.builder.push(plan, change)?;
        self.rows += 1;
        if self.builder.due() { self.flush(stats) } else { Ok(0) }
    }

    /// Sends every statement built so far (inside the transaction). Returns the bytes sent.
    pub fn flush(&mut self, stats: &mut ApplyStats) -> Result<usize, ApplyError> {
        let bytes = self.builder.bytes();
        if bytes > 0 {
            self.open = true;
            self.builder.close()?;
            let stmts = std::mem::take(&mut self.builder.out);
            self.send(stmts, None)?;
        }
        self.report(stats);
        Ok(bytes)
    }

    /// Runs a statement of the applier's own metadata (the DDL log) inside the transaction, so
    /// it commits exactly with the checkpoint.
    pub fn meta(&mut self, sql: &str) -> Result<(), ApplyError> {
        self.open = true;
        self.ready()?.query_drop(sql)?;
        Ok(())
    }

    /// Counts `n` source transactions as applied by this transaction (added to the task's
    /// totals when it commits).
    pub fn count_transactions(&mut self, n: u64) {
        self.transactions += n;
    }

    /// Forgets the done ranges at or below `low` (a low watermark this transaction records):
    /// they are covered by it.
    pub fn prune_done(&mut self, low: &BinlogPosition) -> Result<(), ApplyError> {
        self.open = true;
        let sql = self.ck.prune_sql(low);
        self.ready()?.query_drop(sql)?;
        Ok(())
    }

    /// Commits what was pushed together with `writer`'s checkpoint row at `at` (left as it is
    /// when `None`) and the source ranges the transaction applies (`done`, parallel mode).
    /// With nothing pushed it commits the checkpoint writes alone. A commit with a checkpoint
    /// (`at`) counts in [`ApplyStats::commits`] once it is done. Pipelined, the commit is
    /// under way when this returns, and [`finish`](DestTxn::finish) (or any later use) says
    /// how it ended.
    pub fn commit_at(
        &mut self,
        writer: Writer,
        at: Option<&SourcePosition>,
        done: &[DoneRange],
        stats: &mut ApplyStats,
    ) -> Result<(), ApplyError> {
        self.open = true;
        self.builder.close()?;
        let stmts = std::mem::take(&mut self.builder.out);
        // The checkpoint's writes and the totals of what commits, in one round trip.
        let deltas = [(totals::ROWS_APPLIED, self.rows), (totals::TRANSACTIONS_APPLIED, self.transactions)];
        let writes: Vec<String> = [
            self.ck.done_sql(done),
            at.map(|p| self.ck.write_sql(writer, p)),
            totals::add_sql(&self.ck.db, &self.ck.task, writer.row(), &deltas),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.send(stmts, Some(Commit { writes, counts: at.is_some() }))?;
        (self.open, self.begun) = (false, false);
        (self.rows, self.transactions) = (0, 0);
        self.report(stats);
        Ok(())
    }

    /// Waits for the job in flight (a pipelined commit) and adds what it counted to `stats`:
    /// its error, if it failed, is returned here.
    pub fn finish(&mut self, stats: &mut ApplyStats) -> Result<(), ApplyError> {
        self.settle()?;
        self.report(stats);
        Ok(())
    }

    /// Checks the runner still holds the task ([`dts_types::fence`]): inside the transaction
    /// if it has begun, else on its own (before a DDL).
    pub fn check_fence(&mut self) -> Result<(), ApplyError> {
        let ck = self.ck;
        check_fence(self.ready()?, ck)
    }

    /// Rolls back what was sent and forgets what was built but not sent. A job in flight that
    /// failed returns its error (after the rollback).
    pub fn rollback(&mut self) -> Result<(), ApplyError> {
        self.builder = Builder::new(self.batch_bytes);
        (self.rows, self.transactions) = (0, 0);
        let settled = self.settle();
        if self.open {
            self.open = false;
            if std::mem::take(&mut self.begun) {
                self.conn.as_deref_mut().expect("the connection is back once settled").query_drop("ROLLBACK")?;
            }
        }
        settled
    }
}

impl Drop for DestTxn<'_, '_> {
    fn drop(&mut self) {
        // Only after an error (every other path commits or rolls back first, and waits for
        // its job): the connection may be used again, and a later BEGIN would commit this
        // half of a transaction. The job's own outcome was an error or is moot now. On a
        // broken connection the ROLLBACK fails at once, and the server rolls back by itself.
        if let Some(flight) = self.flight.take() {
            // A job that panicked is not re-raised here: this may run while unwinding.
            if let Ok((conn, result)) = flight.join() {
                self.conn = Some(conn);
                // Its error is moot here: this transaction is being abandoned anyway.
                let _ = self.took(result);
            }
        }
        if self.begun
            && let Some(conn) = self.conn.as_deref_mut()
        {
            // Failing on a broken connection, whose server rolls back by itself.
            let _ = conn.query_drop("ROLLBACK");
        }
    }
}

/// Runs statements in one round trip, every one's error returned (dropping a multi-statement
/// result unread would skip the errors of all but the first).
pub(crate) fn together(conn: &mut Conn, stmts: &[String]) -> Result<(), ApplyError> {
    if stmts.is_empty() {
        return Ok(());
    }
    let mut result = conn.query_iter(stmts.join(";\n"))?;
    while let Some(set) = result.iter() {
        for row in set {
            row?;
        }
    }
    Ok(())
}

/// Sends built statements, at most `packet` bytes of them in one round trip, reading conflicts
/// from the affected-row counts.
fn execute(conn: &mut Conn, stats: &mut ApplyStats, stmts: Vec<Stmt>, packet: usize) -> Result<(), ApplyError> {
    let mut batch: Vec<Stmt> = Vec::new();
    let mut batched = 0;
    for s in stmts {
        if batched + s.sql.len() > packet {
            send(conn, stats, &mut batch)?;
            batched = 0;
        }
        if s.enum_zeros > 0 {
            send(conn, stats, &mut batch)?;
            batched = 0;
            alone(conn, &s.sql, s.enum_zeros, s.fk_checks)?;
            stats.statements += 1;
            let affected = conn.affected_rows();
            count_conflicts(stats, &s, affected);
            if affected == 0
                && let Some(f) = &s.fallback
            {
                alone(conn, f, s.enum_zeros, false)?;
                stats.update_missing += 1;
                keyless_row_missing(&s);
            }
        } else {
            batched += s.sql.len();
            batch.push(s);
        }
    }
    send(conn, stats, &mut batch)
}

/// One statement on its own; one writing ENUM index-0 values runs non-strict and must warn
/// exactly once per such value (anything else the server changed would warn too).
fn alone(conn: &mut Conn, sql: &str, enum_zeros: usize, fk_checks: bool) -> Result<(), ApplyError> {
    let failed = |e| ApplyError::Statement { table: first_table(sql), source: e };
    let sql = &dts_types::session::set_statement(sql, enum_zeros > 0, fk_checks);
    if enum_zeros == 0 {
        return conn.query_drop(sql).map_err(failed);
    }
    conn.query_drop(sql).map_err(failed)?;
    let warnings = conn.warnings() as usize;
    // Nothing written (an UPDATE that found no row) warns of nothing.
    let nothing_written = warnings == 0 && conn.affected_rows() == 0;
    if warnings != enum_zeros && !nothing_written {
        let shown: Vec<(String, u32, String)> = conn.query("SHOW WARNINGS")?;
        return Err(ApplyError::Changed {
            table: first_table(sql),
            warnings: shown.into_iter().map(|(l, c, m)| format!("{l} {c}: {m}")).collect::<Vec<_>>().join("; "),
            expected: enum_zeros,
        });
    }
    Ok(())
}

/// One round trip for many statements.
///
/// A keyless update that finds no row must insert its after image (the connection counts
/// found rows, so a found row counts 1 even when unchanged). Such updates nearly always find
/// their row, and the `IF ROW_COUNT() = 0 THEN INSERT ...` that does it costs the server about
/// as much as the UPDATE (an anonymous block is compiled for each), so a batch holding them is
/// first sent without the fallbacks after a savepoint; only if one of them found nothing is the
/// batch rolled back to the savepoint and sent again with them.
fn send(conn: &mut Conn, stats: &mut ApplyStats, batch: &mut Vec<Stmt>) -> Result<(), ApplyError> {
    if batch.is_empty() {
        return Ok(());
    }
    if batch.iter().any(|s| s.fallback.is_some()) {
        let sql = std::iter::once(std::borrow::Cow::Borrowed("SAVEPOINT dts_batch"))
            .chain(batch.iter().map(|s| statement(s, false)))
            .collect::<Vec<_>>()
            .join(";\n");
        // An error here (there are fewer rows than with the fallbacks, so hardly one that the
        // full form would not meet too) is settled by the full form; one that ended the whole
        // transaction (a deadlock) took the savepoint with it and is returned as it is.
        let affected = match run(conn, &sql) {
            Ok(a) => a,
            Err(e) => {
                if conn.query_drop("ROLLBACK TO SAVEPOINT dts_batch").is_err() {
                    return Err(e);
                }
                Vec::new()
            }
        };
        let found = |(s, a): (&Stmt, &u64)| s.fallback.is_none() || *a > 0;
        if affected.len() == batch.len() + 1 && batch.iter().zip(affected.iter().skip(1)).all(found) {
            for (s, a) in batch.iter().zip(affected.into_iter().skip(1)) {
                count_conflicts(stats, s, a);
            }
            stats.statements += batch.len() as u64;
            batch.clear();
            return Ok(());
        }
        if !affected.is_empty() {
            conn.query_drop("ROLLBACK TO SAVEPOINT dts_batch")?;
        }
    }
    let sql = batch.iter().map(|s| statement(s, true)).collect::<Vec<_>>().join(";\n");
    let mut affected = run(conn, &sql)?.into_iter();
    for s in batch.iter() {
        count_conflicts(stats, s, affected.next().unwrap_or(0));
        // The IF after a keyless update: 1 when it inserted the after image.
        if s.fallback.is_some() && affected.next().unwrap_or(0) > 0 {
            stats.update_missing += 1;
            keyless_row_missing(s);
        }
    }
    stats.statements += batch.len() as u64;
    batch.clear();
    Ok(())
}

/// A statement's text in a batch; with `fallback`, a keyless update is followed by the INSERT
/// of its after image for when it found no row (MariaDB runs IF outside stored programs).
fn statement(s: &Stmt, fallback: bool) -> std::borrow::Cow<'_, str> {
    match &s.fallback {
        Some(f) if fallback => std::borrow::Cow::Owned(format!(
            "{};\nIF ROW_COUNT() = 0 THEN {f}; END IF",
            dts_types::session::set_statement(&s.sql, false, s.fk_checks)
        )),
        _ if s.fk_checks => std::borrow::Cow::Owned(dts_types::session::set_statement(&s.sql, false, true)),
        _ => std::borrow::Cow::Borrowed(s.sql.as_str()),
    }
}

/// Runs a multi-statement text, returning each result's affected-row count in order.
fn run(conn: &mut Conn, sql: &str) -> Result<Vec<u64>, ApplyError> {
    let mut affected = Vec::new();
    let mut result = conn.query_iter(sql).map_err(|e| ApplyError::Statement { table: first_table(sql), source: e })?;
    while let Some(set) = result.iter() {
        affected.push(set.affected_rows());
        for row in set {
            row?;
        }
    }
    Ok(affected)
}

/// Conflicts read from a statement's affected-row count.
fn count_conflicts(stats: &mut ApplyStats, s: &Stmt, affected: u64) {
    match s.kind {
        Kind::Insert { rows } => stats.insert_existing += affected.saturating_sub(rows),
        Kind::Update { rows } => stats.update_missing += (2 * rows).saturating_sub(affected),
        Kind::Delete { rows } => stats.delete_missing += rows.saturating_sub(affected),
        Kind::KeylessDelete if affected == 0 => {
            stats.delete_missing += 1;
            keyless_row_missing(s);
        }
        Kind::KeylessDelete | Kind::KeylessUpdate | Kind::Plain => {}
    }
}

/// A keyless row the source changed was not on the destination. A keyed table meets this
/// while catching up over its copy (harmlessly); a keyless one never does (its changes start
/// at its snapshot), so the destination held something else before: said, not hidden.
fn keyless_row_missing(s: &Stmt) {
    let (what, done) = match s.kind {
        Kind::KeylessDelete => ("deleted", "nothing was deleted"),
        _ => ("updated", "its after image was inserted"),
    };
    tracing::warn!(
        table = %first_table(&s.sql),
        "a row the source {what} in a table without a key was not on the destination ({done}): the table differed before; `dts-sync verify` compares it"
    );
}

fn first_table(sql: &str) -> String {
    sql.split_whitespace().find(|w| w.starts_with('`')).unwrap_or("").to_string()
}
