//! The selected objects on both sides: they exist, map to valid names that do not collide under
//! the destination's case rules, have keys, have no cascading foreign keys, do not meet
//! conflicting tables or triggers on the destination, fit its charsets and its packet size.
//!
//! Every fact comes from a handful of information_schema queries per server (not one per
//! table), so a task of hundreds of tables is checked in well under a second.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use dts_schema::{Catalog, MappedTable, MappingError, ObjectKind, Selection};
use dts_types::quote_ident;
use mysql::Conn;
use mysql::prelude::Queryable;

use crate::report::Item;
use crate::server::{Flavour, ServerInfo};
use crate::{ConflictingTables, SyncTypes};

/// A column as the checks need it.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub charset: Option<String>,
    /// Longest value in bytes for string types (`CHARACTER_OCTET_LENGTH`).
    pub octets: Option<u64>,
}

/// The source's side of the selection.
#[derive(Debug, Clone, Default)]
pub struct SourceObjects {
    /// Every database; tables and columns of the selected ones.
    pub catalog: Catalog,
    pub columns: BTreeMap<(String, String), Vec<Column>>,
    /// Tables with a primary key or a unique key over NOT NULL columns.
    pub keyed: BTreeSet<(String, String)>,
    /// Views per selected database.
    pub views: BTreeMap<String, usize>,
    /// `db.table`: what cascades.
    pub cascades: Vec<String>,
    /// `db.table` of every selected table with a `WITHOUT OVERLAPS` key.
    pub without_overlaps: Vec<String>,
    /// Views, routines, events and triggers of the selected databases the selection leaves
    /// out (a partly selected database syncs only those its rule names; a trigger follows its
    /// table), each with what selects it.
    pub not_synced: Vec<String>,
}

fn placeholders(n: usize) -> String {
    vec!["?"; n.max(1)].join(", ")
}

fn params(dbs: &[String]) -> Vec<mysql::Value> {
    if dbs.is_empty() {
        return vec![mysql::Value::from("")];
    }
    dbs.iter().map(|d| mysql::Value::from(d.as_str())).collect()
}

const SYSTEM: &str = "('mysql', 'information_schema', 'performance_schema', 'sys')";

