//! The apply loop: groups whole source transactions into destination transactions, writes the
//! checkpoint in each, applies DDL as a barrier with its source session context, and on a
//! transient error resumes from the checkpoint it reads back.

use std::time::{Duration, Instant};

use dts_types::{SourcePosition, session};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder};

use crate::checkpoint::Checkpoint;
use crate::sql::{Builder, Kind, Stmt};
use crate::target::Plans;
use crate::{ApplyError, ApplyOptions, Ddl, Input, InputError};

/// A restartable stream of inputs (the binlog reader, selected and mapped, in the binary).
pub trait InputSource {
    /// Starts, or restarts, the input right after `from` (`None`: from the configured start).
    fn start(&mut self, from: Option<&SourcePosition>) -> Result<(), InputError>;
    /// The next input; `None` when the input ends.
    fn next_input(&mut self) -> Option<Result<Input, InputError>>;
}

/// What the applier did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyStats {
    pub transactions: u64,
    pub row_changes: u64,
    pub commits: u64,
    pub statements: u64,
    pub ddl_applied: u64,
    /// DDL the destination refused: logged with the statement, sync went on.
    pub ddl_failed: Vec<String>,
    /// Inserts whose key already existed (the row was overwritten).
    pub insert_existing: u64,
    /// Updates whose row was missing (the after image was inserted).
    pub update_missing: u64,
    /// Deletes whose row was missing (nothing to do).
    pub delete_missing: u64,
    /// Destination transactions retried in place after a deadlock or lock wait timeout.
    pub retries: u64,
    /// Restarts from the checkpoint after a transient error.
    pub restarts: u64,
}

/// Applies inputs to one destination.
#[derive(Debug)]
pub struct Applier {
    dest: Opts,
    o: ApplyOptions,
    conn: Conn,
    plans: Plans,
    ck: Checkpoint,
    pub stats: ApplyStats,
    throttle_since: Instant,
    throttle_rows: u64,
    throttle_bytes: u64,
}

/// How many committed parallel groups between two prunes of the done ranges.
const PRUNE_EVERY_GROUPS: usize = 256;

fn connect(dest: &Opts) -> Result<Conn, ApplyError> {
    let init: Vec<String> =
        session::init_statements().into_iter().chain(["SET SESSION foreign_key_checks = 0".to_string()]).collect();
    Ok(Conn::new(OptsBuilder::from_opts(dest.clone()).init(init))?)
}

/// Whether an error is worth a retry, and which window applies.
fn transient(e: &ApplyError) -> Option<&'static str> {
    let m = match e {
        ApplyError::Sql(m) | ApplyError::Statement { source: m, .. } => m,
        _ => return None,
    };
    let class = dts_types::retry::classify(m);
    class.is_transient().then(|| class.name())
}

impl Applier {
    pub fn new(dest: Opts, o: ApplyOptions) -> Result<Applier, ApplyError> {
        let mut conn = connect(&dest)?;
        let ck = Checkpoint { task: o.task.clone(), db: o.meta_db.clone() };
        ck.ensure(&mut conn)?;
        Ok(Applier {
            dest,
            o,
            conn,
            plans: Plans::default(),
            ck,
            stats: ApplyStats::default(),
            throttle_since: Instant::now(),
            throttle_rows: 0,
            throttle_bytes: 0,
        })
    }

    /// The position every committed transaction reaches.
    pub fn checkpoint(&mut self) -> Result<Option<SourcePosition>, ApplyError> {
        self.ck.read(&mut self.conn)
    }

