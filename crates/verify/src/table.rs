//! A table to compare: the source columns that are synced (selected, not generated) and their
//! destination names, the key rows are matched by, and the SQL both sides run.

use dts_fullcopy::chunk::Chunk;
use dts_fullcopy::table::TableJob;
use std::collections::HashMap;

use dts_types::exact_match::{ColumnsRow, ExactCollation};
use dts_types::{ColumnType, Value, quote_ident};
use mysql::prelude::Queryable;

use crate::VerifyError;
use crate::rowexpr;

/// One compared column.
#[derive(Debug, Clone)]
pub struct Col {
    pub source: String,
    pub target: String,
    pub ty: ColumnType,
    /// NOT NULL on both servers (then the row text needs no NULL marker for it).
    pub not_null: bool,
    /// The column is missing on the destination: the value its `ADD COLUMN` would give (the
    /// source's default, an SQL expression) stands for it in the destination's reads.
    pub dest_expr: Option<String>,
}

/// A table as verification compares it: the full copy's table model with each side's column
/// names, and the key rows are matched by.
#[derive(Debug, Clone)]
pub struct VerifyTable {
    pub(crate) job: TableJob,
    pub(crate) cols: Vec<Col>,
    /// Positions in `cols` of the key; `None` when the table has no usable key or a key column
    /// is not synced: rows are then compared as a multiset.
    pub(crate) key: Option<Vec<usize>>,
    /// `job` with the destination's column names, for the destination's chunk conditions.
    dest_job: TableJob,
    /// Both servers' definitions when the comparison planned the table (a repair refuses a
    /// table whose definition changed since).
    pub(crate) seen: crate::definition::Seen,
}

/// Which server a statement is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Destination,
}

impl VerifyTable {
    /// The comparison model of a table the full copy would copy.
    pub fn new(job: TableJob) -> VerifyTable {
        let cols: Vec<Col> = job
            .columns
            .iter()
            .filter(|c| c.copied)
            .map(|c| Col {
                source: c.name.clone(),
                target: c.target.clone(),
                ty: c.ty.clone(),
                not_null: false,
                dest_expr: None,
            })
            .collect();
        let key = job.key.as_ref().and_then(|k| {
            k.iter().map(|&i| cols.iter().position(|c| c.source == job.columns[i].name)).collect::<Option<Vec<_>>>()
        });
        let mut dest_job = job.clone();
        for c in &mut dest_job.columns {
            c.name = c.target.clone();
        }
        VerifyTable { job, cols, key, dest_job, seen: Default::default() }
    }

    /// Whether rows are compared by key (the table has a usable key, every column of it synced);
    /// without one, rows are compared as a multiset and cannot be checked one by one.
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    pub(crate) fn name(&self, side: Side) -> String {
        match side {
            Side::Source => self.job.map.source.quoted(),
            Side::Destination => self.job.map.target.quoted(),
        }
    }

    fn col_name(&self, side: Side, i: usize) -> &str {
        match side {
            Side::Source => &self.cols[i].source,
            Side::Destination => &self.cols[i].target,
        }
    }

    /// Column `i` as `side` reads it: the quoted column, or on the destination the stand-in
    /// for a column it does not have.
    pub fn read_expr(&self, side: Side, i: usize) -> String {
        match (&self.cols[i].dest_expr, side) {
            (Some(e), Side::Destination) => format!("({e})"),
            _ => quote_ident(self.col_name(side, i)),
        }
    }

    /// The serialized row on `side`.
    pub fn row_expr(&self, side: Side) -> String {
        rowexpr::row((0..self.cols.len()).map(|i| (self.read_expr(side, i), &self.cols[i].ty, self.cols[i].not_null)))
    }

    /// Column `i` serialized as `side` reads it, NULL-safe.
    pub fn value_expr(&self, side: Side, i: usize) -> String {
        rowexpr::value(&self.read_expr(side, i), &self.cols[i].ty)
    }

    /// All compared columns as `side` reads them, comma-separated (for SELECT).
    pub fn read_list(&self, side: Side) -> String {
        (0..self.cols.len()).map(|i| self.read_expr(side, i)).collect::<Vec<_>>().join(", ")
    }

    /// The chunk's WHERE on `side`: the key range (same on both sides, by position) and, on
    /// the source, the row filter. The destination holds only filtered rows, so a row there
    /// outside the filter is extra.
    pub fn condition(&self, side: Side, chunk: &Chunk) -> Result<String, VerifyError> {
        let job = match side {
            Side::Source => &self.job,
            Side::Destination => &self.dest_job,
        };
        let mut c = dts_fullcopy::chunk::condition(job, chunk)?;
        if side == Side::Source
            && let Some(f) = &self.job.map.filter
        {
            c = format!("({c}) AND ({f})");
        }
        Ok(c)
    }

