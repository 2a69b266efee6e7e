//! The checkpoint in the destination's metadata database: the source position (and GTID
//! state) up to which every transaction is applied. It is written in the same destination
//! transaction as the data it covers.

use dts_types::{BinlogPosition, GtidPosition, Ident, SourcePosition};
use mysql::prelude::Queryable;

use crate::ApplyError;

#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub task: String,
    pub db: Ident,
}

impl Checkpoint {
    fn table(&self) -> String {
        format!("{}.`apply_checkpoint`", self.db.quoted())
    }

    pub fn ensure(&self, dest: &mut mysql::Conn) -> Result<(), ApplyError> {
        dest.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", self.db.quoted()))?;
        dest.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL PRIMARY KEY, binlog_file VARCHAR(255) NOT NULL, \
             binlog_pos BIGINT UNSIGNED NOT NULL, gtid TEXT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) \
             DEFAULT CHARSET=utf8mb4",
            self.table()
        ))?;
        Ok(())
    }

    /// The position applied up to, if any.
    pub fn read(&self, dest: &mut mysql::Conn) -> Result<Option<SourcePosition>, ApplyError> {
        let row: Option<(String, u64, Option<String>)> = dest.exec_first(
            format!("SELECT binlog_file, binlog_pos, gtid FROM {} WHERE task = ?", self.table()),
            (&self.task,),
        )?;
        Ok(row.map(|(f, p, g)| SourcePosition {
            binlog: BinlogPosition::new(f, p),
            gtid: g.filter(|g| !g.is_empty()).and_then(|g| GtidPosition::parse(&g).ok()),
        }))
    }

    /// The statement that records `p`, for the transaction that applies up to it.
    pub fn write_sql(&self, p: &SourcePosition) -> String {
        let lit = |s: &str| dts_types::Value::String(dts_types::Text::utf8mb4(s)).to_sql_literal().expect("renders");
        let gtid = p.gtid.as_ref().map_or("NULL".to_string(), |g| lit(&g.to_string()));
        format!(
            "REPLACE INTO {} (task, binlog_file, binlog_pos, gtid) VALUES ({}, {}, {}, {gtid})",
            self.table(),
            lit(&self.task),
            lit(&p.binlog.file),
            p.binlog.offset
        )
    }
}
