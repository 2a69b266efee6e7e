//! A table's definition as a repair relies on it: its columns (name, type, nullability,
//! collation, generation) in order and its unique keys. `verify --apply` reads it on both
//! servers when the comparison plans the table, and again inside each repair transaction: a DDL
//! in between (on the source, or applied to the destination by a running task) would make the
//! repair write rows with the old columns, so the table's repair stops there, naming it.

use dts_types::TableId;
use mysql::Conn;
use mysql::prelude::Queryable;

/// The definition of a table on one server (`None` in [`read`]: the table does not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Definition(Vec<Vec<u8>>);

/// The table's definition now (`None`: no such table).
pub(crate) fn read(c: &mut Conn, t: &TableId) -> Result<Option<Definition>, mysql::Error> {
    let (db, table) = (t.database.as_str(), t.table.as_str());
    let columns: Vec<Vec<u8>> = c.exec(
        "SELECT CONCAT_WS(' ', COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, IFNULL(COLLATION_NAME, '-'), EXTRA, \
         IFNULL(GENERATION_EXPRESSION, '-')) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        (db, table),
    )?;
    if columns.is_empty() {
        return Ok(None);
    }
    let keys: Vec<Vec<u8>> = c.exec(
        "SELECT CONCAT_WS(' ', INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, IFNULL(SUB_PART, '-')) \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 \
         ORDER BY INDEX_NAME, SEQ_IN_INDEX",
        (db, table),
    )?;
    Ok(Some(Definition(columns.into_iter().chain(keys).collect())))
}

/// Both servers' definitions of a compared table, as its comparison saw them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seen {
    pub source: Option<Definition>,
    pub destination: Option<Definition>,
}
