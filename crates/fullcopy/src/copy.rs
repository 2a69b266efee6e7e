//! The copy engine: per table a chunk plan (persisted), then reader/writer pairs over bounded
//! channels working through every unfinished chunk.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, Sender, bounded};
use dts_schema::MappedTable;
use dts_types::dialect::{Dialect, Flavour};
use dts_types::{BinlogPosition, GtidPosition, SourcePosition, session};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder};

use crate::chunk::{self, Chunk};
use crate::indexes::Deferred;
use crate::meta::Meta;
use crate::render::{Payload, Render};
use crate::snapshot::Pieces;
use crate::table::TableJob;
use crate::{CopyError, CopyOptions, ExistingRows};
use dts_types::fk::ForeignKey;

/// What a finished copy did, and the watermarks incremental sync needs.
#[derive(Debug, Clone)]
pub struct CopyReport {
    /// Incremental sync replays from here (recorded before the first chunk of the first run).
    pub low: SourcePosition,
    /// The source's position when the last chunk was done: up to here, replayed changes may
    /// meet rows the copy already holds in a later state (the applier overwrites them).
    pub high: SourcePosition,
    /// Rows copied in this run.
    pub rows: u64,
    /// Bytes copied in this run.
    pub bytes: u64,
    /// Chunks copied in this run.
    pub chunks_copied: u64,
    /// Chunks an earlier run had copied.
    pub chunks_already_done: u64,
    /// Tables written as INSERT statements although LOAD DATA could load them, so that
    /// several writers write them at once ([`TableJob::statements_in_parallel`]).
    pub tables_as_statements: Vec<dts_types::TableId>,
    /// Tables whose secondary indexes were built after their rows ([`crate::indexes`]).
    pub indexes_built_after_rows: Vec<dts_types::TableId>,
}

pub(crate) fn exact(opts: Opts) -> OptsBuilder {
    OptsBuilder::from_opts(opts).init(session::init_statements().to_vec())
}

/// The source's current end of binlog: file and offset, without the GTID state (cheap: for
/// waiting and comparing, not for a position sync starts or resumes from).
pub fn source_binlog_position(source: &mut Conn) -> Result<BinlogPosition, CopyError> {
    let dialect = dts_types::dialect::Dialect::of(source)?;
    Ok(binlog_status(source, dialect)?.0)
}

/// The first two columns of `SHOW MASTER STATUS` (or its successor), and the row.
fn binlog_status(source: &mut Conn, dialect: Dialect) -> Result<(BinlogPosition, mysql::Row), CopyError> {
    let row: Option<mysql::Row> = source.query_first(dialect.binlog_status())?;
    let row = row.ok_or(CopyError::Meta { reason: "the source has no binlog (log_bin is OFF)".into() })?;
    let file: String = row.get(0).unwrap_or_default();
    let pos: u64 = row.get(1).unwrap_or_default();
    Ok((BinlogPosition::new(file, pos), row))
}

/// The source's current binlog position and the GTID state exactly there. Read as two
/// values (the offset, then `@@gtid_binlog_pos`), a transaction committed in between would be
/// in the GTID state but after the offset, and a resume by GTID from this position would skip
/// it (or a check of the binlog's history find the two disagree): so MariaDB is asked for the
/// state at the offset itself (`BINLOG_GTID_POS`), and MySQL's status row carries its own
/// `Executed_Gtid_Set`.
pub fn source_position(source: &mut Conn) -> Result<SourcePosition, CopyError> {
    let dialect = Dialect::of(source)?;
    let (binlog, row) = binlog_status(source, dialect)?;
    let gtid: Option<String> = match dialect.flavour {
        Flavour::MariaDb => source
            .exec_first::<Option<String>, _, _>("SELECT BINLOG_GTID_POS(?, ?)", (&binlog.file, binlog.offset))?
            .flatten(),
        // No fifth column, or NULL there: a server without GTIDs (the position is by file).
        Flavour::MySql => row.get_opt::<String, _>(4).and_then(Result::ok),
    };
    Ok(SourcePosition {
        binlog,
        gtid: gtid.filter(|g| !g.trim().is_empty()).and_then(|g| GtidPosition::parse(&g).ok()),
    })
}

