//! Copying tables again from the source's current definition (`dts-sync recopy`), and handing
//! them back to incremental sync exactly.
//!
//! A table whose definition changed while the full copy read it cannot keep its copy (two
//! shapes). Its copy stops, the other tables go on, and the task stops naming `dts-sync
//! recopy` with the table (a table none of whose chunks was copied yet is copied again at
//! once, without a stop). Copying a table again: read its definition, the source's position
//! `P`, its definition again (a DDL in between means another try), drop and re-create the
//! destination table from that definition, forget its chunk plan and copy it whole in chunks.
//! `P` is recorded in `<meta_database>.table_recopy`; incremental sync then skips the table's
//! row changes and DDL of transactions that began before `P` (the copy holds them or their
//! result) and applies everything after `P` — the full copy's argument, with `P` as the table's
//! own low watermark.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use dts_types::fence::Fence;
use dts_types::{BinlogPosition, Ident, TableId};
use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder};

use crate::config::Config;
use crate::lease::{HeldLease, LeaseError, LeaseSignals, LeaseTable};

/// Why tables could not be copied again.
#[derive(Debug, thiserror::Error)]
pub enum RecopyError {
    /// A name is not `DB.TABLE`.
    #[error("{name:?} is not a table name of the form DB.TABLE (the source's names)")]
    BadName {
        /// The name as given.
        name: String,
    },
    /// The table is not on the source, or the task does not sync it.
    #[error("{table} is not a table of the source that this task syncs")]
    NotSelected {
        /// The table.
        table: String,
    },
    /// The task is running (or another runner took it over).
    #[error(transparent)]
    Lease(#[from] LeaseError),
    /// The source failed or refused a query.
    #[error("the source server")]
    Source(#[source] mysql::Error),
    /// The destination failed or refused a query.
    #[error("the destination server")]
    Destination(#[source] mysql::Error),
    /// The destination DDL of the table could not be planned.
    #[error("planning the destination table")]
    Plan(#[from] dts_schema::SyncError),
    /// The destination refused a statement creating the table.
    #[error("the destination refused {statement}")]
    Statement {
        /// The statement.
        statement: String,
        /// The destination's error.
        #[source]
        source: mysql::Error,
    },
    /// The copy itself failed.
    #[error("copying {table}")]
    Copy {
        /// The table.
        table: String,
        /// The copy's error.
        #[source]
        source: Box<dts_fullcopy::CopyError>,
    },
    /// The table's definition kept changing while it was read.
    #[error("the definition of {table} kept changing while it was read; run recopy again")]
    Unstable {
        /// The table.
        table: String,
    },
}

/// A table copied again.
#[derive(Debug, Clone)]
pub struct Recopied {
    /// The source table.
    pub table: TableId,
    /// Rows copied.
    pub rows: u64,
    /// Where incremental sync takes the table over.
    pub from: BinlogPosition,
}

/// The task's tables that need or had a copy again (`<meta_database>.table_recopy`).
#[derive(Debug, Clone)]
pub struct RecopyTable {
    /// The task.
    pub task: String,
    /// The metadata database.
    pub db: Ident,
}

impl RecopyTable {
    fn table(&self) -> String {
        format!("{}.`table_recopy`", self.db.quoted())
    }

    fn exists(&self, c: &mut Conn) -> Result<bool, mysql::Error> {
        let e: Option<u8> = c.exec_first(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'table_recopy'",
            (self.db.as_str(),),
        )?;
        Ok(e.is_some())
    }

    /// Creates the table where missing.
    pub fn ensure(&self, c: &mut Conn) -> Result<(), mysql::Error> {
        c.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", self.db.quoted()))?;
        c.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL, db VARCHAR(64) NOT NULL, \
             tbl VARCHAR(64) NOT NULL, state VARCHAR(16) NOT NULL, reason TEXT NULL, \
             from_file VARCHAR(255) NULL, from_pos BIGINT UNSIGNED NULL, PRIMARY KEY (task, db, tbl)) \
             DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            self.table()
        ))
    }

    /// Records that `t`'s copy stopped and it must be copied again (`reason`: what changed).
    pub fn mark_needed(&self, c: &mut Conn, t: &TableId, reason: &str) -> Result<(), mysql::Error> {
        self.ensure(c)?;
        c.exec_drop(
            format!("REPLACE INTO {} (task, db, tbl, state, reason) VALUES (?, ?, ?, 'needed', ?)", self.table()),
            (&self.task, t.database.as_str(), t.table.as_str(), reason),
        )
    }

    /// The tables waiting for `dts-sync recopy`, with what changed.
    pub fn needed(&self, c: &mut Conn) -> Result<Vec<(TableId, String)>, mysql::Error> {
        if !self.exists(c)? {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, String, Option<String>)> = c.exec(
            format!(
                "SELECT db, tbl, reason FROM {} WHERE task = ? AND state = 'needed' ORDER BY db, tbl",
                self.table()
            ),
            (&self.task,),
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|(d, t, r)| Some((TableId::parse(&d, &t).ok()?, r.unwrap_or_default())))
            .collect())
    }

