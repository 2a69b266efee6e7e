//! The one route from decoded binlog items to the applier's input: which tables' rows are
//! synced and where they go (selection, renames, column subsets, online schema change shadow
//! tables), which rows (row filters), and what becomes of each statement (DDL translation).
//!
//! Rows and statements are decided by the same [`Translator`], so a table whose CREATE the
//! translator skipped never receives rows, and a shadow table it creates on the destination
//! receives every row the source wrote to it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use dts_applier::{Ddl, RowTarget};
use dts_binlog::{Statement, TableFilter};
use dts_schema::{Decision, TranslateConfig, Translator};
use dts_types::{BinlogPosition, Ident, RowChange, TableId, TableSchema, Value};

use crate::config::Config;
use crate::filter::{Evaluator, Filter};
use crate::input::SourceError;

/// What the router made of a row change.
#[derive(Debug)]
pub enum Routed {
    /// Apply `change` to `target`.
    Row {
        /// Where it goes, with the column mapping.
        target: Arc<RowTarget>,
        /// The change, after the row filter (an update leaving the filter is a delete).
        change: RowChange,
    },
    /// This task's own heartbeat row, applied like data (not counted, not verified).
    Heartbeat {
        /// The destination's heartbeat table.
        target: Arc<RowTarget>,
        /// The change.
        change: RowChange,
    },
    /// The table's row filter left it out.
    FilteredOut,
    /// The table is not synced (not selected, a skipped shadow table, another task's heartbeat).
    NotSynced,
    /// The table was copied from a consistent snapshot that already holds this transaction
    /// (a keyless table's full copy, see `dts_fullcopy::Meta::snapshots`).
    InSnapshot,
}

/// What the router made of a statement; `warnings` counts what the operator was warned of
/// (logged at WARN: a table that stops syncing or misses rows, a statement applied in part).
#[derive(Debug)]
pub enum RoutedStatement {
    /// Run it on the destination.
    Apply {
        /// The translated statement(s) with their session.
        ddl: Ddl,
        /// Warnings logged.
        warnings: usize,
    },
    /// Not applied; the reason is logged.
    Skipped {
        /// Warnings logged.
        warnings: usize,
    },
}

/// How a source table's rows are handled (cached per table until the next DDL).
#[derive(Debug)]
struct Route {
    target: Arc<RowTarget>,
    filter: Option<Filter>,
}

/// Routes a task's decoded binlog items (see the module doc).
#[derive(Debug)]
pub struct Router {
    translator: Translator,
    filters: BTreeMap<(String, String), Filter>,
    /// Decides the row filters exactly as the source does.
    filter_eval: Evaluator,
    /// Shared, so a row costs one lookup and no copy of the filter.
    routes: HashMap<TableId, Option<Arc<Route>>>,
    /// The source's heartbeat table, where its rows go, and this task's name (its row only).
    heartbeat: Option<(TableId, Arc<RowTarget>, String)>,
    /// Tables the full copy read from a snapshot of their own, with its binlog position.
    snapshots: HashMap<TableId, BinlogPosition>,
    /// Where the current transaction starts.
    txn_start: Option<BinlogPosition>,
}

impl Router {
    /// The router of `config`'s task.
    pub fn new(config: &Config) -> Self {
        let translator = Translator::new(TranslateConfig {
            selection: config.selection.clone(),
            online_ddl: config.online_ddl(),
            shadow_names: config.shadow_names(),
            sync_triggers: config.raw.task.triggers,
        });
        Router {
            translator,
            filters: config.filters.clone(),
            filter_eval: Evaluator::new(config.source.opts()).with_retry(dts_types::retry::RetryWindows {
                connection: config.connection_retry(),
                other: config.other_retry(),
            }),
            routes: HashMap::new(),
            heartbeat: config.raw.task.heartbeat.then(|| {
                let id = TableId::new(config.meta_db.clone(), Ident::new(crate::heartbeat::TABLE).expect("valid"));
                let names = [Ident::new("task").expect("valid"), Ident::new("ts").expect("valid")];
                (id.clone(), Arc::new(RowTarget::identity(id, &names)), config.name().to_string())
            }),
            snapshots: HashMap::new(),
            txn_start: None,
        }
    }

    /// The tables the full copy read from a consistent snapshot of their own, each with the
    /// snapshot's binlog position: their changes in transactions starting before it are in the
    /// copy already and are not applied again.
    pub fn set_snapshots(&mut self, snapshots: impl IntoIterator<Item = (TableId, BinlogPosition)>) {
        self.snapshots = snapshots.into_iter().collect();
    }

    /// A source transaction starts at `start` (the start of its first event).
    pub fn begin(&mut self, start: &BinlogPosition) {
        if !self.snapshots.is_empty() {
            self.txn_start = Some(start.clone());
        }
    }