    /// Applies the input until it ends, restarting from the checkpoint after transient errors
    /// within the retry windows.
    pub fn run(&mut self, input: &mut dyn InputSource) -> Result<ApplyStats, ApplyError> {
        let from = self.checkpoint()?;
        input.start(from.as_ref()).map_err(ApplyError::Input)?;
        let mut failing: Option<(Instant, &'static str)> = None;
        let mut attempt = 0u32;
        loop {
            match self.apply_stream(input) {
                Ok(()) => return Ok(self.stats.clone()),
                Err(e) => {
                    let Some(kind) = transient(&e) else { return Err(e) };
                    tracing::warn!(kind, error = %e, "applier restarting from the checkpoint after a transient error");
                    let (since, _) = *failing.get_or_insert((Instant::now(), kind));
                    let window = if kind == "connection" { self.o.connection_retry } else { self.o.other_retry };
                    if since.elapsed() > window {
                        return Err(ApplyError::RetriesExhausted {
                            what: kind,
                            minutes: window.as_secs() / 60,
                            last: e.to_string(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis((100u64 << attempt.min(8)).min(10_000)));
                    attempt += 1;
                    // A lost connection may have lost a COMMIT's answer: the checkpoint read back
                    // says what committed, and the input restarts right after it.
                    match connect(&self.dest) {
                        Ok(c) => self.conn = c,
                        Err(_) => continue,
                    }
                    self.plans.clear();
                    let from = match self.checkpoint() {
                        Ok(f) => f,
                        Err(_) => continue,
                    };
                    input.start(from.as_ref()).map_err(ApplyError::Input)?;
                    self.stats.restarts += 1;
                }
            }
        }
    }

    fn apply_stream(&mut self, input: &mut dyn InputSource) -> Result<(), ApplyError> {
        if self.o.workers > 1 {
            return self.apply_stream_parallel(input);
        }
        let mut builder = Builder::new(self.o.batch_bytes);
        let mut open = false; // a destination transaction is open
        let mut in_source_txn = false;
        let (mut group_txns, mut group_rows) = (0usize, 0usize);
        let mut group_started = Instant::now();
        let mut pending: Option<SourcePosition> = None;
        let mut ddl: Option<Ddl> = None;
        while let Some(item) = input.next_input() {
            match item.map_err(ApplyError::Input)? {
                Input::Begin => {
                    if in_source_txn {
                        return Err(ApplyError::Protocol("Begin inside a transaction".into()));
                    }
                    in_source_txn = true;
                }
                Input::Row { target, change } => {
                    if !open {
                        self.conn.query_drop("BEGIN")?;
                        open = true;
                    }
                    let plan = self.plans.get(&mut self.conn, &target)?;
                    builder.push(&plan, &change)?;
                    group_rows += 1;
                    self.stats.row_changes += 1;
                    self.throttle_rows += 1;
                    if builder.bytes() >= self.o.batch_bytes {
                        {
                            self.throttle(builder.bytes());
                            execute(&mut self.conn, &mut self.stats, &mut builder)?;
                        }
                    }
                }
                Input::Ddl(d) => ddl = Some(d),
                Input::Commit(pos) => {
                    in_source_txn = false;
                    self.stats.transactions += 1;
                    if let Some(d) = ddl.take() {
                        // A barrier: what is grouped commits first, then the DDL, then its
                        // checkpoint.
                        if open {
                            self.commit_group(&mut builder, pending.take(), &mut open)?;
                        }
                        self.apply_ddl(&d)?;
                        self.conn.query_drop(self.ck.write_sql(0, &pos))?;
                        self.stats.commits += 1;
                        group_txns = 0;
                        group_rows = 0;
                        continue;
                    }
                    pending = Some(pos);
                    if group_txns == 0 {
                        group_started = Instant::now();
                    }
                    group_txns += 1;
                    if group_txns >= self.o.group_transactions
                        || group_rows >= self.o.group_rows
                        || group_started.elapsed() >= self.o.group_delay
                    {
                        self.commit_group(&mut builder, pending.take(), &mut open)?;
                        group_txns = 0;
                        group_rows = 0;
                    }
                }
                Input::Idle => {
                    if !in_source_txn && pending.is_some() {
                        self.commit_group(&mut builder, pending.take(), &mut open)?;
                        group_txns = 0;
                        group_rows = 0;
                    }
                }
            }
        }
        if in_source_txn {
            // The input ended inside a transaction: what it began is not committed.
            if open {
                self.conn.query_drop("ROLLBACK")?;
            }
            builder.out.clear();
            return match pending {
                Some(p) => self.commit_group(&mut builder, Some(p), &mut false),
                None => Ok(()),
            };
        }
        if pending.is_some() || open {
            self.commit_group(&mut builder, pending.take(), &mut open)?;
        }
        Ok(())
    }

    /// The parallel path: the dispatcher (this thread) forms groups of whole source
    /// transactions and hands them to worker connections, holding back a group while an
    /// in-flight group shares a key with it. DDL and transactions too large to hold are
    /// barriers applied here.
    fn apply_stream_parallel(&mut self, input: &mut dyn InputSource) -> Result<(), ApplyError> {
        use crate::parallel::{Group, Tracker, tokens};
        use std::collections::HashSet;
        let low = self.ck.read(&mut self.conn)?;
        let done = self.ck.done_after(&mut self.conn, low.as_ref().map(|p| &p.binlog))?;
        let is_done =
            |p: &dts_types::BinlogPosition| done.iter().any(|(s, e)| s.as_ref().is_none_or(|s| s < p) && p <= e);
        let workers = self.o.workers;
        let mut tracker = Tracker::new(0, low.clone());
        let (gtx, grx) = crossbeam_channel::bounded::<Group>(workers);
        let (ctx, crx) = crossbeam_channel::unbounded::<(u64, Result<ApplyStats, ApplyError>)>();
        let mut handles = Vec::new();
        for w in 0..workers {
            let (grx, ctx, dest, ck, low, batch, window) = (
                grx.clone(),
                ctx.clone(),
                self.dest.clone(),
                self.ck.clone(),
                tracker.low.clone(),
                self.o.batch_bytes,
                self.o.other_retry,
            );
            handles.push(std::thread::spawn(move || {
                let mut conn = match connect(&dest) {
                    Ok(c) => c,
                    Err(e) => {
                        // Report on the first group this worker gets.
                        if let Ok(g) = grx.recv() {
                            let _ = ctx.send((g.id, Err(e)));
                        }
                        return;
                    }
                };
                while let Ok(g) = grx.recv() {
                    let id = g.id;
                    // A deadlock or lock wait rolls the group back: it is still here, so it is
                    // retried in place instead of restarting the whole stream.
                    let since = Instant::now();
                    let mut attempt = 0u32;
                    let r = loop {
                        match apply_group(&mut conn, &ck, w as u32 + 1, &g, &low, batch) {
                            Err(e) if transient(&e) == Some("other") && since.elapsed() < window => {
                                tracing::debug!(worker = w + 1, error = %e, "retrying a group in place");
                                let _ = conn.query_drop("ROLLBACK");
                                std::thread::sleep(Duration::from_millis((20u64 << attempt.min(7)).min(2_000)));
                                attempt += 1;
                            }
                            Ok(mut s) => {
                                s.retries += attempt as u64;
                                break Ok(s);
                            }
                            Err(e) => break Err(e),
                        }
                    };
                    if ctx.send((id, r)).is_err() {
                        return;
                    }
                }
            }));
        }
        drop((grx, ctx));
        let result = (|| -> Result<(), ApplyError> {
            let settle = |tracker: &mut Tracker, stats: &mut ApplyStats, block: bool| -> Result<bool, ApplyError> {
                let next = if block { crx.recv().ok() } else { crx.try_recv().ok() };
                let Some((id, r)) = next else { return Ok(false) };
                let s = r?;
                stats.commits += 1;
                stats.statements += s.statements;
                stats.insert_existing += s.insert_existing;
                stats.update_missing += s.update_missing;
                stats.delete_missing += s.delete_missing;
                stats.retries += s.retries;
                tracker.committed(id);
                Ok(true)
            };
            let mut next_id = 0u64;
            let mut prev_end = low.as_ref().map(|p| p.binlog.clone());
            let mut group: Option<Group> = None;
            let mut txn: Vec<(std::sync::Arc<crate::target::TablePlan>, dts_types::RowChange)> = Vec::new();
            let mut txn_tokens: HashSet<u64> = HashSet::new();
            let mut ddl: Option<Ddl> = None;
            let mut in_txn = false;
            // Dispatches the current group, waiting while it conflicts with groups in flight.
            let dispatch =
                |group: &mut Option<Group>, tracker: &mut Tracker, stats: &mut ApplyStats| -> Result<(), ApplyError> {
                    let Some(g) = group.take() else { return Ok(()) };
                    while tracker.conflicts(&g.tokens) || tracker.in_flight.len() >= workers {
                        settle(tracker, stats, true)?;
                    }
                    tracker.dispatched(&g);
                    gtx.send(g).map_err(|_| ApplyError::Protocol("workers stopped".into()))
                };
            let mut settled = 0usize;
            while let Some(item) = input.next_input() {
                while settle(&mut tracker, &mut self.stats, false)? {
                    settled += 1;
                }
                if settled >= PRUNE_EVERY_GROUPS {
                    settled = 0;
                    self.persist_low(&tracker)?;
                }
                match item.map_err(ApplyError::Input)? {
                    Input::Begin => in_txn = true,
                    Input::Row { target, change } => {
                        let plan = self.plans.get(&mut self.conn, &target)?;
                        tokens(&plan, &change, &mut txn_tokens);
                        txn.push((plan, change));
                        self.throttle_rows += 1;
                        if txn.len() > self.o.group_rows {
                            // Too large to hold: a barrier, then this transaction streams
                            // through this connection.
                            dispatch(&mut group, &mut tracker, &mut self.stats)?;
                            while !tracker.in_flight.is_empty() {
                                settle(&mut tracker, &mut self.stats, true)?;
                            }
                            let mut b = Builder::new(self.o.batch_bytes);
                            self.conn.query_drop("BEGIN")?;
                            self.stats.row_changes += txn.len() as u64;
                            for (plan, change) in txn.drain(..) {
                                b.push(&plan, &change)?;
                                if b.bytes() >= self.o.batch_bytes {
                                    execute(&mut self.conn, &mut self.stats, &mut b)?;
                                }
                            }
                            txn_tokens.clear();
                            let end = loop {
                                let Some(item) = input.next_input() else {
                                    self.conn.query_drop("ROLLBACK")?;
                                    return Ok(());
                                };
                                match item.map_err(ApplyError::Input)? {
                                    Input::Row { target, change } => {
                                        let plan = self.plans.get(&mut self.conn, &target)?;
                                        b.push(&plan, &change)?;
                                        self.stats.row_changes += 1;
                                        if b.bytes() >= self.o.batch_bytes {
                                            execute(&mut self.conn, &mut self.stats, &mut b)?;
                                        }
                                    }
                                    Input::Commit(pos) => break pos,
                                    Input::Idle => {}
                                    Input::Begin | Input::Ddl(_) => {
                                        return Err(ApplyError::Protocol("a transaction began inside another".into()));
                                    }
                                }
                            };
                            in_txn = false;
                            self.stats.transactions += 1;
                            if is_done(&end.binlog) {
                                // Applied before a restart: keep the earlier application.
                                self.conn.query_drop("ROLLBACK")?;
                                prev_end = Some(end.binlog);
                                continue;
                            }
                            execute(&mut self.conn, &mut self.stats, &mut b)?;
                            self.conn.query_drop(self.ck.done_sql(&(prev_end.clone(), end.binlog.clone())))?;
                            self.conn.query_drop(self.ck.write_sql(0, &end))?;
                            self.conn.query_drop("COMMIT")?;
                            self.stats.commits += 1;
                            *tracker.low.lock() = Some(end.clone());
                            prev_end = Some(end.binlog);
                        }
                    }
                    Input::Ddl(d) => ddl = Some(d),
                    Input::Commit(pos) => {
                        in_txn = false;
                        self.stats.transactions += 1;
                        if is_done(&pos.binlog) {
                            // Applied before the restart by a parallel worker.
                            txn.clear();
                            txn_tokens.clear();
                            ddl = None;
                            prev_end = Some(pos.binlog.clone());
                            continue;
                        }
                        if let Some(d) = ddl.take() {
                            dispatch(&mut group, &mut tracker, &mut self.stats)?;
                            while !tracker.in_flight.is_empty() {
                                settle(&mut tracker, &mut self.stats, true)?;
                            }
                            self.apply_ddl(&d)?;
                            let range = (prev_end.clone(), pos.binlog.clone());
                            self.conn.query_drop("BEGIN")?;
                            self.conn.query_drop(self.ck.done_sql(&range))?;
                            self.conn.query_drop(self.ck.write_sql(0, &pos))?;
                            self.conn.query_drop("COMMIT")?;
                            *tracker.low.lock() = Some(pos.clone());
                            prev_end = Some(pos.binlog.clone());
                            self.stats.commits += 1;
                            continue;
                        }
                        let g = group.get_or_insert_with(|| {
                            next_id += 1;
                            Group {
                                id: next_id - 1,
                                changes: Vec::new(),
                                tokens: HashSet::new(),
                                range: (prev_end.clone(), pos.binlog.clone()),
                                end: pos.clone(),
                                transactions: 0,
                                started: Instant::now(),
                            }
                        });
                        self.stats.row_changes += txn.len() as u64;
                        g.changes.append(&mut txn);
                        g.tokens.extend(txn_tokens.drain());
                        g.range.1 = pos.binlog.clone();
                        g.end = pos.clone();
                        g.transactions += 1;
                        prev_end = Some(pos.binlog.clone());
                        if g.transactions as usize >= self.o.group_transactions
                            || g.changes.len() >= self.o.group_rows
                            || g.started.elapsed() >= self.o.group_delay
                        {
                            self.throttle(0);
                            dispatch(&mut group, &mut tracker, &mut self.stats)?;
                        }
                    }
                    Input::Idle => {
                        if !in_txn {
                            dispatch(&mut group, &mut tracker, &mut self.stats)?;
                        }
                    }
                }
            }
            dispatch(&mut group, &mut tracker, &mut self.stats)?;
            while !tracker.in_flight.is_empty() {
                settle(&mut tracker, &mut self.stats, true)?;
            }
            // Everything committed: the low watermark reaches the last group, so a restart
            // begins after it.
            self.persist_low(&tracker)
        })();
        // Workers end when their queue closes.
        drop(gtx);
        for h in handles {
            let _ = h.join();
        }
        result
    }

    /// Records the low watermark as the dispatcher's checkpoint and forgets the done ranges it
    /// covers, in one transaction. Only the dispatcher prunes: workers pruning the same rows
    /// concurrently deadlock each other.
    fn persist_low(&mut self, tracker: &crate::parallel::Tracker) -> Result<(), ApplyError> {
        let low = tracker.low.lock().clone();
        if let Some(l) = low {
            self.conn.query_drop("BEGIN")?;
            self.conn.query_drop(self.ck.write_sql(0, &l))?;
            self.conn.query_drop(self.ck.prune_sql(&l.binlog))?;
            self.conn.query_drop("COMMIT")?;
        }
        Ok(())
    }

    fn commit_group(
        &mut self,
        b: &mut Builder,
        pos: Option<SourcePosition>,
        open: &mut bool,
    ) -> Result<(), ApplyError> {
        if !*open {
            self.conn.query_drop("BEGIN")?;
        }
        self.throttle(b.bytes());
        execute(&mut self.conn, &mut self.stats, b)?;
        if let Some(p) = &pos {
            self.conn.query_drop(self.ck.write_sql(0, p))?;
        }
        self.conn.query_drop("COMMIT")?;
        *open = false;
        self.stats.commits += 1;
        Ok(())
    }

    /// Runs DDL with the session it had on the source; a failure is logged, sync goes on.
    fn apply_ddl(&mut self, d: &Ddl) -> Result<(), ApplyError> {
        self.plans.clear();
        let mut setup = Vec::new();
        if let Some(m) = d.sql_mode {
            setup.push(format!("SET SESSION sql_mode = {m}"));
        }
        if let Some(tz) = &d.time_zone {
            let lit = dts_types::Value::String(dts_types::Text::utf8mb4(tz)).to_sql_literal()?;
            setup.push(format!("SET SESSION time_zone = {lit}"));
        }
        if let Some((client, conn, server)) = d.charset {
            setup.push(format!(
                "SET SESSION character_set_client = {client}, collation_connection = {conn}, collation_server = {server}"
            ));
        }
        if let Some((secs, micros)) = d.timestamp {
            setup.push(format!("SET SESSION timestamp = {secs}.{:06}", micros.unwrap_or(0)));
        }
        if let Some(db) = &d.database {
            setup.push(format!("USE {}", dts_types::quote_ident(db)));
        }
        let mut c = connect(&self.dest)?;
        for s in &setup {
            // The session as the source had it; a setting the destination lacks is reported
            // with the statement below if it matters.
            let _ = c.query_drop(s);
        }
        for s in &d.statements {
            match c.query_drop(s) {
                Ok(()) => self.stats.ddl_applied += 1,
                Err(e) => {
                    let e = ApplyError::Sql(e);
                    if transient(&e).is_some() {
                        return Err(e);
                    }
                    self.stats.ddl_failed.push(format!("{s}: {e}"));
                }
            }
        }
        Ok(())
    }

    fn throttle(&mut self, bytes: usize) {
        self.throttle_bytes += bytes as u64;
        let (r, b) = (self.o.rows_per_sec, self.o.bytes_per_sec);
        if r == 0 && b == 0 {
            return;
        }
        let el = self.throttle_since.elapsed().as_secs_f64();
        let need = (if r > 0 { self.throttle_rows as f64 / r as f64 } else { 0.0 }).max(if b > 0 {
            self.throttle_bytes as f64 / b as f64
        } else {
            0.0
        });
        if need > el {
            std::thread::sleep(Duration::from_secs_f64((need - el).min(5.0)));
        }
        if el > 10.0 {
            self.throttle_since = Instant::now();
            self.throttle_rows = 0;
            self.throttle_bytes = 0;
        }
    }
}

/// Sends the built statements, reading conflicts from the affected-row counts.
fn execute(conn: &mut Conn, stats: &mut ApplyStats, b: &mut Builder) -> Result<(), ApplyError> {
    b.close();
    let stmts: Vec<Stmt> = std::mem::take(&mut b.out);
    let mut batch: Vec<Stmt> = Vec::new();
    for s in stmts {
        if s.fallback.is_some() {
            send(conn, stats, &mut batch)?;
            conn.query_drop(&s.sql)?;
            stats.statements += 1;
            if conn.affected_rows() == 0
                && let Some(f) = &s.fallback
            {
                conn.query_drop(f)?;
                stats.update_missing += 1;
            }
        } else {
            batch.push(s);
        }
    }
    send(conn, stats, &mut batch)
}

/// One round trip for many statements.
fn send(conn: &mut Conn, stats: &mut ApplyStats, batch: &mut Vec<Stmt>) -> Result<(), ApplyError> {
    if batch.is_empty() {
        return Ok(());
    }
    let sql = batch.iter().map(|s| s.sql.as_str()).collect::<Vec<_>>().join(";\n");
    let mut affected = Vec::with_capacity(batch.len());
    {
        let mut result =
            conn.query_iter(&sql).map_err(|e| ApplyError::Statement { table: first_table(&sql), source: e })?;
        while let Some(set) = result.iter() {
            affected.push(set.affected_rows());
            for row in set {
                row?;
            }
        }
    }
    for (s, a) in batch.iter().zip(affected) {
        match s.kind {
            Kind::Insert { rows } => stats.insert_existing += a.saturating_sub(rows),
            Kind::Update { rows } => stats.update_missing += (2 * rows).saturating_sub(a),
            Kind::Delete { rows } => stats.delete_missing += rows.saturating_sub(a),
            Kind::KeylessUpdate | Kind::Plain => {}
        }
    }
    stats.statements += batch.len() as u64;
    batch.clear();
    Ok(())
}

/// A worker's destination transaction: the group's changes, its done range and the low
/// watermark known now (every group up to it has committed).
fn apply_group(
    conn: &mut Conn,
    ck: &Checkpoint,
    worker: u32,
    g: &crate::parallel::Group,
    low: &parking_lot::Mutex<Option<SourcePosition>>,
    batch_bytes: usize,
) -> Result<ApplyStats, ApplyError> {
    let mut stats = ApplyStats::default();
    let mut b = Builder::new(batch_bytes);
    conn.query_drop("BEGIN")?;
    for (plan, change) in &g.changes {
        b.push(plan, change)?;
        if b.bytes() >= batch_bytes {
            execute(conn, &mut stats, &mut b)?;
        }
    }
    execute(conn, &mut stats, &mut b)?;
    conn.query_drop(ck.done_sql(&g.range))?;
    let low = low.lock().clone();
    if let Some(l) = low {
        conn.query_drop(ck.write_sql(worker, &l))?;
    }
    conn.query_drop("COMMIT")?;
    Ok(stats)
}

fn first_table(sql: &str) -> String {
    sql.split_whitespace().find(|w| w.starts_with('`')).unwrap_or("").to_string()
}