impl SourceObjects {
    pub fn read(conn: &mut Conn, selection: &Selection) -> Result<SourceObjects, mysql::Error> {
        let mut out = SourceObjects::default();
        let all: Vec<String> = conn
            .query(format!("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN {SYSTEM}"))?;
        let selected: Vec<String> = all.iter().filter(|d| selection.database(d).is_some()).cloned().collect();
        for d in all {
            out.catalog.entry(d).or_default();
        }
        let ph = placeholders(selected.len());
        let p = params(&selected);
        // (schema, table, column, charset, octet length)
        type ColumnRow = (String, String, String, Option<String>, Option<u64>);
        let cols: Vec<ColumnRow> = conn.exec(
            format!(
                "SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.CHARACTER_SET_NAME, c.CHARACTER_OCTET_LENGTH \
                 FROM information_schema.COLUMNS c JOIN information_schema.TABLES t \
                 ON BINARY t.TABLE_SCHEMA = BINARY c.TABLE_SCHEMA AND BINARY t.TABLE_NAME = BINARY c.TABLE_NAME \
                 WHERE t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AND c.TABLE_SCHEMA IN ({ph}) \
                 ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION"
            ),
            p.clone(),
        )?;
        for (db, table, name, charset, octets) in cols {
            out.catalog.entry(db.clone()).or_default().entry(table.clone()).or_default().push(name.clone());
            out.columns.entry((db, table)).or_default().push(Column { name, charset, octets });
        }
        // A table is keyed when one unique index has only NOT NULL columns.
        // information_schema compares names case-insensitively: group here, by exact name.
        let idx: Vec<(String, String, String, String)> = conn.exec(
            format!(
                "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NULLABLE FROM information_schema.STATISTICS \
                 WHERE TABLE_SCHEMA IN ({ph}) AND NON_UNIQUE = 0"
            ),
            p.clone(),
        )?;
        let mut nullable_parts: BTreeMap<(String, String, String), bool> = BTreeMap::new();
        for (db, table, index, nullable) in idx {
            *nullable_parts.entry((db, table, index)).or_default() |= !nullable.is_empty();
        }
        for ((db, table, _), any_nullable) in nullable_parts {
            if !any_nullable {
                out.keyed.insert((db, table));
            }
        }
        let views: Vec<(String, usize)> = conn.exec(
            format!(
                "SELECT TABLE_SCHEMA, COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN ({ph}) GROUP BY TABLE_SCHEMA"
            ),
            p.clone(),
        )?;
        out.views = views.into_iter().collect();
        // (kind, schema, name, the table of a trigger)
        let others: Vec<(String, String, String, Option<String>)> = conn.exec(
            format!(
                "SELECT 'view', TABLE_SCHEMA, TABLE_NAME, NULL FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN ({ph}) \
                 UNION ALL SELECT LOWER(ROUTINE_TYPE), ROUTINE_SCHEMA, ROUTINE_NAME, NULL FROM information_schema.ROUTINES \
                 WHERE ROUTINE_SCHEMA IN ({ph}) \
                 UNION ALL SELECT 'event', EVENT_SCHEMA, EVENT_NAME, NULL FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN ({ph}) \
                 UNION ALL SELECT 'trigger', TRIGGER_SCHEMA, TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS \
                 WHERE TRIGGER_SCHEMA IN ({ph}) ORDER BY 2, 1, 3"
            ),
            [p.clone(), p.clone(), p.clone(), p.clone()].concat(),
        )?;
        for (kind, db, name, table) in others {
            let (selected, by) = match (kind.as_str(), table) {
                ("trigger", Some(t)) => {
                    (selection.table(&db, &t).is_some(), format!("its table {db}.{t} is not selected"))
                }
                ("view", _) => (selection.object(&db, ObjectKind::View, &name), "name it in `views`".to_string()),
                ("event", _) => (selection.object(&db, ObjectKind::Event, &name), "name it in `events`".to_string()),
                _ => (selection.object(&db, ObjectKind::Routine, &name), "name it in `routines`".to_string()),
            };
            if !selected {
                out.not_synced.push(format!("{kind} {db}.{name} ({by})"));
            }
        }
        // A WITHOUT OVERLAPS key needs an application-time period, which has a CHECK constraint
        // of its own: only tables with one are read whole.
        let checked: Vec<(String, String)> = conn.exec(
            format!(
                "SELECT DISTINCT CONSTRAINT_SCHEMA, TABLE_NAME FROM information_schema.CHECK_CONSTRAINTS \
                 WHERE CONSTRAINT_SCHEMA IN ({ph}) ORDER BY 1, 2"
            ),
            p.clone(),
        )?;
        for (db, table) in checked {
            if selection.table(&db, &table).is_none() {
                continue;
            }
            let create: Option<(String, String)> =
                conn.query_first(format!("SHOW CREATE TABLE {}.{}", quote_ident(&db), quote_ident(&table)))?;
            if create.is_some_and(|(_, sql)| sql.contains(" WITHOUT OVERLAPS")) {
                out.without_overlaps.push(format!("{db}.{table}"));
            }
        }
        let fks: Vec<(String, String, String, String, String, String)> = conn.exec(
            format!(
                "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_NAME, UPDATE_RULE, DELETE_RULE \
                 FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA IN ({ph}) \
                 AND (UPDATE_RULE IN ('CASCADE', 'SET NULL', 'SET DEFAULT') OR DELETE_RULE IN ('CASCADE', 'SET NULL', 'SET DEFAULT')) \
                 ORDER BY 1, 2, 3"
            ),
            p,
        )?;
        for (db, table, name, parent, upd, del) in fks {
            if selection.table(&db, &table).is_none() && selection.table(&db, &parent).is_none() {
                continue;
            }
            let mut rules = Vec::new();
            if upd != "RESTRICT" && upd != "NO ACTION" {
                rules.push(format!("ON UPDATE {upd}"));
            }
            if del != "RESTRICT" && del != "NO ACTION" {
                rules.push(format!("ON DELETE {del}"));
            }
            out.cascades.push(format!("{db}.{table} ({name} -> {parent} {})", rules.join(" ")));
        }
        Ok(out)
    }

