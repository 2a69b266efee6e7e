//! The task's own state in the destination's metadata database: its phase, where incremental
//! sync begins, and the last error. Each phase's progress lives with the crate that does it
//! (the full copy's chunks, the applier's checkpoint); this row says which phase is current.

use dts_types::{BinlogPosition, Ident};
use mysql::Conn;
use mysql::prelude::Queryable;

/// The phases, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Creating the destination's schema.
    Schema,
    /// Copying the tables' rows.
    Full,
    /// Replaying the binlog.
    Incremental,
    /// A task without incremental sync that has finished.
    Done,
}

impl Phase {
    /// The phase's name as stored and shown: `schema`, `full`, `incremental`, `done`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Schema => "schema",
            Phase::Full => "full",
            Phase::Incremental => "incremental",
            Phase::Done => "done",
        }
    }

    fn parse(s: &str) -> Option<Phase> {
        [Phase::Schema, Phase::Full, Phase::Incremental, Phase::Done].into_iter().find(|p| p.as_str() == s)
    }
}

/// The state row of one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub phase: Phase,
    /// Where incremental sync begins (the full copy's low watermark, or the source's position
    /// when an incremental-only task first started).
    pub incremental_from: Option<BinlogPosition>,
    pub last_error: Option<String>,
    pub updated_at: String,
    pub counters: Counters,
}

/// What incremental sync has handed to the applier over the task's life (all runs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// Source transactions.
    pub transactions: u64,
    /// Row changes.
    pub row_changes: u64,
    /// Row changes a row filter left out.
    pub rows_filtered_out: u64,
    /// Statements.
    pub ddl: u64,
}

#[derive(Debug, Clone)]
pub struct StateTable {
    pub task: String,
    pub db: Ident,
}

impl StateTable {
    fn table(&self) -> String {
        format!("{}.`task_state`", self.db.quoted())
    }

    pub fn ensure(&self, c: &mut Conn) -> Result<(), mysql::Error> {
        c.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", self.db.quoted()))?;
        c.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL PRIMARY KEY, phase VARCHAR(16) NOT NULL, \
             incremental_file VARCHAR(255) NULL, incremental_pos BIGINT UNSIGNED NULL, last_error TEXT NULL, \
             transactions BIGINT UNSIGNED NOT NULL DEFAULT 0, row_changes BIGINT UNSIGNED NOT NULL DEFAULT 0, \
             rows_filtered_out BIGINT UNSIGNED NOT NULL DEFAULT 0, ddl BIGINT UNSIGNED NOT NULL DEFAULT 0, \
             updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)) \
             DEFAULT CHARSET=utf8mb4",
            self.table()
        ))
    }

    pub fn read(&self, c: &mut Conn) -> Result<Option<State>, mysql::Error> {
        let exists: Option<u8> = c.exec_first(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'task_state'",
            (self.db.as_str(),),
        )?;
        if exists.is_none() {
            return Ok(None);
        }
        let row: Option<mysql::Row> = c.exec_first(
            format!(
                "SELECT phase, incremental_file, incremental_pos, last_error, DATE_FORMAT(updated_at, '%Y-%m-%dT%H:%i:%s.%fZ'), \
                 transactions, row_changes, rows_filtered_out, ddl FROM {} WHERE task = ?",
                self.table()
            ),
            (&self.task,),
        )?;
        Ok(row.and_then(|r| {
            let f: Option<String> = r.get(1)?;
            let p: Option<u64> = r.get(2)?;
            Some(State {
                phase: Phase::parse(&r.get::<String, _>(0)?)?,
                incremental_from: f.zip(p).map(|(f, p)| BinlogPosition::new(f, p)),
                last_error: r.get(3)?,
                updated_at: r.get(4)?,
                counters: Counters {
                    transactions: r.get(5)?,
                    row_changes: r.get(6)?,
                    rows_filtered_out: r.get(7)?,
                    ddl: r.get(8)?,
                },
            })
        }))
    }

    pub fn set_phase(&self, c: &mut Conn, phase: Phase) -> Result<(), mysql::Error> {
        c.exec_drop(
            format!(
                "INSERT INTO {} (task, phase) VALUES (?, ?) ON DUPLICATE KEY UPDATE phase = VALUES(phase), last_error = NULL",
                self.table()
            ),
            (&self.task, phase.as_str()),
        )
    }

    pub fn set_incremental_from(&self, c: &mut Conn, p: &BinlogPosition) -> Result<(), mysql::Error> {
        c.exec_drop(
            format!("UPDATE {} SET incremental_file = ?, incremental_pos = ? WHERE task = ?", self.table()),
            (&p.file, p.offset, &self.task),
        )
    }

    /// Forgets the last error (a resumed run is healthy again).
    pub fn clear_error(&self, c: &mut Conn) -> Result<(), mysql::Error> {
        c.exec_drop(format!("UPDATE {} SET last_error = NULL WHERE task = ?", self.table()), (&self.task,))
    }

    pub fn set_error(&self, c: &mut Conn, error: &str) -> Result<(), mysql::Error> {
        c.exec_drop(format!("UPDATE {} SET last_error = ? WHERE task = ?", self.table()), (error, &self.task))
    }
}

impl StateTable {
    pub fn set_counters(&self, c: &mut Conn, k: &Counters) -> Result<(), mysql::Error> {
        c.exec_drop(
            format!(
                "UPDATE {} SET transactions = ?, row_changes = ?, rows_filtered_out = ?, ddl = ? WHERE task = ?",
                self.table()
            ),
            (k.transactions, k.row_changes, k.rows_filtered_out, k.ddl, &self.task),
        )
    }
}
