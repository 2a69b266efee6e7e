//! Reading the source schema of the selected objects, through SHOW CREATE (the server's own,
//! complete DDL: columns, charsets, collations, defaults, generated and invisible columns,
//! indexes, foreign keys, partitions, options) and information_schema.

use dts_types::quote_ident;
use mysql::prelude::Queryable;

use crate::selection::{Catalog, ObjectKind, Selection};

/// One database's objects, as their DDL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseSchema {
    /// The database's name.
    pub name: String,
    /// Its SHOW CREATE DATABASE text.
    pub create: String,
    /// (table name, column names in order, SHOW CREATE TABLE text)
    pub tables: Vec<(String, Vec<String>, String)>,
    /// (view name, SHOW CREATE VIEW text)
    pub views: Vec<(String, String)>,
    /// (kind, name, SHOW CREATE text), kind being PROCEDURE or FUNCTION.
    pub routines: Vec<(String, String, String)>,
    /// The selected sequences: (name, SHOW CREATE SEQUENCE text, state). A sequence is a table
    /// in MariaDB, selected by the table rules like any table.
    pub sequences: Vec<(String, String, SequenceState)>,
    /// (trigger name, table name, SHOW CREATE TRIGGER text) of the selected tables.
    pub triggers: Vec<(String, String, String)>,
    /// The selected events.
    pub events: Vec<Event>,
    /// (object, why) of every object of the database that is not synced.
    pub left_out: Vec<(String, String)>,
}

/// An event, as SHOW CREATE EVENT gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// Its name.
    pub name: String,
    /// Its SHOW CREATE EVENT text.
    pub create: String,
    /// The time zone its schedule is written in.
    pub time_zone: String,
    /// Whether it is enabled on the source.
    pub enabled: bool,
    /// Its definer on the source, `user@host`.
    pub definer: String,
}

/// A sequence's state, its one row: the values of [`SEQUENCE_COLUMNS`], as the server prints them.
pub type SequenceState = Vec<String>;

/// The columns of a MariaDB sequence's one row, its whole state.
pub const SEQUENCE_COLUMNS: [&str; 8] = [
    "next_not_cached_value",
    "minimum_value",
    "maximum_value",
    "start_value",
    "increment",
    "cache_size",
    "cycle_option",
    "cycle_count",
];

/// The state of sequence `db`.`name` now.
pub fn sequence_state(conn: &mut mysql::Conn, db: &str, name: &str) -> Result<SequenceState, mysql::Error> {
    let cols = SEQUENCE_COLUMNS.map(|c| format!("CAST({c} AS CHAR)")).join(", ");
    let row: Option<mysql::Row> =
        conn.query_first(format!("SELECT {cols} FROM {}.{}", quote_ident(db), quote_ident(name)))?;
    Ok(row
        .map(|r| (0..SEQUENCE_COLUMNS.len()).map(|i| r.get::<String, _>(i).unwrap_or_default()).collect())
        .unwrap_or_default())
}

/// The selected sequences of database `db`.
pub fn sequences(conn: &mut mysql::Conn, selection: &Selection, db: &str) -> Result<Vec<String>, mysql::Error> {
    let all: Vec<String> = conn.exec(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'SEQUENCE' ORDER BY 1",
        (db,),
    )?;
    Ok(all.into_iter().filter(|s| selection.table(db, s).is_some()).collect())
}

/// Lists every non-system database's tables and columns (for selection and validation).
pub fn catalog(conn: &mut mysql::Conn) -> Result<Catalog, mysql::Error> {
    let rows: Vec<(String, String, String)> = conn.query(
        "SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME FROM information_schema.COLUMNS c \
         JOIN information_schema.TABLES t \
         ON BINARY t.TABLE_SCHEMA = BINARY c.TABLE_SCHEMA AND BINARY t.TABLE_NAME = BINARY c.TABLE_NAME \
         WHERE t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') \
         AND c.TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') \
         ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION",
    )?;
    let mut cat = Catalog::new();
    let dbs: Vec<String> = conn.query(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA \
         WHERE SCHEMA_NAME NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')",
    )?;
    for d in dbs {
        cat.entry(d).or_default();
    }
    for (db, table, column) in rows {
        cat.entry(db).or_default().entry(table).or_default().push(column);
    }
    Ok(cat)
}