    /// Every selected table with its mapping.
    pub fn mapped(&self, selection: &Selection) -> Vec<MappedTable> {
        selection.mapped(&self.catalog)
    }

    pub fn selected_databases(&self, selection: &Selection) -> Vec<String> {
        self.catalog.keys().filter(|d| selection.database(d).is_some()).cloned().collect()
    }
}

/// The destination's side: what already exists under the target names.
#[derive(Debug, Clone, Default)]
pub struct DestObjects {
    /// (db, table) as the destination spells them.
    pub tables: BTreeSet<(String, String)>,
    /// Charset per (db, table, lower-case column).
    pub charsets: BTreeMap<(String, String, String), Option<String>>,
    /// (db, table, trigger)
    pub triggers: Vec<(String, String, String)>,
}

impl DestObjects {
    pub fn read(conn: &mut Conn, target_dbs: &[String]) -> Result<DestObjects, mysql::Error> {
        let mut out = DestObjects::default();
        let ph = placeholders(target_dbs.len());
        let p = params(target_dbs);
        let tables: Vec<(String, String)> = conn.exec(
            format!(
                "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ({ph}) \
                 AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'VIEW')"
            ),
            p.clone(),
        )?;
        out.tables = tables.into_iter().collect();
        let cols: Vec<(String, String, String, Option<String>)> = conn.exec(
            format!(
                "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, CHARACTER_SET_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA IN ({ph})"
            ),
            p.clone(),
        )?;
        out.charsets = cols.into_iter().map(|(d, t, c, cs)| ((d, t, c.to_lowercase()), cs)).collect();
        out.triggers = conn.exec(
            format!(
                // A trigger guarded by the task (`triggers = "guarded"`) does nothing for its
                // sessions: no conflict.
                "SELECT EVENT_OBJECT_SCHEMA, EVENT_OBJECT_TABLE, TRIGGER_NAME FROM information_schema.TRIGGERS \
                 WHERE EVENT_OBJECT_SCHEMA IN ({ph}) AND ACTION_STATEMENT NOT LIKE '{guard}%' ORDER BY 1, 2, 3",
                guard = format!("IF {} IS NULL THEN", dts_types::session::TASK_SESSION_VARIABLE).replace('_', "\\_")
            ),
            p,
        )?;
        Ok(out)
    }

    /// The destination's spelling of a target table, if it exists (case-insensitively when the
    /// destination folds names).
    pub(crate) fn find(&self, db: &str, table: &str, fold: bool) -> Option<&(String, String)> {
        self.tables.iter().find(|(d, t)| {
            if fold { d.eq_ignore_ascii_case(db) && t.eq_ignore_ascii_case(table) } else { d == db && t == table }
        })
    }
}

fn list(names: &[String], max: usize) -> String {
    if names.len() <= max {
        names.join(", ")
    } else {
        format!("{} and {} more", names[..max].join(", "), names.len() - max)
    }
}

