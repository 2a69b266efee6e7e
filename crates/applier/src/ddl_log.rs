//! The DDL log in the destination's metadata database: one row per source statement that
//! reached the applier, with its one outcome — applied, skipped (and the rule that skipped it)
//! or failed (and the destination's error) — so nothing a schema change did or did not do is
//! known only to a log file.
//!
//! A row is keyed by the statement's source position, so a statement read again after a
//! restart updates its row instead of adding one. Before a statement runs its row says
//! `running`; the outcome replaces it in the same destination transaction as the checkpoint
//! that passes the statement. A `running` row found when the statement comes again means the
//! last run stopped between the two (a crash): an error saying the change is already there is
//! then that run's success, not a failure.

use dts_types::{BinlogPosition, Ident};
use mysql::prelude::Queryable;
use serde::Serialize;

use crate::{ApplyError, Ddl};

/// What to do when the destination refuses a DDL statement (`[incremental] ddl_errors`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DdlErrors {
    /// Stop the task, naming the statement (the default: the destination's schema may now
    /// differ from the source's, and rows after it may not fit).
    #[default]
    Stop,
    /// Record it as failed, log it at WARN and go on.
    Skip,
}

/// A statement's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DdlOutcome {
    /// It is running, or the run stopped while it ran.
    Running,
    /// The destination ran it (as translated).
    Applied,
    /// Not applied, by a rule the entry's reason names.
    Skipped,
    /// The destination refused it.
    Failed,
}

impl DdlOutcome {
    /// The outcome as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            DdlOutcome::Running => "running",
            DdlOutcome::Applied => "applied",
            DdlOutcome::Skipped => "skipped",
            DdlOutcome::Failed => "failed",
        }
    }

    fn parse(s: &str) -> DdlOutcome {
        [DdlOutcome::Applied, DdlOutcome::Skipped, DdlOutcome::Failed]
            .into_iter()
            .find(|o| o.as_str() == s)
            .unwrap_or(DdlOutcome::Running)
    }
}

/// One row of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DdlEntry {
    /// Where the statement ends in the source's binlog (`file:offset`, what `skip_ddl` takes).
    pub position: String,
    /// The source's GTID state reached with it, if the source has GTIDs.
    pub gtid: Option<String>,
    /// The statement as the source logged it.
    pub statement: String,
    /// What ran on the destination (the translation), when anything did.
    pub applied: Option<String>,
    /// The outcome.
    pub outcome: DdlOutcome,
    /// Why it was skipped, or the destination's error.
    pub reason: Option<String>,
    /// Warnings given about it (a table that stops syncing, a statement applied in part).
    pub warnings: Option<String>,
    /// When the outcome was recorded (UTC).
    pub at: String,
}

/// How many statements ended in each outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DdlCounts {
    /// Applied.
    pub applied: u64,
    /// Skipped.
    pub skipped: u64,
    /// Failed.
    pub failed: u64,
    /// Of all of them, those with warnings.
    pub with_warnings: u64,
}

/// A task's DDL log (table `ddl_log` in its metadata database). Reading it needs no applier.
#[derive(Debug, Clone)]
pub struct DdlLog {
    /// The task whose rows these are.
    pub task: String,
    /// The metadata database.
    pub db: Ident,
}

fn lit(s: &str) -> String {
    dts_types::Value::String(dts_types::Text::utf8mb4(s)).to_sql_literal().expect("renders")
}

fn opt_lit(s: Option<&str>) -> String {
    s.map_or("NULL".to_string(), lit)
}

impl DdlLog {
    fn table(&self) -> String {
        format!("{}.`ddl_log`", self.db.quoted())
    }