    /// A table filter for the binlog reader that agrees with [`Router::row`] at the start:
    /// tables it rejects are never synced by the task's selection (their rows can be skipped
    /// before their values are decoded).
    pub fn table_filter(&self) -> TableFilter {
        let translator = Translator::new(self.translator.config().clone());
        let heartbeat = self.heartbeat.as_ref().map(|(id, _, _)| id.clone());
        Box::new(move |id: &TableId| {
            heartbeat.as_ref() == Some(id)
                || translator.table_mapping(id.database.as_str(), id.table.as_str()).is_some()
        })
    }

    /// Routes one row change.
    pub fn row(&mut self, table: &TableSchema, change: RowChange) -> Result<Routed, SourceError> {
        if let Some((id, target, task)) = &self.heartbeat
            && table.id == *id
        {
            // Only this task's heartbeat, applied like data.
            let ours = change
                .after()
                .or(change.before())
                .and_then(|r| r.first())
                .is_some_and(|v| matches!(v, Value::String(t) if t.bytes.as_ref() == task.as_bytes()));
            return Ok(if ours { Routed::Heartbeat { target: target.clone(), change } } else { Routed::NotSynced });
        }
        // A snapshot position is where a transaction boundary stands: the transactions the
        // snapshot holds all start before it, every later one starts at or after it.
        if let (Some(at), Some(start)) = (self.snapshots.get(&table.id), &self.txn_start)
            && start < at
        {
            return Ok(Routed::InSnapshot);
        }
        let Some(route) = self.route(table)? else { return Ok(Routed::NotSynced) };
        let change = match &route.filter {
            None => Some(change),
            Some(f) => filtered(&mut self.filter_eval, f, table, change)?,
        };
        Ok(match change {
            Some(change) => Routed::Row { target: route.target.clone(), change },
            None => Routed::FilteredOut,
        })
    }

    fn route(&mut self, schema: &TableSchema) -> Result<Option<Arc<Route>>, SourceError> {
        if let Some(r) = self.routes.get(&schema.id) {
            return Ok(r.clone());
        }
        let (db, table) = (schema.id.database.as_str(), schema.id.table.as_str());
        let route = match self.translator.table_mapping(db, table) {
            None => None,
            Some(m) => {
                let columns = schema
                    .columns
                    .iter()
                    .map(|c| {
                        let n = c.name.as_str();
                        if m.columns.selected(n) { Ident::new(m.columns.target(n)).ok() } else { None }
                    })
                    .collect();
                // A shadow table's rows follow its real table's filter (`m.source`).
                let filter =
                    crate::config::find_filter(&self.filters, m.source.database.as_str(), m.source.table.as_str())
                        .cloned();
                if let Some(f) = &filter {
                    f.check_columns(schema).map_err(|source| SourceError::Filter {
                        table: format!("{db}.{table}"),
                        source: source.into(),
                    })?;
                }
                Some(Arc::new(Route { target: Arc::new(RowTarget { target: m.target, columns }), filter }))
            }
        };
        self.routes.insert(schema.id.clone(), route.clone());
        Ok(route)
    }

    /// Translates one statement; an applied one may change tables' columns, so rows are
    /// routed afresh after it.
    pub fn statement(&mut self, s: &Statement) -> Result<RoutedStatement, SourceError> {
        let ctx = &s.context;
        let sql = s.sql_lossy();
        match self.translator.translate(&sql, ctx.database.as_deref(), ctx.sql_mode.unwrap_or(0) & 4 != 0) {
            Ok(Decision::Apply { statements, database, warnings }) => {
                for w in &warnings {
                    tracing::warn!(statement = %sql, "{w}");
                }
                self.routes.clear();
                let ddl = Ddl {
                    statements,
                    database,
                    sql_mode: ctx.sql_mode,
                    time_zone: ctx.time_zone.clone(),
                    charset: ctx.charset,
                    timestamp: Some((ctx.timestamp, ctx.microseconds)),
                };
                Ok(RoutedStatement::Apply { ddl, warnings: warnings.len() })
            }
            Ok(Decision::Skip { reason, warnings }) => {
                for w in &warnings {
                    tracing::warn!(statement = %sql, "{w}");
                }
                tracing::debug!(statement = %sql, reason, "statement not applied");
                Ok(RoutedStatement::Skipped { warnings: warnings.len() })
            }
            Ok(Decision::Stop { table, reason }) => Err(SourceError::Refused { statement: sql, table, reason }),
            Err(source) => Err(SourceError::Translate { statement: sql, source }),
        }
    }
}