/// The selection's own items: something selected, everything named exists, valid and
/// non-colliding target names, keys, cascades (`schema_sync`: the task creates the destination's
/// foreign keys, or did when it started).
pub fn selection_items(
    src: &SourceObjects,
    selection: &Selection,
    dest: &ServerInfo,
    mapped: &[MappedTable],
    resuming: bool,
    schema_sync: bool,
) -> Vec<Item> {
    let mut out = Vec::new();
    let dbs = src.selected_databases(selection);
    out.push(if dbs.is_empty() {
        Item::failure(
            "objects.selected",
            "the task selects something",
            "no database on the source matches the selection",
            "check [[objects]] database names (the source's names, * and ? as wildcards)",
        )
    } else {
        Item::pass(
            "objects.selected",
            "the task selects something",
            format!("{} database(s), {} table(s)", dbs.len(), mapped.len()),
        )
    });
    // Information, never blocking: the selection leaves these out by its rules.
    out.push(Item::pass(
        "objects.not_synced",
        "views, routines, events and triggers the selection leaves out",
        if src.not_synced.is_empty() {
            "none: every view, routine, event and trigger of the selected databases is selected".to_string()
        } else {
            format!(
                "{} object(s) of the selected databases are not synced: {}",
                src.not_synced.len(),
                list(&src.not_synced, 20)
            )
        },
    ));
    let lctn = dest.num("lower_case_table_names").unwrap_or(0.0) as u8;
    let errors = selection.validate(&src.catalog, lctn).err().unwrap_or_default();
    let pick = |f: &dyn Fn(&MappingError) -> bool| -> Vec<String> {
        errors.iter().filter(|e| f(e)).map(|e| e.to_string()).collect()
    };
    let missing = pick(&|e| matches!(e, MappingError::Missing { .. }));
    out.push(if missing.is_empty() {
        Item::pass("objects.exist", "the objects named in the config exist", "every named object exists")
    } else if resuming {
        // They existed when the task started (its first precheck said so): renamed or dropped
        // on the source since, which the task recorded and warned about when it happened (its
        // DDL log, `status`). Stopping now would only keep it from resuming.
        Item::pass(
            "objects.exist",
            "the objects named in the config exist",
            format!(
                "{} (gone from the source since the task started: renamed or dropped, see `status`)",
                missing.join("; ")
            ),
        )
    } else {
        Item::failure(
            "objects.exist",
            "the objects named in the config exist",
            missing.join("\n"),
            "correct the names in [[objects]] (names are case-sensitive) or create the objects on the source",
        )
    });
    let is_column = |e: &MappingError| match e {
        MappingError::CaseCollision { what, .. } => *what == "column",
        // A column's target is `db`.`table`.column; a table's ends in a backtick, a database's
        // has none.
        MappingError::Collision { target, .. } => target.contains('`') && !target.ends_with('`'),
        _ => false,
    };
    let collisions =
        pick(&|e| matches!(e, MappingError::Collision { .. } | MappingError::CaseCollision { .. }) && !is_column(e));
    out.push(if collisions.is_empty() {
        Item::pass(
            "objects.name_collisions",
            "target names stay distinct on the destination",
            format!("no two objects share a target name (destination lower_case_table_names = {lctn})"),
        )
    } else {
        Item::failure(
            "objects.name_collisions",
            "target names stay distinct on the destination",
            collisions.join("\n"),
            "rename one of each pair with rename = \"...\" in [[objects]], or leave one out",
        )
    });
    let columns = pick(&is_column);
    out.push(if columns.is_empty() {
        Item::pass("objects.column_case", "column names stay distinct", "no two columns of a table share a name")
    } else {
        Item::failure(
            "objects.column_case",
            "column names stay distinct",
            columns.join("\n"),
            "rename one of the columns in [[objects.tables]] column_renames, or leave one out",
        )
    });
    let other = pick(&|e| {
        matches!(
            e,
            MappingError::BadName { .. } | MappingError::RenamedPattern { .. } | MappingError::RenamedExcluded { .. }
        )
    });
    out.push(if other.is_empty() {
        Item::pass("objects.mapping", "renames are valid", "every target name is valid")
    } else {
        Item::failure("objects.mapping", "renames are valid", other.join("\n"), "correct the renames in [[objects]]")
    });
    let keyless: Vec<String> = mapped
        .iter()
        .filter(|m| !src.keyed.contains(&(m.source.database.as_str().to_string(), m.source.table.as_str().to_string())))
        .map(|m| m.source.plain())
        .collect();
    out.push(if keyless.is_empty() {
        Item::pass("objects.primary_key", "every table has a primary or unique key", "all selected tables are keyed")
    } else {
        Item::warning(
            "objects.primary_key",
            "every table has a primary or unique key",
            format!(
                "{} table(s) without a primary key or NOT NULL unique key: {}. Their rows are matched on every column (an index on any of them narrows the search, else each change scans the destination table), and each is copied from one consistent snapshot, streamed in bounded pieces: a crash during its copy copies it again from the start",
                keyless.len(),
                list(&keyless, 10)
            ),
            "add a primary key to these tables on the source (ALTER TABLE ... ADD PRIMARY KEY), or acknowledge",
        )
    });
    out.push(if src.without_overlaps.is_empty() {
        Item::pass("objects.without_overlaps", "no table has a WITHOUT OVERLAPS key", "none of the selected tables has one")
    } else {
        Item::failure(
            "objects.without_overlaps",
            "no table has a WITHOUT OVERLAPS key",
            format!(
                "{} table(s) with a PRIMARY or UNIQUE key ... WITHOUT OVERLAPS: {}. The sync writes rows with REPLACE, which MariaDB refuses on such a key (ERROR 1235), so their copy could not complete",
                src.without_overlaps.len(),
                list(&src.without_overlaps, 10)
            ),
            "leave these tables out of the selection (exclude them in [[objects]]), or drop WITHOUT OVERLAPS from their key on the source",
        )
    });
    out.push(if src.cascades.is_empty() {
        Item::pass(
            "source.foreign_key_cascades",
            "foreign-key cascades are repeated on the destination",
            "no selected table has ON DELETE/UPDATE CASCADE or SET NULL",
        )
    } else {
        let how = format!(
            "cascading foreign keys: {}. Changes made by a cascade are not in the binlog, so the destination repeats them: \
             each group of tables linked by foreign keys is copied from one consistent snapshot, and from its binlog \
             position on their changes are applied in source order with the parents' UPDATE and DELETE under \
             foreign_key_checks = 1, so the destination's own foreign keys cascade",
            list(&src.cascades, 10)
        );
        if schema_sync {
            Item::pass("source.foreign_key_cascades", "foreign-key cascades are repeated on the destination", how + " (schema sync creates them)")
        } else {
            Item::warning(
                "source.foreign_key_cascades",
                "foreign-key cascades are repeated on the destination",
                how + "; schema sync is not in this task's types, so the destination tables must already carry the same foreign keys",
                "create the same foreign keys on the destination tables (or add \"schema\" to [task] types), then acknowledge",
            )
        }
    });
    out
}

