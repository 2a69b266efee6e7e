//! The one route from decoded binlog items to the applier's input: which tables' rows are
//! synced and where they go (selection, renames, column subsets, online schema change shadow
//! tables), which rows (row filters), and what becomes of each statement (DDL translation).
//!
//! Rows and statements are decided by the same [`Translator`], so a table whose CREATE the
//! translator skipped never receives rows, and a shadow table it creates on the destination
//! receives every row the source wrote to it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use dts_applier::{Ddl, RowTarget};
use dts_binlog::{Statement, TableFilter};
use dts_schema::{Decision, TranslateConfig, Translator};
use dts_types::{BinlogPosition, Ident, RowChange, TableId, TableSchema, Value};

use crate::config::Config;
use crate::filter::{Evaluator, Filter};
use crate::input::SourceError;
use crate::versioned::{Versioned, Versioning, current_rows};

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
    /// A history row of a system-versioned table: the destination keeps its own history
    /// (see `versioned.rs`).
    HistoryRow,
    /// The table is not synced (not selected, a skipped shadow table, another task's heartbeat).
    NotSynced,
    /// The table was copied from a consistent snapshot that already holds this transaction
    /// (a keyless table's full copy, see `dts_fullcopy::Meta::snapshots`).
    InSnapshot,
    /// Two-way: a row of a transaction the opposite direction wrote (its first row is that
    /// direction's origin mark): never synced back. `first`: the mark itself, once per
    /// transaction.
    Echo {
        /// This is the transaction's first row, its mark.
        first: bool,
    },
}

/// Two-way: how the router drops the opposite direction's transactions, at their first row
/// (`dts_types::origin`).
#[derive(Debug)]
struct Echoes {
    /// The opposite direction's mark table on this direction's source.
    mark: TableId,
    /// No row of the current transaction was seen yet.
    first: bool,
    /// The current transaction is the opposite direction's.
    dropping: bool,
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
    /// Not applied: `ddl` holds only what the applier records (the reason, the warnings).
    Skipped {
        /// The statement, its reason and warnings, for the DDL log.
        ddl: Ddl,
        /// Warnings logged.
        warnings: usize,
    },
    /// A write logged in statement format that touches no synced table: skipped (counted; the
    /// first one of a run is logged at WARN).
    StatementWriteSkipped,
    /// The `XA COMMIT` or `XA ROLLBACK` of an XA transaction, whose changes the input judged at
    /// its XA PREPARE: nothing to apply.
    XaOutcome,
}

/// How a source table's rows are handled (cached per table until the next DDL).
#[derive(Debug)]
struct Route {
    target: Arc<RowTarget>,
    filter: Option<Filter>,
    /// The `row_end` column of a system-versioned table.
    row_end: Option<usize>,
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
    /// Statements skipped by position (`[incremental] skip_ddl`).
    skip_ddl: Vec<dts_types::BinlogPosition>,
    /// Tables whose rename this router followed (`follow_renames`): the binlog reader's table
    /// filter, made at the start, learns them here.
    followed: Arc<RwLock<BTreeSet<TableId>>>,
    /// Where the translator's state changes are recorded.
    state_log: crate::translator_state::TranslatorState,
    /// Tables schema sync created after the low watermark: their definition changes up to the
    /// position are already in it (`crate::late_tables`).
    created_late: crate::late_tables::Created,
    /// Which tables are system-versioned.
    versioning: Versioning,
    /// A statement-format write was skipped already (the first is logged at WARN).
    warned_statement_write: bool,
    /// Temporary tables of sessions logging in statement format.
    temporary: crate::statement_writes::TemporaryTables,
    /// Decodes statements' text exactly.
    text: crate::statement_text::StatementText,
    /// The schema history: which tables a database had before a statement (a DROP DATABASE
    /// of a database selected by table drops those of them that are selected).
    history: Option<crate::history::Timeline>,
    /// Tables the full copy read from a snapshot of their own, with its binlog position.
    snapshots: HashMap<TableId, BinlogPosition>,
    /// Where the current transaction starts.
    txn_start: Option<BinlogPosition>,
    /// Two-way: the opposite direction's transactions, dropped.
    echoes: Option<Echoes>,
}

