//! DDL translation for incremental sync: what to do with each statement from the binlog.
//!
//! Every statement is classified ([`crate::statement`]) and then applied with its names mapped,
//! applied in part (the selected tables of a multi-table DROP or RENAME), or skipped with the
//! reason. Object names are always written qualified with their destination database, so a
//! statement does not depend on the destination session's default database for them.
//!
//! RENAME TABLE rule: a rename within the selection is applied. A rename out of the selection
//! (the new name is not selected) is skipped with a warning that the table stops syncing; the
//! destination keeps its last copy under the old name. A rename into the selection (the old name
//! was not selected) is skipped with a warning that the table's rows are not on the destination
//! and it needs a full sync. A table never stops syncing without such a warning. ALTER TABLE ...
//! RENAME TO follows the same rule: a rename out of the selection is skipped whole (applied, it
//! would put the destination table under a name the task does not select). A table list that
//! follows renames (`follow_renames`) follows a rename out of it inside its database instead:
//! the table keeps syncing under its new name ([`StateChange::Followed`]).

use std::collections::{BTreeMap, BTreeSet};

use dts_types::{TableId, quote_ident};

use crate::lexer::{Kind, Token, splice};
use crate::online_ddl::{OnlineDdlMode, ShadowNames, ShadowRole};
use crate::selection::{ColumnMap, MappedTable, NameCase, ObjectKind, Selection};
use crate::statement::{NameRef, ParseError, Statement, StatementKind, parse};
use crate::sync::ObjectRules;
use crate::trigger::TriggerPolicy;

/// How a task treats DDL.
#[derive(Debug, Clone, Default)]
pub struct TranslateConfig {
    /// What is synced, under which names.
    pub selection: Selection,
    /// What to do with online schema change tools' tables.
    pub online_ddl: OnlineDdlMode,
    /// Their shadow tables' name templates.
    pub shadow_names: ShadowNames,
    /// How triggers (CREATE/DROP TRIGGER) and the DEFINER of views, routines, triggers and
    /// events reach the destination.
    pub objects: ObjectRules,
}

/// What to do with a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run `statements` on the destination, in order, with `database` as the default database
    /// (the mapped name of the statement's own default database, when that is selected).
    Apply {
        /// The rewritten statements, in order.
        statements: Vec<String>,
        /// The default database to run them in.
        database: Option<String>,
        /// What the operator must know.
        warnings: Vec<String>,
    },
    /// Do not run it; `reason` says why, `warnings` what the operator must know.
    Skip {
        /// Why.
        reason: String,
        /// What the operator must know.
        warnings: Vec<String>,
    },
    /// The statement creates selected table `database.table` LIKE a table the destination does
    /// not have: translate the new table's own definition (`SHOW CREATE TABLE` as of the
    /// statement, from the schema history) instead, or skip it with `warnings` when there is
    /// none.
    CreateFromDefinition {
        /// The source database.
        database: String,
        /// The new table's source name.
        table: String,
        /// What the operator must know if no definition can be had.
        warnings: Vec<String>,
    },
    /// Do not run it, and stop the task: running on would lose a change on the destination
    /// (the cut-over of an online schema change whose shadow table the task never saw created).
    Stop {
        /// The source table concerned, `db.table`.
        table: String,
        /// What happened and how to fix it.
        reason: String,
    },
}

impl Decision {
    fn skip(reason: impl Into<String>) -> Decision {
        Decision::Skip { reason: reason.into(), warnings: Vec::new() }
    }
}

/// Translates statements; keeps the ALTERs that online schema change tools run on their shadow
/// tables until the tool swaps the tables.
#[derive(Debug, Clone)]
pub struct Translator {
    cfg: TranslateConfig,
    /// (database, real table) -> ALTER specifications seen on its shadow table.
    pending: BTreeMap<(String, String), Vec<String>>,
    /// (database, real table) whose shadow table's CREATE this translator saw (or was told of,
    /// [`Translator::restore`]): only for those can `pending` hold every ALTER of the shadow. A
    /// cut-over of another stops the task ([`Decision::Stop`]) instead of renaming without them.
    shadows_created: BTreeSet<(String, String)>,
    /// What changed in this state since the last [`Translator::take_changes`].
    changes: Vec<StateChange>,
}

/// A change to what a translator knows beyond its configuration. A task records each (with the
/// checkpoint that passes the statement) and gives them back to a new translator with
/// [`Translator::restore`], so a restart decides every later statement as an uninterrupted run
/// would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateChange {
    /// A rename followed out of a table list ([`Selection::follow_rename`]); source names.
    Followed {
        /// The database.
        database: String,
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// An online schema change tool created the shadow (ghost) table of `table`: a new
    /// migration, whose ALTERs follow.
    ShadowCreated {
        /// The database.
        database: String,
        /// The real table.
        table: String,
    },
    /// The tool altered `table`'s shadow with `spec` (the ALTER's text after the table name),
    /// to apply to the real table at the cut-over.
    ShadowAltered {
        /// The database.
        database: String,
        /// The real table.
        table: String,
        /// The ALTER specification.
        spec: String,
    },
}

impl Translator {
    /// A translator with nothing pending.
    pub fn new(cfg: TranslateConfig) -> Self {
        Translator { cfg, pending: BTreeMap::new(), shadows_created: BTreeSet::new(), changes: Vec::new() }
    }

    /// Its configuration.
    pub fn config(&self) -> &TranslateConfig {
        &self.cfg
    }

    /// The destination of a source table, or `None` when it is not synced (also for online
    /// schema change shadow tables in [`OnlineDdlMode::ApplyAtCutOver`]).
    pub fn table_target(&self, db: &str, table: &str) -> Option<TableId> {
        self.table_mapping(db, table).map(|m| m.target)
    }

