//! Compares a task's selected objects between source and destination — schema and data,
//! honouring renames, column subsets and row filters — reports every difference (rows missing,
//! extra, or different with the columns named) and writes the SQL that repairs the destination.
//!
//! Data is compared by key-range chunks (the full copy's chunk plan): each server computes the
//! chunk's row count and checksum over an exact, unambiguous serialization of every row
//! (`rowexpr.rs`), both servers at once. Only chunks whose checksums differ are read row by row:
//! first key and row hash, then the differing rows themselves. Tables without a usable key are
//! compared as multisets of rows. While sync runs, a difference is re-checked after the applier
//! has passed the source position at which it was seen ([`Progress`]), so lag never reports a
//! false difference. It only reads; the repair is a script for the user to run ([`Report::repair_sql`]:
//! ALTERs for schema differences, then the rows), or [`apply`] makes it, safely while sync runs
//! (the argument is in `repair.rs`).

//!
//! # Example
//!
//! ```no_run
//! use dts_schema::{DatabaseRule, Selection};
//!
//! let server = |host: &str, password: &str| -> mysql::Opts {
//!     mysql::OptsBuilder::new().ip_or_hostname(Some(host)).user(Some("dts")).pass(std::env::var(password).ok()).into()
//! };
//! let (source, destination) = (server("10.0.0.1", "SOURCE_PASSWORD"), server("10.0.0.2", "DESTINATION_PASSWORD"));
//! let shop = DatabaseRule { database: "shop".into(), ..Default::default() };
//! let selection = Selection { databases: vec![shop], ..Default::default() };
//!
//! let report = dts_verify::run(&source, &destination, &selection, &Default::default(), None)?;
//! if !report.identical() {
//!     println!("{}", report.to_json());
//! }
//! # Ok::<(), dts_verify::VerifyError>(())
//! ```
#![warn(missing_docs)]

mod compare;
mod definition;
mod repair;
mod report;
mod rowexpr;
mod schema;
mod table;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dts_fullcopy::Throttle;
use dts_fullcopy::chunk::Chunk;
use dts_fullcopy::table::TableJob;
use dts_schema::{MappedTable, Selection};
use dts_types::{BinlogPosition, Value};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder};
use parking_lot::Mutex;

use crate::compare::{Conns, KeyDiffs};
pub use crate::repair::{Applied, Hold, Refused, RepairOptions, Repaired, apply};
pub use crate::report::{JSON_VERSION, Report, RowDiff, SettledBy, TableResult, Totals};
use crate::table::Side;
pub use crate::table::VerifyTable;

/// How far incremental sync has got: lets a comparison made while sync runs wait until the
/// destination has caught up with what the source held when the comparison was made.
pub trait Progress: Sync {
    /// Waits until every source change up to `pos` is applied on the destination; `false`
    /// when that did not happen within `timeout`.
    fn wait_applied(&self, pos: &BinlogPosition, timeout: Duration) -> bool;
}

/// How to compare.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Connections per server comparing chunks in parallel.
    pub threads: usize,
    /// Rows per chunk.
    pub chunk_rows: u64,
    /// Most rows read per second, per server (0: no limit).
    pub rows_per_sec: u64,
    /// Most queries per second, per server (0: no limit).
    pub qps: u64,
    /// With a [`Progress`]: how many times a difference is re-checked before it is reported.
    pub rechecks: u32,
    /// With a [`Progress`]: how long to wait for the applier before each re-check.
    pub recheck_wait: Duration,
    /// Differences listed per table (more are counted).
    pub max_listed: usize,
    /// Settle tables synced whole with `CHECKSUM TABLE` on both servers first (falling back to
    /// chunks when the checksums differ). Off: every table is compared chunk by chunk.
    pub table_checksum_first: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            threads: 4,
            chunk_rows: 10_000,
            rows_per_sec: 0,
            qps: 0,
            rechecks: 3,
            recheck_wait: Duration::from_secs(60),
            max_listed: 10_000,
            table_checksum_first: true,
        }
    }
}