impl Router {
    /// The router of `config`'s task.
    pub fn new(config: &Config) -> Self {
        let translator = Translator::new(TranslateConfig {
            selection: config.selection.clone(),
            online_ddl: config.online_ddl(),
            shadow_names: config.shadow_names(),
            objects: config.objects.clone(),
        });
        Router {
            translator,
            filters: config.filters.clone(),
            filter_eval: Evaluator::new(config.source.opts()).with_retry(dts_types::retry::RetryWindows {
                connection: config.connection_retry(),
                other: config.other_retry(),
            }),
            routes: HashMap::new(),
            versioning: Versioning::new(config.source.opts()),
            heartbeat: config.raw.task.heartbeat.then(|| {
                let id = TableId::new(config.meta_db.clone(), Ident::new(crate::heartbeat::TABLE).expect("valid"));
                let names = [Ident::new("task").expect("valid"), Ident::new("ts").expect("valid")];
                (id.clone(), Arc::new(RowTarget::identity(id, &names)), config.name().to_string())
            }),
            skip_ddl: config.skip_ddl(),
            created_late: Default::default(),
            followed: Default::default(),
            state_log: crate::translator_state::TranslatorState::of(config),
            warned_statement_write: false,
            temporary: Default::default(),
            text: crate::statement_text::StatementText::new(config.source.opts()),
            history: None,
            snapshots: HashMap::new(),
            txn_start: None,
            // Both directions keep their marks in the metadata database of the same name, each
            // on the server it writes to: the opposite direction's is on this one's source.
            echoes: (config.direction != crate::config::Direction::OneWay).then(|| Echoes {
                mark: TableId::new(config.meta_db.clone(), Ident::new(dts_types::origin::TABLE).expect("valid")),
                first: true,
                dropping: false,
            }),
        }
    }

    /// Whether the current transaction is the opposite direction's (two-way): nothing of it is
    /// synced.
    pub fn in_echo(&self) -> bool {
        self.echoes.as_ref().is_some_and(|e| e.dropping)
    }

    /// The tables the full copy read from a consistent snapshot of their own, each with the
    /// snapshot's binlog position: their changes in transactions starting before it are in the
    /// copy already and are not applied again.
    pub fn set_snapshots(&mut self, snapshots: impl IntoIterator<Item = (TableId, BinlogPosition)>) {
        self.snapshots = snapshots.into_iter().collect();
    }

    /// A source transaction starts at `start` (the start of its first event).
    pub fn begin(&mut self, start: &BinlogPosition) {
        if let Some(e) = &mut self.echoes {
            (e.first, e.dropping) = (true, false);
        }
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
        let mark = self.echoes.as_ref().map(|e| e.mark.clone());
        let followed = self.followed.clone();
        Box::new(move |id: &TableId| {
            heartbeat.as_ref() == Some(id)
                || mark.as_ref() == Some(id)
                || translator.table_mapping(id.database.as_str(), id.table.as_str()).is_some()
                || followed.read().is_ok_and(|f| f.contains(id))
        })
    }

    /// Tells the router which tables schema sync created late, and from which position on
    /// their definition changes are new.
    pub(crate) fn set_created_late(&mut self, created: crate::late_tables::Created) {
        self.created_late = created;
    }

    /// Gives the router's translator the state an earlier run recorded (online schema change
    /// migrations in progress; followed renames are already in the task's selection).
    pub(crate) fn restore(&mut self, changes: Vec<dts_schema::StateChange>) {
        for c in changes {
            if !matches!(c, dts_schema::StateChange::Followed { .. }) {
                self.translator.restore(c);
            }
        }
    }

    /// A statement's text, decoded exactly from its session's charset, or the stop naming it.
    pub(crate) fn statement_text(&mut self, s: &Statement) -> Result<String, SourceError> {
        self.text.decode(s)
    }

    /// Reads the source's tables from the schema history (see [`Router::statement`]).
    pub(crate) fn follow_history(&mut self, timeline: crate::history::Timeline) {
        self.history = Some(timeline);
    }