    /// How a source table's rows are synced, or `None` when they are not: the selection's
    /// mapping, except for an online schema change tool's shadow table of a selected table,
    /// whose rows are skipped ([`OnlineDdlMode::ApplyAtCutOver`]) or go to the shadow's name
    /// next to the real table's destination ([`OnlineDdlMode::Copy`]): a ghost or old table
    /// with the real table's column rules and row filter (it holds the real table's rows), a
    /// changelog table whole. `source` is the table whose rules apply (the real table for a
    /// ghost or old table), so its row filter is looked up by that name.
    pub fn table_mapping(&self, db: &str, table: &str) -> Option<MappedTable> {
        if let Some((role, base)) = self.cfg.shadow_names.classify(table)
            && let Some(mut m) = self.cfg.selection.table(db, &base)
        {
            if self.cfg.online_ddl == OnlineDdlMode::ApplyAtCutOver {
                return None;
            }
            let name = self.cfg.shadow_names.with_base(table, m.target.table.as_str())?;
            m.target = TableId::parse(m.target.database.as_str(), &name).ok()?;
            if role == ShadowRole::Changelog {
                m.source = TableId::parse(db, table).ok()?;
                m.columns = ColumnMap::every_column(self.cfg.selection.name_case);
                m.filter = None;
            }
            return Some(m);
        }
        self.cfg.selection.table(db, table)
    }

    fn shadow(&self, db: &str, table: &str) -> Option<(ShadowRole, String)> {
        let (role, base) = self.cfg.shadow_names.classify(table)?;
        self.cfg.selection.table(db, &base).is_some().then_some((role, base))
    }

    /// The source table whose definition a statement changes — CREATE TABLE, ALTER TABLE,
    /// CREATE INDEX, DROP INDEX — as `(database, table)`; `None` for any other statement or one
    /// that does not parse.
    pub fn schema_change_target(
        &self,
        sql: &str,
        default_db: Option<&str>,
        ansi_quotes: bool,
    ) -> Option<(String, String)> {
        let st = parse(sql, ansi_quotes).ok()?;
        use StatementKind as K;
        let table = match &st.kind {
            K::CreateTable { table, temporary: false, .. }
            | K::AlterTable { table, .. }
            | K::CreateIndex { table }
            | K::DropIndex { table } => table,
            _ => return None,
        };
        Some((table.database_or(default_db)?.to_string(), table.name.clone()))
    }

    /// Translates one statement, run on the source with default database `default_db`.
    /// Without the source's tables (see [`Translator::translate_with_tables`]), a DROP DATABASE
    /// of a database selected by table drops the tables its rules name exactly.
    pub fn translate(
        &mut self,
        sql: &str,
        default_db: Option<&str>,
        ansi_quotes: bool,
    ) -> Result<Decision, ParseError> {
        self.translate_with_tables(sql, default_db, ansi_quotes, &|_| Vec::new())
    }