/// The destination's items: read-only, conflicting or missing tables, triggers, LOAD DATA.
pub fn destination_items(
    dest: &ServerInfo,
    objs: &DestObjects,
    mapped: &[MappedTable],
    types: SyncTypes,
    conflicting: ConflictingTables,
    resuming: bool,
) -> Vec<Item> {
    let mut out = Vec::new();
    out.push(if dest.on("read_only") {
        Item::failure(
            "destination.read_only",
            "the destination accepts writes",
            "read_only = ON",
            "SET GLOBAL read_only = OFF on the destination (a replica that is read-only on purpose cannot be a sync target)",
        )
    } else {
        Item::pass("destination.read_only", "the destination accepts writes", "read_only = OFF")
    });
    let fold = dest.num("lower_case_table_names").unwrap_or(0.0) as u8 != 0;
    let existing: Vec<String> = mapped
        .iter()
        .filter(|m| objs.find(m.target.database.as_str(), m.target.table.as_str(), fold).is_some())
        .map(|m| m.target.plain())
        .collect();
    if resuming {
        // The task's own tables, and tables its replayed DDL will create.
    } else if types.schema || types.full {
        let (id, title) = ("destination.existing_tables", "no target table exists yet");
        out.push(match (existing.is_empty(), conflicting) {
            (true, _) => Item::pass(id, title, "none of the target tables exists on the destination"),
            (false, ConflictingTables::Precheck) => Item::failure(
                id,
                title,
                format!("{} target table(s) already exist: {}", existing.len(), list(&existing, 10)),
                "drop or rename them on the destination, map the source tables to other names, or set [task] conflicting_tables = \"ignore\" to keep them (their rows are then overwritten by key)",
            ),
            (false, ConflictingTables::Ignore) => Item::warning(
                id,
                title,
                format!(
                    "{} target table(s) already exist and are kept (conflicting_tables = \"ignore\"): {}. Schema sync skips them; full sync writes into them and rows with the same key are overwritten; a table without a primary or unique key must be empty there (its rows cannot be told apart from the source's: the full copy stops naming it)",
                    existing.len(),
                    list(&existing, 10)
                ),
                "make sure their columns match the source's, then acknowledge",
            ),
        });
    } else {
        let missing: Vec<String> = mapped
            .iter()
            .filter(|m| objs.find(m.target.database.as_str(), m.target.table.as_str(), fold).is_none())
            .map(|m| m.target.plain())
            .collect();
        let (id, title) = ("destination.missing_tables", "the target tables exist for incremental sync");
        out.push(if missing.is_empty() {
            Item::pass(id, title, format!("all {} target table(s) exist", mapped.len()))
        } else {
            Item::failure(
                id,
                title,
                format!("{} target table(s) do not exist: {}", missing.len(), list(&missing, 10)),
                "an incremental-only task applies changes to existing tables: create them (or add \"schema\" and \"full\" to [task] types)",
            )
        });
    }
    let targets: BTreeSet<(String, String)> = mapped
        .iter()
        .map(|m| {
            let (d, t) = (m.target.database.as_str().to_string(), m.target.table.as_str().to_string());
            if fold { (d.to_lowercase(), t.to_lowercase()) } else { (d, t) }
        })
        .collect();
    let triggers: Vec<String> = objs
        .triggers
        .iter()
        .filter(|(d, t, _)| {
            targets.contains(&if fold { (d.to_lowercase(), t.to_lowercase()) } else { (d.clone(), t.clone()) })
        })
        .map(|(d, t, n)| format!("{n} on {d}.{t}"))
        .collect();
    out.push(if triggers.is_empty() {
        Item::pass("destination.triggers", "no triggers on target tables", "no trigger on the destination's target tables")
    } else {
        Item::warning(
            "destination.triggers",
            "no triggers on target tables",
            format!(
                "{}: they fire on every row the sync writes, so their effects would be applied twice (once by the trigger, once from the source's binlog)",
                list(&triggers, 10)
            ),
            "drop these triggers on the destination while it is a sync target, or acknowledge",
        )
    });
    if types.full {
        out.push(if dest.on("local_infile") {
            Item::pass("destination.local_infile", "LOAD DATA LOCAL for the full copy", "local_infile = ON")
        } else {
            Item::warning(
                "destination.local_infile",
                "LOAD DATA LOCAL for the full copy",
                "local_infile = OFF: the full copy falls back to multi-row INSERTs, about half as fast",
                "SET GLOBAL local_infile = ON on the destination, or acknowledge",
            )
        });
    }
    out
}

