//! Schema history: the columns of every selected source table as of any binlog position,
//! persisted in the destination's metadata database, so that after a restart old events decode
//! with the schema they were written under (for sources whose binlog does not carry column
//! names and types: binlog_row_metadata other than FULL).
//!
//! The schema at each DDL is not guessed by parsing: every DDL of a selected database is also
//! applied, translated, to a *shadow* copy of that database on the destination (tables without
//! rows), and the server's own information_schema of the shadow is recorded. The shadow thus
//! follows the source exactly, whatever the statement.

use std::collections::BTreeMap;

use dts_types::{BinlogPosition, ColumnDef, Ident, TableId, TableSchema, quote_ident};
use mysql::prelude::Queryable;

use crate::column_type::parse_column_type;
use crate::selection::{DatabaseRule, Selection};
use crate::translate::{Decision, TranslateConfig, Translator};

/// Why the history could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// Reading or writing the history failed on the destination.
    #[error("schema history: {0}")]
    Sql(#[from] mysql::Error),
    /// A shadow table has a column type the value model lacks.
    #[error("schema history: {0}")]
    Type(#[from] crate::column_type::TypeError),
    /// A stored schema cannot be read back.
    #[error("schema history: stored schema of {table} is unreadable: {reason}")]
    Corrupt {
        /// The table.
        table: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The shadow database refused a statement (so the destination will too); what the
    /// statement still changed is recorded.
    #[error("schema history: the shadow database refused {statement:?}")]
    Refused {
        /// The statement as the source logged it.
        statement: String,
        /// What was recorded all the same.
        recorded: Vec<HistoryEntry>,
        /// The server's error.
        #[source]
        source: mysql::Error,
    },
    /// A DDL statement could not be read for the shadow database.
    #[error("schema history: {0}")]
    Translate(#[from] crate::statement::ParseError),
}

/// The `schema_history` table of a task in the metadata database.
#[derive(Debug, Clone)]
pub struct SchemaHistory {
    task: String,
    meta_db: Ident,
}

impl SchemaHistory {
    /// The history of `task`, kept in `meta_db` on the destination.
    pub fn new(task: &str, meta_db: Ident) -> Self {
        SchemaHistory { task: task.to_string(), meta_db }
    }

    fn table(&self) -> String {
        format!("{}.`schema_history`", self.meta_db.quoted())
    }

    /// Creates the metadata database and table if missing.
    pub fn ensure(&self, dest: &mut mysql::Conn) -> Result<(), HistoryError> {
        dest.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", self.meta_db.quoted()))?;
        dest.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (
                task VARCHAR(64) NOT NULL, db VARCHAR(64) NOT NULL, tbl VARCHAR(64) NOT NULL,
                file_seq BIGINT UNSIGNED NOT NULL, pos BIGINT UNSIGNED NOT NULL, binlog_file VARCHAR(255) NOT NULL,
                schema_json LONGTEXT NULL COMMENT 'NULL: the table was dropped or renamed away',
                PRIMARY KEY (task, db, tbl, file_seq, pos)
            ) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            self.table()
        ))?;
        Ok(())
    }

    /// Records a table's schema (or, with `None`, that it no longer exists) from position `at`.
    pub fn record(
        &self,
        dest: &mut mysql::Conn,
        table: &TableId,
        schema: Option<&TableSchema>,
        at: &BinlogPosition,
    ) -> Result<(), HistoryError> {
        let json = schema.map(|s| serde_json::to_string(s).expect("schemas serialize"));
        let seq = at.file_sequence().1.unwrap_or(0);
        dest.exec_drop(
            format!("REPLACE INTO {} VALUES (?, ?, ?, ?, ?, ?, ?)", self.table()),
            (&self.task, table.database.as_str(), table.table.as_str(), seq, at.offset, &at.file, json),
        )?;
        Ok(())
    }

    /// Every record of the task, in position order per table: what a reader needs in memory to
    /// answer [`SchemaHistory::lookup`] without a round trip per table map.
    pub fn entries(&self, dest: &mut mysql::Conn) -> Result<Vec<HistoryEntry>, HistoryError> {
        let rows: Vec<(String, String, String, u64, Option<String>)> = dest.exec(
            format!(
                "SELECT db, tbl, binlog_file, pos, schema_json FROM {} WHERE task = ? AND tbl <> '' \
                 ORDER BY db, tbl, file_seq, pos",
                self.table()
            ),
            (&self.task,),
        )?;
        rows.into_iter()
            .map(|(db, tbl, file, pos, json)| {
                let corrupt = |reason: String| HistoryError::Corrupt { table: format!("{db}.{tbl}"), reason };
                let table = TableId::parse(&db, &tbl).map_err(|e| corrupt(e.to_string()))?;
                let schema = match json {
                    None => None,
                    Some(j) => Some(serde_json::from_str(&j).map_err(|e| corrupt(e.to_string()))?),
                };
                Ok(HistoryEntry { table, at: BinlogPosition::new(file, pos), schema })
            })
            .collect()
    }

    /// Records that `db` has a shadow database (a row with an empty table name), so that a
    /// restarted tracker follows it even while it holds no table.
    fn record_database(&self, dest: &mut mysql::Conn, db: &str, at: &BinlogPosition) -> Result<(), HistoryError> {
        let seq = at.file_sequence().1.unwrap_or(0);
        dest.exec_drop(
            format!("REPLACE INTO {} VALUES (?, ?, '', ?, ?, ?, NULL)", self.table()),
            (&self.task, db, seq, at.offset, &at.file),
        )?;
        Ok(())
    }

    /// The source databases that have a shadow database.
    fn databases(&self, dest: &mut mysql::Conn) -> Result<Vec<String>, HistoryError> {
        Ok(dest.exec(format!("SELECT DISTINCT db FROM {} WHERE task = ? AND db <> ''", self.table()), (&self.task,))?)
    }

    /// Where the shadow databases stand: the position of the last statement applied to them
    /// (the bootstrap's position at first), or `None` before the bootstrap.
    pub fn applied_to(&self, dest: &mut mysql::Conn) -> Result<Option<BinlogPosition>, HistoryError> {
        self.ensure(dest)?;
        let row: Option<(String, u64)> = dest.exec_first(
            format!("SELECT binlog_file, pos FROM {} WHERE task = ? AND db = '' AND tbl = ''", self.table()),
            (&self.task,),
        )?;
        Ok(row.map(|(f, p)| BinlogPosition::new(f, p)))
    }

    fn set_applied_to(&self, dest: &mut mysql::Conn, at: &BinlogPosition) -> Result<(), HistoryError> {
        let seq = at.file_sequence().1.unwrap_or(0);
        dest.query_drop("START TRANSACTION")?;
        dest.exec_drop(format!("DELETE FROM {} WHERE task = ? AND db = '' AND tbl = ''", self.table()), (&self.task,))?;
        dest.exec_drop(
            format!("INSERT INTO {} VALUES (?, '', '', ?, ?, ?, NULL)", self.table()),
            (&self.task, seq, at.offset, &at.file),
        )?;
        dest.query_drop("COMMIT")?;
        Ok(())
    }

    /// Moves the whole history to position `to` of another source server (a promoted
    /// replica, where the task resumes by GTID): per table only the last record is kept (the
    /// schema valid where the task resumes), at `to`, and so are the shadows' databases and
    /// the position they stand at. The caller has made sure nothing was recorded past the
    /// point it resumes from, and runs this inside its own transaction (after
    /// [`SchemaHistory::ensure`]: DDL would commit it).
    pub fn rebase(&self, dest: &mut mysql::Conn, to: &BinlogPosition) -> Result<(), HistoryError> {
        let rows: Vec<(String, String, Option<String>)> = dest.exec(
            format!("SELECT db, tbl, schema_json FROM {} WHERE task = ? ORDER BY db, tbl, file_seq, pos", self.table()),
            (&self.task,),
        )?;
        let mut last: BTreeMap<(String, String), Option<String>> = BTreeMap::new();
        for (db, tbl, json) in rows {
            last.insert((db, tbl), json);
        }
        dest.exec_drop(format!("DELETE FROM {} WHERE task = ?", self.table()), (&self.task,))?;
        let seq = to.file_sequence().1.unwrap_or(0);
        for ((db, tbl), json) in last {
            dest.exec_drop(
                format!("INSERT INTO {} VALUES (?, ?, ?, ?, ?, ?, ?)", self.table()),
                (&self.task, db, tbl, seq, to.offset, &to.file, json),
            )?;
        }
        Ok(())
    }

    /// The schema of `table` as of position `at`: the last one recorded at or before it.
    pub fn lookup(
        &self,
        dest: &mut mysql::Conn,
        table: &TableId,
        at: &BinlogPosition,
    ) -> Result<Option<TableSchema>, HistoryError> {
        let seq = at.file_sequence().1.unwrap_or(0);
        let row: Option<Option<String>> = dest.exec_first(
            format!(
                "SELECT schema_json FROM {} WHERE task = ? AND db = ? AND tbl = ? \
                 AND (file_seq < ? OR (file_seq = ? AND pos <= ?)) ORDER BY file_seq DESC, pos DESC LIMIT 1",
                self.table()
            ),
            (&self.task, table.database.as_str(), table.table.as_str(), seq, seq, at.offset),
        )?;
        match row.flatten() {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| HistoryError::Corrupt { table: table.to_string(), reason: e.to_string() }),
        }
    }
}

