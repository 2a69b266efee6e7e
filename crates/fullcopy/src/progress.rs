//! Progress of a copy, per table: what the binary turns into progress bars.

use std::collections::BTreeMap;
use std::time::Instant;

use dts_types::TableId;
use parking_lot::Mutex;

/// One table's progress at a moment.
#[derive(Debug, Clone, PartialEq)]
pub struct TableProgress {
    /// The source table.
    pub table: TableId,
    /// Rows copied.
    pub rows_done: u64,
    /// Bytes copied.
    pub bytes_done: u64,
    /// The server's estimate of the table's rows (information_schema), at least `rows_done`.
    pub rows_estimate: u64,
    /// Chunks copied.
    pub chunks_done: u64,
    /// Chunks planned.
    pub chunks_total: u64,
    /// Rows per second since the table started.
    pub rate: f64,
    /// Seconds left at that rate, if known.
    pub eta_secs: Option<f64>,
    /// Every chunk is copied.
    pub finished: bool,
}

#[derive(Debug)]
struct Entry {
    rows_done: u64,
    bytes_done: u64,
    rows_estimate: u64,
    chunks_done: u64,
    chunks_total: u64,
    started: Instant,
    finished: bool,
}

/// Shared progress of a running copy.
#[derive(Debug, Default)]
pub struct Progress {
    tables: Mutex<BTreeMap<TableId, Entry>>,
}

impl Progress {
    pub(crate) fn start_table(&self, table: &TableId, rows_estimate: u64, chunks_total: u64, chunks_done: u64) {
        self.tables.lock().insert(
            table.clone(),
            Entry {
                rows_done: 0,
                bytes_done: 0,
                rows_estimate,
                chunks_done,
                chunks_total,
                started: Instant::now(),
                finished: false,
            },
        );
    }

    pub(crate) fn add(&self, table: &TableId, rows: u64, bytes: u64) {
        if let Some(e) = self.tables.lock().get_mut(table) {
            e.rows_done += rows;
            e.bytes_done += bytes;
        }
    }

    pub(crate) fn chunk_done(&self, table: &TableId) {
        if let Some(e) = self.tables.lock().get_mut(table) {
            e.chunks_done += 1;
            if e.chunks_done >= e.chunks_total {
                e.finished = true;
            }
        }
    }

    /// Every table's progress now.
    pub fn snapshot(&self) -> Vec<TableProgress> {
        self.tables
            .lock()
            .iter()
            .map(|(t, e)| {
                let secs = e.started.elapsed().as_secs_f64().max(1e-3);
                let rate = e.rows_done as f64 / secs;
                let estimate = e.rows_estimate.max(e.rows_done);
                let left = estimate - e.rows_done;
                TableProgress {
                    table: t.clone(),
                    rows_done: e.rows_done,
                    bytes_done: e.bytes_done,
                    rows_estimate: estimate,
                    chunks_done: e.chunks_done,
                    chunks_total: e.chunks_total,
                    rate,
                    eta_secs: if e.finished {
                        Some(0.0)
                    } else if rate > 0.0 {
                        Some(left as f64 / rate)
                    } else {
                        None
                    },
                    finished: e.finished,
                }
            })
            .collect()
    }
}
