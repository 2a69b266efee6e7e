//! Renames a task follows (`follow_renames`): recorded in its metadata database in the same
//! destination transaction as the checkpoint that passes the RENAME, and applied to the task's
//! selection (and row filters) whenever the task starts, verifies or is checked, so a table
//! that moved keeps syncing under its new name across restarts.

use dts_types::{Ident, TableId};
use mysql::Conn;
use mysql::prelude::Queryable;

use crate::config::Config;

/// A task's followed renames (table `followed_renames` in its metadata database).
#[derive(Debug, Clone)]
pub(crate) struct FollowedRenames {
    pub task: String,
    pub db: Ident,
}

fn lit(s: &str) -> String {
    dts_types::Value::String(dts_types::Text::utf8mb4(s)).to_sql_literal().expect("renders")
}

impl FollowedRenames {
    pub fn of(config: &Config) -> Self {
        FollowedRenames { task: config.name().to_string(), db: config.meta_db.clone() }
    }

    fn table(&self) -> String {
        format!("{}.`followed_renames`", self.db.quoted())
    }

    /// Creates the table where missing (before incremental sync starts: the applier's DDL
    /// checkpoint writes into it).
    pub fn ensure(&self, c: &mut Conn) -> Result<(), mysql::Error> {
        c.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", self.db.quoted()))?;
        c.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL, seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, \
             db VARCHAR(64) NOT NULL, from_tbl VARCHAR(64) NOT NULL, to_tbl VARCHAR(64) NOT NULL, \
             PRIMARY KEY (seq), KEY (task)) DEFAULT CHARSET=utf8mb4",
            self.table()
        ))
    }

    /// The statement recording one followed rename (run by the applier in the checkpoint's
    /// transaction).
    pub fn insert_sql(&self, db: &str, from: &str, to: &str) -> String {
        format!(
            "INSERT INTO {} (task, db, from_tbl, to_tbl) VALUES ({}, {}, {}, {})",
            self.table(),
            lit(&self.task),
            lit(db),
            lit(from),
            lit(to)
        )
    }

    /// The followed renames, oldest first.
    fn read(&self, c: &mut Conn) -> Result<Vec<(String, String, String)>, mysql::Error> {
        let exists = c
            .exec_first::<u8, _, _>(
                "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'followed_renames'",
                (self.db.as_str(),),
            )?
            .is_some();
        if !exists {
            return Ok(Vec::new());
        }
        c.exec(format!("SELECT db, from_tbl, to_tbl FROM {} WHERE task = ? ORDER BY seq", self.table()), (&self.task,))
    }
}

/// Follows one rename in `config`: the selection, and the row filter, which moves with the
/// table.
pub(crate) fn follow_in(config: &mut Config, db: &str, from: &str, to: &str) {
    if config.selection.follow_rename(db, from, to)
        && let Some(f) = crate::config::find_filter(&config.filters, db, from).cloned()
    {
        config.filters.insert((db.to_string(), to.to_string()), f);
    }
}

impl Config {
    /// The task as it stands now: the task file with the renames it has followed so far
    /// (`follow_renames`) applied, read from its metadata database on `destination`. Running,
    /// verifying and checking a task all start from this.
    pub fn with_followed_renames(mut self, destination: &mut Conn) -> Result<Config, mysql::Error> {
        for (db, from, to) in FollowedRenames::of(&self).read(destination)? {
            follow_in(&mut self, &db, &from, &to);
        }
        Ok(self)
    }
}

/// A table the task now syncs under a followed name, for the binlog reader's table filter.
pub(crate) fn table_id(db: &str, table: &str) -> Option<TableId> {
    TableId::parse(db, table).ok()
}
