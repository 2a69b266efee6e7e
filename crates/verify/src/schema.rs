//! Schema differences of a table: missing table or columns, different types or nullability,
//! destination columns the source does not have, a different primary key; and the `ALTER
//! TABLE` that makes the destination's columns and primary key the source's.

use dts_schema::parse_column_type;
use dts_types::quote_ident;
use mysql::Conn;
use mysql::prelude::Queryable;

use crate::VerifyError;
use crate::compare::Conns;
use crate::table::VerifyTable;

/// How a missing destination table is reported (and recognized).
pub const MISSING_TABLE: &str = "the table does not exist on the destination";

/// What the schema check found: the differences in words, the ALTER that repairs them, and
/// what no ALTER repairs.
#[derive(Debug, Default)]
pub struct SchemaCheck {
    pub differences: Vec<String>,
    pub alters: Vec<String>,
    pub unrepaired: Vec<String>,
}

/// (name, COLUMN_TYPE, charset, nullable, COLUMN_DEFAULT as an SQL expression)
type ColumnRow = (String, String, Option<String>, String, Option<String>);

/// The stored (not generated) columns: generated ones are the server's to compute, never synced.
fn columns(conn: &mut Conn, db: &str, table: &str) -> Result<Vec<ColumnRow>, mysql::Error> {
    conn.exec(
        "SELECT COLUMN_NAME, COLUMN_TYPE, CHARACTER_SET_NAME, IS_NULLABLE, COLUMN_DEFAULT FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = ? AND BINARY TABLE_NAME = ? AND EXTRA NOT LIKE '%GENERATED%' ORDER BY ORDINAL_POSITION",
        (db, table),
    )
}

