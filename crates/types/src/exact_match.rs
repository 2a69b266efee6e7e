//! Finding a row of a keyless table by its exact values.
//!
//! A keyless table's row is found by comparing every column with `<=>`. For a character column
//! that comparison runs under the column's collation, where 'a' = 'A', 'e' = 'é' and (with
//! PAD SPACE) 'x' = 'x ': an UPDATE or DELETE ... LIMIT 1 could then change the wrong one of two
//! such rows, and the destination would silently differ from the source. The condition built
//! here compares a character value under its column's binary collation instead, which compares
//! code points (the literal is converted to the column's character set first), and keeps the
//! match under the column's own collation for an indexed column, so the server can still
//! narrow the search by that index (as its own replica does).
//!
//! ```
//! use dts_types::exact_match::{ExactCollation, push_condition};
//!
//! let e = ExactCollation { collation: "latin1_nopad_bin".into(), pad_space: false, indexed: true };
//! let mut sql = String::new();
//! push_condition(&mut sql, "`s`", "_utf8mb4'A'", Some(&e));
//! assert_eq!(sql, "`s` <=> _utf8mb4'A' AND `s` COLLATE latin1_nopad_bin <=> _utf8mb4'A'");
//! ```

use std::collections::HashMap;

/// The destination's character columns of one table (bound: schema, table), each with its
/// binary collations and whether an index holds it: rows for [`ExactCollation::from_row`].
pub const COLUMNS_SQL: &str = "SELECT c.COLUMN_NAME, c.CHARACTER_SET_NAME, \
     (SELECT l.COLLATION_NAME FROM information_schema.COLLATIONS l \
      WHERE l.COLLATION_NAME = CONCAT(c.CHARACTER_SET_NAME, '_nopad_bin')), \
     (SELECT l.COLLATION_NAME FROM information_schema.COLLATIONS l \
      WHERE l.COLLATION_NAME = CONCAT(c.CHARACTER_SET_NAME, '_bin')), \
     EXISTS (SELECT 1 FROM information_schema.STATISTICS s WHERE s.TABLE_SCHEMA = c.TABLE_SCHEMA \
      AND s.TABLE_NAME = c.TABLE_NAME AND s.COLUMN_NAME = c.COLUMN_NAME) \
     FROM information_schema.COLUMNS c \
     WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ? AND c.CHARACTER_SET_NAME IS NOT NULL";

/// A row of [`COLUMNS_SQL`]: column, character set, its `_nopad_bin`, its `_bin`, indexed.
pub type ColumnsRow = (String, String, Option<String>, Option<String>, u8);

/// How a character column's value is compared exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactCollation {
    /// The binary collation of the column's character set (`latin1_nopad_bin`).
    pub collation: String,
    /// The collation pads with spaces (a `_bin` where no `_nopad_bin` exists, as on MySQL):
    /// the character lengths are compared as well.
    pub pad_space: bool,
    /// The column is in an index: the match under its own collation is kept too.
    pub indexed: bool,
}

impl ExactCollation {
    /// The column's name and how it compares, from a row of [`COLUMNS_SQL`]; `Err` holds the
    /// column and character set when that has no binary collation the condition can name.
    pub fn from_row(row: ColumnsRow) -> Result<(String, ExactCollation), (String, String)> {
        let (column, charset, nopad, pad, indexed) = row;
        let (collation, pad_space) = match (nopad, pad) {
            (Some(c), _) => (c, false),
            (None, Some(c)) => (c, true),
            (None, None) => return Err((column, charset)),
        };
        // Written unquoted after COLLATE: a server's collation names are [a-z0-9_].
        if !collation.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err((column, charset));
        }
        Ok((column, ExactCollation { collation, pad_space, indexed: indexed != 0 }))
    }
}

/// Every character column of a table (rows of [`COLUMNS_SQL`]) by lowercase name; `Err` holds
/// the first column and character set without a binary collation.
pub fn by_column(rows: Vec<ColumnsRow>) -> Result<HashMap<String, ExactCollation>, (String, String)> {
    let mut out = HashMap::new();
    for row in rows {
        let (column, e) = ExactCollation::from_row(row)?;
        out.insert(column.to_lowercase(), e);
    }
    Ok(out)
}

/// Appends the condition that `column` (quoted) holds exactly `literal` (a SQL literal of the
/// value, NULL included): `exact` for a character value in a character column, `None`
/// otherwise (numbers, temporal values, bytes and NULL compare exactly with `<=>` already).
pub fn push_condition(out: &mut String, column: &str, literal: &str, exact: Option<&ExactCollation>) {
    let Some(e) = exact else {
        push_null_safe(out, column, literal);
        return;
    };
    if e.indexed {
        push_null_safe(out, column, literal);
        out.push_str(" AND ");
    }
    out.push_str(column);
    out.push_str(" COLLATE ");
    out.push_str(&e.collation);
    out.push_str(" <=> ");
    out.push_str(literal);
    if e.pad_space {
        out.push_str(" AND CHAR_LENGTH(");
        out.push_str(column);
        out.push_str(") <=> CHAR_LENGTH(");
        out.push_str(literal);
        out.push(')');
    }
}

fn push_null_safe(out: &mut String, column: &str, literal: &str) {
    out.push_str(column);
    out.push_str(" <=> ");
    out.push_str(literal);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(nopad: Option<&str>, bin: Option<&str>) -> ColumnsRow {
        ("s".into(), "cs".into(), nopad.map(Into::into), bin.map(Into::into), 0)
    }

    #[test]
    fn the_nopad_binary_collation_is_preferred_and_a_pad_space_one_compares_lengths() {
        let (_, nopad) = ExactCollation::from_row(row(Some("cs_nopad_bin"), Some("cs_bin"))).unwrap();
        assert_eq!((nopad.collation.as_str(), nopad.pad_space), ("cs_nopad_bin", false));
        let (_, pad) = ExactCollation::from_row(row(None, Some("cs_bin"))).unwrap();
        let mut sql = String::new();
        push_condition(&mut sql, "`s`", "'x '", Some(&pad));
        assert_eq!(sql, "`s` COLLATE cs_bin <=> 'x ' AND CHAR_LENGTH(`s`) <=> CHAR_LENGTH('x ')");
    }

    #[test]
    fn no_binary_collation_or_an_odd_name_is_refused() {
        assert_eq!(ExactCollation::from_row(row(None, None)), Err(("s".into(), "cs".into())));
        assert!(ExactCollation::from_row(row(Some("x` OR 1"), None)).is_err());
    }
}
