//! What the DDL translator learns from the binlog beyond the task file — renames it follows
//! (`follow_renames`) and online schema change migrations in progress (the shadow table's
//! CREATE and the ALTERs to apply at its cut-over) — kept in the task's metadata database, so
//! that a restart decides every later statement as an uninterrupted run would.
//!
//! Each change is written by the applier in the same destination transaction as the checkpoint
//! that passes its statement (`Ddl::record`), keyed by the statement's position, so a statement
//! read again rewrites its rows instead of adding to them. A new input hands them back to its
//! router ([`Translator::restore`](dts_schema::Translator::restore)); the followed renames are
//! also applied to the task's selection whenever it starts, verifies or is checked
//! ([`Config::with_followed_renames`]).

use dts_schema::StateChange;
use dts_types::{BinlogPosition, Ident, TableId};
use mysql::Conn;
use mysql::prelude::Queryable;

use crate::config::Config;

/// A task's translator state (table `translator_state` in its metadata database).
#[derive(Debug, Clone)]
pub(crate) struct TranslatorState {
    pub task: String,
    pub db: Ident,
}

fn lit(s: &str) -> String {
    dts_types::Value::String(dts_types::Text::utf8mb4(s)).to_sql_literal().expect("renders")
}

/// A change as stored: kind, database, table, argument.
fn columns(c: &StateChange) -> (&'static str, &str, &str, Option<&str>) {
    match c {
        StateChange::Followed { database, from, to } => ("followed", database, from, Some(to)),
        StateChange::ShadowCreated { database, table } => ("shadow_created", database, table, None),
        StateChange::ShadowAltered { database, table, spec } => ("shadow_altered", database, table, Some(spec)),
    }
}

fn change(kind: &str, database: String, table: String, arg: Option<String>) -> Option<StateChange> {
    Some(match (kind, arg) {
        ("followed", Some(to)) => StateChange::Followed { database, from: table, to },
        ("shadow_created", _) => StateChange::ShadowCreated { database, table },
        ("shadow_altered", Some(spec)) => StateChange::ShadowAltered { database, table, spec },
        _ => return None,
    })
}

impl TranslatorState {
    pub fn of(config: &Config) -> Self {
        TranslatorState { task: config.name().to_string(), db: config.meta_db.clone() }
    }

    fn table(&self) -> String {
        format!("{}.`translator_state`", self.db.quoted())
    }

    /// Creates the table where missing (before incremental sync starts: the applier's DDL
    /// checkpoints write into it).
    pub fn ensure(&self, c: &mut Conn) -> Result<(), mysql::Error> {
        c.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", self.db.quoted()))?;
        c.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL, file_seq BIGINT UNSIGNED NOT NULL, \
             binlog_pos BIGINT UNSIGNED NOT NULL, binlog_file VARCHAR(255) NOT NULL, idx INT UNSIGNED NOT NULL, \
             kind VARCHAR(16) NOT NULL, db VARCHAR(64) NOT NULL, tbl VARCHAR(64) NOT NULL, arg MEDIUMTEXT NULL, \
             PRIMARY KEY (task, file_seq, binlog_pos, binlog_file, idx)) DEFAULT CHARSET=utf8mb4",
            self.table()
        ))
    }

    /// The statement recording change number `idx` of the statement ending at `at`.
    pub fn record_sql(&self, at: &BinlogPosition, idx: usize, c: &StateChange) -> String {
        let (kind, db, tbl, arg) = columns(c);
        format!(
            "REPLACE INTO {} (task, file_seq, binlog_pos, binlog_file, idx, kind, db, tbl, arg) \
             VALUES ({}, {}, {}, {}, {idx}, {}, {}, {}, {})",
            self.table(),
            lit(&self.task),
            at.file_sequence().1.unwrap_or(0),
            at.offset,
            lit(&at.file),
            lit(kind),
            lit(db),
            lit(tbl),
            arg.map_or("NULL".to_string(), lit),
        )
    }

    /// Every recorded change, in binlog order.
    pub fn read(&self, c: &mut Conn) -> Result<Vec<StateChange>, mysql::Error> {
        let exists = c
            .exec_first::<u8, _, _>(
                "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'translator_state'",
                (self.db.as_str(),),
            )?
            .is_some();
        if !exists {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, String, String, Option<String>)> = c.exec(
            format!(
                "SELECT kind, db, tbl, arg FROM {} WHERE task = ? ORDER BY file_seq, binlog_pos, binlog_file, idx",
                self.table()
            ),
            (&self.task,),
        )?;
        Ok(rows.into_iter().filter_map(|(k, d, t, a)| change(&k, d, t, a)).collect())
    }
}

impl TranslatorState {
    /// Moves every recorded change to position `to` of another source server (where the task
    /// resumes by GTID after a failover), keeping their order: numbered in `idx` at the one
    /// position. Inside the caller's transaction (after [`TranslatorState::ensure`]).
    pub fn rebase(&self, c: &mut Conn, to: &BinlogPosition) -> Result<(), mysql::Error> {
        let rows: Vec<(String, String, String, Option<String>)> = c.exec(
            format!(
                "SELECT kind, db, tbl, arg FROM {} WHERE task = ? ORDER BY file_seq, binlog_pos, binlog_file, idx",
                self.table()
            ),
            (&self.task,),
        )?;
        c.exec_drop(format!("DELETE FROM {} WHERE task = ?", self.table()), (&self.task,))?;
        for (idx, (kind, db, tbl, arg)) in rows.into_iter().enumerate() {
            c.exec_drop(
                format!(
                    "INSERT INTO {} (task, file_seq, binlog_pos, binlog_file, idx, kind, db, tbl, arg) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    self.table()
                ),
                (&self.task, to.file_sequence().1.unwrap_or(0), to.offset, &to.file, idx, kind, db, tbl, arg),
            )?;
        }
        Ok(())
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
        for c in TranslatorState::of(&self).read(destination)? {
            if let StateChange::Followed { database, from, to } = c {
                follow_in(&mut self, &database, &from, &to);
            }
        }
        Ok(self)
    }
}

/// A table the task now syncs under a followed name, for the binlog reader's table filter.
pub(crate) fn table_id(db: &str, table: &str) -> Option<TableId> {
    TableId::parse(db, table).ok()
}