/// Why a comparison could not be made.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A server refused or the connection failed.
    #[error("{0}")]
    Sql(#[from] mysql::Error),
    /// A value could not be read or rendered.
    #[error("{0}")]
    Value(#[from] dts_types::ValueError),
    /// A table's model or chunk plan could not be built.
    #[error("{0}")]
    Table(#[from] dts_fullcopy::CopyError),
    /// The caller could not say what may be repaired (`dts-task`: the task's lease and state).
    #[error("deciding what verify --apply may repair")]
    Policy(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The table cannot be compared.
    #[error("{table}: {reason}")]
    Unsupported {
        /// The table.
        table: String,
        /// Why.
        reason: String,
    },
}

/// A connection set up like every value-moving session (binary names, UTC, strict mode).
pub fn connect(opts: &Opts) -> Result<Conn, mysql::Error> {
    Conn::new(OptsBuilder::from_opts(opts.clone()).init(dts_types::session::init_statements().to_vec()))
}

fn source_position(src: &mut Conn) -> Option<BinlogPosition> {
    dts_fullcopy::source_binlog_position(src).ok()
}

/// Every selected table of the source with its mapping.
pub fn selected_tables(src: &mut Conn, selection: &Selection) -> Result<Vec<MappedTable>, VerifyError> {
    Ok(selection.mapped(&dts_schema::catalog(src)?))
}

/// Runs `f` over `items` on `threads` worker threads, each with its own connection to each
/// server; results come back in the order of `items`. The first error stops the others.
fn pool<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    source: &Opts,
    destination: &Opts,
    f: impl Fn(&mut Conns, &T) -> Result<R, VerifyError> + Sync,
) -> Result<Vec<R>, VerifyError> {
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let first_error: Mutex<Option<VerifyError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1).min(items.len()) {
            let (next, out, first_error, f) = (&next, &out, &first_error, &f);
            s.spawn(move || {
                let mut c = match (connect(source), connect(destination)) {
                    (Ok(src), Ok(dst)) => Conns { src, dst },
                    (Err(e), _) | (_, Err(e)) => {
                        first_error.lock().get_or_insert(e.into());
                        return;
                    }
                };
                while first_error.lock().is_none() {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(n) else { return };
                    match f(&mut c, item) {
                        Ok(r) => out.lock()[n] = Some(r),
                        Err(e) => {
                            first_error.lock().get_or_insert(e);
                            return;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner() {
        return Err(e);
    }
    Ok(out.into_inner().into_iter().map(|r| r.expect("every item ran")).collect())
}

/// Compares every selected table.
pub fn run(
    source: &Opts,
    destination: &Opts,
    selection: &Selection,
    o: &VerifyOptions,
    progress: Option<&dyn Progress>,
) -> Result<Report, VerifyError> {
    Ok(compare_all(source, destination, selection, o, progress)?.report)
}

/// A comparison with what a repair needs: each table's model and the keys that differ.
#[derive(Debug)]
pub(crate) struct Compared {
    pub report: Report,
    /// Per table (in the report's order): its model and its differing keys (listed ones only;
    /// empty for a keyless table).
    pub tables: Vec<(VerifyTable, Vec<Vec<Value>>)>,
}

fn compare_all(
    source: &Opts,
    destination: &Opts,
    selection: &Selection,
    o: &VerifyOptions,
    progress: Option<&dyn Progress>,
) -> Result<Compared, VerifyError> {
    let started = Instant::now();
    let maps = selected_tables(&mut connect(source)?, selection)?;
    // Per table, in parallel: its description, schema differences, the whole-table fast path
    // and, where that does not settle it, the chunk plan.
    let planned = pool(&maps, o.threads, source, destination, |c, m| plan_table(c, m.clone(), o))?;
    let mut tables = Vec::new();
    let mut results = Vec::new();
    let mut work: Vec<(usize, Chunk)> = Vec::new();
    for (i, (t, r, chunks)) in planned.into_iter().enumerate() {
        work.extend(chunks.into_iter().map(|c| (i, c)));
        tables.push(t);
        results.push(r);
    }
    // Round-robin over tables, so the threads spread over both servers' tables.
    work.sort_by_key(|(i, c)| (c.no, *i));
    let throttle = Throttle::new(o.qps, o.rows_per_sec, 0);
    let chunk_results = pool(&work, o.threads, source, destination, |c, (ti, chunk)| {
        chunk_result(c, &tables[*ti], chunk, o, progress, &throttle)
    })?;
    let mut keys: Vec<Vec<Vec<Value>>> = vec![Vec::new(); tables.len()];
    for ((ti, _), mut cr) in work.iter().zip(chunk_results) {
        let chunk_keys = std::mem::take(&mut cr.diffs.keys);
        let listed = merge(&mut results[*ti], cr, o.max_listed);
        // The keys of exactly the rows listed: those are the ones `apply` repairs.
        keys[*ti].extend(chunk_keys.into_iter().filter(|k| listed.contains(&tables[*ti].key_text(k))));
    }
    Ok(Compared {
        report: Report { tables: results, seconds: started.elapsed().as_secs_f64(), apply: None },
        tables: tables.into_iter().zip(keys).collect(),
    })
}

/// A table's description, its result so far and the chunks left to compare.
fn plan_table(
    c: &mut Conns,
    m: MappedTable,
    o: &VerifyOptions,
) -> Result<(VerifyTable, TableResult, Vec<Chunk>), VerifyError> {
    // Read before the table's model: a DDL after it shows as a change to the repair.
    let seen = definition::Seen {
        source: definition::read(&mut c.src, &m.source)?,
        destination: definition::read(&mut c.dst, &m.target)?,
    };
    let mut t = VerifyTable::new(TableJob::load(&mut c.src, m)?);
    t.seen = seen;
    let mut r =
        TableResult { source: t.job.map.source.plain(), target: t.job.map.target.plain(), ..Default::default() };
    let check = schema::check(c, &mut t)?;
    (r.schema, r.schema_repair, r.schema_unrepaired) = (check.differences, check.alters, check.unrepaired);
    if r.schema.iter().any(|s| s.starts_with(schema::MISSING_TABLE)) {
        // Nothing to compare row by row: every source row is missing.
        let n = count(&mut c.src, &t, Side::Source)?;
        r.source_rows = Some(n);
        r.unlisted = n;
        r.settled_by = SettledBy::NotCompared;
        return Ok((t, r, Vec::new()));
    }
    if t.key.iter().flatten().any(|&i| t.cols[i].dest_expr.is_some()) {
        // A key column the destination lacks: rows can only be matched whole.
        t.key = None;
    }
    if r.schema.is_empty()
        && o.table_checksum_first
        && let Some((s, d)) = whole_table_equal(c, &t)?
    {
        (r.source_rows, r.destination_rows, r.settled_by) = (Some(s), Some(d), SettledBy::TableChecksum);
        return Ok((t, r, Vec::new()));
    }
    let chunks = match &t.key {
        Some(_) => dts_fullcopy::chunk::plan(&mut c.src, &t.job, o.chunk_rows, t.job.map.filter.as_deref())?,
        None => vec![Chunk { no: 0, lo: None, hi: None }],
    };
    r.settled_by = if t.key.is_some() { SettledBy::Chunks } else { SettledBy::Multiset };
    r.chunks = chunks.len() as u64;
    Ok((t, r, chunks))
}

/// The fast path for a table synced whole (every column, no filter, same schema): the
/// servers' own `CHECKSUM TABLE` (a CRC of every stored row, so exact for every type), then
/// `COUNT(*)`, on both servers at once. The rows of each side when checksums and counts agree
/// (counted after the checksum: a writer between the two shows as different counts, and the
/// chunked comparison settles it); otherwise the chunked comparison finds what differs (a
/// different row format only costs that time).
fn whole_table_equal(c: &mut Conns, t: &VerifyTable) -> Result<Option<(u64, u64)>, VerifyError> {
    let whole = t.job.map.filter.is_none()
        && t.job.columns.iter().all(|col| col.copied)
        && t.cols.len() == t.job.columns.len()
        && t.job.map.columns.columns.as_ref().is_none_or(|cols| cols.len() == t.cols.len());
    if !whole {
        return Ok(None);
    }
    let sum = |conn: &mut Conn, side: Side| -> Result<(Option<u64>, u64), VerifyError> {
        let row: Option<(String, Option<u64>)> = conn.query_first(format!("CHECKSUM TABLE {}", t.name(side)))?;
        let rows: u64 = conn.query_first(format!("SELECT COUNT(*) FROM {}", t.name(side)))?.unwrap_or(0);
        Ok((row.and_then(|r| r.1), rows))
    };
    let (s, d) = c.both(|src| sum(src, Side::Source), |dst| sum(dst, Side::Destination));
    let (s, d) = (s?, d?);
    Ok((s.0.is_some() && s == d).then_some((s.1, d.1)))
}

/// What one chunk contributed.
#[derive(Debug, Default)]
struct ChunkResult {
    source_rows: u64,
    destination_rows: u64,
    /// Rows compared row by row (keys on either side of a differing chunk).
    by_row: u64,
    differing: bool,
    diffs: KeyDiffs,
    unlisted: u64,
    unsettled: u64,
}

/// Adds a chunk's result to its table's, listing at most `max` differences per table (the rest
/// counted in `unlisted`); the keys of the differences it listed.
fn merge(r: &mut TableResult, c: ChunkResult, max: usize) -> std::collections::HashSet<String> {
    r.source_rows = Some(r.source_rows.unwrap_or(0) + c.source_rows);
    r.destination_rows = Some(r.destination_rows.unwrap_or(0) + c.destination_rows);
    r.chunks_differing += c.differing as u64;
    r.rows_compared_by_row += c.by_row;
    r.unlisted += c.unlisted;
    r.unsettled += c.unsettled;
    let mut room = max.saturating_sub(r.missing.len() + r.extra.len() + r.different.len());
    let mut listed = std::collections::HashSet::new();
    for (list, new) in
        [(&mut r.missing, c.diffs.missing), (&mut r.extra, c.diffs.extra), (&mut r.different, c.diffs.different)]
    {
        for d in new {
            if room > 0 {
                room -= 1;
                listed.insert(d.key.clone());
                list.push(d);
            } else {
                r.unlisted += 1;
            }
        }
    }
    listed
}

fn chunk_result(
    c: &mut Conns,
    t: &VerifyTable,
    chunk: &Chunk,
    o: &VerifyOptions,
    progress: Option<&dyn Progress>,
    throttle: &Throttle,
) -> Result<ChunkResult, VerifyError> {
    let mut round = 0;
    let (s, d) = loop {
        let (s, d) = compare::checksums(c, t, chunk)?;
        throttle.charge(1, s.0.max(d.0), 0);
        if s == d {
            return Ok(ChunkResult { source_rows: s.0, destination_rows: d.0, ..Default::default() });
        }
        // The source position after the source's read: once the applier has passed it, the
        // destination must hold at least what the source showed.
        let pos = source_position(&mut c.src);
        match (progress, pos) {
            (Some(p), Some(pos)) if round < o.rechecks => {
                p.wait_applied(&pos, o.recheck_wait);
                round += 1;
            }
            _ => break (s, d),
        }
    };
    let mut out = ChunkResult { source_rows: s.0, destination_rows: d.0, differing: true, ..Default::default() };
    if t.key.is_none() {
        out.by_row = s.0;
        let first = compare::multiset_diff(c, t)?;
        let (diff, unsettled) = settle_multiset(c, t, first, o, progress)?;
        (out.diffs, out.unlisted) = compare::render_multiset(c, t, &diff, o.max_listed)?;
        out.unsettled = unsettled;
        return Ok(out);
    }
    let mut keys;
    (keys, out.by_row) = compare::differing_keys(c, t, chunk)?;
    if keys.len() > o.max_listed {
        out.unlisted = (keys.len() - o.max_listed) as u64;
        keys.truncate(o.max_listed);
    }
    (out.diffs, out.unsettled) = recheck_keys(c, t, &keys, o, progress)?;
    Ok(out)
}

/// Compares rows by key. With a [`Progress`], a difference is only reported once it is
/// settled: the applier has passed the source position read after the source row, and the
/// source row has not changed since, in two consecutive looks. A row that keeps changing on
/// the source through every re-check is counted as unsettled, not as a difference.
fn recheck_keys(
    c: &mut Conns,
    t: &VerifyTable,
    keys: &[Vec<Value>],
    o: &VerifyOptions,
    progress: Option<&dyn Progress>,
) -> Result<(KeyDiffs, u64), VerifyError> {
    let mut diffs = compare::compare_keys(c, t, keys)?;
    let Some(p) = progress else { return Ok((diffs, 0)) };
    // Consecutive looks at which a key differed with its source row unchanged.
    let mut steady: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut confirmed: Vec<Vec<Value>> = Vec::new();
    let mut pending: Vec<Vec<Value>> = diffs.keys.clone();
    let mut last = diffs.source_state.clone();
    let mut final_diffs = KeyDiffs::default();
    for _ in 0..o.rechecks.max(2) {
        if pending.is_empty() {
            break;
        }
        let Some(pos) = source_position(&mut c.src) else { break };
        p.wait_applied(&pos, o.recheck_wait);
        diffs = compare::compare_keys(c, t, &pending)?;
        let mut next = Vec::new();
        for k in &diffs.keys {
            let id = compare::key_id(k);
            let unchanged = last.get(&id) == diffs.source_state.get(&id);
            let n = steady.entry(id).or_default();
            *n = if unchanged { *n + 1 } else { 0 };
            if *n >= 2 {
                confirmed.push(k.clone());
            } else {
                next.push(k.clone());
            }
        }
        // Differences confirmed now are kept as last seen.
        let mut now = std::mem::take(&mut diffs);
        now.retain_keys(t, &confirmed);
        final_diffs.missing.append(&mut now.missing);
        final_diffs.extra.append(&mut now.extra);
        final_diffs.different.append(&mut now.different);
        final_diffs.keys.append(&mut now.keys);
        confirmed.clear();
        last = now.source_state;
        pending = next;
    }
    Ok((final_diffs, pending.len() as u64))
}

/// A keyless table's differences, settled like keyed rows' (see [`recheck_keys`]): a row's
/// difference in copies is reported once it held in two consecutive looks, each after the
/// applier passed the source position, with the source's number of copies unchanged; rows
/// still changing are counted as unsettled.
fn settle_multiset(
    c: &mut Conns,
    t: &VerifyTable,
    first: compare::MultisetDiff,
    o: &VerifyOptions,
    progress: Option<&dyn Progress>,
) -> Result<(compare::MultisetDiff, u64), VerifyError> {
    let Some(p) = progress else { return Ok((first, 0)) };
    let mut steady: std::collections::HashMap<Vec<u8>, u32> = std::collections::HashMap::new();
    let mut confirmed = compare::MultisetDiff::new();
    let mut pending = first;
    for _ in 0..o.rechecks.max(2) {
        if pending.is_empty() {
            break;
        }
        let Some(pos) = source_position(&mut c.src) else { break };
        p.wait_applied(&pos, o.recheck_wait);
        let now = compare::multiset_diff(c, t)?;
        let mut next = compare::MultisetDiff::new();
        for (h, (ns, _)) in pending {
            let Some(&(ns2, nd2)) = now.get(&h) else { continue };
            let n = steady.entry(h.clone()).or_default();
            *n = if ns2 == ns { *n + 1 } else { 0 };
            if *n >= 2 {
                confirmed.insert(h, (ns2, nd2));
            } else {
                next.insert(h, (ns2, nd2));
            }
        }
        pending = next;
    }
    Ok((confirmed, pending.values().map(|(s, d)| s.abs_diff(*d)).sum()))
}

/// Continuous verification: compares the rows with these keys (for instance, those incremental
/// sync just applied) and counts what was checked and what differs.
#[derive(Debug)]
pub struct RowChecker {
    conns: Conns,
    /// Rows compared.
    pub checked: u64,
    /// Rows that differ.
    pub mismatched: u64,
    /// Rows that kept changing on the source through every re-check.
    pub unsettled: u64,
}

impl RowChecker {
    /// Connects to both servers.
    pub fn new(source: &Opts, destination: &Opts) -> Result<RowChecker, VerifyError> {
        Ok(RowChecker {
            conns: Conns { src: connect(source)?, dst: connect(destination)? },
            checked: 0,
            mismatched: 0,
            unsettled: 0,
        })
    }

    /// Loads a table's description for [`RowChecker::check`].
    pub fn table(&mut self, map: MappedTable) -> Result<VerifyTable, VerifyError> {
        Ok(VerifyTable::new(TableJob::load(&mut self.conns.src, map)?))
    }

    /// Compares these rows now; with a [`Progress`], differences are re-checked after the
    /// applier caught up. Returns the rows that still differ.
    pub fn check(
        &mut self,
        t: &VerifyTable,
        keys: &[Vec<Value>],
        o: &VerifyOptions,
        progress: Option<&dyn Progress>,
    ) -> Result<KeyDiffs, VerifyError> {
        if t.key.is_none() {
            return Err(VerifyError::Unsupported {
                table: t.job.map.source.to_string(),
                reason: "rows of a table without a synced key cannot be checked one by one".into(),
            });
        }
        let (d, unsettled) = recheck_keys(&mut self.conns, t, keys, o, progress)?;
        self.checked += keys.len() as u64;
        self.mismatched += d.keys.len() as u64;
        self.unsettled += unsettled;
        Ok(d)
    }
}

/// The number of rows of `t` on `side` (the source with its filter).
fn count(conn: &mut Conn, t: &VerifyTable, side: Side) -> Result<u64, VerifyError> {
    let mut cond = "TRUE".to_string();
    if side == Side::Source
        && let Some(f) = &t.job.map.filter
    {
        cond = format!("({f})");
    }
    Ok(conn.query_first(format!("SELECT COUNT(*) FROM {} WHERE {cond}", t.name(side)))?.unwrap_or(0))
}
