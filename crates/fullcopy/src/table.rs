//! What the copy needs to know about a source table: the columns to copy and their exact
//! types, the key to chunk by, and its size.

use dts_schema::MappedTable;
use dts_schema::parse_column_type;
use dts_types::{ColumnType, quote_ident};
use mysql::prelude::Queryable;

use crate::CopyError;

/// A column read from the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceColumn {
    /// The source column's name.
    pub name: String,
    /// Its name on the destination.
    pub target: String,
    /// Its exact type.
    pub ty: ColumnType,
    /// Whether it is written to the destination (selected and not generated); key columns
    /// that are not selected are read only to order and bound chunks.
    pub copied: bool,
}

/// A table to copy.
#[derive(Debug, Clone)]
pub struct TableJob {
    /// The source table and where it goes.
    pub map: MappedTable,
    /// Copied columns first, in table order, then key-only columns.
    pub columns: Vec<SourceColumn>,
    /// Positions in `columns` of the chunking key (primary key, else a unique key of NOT NULL
    /// columns); `None` when the table has neither.
    pub key: Option<Vec<usize>>,
    /// The server's estimate of its rows.
    pub rows_estimate: u64,
    /// The server's average row length, to size chunks by bytes.
    pub avg_row_length: u64,
    /// Written as INSERT statements although LOAD DATA could load it: its chunks are written
    /// by several writers at once, and a LOAD DATA into a destination table with an
    /// AUTO_INCREMENT column holds InnoDB's table-level AUTO-INC lock until it ends
    /// (`innodb_autoinc_lock_mode` 0 or 1), so those writers would load one at a time. Multi-row
    /// INSERTs take only a short mutex. Set by the copy once its chunks are planned.
    pub statements_in_parallel: bool,
}

impl TableJob {
    /// Reads the table's columns, key and statistics from the source.
    pub fn load(source: &mut mysql::Conn, map: MappedTable) -> Result<TableJob, CopyError> {
        let (db, t) = (map.source.database.as_str(), map.source.table.as_str());
        let cols: Vec<(String, String, Option<String>, String)> = source.exec(
            "SELECT COLUMN_NAME, COLUMN_TYPE, CHARACTER_SET_NAME, EXTRA FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (db, t),
        )?;
        if cols.is_empty() {
            return Err(CopyError::NoSuchTable { table: map.source.to_string() });
        }
        let keys: Vec<(String, String, i64, String)> = source.exec(
            "SELECT s.INDEX_NAME, s.COLUMN_NAME, s.NON_UNIQUE, c.IS_NULLABLE FROM information_schema.STATISTICS s \
             JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME \
             AND c.COLUMN_NAME = s.COLUMN_NAME WHERE s.TABLE_SCHEMA = ? AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0 \
             AND s.SUB_PART IS NULL ORDER BY s.INDEX_NAME = 'PRIMARY' DESC, s.INDEX_NAME, s.SEQ_IN_INDEX",
            (db, t),
        )?;
        let stats: Option<(Option<u64>, Option<u64>)> = source.exec_first(
            "SELECT TABLE_ROWS, AVG_ROW_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (db, t),
        )?;
        let mut columns = Vec::new();
        for (name, ty, cs, extra) in &cols {
            let generated = extra.to_ascii_uppercase().contains("GENERATED");
            let selected = map.columns.selected(name);
            let ty = parse_column_type(ty, cs.as_deref()).map_err(|e| CopyError::Type {
                table: map.source.to_string(),
                column: name.clone(),
                reason: e.to_string(),
            })?;
            columns.push(SourceColumn {
                name: name.clone(),
                target: map.columns.target(name),
                ty,
                copied: selected && !generated,
            });
        }
        // The key: the first unique index (the primary key sorts first) whose columns are all
        // NOT NULL and not generated.
        let mut key = None;
        let mut i = 0;
        while i < keys.len() {
            let name = &keys[i].0;
            let parts: Vec<&(String, String, i64, String)> = keys[i..].iter().take_while(|k| &k.0 == name).collect();
            i += parts.len();
            let usable = parts.iter().all(|p| p.3 == "NO");
            if usable {
                key = Some(parts.iter().map(|p| p.1.clone()).collect::<Vec<_>>());
                break;
            }
        }
        // Copied columns first, then key columns that are only read.
        let mut ordered: Vec<SourceColumn> = columns.iter().filter(|c| c.copied).cloned().collect();
        let key = key.map(|k| {
            k.iter()
                .map(|kc| {
                    if let Some(p) = ordered.iter().position(|c| &c.name == kc) {
                        p
                    } else {
                        let c = columns.iter().find(|c| &c.name == kc).expect("key columns exist");
                        ordered.push(SourceColumn { copied: false, ..c.clone() });
                        ordered.len() - 1
                    }
                })
                .collect()
        });
        if !ordered.iter().any(|c| c.copied) {
            return Err(CopyError::NoColumns { table: map.source.to_string() });
        }
        let (rows, avg) = stats.unwrap_or_default();
        Ok(TableJob {
            map,
            columns: ordered,
            key,
            rows_estimate: rows.unwrap_or(0),
            avg_row_length: avg.unwrap_or(0).max(1),
            statements_in_parallel: false,
        })
    }

    /// `` `a`, `b` `` of the columns read from the source.
    pub fn select_list(&self) -> String {
        self.columns.iter().map(|c| quote_ident(&c.name)).collect::<Vec<_>>().join(", ")
    }

    /// `` `a`, `b` `` of the destination columns written.
    pub fn insert_list(&self) -> String {
        self.columns.iter().filter(|c| c.copied).map(|c| quote_ident(&c.target)).collect::<Vec<_>>().join(", ")
    }

    /// Whether every copied column loads exactly through LOAD DATA.
    pub fn loadable(&self) -> bool {
        self.columns.iter().filter(|c| c.copied).all(|c| crate::tsv::loads_exactly(&c.ty))
    }

    /// Whether the text protocol reads every column exactly (no FLOAT/DOUBLE).
    pub fn text_exact(&self) -> bool {
        self.columns.iter().all(|c| crate::tsv::text_is_exact(&c.ty))
    }

    /// For each column read, whether an empty value is its ENUM index 0 (an ENUM without an
    /// empty member): strict mode refuses to write those, see
    /// `dts_types::session::allowing_enum_zero`.
    pub fn enum_zero_columns(&self) -> Vec<bool> {
        self.columns
            .iter()
            .map(|c| matches!(&c.ty, ColumnType::Enum { members, .. } if !members.iter().any(|m| m.is_empty())))
            .collect()
    }

    /// How many columns are written to the destination.
    pub fn copied_count(&self) -> usize {
        self.columns.iter().filter(|c| c.copied).count()
    }

    /// A signature of the source columns, to notice DDL while the table is copied.
    pub fn signature(source: &mut mysql::Conn, map: &MappedTable) -> Result<String, CopyError> {
        let sig: Option<String> = source.exec_first(
            "SELECT GROUP_CONCAT(CONCAT_WS(':', COLUMN_NAME, COLUMN_TYPE, IFNULL(CHARACTER_SET_NAME, ''), EXTRA) \
             ORDER BY ORDINAL_POSITION SEPARATOR ',') FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (map.source.database.as_str(), map.source.table.as_str()),
        )?;
        Ok(sig.unwrap_or_default())
    }
}
