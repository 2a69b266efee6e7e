//! Chunks of a table by key range: boundaries found on the source in key order, and the WHERE
//! conditions that select exactly one chunk (tuple comparison spelled out, so no row is missed
//! or doubled at a boundary, whatever the key's width).

use dts_types::{Value, quote_ident};
use mysql::prelude::Queryable;
use serde::{Deserialize, Serialize};

use crate::CopyError;
use crate::table::TableJob;

/// One chunk: keys above `lo` (exclusive) up to `hi` (inclusive); `None` is unbounded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// Its number in the table's plan, from 0.
    pub no: u32,
    /// The key values it starts after.
    pub lo: Option<Vec<Value>>,
    /// The key values it ends at.
    pub hi: Option<Vec<Value>>,
}

/// `(k1 > v1) OR (k1 = v1 AND k2 > v2) ...` (or `<`/`<=` for an upper bound).
fn tuple_cmp(cols: &[String], vals: &[Value], lower: bool) -> Result<String, CopyError> {
    let mut ors = Vec::new();
    for i in 0..cols.len() {
        let mut ands = Vec::new();
        for j in 0..i {
            ands.push(format!("{} = {}", cols[j], vals[j].to_sql_literal()?));
        }
        let last = i + 1 == cols.len();
        let op = match (lower, last) {
            (true, _) => ">",
            (false, false) => "<",
            (false, true) => "<=",
        };
        ands.push(format!("{} {op} {}", cols[i], vals[i].to_sql_literal()?));
        ors.push(format!("({})", ands.join(" AND ")));
    }
    Ok(format!("({})", ors.join(" OR ")))
}

/// The WHERE condition of a chunk (`TRUE` for a whole table).
pub fn condition(job: &TableJob, chunk: &Chunk) -> Result<String, CopyError> {
    let Some(key) = &job.key else { return Ok("TRUE".into()) };
    let cols: Vec<String> = key.iter().map(|&i| quote_ident(&job.columns[i].name)).collect();
    let mut parts = Vec::new();
    if let Some(lo) = &chunk.lo {
        parts.push(tuple_cmp(&cols, lo, true)?);
    }
    if let Some(hi) = &chunk.hi {
        parts.push(tuple_cmp(&cols, hi, false)?);
    }
    Ok(if parts.is_empty() { "TRUE".into() } else { parts.join(" AND ") })
}

/// `ORDER BY` the key, if any.
pub fn order_by(job: &TableJob) -> String {
    match &job.key {
        Some(k) => {
            format!(" ORDER BY {}", k.iter().map(|&i| quote_ident(&job.columns[i].name)).collect::<Vec<_>>().join(", "))
        }
        None => String::new(),
    }
}

/// Splits a table into chunks of about `rows` rows by walking its key on the source. A table
/// without a usable key is one chunk.
pub fn plan(
    source: &mut mysql::Conn,
    job: &TableJob,
    rows: u64,
    filter: Option<&str>,
) -> Result<Vec<Chunk>, CopyError> {
    let Some(key) = &job.key else { return Ok(vec![Chunk { no: 0, lo: None, hi: None }]) };
    let cols: Vec<String> = key.iter().map(|&i| quote_ident(&job.columns[i].name)).collect();
    let table = job.map.source.quoted();
    let extra = filter.map(|f| format!(" AND ({f})")).unwrap_or_default();
    let mut chunks = Vec::new();
    let mut lo: Option<Vec<Value>> = None;
    loop {
        let range = match &lo {
            Some(v) => tuple_cmp(&cols, v, true)?,
            None => "TRUE".into(),
        };
        let q = format!(
            "SELECT {} FROM {table} WHERE {range}{extra} ORDER BY {} LIMIT 1 OFFSET {}",
            cols.join(", "),
            cols.join(", "),
            rows.max(1) - 1
        );
        let row: Option<mysql::Row> = source.exec_first(q, ())?;
        let hi = match row {
            Some(r) => Some(
                r.unwrap()
                    .into_iter()
                    .zip(key)
                    .map(|(v, &i)| Value::from_param(&job.columns[i].ty, v))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let done = hi.is_none();
        chunks.push(Chunk { no: chunks.len() as u32, lo: lo.clone(), hi: hi.clone() });
        if done {
            return Ok(chunks);
        }
        lo = hi;
    }
}