    /// The key columns on `side`, quoted, comma-separated.
    pub fn key_list(&self, side: Side) -> String {
        self.key.iter().flatten().map(|&i| quote_ident(self.col_name(side, i))).collect::<Vec<_>>().join(", ")
    }

    /// All compared columns on `side`, quoted.
    pub fn col_list(&self, side: Side) -> String {
        (0..self.cols.len()).map(|i| quote_ident(self.col_name(side, i))).collect::<Vec<_>>().join(", ")
    }

    /// `k1 = v1 AND k2 = v2` on `side` for a key.
    pub fn key_match(&self, side: Side, key: &[Value]) -> Result<String, VerifyError> {
        let mut parts = Vec::new();
        for (n, &i) in self.key.iter().flatten().enumerate() {
            parts.push(format!("{} = {}", quote_ident(self.col_name(side, i)), key[n].to_sql_literal()?));
        }
        Ok(parts.join(" AND "))
    }

    /// `k1=v1, k2=v2` for reports.
    pub fn key_text(&self, key: &[Value]) -> String {
        self.key
            .iter()
            .flatten()
            .zip(key)
            .map(|(&i, v)| format!("{}={}", self.cols[i].source, v.to_sql_literal().unwrap_or_else(|_| "?".into())))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `REPLACE INTO target (...) VALUES (...)` for a source row.
    pub fn replace_sql(&self, row: &[Value]) -> Result<String, VerifyError> {
        let vals = row.iter().map(|v| v.to_sql_literal()).collect::<Result<Vec<_>, _>>()?;
        Ok(format!(
            "REPLACE INTO {} ({}) VALUES ({})",
            self.name(Side::Destination),
            self.col_list(Side::Destination),
            vals.join(", ")
        ))
    }

    /// `INSERT INTO target (...) VALUES (...)` (a keyless table).
    pub fn insert_sql(&self, row: &[Value]) -> Result<String, VerifyError> {
        Ok(self.replace_sql(row)?.replacen("REPLACE INTO", "INSERT INTO", 1))
    }

    /// Deletes the destination row with this key.
    pub fn delete_key_sql(&self, key: &[Value]) -> Result<String, VerifyError> {
        Ok(format!("DELETE FROM {} WHERE {}", self.name(Side::Destination), self.key_match(Side::Destination, key)?))
    }

    /// Deletes one destination row equal to `row` in every compared column, NULL-safely and
    /// exactly: character values under their column's binary collation (`exact`, from
    /// [`VerifyTable::exact_columns`]), so a row equal to it only under a collation stays.
    pub fn delete_row_sql(
        &self,
        row: &[Value],
        exact: &HashMap<String, ExactCollation>,
    ) -> Result<String, VerifyError> {
        let mut cond = String::new();
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                cond.push_str(" AND ");
            }
            let target = &self.cols[i].target;
            let e = exact
                .get(&target.to_lowercase())
                .filter(|_| matches!(v, Value::String(_) | Value::Json(_) | Value::Binary(_)));
            dts_types::exact_match::push_condition(&mut cond, &quote_ident(target), &v.to_sql_literal()?, e);
        }
        Ok(format!("DELETE FROM {} WHERE {cond} LIMIT 1", self.name(Side::Destination)))
    }

    /// The destination table's character columns and how each compares exactly.
    pub fn exact_columns(&self, dst: &mut mysql::Conn) -> Result<HashMap<String, ExactCollation>, VerifyError> {
        let t = &self.job.map.target;
        let rows: Vec<ColumnsRow> =
            dst.exec(dts_types::exact_match::COLUMNS_SQL, (t.database.as_str(), t.table.as_str()))?;
        dts_types::exact_match::by_column(rows).map_err(|(column, charset)| VerifyError::Unsupported {
            table: t.to_string(),
            reason: format!(
                "the column {column} is in the character set {charset}, which has no binary collation on the destination to tell its rows apart exactly"
            ),
        })
    }

    /// Reads a row of compared columns (binary protocol values) exactly.
    pub fn decode_row(&self, values: Vec<mysql::Value>) -> Result<Vec<Value>, VerifyError> {
        values.into_iter().zip(&self.cols).map(|(v, c)| Ok(Value::from_param(&c.ty, v)?)).collect()
    }

    /// Reads key values (binary protocol) exactly.
    pub fn decode_key(&self, values: Vec<mysql::Value>) -> Result<Vec<Value>, VerifyError> {
        values
            .into_iter()
            .zip(self.key.iter().flatten())
            .map(|(v, &i)| Ok(Value::from_param(&self.cols[i].ty, v)?))
            .collect()
    }
}
