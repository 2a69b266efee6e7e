//! The checkpoint in the destination's metadata database, written in the same destination
//! transaction as the data it covers (by `DestTxn`, the only writer).
//!
//! Each connection that commits (a `Writer`) keeps a row `(task, worker)` holding the *low
//! watermark*: a source position up to which every transaction is applied. With parallel
//! workers, transactions after it may also be applied already: each destination transaction
//! also records the range of source positions it covers in `apply_done`, so a restart from the
//! highest low watermark skips exactly those.

use dts_types::{BinlogPosition, GtidPosition, Ident, SourcePosition};
use mysql::prelude::Queryable;

use crate::ApplyError;

/// A task's checkpoint in the destination: where applying resumes. Reading it needs no
/// applier (a status page or a verifier reads it too).
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The task whose rows these are.
    pub task: String,
    /// The metadata database holding `apply_checkpoint` and `apply_done`.
    pub db: Ident,
    /// The runner's lease epoch, checked inside every checkpoint transaction before its
    /// COMMIT (`None`: unfenced, for readers and tests).
    pub fence: Option<dts_types::fence::Fence>,
    /// A two-way direction's writing rules: the origin mark every transaction begins with, and
    /// the conflict policies (`None`: one-way).
    pub two_way: Option<std::sync::Arc<crate::conflict::TwoWay>>,
}

/// A range of source positions `(start, end]` whose transactions a destination transaction
/// applied.
pub(crate) type DoneRange = (Option<BinlogPosition>, BinlogPosition);

/// Which connection writes a checkpoint row: each keeps its own row `(task, worker)`, so
/// concurrent commits never write the same row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writer {
    /// The applier's own connection: every commit of the serial path, and in parallel mode
    /// the barriers (DDL, transactions larger than a group) and the low watermark it records
    /// when it prunes. Row 0.
    Main,
    /// Parallel worker `n` (counting from 0). Row `n + 1`.
    Worker(u32),
}

impl Writer {
    /// The `worker` column of its row (the layout of existing tasks' checkpoints).
    pub(crate) fn row(self) -> u32 {
        match self {
            Writer::Main => 0,
            Writer::Worker(n) => n + 1,
        }
    }
}

fn lit(s: &str) -> String {
    dts_types::Value::String(dts_types::Text::utf8mb4(s)).to_sql_literal().expect("renders")
}

impl Checkpoint {
    /// The checkpoint of `task` in `db`, unfenced.
    pub fn new(task: &str, db: &Ident) -> Self {
        Checkpoint { task: task.to_string(), db: db.clone(), fence: None, two_way: None }
    }

    fn table(&self) -> String {
        format!("{}.`apply_checkpoint`", self.db.quoted())
    }

    fn done_table(&self) -> String {
        format!("{}.`apply_done`", self.db.quoted())
    }