/// Every column name, generated ones too (for `AFTER`).
fn all_column_names(conn: &mut Conn, db: &str, table: &str) -> Result<Vec<String>, mysql::Error> {
    conn.exec(
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND BINARY TABLE_NAME = ? \
         ORDER BY ORDINAL_POSITION",
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

/// Each column's definition as the source's `SHOW CREATE TABLE` prints it (type, charset,
/// collation, NULL, default, comment), by column name.
fn column_definitions(conn: &mut Conn, quoted_table: &str) -> Result<Vec<(String, String)>, mysql::Error> {
    let row: Option<(String, String)> = conn.query_first(format!("SHOW CREATE TABLE {quoted_table}"))?;
    Ok(row.map(|(_, ddl)| ddl.lines().filter_map(definition_line).collect()).unwrap_or_default())
}

/// A `SHOW CREATE TABLE` line that defines a column: (name, the rest of the definition).
fn definition_line(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("  `")?;
    let mut name = String::new();
    let mut chars = rest.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        if ch == '`' {
            if chars.peek().is_some_and(|&(_, c)| c == '`') {
                chars.next();
                name.push('`');
                continue;
            }
            let def = rest[i + 1..].trim().trim_end_matches(',').trim_end();
            return Some((name, def.to_string()));
        }
        name.push(ch);
    }
    None
}

/// The schema differences of `t` and their repair; where there are none, marks the columns NOT
/// NULL on both sides (their row text then needs no NULL marker). A column missing on the
/// destination is compared as the value its `ADD COLUMN` gives (the source's default), so the
/// rows the repair must also write are found before the column exists.
pub fn check(c: &mut Conns, t: &mut VerifyTable) -> Result<SchemaCheck, VerifyError> {
    let (s, d) = (&t.job.map.source, &t.job.map.target);
    let src = columns(&mut c.src, s.database.as_str(), s.table.as_str())?;
    let dst = columns(&mut c.dst, d.database.as_str(), d.table.as_str())?;
    let mut out = SchemaCheck::default();
    if dst.is_empty() {
        out.differences.push(MISSING_TABLE.to_string());
        out.unrepaired.push(format!(
            "{MISSING_TABLE}: no ALTER creates it; `dts-sync run` creates it in schema sync (or recopy the table)"
        ));
        return Ok(out);
    }
    let defs = column_definitions(&mut c.src, &t.job.map.source.quoted())?;
    let def_of = |source: &str| defs.iter().find(|(n, _)| n == source).map(|(_, d)| d.clone());
    let mut dst_names = all_column_names(&mut c.dst, d.database.as_str(), d.table.as_str())?;
    let mut clauses: Vec<String> = Vec::new();
    for i in 0..t.cols.len() {
        let col = t.cols[i].clone();
        let Some(sc) = src.iter().find(|x| x.0 == col.source) else { continue };
        let def = def_of(&col.source);
        let Some(dc) = dst.iter().find(|x| x.0.eq_ignore_ascii_case(&col.target)) else {
            out.differences.push(format!("column {} (destination {}) is missing", col.source, col.target));
            t.cols[i].dest_expr = Some(sc.4.clone().unwrap_or_else(|| "NULL".into()));
            match def {
                Some(def) => {
                    // After the nearest earlier synced column the destination has (or gets).
                    let after = t.cols[..i]
                        .iter()
                        .rev()
                        .find(|p| dst_names.iter().any(|n| n.eq_ignore_ascii_case(&p.target)))
                        .map_or("FIRST".to_string(), |p| format!("AFTER {}", quote_ident(&p.target)));
                    clauses.push(format!("ADD COLUMN {} {def} {after}", quote_ident(&col.target)));
                    dst_names.push(col.target.clone());
                }
                None => out.unrepaired.push(format!("column {}: its definition could not be read", col.source)),
            }
            continue;
        };
        let same_type = match (parse_column_type(&sc.1, sc.2.as_deref()), parse_column_type(&dc.1, dc.2.as_deref())) {
            (Ok(a), Ok(b)) => a == b,
            _ => sc.1.eq_ignore_ascii_case(&dc.1) && sc.2 == dc.2,
        };
        let mut modify = false;
        if !same_type {
            let cs = |x: &Option<String>| x.as_ref().map(|c| format!(" {c}")).unwrap_or_default();
            out.differences.push(format!(
                "column {}: source {}{}, destination {}{}",
                col.source,
                sc.1,
                cs(&sc.2),
                dc.1,
                cs(&dc.2)
            ));
            modify = true;
        }
        if sc.3 != dc.3 {
            out.differences.push(format!(
                "column {}: {} on the source, {} on the destination",
                col.source,
                if sc.3 == "YES" { "NULL" } else { "NOT NULL" },
                if dc.3 == "YES" { "NULL" } else { "NOT NULL" }
            ));
            modify = true;
        }
        if modify {
            match def {
                Some(def) => clauses.push(format!("MODIFY COLUMN {} {def}", quote_ident(&dc.0))),
                None => out.unrepaired.push(format!("column {}: its definition could not be read", col.source)),
            }
        }
    }
    for dc in &dst {
        if !t.cols.iter().any(|c| c.target.eq_ignore_ascii_case(&dc.0)) {
            out.differences.push(format!("column {} exists only on the destination", dc.0));
            clauses.push(format!("DROP COLUMN {}", quote_ident(&dc.0)));
        }
    }
    let spk: Vec<String> = primary_key(&mut c.src, s.database.as_str(), s.table.as_str())?
        .iter()
        .map(|k| t.job.map.columns.target(k))
        .collect();
    let dpk = primary_key(&mut c.dst, d.database.as_str(), d.table.as_str())?;
    let lower = |v: &[String]| v.iter().map(|x| x.to_lowercase()).collect::<Vec<_>>();
    if lower(&spk) != lower(&dpk) {
        out.differences.push(format!("primary key: source ({}), destination ({})", spk.join(", "), dpk.join(", ")));
        if !dpk.is_empty() {
            clauses.insert(0, "DROP PRIMARY KEY".into());
        }
        if !spk.is_empty() {
            let cols: Vec<String> = spk.iter().map(|k| quote_ident(k)).collect();
            clauses.push(format!("ADD PRIMARY KEY ({})", cols.join(", ")));
        }
    }
    if !clauses.is_empty() {
        out.alters.push(format!("ALTER TABLE {} {}", t.job.map.target.quoted(), clauses.join(", ")));
    }
    if out.differences.is_empty() {
        for col in &mut t.cols {
            col.not_null = src.iter().any(|x| x.0 == col.source && x.3 == "NO");
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::definition_line;

    #[test]
    fn column_lines_of_show_create_table() {
        assert_eq!(
            definition_line("  `a``b` varchar(10) NOT NULL DEFAULT 'x,y',"),
            Some(("a`b".into(), "varchar(10) NOT NULL DEFAULT 'x,y'".into()))
        );
        assert_eq!(definition_line("  `id` int(11) NOT NULL"), Some(("id".into(), "int(11) NOT NULL".into())));
        assert_eq!(definition_line("  PRIMARY KEY (`id`),"), None);
        assert_eq!(definition_line("CREATE TABLE `t` ("), None);
    }
}