/// How long a start position waits for the source's prepared XA transactions to end.
const XA_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// A position a sync starts from, read by `read`, at a moment when no XA transaction is
/// prepared on the source. One prepared before the position and committed after it would be
/// lost: its rows are in the binlog before the position (written at XA PREPARE), and no
/// snapshot sees them before its XA COMMIT, which the binlog after the position holds alone.
/// The position is read first and `XA RECOVER` after it, so a transaction prepared in between
/// is one the binlog after the position holds. Tried again for up to 30 s; then
/// [`CopyError::PreparedXa`] names them.
pub fn without_prepared_xa<T>(
    source: &mut Conn,
    mut read: impl FnMut(&mut Conn) -> Result<T, CopyError>,
) -> Result<T, CopyError> {
    let deadline = std::time::Instant::now() + XA_WAIT;
    loop {
        let at = read(source)?;
        let prepared: Vec<(i64, u64, u64, Vec<u8>)> = source.query("XA RECOVER").map_err(|e| match e {
            // MySQL 8 lists other sessions' XA transactions only with XA_RECOVER_ADMIN.
            mysql::Error::MySqlError(ref m) if m.code == 1227 || m.code == 1044 || m.code == 1045 => {
                CopyError::XaRecoverDenied(e)
            }
            e => CopyError::Sql(e),
        })?;
        if prepared.is_empty() {
            return Ok(at);
        }
        if std::time::Instant::now() >= deadline {
            let xids: Vec<String> = prepared.iter().map(|(f, g, b, d)| xid_literal(*f, *g, *b, d)).collect();
            return Err(CopyError::PreparedXa { xids: xids.join(", ") });
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// An XA RECOVER row as the xid `XA COMMIT` takes: `'gtrid'[,'bqual'[,formatID]]`, in hex
/// where a part is not printable ASCII.
fn xid_literal(format: i64, gtrid_len: u64, bqual_len: u64, data: &[u8]) -> String {
    let part = |b: &[u8]| {
        if b.iter().all(|c| c.is_ascii_graphic() || *c == b' ') && !b.contains(&b'\'') {
            format!("'{}'", String::from_utf8_lossy(b))
        } else {
            format!("X'{}'", b.iter().map(|c| format!("{c:02X}")).collect::<String>())
        }
    };
    let g = (gtrid_len as usize).min(data.len());
    let b = (g + bqual_len as usize).min(data.len());
    let mut xid = part(&data[..g]);
    if bqual_len > 0 || format != 1 {
        xid.push(',');
        xid.push_str(&part(&data[g..b]));
    }
    if format != 1 {
        xid.push_str(&format!(",{format}"));
    }
    xid
}

/// One whole chunk, or a piece of a keyless table, read and rendered, ready for any writer.
pub(crate) struct ChunkData {
    pub table: usize,
    pub chunk: u32,
    pub rows: u64,
    pub bytes: u64,
    pub payload: Payload,
    pub part: Part,
}

/// What part of its table's copy a [`ChunkData`] is.
pub(crate) enum Part {
    /// A whole chunk: its rows commit with its done mark.
    Whole,
    /// A piece of a keyless table's snapshot, committed on its own.
    Piece(Arc<Pieces>),
    /// The end of a snapshot group (no rows): marks its tables done, with their row counts,
    /// once every piece committed.
    Last(Arc<Pieces>, Vec<(usize, u64)>),
}

/// One reader's job: a chunk of a keyed table, or a snapshot group read whole.
enum Work {
    Chunk(usize, Chunk),
    Snapshot(Vec<usize>),
}

/// Copies `tables` from `source` to `dest` (whose tables must exist, see dts-schema's sync).
pub fn run(source: Opts, dest: Opts, tables: Vec<MappedTable>, o: &CopyOptions) -> Result<CopyReport, CopyError> {
    let mut src = Conn::new(exact(source.clone())).map_err(|source| CopyError::Connect { server: "source", source })?;
    let mut dst =
        Conn::new(exact(dest.clone())).map_err(|source| CopyError::Connect { server: "destination", source })?;
    let meta = Meta { task: o.task.clone(), db: o.meta_db.clone() };
    meta.ensure(&mut dst)?;
    let low = match meta.low(&mut dst)? {
        Some(p) => p,
        None => {
            let p = without_prepared_xa(&mut src, source_position)?;
            meta.set_low(&mut dst, &p)?;
            p
        }
    };
    let max_packet: u64 = dst.query_first("SELECT @@max_allowed_packet")?.unwrap_or(4 << 20);
    let batch_bytes = o.batch_bytes.min((max_packet as usize).saturating_sub(64 << 10)).max(16 << 10);

    let trace = std::env::var_os("DTS_COPY_TRACE").is_some();
    let t_plan = std::time::Instant::now();
    let mut jobs = Vec::new();
    let mut todo: Vec<(usize, Chunk)> = Vec::new();
    let mut already = 0;
    // Tables of a foreign-key cascade group are copied together from one snapshot.
    let fk_rows: Vec<(String, String, String, String, String, String)> = src.query(dts_types::fk::QUERY)?;
    let fks: Vec<ForeignKey> = fk_rows.into_iter().filter_map(ForeignKey::from_row).collect();
    let cascades = dts_types::fk::cascade_groups(&fks, |t| tables.iter().any(|m| &m.source == t));
    // Snapshot groups: (group name, tables, whether any of their chunks is left).
    let mut groups: Vec<(String, Vec<usize>, bool)> = Vec::new();
    // Tables whose definition is not the destination's any more: not copied (see below).
    let mut changed_before: Vec<(usize, String)> = Vec::new();
    // Each table's definition as it was before its job was loaded: a change that lands while
    // the copy is planned is then seen by the readers' checks, never taken for the original.
    let mut signatures = Vec::new();
    // Per table: the secondary indexes built once its chunks are all committed, and how many
    // of its chunks (or snapshot groups) this run still commits.
    let deferrals = meta.deferred_indexes();
    let mut deferred: Vec<Option<Deferred>> = Vec::new();
    let mut remaining: Vec<AtomicUsize> = Vec::new();
    for map in tables {
        signatures.push(TableJob::signature(&mut src, &map)?);
        let job = TableJob::load(&mut src, map)?;
        // A column the destination table lacks: the source table changed after the
        // destination's was created (between schema sync and now, or between two runs). Its
        // rows cannot be written as they are; it is handled as a change during the copy.
        if let Some(missing) = missing_on_destination(&mut dst, &job)? {
            changed_before.push((jobs.len(), format!("its column {missing} is not in the destination table")));
            jobs.push(job);
            deferred.push(None);
            remaining.push(AtomicUsize::new(BUILT));
            continue;
        }
        let group = match cascades.get(&job.map.source) {
            Some(role) => Some(role.group.clone()),
            None if job.key.is_none() => Some(job.map.source.to_string()),
            None => None,
        };
        let mut chunks = meta.chunks(&mut dst, &job.map.source)?;
        let mut waiting = deferrals.recorded(&mut dst, &job.map.source)?;
        if chunks.is_empty()
            && waiting.is_none()
            && job.rows_estimate >= crate::indexes::MIN_ROWS
            && o.indexes_after_rows
            && o.existing_rows == ExistingRows::Replace
        {
            // A DDL on the destination: only while this runner holds the task.
            check_fence(&mut dst, o)?;
            waiting = deferrals.defer(&mut dst, &job.map.source, &job.map.target)?;
        }
        if chunks.is_empty() {
            let rows = (o.chunk_bytes / job.avg_row_length).min(o.chunk_rows).max(1);
            let plan = if group.is_some() {
                vec![Chunk { no: 0, lo: None, hi: None }]
            } else {
                chunk::plan(&mut src, &job, rows, job.map.filter.as_deref())?
            };
            meta.save_plan(&mut dst, &job.map.source, &plan)?;
            chunks = plan.into_iter().map(|c| (c, false)).collect();
        }
        let done = chunks.iter().filter(|c| c.1).count() as u64;
        already += done;
        o.progress.start_table(&job.map.source, job.rows_estimate, chunks.len() as u64, done);
        let left = chunks.iter().any(|c| !c.1);
        deferred.push(waiting);
        remaining.push(AtomicUsize::new(match group {
            Some(_) => usize::from(left),
            None => chunks.iter().filter(|c| !c.1).count(),
        }));
        match group {
            Some(name) => match groups.iter_mut().find(|g| g.0 == name) {
                Some(g) => {
                    g.1.push(jobs.len());
                    g.2 |= left;
                }
                None => groups.push((name, vec![jobs.len()], left)),
            },
            None => {
                for (c, d) in chunks {
                    if !d {
                        todo.push((jobs.len(), c));
                    }
                }
            }
        }
        jobs.push(job);
    }
    if trace {
        eprintln!("copy: planned {} chunks in {:?}", todo.len(), t_plan.elapsed());
    }
    statements_where_loads_would_queue(&mut dst, &mut jobs, &todo, o.threads)?;
    let jobs = Arc::new(jobs);
    let signatures = Arc::new(signatures);
    let indexes = Arc::new(IndexesAfterRows { deferrals, deferred, remaining });
    // Tables whose definition changed during their copy: their chunks stop, the others go on.
    let changed: Arc<parking_lot::Mutex<Vec<(usize, String)>>> = Arc::new(parking_lot::Mutex::new(changed_before));

    // Round-robin over tables, so parallel writers load different tables (concurrent loads into
    // one table contend on its indexes).
    todo.sort_by_key(|(t, c)| (c.no, *t));
    // The work list: the snapshot groups first (each is one long read), then every chunk of the
    // plan (already in memory), queued up front.
    let groups: Vec<Work> = groups.into_iter().filter(|g| g.2).map(|g| Work::Snapshot(g.1)).collect();
    let (task_tx, task_rx) = bounded::<Work>((todo.len() + groups.len()).max(1));
    for w in groups.into_iter().chain(todo.into_iter().map(|(t, c)| Work::Chunk(t, c))) {
        task_tx.send(w).expect("receiver alive");
    }
    drop(task_tx);
    let abort = Arc::new(AtomicBool::new(false));
    let totals = Arc::new((AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)));
    // Readers and writers are decoupled by one bounded queue of whole chunks: any writer takes
    // any ready chunk, so neither side waits on one partner.
    let threads = o.threads.max(1);
    let (chunk_tx, chunk_rx) = bounded::<ChunkData>(threads);
    let mut handles = Vec::new();
    for writer in 0..threads as u32 {
        let (jobs_r, sig_r, abort_r, task_rx, tx) =
            (jobs.clone(), signatures.clone(), abort.clone(), task_rx.clone(), chunk_tx.clone());
        let (src_opts, dst_opts, meta_r, o_r, changed_r) =
            (source.clone(), dest.clone(), meta.clone(), o.clone(), changed.clone());
        handles.push(std::thread::spawn(move || -> Result<(), CopyError> {
            let ends = Ends { source: src_opts, dest: dst_opts, meta: meta_r, changed: changed_r };
            let r = read_chunks(ends, &jobs_r, &sig_r, &task_rx, &tx, &abort_r, batch_bytes, &o_r);
            if r.is_err() {
                abort_r.store(true, Ordering::SeqCst);
            }
            r
        }));
        let (jobs_w, abort_w, totals_w, rx) = (jobs.clone(), abort.clone(), totals.clone(), chunk_rx.clone());
        let (dst_opts, meta_w, o_w, indexes_w) = (dest.clone(), meta.clone(), o.clone(), indexes.clone());
        handles.push(std::thread::spawn(move || -> Result<(), CopyError> {
            let r = write_chunks(dst_opts, &jobs_w, &rx, &meta_w, &indexes_w, &abort_w, &totals_w, &o_w, writer);
            if r.is_err() {
                abort_w.store(true, Ordering::SeqCst);
            }
            r
        }));
    }
    drop((chunk_tx, chunk_rx));
    let mut first_err = None;
    for h in handles {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(_) => {
                first_err.get_or_insert(CopyError::Thread);
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    // Tables whose chunks an earlier run committed all of, before it built their indexes.
    for (ti, job) in jobs.iter().enumerate() {
        if indexes.remaining[ti].load(Ordering::SeqCst) == 0 {
            indexes.restore(&mut dst, job, ti, o)?;
        }
    }
    let mut changed = std::mem::take(&mut *changed.lock());
    if !changed.is_empty() {
        changed.sort();
        changed.dedup_by_key(|c| c.0);
        let tables = changed
            .into_iter()
            .map(|(ti, what)| crate::ChangedTable { table: jobs[ti].map.source.clone(), what })
            .collect();
        return Err(CopyError::TablesChanged(tables));
    }
    let high = source_position(&mut src)?;
    meta.set_high(&mut dst, &high)?;
    Ok(CopyReport {
        low,
        high,
        rows: totals.0.load(Ordering::Relaxed),
        bytes: totals.1.load(Ordering::Relaxed),
        chunks_copied: totals.2.load(Ordering::Relaxed),
        chunks_already_done: already,
        tables_as_statements: jobs.iter().filter(|j| j.statements_in_parallel).map(|j| j.map.source.clone()).collect(),
        indexes_built_after_rows: jobs
            .iter()
            .zip(&indexes.deferred)
            .filter(|(_, d)| d.is_some())
            .map(|(j, _)| j.map.source.clone())
            .collect(),
    })
}

/// The tables whose secondary indexes wait for their rows ([`crate::indexes`]), and the count
/// of each table's chunks still to commit in this run: the writer committing a table's last one
/// builds them.
struct IndexesAfterRows {
    deferrals: crate::indexes::DeferredIndexes,
    deferred: Vec<Option<Deferred>>,
    /// [`BUILT`] once a writer built the table's indexes, and for a table this run does not copy.
    remaining: Vec<AtomicUsize>,
}

impl IndexesAfterRows {
    /// A chunk (or snapshot group) of table `ti` committed: builds its indexes if it was the last.
    fn committed(&self, dst: &mut Conn, job: &TableJob, ti: usize, o: &CopyOptions) -> Result<(), CopyError> {
        if self.remaining[ti].fetch_sub(1, Ordering::SeqCst) == 1 {
            self.remaining[ti].store(BUILT, Ordering::SeqCst);
            self.restore(dst, job, ti, o)
        } else {
            Ok(())
        }
    }

    fn restore(&self, dst: &mut Conn, job: &TableJob, ti: usize, o: &CopyOptions) -> Result<(), CopyError> {
        let Some(d) = &self.deferred[ti] else { return Ok(()) };
        check_fence(dst, o)?;
        self.deferrals.restore(dst, &job.map.source, &job.map.target, d)
    }
}

const BUILT: usize = usize::MAX;

/// What a reader connects to: the source, and the destination for a keyless table's metadata;
/// and where it notes tables whose definition changed during their copy.
struct Ends {
    source: Opts,
    dest: Opts,
    meta: Meta,
    changed: Arc<parking_lot::Mutex<Vec<(usize, String)>>>,
}

/// Marks the tables whose chunks several writers will write at once (more than a writer's
/// share of the chunks left) and whose destination table has an AUTO_INCREMENT column, where
/// the destination's LOAD DATA takes a table lock (`innodb_autoinc_lock_mode` below 2): they
/// are written as INSERT statements ([`TableJob::statements_in_parallel`]). Measured on
/// sysbench rows, two writers loading one such table took as long as one.
fn statements_where_loads_would_queue(
    dst: &mut Conn,
    jobs: &mut [TableJob],
    todo: &[(usize, Chunk)],
    threads: usize,
) -> Result<(), CopyError> {
    if threads < 2 || todo.is_empty() {
        return Ok(());
    }
    let mode: Option<u64> = dst.query_first("SELECT @@innodb_autoinc_lock_mode").ok().flatten();
    if mode.is_none_or(|m| m >= 2) {
        return Ok(());
    }
    for (ti, job) in jobs.iter_mut().enumerate() {
        let chunks = todo.iter().filter(|(t, _)| *t == ti).count();
        if chunks < 2 || chunks * threads <= todo.len() {
            continue;
        }
        let auto_increment: Option<u64> = dst.exec_first(
            "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             AND EXTRA LIKE '%auto_increment%'",
            (job.map.target.database.as_str(), job.map.target.table.as_str()),
        )?;
        job.statements_in_parallel = auto_increment.is_some_and(|n| n > 0);
    }
    Ok(())
}

/// The first copied column of `job` that the destination table does not have.
fn missing_on_destination(dst: &mut Conn, job: &TableJob) -> Result<Option<String>, CopyError> {
    let have: Vec<String> = dst.exec(
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
        (job.map.target.database.as_str(), job.map.target.table.as_str()),
    )?;
    if have.is_empty() {
        // No table at all: the write says so, naming it.
        return Ok(None);
    }
    Ok(job
        .columns
        .iter()
        .filter(|c| c.copied)
        .find(|c| !have.iter().any(|h| h.eq_ignore_ascii_case(&c.target)))
        .map(|c| c.target.clone()))
}

#[allow(clippy::too_many_arguments)]
fn read_chunks(
    ends: Ends,
    jobs: &[TableJob],
    signatures: &[String],
    tasks: &Receiver<Work>,
    out: &Sender<ChunkData>,
    abort: &AtomicBool,
    batch_bytes: usize,
    o: &CopyOptions,
) -> Result<(), CopyError> {
    let mut src =
        Conn::new(exact(ends.source.clone())).map_err(|source| CopyError::Connect { server: "source", source })?;
    let mut dst = None;
    while let Ok(work) = tasks.recv() {
        if abort.load(Ordering::SeqCst) {
            return Ok(());
        }
        let (ti, chunk) = match work {
            Work::Chunk(ti, chunk) => (ti, chunk),
            Work::Snapshot(group) => {
                crate::snapshot::read(
                    &mut src,
                    &mut dst,
                    &ends.dest,
                    jobs,
                    &group,
                    &ends.meta,
                    o,
                    batch_bytes,
                    out,
                    abort,
                )?;
                for ti in group {
                    if !same_signature(&mut src, &jobs[ti], &signatures[ti])? {
                        ends.changed.lock().push((ti, "its columns changed".into()));
                    }
                }
                continue;
            }
        };
        if ends.changed.lock().iter().any(|c| c.0 == ti) {
            continue;
        }
        let job = &jobs[ti];
        let read_err = |source: mysql::Error| CopyError::Read { table: job.map.source.to_string(), source };
        let cond = chunk::condition(job, &chunk)?;
        let filter = job.map.filter.as_ref().map(|f| format!(" AND ({f})")).unwrap_or_default();
        let q = format!(
            "SELECT {} FROM {} WHERE {cond}{filter}{}",
            job.select_list(),
            job.map.source.quoted(),
            chunk::order_by(job)
        );
        o.throttle.charge(1, 0, 0);
        let t_read = std::time::Instant::now();
        let mut render = Render::new(job, o, batch_bytes);
        if render.text_protocol() {
            let mut result = src.query_iter(q).map_err(read_err)?;
            for row in result.by_ref() {
                render.push(row.map_err(read_err)?)?;
            }
        } else {
            let mut result = src.exec_iter(q, ()).map_err(read_err)?;
            for row in result.by_ref() {
                render.push(row.map_err(read_err)?)?;
            }
        }
        let (payload, rows) = render.take();
        // DDL on the table during its copy would mix two shapes: this table's copy stops
        // (its chunk is not written); the other tables go on.
        if !same_signature(&mut src, job, &signatures[ti])? {
            ends.changed.lock().push((ti, "its columns changed".into()));
            continue;
        }
        let bytes = payload.bytes();
        let read_time = t_read.elapsed();
        let t_wait = std::time::Instant::now();
        if out.send(ChunkData { table: ti, chunk: chunk.no, rows, bytes, payload, part: Part::Whole }).is_err() {
            return Ok(());
        }
        if std::env::var_os("DTS_COPY_TRACE").is_some() {
            eprintln!(
                "copy: read chunk {} of table {ti} in {read_time:?}, waited {:?} to hand it over",
                chunk.no,
                t_wait.elapsed()
            );
        }
    }
    Ok(())
}

/// Whether the table's columns are still those it had when its copy was planned.
fn same_signature(src: &mut Conn, job: &TableJob, before: &str) -> Result<bool, CopyError> {
    Ok(TableJob::signature(src, &job.map)? == before)
}

/// Checks the runner's lease inside the open transaction (share-locked until its COMMIT: no
/// takeover between the check and it).
fn check_fence(dst: &mut Conn, o: &CopyOptions) -> Result<(), CopyError> {
    if let Some(f) = &o.fence {
        let found: Option<u64> = dst.query_first(f.check_sql())?;
        f.verify(found)?;
    }
    Ok(())
}

/// BEGIN, then in a two-way task the origin mark as the transaction's first write.
pub(crate) fn begin(dst: &mut Conn, o: &CopyOptions) -> Result<(), mysql::Error> {
    dst.query_drop("BEGIN")?;
    if let Some(m) = &o.origin {
        dst.query_drop(m.mark_sql())?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn write_chunks(
    dest: Opts,
    jobs: &[TableJob],
    input: &Receiver<ChunkData>,
    meta: &Meta,
    indexes: &IndexesAfterRows,
    abort: &AtomicBool,
    totals: &(AtomicU64, AtomicU64, AtomicU64),
    o: &CopyOptions,
    writer: u32,
) -> Result<(), CopyError> {
    // LOAD DATA LOCAL asks the client for the file: hand it the chunk waiting in `slot`.
    let slot: Arc<parking_lot::Mutex<Vec<u8>>> = Arc::default();
    let handler_slot = slot.clone();
    let handler = mysql::LocalInfileHandler::new(move |_name, file| {
        let data = std::mem::take(&mut *handler_slot.lock());
        std::io::Write::write_all(file, &data)
    });
    let mut dst = Conn::new(
        exact(dest)
            .init(
                session::init_statements()
                    .into_iter()
                    .chain([
                        "SET SESSION foreign_key_checks = 0".to_string(),
                        // Every warning of a LOAD DATA is read back (the most the server keeps).
                        "SET SESSION max_error_count = 65535".to_string(),
                    ])
                    .collect::<Vec<_>>(),
            )
            .local_infile_handler(Some(handler)),
    )
    .map_err(|source| CopyError::Connect { server: "destination", source })?;
    while let Ok(c) = input.recv() {
        if abort.load(Ordering::SeqCst) {
            return Ok(());
        }
        let job = &jobs[c.table];
        let t_write = std::time::Instant::now();
        let table = job.map.target.to_string();
        let write_err = |e| CopyError::Write { table: table.clone(), source: e };
        if let Part::Last(pieces, tables) = &c.part {
            if !crate::snapshot::wait_for_pieces(pieces, abort) {
                return Ok(());
            }
            begin(&mut dst, o)?;
            for &(ti, rows) in tables {
                dst.query_drop(meta.table_done_sql(&jobs[ti].map.source, rows))?;
                dst.query_drop(meta.snapshot_done_sql(&jobs[ti].map.source))?;
            }
            check_fence(&mut dst, o)?;
            dst.query_drop("COMMIT")?;
            for &(ti, _) in tables {
                o.progress.chunk_done(&jobs[ti].map.source);
                totals.2.fetch_add(1, Ordering::Relaxed);
                indexes.committed(&mut dst, &jobs[ti], ti, o)?;
            }
            continue;
        }
        begin(&mut dst, o)?;
        match c.payload {
            Payload::Inserts(statements) => {
                for (sql, zeros) in statements {
                    if zeros == 0 {
                        dst.query_drop(sql).map_err(write_err)?;
                    } else {
                        dst.query_drop(session::allowing_enum_zero(&sql)).map_err(write_err)?;
                        check_warnings(&mut dst, &table, zeros, false)?;
                    }
                }
            }
            Payload::Load(data, zeros) => {
                *slot.lock() = data;
                let ignore = o.existing_rows == ExistingRows::Ignore;
                // REPLACE, as the INSERTs do (and, unlike LOCAL's default, it keeps errors errors).
                let sql = format!(
                    "LOAD DATA LOCAL INFILE 'dts-sync-chunk' {}INTO TABLE {} CHARACTER SET binary \
                     FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({})",
                    if ignore { "IGNORE " } else { "REPLACE " },
                    job.map.target.quoted(),
                    job.insert_list()
                );
                let sql = if zeros > 0 { session::allowing_enum_zero(&sql) } else { sql };
                dst.query_drop(sql).map_err(write_err)?;
                check_warnings(&mut dst, &table, zeros, ignore)?;
            }
        }
        if let Part::Whole = c.part {
            dst.query_drop(meta.done_sql(&job.map.source, c.chunk, c.rows))?;
        }
        // Counted with the rows they count (a whole chunk or a snapshot piece), under this
        // writer's own part of the total.
        if let Some(sql) =
            dts_types::totals::add_sql(&meta.db, &meta.task, writer, &[(dts_types::totals::FULL_ROWS_COPIED, c.rows)])
        {
            dst.query_drop(sql)?;
        }
        check_fence(&mut dst, o)?;
        dst.query_drop("COMMIT")?;
        if let Part::Piece(pieces) = &c.part {
            pieces.committed.fetch_add(1, Ordering::SeqCst);
        }
        if std::env::var_os("DTS_COPY_TRACE").is_some() {
            eprintln!("copy: wrote chunk {} of table {} in {:?}", c.chunk, c.table, t_write.elapsed());
        }
        o.progress.add(&job.map.source, c.rows, c.bytes);
        totals.0.fetch_add(c.rows, Ordering::Relaxed);
        totals.1.fetch_add(c.bytes, Ordering::Relaxed);
        if let Part::Whole = c.part {
            o.progress.chunk_done(&job.map.source);
            totals.2.fetch_add(1, Ordering::Relaxed);
            indexes.committed(&mut dst, job, c.table, o)?;
        }
    }
    Ok(())
}

/// After a chunk's statement: any warning is a failure, never a silent change (with LOCAL the
/// server turns errors into warnings, as it cannot stop the file), except an ignored duplicate
/// (`ignore`) and exactly one 1265 per ENUM index-0 value written (`enum_zeros`).
fn check_warnings(dst: &mut Conn, table: &str, enum_zeros: usize, ignore: bool) -> Result<(), CopyError> {
    if dst.warnings() == 0 && enum_zeros == 0 {
        return Ok(());
    }
    let warnings: Vec<(String, u32, String)> = dst.query("SHOW WARNINGS")?;
    let truncated = warnings.iter().filter(|w| w.1 == 1265).count();
    let bad: Vec<String> = warnings
        .into_iter()
        .filter(|(_, code, _)| {
            let ignored_duplicate = ignore && *code == 1062;
            let expected_truncation = *code == 1265 && truncated == enum_zeros;
            !(ignored_duplicate || expected_truncation)
        })
        .map(|(level, code, msg)| format!("{level} {code}: {msg}"))
        .collect();
    if !bad.is_empty() || truncated != enum_zeros {
        // The error below is what counts; a failed ROLLBACK leaves nothing committed either.
        let _ = dst.query_drop("ROLLBACK");
        let warnings = if bad.is_empty() {
            format!("{truncated} truncation warning(s) for {enum_zeros} ENUM index-0 value(s)")
        } else {
            bad.join("; ")
        };
        return Err(CopyError::Rejected { table: table.to_string(), warnings });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::xid_literal;

    #[test]
    fn an_xid_reads_as_xa_commit_takes_it() {
        assert_eq!(xid_literal(1, 2, 0, b"x1"), "'x1'");
        assert_eq!(xid_literal(1, 2, 3, b"x1abc"), "'x1','abc'");
        assert_eq!(xid_literal(7, 1, 0, b"g"), "'g','',7");
        assert_eq!(xid_literal(1, 3, 0, b"a'\x01"), "X'612701'");
    }
}