    /// Routes one row change.
    pub fn row(&mut self, table: &TableSchema, change: RowChange) -> Result<Routed, SourceError> {
        if let Some(e) = &mut self.echoes {
            let first = std::mem::replace(&mut e.first, false);
            if first && table.id == e.mark {
                e.dropping = true;
                return Ok(Routed::Echo { first: true });
            }
            if e.dropping {
                return Ok(Routed::Echo { first: false });
            }
            if table.id == e.mark {
                // A mark after other rows: the transaction is partly the opposite direction's,
                // which no write of ours makes. Syncing it could loop or lose a change.
                return Err(SourceError::EchoNotFirst { table: e.mark.to_string() });
            }
        }
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
        let change = match route.row_end {
            None => change,
            Some(i) => match current_rows(change, i) {
                Versioned::Current(c) => c,
                Versioned::History => return Ok(Routed::HistoryRow),
            },
        };
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
                let row_end = self
                    .versioning
                    .row_end_index(schema)
                    .map_err(|source| SourceError::Catalog { table: format!("{db}.{table}"), source })?;
                Some(Arc::new(Route { target: Arc::new(RowTarget { target: m.target, columns }), filter, row_end }))
            }
        };
        self.routes.insert(schema.id.clone(), route.clone());
        Ok(route)
    }

    /// Translates one statement; an applied one may change tables' columns, so rows are
    /// routed afresh after it. Applied or skipped, the applier records its outcome.
    /// `definition` gives a table's `SHOW CREATE TABLE` as of this statement (the schema
    /// history), for a CREATE TABLE ... LIKE a table the destination does not have.
    pub fn statement(
        &mut self,
        s: &Statement,
        definition: &mut dyn FnMut(&str, &str) -> Option<String>,
    ) -> Result<RoutedStatement, SourceError> {
        let ctx = &s.context;
        let ansi_quotes = ctx.sql_mode.unwrap_or(0) & 4 != 0;
        let text = self.text.decode(s);
        // Writes and XA outcomes are only judged by the names in them, so text that cannot be
        // read exactly still tells (its non-UTF-8 bytes replaced); DDL must be read exactly.
        let judged = text.as_ref().map_or_else(|_| s.sql_lossy(), String::clone);
        if let Some(done) = self.not_ddl(s, &judged, ansi_quotes) {
            return done;
        }
        let mut ddl = ddl_for(s, judged.clone());
        let (history, end) = (self.history.clone(), s.end.clone());
        let tables = move |db: &str| history.as_ref().map_or_else(Vec::new, |h| h.tables_before(db, &end));
        let sql = match text {
            Ok(sql) => sql,
            Err(e) => {
                // Text that cannot be carried exactly stops the task where it would be applied;
                // elsewhere it is skipped like any statement outside the selection (judged by
                // the names in it, on a copy of the translator: nothing of it is remembered).
                let mut judge = self.translator.clone();
                return match judge.translate_with_tables(&judged, ctx.database.as_deref(), ansi_quotes, &tables) {
                    Ok(Decision::Skip { reason, .. }) => {
                        ddl.skipped = Some(reason);
                        Ok(RoutedStatement::Skipped { ddl, warnings: 0 })
                    }
                    _ => Err(e),
                };
            }
        };
        if self.skip_ddl.contains(&s.end) {
            tracing::warn!(statement = %sql, position = %s.end, "statement skipped: its position is listed in [incremental] skip_ddl");
            ddl.skipped = Some("its position is listed in [incremental] skip_ddl".into());
            ddl.warnings = vec!["skipped by [incremental] skip_ddl: the destination does not have this change".into()];
            return Ok(RoutedStatement::Skipped { ddl, warnings: 1 });
        }
        if let Some((db, table)) = self.translator.schema_change_target(&sql, ctx.database.as_deref(), ansi_quotes)
            && let Some(at) = self.created_late.get(&(db.clone(), table.clone()))
            && s.end <= *at
        {
            ddl.skipped = Some(format!(
                "already in the definition of {db}.{table}: schema sync created it from the source after {at}"
            ));
            return Ok(RoutedStatement::Skipped { ddl, warnings: 0 });
        }
        let mut decision = self.translator.translate_with_tables(&sql, ctx.database.as_deref(), ansi_quotes, &tables);
        if let Ok(Decision::CreateFromDefinition { database, table, warnings }) = &decision {
            decision = Ok(match definition(database, table) {
                // Written by the shadow's SHOW CREATE: backtick quotes, unqualified name.
                Some(def) => match self.translator.translate(&def, Some(database), false) {
                    Ok(Decision::Apply { statements, database: _, warnings }) => {
                        tracing::info!(statement = %sql, "created like an unselected table: applied as its definition");
                        Decision::Apply {
                            statements,
                            database: self.translator.config().selection.database(database),
                            warnings,
                        }
                    }
                    _ => {
                        Decision::Skip { reason: "its definition did not translate".into(), warnings: warnings.clone() }
                    }
                },
                None => Decision::Skip {
                    reason: "created like an unselected table whose definition is not known".into(),
                    warnings: warnings.clone(),
                },
            });
        }
        for (i, change) in self.translator.take_changes().into_iter().enumerate() {
            ddl.record.push(self.state_log.record_sql(&s.end, i, &change));
            if let dts_schema::StateChange::Followed { database: db, from, to } = change {
                tracing::info!(statement = %sql, "following the rename of {db}.{from} to {db}.{to}: it keeps syncing under its new name");
                if let Some(f) = crate::config::find_filter(&self.filters, &db, &from).cloned() {
                    self.filters.insert((db.clone(), to.clone()), f);
                }
                if let (Some(id), Ok(mut set)) = (crate::translator_state::table_id(&db, &to), self.followed.write()) {
                    set.insert(id);
                }
                self.routes.clear();
            }
        }
        match decision {
            Ok(Decision::Apply { .. }) if ctx.logged_values => Err(SourceError::StatementFormat {
                statement: sql,
                object: "what it creates or changes".into(),
                reason: "it reads values the source logged for it (user variables, RAND(), LAST_INSERT_ID()), \
                         which the destination cannot replay. Fix: set binlog_format=ROW for the session that ran it \
                         and create the table again"
                    .into(),
            }),
            Ok(Decision::Apply { statements, database, warnings }) => {
                for w in &warnings {
                    tracing::warn!(statement = %sql, position = %s.end, "{w}");
                }
                self.routes.clear();
                self.versioning.clear();
                let n = warnings.len();
                ddl = Ddl { statements, database, warnings, ..ddl };
                Ok(RoutedStatement::Apply { ddl, warnings: n })
            }
            Ok(Decision::Skip { reason, warnings }) => {
                for w in &warnings {
                    tracing::warn!(statement = %sql, position = %s.end, "{w}");
                }
                let n = warnings.len();
                ddl = Ddl { skipped: Some(reason), warnings, ..ddl };
                Ok(RoutedStatement::Skipped { ddl, warnings: n })
            }
            Ok(Decision::Stop { table, reason }) => Err(SourceError::Refused { statement: sql, table, reason }),
            Ok(Decision::CreateFromDefinition { .. }) => unreachable!("resolved above"),
            Err(source) => Err(SourceError::Translate { statement: sql, source }),
        }
    }
}