    /// Creates the metadata database and its tables where missing.
    pub(crate) fn ensure(&self, dest: &mut mysql::Conn) -> Result<(), ApplyError> {
        dest.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", self.db.quoted()))?;
        dest.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL, worker INT UNSIGNED NOT NULL, \
             binlog_file VARCHAR(255) NOT NULL, binlog_pos BIGINT UNSIGNED NOT NULL, file_seq BIGINT UNSIGNED NOT NULL, \
             gtid TEXT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), PRIMARY KEY (task, worker)) \
             DEFAULT CHARSET=utf8mb4",
            self.table()
        ))?;
        dest.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL, end_seq BIGINT UNSIGNED NOT NULL, \
             end_pos BIGINT UNSIGNED NOT NULL, end_file VARCHAR(255) NOT NULL, start_file VARCHAR(255) NULL, \
             start_pos BIGINT UNSIGNED NULL, PRIMARY KEY (task, end_seq, end_pos)) DEFAULT CHARSET=utf8mb4",
            self.done_table()
        ))?;
        dest.query_drop(dts_types::totals::create_sql(&self.db))?;
        Ok(())
    }

    /// The highest low watermark of the task: every transaction up to it is applied.
    pub fn read(&self, dest: &mut mysql::Conn) -> Result<Option<SourcePosition>, ApplyError> {
        let row: Option<(String, u64, Option<String>)> = dest.exec_first(
            format!(
                "SELECT binlog_file, binlog_pos, gtid FROM {} WHERE task = ? ORDER BY file_seq DESC, binlog_pos DESC LIMIT 1",
                self.table()
            ),
            (&self.task,),
        )?;
        Ok(row.map(|(f, p, g)| SourcePosition {
            binlog: BinlogPosition::new(f, p),
            gtid: g.filter(|g| !g.is_empty()).and_then(|g| GtidPosition::parse(&g).ok()),
        }))
    }

    /// Ranges applied beyond `low` (by parallel workers).
    pub(crate) fn done_after(
        &self,
        dest: &mut mysql::Conn,
        low: Option<&BinlogPosition>,
    ) -> Result<Vec<DoneRange>, ApplyError> {
        let rows: Vec<(String, u64, Option<String>, Option<u64>)> = dest.exec(
            format!("SELECT end_file, end_pos, start_file, start_pos FROM {} WHERE task = ?", self.done_table()),
            (&self.task,),
        )?;
        Ok(rows
            .into_iter()
            .map(|(ef, ep, sf, sp)| (sf.zip(sp).map(|(f, p)| BinlogPosition::new(f, p)), BinlogPosition::new(ef, ep)))
            .filter(|(_, end)| low.is_none_or(|l| end > l))
            .collect())
    }

    /// The ends of the ranges workers applied beyond `low` (after a crash in parallel mode,
    /// until a run from `low` passes them): what a move to another source server must not
    /// leave behind, as their positions are in the old server's binlog.
    pub fn done_beyond(&self, dest: &mut mysql::Conn, low: &BinlogPosition) -> Result<Vec<BinlogPosition>, ApplyError> {
        Ok(self.done_after(dest, Some(low))?.into_iter().map(|(_, end)| end).collect())
    }

    /// The statements that move the checkpoint to `to`, a position on another source server
    /// (a promoted replica, at the GTID state the checkpoint held): every writer's row and
    /// every done range are of the old server's binlog, so they are replaced by one row at
    /// `to`. Run by the task inside its fenced transaction that rebases all its positions
    /// (`crates/task/src/source_switch.rs`), the one checkpoint write outside `DestTxn`.
    pub fn rebase_sql(&self, to: &SourcePosition) -> Vec<String> {
        vec![
            format!("DELETE FROM {} WHERE task = {}", self.done_table(), lit(&self.task)),
            format!("DELETE FROM {} WHERE task = {}", self.table(), lit(&self.task)),
            self.write_sql(Writer::Main, to),
        ]
    }

    /// The statement that records `writer`'s low watermark `p`.
    pub(crate) fn write_sql(&self, writer: Writer, p: &SourcePosition) -> String {
        let worker = writer.row();
        let gtid = p.gtid.as_ref().map_or("NULL".to_string(), |g| lit(&g.to_string()));
        format!(
            "REPLACE INTO {} (task, worker, binlog_file, binlog_pos, file_seq, gtid) VALUES ({}, {worker}, {}, {}, {}, {gtid})",
            self.table(),
            lit(&self.task),
            lit(&p.binlog.file),
            p.binlog.offset,
            p.binlog.file_sequence().1.unwrap_or(0)
        )
    }

    /// The statement that records the source ranges a destination transaction applies
    /// (`None` for none).
    pub(crate) fn done_sql(&self, ranges: &[DoneRange]) -> Option<String> {
        if ranges.is_empty() {
            return None;
        }
        let rows: Vec<String> = ranges
            .iter()
            .map(|(start, end)| {
                let (start_file, start_pos) = match start {
                    Some(s) => (lit(&s.file), s.offset.to_string()),
                    None => ("NULL".into(), "NULL".into()),
                };
                format!(
                    "({}, {}, {}, {}, {start_file}, {start_pos})",
                    lit(&self.task),
                    end.file_sequence().1.unwrap_or(0),
                    end.offset,
                    lit(&end.file)
                )
            })
            .collect();
        Some(format!(
            "INSERT INTO {} (task, end_seq, end_pos, end_file, start_file, start_pos) VALUES {}",
            self.done_table(),
            rows.join(", ")
        ))
    }

    /// Forgets ranges at or below the low watermark (they are covered by it).
    pub(crate) fn prune_sql(&self, low: &BinlogPosition) -> String {
        let seq = low.file_sequence().1.unwrap_or(0);
        format!(
            "DELETE FROM {} WHERE task = {} AND (end_seq < {seq} OR (end_seq = {seq} AND end_pos <= {}))",
            self.done_table(),
            lit(&self.task),
            low.offset
        )
    }
}