/// Reads the DDL of every selected object of database `db`.
pub fn read_database(
    conn: &mut mysql::Conn,
    selection: &Selection,
    catalog: &Catalog,
    db: &str,
) -> Result<DatabaseSchema, mysql::Error> {
    let q = quote_ident(db);
    let row: mysql::Row = conn
        .query_first(format!("SHOW CREATE DATABASE {q}"))?
        .ok_or(mysql::Error::DriverError(mysql::DriverError::SetupError))?;
    let create: String = row.get(1).unwrap_or_default();
    let mut out = DatabaseSchema { name: db.to_string(), create, ..Default::default() };
    for (table, cols) in catalog.get(db).into_iter().flatten() {
        if selection.table(db, table).is_none() {
            out.left_out.push((format!("table {db}.{table}"), "not selected".into()));
            continue;
        }
        let row: Option<mysql::Row> = conn.query_first(format!("SHOW CREATE TABLE {q}.{}", quote_ident(table)))?;
        if let Some(row) = row {
            out.tables.push((table.clone(), cols.clone(), row.get(1).unwrap_or_default()));
        }
    }
    for s in sequences(conn, selection, db)? {
        let row: Option<mysql::Row> = conn.query_first(format!("SHOW CREATE SEQUENCE {q}.{}", quote_ident(&s)))?;
        if let Some(row) = row {
            let state = sequence_state(conn, db, &s)?;
            out.sequences.push((s, row.get(1).unwrap_or_default(), state));
        }
    }
    // In a partly selected database only the views, routines and events its rule names are
    // synced; the others are named, with the reason.
    let not_named =
        |what: &str| format!("not selected: {db} is selected in part; name it in `{what}` of its [[objects]]");
    let views: Vec<String> =
        conn.exec("SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME", (db,))?;
    for v in views {
        if !selection.object(db, ObjectKind::View, &v) {
            out.left_out.push((format!("view {db}.{v}"), not_named("views")));
            continue;
        }
        let row: Option<mysql::Row> = conn.query_first(format!("SHOW CREATE VIEW {q}.{}", quote_ident(&v)))?;
        if let Some(row) = row {
            out.views.push((v, row.get(1).unwrap_or_default()));
        }
    }
    let routines: Vec<(String, String)> = conn.exec(
        "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY 1, 2",
        (db,),
    )?;
    for (kind, name) in routines {
        if !selection.object(db, ObjectKind::Routine, &name) {
            out.left_out.push((format!("{} {db}.{name}", kind.to_lowercase()), not_named("routines")));
            continue;
        }
        let row: Option<mysql::Row> = conn.query_first(format!("SHOW CREATE {kind} {q}.{}", quote_ident(&name)))?;
        if let Some(row) = row {
            out.routines.push((kind, name, row.get(2).unwrap_or_default()));
        }
    }
    let events: Vec<(String, String, String)> = conn.exec(
        "SELECT EVENT_NAME, STATUS, DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY 1",
        (db,),
    )?;
    for (name, status, definer) in events {
        if !selection.object(db, ObjectKind::Event, &name) {
            out.left_out.push((format!("event {db}.{name}"), not_named("events")));
            continue;
        }
        let row: Option<mysql::Row> = conn.query_first(format!("SHOW CREATE EVENT {q}.{}", quote_ident(&name)))?;
        if let Some(row) = row {
            let time_zone: String = row.get(2).unwrap_or_default();
            let create = row.get(3).unwrap_or_default();
            out.events.push(Event { name, create, time_zone, enabled: status == "ENABLED", definer });
        }
    }
    // A trigger follows its table.
    let triggers: Vec<(String, String)> = conn.exec(
        "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? \
         ORDER BY EVENT_OBJECT_TABLE, EVENT_MANIPULATION, ACTION_TIMING, ACTION_ORDER",
        (db,),
    )?;
    for (name, table) in triggers {
        if selection.table(db, &table).is_none() {
            out.left_out.push((format!("trigger {db}.{name}"), format!("its table {db}.{table} is not selected")));
            continue;
        }
        let row: Option<mysql::Row> = conn.query_first(format!("SHOW CREATE TRIGGER {q}.{}", quote_ident(&name)))?;
        if let Some(row) = row {
            out.triggers.push((name, table, row.get(2).unwrap_or_default()));
        }
    }
    Ok(out)
}
