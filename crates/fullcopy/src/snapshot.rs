//! Copying tables that chunks by key cannot make exact: tables without a usable key, and the
//! tables of a foreign-key cascade group (`dts_types::fk`). Each such group of tables is read
//! inside one consistent snapshot whose binlog position is known, streamed in bounded pieces.
//!
//! Replaying the binlog over a keyless copy is not idempotent (a replayed INSERT adds a row the
//! copy may already hold), and a cascade replayed over tables copied at different moments
//! changes child rows the source did not. So such tables are read inside `START TRANSACTION
//! WITH CONSISTENT SNAPSHOT`, whose binlog position MariaDB reports (`binlog_snapshot_file`,
//! `binlog_snapshot_position`): the snapshot holds exactly the transactions before it.
//! [`Meta::snapshots`] hands that position to incremental sync, which applies these tables'
//! changes only from transactions starting at or after it; from there the destination's state
//! of the group is the source's at every transaction boundary.
//!
//! The rows stream through the copy's bounded queue in pieces of at most a chunk's rows and
//! bytes, each committed in its own destination transaction; the writer of the group's last
//! message marks all its tables done together once every piece has committed. A crash before
//! that leaves the snapshot recorded but not done: the next run deletes the group's rows on the
//! destination and copies it again from a new snapshot.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crossbeam_channel::Sender;
use dts_types::BinlogPosition;
use mysql::prelude::Queryable;
use mysql::{Conn, Opts};

use crate::copy::{ChunkData, Part};
use crate::meta::Meta;
use crate::render::Render;
use crate::table::TableJob;
use crate::{CopyError, CopyOptions, ExistingRows};

/// A snapshot group's pieces in flight: how many were sent and how many committed.
#[derive(Debug, Default)]
pub(crate) struct Pieces {
    pub sent: AtomicU64,
    pub committed: AtomicU64,
}

/// Rows deleted per statement when a crashed copy's rows are removed (bounded transactions).
const DELETE_BATCH: u64 = 10_000;

