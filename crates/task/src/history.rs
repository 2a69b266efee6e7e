//! The task's side of the binlog reader: the schema history as the reader's
//! [`SchemaProvider`], and the table filter that skips rows of unselected tables before their
//! values are decoded.
//!
//! Schema history (`dts_schema::SchemaTracker`) records the schema of every table of a selected
//! database at each DDL's binlog position. The task bootstraps it where incremental sync will
//! start reading (the full copy's low watermark, or the start of an incremental-only task), feeds
//! it every statement the input reads before the next event is decoded, and reads it back after
//! a restart. The reader asks it, per table map, for the schema at the table map's position, so
//! sources with `binlog_row_metadata` MINIMAL or NO_LOG decode every event with the schema it was
//! written under.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use dts_binlog::{SchemaError, SchemaProvider};
use dts_schema::{HistoryEntry, HistoryError, SchemaTracker};
use dts_types::{BinlogPosition, ColumnDef, ColumnType, Ident, TableId, TableSchema};
use mysql::Conn;

use crate::config::Config;
use crate::run::connect;

/// Every recorded schema per table, in position order: what the reader looks up, shared between
/// the reader (through [`HistoryProvider`]) and the input that records DDL.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timeline(Arc<Mutex<BTreeMap<TableId, Vec<Recorded>>>>);

/// A table's schema from a position on (`None`: dropped or renamed away).
type Recorded = (BinlogPosition, Option<Arc<TableSchema>>);

impl Timeline {
    fn add(&self, entries: Vec<HistoryEntry>) {
        let mut map = self.0.lock().expect("timeline lock");
        for e in entries {
            let list = map.entry(e.table).or_default();
            // Records come in position order, except when read again after a restart.
            let at = list.partition_point(|(p, _)| *p <= e.at);
            if at > 0 && list[at - 1].0 == e.at {
                list[at - 1].1 = e.schema.map(Arc::new);
            } else {
                list.insert(at, (e.at, e.schema.map(Arc::new)));
            }
        }
    }

    /// The tables database `db` had just before position `at` (before the statement ending
    /// there; also when the statement was recorded already).
    pub(crate) fn tables_before(&self, db: &str, at: &BinlogPosition) -> Vec<String> {
        let map = self.0.lock().expect("timeline lock");
        let mut out = Vec::new();
        for (id, list) in map.range(..).filter(|(id, _)| id.database.as_str() == db) {
            let i = list.partition_point(|(p, _)| p < at);
            if i > 0 && list[i - 1].1.is_some() {
                out.push(id.table.as_str().to_string());
            }
        }
        out
    }

    fn lookup(&self, table: &TableId, at: &BinlogPosition) -> Option<Arc<TableSchema>> {
        let map = self.0.lock().expect("timeline lock");
        let list = map.get(table)?;
        let i = list.partition_point(|(p, _)| p <= at);
        if i == 0 {
            return None;
        }
        list[i - 1].1.clone()
    }
}

/// The reader's [`SchemaProvider`]: the schema history in memory, plus the heartbeat table the
/// task itself creates on the source (its schema is fixed).
#[derive(Debug)]
pub(crate) struct HistoryProvider {
    timeline: Timeline,
    heartbeat: Option<Arc<TableSchema>>,
}

impl SchemaProvider for HistoryProvider {
    fn table_schema(&mut self, table: &TableId, at: &BinlogPosition) -> Result<Option<Arc<TableSchema>>, SchemaError> {
        if let Some(h) = self.heartbeat.as_ref().filter(|h| h.id == *table) {
            return Ok(Some(h.clone()));
        }
        Ok(self.timeline.lookup(table, at))
    }
}

/// The schema of `<meta_database>.heartbeat` (see `crate::heartbeat`).
fn heartbeat_schema(meta_db: &Ident) -> TableSchema {
    let col = |name: &str, ty: ColumnType| ColumnDef { name: Ident::new(name).expect("valid"), ty, nullable: false };
    TableSchema {
        id: TableId::new(meta_db.clone(), Ident::new(crate::heartbeat::TABLE).expect("valid")),
        columns: vec![
            col("task", dts_schema::parse_column_type("varchar(64)", Some("utf8mb4")).expect("a valid type")),
            col("ts", dts_schema::parse_column_type("timestamp(6)", None).expect("a valid type")),
        ],
        primary_key: vec![0],
    }
}

/// The task's schema history: the tracker (shadow databases on the destination) and the
/// timeline the reader reads.
pub(crate) struct TaskHistory {
    tracker: SchemaTracker,
    dest: Conn,
    timeline: Timeline,
    meta_db: Ident,
    heartbeat: bool,
    task: String,
}

impl std::fmt::Debug for TaskHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskHistory").finish_non_exhaustive()
    }
}

impl TaskHistory {
    /// The history of `config`'s task as the destination holds it; bootstrapped at `start`
    /// from the source's catalog when it never was (a task that reached incremental sync
    /// before the history existed: the schema read now stands for `start`).
    pub(crate) fn open(config: &Config, start: &BinlogPosition) -> Result<TaskHistory, HistoryError> {
        let mut tracker = SchemaTracker::new(config.name(), config.meta_db.clone(), config.selection.clone());
        let mut dest = connect(config.destination.opts())?;
        let timeline = Timeline::default();
        if !tracker.resume(&mut dest)? {
            tracing::warn!(at = %start, "schema history: none recorded yet; the source's schema now stands for the start");
            let mut source = connect(config.source.opts())?;
            let catalog = dts_schema::catalog(&mut source)?;
            tracker.bootstrap(&mut source, &mut dest, &catalog, start)?;
        }
        timeline.add(tracker.history().entries(&mut dest)?);
        Ok(TaskHistory {
            tracker,
            dest,
            timeline,
            meta_db: config.meta_db.clone(),
            heartbeat: config.raw.task.heartbeat,
            task: config.name().to_string(),
        })
    }