/// How long the data scans (4-byte characters, largest row) may take in all.
const SCAN_BUDGET: Duration = Duration::from_secs(3);

/// A statement limited to `ms` milliseconds on either flavour.
fn limited(s: &ServerInfo, ms: u64, select_rest: &str) -> String {
    match s.flavour {
        Flavour::MariaDb => {
            format!("SET STATEMENT max_statement_time = {} FOR SELECT {select_rest}", ms as f64 / 1000.0)
        }
        Flavour::MySql => format!("SELECT /*+ MAX_EXECUTION_TIME({ms}) */ {select_rest}"),
    }
}

/// Runs a bounded scan; `None` when it was cut short or failed.
fn scan<T: mysql::prelude::FromValue>(conn: &mut Conn, s: &ServerInfo, started: Instant, rest: &str) -> Option<T> {
    let left = SCAN_BUDGET.checked_sub(started.elapsed())?;
    let ms = left.as_millis().clamp(50, 1000) as u64;
    conn.query_first::<Option<T>, _>(limited(s, ms, rest)).ok().flatten().flatten()
}

/// utf8mb4 source columns written into existing destination columns of a 3-byte (or smaller)
/// charset: a failure when the source holds 4-byte characters, a warning otherwise.
pub fn utf8mb4_item(
    conn: &mut Conn,
    src: &SourceObjects,
    source: &ServerInfo,
    dest: &DestObjects,
    dest_info: &ServerInfo,
    mapped: &[MappedTable],
) -> Item {
    let (id, title) = ("destination.utf8mb4", "4-byte characters fit the destination");
    let fold = dest_info.num("lower_case_table_names").unwrap_or(0.0) as u8 != 0;
    let started = Instant::now();
    let (mut holding, mut narrow, mut unknown) = (Vec::new(), Vec::new(), Vec::new());
    for m in mapped {
        let key = (m.source.database.as_str().to_string(), m.source.table.as_str().to_string());
        let Some(found) = dest.find(m.target.database.as_str(), m.target.table.as_str(), fold) else { continue };
        for c in src.columns.get(&key).into_iter().flatten() {
            if c.charset.as_deref() != Some("utf8mb4") || !m.columns.selected(&c.name) {
                continue;
            }
            let target_col = m.columns.target(&c.name).to_lowercase();
            let dest_cs = dest.charsets.get(&(found.0.clone(), found.1.clone(), target_col.clone())).cloned().flatten();
            if dest_cs.as_deref().is_none_or(|cs| cs == "utf8mb4" || cs == "binary") {
                continue;
            }
            let name = format!("{}.{}.{} ({} on the destination)", key.0, key.1, c.name, dest_cs.unwrap_or_default());
            let q = quote_ident(&c.name);
            let has: Option<u8> = scan(
                conn,
                source,
                started,
                &format!(
                    "1 FROM {}.{} WHERE LENGTH({q}) <> LENGTH(CONVERT({q} USING utf8mb3)) LIMIT 1",
                    quote_ident(&key.0),
                    quote_ident(&key.1)
                ),
            );
            match has {
                Some(_) => holding.push(name),
                None if started.elapsed() >= SCAN_BUDGET => unknown.push(name),
                None => narrow.push(name),
            }
        }
    }
    if !holding.is_empty() {
        Item::failure(
            id,
            title,
            format!(
                "source columns holding 4-byte characters (emoji, rare CJK) go to narrower destination columns: {}",
                list(&holding, 10)
            ),
            "ALTER TABLE ... CONVERT TO CHARACTER SET utf8mb4 on the destination tables, or drop them and let schema sync create them",
        )
    } else if !narrow.is_empty() || !unknown.is_empty() {
        let mut all = narrow.clone();
        all.extend(unknown.iter().map(|u| format!("{u} (not scanned in time)")));
        Item::warning(
            id,
            title,
            format!(
                "utf8mb4 source columns go to narrower destination columns: {}; a 4-byte character written later stops the sync",
                list(&all, 10)
            ),
            "ALTER TABLE ... CONVERT TO CHARACTER SET utf8mb4 on the destination tables, or acknowledge",
        )
    } else {
        Item::pass(
            id,
            title,
            "every utf8mb4 source column lands in a utf8mb4 column (or in a table schema sync creates)",
        )
    }
}

