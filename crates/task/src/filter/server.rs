//! The source server decides the filter over row images: each image's filter columns go into a
//! scratch temporary table with the source table's own column definitions, and the filter's
//! rendered SQL selects the ones that pass.

use std::collections::HashMap;

use std::time::{Duration, Instant};

use dts_types::retry::{RetryWindows, classify};
use dts_types::{ColumnType, TableId, TableSchema, Value, quote_ident, session};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder};

use super::{Filter, FilterError};

/// Decisions remembered per (filter, table, filter columns' values), at most this many.
const CACHE_LIMIT: usize = 65_536;

/// Decisions on longer values (a large TEXT) are not remembered, so the cache stays small.
const CACHE_KEY_LIMIT: usize = 4096;

/// The column of the scratch table that numbers the images of one batch.
const ROW_NO: &str = "dts_sync_row_no";

/// Why a filter could not be decided.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The filter does not fit the table (a missing column, a JSON column).
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// The source refused or lost the evaluation query.
    #[error("the source could not evaluate filter {filter:?} on rows of {table}")]
    Server {
        /// The filter as written.
        filter: String,
        /// The source table.
        table: String,
        /// The server's error.
        #[source]
        source: Box<mysql::Error>,
    },
    /// A value of the row image cannot be written as a literal (a NaN float).
    #[error("a value of {table} cannot be written for the filter")]
    Value {
        /// The source table.
        table: String,
        /// What is wrong with it.
        #[source]
        source: dts_types::ValueError,
    },
}

/// A scratch table: its quoted name and the filter columns it holds (positions in the row
/// image and their types, to notice a schema change).
struct Scratch {
    name: String,
    columns: Vec<(usize, ColumnType)>,
}

/// Decides filters exactly: in-process where that is exact (integer filters), otherwise on a
/// connection of its own to the source, one round trip per batch of row images not decided
/// before. Temporary tables are not written to a row-format binlog, so the source's binlog
/// does not change.
pub struct Evaluator {
    source: Opts,
    conn: Option<Conn>,
    scratch: HashMap<TableId, Scratch>,
    next_scratch: u32,
    cache: HashMap<String, bool>,
    retry: RetryWindows,
    /// Row images the source decided (cache misses), for the tests and the benchmark.
    pub server_decisions: u64,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator").field("server_decisions", &self.server_decisions).finish()
    }
}

impl Evaluator {
    /// An evaluator asking `source` (connected at the first row only the server can decide).
    pub fn new(source: Opts) -> Self {
        Evaluator {
            source,
            conn: None,
            scratch: HashMap::new(),
            next_scratch: 0,
            cache: HashMap::new(),
            retry: RetryWindows::default(),
            server_decisions: 0,
        }
    }

    /// How long a lost connection or a lock wait on the evaluation connection is retried (the
    /// task's `connection_retry` and `other_retry`).
    pub fn with_retry(mut self, retry: RetryWindows) -> Self {
        self.retry = retry;
        self
    }