    /// The schema per table over positions, shared (the router reads which tables a database
    /// had).
    pub(crate) fn timeline(&self) -> Timeline {
        self.timeline.clone()
    }

    /// A provider for a new reader.
    pub(crate) fn provider(&self) -> Box<dyn SchemaProvider> {
        Box::new(HistoryProvider {
            timeline: self.timeline.clone(),
            heartbeat: self.heartbeat.then(|| Arc::new(heartbeat_schema(&self.meta_db))),
        })
    }

    /// `SHOW CREATE TABLE` of `db.table` as the shadow holds it: the table as of the last
    /// statement recorded. `None` when the shadow does not have it (its database is not
    /// selected, or the shadow refused the statement that made it).
    pub(crate) fn show_create(&mut self, db: &str, table: &str) -> Option<String> {
        use mysql::prelude::Queryable;
        let shadow = dts_schema::shadow_name(&self.task, db);
        let sql = format!("SHOW CREATE TABLE {}.{}", dts_types::quote_ident(&shadow), dts_types::quote_ident(table));
        match self.dest.query_first::<(String, String), _>(&sql) {
            Ok(row) => row.map(|(_, create)| create),
            Err(e) => {
                tracing::debug!(%sql, "no definition in the schema history: {e}");
                None
            }
        }
    }

    /// Checks the runner's lease before a statement changes the shadows (DDL commits by
    /// itself, so just before it).
    pub(crate) fn check_fence(&mut self, fence: &dts_types::fence::Fence) -> Result<(), crate::input::SourceError> {
        use mysql::prelude::Queryable;
        let found: Option<u64> = self
            .dest
            .query_first(fence.check_sql())
            .map_err(|e| crate::input::SourceError::History(HistoryError::Sql(e)))?;
        Ok(fence.verify(found)?)
    }

    /// A statement read from the binlog, ending at `at`: applied to the shadows and recorded,
    /// before the reader decodes the next event. A statement the shadow refuses (the
    /// destination will refuse it too) leaves the schema as it was, with a warning.
    pub(crate) fn on_statement(
        &mut self,
        sql: &str,
        default_db: Option<&str>,
        ansi_quotes: bool,
        at: &BinlogPosition,
    ) -> Result<(), HistoryError> {
        match self.tracker.on_statement(&mut self.dest, sql, default_db, ansi_quotes, at) {
            Ok(recorded) => {
                self.timeline.add(recorded);
                Ok(())
            }
            Err(HistoryError::Refused { statement, recorded, source }) => {
                tracing::warn!(statement, at = %at, "schema history: the shadow database refused the statement: {source}");
                self.timeline.add(recorded);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// Records the schema of the selected databases at `at` unless the history already holds one
/// (a resumed task): called where the task fixes the position incremental sync will start
/// from, right after reading it, so the catalog read stands for that position.
pub(crate) fn bootstrap(config: &Config, at: &BinlogPosition) -> Result<(), HistoryError> {
    let mut tracker = SchemaTracker::new(config.name(), config.meta_db.clone(), config.selection.clone());
    let mut dest = connect(config.destination.opts())?;
    if tracker.history().applied_to(&mut dest)?.is_some() {
        return Ok(());
    }
    let mut source = connect(config.source.opts())?;
    let catalog = dts_schema::catalog(&mut source)?;
    tracker.bootstrap(&mut source, &mut dest, &catalog, at)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(db: &str, t: &str) -> TableId {
        TableId::parse(db, t).unwrap()
    }

    fn entry(t: &str, file: &str, pos: u64, cols: usize) -> HistoryEntry {
        let table = id("d", t);
        let columns = (0..cols)
            .map(|i| ColumnDef {
                name: Ident::new(format!("c{i}")).unwrap(),
                ty: dts_schema::parse_column_type("int", None).unwrap(),
                nullable: true,
            })
            .collect();
        HistoryEntry {
            table: table.clone(),
            at: BinlogPosition::new(file, pos),
            schema: Some(TableSchema { id: table, columns, primary_key: vec![] }),
        }
    }

    #[test]
    fn the_timeline_answers_with_the_schema_at_the_position() {
        let t = Timeline::default();
        t.add(vec![entry("a", "b.000001", 100, 1), entry("a", "b.000002", 50, 2)]);
        // Read again after a restart: replaces, never duplicates.
        t.add(vec![entry("a", "b.000001", 100, 1)]);
        let cols = |f: &str, p: u64| t.lookup(&id("d", "a"), &BinlogPosition::new(f, p)).map(|s| s.columns.len());
        assert_eq!(cols("b.000001", 99), None);
        assert_eq!(cols("b.000001", 100), Some(1));
        assert_eq!(cols("b.000001", 900_000), Some(1));
        assert_eq!(cols("b.000002", 49), Some(1));
        assert_eq!(cols("b.000002", 50), Some(2));
        assert_eq!(cols("b.000003", 4), Some(2));
        t.add(vec![HistoryEntry { table: id("d", "a"), at: BinlogPosition::new("b.000003", 10), schema: None }]);
        assert_eq!(cols("b.000003", 11), None, "dropped");
        // The tables before the statement ending at a position, whether or not it was recorded.
        assert_eq!(t.tables_before("d", &BinlogPosition::new("b.000003", 10)), ["a"]);
        assert!(t.tables_before("d", &BinlogPosition::new("b.000003", 11)).is_empty());
        assert!(t.tables_before("e", &BinlogPosition::new("b.000003", 10)).is_empty());
    }
}
