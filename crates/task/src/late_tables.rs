//! Tables schema sync created after the full copy's low watermark (a resumed run finding
//! tables the source created while the copy ran), with the source position read just before
//! their definitions were.
//!
//! Incremental sync replays the binlog from the low watermark, so it meets these tables'
//! CREATE and any ALTER before that position again — changes their definition already holds.
//! The router skips exactly those (by position), so they neither fail on the destination nor
//! apply twice; a change after the position applies as usual.

use std::collections::BTreeMap;

use dts_types::{BinlogPosition, Ident};
use mysql::Conn;
use mysql::prelude::Queryable;

/// A task's late-created tables in its metadata database (table `schema_created_late`).
#[derive(Debug, Clone)]
pub(crate) struct LateTables {
    pub task: String,
    pub db: Ident,
}

/// Source `(database, table)` => the source position before its definition was read.
pub(crate) type Created = BTreeMap<(String, String), BinlogPosition>;

impl LateTables {
    fn table(&self) -> String {
        format!("{}.`schema_created_late`", self.db.quoted())
    }

    fn ensure(&self, c: &mut Conn) -> Result<(), mysql::Error> {
        c.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", self.db.quoted()))?;
        c.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL, db VARCHAR(64) NOT NULL, \
             tbl VARCHAR(64) NOT NULL, binlog_file VARCHAR(255) NOT NULL, binlog_pos BIGINT UNSIGNED NOT NULL, \
             PRIMARY KEY (task, db, tbl)) DEFAULT CHARSET=utf8mb4",
            self.table()
        ))
    }

    /// Records that schema sync created `tables` (source names) from definitions read after
    /// `at`.
    pub fn record(&self, c: &mut Conn, tables: &[(String, String)], at: &BinlogPosition) -> Result<(), mysql::Error> {
        self.ensure(c)?;
        for (db, tbl) in tables {
            c.exec_drop(
                format!(
                    "REPLACE INTO {} (task, db, tbl, binlog_file, binlog_pos) VALUES (?, ?, ?, ?, ?)",
                    self.table()
                ),
                (&self.task, db, tbl, &at.file, at.offset),
            )?;
        }
        Ok(())
    }

    /// What was recorded (nothing before the first record).
    pub fn read(&self, c: &mut Conn) -> Result<Created, mysql::Error> {
        let exists = c
            .exec_first::<u8, _, _>(
                "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'schema_created_late'",
                (self.db.as_str(),),
            )?
            .is_some();
        if !exists {
            return Ok(Created::new());
        }
        let rows: Vec<(String, String, String, u64)> = c.exec(
            format!("SELECT db, tbl, binlog_file, binlog_pos FROM {} WHERE task = ?", self.table()),
            (&self.task,),
        )?;
        Ok(rows.into_iter().map(|(d, t, f, p)| ((d, t), BinlogPosition::new(f, p))).collect())
    }
}