    /// The tables copied again, with the position incremental sync takes each over from.
    pub fn recopied(&self, c: &mut Conn) -> Result<BTreeMap<TableId, BinlogPosition>, mysql::Error> {
        if !self.exists(c)? {
            return Ok(BTreeMap::new());
        }
        let rows: Vec<(String, String, String, u64)> = c.exec(
            format!(
                "SELECT db, tbl, from_file, from_pos FROM {} WHERE task = ? AND state = 'done' \
                 AND from_file IS NOT NULL",
                self.table()
            ),
            (&self.task,),
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|(d, t, f, p)| Some((TableId::parse(&d, &t).ok()?, BinlogPosition::new(f, p))))
            .collect())
    }

    fn set_done(&self, c: &mut Conn, t: &TableId, from: &BinlogPosition) -> Result<(), mysql::Error> {
        c.exec_drop(
            format!(
                "REPLACE INTO {} (task, db, tbl, state, from_file, from_pos) VALUES (?, ?, ?, 'done', ?, ?)",
                self.table()
            ),
            (&self.task, t.database.as_str(), t.table.as_str(), &from.file, from.offset),
        )
    }
}

/// `dts-sync recopy`: copies `names` (`DB.TABLE`, source names) again, holding the task's
/// lease meanwhile (so it refuses while the task runs).
pub fn recopy(config: &Config, names: &[String]) -> Result<Vec<Recopied>, RecopyError> {
    let mut tables = Vec::new();
    for name in names {
        let (d, t) = name.split_once('.').ok_or_else(|| RecopyError::BadName { name: name.clone() })?;
        tables.push(TableId::parse(d, t).map_err(|_| RecopyError::BadName { name: name.clone() })?);
    }
    let lease = HeldLease::take(
        config.destination.opts(),
        LeaseTable { task: config.name().to_string(), db: config.meta_db.clone() },
        config.lease_period(),
        Arc::new(AtomicBool::new(false)),
        Arc::new(LeaseSignals::default()),
    )?;
    let fence = lease.fence.clone();
    let done = recopy_tables(config, &fence, &tables, true);
    drop(lease);
    done
}

fn exact(opts: mysql::Opts) -> Result<Conn, mysql::Error> {
    Conn::new(OptsBuilder::from_opts(opts).init(dts_types::session::init_statements().to_vec()))
}

fn check_fence(c: &mut Conn, fence: &Fence) -> Result<(), RecopyError> {
    let found: Option<u64> = c.query_first(fence.check_sql()).map_err(RecopyError::Destination)?;
    fence.verify(found).map_err(|e| RecopyError::Lease(e.into()))
}

/// A recopy that did not finish, as `needed` names it.
pub(crate) const UNFINISHED: &str =
    "a `dts-sync recopy` of it did not finish: the destination table holds part of its rows";

