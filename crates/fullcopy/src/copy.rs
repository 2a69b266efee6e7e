//! The copy engine: per table a chunk plan (persisted), then reader/writer pairs over bounded
//! channels working through every unfinished chunk.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender, bounded};
use dts_schema::MappedTable;
use dts_types::{BinlogPosition, GtidPosition, SourcePosition, Value, session};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder};

use crate::chunk::{self, Chunk};
use crate::meta::Meta;
use crate::table::TableJob;
use crate::{CopyError, CopyOptions, ExistingRows, Throttle};

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
}

fn exact(opts: Opts) -> OptsBuilder {
    OptsBuilder::from_opts(opts).init(session::init_statements().to_vec())
}

/// The source's current binlog position and GTID state.
pub fn source_position(source: &mut Conn) -> Result<SourcePosition, CopyError> {
    let row: Option<mysql::Row> = source.query_first("SHOW MASTER STATUS")?;
    let row = row.ok_or(CopyError::Meta { reason: "the source has no binlog (log_bin is OFF)".into() })?;
    let file: String = row.get(0).unwrap_or_default();
    let pos: u64 = row.get(1).unwrap_or_default();
    let version: String = source.query_first("SELECT @@version")?.unwrap_or_default();
    let gtid_sql = if version.contains("MariaDB") { "SELECT @@gtid_binlog_pos" } else { "SELECT @@gtid_executed" };
    let gtid: Option<String> = source.query_first(gtid_sql).ok().flatten();
    Ok(SourcePosition {
        binlog: BinlogPosition::new(file, pos),
        gtid: gtid.filter(|g| !g.trim().is_empty()).and_then(|g| GtidPosition::parse(&g).ok()),
    })
}

/// One whole chunk, read and rendered, ready for any writer.
struct ChunkData {
    table: usize,
    chunk: u32,
    rows: u64,
    bytes: u64,
    payload: Payload,
}

enum Payload {
    /// Rows as LOAD DATA fields, and how many ENUM index-0 values they hold.
    Load(Vec<u8>, usize),
    /// INSERT statements, each under max_allowed_packet, with the ENUM index-0 values of each.
    Inserts(Vec<(String, usize)>),
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
            let p = source_position(&mut src)?;
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
    for map in tables {
        let job = TableJob::load(&mut src, map)?;
        let mut chunks = meta.chunks(&mut dst, &job.map.source)?;
        if chunks.is_empty() {
            let rows = (o.chunk_bytes / job.avg_row_length).min(o.chunk_rows).max(1);
            let plan = chunk::plan(&mut src, &job, rows, job.map.filter.as_deref())?;
            meta.save_plan(&mut dst, &job.map.source, &plan)?;
            chunks = plan.into_iter().map(|c| (c, false)).collect();
        }
        let done = chunks.iter().filter(|c| c.1).count() as u64;
        already += done;
        o.progress.start_table(&job.map.source, job.rows_estimate, chunks.len() as u64, done);
        for (c, d) in chunks {
            if !d {
                todo.push((jobs.len(), c));
            }
        }
        jobs.push(job);
    }
    if trace {
        eprintln!("copy: planned {} chunks in {:?}", todo.len(), t_plan.elapsed());
    }
    let signatures = jobs.iter().map(|j| TableJob::signature(&mut src, &j.map)).collect::<Result<Vec<_>, _>>()?;
    let jobs = Arc::new(jobs);
    let signatures = Arc::new(signatures);