/// Copies the tables `group` (indexes into `jobs`) from one snapshot, sending their pieces to
/// `out`. `dst` is the reader's destination connection (opened on first use) for the tables'
/// metadata.
#[allow(clippy::too_many_arguments)]
pub(crate) fn read(
    src: &mut Conn,
    dst: &mut Option<Conn>,
    dest: &Opts,
    jobs: &[TableJob],
    group: &[usize],
    meta: &Meta,
    o: &CopyOptions,
    batch_bytes: usize,
    out: &Sender<ChunkData>,
    abort: &AtomicBool,
) -> Result<(), CopyError> {
    if dst.is_none() {
        let opts = crate::copy::exact(dest.clone()).init(
            dts_types::session::init_statements()
                .into_iter()
                .chain(["SET SESSION foreign_key_checks = 0".to_string()])
                .collect::<Vec<_>>(),
        );
        *dst = Some(Conn::new(opts).map_err(|source| CopyError::Connect { server: "destination", source })?);
    }
    let d = dst.as_mut().expect("connected");
    for &ti in group {
        let job = &jobs[ti];
        let target = job.map.target.quoted();
        let write_err = |source| CopyError::Write { table: job.map.target.to_string(), source };
        match meta.snapshot(d, &job.map.source)? {
            // An earlier run's copy of the group did not finish: its rows go, the copy starts again.
            Some(_) => loop {
                // Each batch its own transaction, marked in a two-way task like every write.
                crate::copy::begin(d, o)?;
                d.query_drop(format!("DELETE FROM {target} LIMIT {DELETE_BATCH}")).map_err(write_err)?;
                let deleted = d.affected_rows();
                d.query_drop("COMMIT")?;
                if deleted < DELETE_BATCH {
                    break;
                }
            },
            None if o.existing_rows == ExistingRows::Ignore => {
                let any: Option<u8> = d.query_first(format!("SELECT 1 FROM {target} LIMIT 1")).map_err(write_err)?;
                if any.is_some() {
                    let reason = if job.key.is_none() {
                        "has no primary or unique key"
                    } else {
                        "is in a foreign-key cascade group (copied from one snapshot with the tables it cascades to)"
                    };
                    return Err(CopyError::NotEmpty { table: job.map.target.to_string(), reason });
                }
            }
            None => {}
        }
    }

    let first = &jobs[group[0]].map.source;
    let read_err = |source: mysql::Error| CopyError::Read { table: first.to_string(), source };
    src.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ").map_err(read_err)?;
    src.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY").map_err(read_err)?;
    let at = snapshot_position(src)?;
    for &ti in group {
        meta.set_snapshot(d, &jobs[ti].map.source, &at)?;
    }

    let pieces = Arc::new(Pieces::default());
    let mut totals = Vec::new();
    for &ti in group {
        let job = &jobs[ti];
        let read_err = |source: mysql::Error| CopyError::Read { table: job.map.source.to_string(), source };
        let filter = job.map.filter.as_ref().map(|f| format!(" WHERE ({f})")).unwrap_or_default();
        let q = format!("SELECT {} FROM {}{filter}", job.select_list(), job.map.source.quoted());
        o.throttle.charge(1, 0, 0);
        let piece_bytes = o.chunk_bytes.max(1) as usize;
        let piece_rows = (o.chunk_bytes / job.avg_row_length).min(o.chunk_rows).max(1);
        let mut render = Render::new(job, o, batch_bytes);
        let mut total = 0u64;
        let send = |render: &mut Render, total: &mut u64| -> bool {
            let (payload, rows) = render.take();
            *total += rows;
            pieces.sent.fetch_add(1, Ordering::SeqCst);
            let bytes = payload.bytes();
            let piece = ChunkData { table: ti, chunk: 0, rows, bytes, payload, part: Part::Piece(pieces.clone()) };
            out.send(piece).is_ok()
        };
        {
            let mut rows: Box<dyn Iterator<Item = mysql::Result<mysql::Row>>> = if render.text_protocol() {
                Box::new(src.query_iter(q).map_err(read_err)?)
            } else {
                Box::new(src.exec_iter(q, ()).map_err(read_err)?)
            };
            for row in rows.by_ref() {
                render.push(row.map_err(read_err)?)?;
                if (render.rows >= piece_rows || render.bytes() >= piece_bytes) && !send(&mut render, &mut total) {
                    return Ok(());
                }
                if abort.load(Ordering::SeqCst) {
                    return Ok(());
                }
            }
        }
        if render.rows > 0 && !send(&mut render, &mut total) {
            return Ok(());
        }
        totals.push((ti, total));
    }
    src.query_drop("COMMIT").map_err(read_err)?;
    let last = ChunkData {
        table: group[0],
        chunk: 0,
        rows: 0,
        bytes: 0,
        payload: crate::render::Payload::Inserts(Vec::new()),
        part: Part::Last(pieces, totals),
    };
    // The writers are gone only when the copy is aborting, which reports its own error.
    let _ = out.send(last);
    Ok(())
}

/// The binlog position of the current consistent snapshot (MariaDB).
fn snapshot_position(src: &mut Conn) -> Result<BinlogPosition, CopyError> {
    let vars: Vec<(String, String)> = src.query("SHOW STATUS LIKE 'binlog_snapshot_%'")?;
    let get = |name: &str| vars.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    match (get("binlog_snapshot_file"), get("binlog_snapshot_position").and_then(|p| p.parse::<u64>().ok())) {
        (Some(file), Some(pos)) if !file.is_empty() => Ok(BinlogPosition::new(file, pos)),
        _ => Err(CopyError::Meta {
            reason: "the source does not report its consistent snapshot's binlog position \
                     (binlog_snapshot_file/binlog_snapshot_position, MariaDB with log_bin = ON): \
                     tables without a key and foreign-key cascade groups cannot be copied exactly"
                .into(),
        }),
    }
}

/// Waits (in the writer of a group's last message) until every piece of the group committed.
pub(crate) fn wait_for_pieces(pieces: &Pieces, abort: &AtomicBool) -> bool {
    while pieces.committed.load(Ordering::SeqCst) < pieces.sent.load(Ordering::SeqCst) {
        if abort.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    true
}