impl Router {
    /// Statements that are no DDL: the outcome of an XA transaction, and writes logged in
    /// statement format (judged by `crate::statement_writes`). `None` for everything else.
    fn not_ddl(&mut self, s: &Statement, sql: &str, ansi_quotes: bool) -> Option<Result<RoutedStatement, SourceError>> {
        let head = sql.trim_start().get(..3).unwrap_or_default();
        if head.eq_ignore_ascii_case("XA ") {
            tracing::debug!(statement = %sql, "outcome of an XA transaction: nothing to apply");
            return Some(Ok(RoutedStatement::XaOutcome));
        }
        let db = s.context.database.as_deref();
        if let Ok(Some(t)) = dts_schema::temporary_table(sql, ansi_quotes) {
            // Followed, and left to the translator, which skips it.
            self.temporary.follow(t, s.context.thread_id, db);
            return None;
        }
        // Text the lexer cannot read is the translator's to name.
        let write = dts_schema::statement_write(sql, ansi_quotes).ok()??;
        let judged = crate::statement_writes::judge_statement_write(
            &self.translator,
            &self.temporary,
            s.context.thread_id,
            &write,
            db,
            sql,
        );
        if let Err(e) = judged {
            return Some(Err(e));
        }
        if !std::mem::replace(&mut self.warned_statement_write, true) {
            tracing::warn!(
                statement = %sql,
                database = db.unwrap_or_default(),
                "a session on the source logs writes in statement format (binlog_format STATEMENT or MIXED); \
                 they touch no table the task syncs and are skipped (counted in dts_statement_writes_skipped_total)"
            );
        } else {
            tracing::debug!(statement = %sql, "statement-format write on tables the task does not sync skipped");
        }
        Some(Ok(RoutedStatement::StatementWriteSkipped))
    }
}

/// The applier's input for statement `s` (its text as `source`), with nothing to run yet: the
/// router fills in what runs, or why nothing does.
pub(crate) fn ddl_for(s: &Statement, source: String) -> Ddl {
    let ctx = &s.context;
    Ddl {
        source,
        position: s.end.clone(),
        skipped: None,
        warnings: Vec::new(),
        record: Vec::new(),
        statements: Vec::new(),
        database: None,
        sql_mode: ctx.sql_mode,
        time_zone: ctx.time_zone.clone(),
        charset: crate::statement_text::destination_charset(ctx.charset),
        timestamp: Some((ctx.timestamp, ctx.microseconds)),
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
            "[source]\nhost = \"a\"\nuser = \"u\"\npassword_env = \"PATH\"\n[destination]\nhost = \"b\"\nuser = \"u\"\npassword_env = \"PATH\"\n\
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