    // Round-robin over tables, so parallel writers load different tables (concurrent loads into
    // one table contend on its indexes).
    todo.sort_by_key(|(t, c)| (c.no, *t));
    // The work list: every chunk of the plan (already in memory), queued up front.
    let (task_tx, task_rx) = bounded::<(usize, Chunk)>(todo.len().max(1));
    for t in todo {
        task_tx.send(t).expect("receiver alive");
    }
    drop(task_tx);
    let abort = Arc::new(AtomicBool::new(false));
    let totals = Arc::new((AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)));
    // Readers and writers are decoupled by one bounded queue of whole chunks: any writer takes
    // any ready chunk, so neither side waits on one partner.
    let threads = o.threads.max(1);
    let (chunk_tx, chunk_rx) = bounded::<ChunkData>(threads);
    let mut handles = Vec::new();
    for _ in 0..threads {
        let (jobs_r, sig_r, abort_r, task_rx, tx) =
            (jobs.clone(), signatures.clone(), abort.clone(), task_rx.clone(), chunk_tx.clone());
        let (src_opts, o_r) = (source.clone(), o.clone());
        handles.push(std::thread::spawn(move || -> Result<(), CopyError> {
            let r = read_chunks(src_opts, &jobs_r, &sig_r, &task_rx, &tx, &abort_r, batch_bytes, &o_r);
            if r.is_err() {
                abort_r.store(true, Ordering::SeqCst);
            }
            r
        }));
        let (jobs_w, abort_w, totals_w, rx) = (jobs.clone(), abort.clone(), totals.clone(), chunk_rx.clone());
        let (dst_opts, meta_w, o_w) = (dest.clone(), meta.clone(), o.clone());
        handles.push(std::thread::spawn(move || -> Result<(), CopyError> {
            let r = write_chunks(dst_opts, &jobs_w, &rx, &meta_w, &abort_w, &totals_w, &o_w);
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
    let high = source_position(&mut src)?;
    meta.set_high(&mut dst, &high)?;
    Ok(CopyReport {
        low,
        high,
        rows: totals.0.load(Ordering::Relaxed),
        bytes: totals.1.load(Ordering::Relaxed),
        chunks_copied: totals.2.load(Ordering::Relaxed),
        chunks_already_done: already,
    })
}

#[allow(clippy::too_many_arguments)]
fn read_chunks(
    source: Opts,
    jobs: &[TableJob],
    signatures: &[String],
    tasks: &Receiver<(usize, Chunk)>,
    out: &Sender<ChunkData>,
    abort: &AtomicBool,
    batch_bytes: usize,
    o: &CopyOptions,
) -> Result<(), CopyError> {
    let mut src = Conn::new(exact(source)).map_err(|source| CopyError::Connect { server: "source", source })?;
    while let Ok((ti, chunk)) = tasks.recv() {
        if abort.load(Ordering::SeqCst) {
            return Ok(());
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
        let ncopied = job.copied_count();
        let mut rows = 0u64;
        let mut zeros = 0usize;
        let enum_zero = job.enum_zero_columns();
        let payload = if o.load_data && job.loadable() && job.text_exact() {
            // Text protocol: the server's text form goes straight into the LOAD DATA fields.
            let mut tsv = TsvChunk::new(&o.throttle, batch_bytes);
            let mut result = src.query_iter(q).map_err(read_err)?;
            for row in result.by_ref() {
                let row = row.map_err(read_err)?;
                for i in 0..ncopied {
                    tsv.separate(i);
                    let field = row.as_ref(i).expect("selected column");
                    zeros += usize::from(enum_zero[i] && matches!(field, mysql::Value::Bytes(b) if b.is_empty()));
                    crate::tsv::push_text_field(&mut tsv.buf, field)?;
                }
                tsv.end_row();
            }
            rows = tsv.rows;
            Payload::Load(tsv.finish(), zeros)
        } else if o.load_data && job.loadable() {
            let mut result = src.exec_iter(q, ()).map_err(read_err)?;
            let mut tsv = TsvChunk::new(&o.throttle, batch_bytes);
            for row in result.by_ref() {
                let mut values = row.map_err(read_err)?.unwrap();
                values.truncate(ncopied);
                for (i, (v, col)) in values.into_iter().zip(&job.columns).enumerate() {
                    tsv.separate(i);
                    zeros += usize::from(enum_zero[i] && matches!(&v, mysql::Value::Bytes(b) if b.is_empty()));
                    crate::tsv::push_field(&mut tsv.buf, &col.ty, v)?;
                }
                tsv.end_row();
            }
            rows = tsv.rows;
            Payload::Load(tsv.finish(), zeros)
        } else {
            // REPLACE: a row read again in a later chunk (its key moved during the copy) is the
            // newer state and replaces the row it collides with, as the applier does.
            let verb = match o.existing_rows {
                ExistingRows::Error => "REPLACE",
                ExistingRows::Ignore => "INSERT",
            };
            let prefix = format!("{verb} INTO {} ({}) VALUES ", job.map.target.quoted(), job.insert_list());
            let suffix = match o.existing_rows {
                ExistingRows::Error => String::new(),
                ExistingRows::Ignore => {
                    let first = job.columns.iter().find(|c| c.copied).expect("a copied column");
                    let c = dts_types::quote_ident(&first.target);
                    format!(" ON DUPLICATE KEY UPDATE {c} = {c}")
                }
            };
            let mut result = src.exec_iter(q, ()).map_err(read_err)?;
            let mut statements = Vec::new();
            let mut batch_rows = 0u64;
            let mut sql = String::with_capacity(batch_bytes + 4096);
            sql.push_str(&prefix);
            for row in result.by_ref() {
                let mut values = row.map_err(read_err)?.unwrap();
                values.truncate(ncopied);
                if batch_rows > 0 {
                    sql.push(',');
                }
                sql.push('(');
                for (i, (v, col)) in values.into_iter().zip(&job.columns).enumerate() {
                    if i > 0 {
                        sql.push(',');
                    }
                    let v = Value::from_param(&col.ty, v)?;
                    zeros += usize::from(v.is_enum_zero());
                    v.write_sql_literal(&mut sql)?;
                }
                sql.push(')');
                rows += 1;
                batch_rows += 1;
                if sql.len() >= batch_bytes {
                    o.throttle.charge(0, batch_rows, sql.len() as u64);
                    sql.push_str(&suffix);
                    let full = std::mem::replace(&mut sql, String::with_capacity(batch_bytes + 4096));
                    statements.push((full, std::mem::take(&mut zeros)));
                    sql.push_str(&prefix);
                    batch_rows = 0;
                }
            }
            if batch_rows > 0 {
                o.throttle.charge(0, batch_rows, sql.len() as u64);
                sql.push_str(&suffix);
                statements.push((sql, zeros));
            }
            Payload::Inserts(statements)
        };
        // DDL on the table during its copy would mix two shapes: refuse the copy.
        let now = TableJob::signature(&mut src, &job.map)?;
        if now != signatures[ti] {
            return Err(CopyError::SchemaChanged {
                table: job.map.source.to_string(),
                what: "its columns changed".into(),
            });
        }
        let bytes = match &payload {
            Payload::Load(b, _) => b.len() as u64,
            Payload::Inserts(v) => v.iter().map(|s| s.0.len() as u64).sum(),
        };
        let read_time = t_read.elapsed();
        let t_wait = std::time::Instant::now();
        if out.send(ChunkData { table: ti, chunk: chunk.no, rows, bytes, payload }).is_err() {
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

fn write_chunks(
    dest: Opts,
    jobs: &[TableJob],
    input: &Receiver<ChunkData>,
    meta: &Meta,
    abort: &AtomicBool,
    totals: &(AtomicU64, AtomicU64, AtomicU64),
    o: &CopyOptions,
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
        dst.query_drop("BEGIN")?;
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
        dst.query_drop(meta.done_sql(&job.map.source, c.chunk, c.rows))?;
        dst.query_drop("COMMIT")?;
        if std::env::var_os("DTS_COPY_TRACE").is_some() {
            eprintln!("copy: wrote chunk {} of table {} in {:?}", c.chunk, c.table, t_write.elapsed());
        }
        o.progress.add(&job.map.source, c.rows, c.bytes);
        o.progress.chunk_done(&job.map.source);
        totals.0.fetch_add(c.rows, Ordering::Relaxed);
        totals.1.fetch_add(c.bytes, Ordering::Relaxed);
        totals.2.fetch_add(1, Ordering::Relaxed);
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
        .filter(|(_, code, _)| !(ignore && *code == 1062) && !(*code == 1265 && truncated == enum_zeros))
        .map(|(level, code, msg)| format!("{level} {code}: {msg}"))
        .collect();
    if !bad.is_empty() || truncated != enum_zeros {
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

/// A chunk's rows as LOAD DATA input, charged to the throttle every `batch_bytes`.
struct TsvChunk<'a> {
    buf: Vec<u8>,
    rows: u64,
    /// Rows and bytes already charged.
    charged: (u64, usize),
    throttle: &'a Throttle,
    batch_bytes: usize,
}

impl<'a> TsvChunk<'a> {
    fn new(throttle: &'a Throttle, batch_bytes: usize) -> Self {
        TsvChunk { buf: Vec::with_capacity(1 << 20), rows: 0, charged: (0, 0), throttle, batch_bytes }
    }

    /// Before field `i` of a row.
    fn separate(&mut self, i: usize) {
        if i > 0 {
            self.buf.push(b'\t');
        }
    }

    fn end_row(&mut self) {
        self.buf.push(b'\n');
        self.rows += 1;
        if self.buf.len() - self.charged.1 >= self.batch_bytes {
            self.charge();
        }
    }

    fn charge(&mut self) {
        self.throttle.charge(0, self.rows - self.charged.0, (self.buf.len() - self.charged.1) as u64);
        self.charged = (self.rows, self.buf.len());
    }

    fn finish(mut self) -> Vec<u8> {
        self.charge();
        self.buf
    }
}
