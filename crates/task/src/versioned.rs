//! System-versioned tables (`WITH SYSTEM VERSIONING`) in incremental sync.
//!
//! The source logs a change to such a table as changes of its *current* rows plus the history
//! rows the change makes: an UPDATE is an update of the current row and an insert of the old
//! version (its `row_end` set to the time of the change); a DELETE is an update that sets
//! `row_end`. The destination's table is system-versioned too and keeps a history of its own, so
//! the task syncs the current rows only:
//!
//! - an insert of a history row (its `row_end` is not the end of time) is skipped, counted in
//!   [`crate::InputStats::history_rows_skipped`];
//! - an update that ends the current row is the row's delete;
//! - a delete of a history row (`DELETE HISTORY`) is skipped and counted the same way.
//!
//! The period columns are never written (the applier leaves them to the destination, like
//! generated columns), so the destination's history rows carry the times the task applied the
//! changes, not the source's.

use std::collections::HashMap;

use dts_types::{ColumnType, RowChange, TableId, TableSchema, Value};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts};

/// Which tables are system-versioned on the source, and their `row_end` column (cached per
/// table until the next DDL).
#[derive(Debug)]
pub(crate) struct Versioning {
    opts: Opts,
    conn: Option<Conn>,
    /// Table => the name of its `row_end` column, `None` for a table that is not versioned.
    row_end: HashMap<TableId, Option<String>>,
}

/// What becomes of a change to a system-versioned table.
#[derive(Debug, PartialEq)]
pub(crate) enum Versioned {
    /// Sync this change of a current row.
    Current(RowChange),
    /// A history row's insert or delete: the destination keeps its own history.
    History,
}

impl Versioning {
    pub(crate) fn new(opts: Opts) -> Self {
        Versioning { opts, conn: None, row_end: HashMap::new() }
    }

    /// Forgets what it knows (after a DDL).
    pub(crate) fn clear(&mut self) {
        self.row_end.clear();
    }

    /// The index of `schema`'s `row_end` column when the table is system-versioned on the source.
    pub(crate) fn row_end_index(&mut self, schema: &TableSchema) -> Result<Option<usize>, mysql::Error> {
        // Period columns are TIMESTAMP(6) or BIGINT UNSIGNED: without one, the table is not
        // versioned, and the source need not be asked.
        let candidate = schema
            .columns
            .iter()
            .any(|c| matches!(c.ty, ColumnType::Timestamp { fsp: 6 } | ColumnType::BigInt { unsigned: true }));
        if !candidate {
            return Ok(None);
        }
        if !self.row_end.contains_key(&schema.id) {
            let name = self.lookup(&schema.id)?;
            self.row_end.insert(schema.id.clone(), name);
        }
        Ok(self.row_end[&schema.id].as_deref().and_then(|n| schema.column_index(n)))
    }

    fn lookup(&mut self, id: &TableId) -> Result<Option<String>, mysql::Error> {
        let (db, table) = (id.database.as_str(), id.table.as_str());
        // One retry on a fresh connection: the lookup is rare (once per table and DDL).
        for attempt in 0..2 {
            if self.conn.is_none() {
                self.conn = Some(crate::run::connect(self.opts.clone())?);
            }
            let conn = self.conn.as_mut().expect("connected");
            let r = (|| -> Result<Option<String>, mysql::Error> {
                let versioned: Option<String> = conn.exec_first(
                    "SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
                     AND TABLE_TYPE = 'SYSTEM VERSIONED'",
                    (db, table),
                )?;
                if versioned.is_none() {
                    return Ok(None);
                }
                let explicit: Option<String> = conn.exec_first(
                    "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
                     AND GENERATION_EXPRESSION = 'ROW END'",
                    (db, table),
                )?;
                Ok(Some(explicit.unwrap_or_else(|| dts_schema::IMPLICIT_PERIOD_COLUMNS[1].to_string())))
            })();
            match r {
                Ok(v) => return Ok(v),
                Err(e) if attempt == 0 => {
                    tracing::debug!(error = %dts_types::describe::chain(&e), "looking up system versioning again");
                    self.conn = None;
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("the loop returns")
    }
}

/// Whether a row image is a current row: its `row_end` is the end of time (the greatest
/// TIMESTAMP, 2038-01-19 03:14:07.999999 UTC, or on servers with 64-bit timestamps
/// 2106-02-07 06:28:15.999999; the greatest BIGINT UNSIGNED for transaction-precise versioning).
fn is_current(row: &[Value], row_end: usize) -> bool {
    match row.get(row_end) {
        Some(Value::Timestamp(t)) => t.micro == 999_999 && (t.secs == i32::MAX as u32 || t.secs == u32::MAX),
        Some(Value::UInt(u)) => *u == u64::MAX,
        // Not a period column's value: the change is passed on as it is.
        _ => true,
    }
}

/// What a change to a system-versioned table whose `row_end` is column `row_end` means for
/// its current rows.
pub(crate) fn current_rows(change: RowChange, row_end: usize) -> Versioned {
    match change {
        RowChange::Insert { after } if !is_current(&after, row_end) => Versioned::History,
        RowChange::Delete { before } if !is_current(&before, row_end) => Versioned::History,
        RowChange::Update { before, after } if !is_current(&after, row_end) => {
            if is_current(&before, row_end) {
                Versioned::Current(RowChange::Delete { before })
            } else {
                Versioned::History
            }
        }
        other => Versioned::Current(other),
    }
}

#[cfg(test)]
mod tests {
    use dts_types::value::Timestamp;

    use super::*;

    fn row(v: i64, end: u32) -> Vec<Value> {
        let micro = if end == i32::MAX as u32 { 999_999 } else { 1 };
        vec![
            Value::Int(v),
            Value::Timestamp(Timestamp { secs: 1_700_000_000, micro: 0 }),
            Value::Timestamp(Timestamp { secs: end, micro }),
        ]
    }

    #[test]
    fn only_current_rows_are_synced() {
        let now = 1_800_000_000;
        let max = i32::MAX as u32;
        let ins = RowChange::Insert { after: row(1, max) };
        assert_eq!(current_rows(ins.clone(), 2), Versioned::Current(ins));
        assert_eq!(current_rows(RowChange::Insert { after: row(1, now) }, 2), Versioned::History);
        let upd = RowChange::Update { before: row(1, max), after: row(2, max) };
        assert_eq!(current_rows(upd.clone(), 2), Versioned::Current(upd));
        // DELETE on a versioned table: the current row's row_end is set.
        assert_eq!(
            current_rows(RowChange::Update { before: row(1, max), after: row(1, now) }, 2),
            Versioned::Current(RowChange::Delete { before: row(1, max) })
        );
        assert_eq!(current_rows(RowChange::Delete { before: row(1, now) }, 2), Versioned::History);
        let del = RowChange::Delete { before: row(1, max) };
        assert_eq!(current_rows(del.clone(), 2), Versioned::Current(del));
    }
}
