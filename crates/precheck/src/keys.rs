//! `destination.existing_keys`: a target table that exists already (kept by `conflicting_tables
//! = "ignore"`, or an incremental-only task's) must not have a unique key that makes two rows
//! the source keeps apart one row. The sync writes by the destination's keys (REPLACE, and
//! DELETE/UPDATE by key), so such a key merges rows silently: `'a'` and `'A'` under a
//! case-insensitive collation where the source's key is binary, a prefix `b(3)` where the
//! source's key is the whole column, a unique key over columns the source does not keep unique.
//!
//! A destination unique key is safe when it holds every column of some source unique key
//! (mapped to their destination names), each compared the same way: the same collation (or
//! none on both sides: numbers, binary strings) and the whole value (no prefix where the
//! source's key has none). Two rows the source keeps apart then differ in that source key, so
//! they differ in the destination's.

use std::collections::BTreeMap;

use dts_schema::MappedTable;
use mysql::Conn;
use mysql::prelude::Queryable;

use crate::report::Item;

/// One part of a unique index: the column (lowercase), its collation, its prefix length.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    column: String,
    collation: Option<String>,
    prefix: Option<u64>,
}

/// A unique index (the primary key among them) by name, with its parts in order.
type Uniques = Vec<(String, Vec<Part>)>;

/// Every unique index of the tables of `dbs`, by (database, table) as the server spells them.
fn read(conn: &mut Conn, dbs: &[String]) -> Result<BTreeMap<(String, String), Uniques>, mysql::Error> {
    let mut out: BTreeMap<(String, String), Uniques> = BTreeMap::new();
    if dbs.is_empty() {
        return Ok(out);
    }
    let ph = vec!["?"; dbs.len()].join(", ");
    type Row = (String, String, String, String, Option<u64>, Option<String>);
    let rows: Vec<Row> = conn.exec(
        format!(
            "SELECT s.TABLE_SCHEMA, s.TABLE_NAME, s.INDEX_NAME, s.COLUMN_NAME, s.SUB_PART, c.COLLATION_NAME \
             FROM information_schema.STATISTICS s JOIN information_schema.COLUMNS c \
             ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME \
             WHERE s.TABLE_SCHEMA IN ({ph}) AND s.NON_UNIQUE = 0 \
             ORDER BY s.TABLE_SCHEMA, s.TABLE_NAME, s.INDEX_NAME, s.SEQ_IN_INDEX"
        ),
        dbs.to_vec(),
    )?;
    for (db, table, index, column, prefix, collation) in rows {
        let indexes = out.entry((db, table)).or_default();
        let part = Part { column: column.to_lowercase(), collation, prefix };
        match indexes.last_mut() {
            Some((name, parts)) if *name == index => parts.push(part),
            _ => indexes.push((index, vec![part])),
        }
    }
    Ok(out)
}

/// Why `dest_key` can merge rows that every unique key of the source keeps apart (`None`
/// when one of them shows it cannot). `source` holds the source's keys with their columns
/// already renamed to the destination's names.
fn merges(dest_key: &[Part], source: &Uniques) -> Option<String> {
    let mut why = "the source has no unique key".to_string();
    for (name, parts) in source {
        let mut fits = true;
        for p in parts {
            match dest_key.iter().find(|d| d.column == p.column) {
                None => {
                    why = format!("it does not hold every column of the source's key {name}");
                    fits = false;
                }
                Some(d) if d.collation != p.collation => {
                    why = format!(
                        "column {} compares as {} there and as {} in the source's key {name}",
                        d.column,
                        d.collation.as_deref().unwrap_or("bytes or numbers"),
                        p.collation.as_deref().unwrap_or("bytes or numbers"),
                    );
                    fits = false;
                }
                Some(d) if d.prefix.is_some() && d.prefix != p.prefix => {
                    why = format!(
                        "it indexes only a prefix of column {} ({}) where the source's key {name} indexes {}",
                        d.column,
                        d.prefix.unwrap_or(0),
                        p.prefix.map_or("the whole value".to_string(), |n| format!("a prefix of {n}")),
                    );
                    fits = false;
                }
                Some(_) => {}
            }
            if !fits {
                break;
            }
        }
        if fits {
            return None;
        }
    }
    Some(why)
}

