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
        Ok(())
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
        Ok(())
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