/// Applies a row filter: an update that leaves the filter becomes a delete, one that enters it
/// an insert; `None` when the change is outside the filter altogether. An update's two images
/// are decided in one question to the evaluator.
fn filtered(
    eval: &mut Evaluator,
    f: &Filter,
    schema: &TableSchema,
    change: RowChange,
) -> Result<Option<RowChange>, SourceError> {
    let mut m = |rows: &[&[Value]]| {
        eval.decide(f, schema, rows).map_err(|source| SourceError::Filter { table: schema.id.to_string(), source })
    };
    Ok(match change {
        RowChange::Insert { after } => m(&[&after])?[0].then_some(RowChange::Insert { after }),
        RowChange::Delete { before } => m(&[&before])?[0].then_some(RowChange::Delete { before }),
        RowChange::Update { before, after } => {
            let passes = m(&[&before, &after])?;
            match (passes[0], passes[1]) {
                (true, true) => Some(RowChange::Update { before, after }),
                (true, false) => Some(RowChange::Delete { before }),
                (false, true) => Some(RowChange::Insert { after }),
                (false, false) => None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use dts_types::{ColumnDef, Value};

    use super::*;

    fn router(objects: &str, online_ddl: &str) -> Router {
        let text = format!(
            "[source]\nhost = \"a\"\nuser = \"u\"\n[destination]\nhost = \"b\"\nuser = \"u\"\n\
             [task]\nname = \"t\"\nserver_id = 7\nheartbeat = false\nonline_ddl = \"{online_ddl}\"\n{objects}"
        );
        Router::new(&Config::parse(&text, Path::new("task.toml")).unwrap())
    }

    fn table(name: &str) -> TableSchema {
        let col = |n: &str| ColumnDef {
            name: Ident::new(n).unwrap(),
            ty: dts_schema::parse_column_type("int(11)", None).unwrap(),
            nullable: false,
        };
        TableSchema {
            id: TableId::new(Ident::new("shop").unwrap(), Ident::new(name).unwrap()),
            columns: vec![col("id"), col("qty")],
            primary_key: vec![0],
        }
    }

    /// Where a row inserted into `shop.<name>` goes, as `db.table`, or `None`.
    fn target(r: &mut Router, name: &str) -> Option<String> {
        let change = RowChange::Insert { after: vec![Value::Int(1), Value::Int(2)] };
        match r.row(&table(name), change).unwrap() {
            Routed::Row { target, .. } => Some(format!("{}.{}", target.target.database, target.target.table)),
            Routed::NotSynced => None,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn shadow_tables_get_rows_exactly_when_their_ddl_reaches_the_destination() {
        let whole = "[[objects]]\ndatabase = \"shop\"\n";
        let mut r = router(whole, "apply_at_cutover");
        let filter = r.table_filter();
        for shadow in ["_items_gho", "_items_ghc", "_items_del", "_items_new", "_items_old"] {
            // The real table exists under that base name: these are a tool's.
            assert_eq!(target(&mut r, shadow), None, "{shadow}");
            assert!(!filter(&table(shadow).id), "{shadow}");
        }
        assert_eq!(target(&mut r, "items").as_deref(), Some("shop.items"));
        assert!(filter(&table("items").id));

        let mut r = router(whole, "copy");
        assert_eq!(target(&mut r, "_items_ghc").as_deref(), Some("shop._items_ghc"));

        let one = "[[objects]]\ndatabase = \"shop\"\n[[objects.tables]]\nname = \"items\"\nrename = \"goods\"\n";
        let mut r = router(one, "copy");
        let filter = r.table_filter();
        assert_eq!(target(&mut r, "_items_gho").as_deref(), Some("shop._goods_gho"));
        assert_eq!(target(&mut r, "_items_new").as_deref(), Some("shop._goods_new"));
        assert_eq!(target(&mut r, "_items_old").as_deref(), Some("shop._goods_old"));
        assert_eq!(target(&mut r, "items").as_deref(), Some("shop.goods"));
        assert_eq!(target(&mut r, "other"), None);
        assert_eq!(target(&mut r, "_other_gho"), None);
        assert!(filter(&table("_items_gho").id) && !filter(&table("other").id));

        let mut r = router(one, "apply_at_cutover");
        assert_eq!(target(&mut r, "_items_gho"), None);
        assert_eq!(target(&mut r, "items").as_deref(), Some("shop.goods"));

        // The ghost holds the real table's rows, so its filter applies; the changelog is whole.
        let mut r = router(&format!("{one}filter = \"qty < 1\"\n"), "copy");
        for filtered in ["items", "_items_gho"] {
            let change = RowChange::Insert { after: vec![Value::Int(1), Value::Int(2)] };
            assert!(matches!(r.row(&table(filtered), change).unwrap(), Routed::FilteredOut), "{filtered}");
        }
        assert_eq!(target(&mut r, "_items_ghc").as_deref(), Some("shop._goods_ghc"));
    }
}
