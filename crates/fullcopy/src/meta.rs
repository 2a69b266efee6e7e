//! The copy's state in the destination's metadata database: the watermarks and every chunk,
//! with whether it is done. A chunk is marked done in the same transaction as its rows.

use dts_types::{BinlogPosition, GtidPosition, Ident, SourcePosition, TableId};
use mysql::prelude::Queryable;

use crate::CopyError;
use crate::chunk::Chunk;

/// A task's full copy metadata in the destination's metadata database: the watermarks and each table's chunk plan and done marks.
#[derive(Debug, Clone)]
pub struct Meta {
    /// The task.
    pub task: String,
    /// The metadata database.
    pub db: Ident,
}

impl Meta {
    fn t(&self, name: &str) -> String {
        format!("{}.`{name}`", self.db.quoted())
    }

    /// Creates the metadata tables if they do not exist.
    pub fn ensure(&self, dest: &mut mysql::Conn) -> Result<(), CopyError> {
        dest.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", self.db.quoted()))?;
        dest.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL PRIMARY KEY, \
             low_file VARCHAR(255) NOT NULL, low_pos BIGINT UNSIGNED NOT NULL, low_gtid TEXT NULL, \
             high_file VARCHAR(255) NULL, high_pos BIGINT UNSIGNED NULL, high_gtid TEXT NULL) DEFAULT CHARSET=utf8mb4",
            self.t("fullcopy_state")
        ))?;
        dest.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL, db VARCHAR(64) NOT NULL, tbl VARCHAR(64) NOT NULL, \
             chunk_no INT UNSIGNED NOT NULL, chunk LONGTEXT NOT NULL, done TINYINT NOT NULL DEFAULT 0, \
             rows_copied BIGINT UNSIGNED NOT NULL DEFAULT 0, PRIMARY KEY (task, db, tbl, chunk_no)) \
             DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            self.t("fullcopy_chunks")
        ))?;
        dest.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL, db VARCHAR(64) NOT NULL, tbl VARCHAR(64) NOT NULL, \
             snapshot_file VARCHAR(255) NOT NULL, snapshot_pos BIGINT UNSIGNED NOT NULL, done TINYINT NOT NULL DEFAULT 0, \
             PRIMARY KEY (task, db, tbl)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            self.t("fullcopy_snapshots")
        ))?;
        dest.query_drop(dts_types::totals::create_sql(&self.db))?;
        self.deferred_indexes().ensure(dest)?;
        Ok(())
    }

    /// The records of the secondary indexes this task's copy builds after the rows.
    pub fn deferred_indexes(&self) -> crate::indexes::DeferredIndexes {
        crate::indexes::DeferredIndexes { task: self.task.clone(), db: self.db.clone() }
    }

    /// Where the consistent snapshot a keyless table was (or is being) copied from stands in
    /// the binlog, and whether its copy is done; `None` if its copy never started.
    pub fn snapshot(
        &self,
        dest: &mut mysql::Conn,
        table: &TableId,
    ) -> Result<Option<(BinlogPosition, bool)>, CopyError> {
        let row: Option<(String, u64, i8)> = dest.exec_first(
            format!(
                "SELECT snapshot_file, snapshot_pos, done FROM {} WHERE task = ? AND db = ? AND tbl = ?",
                self.t("fullcopy_snapshots")
            ),
            (&self.task, table.database.as_str(), table.table.as_str()),
        )?;
        Ok(row.map(|(f, p, d)| (BinlogPosition::new(f, p), d != 0)))
    }

    /// Records that a keyless table's copy starts from a snapshot at `at` (before any of its
    /// rows commit, so a restart knows the rows on the destination are this copy's).
    pub fn set_snapshot(&self, dest: &mut mysql::Conn, table: &TableId, at: &BinlogPosition) -> Result<(), CopyError> {
        dest.exec_drop(
            format!(
                "REPLACE INTO {} (task, db, tbl, snapshot_file, snapshot_pos, done) VALUES (?, ?, ?, ?, ?, 0)",
                self.t("fullcopy_snapshots")
            ),
            (&self.task, table.database.as_str(), table.table.as_str(), &at.file, at.offset),
        )?;
        Ok(())
    }

    /// The statement marking every chunk of a table done (a snapshot copy reads it whole), its
    /// rows counted on chunk 0.
    pub fn table_done_sql(&self, table: &TableId, rows: u64) -> String {
        format!(
            "UPDATE {} SET done = 1, rows_copied = IF(chunk_no = 0, {rows}, 0) WHERE task = {} AND db = {} AND tbl = {}",
            self.t("fullcopy_chunks"),
            text(&self.task),
            text(table.database.as_str()),
            text(table.table.as_str()),
        )
    }

    /// The statement marking a table's snapshot copy done, run with its chunks' done marks.
    pub fn snapshot_done_sql(&self, table: &TableId) -> String {
        format!(
            "UPDATE {} SET done = 1 WHERE task = {} AND db = {} AND tbl = {}",
            self.t("fullcopy_snapshots"),
            text(&self.task),
            text(table.database.as_str()),
            text(table.table.as_str()),
        )
    }

    /// Every table this task copied from a snapshot of its own, with the snapshot's binlog
    /// position: incremental sync applies a change of such a table only when its transaction
    /// starts at or after that position (the snapshot holds every earlier one). Empty when the
    /// copy's metadata does not exist.
    pub fn snapshots(&self, dest: &mut mysql::Conn) -> Result<Vec<(TableId, BinlogPosition)>, CopyError> {
        let exists: Option<u8> = dest.exec_first(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'fullcopy_snapshots'",
            (self.db.as_str(),),
        )?;
        if exists.is_none() {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, String, String, u64)> = dest.exec(
            format!(
                "SELECT db, tbl, snapshot_file, snapshot_pos FROM {} WHERE task = ? AND done = 1",
                self.t("fullcopy_snapshots")
            ),
            (&self.task,),
        )?;
        rows.into_iter()
            .map(|(db, tbl, f, p)| {
                let id = TableId::parse(&db, &tbl)
                    .map_err(|e| CopyError::Meta { reason: format!("snapshot of {db}.{tbl}: {e}") })?;
                Ok((id, BinlogPosition::new(f, p)))
            })
            .collect()
    }

    /// The low watermark of this task's copy, if one was recorded.
    pub fn low(&self, dest: &mut mysql::Conn) -> Result<Option<SourcePosition>, CopyError> {
        let row: Option<(String, u64, Option<String>)> = dest.exec_first(
            format!("SELECT low_file, low_pos, low_gtid FROM {} WHERE task = ?", self.t("fullcopy_state")),
            (&self.task,),
        )?;
        Ok(row.map(|(f, p, g)| SourcePosition {
            binlog: BinlogPosition::new(f, p),
            gtid: g.and_then(|g| GtidPosition::parse(&g).ok()),
        }))
    }

    /// Records the low watermark `L`: where incremental sync replays from.
    pub fn set_low(&self, dest: &mut mysql::Conn, p: &SourcePosition) -> Result<(), CopyError> {
        dest.exec_drop(
            format!("INSERT INTO {} (task, low_file, low_pos, low_gtid) VALUES (?, ?, ?, ?)", self.t("fullcopy_state")),
            (&self.task, &p.binlog.file, p.binlog.offset, p.gtid.as_ref().map(|g| g.to_string())),
        )?;
        Ok(())
    }

    /// Records the high watermark `H`: the source's position when the last chunk was done.
    pub fn set_high(&self, dest: &mut mysql::Conn, p: &SourcePosition) -> Result<(), CopyError> {
        dest.exec_drop(
            format!(
                "UPDATE {} SET high_file = ?, high_pos = ?, high_gtid = ? WHERE task = ?",
                self.t("fullcopy_state")
            ),
            (&p.binlog.file, p.binlog.offset, p.gtid.as_ref().map(|g| g.to_string()), &self.task),
        )?;
        Ok(())
    }

    /// The high watermark `H`, once the copy recorded it.
    pub fn high(&self, dest: &mut mysql::Conn) -> Result<Option<dts_types::BinlogPosition>, CopyError> {
        let row: Option<(Option<String>, Option<u64>)> = dest.exec_first(
            format!("SELECT high_file, high_pos FROM {} WHERE task = ?", self.t("fullcopy_state")),
            (&self.task,),
        )?;
        Ok(row.and_then(|(f, p)| Some(dts_types::BinlogPosition::new(f?, p?))))
    }

    /// The chunk plan of a table and which chunks are done; empty if not planned yet.
    pub fn chunks(&self, dest: &mut mysql::Conn, table: &TableId) -> Result<Vec<(Chunk, bool)>, CopyError> {
        let rows: Vec<(String, i8)> = dest.exec(
            format!(
                "SELECT chunk, done FROM {} WHERE task = ? AND db = ? AND tbl = ? ORDER BY chunk_no",
                self.t("fullcopy_chunks")
            ),
            (&self.task, table.database.as_str(), table.table.as_str()),
        )?;
        rows.into_iter()
            .map(|(json, done)| {
                let c: Chunk = serde_json::from_str(&json)
                    .map_err(|e| CopyError::Meta { reason: format!("chunk of {table} is unreadable: {e}") })?;
                Ok((c, done != 0))
            })
            .collect()
    }

    /// Stores a table's chunk plan (all at once, so a plan is either whole or absent).
    pub fn save_plan(&self, dest: &mut mysql::Conn, table: &TableId, chunks: &[Chunk]) -> Result<(), CopyError> {
        let mut tx = dest.start_transaction(mysql::TxOpts::default())?;
        for c in chunks {
            tx.exec_drop(
                format!(
                    "INSERT INTO {} (task, db, tbl, chunk_no, chunk) VALUES (?, ?, ?, ?, ?)",
                    self.t("fullcopy_chunks")
                ),
                (
                    &self.task,
                    table.database.as_str(),
                    table.table.as_str(),
                    c.no,
                    serde_json::to_string(c).expect("chunks serialize"),
                ),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Forgets a table's chunk plan and progress, so the next copy plans and copies it afresh
    /// (`dts-sync recopy`).
    pub fn forget_table(&self, dest: &mut mysql::Conn, table: &TableId) -> Result<(), CopyError> {
        dest.exec_drop(
            format!("DELETE FROM {} WHERE task = ? AND db = ? AND tbl = ?", self.t("fullcopy_chunks")),
            (&self.task, table.database.as_str(), table.table.as_str()),
        )?;
        self.deferred_indexes().forget(dest, table)
    }

    /// The statement marking a chunk done, run inside the chunk's transaction.
    pub fn done_sql(&self, table: &TableId, chunk: u32, rows: u64) -> String {
        format!(
            "UPDATE {} SET done = 1, rows_copied = {rows} WHERE task = {} AND db = {} AND tbl = {} AND chunk_no = {chunk}",
            self.t("fullcopy_chunks"),
            text(&self.task),
            text(table.database.as_str()),
            text(table.table.as_str()),
        )
    }
}

fn text(s: &str) -> String {
    dts_types::Value::String(dts_types::Text::utf8mb4(s)).to_sql_literal().expect("strings render")
}