/// One record of the history: `table`'s schema from `at` on (`None`: it no longer exists).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The source table.
    pub table: TableId,
    /// The position from which the schema holds (the end of the DDL's event).
    pub at: BinlogPosition,
    /// The table's schema, or `None` once it was dropped or renamed away.
    pub schema: Option<TableSchema>,
}

/// Keeps shadow databases in step with the source's DDL and records every change in the
/// history.
#[derive(Debug)]
pub struct SchemaTracker {
    history: SchemaHistory,
    selection: Selection,
    shadow: Translator,
    /// Last recorded schema per source table.
    known: BTreeMap<TableId, TableSchema>,
    /// The position of the last statement applied to the shadows: a statement read again
    /// after a restart (at or before it) is not applied twice.
    applied_to: Option<BinlogPosition>,
}

/// The shadows follow every table of a selected database, online schema change tools' shadow
/// tables included (their rows may be synced too, with `online_ddl = "copy"`).
fn shadow_config(selection: Selection) -> TranslateConfig {
    TranslateConfig { selection, online_ddl: crate::online_ddl::OnlineDdlMode::Copy, ..Default::default() }
}

/// A stable shadow database name for a task's source database (at most 64 characters).
pub fn shadow_name(task: &str, db: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in task.bytes().chain([0]).chain(db.bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("dts_shadow_{h:016x}")
}

impl SchemaTracker {
    /// A tracker for `task`'s selected databases.
    pub fn new(task: &str, meta_db: Ident, selection: Selection) -> Self {
        let shadow = Translator::new(shadow_config(Selection::default()));
        SchemaTracker {
            history: SchemaHistory::new(task, meta_db),
            selection,
            shadow,
            known: BTreeMap::new(),
            applied_to: None,
        }
    }

    /// Picks up where a previous run left the history: the last schema of every table and the
    /// position the shadows stand at. `false` when the history was never bootstrapped.
    pub fn resume(&mut self, dest: &mut mysql::Conn) -> Result<bool, HistoryError> {
        let Some(at) = self.history.applied_to(dest)? else { return Ok(false) };
        self.applied_to = Some(at);
        for e in self.history.entries(dest)? {
            match e.schema {
                Some(s) => self.known.insert(e.table, s),
                None => self.known.remove(&e.table),
            };
        }
        for db in self.history.databases(dest)? {
            self.shadow_rule(&db);
        }
        Ok(true)
    }

    /// The history it records into.
    pub fn history(&self) -> &SchemaHistory {
        &self.history
    }

    fn shadow_rule(&mut self, db: &str) {
        let name = shadow_name(&self.history.task, db);
        let cfg = self.shadow.config();
        if cfg.selection.databases.iter().any(|r| r.database == db) {
            return;
        }
        let mut sel = cfg.selection.clone();
        sel.databases.push(DatabaseRule { database: db.to_string(), rename: Some(name), ..Default::default() });
        self.shadow = Translator::new(shadow_config(sel));
    }

    /// Copies the current definitions of the selected databases' tables (from the source) into
    /// their shadows and records them at `at`, the position the sync starts from. Returns what
    /// it recorded.
    pub fn bootstrap(
        &mut self,
        source: &mut mysql::Conn,
        dest: &mut mysql::Conn,
        catalog: &crate::selection::Catalog,
        at: &BinlogPosition,
    ) -> Result<Vec<HistoryEntry>, HistoryError> {
        self.history.ensure(dest)?;
        let mut recorded = Vec::new();
        for (db, tables) in catalog {
            if self.selection.database(db).is_none() {
                continue;
            }
            self.shadow_rule(db);
            self.history.record_database(dest, db, at)?;
            let sdb = quote_ident(&shadow_name(&self.history.task, db));
            dest.query_drop(format!("DROP DATABASE IF EXISTS {sdb}"))?;
            dest.query_drop(format!("CREATE DATABASE {sdb}"))?;
            dest.query_drop("SET SESSION foreign_key_checks = 0")?;
            for table in tables.keys() {
                let row: Option<mysql::Row> =
                    source.query_first(format!("SHOW CREATE TABLE {}.{}", quote_ident(db), quote_ident(table)))?;
                let Some(row) = row else { continue };
                let create: String = row.get(1).unwrap_or_default();
                dest.query_drop(format!("USE {sdb}"))?;
                dest.query_drop(create)?;
            }
            recorded.extend(self.snapshot(dest, db, at)?);
        }
        self.history.set_applied_to(dest, at)?;
        self.applied_to = Some(at.clone());
        Ok(recorded)
    }

    /// A statement from the binlog at `at` (the end of its event): applied to the shadows when
    /// it changes a selected database, and every resulting change recorded and returned. A
    /// statement at or before the position the shadows stand at (read again after a restart)
    /// was applied already and changes nothing.
    pub fn on_statement(
        &mut self,
        dest: &mut mysql::Conn,
        sql: &str,
        default_db: Option<&str>,
        ansi_quotes: bool,
        at: &BinlogPosition,
    ) -> Result<Vec<HistoryEntry>, HistoryError> {
        if self.applied_to.as_ref().is_some_and(|a| at <= a) {
            return Ok(Vec::new());
        }
        let mut creates_database = false;
        if let Ok(st) = crate::statement::parse(sql, ansi_quotes)
            && let crate::statement::StatementKind::CreateDatabase { database } = &st.kind
            && self.selection.database(&database.name).is_some()
        {
            creates_database = true;
            self.shadow_rule(&database.name);
            self.history.record_database(dest, &database.name, at)?;
        }
        let Decision::Apply { statements, database, .. } = self.shadow.translate(sql, default_db, ansi_quotes)? else {
            return Ok(Vec::new());
        };
        dest.query_drop("SET SESSION foreign_key_checks = 0")?;
        // A CREATE DATABASE needs no default database, and may have none yet: right after a
        // DROP DATABASE of the session's database the source still logs that one as its default.
        if let Some(d) = database.as_ref().filter(|_| !creates_database) {
            dest.query_drop(format!("USE {}", quote_ident(d)))?;
        }
        // The statement runs as the destination would run it; one the shadow refuses is
        // refused there too (the applier records it), and the shadow keeps its schema.
        let mut refused = None;
        for s in &statements {
            if let Err(e) = dest.query_drop(s) {
                refused = Some(e);
                break;
            }
        }
        let dbs: Vec<String> = self.shadow.config().selection.databases.iter().map(|r| r.database.clone()).collect();
        let mut recorded = Vec::new();
        for db in dbs {
            recorded.extend(self.snapshot(dest, &db, at)?);
        }
        self.history.set_applied_to(dest, at)?;
        self.applied_to = Some(at.clone());
        match refused {
            Some(e) => Err(HistoryError::Refused { statement: sql.to_string(), recorded, source: e }),
            None => Ok(recorded),
        }
    }

    /// Records every table of a shadow whose columns differ from the last record.
    fn snapshot(
        &mut self,
        dest: &mut mysql::Conn,
        db: &str,
        at: &BinlogPosition,
    ) -> Result<Vec<HistoryEntry>, HistoryError> {
        let mut recorded = Vec::new();
        let sdb = shadow_name(&self.history.task, db);
        let rows: Vec<(String, String, String, Option<String>, String)> = dest.exec(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, CHARACTER_SET_NAME, IS_NULLABLE FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION",
            (&sdb,),
        )?;
        let pks: Vec<(String, String)> = dest.exec(
            "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND INDEX_NAME = 'PRIMARY' \
             ORDER BY TABLE_NAME, SEQ_IN_INDEX",
            (&sdb,),
        )?;
        let mut now: BTreeMap<TableId, TableSchema> = BTreeMap::new();
        for (t, c, ty, cs, nullable) in rows {
            let id = TableId::parse(db, &t)
                .map_err(|e| HistoryError::Corrupt { table: t.clone(), reason: e.to_string() })?;
            let entry = now.entry(id.clone()).or_insert_with(|| TableSchema {
                id,
                columns: Vec::new(),
                primary_key: Vec::new(),
            });
            let name = Ident::new(c).map_err(|e| HistoryError::Corrupt { table: t.clone(), reason: e.to_string() })?;
            entry.columns.push(ColumnDef {
                name,
                ty: parse_column_type(&ty, cs.as_deref())?,
                nullable: nullable == "YES",
            });
        }
        // A system-versioned table without period columns of its own has the server's invisible
        // `row_start` and `row_end`, which information_schema does not list but the binlog's
        // rows carry, last.
        let implicit: Vec<String> = dest.exec(
            "SELECT t.TABLE_NAME FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = ? \
             AND t.TABLE_TYPE = 'SYSTEM VERSIONED' AND NOT EXISTS (SELECT 1 FROM information_schema.COLUMNS c \
             WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME \
             AND c.GENERATION_EXPRESSION IN ('ROW START', 'ROW END'))",
            (&sdb,),
        )?;
        for t in implicit {
            if let Some(s) = now.values_mut().find(|s| s.id.table.as_str() == t) {
                for name in crate::IMPLICIT_PERIOD_COLUMNS {
                    s.columns.push(ColumnDef {
                        name: Ident::new(name).expect("valid"),
                        ty: parse_column_type("timestamp(6)", None)?,
                        nullable: false,
                    });
                }
            }
        }
        for (t, c) in pks {
            if let Some(s) = now.values_mut().find(|s| s.id.table.as_str() == t)
                && let Some(i) = s.column_index(&c)
            {
                s.primary_key.push(i);
            }
        }
        let gone: Vec<TableId> =
            self.known.keys().filter(|k| k.database.as_str() == db && !now.contains_key(*k)).cloned().collect();
        for id in gone {
            self.history.record(dest, &id, None, at)?;
            self.known.remove(&id);
            recorded.push(HistoryEntry { table: id, at: at.clone(), schema: None });
        }
        for (id, schema) in now {
            if self.known.get(&id) != Some(&schema) {
                self.history.record(dest, &id, Some(&schema), at)?;
                recorded.push(HistoryEntry { table: id.clone(), at: at.clone(), schema: Some(schema.clone()) });
                self.known.insert(id, schema);
            }
        }
        Ok(recorded)
    }
}