/// Copies `tables` again under the runner's `fence` (see the module's doc). With
/// `unfinished_stops` (the `recopy` command, whose task may be in incremental sync) each table
/// is recorded as needing a recopy before it is dropped, until its copy is done: a recopy
/// stopped or killed in between leaves a partly copied table, which incremental sync must
/// never take for whole. (Within the full phase a stopped recopy's copy resumes with the
/// phase.)
pub(crate) fn recopy_tables(
    config: &Config,
    fence: &Fence,
    tables: &[TableId],
    unfinished_stops: bool,
) -> Result<Vec<Recopied>, RecopyError> {
    let mut src = exact(config.source.opts()).map_err(RecopyError::Source)?;
    let mut dst = exact(config.destination.opts()).map_err(RecopyError::Destination)?;
    let record = RecopyTable { task: config.name().to_string(), db: config.meta_db.clone() };
    record.ensure(&mut dst).map_err(RecopyError::Destination)?;
    let mut out = Vec::new();
    for t in tables {
        let show = |src: &mut Conn| -> Result<Option<String>, RecopyError> {
            let row: Option<(String, String)> =
                src.query_first(format!("SHOW CREATE TABLE {}", t.quoted())).or_else(|e| match e {
                    // No such table.
                    mysql::Error::MySqlError(ref m) if m.code == 1146 => Ok(None),
                    e => Err(RecopyError::Source(e)),
                })?;
            Ok(row.map(|r| r.1))
        };
        // The definition, the position, the definition again: the same both times means the
        // table at `from` has this definition.
        let mut stable = None;
        for _ in 0..5 {
            let before = show(&mut src)?.ok_or_else(|| RecopyError::NotSelected { table: t.to_string() })?;
            let from = dts_fullcopy::without_prepared_xa(&mut src, dts_fullcopy::source_position)
                .map_err(|e| RecopyError::Copy { table: t.to_string(), source: Box::new(e) })?;
            if show(&mut src)?.as_deref() == Some(before.as_str()) {
                stable = Some(from);
                break;
            }
        }
        let from = stable.ok_or_else(|| RecopyError::Unstable { table: t.to_string() })?;
        let catalog = dts_schema::catalog(&mut src).map_err(RecopyError::Source)?;
        let mapped = config
            .selection
            .mapped(&catalog)
            .into_iter()
            .find(|m| m.source == *t)
            .ok_or_else(|| RecopyError::NotSelected { table: t.to_string() })?;
        let mut schema = dts_schema::read_database(&mut src, &config.selection, &catalog, t.database.as_str())
            .map_err(RecopyError::Source)?;
        schema.tables.retain(|(name, _, _)| name == t.table.as_str());
        schema.views.clear();
        schema.routines.clear();
        schema.sequences.clear();
        schema.events.clear();
        // Dropping the table drops its triggers: they come back as the trigger policy says.
        schema.triggers.retain(|(_, table, _)| table == t.table.as_str());
        let plan = dts_schema::plan(&config.selection, &[schema], &config.objects)?;
        dst.query_drop("SET SESSION foreign_key_checks = 0").map_err(RecopyError::Destination)?;
        if unfinished_stops {
            check_fence(&mut dst, fence)?;
            record.mark_needed(&mut dst, t, UNFINISHED).map_err(RecopyError::Destination)?;
        }
        let drop = format!("DROP TABLE IF EXISTS {}", mapped.target.quoted());
        for statement in std::iter::once(&drop).chain(&plan.statements) {
            // DDL commits by itself: the lease is checked just before each statement.
            check_fence(&mut dst, fence)?;
            dst.query_drop(statement)
                .map_err(|source| RecopyError::Statement { statement: statement.clone(), source })?;
        }
        let meta = dts_fullcopy::Meta { task: config.name().to_string(), db: config.meta_db.clone() };
        let copy_err = |source| RecopyError::Copy { table: t.to_string(), source: Box::new(source) };
        meta.ensure(&mut dst).map_err(copy_err)?;
        meta.forget_table(&mut dst, t).map_err(copy_err)?;
        let f = &config.raw.full;
        let throttle = Arc::new(dts_fullcopy::Throttle::new(f.qps, f.rows_per_sec, f.mb_per_sec << 20));
        let o = crate::run::copy_options(config, fence, &mut dst, Arc::default(), throttle).map_err(copy_err)?;
        let report =
            dts_fullcopy::run(config.source.opts(), config.destination.opts(), vec![mapped], &o).map_err(copy_err)?;
        check_fence(&mut dst, fence)?;
        record.set_done(&mut dst, t, &from.binlog).map_err(RecopyError::Destination)?;
        tracing::info!(table = %t, rows = report.rows, from = %from.binlog, "copied again; incremental sync takes it over from here");
        out.push(Recopied { table: t.clone(), rows: report.rows, from: from.binlog });
    }
    Ok(out)
}