    /// [`Translator::translate`], with `source_tables(db)` the tables database `db` had on the
    /// source just before the statement: a DROP DATABASE of a database selected by table
    /// becomes a DROP TABLE of its selected tables (the destination database and the rest of
    /// it stay).
    pub fn translate_with_tables(
        &mut self,
        sql: &str,
        default_db: Option<&str>,
        ansi_quotes: bool,
        source_tables: &dyn Fn(&str) -> Vec<String>,
    ) -> Result<Decision, ParseError> {
        let st = parse(sql, ansi_quotes)?;
        let target_default = default_db.and_then(|d| self.cfg.selection.database(d));
        let mut warnings = Vec::new();
        let apply = |statements: Vec<String>, warnings: Vec<String>| Decision::Apply {
            statements,
            database: target_default.clone(),
            warnings,
        };
        let db_of = |n: &NameRef| n.database_or(default_db).map(str::to_string);
        use StatementKind as K;
        Ok(match &st.kind {
            K::AccountManagement => Decision::skip("account and privilege statements never reach the destination"),
            K::Other { verb } => Decision::skip(format!("{verb} statements are not replicated")),
            K::CreateTable { table, like, temporary } => {
                if *temporary {
                    return Ok(Decision::skip("temporary tables are not replicated"));
                }
                let Some(db) = db_of(table) else { return Ok(Decision::skip("no database for the table")) };
                if self.online_skip(&db, &table.name) {
                    if let Some((ShadowRole::Ghost, base)) = self.shadow(&db, &table.name) {
                        self.change(StateChange::ShadowCreated { database: db.clone(), table: base });
                    }
                    return Ok(Decision::skip(format!("online schema change shadow table {db}.{}", table.name)));
                }
                let Some(target) = self.table_target(&db, &table.name) else {
                    return Ok(Decision::skip(format!("{db}.{} is not selected", table.name)));
                };
                let mut edits = self.name_edits(&st, table, &target);
                if let Some(l) = like {
                    let ldb = db_of(l).unwrap_or_default();
                    match self.table_target(&ldb, &l.name) {
                        Some(lt) => edits.extend(self.name_edits(&st, l, &lt)),
                        None => {
                            return Ok(Decision::CreateFromDefinition {
                                database: db.clone(),
                                table: table.name.clone(),
                                warnings: vec![format!(
                                    "{db}.{} was created like {ldb}.{}, which is not selected and whose definition the \
                                     schema history does not hold: create {db}.{} on the destination by hand",
                                    table.name, l.name, table.name
                                )],
                            });
                        }
                    }
                }
                edits.extend(self.reference_edits(&st, default_db, &mut warnings));
                apply(vec![self.finish(&st, edits, &db, &table.name)], warnings)
            }
            K::AlterTable { table, rename_to } => {
                let Some(db) = db_of(table) else { return Ok(Decision::skip("no database for the table")) };
                if let Some((ShadowRole::Ghost, base)) = self.shadow(&db, &table.name)
                    && self.cfg.online_ddl == OnlineDdlMode::ApplyAtCutOver
                {
                    // Keep the ALTER's specification (after the table name) for the cut-over.
                    let spec = st.sql[st.tokens[table.token].end..].trim().to_string();
                    self.change(StateChange::ShadowAltered { database: db.clone(), table: base.clone(), spec });
                    return Ok(Decision::skip(format!(
                        "ALTER of online schema change shadow table {db}.{}: applied to {db}.{base} at cut-over",
                        table.name
                    )));
                }
                if self.online_skip(&db, &table.name) {
                    return Ok(Decision::skip(format!("online schema change shadow table {db}.{}", table.name)));
                }
                let Some(target) = self.table_target(&db, &table.name) else {
                    let into = rename_to
                        .as_ref()
                        .filter(|r| self.table_target(&db_of(r).unwrap_or_default(), &r.name).is_some());
                    let warnings = into
                        .map(|r| {
                            format!(
                                "{db}.{} (not selected) was renamed to {}.{}, which is: its rows are not on the destination, and \
                                 its first change stops the task; run a full sync of it: `dts-sync recopy --config <task file> {}.{}`",
                                table.name,
                                db_of(r).unwrap_or_default(),
                                r.name,
                                db_of(r).unwrap_or_default(),
                                r.name
                            )
                        })
                        .into_iter()
                        .collect();
                    return Ok(Decision::Skip { reason: format!("{db}.{} is not selected", table.name), warnings });
                };
                if let Some(m) = self.cfg.selection.table(&db, &table.name)
                    && m.columns.has_subset()
                    && let Some(col) = altered_columns(&st).into_iter().find(|c| !m.columns.selected(c))
                {
                    return Ok(Decision::Skip {
                        reason: format!("ALTER TABLE {db}.{} touches column {col}, which is not synced", table.name),
                        warnings: vec![format!(
                            "ALTER TABLE on {db}.{} was not applied because it involves the unsynced column {col}; check the destination table",
                            table.name
                        )],
                    });
                }
                let mut edits = self.name_edits(&st, table, &target);
                if let Some(r) = rename_to {
                    let rdb = db_of(r).unwrap_or_default();
                    if rdb == db && self.table_target(&rdb, &r.name).is_none() {
                        self.follow(&db, &table.name, &r.name);
                    }
                    match self.table_target(&rdb, &r.name) {
                        Some(rt) => edits.extend(self.name_edits(&st, r, &rt)),
                        // As RENAME TABLE out of the selection: applied, the rename would put the
                        // destination table under a name outside the selection (the source's
                        // database name, where the task maps it elsewhere).
                        None => {
                            return Ok(Decision::Skip {
                                reason: format!("ALTER TABLE {db}.{} renames it out of the selection", table.name),
                                warnings: vec![format!(
                                    "{db}.{} was renamed to {rdb}.{}, which is not selected: it stops syncing (the destination keeps its last copy)",
                                    table.name, r.name
                                )],
                            });
                        }
                    }
                }
                edits.extend(self.reference_edits(&st, default_db, &mut warnings));
                apply(vec![self.finish(&st, edits, &db, &table.name)], warnings)
            }
            K::DropTable { tables, temporary, if_exists } => {
                if *temporary {
                    return Ok(Decision::skip("temporary tables are not replicated"));
                }
                let mut targets = Vec::new();
                let mut skipped = Vec::new();
                for t in tables {
                    let db = db_of(t).unwrap_or_default();
                    if self.online_skip(&db, &t.name) {
                        skipped.push(format!("{db}.{}", t.name));
                        continue;
                    }
                    match self.table_target(&db, &t.name) {
                        Some(target) => targets.push(target.quoted()),
                        None => skipped.push(format!("{db}.{}", t.name)),
                    }
                }
                if targets.is_empty() {
                    return Ok(Decision::skip("none of the dropped tables is selected"));
                }
                if !skipped.is_empty() {
                    warnings.push(format!("DROP TABLE applied in part; not selected: {}", skipped.join(", ")));
                }
                let ie = if *if_exists { "IF EXISTS " } else { "" };
                apply(vec![format!("DROP TABLE {ie}{}", targets.join(", "))], warnings)
            }
            K::RenameTable { pairs } => self.rename(pairs, default_db, target_default.clone()),
            K::TruncateTable { table } | K::CreateIndex { table } | K::DropIndex { table } => {
                let db = db_of(table).unwrap_or_default();
                if self.online_skip(&db, &table.name) {
                    return Ok(Decision::skip(format!("online schema change shadow table {db}.{}", table.name)));
                }
                let Some(target) = self.table_target(&db, &table.name) else {
                    return Ok(Decision::skip(format!("{db}.{} is not selected", table.name)));
                };
                let edits = self.name_edits(&st, table, &target);
                apply(vec![self.finish(&st, edits, &db, &table.name)], warnings)
            }
            K::DropDatabase { database } if !self.cfg.selection.whole_database(&database.name) => {
                self.drop_partly_selected_database(&database.name, source_tables(&database.name))
            }
            K::CreateDatabase { database } | K::DropDatabase { database } => {
                let Some(target) = self.cfg.selection.database(&database.name) else {
                    return Ok(Decision::skip(format!("database {} is not selected", database.name)));
                };
                let at = &st.tokens[database.token];
                let mut edits = vec![(at.start, at.end, quote_ident(&target))];
                // A database selected by table keeps its destination database when it is
                // dropped (only its selected tables go), so creating it again finds it there.
                let creates = matches!(st.kind, K::CreateDatabase { .. });
                let if_not_exists = st.tokens[..database.token].iter().any(|t| t.is_kw("EXISTS"));
                if creates && !if_not_exists && !self.cfg.selection.whole_database(&database.name) {
                    edits.insert(0, (at.start, at.start, "IF NOT EXISTS ".to_string()));
                }
                apply(vec![splice(&st.sql, edits)], warnings)
            }
            K::AlterDatabase { database } => {
                let name = database.as_ref().map(|d| d.name.clone()).or(default_db.map(str::to_string));
                let Some(target) = name.as_deref().and_then(|n| self.cfg.selection.database(n)) else {
                    return Ok(Decision::skip("the database is not selected"));
                };
                let edits = database
                    .iter()
                    .map(|d| (st.tokens[d.token].start, st.tokens[d.token].end, quote_ident(&target)))
                    .collect();
                apply(vec![splice(&st.sql, edits)], warnings)
            }
            K::CreateView { view } | K::AlterView { view } => {
                self.whole_db_object(&st, view, default_db, target_default.clone(), ObjectKind::View)
            }
            K::DropView { views, if_exists } => {
                let mut targets = Vec::new();
                for v in views {
                    let db = db_of(v).unwrap_or_default();
                    if self.cfg.selection.object(&db, ObjectKind::View, &v.name)
                        && let Some(tdb) = self.cfg.selection.database(&db)
                    {
                        targets.push(format!(
                            "{}.{}",
                            quote_ident(&tdb),
                            quote_ident(&self.cfg.selection.name_case.apply(&v.name))
                        ));
                    }
                }
                if targets.is_empty() {
                    return Ok(Decision::skip("none of the dropped views is selected"));
                }
                let ie = if *if_exists { "IF EXISTS " } else { "" };
                apply(vec![format!("DROP VIEW {ie}{}", targets.join(", "))], warnings)
            }
            K::CreateRoutine { kind: "SEQUENCE", name }
            | K::DropRoutine { kind: "SEQUENCE", name }
            | K::AlterRoutine { kind: "SEQUENCE", name } => {
                // A sequence is a table in MariaDB, selected by the table rules.
                let db = db_of(name).unwrap_or_default();
                let Some(target) = self.cfg.selection.table(&db, &name.name).map(|m| m.target) else {
                    return Ok(Decision::skip(format!("sequence {db}.{} is not selected", name.name)));
                };
                let edits = self.name_edits(&st, name, &target);
                apply(vec![splice(&st.sql, edits)], warnings)
            }
            K::CreateRoutine { kind, name } | K::DropRoutine { kind, name } | K::AlterRoutine { kind, name } => {
                let object = if *kind == "EVENT" { ObjectKind::Event } else { ObjectKind::Routine };
                let mut d = self.whole_db_object(&st, name, default_db, target_default.clone(), object);
                // Events stay disabled on the destination until `dts-sync cutover`.
                if *kind == "EVENT"
                    && !matches!(st.kind, K::DropRoutine { .. })
                    && let Decision::Apply { statements, .. } = &mut d
                {
                    let create = matches!(st.kind, K::CreateRoutine { .. });
                    let sql = &statements[0];
                    let tokens = crate::lexer::lex(sql, false)?;
                    statements[0] = splice(sql, crate::event::disabled_on_destination(&tokens, create));
                }
                d
            }
            K::CreateTrigger { trigger, table } => {
                if self.cfg.shadow_names.is_tool_trigger(&trigger.name) {
                    return Ok(Decision::skip(format!("online schema change tool trigger {}", trigger.name)));
                }
                if let Some(d) = self.trigger_policy_skip() {
                    return Ok(d);
                }
                let db = db_of(table).unwrap_or_default();
                let Some(target) = self.table_target(&db, &table.name) else {
                    return Ok(Decision::skip(format!("trigger on {db}.{}, which is not selected", table.name)));
                };
                let mut edits = self.name_edits(&st, table, &target);
                if let Some((d, i)) = &trigger.database
                    && let Some(tdb) = self.cfg.selection.database(d)
                {
                    edits.push((st.tokens[*i].start, st.tokens[*i].end, quote_ident(&tdb)));
                }
                edits.extend(self.cfg.objects.definer.edits(&st.tokens));
                edits.extend(crate::trigger::guard(&st.sql, &st.tokens).unwrap_or_default());
                apply(vec![splice(&st.sql, edits)], warnings)
            }
            K::DropTrigger { trigger } => {
                if self.cfg.shadow_names.is_tool_trigger(&trigger.name) {
                    return Ok(Decision::skip(format!("online schema change tool trigger {}", trigger.name)));
                }
                if let Some(d) = self.trigger_policy_skip() {
                    return Ok(d);
                }
                // The trigger's table is not named: a trigger of any selected table of the
                // database may be dropped (IF EXISTS: it may be on an unselected table).
                let db = trigger.database_or(default_db).unwrap_or_default().to_string();
                let Some(tdb) = self.cfg.selection.database(&db) else {
                    return Ok(Decision::skip(format!("database {db} is not selected")));
                };
                let name = format!("{}.{}", quote_ident(&tdb), quote_ident(&trigger.name));
                apply(vec![format!("DROP TRIGGER IF EXISTS {name}")], warnings)
            }
        })
    }

