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
//! let e = ExactCollation { collation: "latin1_nopad_bin".into(), compare_lengths: false, indexed: true, max_chars: None };
//! let mut sql = String::new();
//! push_condition(&mut sql, "`s`", "_utf8mb4'A'", Some(&e));
//! assert_eq!(sql, "`s` <=> _utf8mb4'A' AND `s` COLLATE latin1_nopad_bin <=> _utf8mb4'A'");
//! ```

use std::collections::HashMap;

/// The destination's character columns of one table but ENUM and SET (whose values travel as
/// numbers and cannot be twins), bound: schema, table; each with its binary collations,
/// whether an index holds it, its type and its length: rows for [`ExactCollation::from_row`].
pub const COLUMNS_SQL: &str = "SELECT c.COLUMN_NAME, c.CHARACTER_SET_NAME, \
     (SELECT l.COLLATION_NAME FROM information_schema.COLLATIONS l \
      WHERE l.COLLATION_NAME = CONCAT(c.CHARACTER_SET_NAME, '_nopad_bin')), \
     (SELECT l.COLLATION_NAME FROM information_schema.COLLATIONS l \
      WHERE l.COLLATION_NAME = CONCAT(c.CHARACTER_SET_NAME, '_bin')), \
     EXISTS (SELECT 1 FROM information_schema.STATISTICS s WHERE s.TABLE_SCHEMA = c.TABLE_SCHEMA \
      AND s.TABLE_NAME = c.TABLE_NAME AND s.COLUMN_NAME = c.COLUMN_NAME), \
     c.DATA_TYPE, c.CHARACTER_MAXIMUM_LENGTH \
     FROM information_schema.COLUMNS c \
     WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ? AND c.CHARACTER_SET_NAME IS NOT NULL \
     AND c.DATA_TYPE NOT IN ('enum', 'set')";

/// A row of [`COLUMNS_SQL`]: column, character set, its `_nopad_bin`, its `_bin`, indexed,
/// data type, maximum length in characters.
pub type ColumnsRow = (String, String, Option<String>, Option<String>, u8, String, Option<u64>);

/// How a character column's value is compared exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactCollation {
    /// The binary collation of the column's character set (`latin1_nopad_bin`).
    pub collation: String,
    /// The collation pads with spaces (a `_bin` where no `_nopad_bin` exists, as on MySQL):
    /// the character lengths are compared as well.
    pub compare_lengths: bool,
    /// The column is in an index: the match under its own collation is kept too.
    pub indexed: bool,
    /// A VARCHAR's length: the value is compared as the column stores it, cut to this many
    /// characters (a VARCHAR drops the trailing spaces beyond its length with only a note,
    /// strict mode or not, so a destination column shorter than the source's holds the cut).
    pub max_chars: Option<u64>,
}

impl ExactCollation {
    /// The column's name and how it compares, from a row of [`COLUMNS_SQL`]; `Err` holds the
    /// column and character set when that has no binary collation the condition can name.
    ///
    /// A CHAR column compares under the PAD SPACE `_bin`, lengths aside: it reads back
    /// without its trailing spaces, so it cannot hold two values that differ only in them.
    pub fn from_row(row: ColumnsRow) -> Result<(String, ExactCollation), (String, String)> {
        let (column, charset, nopad, pad, indexed, data_type, max) = row;
        let char_column = data_type.eq_ignore_ascii_case("char");
        let (collation, compare_lengths) = match (nopad, pad) {
            (_, Some(c)) if char_column => (c, false),
            (Some(c), _) => (c, false),
            (None, Some(c)) => (c, true),
            (None, None) => return Err((column, charset)),
        };
        // Written unquoted after COLLATE: a server's collation names are [a-z0-9_].
        if !collation.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err((column, charset));
        }
        let max_chars = if data_type.eq_ignore_ascii_case("varchar") { max } else { None };
        Ok((column, ExactCollation { collation, compare_lengths, indexed: indexed != 0, max_chars }))
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
/// value, NULL included): `exact` for a string value in a character column, `None` otherwise
/// (numbers, temporal values, bytes in a binary column and NULL compare exactly with `<=>`).
pub fn push_condition(out: &mut String, column: &str, literal: &str, exact: Option<&ExactCollation>) {
    let Some(e) = exact else {
        push_null_safe(out, column, literal);
        return;
    };
    let stored = match e.max_chars {
        Some(n) => format!("LEFT({literal}, {n})"),
        None => literal.to_string(),
    };
    if e.indexed {
        push_null_safe(out, column, &stored);
        out.push_str(" AND ");
    }
    out.push_str(column);
    out.push_str(" COLLATE ");
    out.push_str(&e.collation);
    out.push_str(" <=> ");
    out.push_str(&stored);
    if e.compare_lengths {
        out.push_str(" AND CHAR_LENGTH(");
        out.push_str(column);
        out.push_str(") <=> CHAR_LENGTH(");
        out.push_str(&stored);
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

    fn row(nopad: Option<&str>, bin: Option<&str>, data_type: &str) -> ColumnsRow {
        ("s".into(), "cs".into(), nopad.map(Into::into), bin.map(Into::into), 0, data_type.into(), Some(10))
    }

    #[test]
    fn the_nopad_binary_collation_is_preferred_and_a_pad_space_one_compares_lengths() {
        let (_, nopad) = ExactCollation::from_row(row(Some("cs_nopad_bin"), Some("cs_bin"), "text")).unwrap();
        assert_eq!((nopad.collation.as_str(), nopad.compare_lengths, nopad.max_chars), ("cs_nopad_bin", false, None));
        let (_, pad) = ExactCollation::from_row(row(None, Some("cs_bin"), "text")).unwrap();
        let mut sql = String::new();
        push_condition(&mut sql, "`s`", "'x '", Some(&pad));
        assert_eq!(sql, "`s` COLLATE cs_bin <=> 'x ' AND CHAR_LENGTH(`s`) <=> CHAR_LENGTH('x ')");
    }

    #[test]
    fn a_char_column_pads_and_a_varchar_compares_what_it_can_store() {
        let (_, char_column) = ExactCollation::from_row(row(Some("cs_nopad_bin"), Some("cs_bin"), "char")).unwrap();
        assert_eq!((char_column.collation.as_str(), char_column.compare_lengths), ("cs_bin", false));
        let (_, varchar) = ExactCollation::from_row(row(Some("cs_nopad_bin"), Some("cs_bin"), "varchar")).unwrap();
        let mut sql = String::new();
        push_condition(&mut sql, "`s`", "'x '", Some(&varchar));
        assert_eq!(sql, "`s` COLLATE cs_nopad_bin <=> LEFT('x ', 10)");
    }

    #[test]
    fn no_binary_collation_or_an_odd_name_is_refused() {
        assert_eq!(ExactCollation::from_row(row(None, None, "text")), Err(("s".into(), "cs".into())));
        assert!(ExactCollation::from_row(row(Some("x` OR 1"), None, "text")).is_err());
    }
}
