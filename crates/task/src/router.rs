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
use dts_types::{Ident, RowChange, TableId, TableSchema, Value};

use crate::config::Config;
use crate::filter::Filter;
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
}

/// What the router made of a statement.
#[derive(Debug)]
pub enum RoutedStatement {
    /// Run it on the destination.
    Apply(Ddl),
    /// Not applied; the reason is logged.
    Skipped,
}

/// How a source table's rows are handled (cached per table until the next DDL).
#[derive(Debug, Clone)]
struct Route {
    target: Arc<RowTarget>,
    filter: Option<Filter>,
}

/// Routes a task's decoded binlog items (see the module doc).
#[derive(Debug)]
pub struct Router {
    translator: Translator,
    filters: BTreeMap<(String, String), Filter>,
    routes: HashMap<TableId, Option<Route>>,
    /// The source's heartbeat table, where its rows go, and this task's name (its row only).
    heartbeat: Option<(TableId, Arc<RowTarget>, String)>,
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
            routes: HashMap::new(),
            heartbeat: config.raw.task.heartbeat.then(|| {
                let id = TableId::new(config.meta_db.clone(), Ident::new(crate::heartbeat::TABLE).expect("valid"));
                let names = [Ident::new("task").expect("valid"), Ident::new("ts").expect("valid")];
                (id.clone(), Arc::new(RowTarget::identity(id, &names)), config.name().to_string())
            }),
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
        let Some(route) = self.route(table)? else { return Ok(Routed::NotSynced) };
        let change = match &route.filter {
            None => Some(change),
            Some(f) => filtered(f, table, change)?,
        };
        Ok(match change {
            Some(change) => Routed::Row { target: route.target, change },
            None => Routed::FilteredOut,
        })
    }

    fn route(&mut self, schema: &TableSchema) -> Result<Option<Route>, SourceError> {
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
                    f.check_columns(schema)
                        .map_err(|source| SourceError::Filter { table: format!("{db}.{table}"), source })?;
                }
                Some(Route { target: Arc::new(RowTarget { target: m.target, columns }), filter })
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
                for w in warnings {
                    tracing::warn!(statement = %sql, "{w}");
                }
                self.routes.clear();
                Ok(RoutedStatement::Apply(Ddl {
                    statements,
                    database,
                    sql_mode: ctx.sql_mode,
                    time_zone: ctx.time_zone.clone(),
                    charset: ctx.charset,
                    timestamp: Some((ctx.timestamp, ctx.microseconds)),
                }))
            }
            Ok(Decision::Skip { reason, warnings }) => {
                for w in warnings {
                    tracing::warn!(statement = %sql, "{w}");
                }
                tracing::debug!(statement = %sql, reason, "statement not applied");
                Ok(RoutedStatement::Skipped)
            }
            Err(source) => Err(SourceError::Translate { statement: sql, source }),
        }
    }
}

/// Applies a row filter: an update that leaves the filter becomes a delete, one that enters it
/// an insert; `None` when the change is outside the filter altogether.
fn filtered(f: &Filter, schema: &TableSchema, change: RowChange) -> Result<Option<RowChange>, SourceError> {
    let m = |row: &[Value]| {
        f.matches(schema, row).map_err(|source| SourceError::Filter { table: schema.id.to_string(), source })
    };
    Ok(match change {
        RowChange::Insert { after } => m(&after)?.then_some(RowChange::Insert { after }),
        RowChange::Delete { before } => m(&before)?.then_some(RowChange::Delete { before }),
        RowChange::Update { before, after } => match (m(&before)?, m(&after)?) {
            (true, true) => Some(RowChange::Update { before, after }),
            (true, false) => Some(RowChange::Delete { before }),
            (false, true) => Some(RowChange::Insert { after }),
            (false, false) => None,
        },
    })
}