    /// Follows a rename out of a table list that follows renames
    /// ([`Selection::follow_rename`]), noting it for [`Translator::take_followed`].
    fn follow(&mut self, db: &str, from: &str, to: &str) -> bool {
        let followed = self.cfg.selection.follow_rename(db, from, to);
        if followed {
            self.changes.push(StateChange::Followed { database: db.into(), from: from.into(), to: to.into() });
        }
        followed
    }

    /// Applies a change to this translator's state and notes it for [`Translator::take_changes`].
    fn change(&mut self, c: StateChange) {
        self.restore(c.clone());
        self.changes.push(c);
    }

    /// Applies a change recorded from an earlier translator (or run), without noting it again.
    pub fn restore(&mut self, c: StateChange) {
        match c {
            StateChange::Followed { database, from, to } => {
                self.cfg.selection.follow_rename(&database, &from, &to);
            }
            StateChange::ShadowCreated { database, table } => {
                self.pending.remove(&(database.clone(), table.clone()));
                self.shadows_created.insert((database, table));
            }
            StateChange::ShadowAltered { database, table, spec } => {
                // Read again after the input restarted from an earlier checkpoint in this
                // process: a tool runs each ALTER once, so the same one again is that one.
                let specs = self.pending.entry((database, table)).or_default();
                if !specs.contains(&spec) {
                    specs.push(spec);
                }
            }
        }
    }

    /// The changes to this translator's state since the last call, in order: what a task
    /// records so that a translator after a restart decides as this one does.
    pub fn take_changes(&mut self) -> Vec<StateChange> {
        std::mem::take(&mut self.changes)
    }

    /// A trigger statement's decision when the trigger policy does not create triggers now.
    fn trigger_policy_skip(&self) -> Option<Decision> {
        match self.cfg.objects.triggers {
            TriggerPolicy::None => Some(Decision::skip("triggers are not synced by this task's trigger policy")),
            TriggerPolicy::AtCutover => {
                Some(Decision::skip("triggers are created by `dts-sync cutover` (`triggers = \"at_cutover\"`)"))
            }
            TriggerPolicy::Guarded => None,
        }
    }