    /// Creates the table where missing (its database exists: the checkpoint made it).
    pub(crate) fn ensure(&self, dest: &mut mysql::Conn) -> Result<(), ApplyError> {
        dest.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL, file_seq BIGINT UNSIGNED NOT NULL, \
             binlog_pos BIGINT UNSIGNED NOT NULL, binlog_file VARCHAR(255) NOT NULL, gtid TEXT NULL, \
             statement MEDIUMTEXT NOT NULL, \
             applied MEDIUMTEXT NULL, outcome VARCHAR(16) NOT NULL, reason TEXT NULL, warnings TEXT NULL, \
             recorded_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), \
             PRIMARY KEY (task, file_seq, binlog_pos, binlog_file)) DEFAULT CHARSET=utf8mb4",
            self.table()
        ))?;
        Ok(())
    }

    /// The statement recording `d`'s outcome (replacing an earlier one at its position);
    /// `gtid` is the source's GTID state at its commit.
    pub(crate) fn write_sql(&self, d: &Ddl, gtid: Option<&str>, outcome: DdlOutcome, reason: Option<&str>) -> String {
        let p = &d.position;
        let applied = (outcome != DdlOutcome::Skipped && !d.statements.is_empty()).then(|| d.statements.join(";\n"));
        let warnings = (!d.warnings.is_empty()).then(|| d.warnings.join("\n"));
        format!(
            "REPLACE INTO {} (task, file_seq, binlog_pos, binlog_file, gtid, statement, applied, outcome, reason, \
             warnings, recorded_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, UTC_TIMESTAMP(6))",
            self.table(),
            lit(&self.task),
            p.file_sequence().1.unwrap_or(0),
            p.offset,
            lit(&p.file),
            opt_lit(gtid),
            lit(&d.source),
            opt_lit(applied.as_deref()),
            lit(outcome.as_str()),
            opt_lit(reason),
            opt_lit(warnings.as_deref()),
        )
    }

    /// The outcome recorded at `p`, if any.
    pub(crate) fn outcome_at(
        &self,
        dest: &mut mysql::Conn,
        p: &BinlogPosition,
    ) -> Result<Option<DdlOutcome>, ApplyError> {
        let row: Option<String> = dest.exec_first(
            format!(
                "SELECT outcome FROM {} WHERE task = ? AND file_seq = ? AND binlog_pos = ? AND binlog_file = ?",
                self.table()
            ),
            (&self.task, p.file_sequence().1.unwrap_or(0), p.offset, &p.file),
        )?;
        Ok(row.map(|o| DdlOutcome::parse(&o)))
    }

    fn exists(&self, dest: &mut mysql::Conn) -> Result<bool, mysql::Error> {
        Ok(dest
            .exec_first::<u8, _, _>(
                "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'ddl_log'",
                (self.db.as_str(),),
            )?
            .is_some())
    }

    /// How many statements ended in each outcome (zeros before the first one).
    pub fn counts(&self, dest: &mut mysql::Conn) -> Result<DdlCounts, mysql::Error> {
        let mut c = DdlCounts::default();
        if !self.exists(dest)? {
            return Ok(c);
        }
        let rows: Vec<(String, u64, u64)> = dest.exec(
            format!(
                "SELECT outcome, COUNT(*), CAST(SUM(warnings IS NOT NULL) AS UNSIGNED) FROM {} WHERE task = ? \
                 GROUP BY outcome",
                self.table()
            ),
            (&self.task,),
        )?;
        for (outcome, n, warned) in rows {
            match DdlOutcome::parse(&outcome) {
                DdlOutcome::Applied => c.applied = n,
                DdlOutcome::Skipped => c.skipped = n,
                DdlOutcome::Failed => c.failed = n,
                DdlOutcome::Running => {}
            }
            c.with_warnings += warned;
        }
        Ok(c)
    }

    /// The latest `n` entries that need an operator's eye — failed, or with warnings — newest
    /// first.
    pub fn needing_attention(&self, dest: &mut mysql::Conn, n: usize) -> Result<Vec<DdlEntry>, mysql::Error> {
        self.entries(dest, "AND (outcome = 'failed' OR warnings IS NOT NULL)", n)
    }

    /// The latest `n` entries, newest first.
    pub fn recent(&self, dest: &mut mysql::Conn, n: usize) -> Result<Vec<DdlEntry>, mysql::Error> {
        self.entries(dest, "", n)
    }

    fn entries(&self, dest: &mut mysql::Conn, filter: &str, n: usize) -> Result<Vec<DdlEntry>, mysql::Error> {
        if !self.exists(dest)? {
            return Ok(Vec::new());
        }
        type Row =
            (String, u64, Option<String>, String, Option<String>, String, Option<String>, Option<String>, String);
        let rows: Vec<Row> = dest.exec(
            format!(
                "SELECT binlog_file, binlog_pos, gtid, statement, applied, outcome, reason, warnings, \
                 DATE_FORMAT(recorded_at, '%Y-%m-%dT%H:%i:%S.%fZ') FROM {} WHERE task = ? {filter} \
                 ORDER BY file_seq DESC, binlog_pos DESC LIMIT {n}",
                self.table()
            ),
            (&self.task,),
        )?;
        Ok(rows
            .into_iter()
            .map(|(file, pos, gtid, statement, applied, outcome, reason, warnings, at)| DdlEntry {
                position: BinlogPosition::new(file, pos).to_string(),
                gtid,
                statement,
                applied,
                outcome: DdlOutcome::parse(&outcome),
                reason,
                warnings,
                at,
            })
            .collect())
    }
}
