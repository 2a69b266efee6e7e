//! Reading the source schema of the selected objects, through SHOW CREATE (the server's own,
//! complete DDL: columns, charsets, collations, defaults, generated and invisible columns,
//! indexes, foreign keys, partitions, options) and information_schema.

use dts_types::quote_ident;
use mysql::prelude::Queryable;

use crate::selection::{Catalog, Selection};

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
    /// (kind, name, SHOW CREATE text), kind being PROCEDURE, FUNCTION or SEQUENCE.
    pub routines: Vec<(String, String, String)>,
    /// (trigger name, table name, SHOW CREATE TRIGGER text)
    pub triggers: Vec<(String, String, String)>,
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
            continue;
        }
        let row: Option<mysql::Row> = conn.query_first(format!("SHOW CREATE TABLE {q}.{}", quote_ident(table)))?;
        if let Some(row) = row {
            out.tables.push((table.clone(), cols.clone(), row.get(1).unwrap_or_default()));
        }
    }
    if !selection.whole_database(db) {
        return Ok(out);
    }
    let views: Vec<String> =
        conn.exec("SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME", (db,))?;
    for v in views {
        let row: Option<mysql::Row> = conn.query_first(format!("SHOW CREATE VIEW {q}.{}", quote_ident(&v)))?;
        if let Some(row) = row {
            out.views.push((v, row.get(1).unwrap_or_default()));
        }
    }
    let seqs: Vec<String> = conn.exec(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'SEQUENCE'",
        (db,),
    )?;
    for s in seqs {
        let row: Option<mysql::Row> = conn.query_first(format!("SHOW CREATE SEQUENCE {q}.{}", quote_ident(&s)))?;
        if let Some(row) = row {
            out.routines.push(("SEQUENCE".into(), s, row.get(1).unwrap_or_default()));
        }
    }
    let routines: Vec<(String, String)> = conn.exec(
        "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY 1, 2",
        (db,),
    )?;
    for (kind, name) in routines {
        let row: Option<mysql::Row> = conn.query_first(format!("SHOW CREATE {kind} {q}.{}", quote_ident(&name)))?;
        if let Some(row) = row {
            out.routines.push((kind, name, row.get(2).unwrap_or_default()));
        }
    }
    let triggers: Vec<(String, String)> = conn.exec(
        "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY 1",
        (db,),
    )?;
    for (name, table) in triggers {
        let row: Option<mysql::Row> = conn.query_first(format!("SHOW CREATE TRIGGER {q}.{}", quote_ident(&name)))?;
        if let Some(row) = row {
            out.triggers.push((name, table, row.get(2).unwrap_or_default()));
        }
    }
    Ok(out)
}