    /// Whether a table is an online schema change shadow table this mode skips.
    fn online_skip(&self, db: &str, table: &str) -> bool {
        self.cfg.online_ddl == OnlineDdlMode::ApplyAtCutOver && self.shadow(db, table).is_some()
    }

    fn rename(
        &mut self,
        pairs: &[(NameRef, NameRef)],
        default_db: Option<&str>,
        target_default: Option<String>,
    ) -> Decision {
        let db_of = |n: &NameRef| n.database_or(default_db).unwrap_or_default().to_string();
        let mut out = Vec::new();
        let mut warnings = Vec::new();
        let mut statements = Vec::new();
        let mut followed_in_place = Vec::new();
        for (from, to) in pairs {
            let (fdb, tdb) = (db_of(from), db_of(to));
            // Online schema change cut-over: `t -> old` and `shadow -> t`.
            if self.cfg.online_ddl == OnlineDdlMode::ApplyAtCutOver {
                if let Some((ShadowRole::Old, base)) = self.shadow(&tdb, &to.name)
                    && base == from.name
                {
                    continue;
                }
                if let Some((ShadowRole::Ghost, base)) = self.shadow(&fdb, &from.name)
                    && base == to.name
                {
                    let key = (fdb.clone(), base.clone());
                    if !self.shadows_created.contains(&key) {
                        return Decision::Stop {
                            table: format!("{tdb}.{}", to.name),
                            reason: format!(
                                "cut-over of an online schema change: {fdb}.{} replaces {tdb}.{}, but the task never \
                                 saw {fdb}.{} created (the migration began before the task's incremental sync did), \
                                 so the ALTER the tool ran on it is not known and would be lost on the destination. \
                                 Fix: run the task's full sync again from scratch (drop its tables on the destination \
                                 and its rows in the task's metadata database, then `dts-sync run`); or start such \
                                 migrations once the task is in incremental sync",
                                from.name, to.name, from.name
                            ),
                        };
                    }
                    let target = self.table_target(&tdb, &to.name);
                    // Both are kept until the tool's next CREATE of the shadow: the input may
                    // restart in this process from a checkpoint before this RENAME (a lost
                    // connection) and read it again; the ALTERs then run again, and fail
                    // harmlessly where the first run applied them (the applier records it).
                    for spec in self.pending.get(&key).cloned().unwrap_or_default() {
                        if let Some(t) = &target {
                            statements.push(format!("ALTER TABLE {} {spec}", t.quoted()));
                        }
                    }
                    continue;
                }
            }
            match (self.table_target(&fdb, &from.name), self.table_target(&tdb, &to.name)) {
                (Some(a), Some(b)) => out.push(format!("{} TO {}", a.quoted(), b.quoted())),
                (Some(a), None) if fdb == tdb && self.follow(&fdb, &from.name, &to.name) => {
                    match self.table_target(&tdb, &to.name) {
                        Some(b) if b != a => out.push(format!("{} TO {}", a.quoted(), b.quoted())),
                        _ => followed_in_place.push(format!("{fdb}.{}", to.name)),
                    }
                }
                (Some(_), None) => warnings.push(format!(
                    "{fdb}.{} was renamed to {tdb}.{}, which is not selected: it stops syncing (the destination keeps its last copy)",
                    from.name, to.name
                )),
                (None, Some(_)) => warnings.push(format!(
                    "{fdb}.{} (not selected) was renamed to {tdb}.{}, which is: its rows are not on the destination, and its \
                     first change stops the task; run a full sync of it: `dts-sync recopy --config <task file> {tdb}.{}`",
                    from.name, to.name, to.name
                )),
                (None, None) => {}
            }
        }
        if !out.is_empty() {
            statements.insert(0, format!("RENAME TABLE {}", out.join(", ")));
        }
        if statements.is_empty() {
            let reason = if followed_in_place.is_empty() {
                "no selected table is renamed".to_string()
            } else {
                format!(
                    "followed: {} keeps syncing into its destination table, whose name the task file gives",
                    followed_in_place.join(", ")
                )
            };
            return Decision::Skip { reason, warnings };
        }
        Decision::Apply { statements, database: target_default, warnings }
    }

    /// Views, routines and events follow whole selected databases, and in partly selected ones
    /// the rule's `views`, `routines` and `events`; qualified references to renamed databases
    /// in their bodies are rewritten, and the DEFINER follows the policy.
    fn whole_db_object(
        &self,
        st: &Statement,
        name: &NameRef,
        default_db: Option<&str>,
        target_default: Option<String>,
        kind: ObjectKind,
    ) -> Decision {
        let db = name.database_or(default_db).unwrap_or_default().to_string();
        if !self.cfg.selection.object(&db, kind, &name.name) {
            let what = match kind {
                ObjectKind::View => "view",
                ObjectKind::Routine => "routine",
                ObjectKind::Event => "event",
            };
            return Decision::skip(format!("{what} {db}.{} is not selected", name.name));
        }
        let mut edits = Vec::new();
        // Every `db.` qualifier naming a selected database gets its destination name.
        for (i, t) in st.tokens.iter().enumerate() {
            if t.is_ident()
                && st.tokens.get(i + 1).is_some_and(|n| n.is_punct("."))
                && st.tokens.get(i + 2).is_some_and(Token::is_ident)
                && let Some(tdb) = self.cfg.selection.database(&t.text)
                && tdb != t.text
            {
                edits.push((t.start, t.end, quote_ident(&tdb)));
            }
        }
        if name.database.is_none()
            && let Some(tdb) = self.cfg.selection.database(&db)
        {
            let tok = &st.tokens[name.token];
            edits.push((tok.start, tok.end, format!("{}.{}", quote_ident(&tdb), quote_ident(&tok.text))));
        }
        edits.extend(self.cfg.objects.definer.edits(&st.tokens));
        Decision::Apply { statements: vec![splice(&st.sql, edits)], database: target_default, warnings: Vec::new() }
    }

