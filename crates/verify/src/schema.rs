//! Schema differences of a table: missing table or columns, different types or nullability,
//! destination columns the source does not have, a different primary key.

use dts_schema::parse_column_type;
use mysql::Conn;
use mysql::prelude::Queryable;

use crate::VerifyError;
use crate::compare::Conns;
use crate::table::VerifyTable;

/// How a missing destination table is reported (and recognized).
pub const MISSING_TABLE: &str = "the table does not exist on the destination";

/// (name, COLUMN_TYPE, charset, nullable)
type ColumnRow = (String, String, Option<String>, String);

/// The stored (not generated) columns: generated ones are the server's to compute, never synced.
fn columns(conn: &mut Conn, db: &str, table: &str) -> Result<Vec<ColumnRow>, mysql::Error> {
    conn.exec(
        "SELECT COLUMN_NAME, COLUMN_TYPE, CHARACTER_SET_NAME, IS_NULLABLE FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = ? AND BINARY TABLE_NAME = ? AND EXTRA NOT LIKE '%GENERATED%' ORDER BY ORDINAL_POSITION",
        (db, table),
    )
}

fn primary_key(conn: &mut Conn, db: &str, table: &str) -> Result<Vec<String>, mysql::Error> {
    conn.exec(
        "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND BINARY TABLE_NAME = ? \
         AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
        (db, table),
    )
}

/// The schema differences of `t`; where there are none, marks the columns NOT NULL on both
/// sides (their row text then needs no NULL marker).
pub fn differences(c: &mut Conns, t: &mut VerifyTable) -> Result<Vec<String>, VerifyError> {
    let (s, d) = (&t.job.map.source, &t.job.map.target);
    let src = columns(&mut c.src, s.database.as_str(), s.table.as_str())?;
    let dst = columns(&mut c.dst, d.database.as_str(), d.table.as_str())?;
    if dst.is_empty() {
        return Ok(vec![MISSING_TABLE.to_string()]);
    }
    let mut out = Vec::new();
    for col in &t.cols {
        let Some(sc) = src.iter().find(|x| x.0 == col.source) else { continue };
        let Some(dc) = dst.iter().find(|x| x.0.eq_ignore_ascii_case(&col.target)) else {
            out.push(format!("column {} (destination {}) is missing", col.source, col.target));
            continue;
        };
        let same_type = match (parse_column_type(&sc.1, sc.2.as_deref()), parse_column_type(&dc.1, dc.2.as_deref())) {
            (Ok(a), Ok(b)) => a == b,
            _ => sc.1.eq_ignore_ascii_case(&dc.1) && sc.2 == dc.2,
        };
        if !same_type {
            let cs = |x: &Option<String>| x.as_ref().map(|c| format!(" {c}")).unwrap_or_default();
            out.push(format!("column {}: source {}{}, destination {}{}", col.source, sc.1, cs(&sc.2), dc.1, cs(&dc.2)));
        }
        if sc.3 != dc.3 {
            out.push(format!(
                "column {}: {} on the source, {} on the destination",
                col.source,
                if sc.3 == "YES" { "NULL" } else { "NOT NULL" },
                if dc.3 == "YES" { "NULL" } else { "NOT NULL" }
            ));
        }
    }
    for dc in &dst {
        if !t.cols.iter().any(|c| c.target.eq_ignore_ascii_case(&dc.0)) {
            out.push(format!("column {} exists only on the destination", dc.0));
        }
    }
    let spk: Vec<String> = primary_key(&mut c.src, s.database.as_str(), s.table.as_str())?
        .iter()
        .map(|k| t.job.map.columns.target(k))
        .collect();
    let dpk = primary_key(&mut c.dst, d.database.as_str(), d.table.as_str())?;
    let lower = |v: &[String]| v.iter().map(|x| x.to_lowercase()).collect::<Vec<_>>();
    if lower(&spk) != lower(&dpk) {
        out.push(format!("primary key: source ({}), destination ({})", spk.join(", "), dpk.join(", ")));
    }
    if out.is_empty() {
        for col in &mut t.cols {
            col.not_null = src.iter().any(|x| x.0 == col.source && x.3 == "NO");
        }
    }
    Ok(out)
}