    /// Whether each of `rows` (in `schema`'s column order) passes `filter`: the condition is
    /// true on the source (not false, not unknown).
    pub fn decide(&mut self, filter: &Filter, schema: &TableSchema, rows: &[&[Value]]) -> Result<Vec<bool>, EvalError> {
        filter.check_columns(schema)?;
        let mut out: Vec<Option<bool>> = rows.iter().map(|r| filter.decide_in_process(schema, r)).collect();
        if out.iter().all(Option::is_some) {
            return Ok(out.into_iter().map(|b| b == Some(true)).collect());
        }
        let positions = positions(filter, schema);
        if self.scratch.get(&schema.id).is_some_and(|s| s.columns != positions) {
            // The table changed: decisions made under its old columns no longer hold.
            self.cache.clear();
        }
        // Rows to ask, each distinct value once: the first row of each, and which asked row
        // answers each row.
        let mut ask: Vec<usize> = Vec::new();
        let mut asked: HashMap<String, usize> = HashMap::new();
        let mut answered_by: Vec<(usize, usize)> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            if out[i].is_some() {
                continue;
            }
            let key = cache_key(filter, schema, &positions, row)?;
            if let Some(b) = self.cache.get(&key) {
                out[i] = Some(*b);
                continue;
            }
            let next = ask.len();
            let j = *asked.entry(key).or_insert_with(|| {
                ask.push(i);
                next
            });
            answered_by.push((i, j));
        }
        if !ask.is_empty() {
            let images: Vec<&[Value]> = ask.iter().map(|&i| rows[i]).collect();
            let passed = self.ask_server(filter, schema, &positions, &images)?;
            self.server_decisions += ask.len() as u64;
            for (i, j) in answered_by {
                out[i] = Some(passed[j]);
            }
            if self.cache.len() + asked.len() > CACHE_LIMIT {
                self.cache.clear();
            }
            for (key, j) in asked {
                if key.len() <= CACHE_KEY_LIMIT {
                    self.cache.insert(key, passed[j]);
                }
            }
        }
        Ok(out.into_iter().map(|b| b.expect("every row is decided in-process, remembered or asked")).collect())
    }

    fn ask_server(
        &mut self,
        filter: &Filter,
        schema: &TableSchema,
        positions: &[(usize, ColumnType)],
        rows: &[&[Value]],
    ) -> Result<Vec<bool>, EvalError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let result = self.try_ask(filter, schema, positions, rows);
            let error = match result {
                Ok(passed) => return Ok(passed),
                Err(Attempt::Value(source)) => return Err(EvalError::Value { table: schema.id.to_string(), source }),
                Err(Attempt::Server(e)) => e,
            };
            // A fresh connection (and fresh scratch tables) for the next attempt.
            self.conn = None;
            self.scratch.clear();
            let window = self.retry.for_class(classify(&error));
            if window.is_none_or(|w| started.elapsed() + pause > w) {
                return Err(EvalError::Server {
                    filter: filter.text().to_string(),
                    table: schema.id.to_string(),
                    source: Box::new(error),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(10));
        }
    }

    fn try_ask(
        &mut self,
        filter: &Filter,
        schema: &TableSchema,
        positions: &[(usize, ColumnType)],
        rows: &[&[Value]],
    ) -> Result<Vec<bool>, Attempt> {
        if self.conn.is_none() {
            let opts = OptsBuilder::from_opts(self.source.clone()).init(session::init_statements().to_vec());
            self.conn = Some(Conn::new(opts)?);
        }
        let stale = self.scratch.get(&schema.id).is_some_and(|s| s.columns != positions);
        if stale && let Some(old) = self.scratch.remove(&schema.id) {
            self.conn
                .as_mut()
                .expect("connected")
                .query_drop(format!("DROP TEMPORARY TABLE IF EXISTS {}", old.name))?;
        }
        if !self.scratch.contains_key(&schema.id) {
            self.next_scratch += 1;
            let name = format!(
                "{}.{}",
                quote_ident(schema.id.database.as_str()),
                quote_ident(&format!("dts_sync_filter_{}", self.next_scratch))
            );
            let cols: Vec<String> =
                positions.iter().map(|(i, _)| quote_ident(schema.columns[*i].name.as_str())).collect();
            let create = |engine: &str| {
                format!(
                    "CREATE TEMPORARY TABLE {name}{engine} AS SELECT CAST(0 AS UNSIGNED) AS {}, {} FROM {}.{} LIMIT 0",
                    quote_ident(ROW_NO),
                    cols.join(", "),
                    quote_ident(schema.id.database.as_str()),
                    quote_ident(schema.id.table.as_str()),
                )
            };
            // MEMORY keeps the round trip short; it holds no BLOB or TEXT column and rows of
            // at most 64 KiB, so a table it refuses gets the server's default engine.
            let lob = positions.iter().any(|(_, ty)| {
                matches!(
                    ty,
                    ColumnType::Text { .. } | ColumnType::Blob { .. } | ColumnType::Json | ColumnType::Geometry
                )
            });
            let conn = self.conn.as_mut().expect("connected");
            let in_memory = !lob && conn.query_drop(create(" ENGINE=MEMORY")).is_ok();
            if !in_memory {
                conn.query_drop(create(""))?;
            }
            self.scratch.insert(schema.id.clone(), Scratch { name, columns: positions.to_vec() });
        }
        let scratch = &self.scratch[&schema.id];
        let cols: Vec<String> = std::iter::once(quote_ident(ROW_NO))
            .chain(positions.iter().map(|(i, _)| quote_ident(schema.columns[*i].name.as_str())))
            .collect();
        let mut sql = format!("INSERT INTO {} ({}) VALUES ", scratch.name, cols.join(", "));
        for (n, row) in rows.iter().enumerate() {
            sql.push_str(if n == 0 { "(" } else { ", (" });
            sql.push_str(&n.to_string());
            for (i, _) in positions {
                sql.push_str(", ");
                row.get(*i).unwrap_or(&Value::Null).write_sql_literal(&mut sql).map_err(Attempt::Value)?;
            }
            sql.push(')');
        }
        sql.push_str(&format!(
            "; SELECT {} FROM {} WHERE {}; DELETE FROM {}",
            quote_ident(ROW_NO),
            scratch.name,
            filter.sql(),
            scratch.name
        ));
        let conn = self.conn.as_mut().expect("connected");
        let mut passed = vec![false; rows.len()];
        let mut result = conn.query_iter(sql)?;
        while let Some(set) = result.iter() {
            for row in set {
                let n: u64 = row?.get(0).unwrap_or(u64::MAX);
                if let Some(p) = passed.get_mut(n as usize) {
                    *p = true;
                }
            }
        }
        Ok(passed)
    }
}

enum Attempt {
    Server(mysql::Error),
    Value(dts_types::ValueError),
}

impl From<mysql::Error> for Attempt {
    fn from(e: mysql::Error) -> Self {
        Attempt::Server(e)
    }
}

/// The filter's columns: their positions in `schema` and their types.
fn positions(filter: &Filter, schema: &TableSchema) -> Vec<(usize, ColumnType)> {
    filter
        .columns()
        .iter()
        .filter_map(|c| schema.columns.iter().position(|d| d.name.as_str().eq_ignore_ascii_case(c)))
        .map(|i| (i, schema.columns[i].ty.clone()))
        .collect()
}

/// What a decision depends on: the filter, the table and the values of the filter's columns.
fn cache_key(
    filter: &Filter,
    schema: &TableSchema,
    positions: &[(usize, ColumnType)],
    row: &[Value],
) -> Result<String, EvalError> {
    let mut key = format!("{}\0{}", schema.id, filter.sql());
    for (i, _) in positions {
        key.push('\0');
        row.get(*i)
            .unwrap_or(&Value::Null)
            .write_sql_literal(&mut key)
            .map_err(|source| EvalError::Value { table: schema.id.to_string(), source })?;
    }
    Ok(key)
}