    /// Edits writing a table name as its qualified destination name.
    fn name_edits(&self, st: &Statement, n: &NameRef, target: &TableId) -> Vec<(usize, usize, String)> {
        let tok = &st.tokens[n.token];
        match &n.database {
            Some((_, i)) => vec![
                (st.tokens[*i].start, st.tokens[*i].end, quote_ident(target.database.as_str())),
                (tok.start, tok.end, quote_ident(target.table.as_str())),
            ],
            None => vec![(tok.start, tok.end, target.quoted())],
        }
    }

    /// `REFERENCES t` in foreign keys: the referenced table's destination name.
    fn reference_edits(
        &self,
        st: &Statement,
        default_db: Option<&str>,
        warnings: &mut Vec<String>,
    ) -> Vec<(usize, usize, String)> {
        let mut edits = Vec::new();
        for (i, t) in st.tokens.iter().enumerate() {
            if !t.is_kw("REFERENCES") {
                continue;
            }
            let Some(first) = st.tokens.get(i + 1).filter(|x| x.is_ident()) else { continue };
            let qualified = st.tokens.get(i + 2).is_some_and(|x| x.is_punct("."))
                && st.tokens.get(i + 3).is_some_and(Token::is_ident);
            let n = if qualified {
                NameRef {
                    database: Some((first.text.clone(), i + 1)),
                    name: st.tokens[i + 3].text.clone(),
                    token: i + 3,
                }
            } else {
                NameRef { database: None, name: first.text.clone(), token: i + 1 }
            };
            let db = n.database_or(default_db).unwrap_or_default().to_string();
            match self.table_target(&db, &n.name) {
                Some(target) => edits.extend(self.name_edits(st, &n, &target)),
                None => warnings.push(format!("a foreign key references {db}.{}, which is not selected", n.name)),
            }
        }
        edits
    }

    /// Applies the column mapping and name-case policy of `db.table` to a CREATE/ALTER TABLE and
    /// splices all edits.
    fn finish(&self, st: &Statement, mut edits: Vec<(usize, usize, String)>, db: &str, table: &str) -> String {
        // A shadow table (copied) takes its real table's column names, as its rows do.
        let Some(m) = self.table_mapping(db, table) else { return splice(&st.sql, edits) };
        let case = self.cfg.selection.name_case;
        let taken: Vec<(usize, usize)> = edits.iter().map(|e| (e.0, e.1)).collect();
        for t in &st.tokens {
            if !t.is_ident() || taken.iter().any(|&(s, e)| s <= t.start && t.end <= e) {
                continue;
            }
            let renamed = m.columns.target(&t.text);
            let explicit = renamed != case.apply(&t.text);
            if explicit {
                edits.push((t.start, t.end, quote_ident(&renamed)));
            } else if case != NameCase::Source && t.kind == Kind::Quoted {
                edits.push((t.start, t.end, quote_ident(&case.apply(&t.text))));
            } else if case != NameCase::Source && t.kind == Kind::Word {
                edits.push((t.start, t.end, case.apply(&t.text)));
            }
        }
        splice(&st.sql, edits)
    }
}