/// Whether the destination's max_allowed_packet takes the largest source row as the applier
/// writes it (binary values as hex: twice their size).
pub fn packet_item(
    conn: &mut Conn,
    src: &SourceObjects,
    source: &ServerInfo,
    dest: &ServerInfo,
    mapped: &[MappedTable],
) -> Item {
    let (id, title) = ("destination.max_allowed_packet", "the largest row fits the destination's packet");
    let packet = dest.num("max_allowed_packet").unwrap_or(0.0) as u64;
    let fits = |bytes: u64| bytes + 64 * 1024 <= packet;
    let started = Instant::now();
    let (mut too_big, mut unknown) = (Vec::new(), Vec::new());
    let mut largest = (0u64, String::new());
    for m in mapped {
        let key = (m.source.database.as_str().to_string(), m.source.table.as_str().to_string());
        let cols: Vec<&Column> =
            src.columns.get(&key).into_iter().flatten().filter(|c| m.columns.selected(&c.name)).collect();
        // Fixed-size values render in at most ~70 bytes; strings at most twice their bytes.
        let declared: u64 = cols
            .iter()
            .map(|c| c.octets.map_or(70, |o| o.saturating_mul(2).saturating_add(16)))
            .fold(0, u64::saturating_add);
        if fits(declared) {
            continue;
        }
        let big: Vec<String> = cols
            .iter()
            .filter(|c| c.octets.is_some_and(|o| o > 65_535))
            .map(|c| format!("COALESCE(LENGTH({}), 0)", quote_ident(&c.name)))
            .collect();
        let small: u64 = cols
            .iter()
            .filter(|c| c.octets.is_none_or(|o| o <= 65_535))
            .map(|c| c.octets.map_or(70, |o| o * 2 + 16))
            .sum();
        let measured: Option<u64> = scan(
            conn,
            source,
            started,
            &format!("MAX({}) FROM {}.{}", big.join(" + "), quote_ident(&key.0), quote_ident(&key.1)),
        );
        let name = format!("{}.{}", key.0, key.1);
        match measured {
            Some(bytes) => {
                let row = bytes * 2 + small;
                if row > largest.0 {
                    largest = (row, name.clone());
                }
                if !fits(row) {
                    too_big.push(format!("{name} (a row of {} KiB as SQL)", row / 1024));
                }
            }
            None if started.elapsed() >= SCAN_BUDGET => unknown.push(name),
            // An empty table: nothing to measure yet.
            None => {}
        }
    }
    let want = largest.0.saturating_add(64 * 1024).next_power_of_two().clamp(64 << 20, 1 << 30);
    if !too_big.is_empty() {
        Item::failure(
            id,
            title,
            format!("max_allowed_packet = {packet}; too small for {}", list(&too_big, 10)),
            format!("SET GLOBAL max_allowed_packet = {want}; on the destination (and in its config)"),
        )
    } else if !unknown.is_empty() && source.num("max_allowed_packet").unwrap_or(0.0) as u64 > packet {
        Item::warning(
            id,
            title,
            format!(
                "max_allowed_packet = {packet} is smaller than the source's; rows of {} were not measured in time",
                list(&unknown, 10)
            ),
            format!(
                "SET GLOBAL max_allowed_packet = {} on the destination, or acknowledge",
                source.var("max_allowed_packet").unwrap_or("?")
            ),
        )
    } else {
        Item::pass(
            id,
            title,
            if largest.0 > 0 {
                format!(
                    "max_allowed_packet = {packet}; the largest row ({}) is {} KiB as SQL",
                    largest.1,
                    largest.0 / 1024
                )
            } else {
                format!("max_allowed_packet = {packet} holds any row of the selected tables")
            },
        )
    }
}