/// The item, for the target tables that exist on the destination. Not run when resuming: the
/// task's own tables then follow the source's DDL as the binlog brings it, so the source's keys
/// now may be ahead of the destination's.
pub fn existing_keys_item(
    src: &mut Conn,
    dst: &mut Conn,
    mapped: &[MappedTable],
    fold: bool,
    exists: impl Fn(&MappedTable) -> Option<(String, String)>,
) -> Option<Item> {
    let (id, title) = ("destination.existing_keys", "existing target tables tell rows apart as the source does");
    let kept: Vec<(&MappedTable, (String, String))> = mapped.iter().filter_map(|m| Some((m, exists(m)?))).collect();
    if kept.is_empty() {
        return None;
    }
    let dbs = |side: bool| {
        let mut v: Vec<String> = kept
            .iter()
            .map(|(m, found)| if side { m.source.database.as_str().to_string() } else { found.0.clone() })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let (src_dbs, dst_dbs) = (dbs(true), dbs(false));
    let (source, dest) = match (read(src, &src_dbs), read(dst, &dst_dbs)) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(e), _) | (_, Err(e)) => {
            return Some(Item::failure(id, title, format!("cannot read the unique keys: {e}"), "check the grants"));
        }
    };
    let find = |map: &BTreeMap<(String, String), Uniques>, db: &str, table: &str| -> Uniques {
        map.iter()
            .find(|((d, t), _)| {
                if fold { d.eq_ignore_ascii_case(db) && t.eq_ignore_ascii_case(table) } else { d == db && t == table }
            })
            .map(|(_, u)| u.clone())
            // Not listed: the table has no unique index (not an error).
            .unwrap_or_default()
    };
    let mut bad = Vec::new();
    for (m, found) in &kept {
        // The source's keys under the destination's column names; a key with a column the
        // task does not sync cannot show anything.
        let source_keys: Uniques = find(&source, m.source.database.as_str(), m.source.table.as_str())
            .into_iter()
            .filter(|(_, parts)| parts.iter().all(|p| m.columns.selected(&p.column)))
            .map(|(name, parts)| {
                let parts = parts
                    .into_iter()
                    .map(|p| Part { column: m.columns.target(&p.column).to_lowercase(), ..p })
                    .collect();
                (name, parts)
            })
            .collect();
        for (name, parts) in find(&dest, &found.0, &found.1) {
            if let Some(why) = merges(&parts, &source_keys) {
                bad.push(format!("{}.{} key {name}: {why}", found.0, found.1));
            }
        }
    }
    Some(if bad.is_empty() {
        Item::pass(id, title, format!("the unique keys of {} existing target table(s) fit the source's", kept.len()))
    } else {
        Item::failure(
            id,
            title,
            format!("{} unique key(s) would merge rows the source keeps apart: {}", bad.len(), bad.join("; ")),
            "give those tables the source's keys and collations (drop them on the destination and let schema sync create them, or ALTER the key columns to the source's collation), or drop the destination's extra unique key",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(column: &str, collation: Option<&str>, prefix: Option<u64>) -> Part {
        Part { column: column.into(), collation: collation.map(Into::into), prefix }
    }

    #[test]
    fn a_key_fits_when_it_holds_a_source_key_compared_the_same_way() {
        let bin = Some("utf8mb4_bin");
        let source: Uniques = vec![("PRIMARY".into(), vec![part("k", bin, None)])];
        assert_eq!(merges(&[part("k", bin, None)], &source), None);
        assert_eq!(merges(&[part("k", bin, None), part("n", None, None)], &source), None, "a wider key");
        let ci = merges(&[part("k", Some("utf8mb4_general_ci"), None)], &source).unwrap();
        assert!(ci.contains("utf8mb4_general_ci") && ci.contains("utf8mb4_bin"), "{ci}");
        let prefix = merges(&[part("k", bin, Some(3))], &source).unwrap();
        assert!(prefix.contains("prefix of column k (3)"), "{prefix}");
        let other = merges(&[part("email", None, None)], &source).unwrap();
        assert!(other.contains("every column"), "{other}");
        assert!(merges(&[part("k", bin, None)], &Vec::new()).unwrap().contains("no unique key"));
        // The same prefix on both sides keeps the same rows apart.
        let prefixed: Uniques = vec![("PRIMARY".into(), vec![part("k", None, Some(3))])];
        assert_eq!(merges(&[part("k", None, Some(3))], &prefixed), None);
    }
}