/// Column names an ALTER TABLE adds, changes, modifies or drops (best effort, for column-subset
/// checks).
fn altered_columns(st: &Statement) -> Vec<String> {
    const NOT_COLUMNS: &[&str] = &[
        "COLUMN",
        "INDEX",
        "KEY",
        "CONSTRAINT",
        "PRIMARY",
        "UNIQUE",
        "FOREIGN",
        "FULLTEXT",
        "SPATIAL",
        "IF",
        "NOT",
        "EXISTS",
        "PARTITION",
        "CHECK",
        "PERIOD",
        "SYSTEM",
        "DEFAULT",
    ];
    let t = &st.tokens;
    let mut out = Vec::new();
    for i in 0..t.len() {
        if ["ADD", "CHANGE", "MODIFY", "DROP", "AFTER"].iter().any(|k| t[i].is_kw(k)) {
            let mut j = i + 1;
            while t.get(j).is_some_and(|x| {
                x.kind == Kind::Word
                    && NOT_COLUMNS.iter().any(|k| x.text.eq_ignore_ascii_case(k))
                    && !x.is_kw("DEFAULT")
            }) {
                if t[j].is_kw("INDEX")
                    || t[j].is_kw("KEY")
                    || t[j].is_kw("PRIMARY")
                    || t[j].is_kw("CONSTRAINT")
                    || t[j].is_kw("FOREIGN")
                    || t[j].is_kw("PARTITION")
                    || t[j].is_kw("CHECK")
                {
                    j = usize::MAX;
                    break;
                }
                j += 1;
            }
            if let Some(x) = t.get(j).filter(|x| x.is_ident()) {
                out.push(x.text.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::selection::{DatabaseRule, TableRule};

    fn tr(selection: Selection) -> Translator {
        Translator::new(TranslateConfig { selection, ..Default::default() })
    }

    fn apply(d: Decision) -> (Vec<String>, Vec<String>) {
        match d {
            Decision::Apply { statements, warnings, .. } => (statements, warnings),
            other => panic!("not applied: {other:?}"),
        }
    }

    fn skip(d: Decision) -> (String, Vec<String>) {
        match d {
            Decision::Skip { reason, warnings } => (reason, warnings),
            other => panic!("not skipped: {other:?}"),
        }
    }

    fn tables_only() -> Selection {
        Selection {
            databases: vec![DatabaseRule {
                database: "shop".into(),
                rename: Some("shop2".into()),
                tables: Some(vec![
                    TableRule {
                        name: "orders".into(),
                        rename: Some("purchases".into()),
                        column_renames: BTreeMap::from([("total".into(), "amount".into())]),
                        exclude_columns: vec!["secret".into()],
                        ..Default::default()
                    },
                    TableRule { name: "items".into(), ..Default::default() },
                ]),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn names_and_columns_are_rewritten_in_place() {
        let mut t = tr(tables_only());
        let (s, _) =
            apply(t.translate("ALTER TABLE orders /* keep */ ADD INDEX it (Total)", Some("shop"), false).unwrap());
        assert_eq!(s, ["ALTER TABLE `shop2`.`purchases` /* keep */ ADD INDEX it (`amount`)"]);
        let (s, _) = apply(t.translate("TRUNCATE TABLE shop.items", None, false).unwrap());
        assert_eq!(s, ["TRUNCATE TABLE `shop2`.`items`"]);
        let (reason, w) = skip(t.translate("ALTER TABLE orders MODIFY secret TEXT", Some("shop"), false).unwrap());
        assert!(reason.contains("secret") && !w.is_empty(), "{reason}");
        let (reason, _) = skip(t.translate("ALTER TABLE other ADD c INT", Some("shop"), false).unwrap());
        assert!(reason.contains("not selected"));
    }

    #[test]
    fn multi_table_statements_apply_in_part_and_renames_warn() {
        let mut t = tr(tables_only());
        let (s, w) = apply(t.translate("DROP TABLE IF EXISTS items, shop.nope", Some("shop"), false).unwrap());
        assert_eq!(s, ["DROP TABLE IF EXISTS `shop2`.`items`"]);
        assert!(w[0].contains("applied in part") && w[0].contains("shop.nope"));
        // Out of the selection: skipped, with the warning that it stops syncing.
        let (_, w) = skip(t.translate("RENAME TABLE items TO items_old", Some("shop"), false).unwrap());
        assert!(w[0].contains("stops syncing"), "{w:?}");
        // Into the selection: skipped, with the warning that it needs a full sync.
        let (_, w) = skip(t.translate("RENAME TABLE staging TO items", Some("shop"), false).unwrap());
        assert!(w[0].contains("full sync"), "{w:?}");
        // Within a whole-database selection: applied.
        let mut whole = tr(Selection {
            databases: vec![DatabaseRule { database: "db".into(), ..Default::default() }],
            ..Default::default()
        });
        let (s, _) = apply(whole.translate("RENAME TABLE a TO b, other.x TO other.y", Some("db"), false).unwrap());
        assert_eq!(s, ["RENAME TABLE `db`.`a` TO `db`.`b`"]);
    }

    #[test]
    fn account_statements_never_pass() {
        let mut t = tr(Selection::everything());
        for sql in [
            "GRANT SELECT ON *.* TO u",
            "CREATE USER u IDENTIFIED BY 'secret'",
            "SET PASSWORD FOR u = PASSWORD('x')",
            "DROP USER u",
        ] {
            let (reason, _) = skip(t.translate(sql, Some("db"), false).unwrap());
            assert!(reason.contains("never reach"), "{sql}: {reason}");
        }
    }

    #[test]
    fn case_policy_applies_to_new_tables_and_columns() {
        let mut t = tr(Selection { name_case: NameCase::Lower, ..Selection::everything() });
        let (s, _) = apply(
            t.translate("CREATE TABLE `Big`.`T1` (`Id` INT, Name VARCHAR(5) DEFAULT 'KEEP')", None, false).unwrap(),
        );
        assert_eq!(s, ["create table `big`.`t1` (`id` int, name varchar(5) default 'KEEP')"]);
    }

    #[test]
    fn gh_ost_alter_waits_for_the_cut_over() {
        let mut t = tr(tables_only());
        skip(t.translate("CREATE TABLE _orders_gho LIKE orders", Some("shop"), false).unwrap());
        skip(t.translate("ALTER TABLE _orders_gho ADD COLUMN note TEXT", Some("shop"), false).unwrap());
        // Read again after the input restarted from a checkpoint before it: kept once.
        skip(t.translate("ALTER TABLE _orders_gho ADD COLUMN note TEXT", Some("shop"), false).unwrap());
        let (s, _) = apply(
            t.translate("RENAME TABLE orders TO _orders_del, _orders_gho TO orders", Some("shop"), false).unwrap(),
        );
        assert_eq!(s, ["ALTER TABLE `shop2`.`purchases` ADD COLUMN note TEXT"]);
        skip(t.translate("DROP TABLE IF EXISTS _orders_del", Some("shop"), false).unwrap());
    }

    #[test]
    fn a_cut_over_whose_alter_was_not_seen_stops_instead_of_losing_it() {
        let (create, alter, cut_over) = (
            "CREATE TABLE _orders_gho LIKE orders",
            "ALTER TABLE _orders_gho ADD COLUMN note TEXT",
            "RENAME TABLE orders TO _orders_del, _orders_gho TO orders",
        );
        let mut before = tr(tables_only());
        skip(before.translate(create, Some("shop"), false).unwrap());
        skip(before.translate(alter, Some("shop"), false).unwrap());
        // The task restarts here: a new translator reads on from after the ALTER.
        let mut after = tr(tables_only());
        match after.translate(cut_over, Some("shop"), false).unwrap() {
            Decision::Stop { table, reason } => {
                assert_eq!(table, "shop.orders");
                assert!(reason.contains("shop._orders_gho") && reason.contains("full sync"), "{reason}");
            }
            other => panic!("the cut-over went on without the ALTER: {other:?}"),
        }
        // pt-osc's shadow table likewise.
        let mut t = tr(tables_only());
        let d = t.translate("RENAME TABLE items TO _items_old, _items_new TO items", Some("shop"), false).unwrap();
        assert!(matches!(d, Decision::Stop { .. }), "{d:?}");
        // With its CREATE seen, the cut-over runs the ALTER, and again when read again after an
        // in-process restart of the input; the next migration's CREATE starts afresh.
        skip(t.translate("CREATE TABLE _items_new LIKE items", Some("shop"), false).unwrap());
        skip(t.translate("ALTER TABLE _items_new ADD COLUMN c INT", Some("shop"), false).unwrap());
        for _ in 0..2 {
            let (s, _) = apply(
                t.translate("RENAME TABLE items TO _items_old, _items_new TO items", Some("shop"), false).unwrap(),
            );
            assert_eq!(s, ["ALTER TABLE `shop2`.`items` ADD COLUMN c INT"]);
        }
        skip(t.translate("CREATE TABLE _items_new LIKE items", Some("shop"), false).unwrap());
        skip(t.translate("RENAME TABLE items TO _items_old, _items_new TO items", Some("shop"), false).unwrap());
    }
}

#[cfg(test)]
mod follow_tests {
    use super::*;
    use crate::selection::{DatabaseRule, TableRule};

    fn listed(follow_renames: bool) -> Translator {
        let selection = Selection {
            databases: vec![DatabaseRule {
                database: "shop".into(),
                follow_renames,
                tables: Some(vec![
                    TableRule { name: "items".into(), exclude_columns: vec!["secret".into()], ..Default::default() },
                    TableRule { name: "orders".into(), rename: Some("purchases".into()), ..Default::default() },
                ]),
                ..Default::default()
            }],
            ..Default::default()
        };
        Translator::new(TranslateConfig { selection, ..Default::default() })
    }

    #[test]
    fn a_listed_table_renamed_out_is_followed_only_when_asked() {
        let mut t = listed(true);
        let d = t.translate("RENAME TABLE items TO goods", Some("shop"), false).unwrap();
        assert!(
            matches!(&d, Decision::Apply { statements, .. } if statements == &["RENAME TABLE `shop`.`items` TO `shop`.`goods`"]),
            "{d:?}"
        );
        assert_eq!(
            t.take_changes(),
            [StateChange::Followed { database: "shop".into(), from: "items".into(), to: "goods".into() }]
        );
        // The rule moved with it: columns too, and the old name is no longer selected.
        let m = t.table_mapping("shop", "goods").unwrap();
        assert!(!m.columns.selected("secret") && m.columns.selected("qty"));
        assert!(t.table_mapping("shop", "items").is_none());
        // Again, by ALTER TABLE ... RENAME.
        let d = t.translate("ALTER TABLE goods RENAME TO stock", Some("shop"), false).unwrap();
        assert!(matches!(&d, Decision::Apply { statements, .. } if statements[0].contains("`shop`.`stock`")), "{d:?}");
        assert_eq!(t.take_changes().len(), 1);
        // An explicit destination name stays: nothing to run, the table still followed.
        let d = t.translate("RENAME TABLE orders TO orders_v2", Some("shop"), false).unwrap();
        assert!(
            matches!(&d, Decision::Skip { reason, warnings } if reason.contains("followed") && warnings.is_empty()),
            "{d:?}"
        );
        assert_eq!(t.table_mapping("shop", "orders_v2").unwrap().target.table.as_str(), "purchases");
        assert_eq!(t.take_changes().len(), 1);
        // Out of the database: never followed.
        let d = t.translate("RENAME TABLE stock TO archive.stock", Some("shop"), false).unwrap();
        assert!(matches!(&d, Decision::Skip { warnings, .. } if warnings[0].contains("stops syncing")), "{d:?}");
        assert!(t.take_changes().is_empty());

        let mut off = listed(false);
        let d = off.translate("RENAME TABLE items TO goods", Some("shop"), false).unwrap();
        assert!(matches!(&d, Decision::Skip { warnings, .. } if warnings[0].contains("stops syncing")), "{d:?}");
        assert!(off.take_changes().is_empty() && off.table_mapping("shop", "goods").is_none());
    }
}

#[cfg(test)]
mod object_tests {
    use super::*;
    use crate::definer::DefinerPolicy;
    use crate::selection::DatabaseRule;

    fn whole(objects: ObjectRules) -> Translator {
        let db = DatabaseRule { database: "db".into(), rename: Some("db2".into()), ..Default::default() };
        Translator::new(TranslateConfig {
            selection: Selection { databases: vec![db], ..Default::default() },
            objects,
            ..Default::default()
        })
    }

    fn applied(t: &mut Translator, sql: &str) -> String {
        match t.translate(sql, Some("db"), false).unwrap() {
            Decision::Apply { statements, .. } => statements.join("; "),
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn routines_events_and_triggers() {
        let app = DefinerPolicy::parse("app@%").unwrap();
        let mut t = whole(ObjectRules { triggers: TriggerPolicy::Guarded, definer: app });
        assert_eq!(
            applied(&mut t, "ALTER PROCEDURE p COMMENT 'changed'"),
            "ALTER PROCEDURE `db2`.`p` COMMENT 'changed'"
        );
        assert_eq!(
            applied(&mut t, "CREATE DEFINER=`root`@`localhost` FUNCTION f() RETURNS INT DETERMINISTIC RETURN 7"),
            "CREATE DEFINER=`app`@`%` FUNCTION `db2`.`f`() RETURNS INT DETERMINISTIC RETURN 7"
        );
        assert_eq!(
            applied(&mut t, "CREATE DEFINER=`root`@`localhost` EVENT e ON SCHEDULE EVERY 1 HOUR DO SELECT 1"),
            "CREATE DEFINER=`app`@`%` EVENT `db2`.`e` ON SCHEDULE EVERY 1 HOUR DISABLE ON SLAVE DO SELECT 1"
        );
        assert_eq!(applied(&mut t, "ALTER EVENT e ENABLE"), "ALTER DEFINER=`app`@`%` EVENT `db2`.`e` DISABLE ON SLAVE");
        assert_eq!(
            applied(&mut t, "CREATE DEFINER=`root`@`localhost` TRIGGER tr AFTER INSERT ON t FOR EACH ROW SET @a = 1"),
            "CREATE DEFINER=`app`@`%` TRIGGER tr AFTER INSERT ON `db2`.`t` FOR EACH ROW IF @dts_sync IS NULL THEN SET @a = 1; END IF"
        );
        let mut keep = whole(ObjectRules { triggers: TriggerPolicy::AtCutover, definer: DefinerPolicy::Keep });
        let v = "CREATE DEFINER=`root`@`localhost` VIEW v AS SELECT 1";
        assert_eq!(applied(&mut keep, v), "CREATE DEFINER=`root`@`localhost` VIEW `db2`.`v` AS SELECT 1");
        let d =
            keep.translate("CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW SET @a = 1", Some("db"), false).unwrap();
        assert!(matches!(d, Decision::Skip { reason, .. } if reason.contains("dts-sync cutover")));
    }
}
