//! Comparing one chunk: checksums on both servers at once; where they differ, per-row hashes
//! to find the keys that differ, then the rows themselves to name the columns and write the
//! repair. Tables without a usable key are compared as multisets of rows.

use std::collections::HashMap;

use dts_fullcopy::chunk::Chunk;
use dts_types::Value;
use mysql::Conn;
use mysql::prelude::Queryable;

use crate::VerifyError;
use crate::report::RowDiff;
use crate::rowexpr;
use crate::table::{Side, VerifyTable};

/// A connection to each server.
#[derive(Debug)]
pub struct Conns {
    pub src: Conn,
    pub dst: Conn,
}

impl Conns {
    /// Runs `fs` on the source and `fd` on the destination at the same time.
    pub fn both<A: Send, B: Send>(
        &mut self,
        fs: impl FnOnce(&mut Conn) -> A + Send,
        fd: impl FnOnce(&mut Conn) -> B + Send,
    ) -> (A, B) {
        let Conns { src, dst } = self;
        std::thread::scope(|s| {
            let h = s.spawn(|| fd(dst));
            let a = fs(src);
            (a, h.join().expect("destination query thread"))
        })
    }
}

/// Row count and checksum of one side of a chunk.
pub type Sum = (u64, String);

/// The chunk's checksums, computed by both servers at once.
pub fn checksums(c: &mut Conns, t: &VerifyTable, chunk: &Chunk) -> Result<(Sum, Sum), VerifyError> {
    let q = |side: Side| -> Result<String, VerifyError> {
        Ok(format!(
            "SELECT {} FROM {} WHERE {}",
            rowexpr::checksum_select(&t.row_expr(side)),
            t.name(side),
            t.condition(side, chunk)?
        ))
    };
    let (qs, qd) = (q(Side::Source)?, q(Side::Destination)?);
    let run = |conn: &mut Conn, sql: &str| -> Result<Sum, mysql::Error> {
        Ok(conn.query_first::<(u64, String), _>(sql)?.unwrap_or((0, "0".into())))
    };
    let (s, d) = c.both(|src| run(src, &qs), |dst| run(dst, &qd));
    Ok((s?, d?))
}

pub(crate) fn key_literal(key: &[Value]) -> String {
    key.iter().map(|v| v.to_sql_literal().unwrap_or_default()).collect::<Vec<_>>().join(",")
}

/// (key literal, key, MD5 of the row), in key order.
type Hashes = Vec<(String, Vec<Value>, Vec<u8>)>;

/// Key -> MD5 of the row, for a chunk on one side.
fn row_hashes(conn: &mut Conn, t: &VerifyTable, side: Side, chunk: &Chunk) -> Result<Hashes, VerifyError> {
    let sql = format!(
        "SELECT {}, MD5({}) FROM {} WHERE {}",
        t.key_list(side),
        t.row_expr(side),
        t.name(side),
        t.condition(side, chunk)?
    );
    let rows: Vec<mysql::Row> = conn.exec(sql, ())?;
    let n = t.key.as_ref().map_or(0, Vec::len);
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let mut vals = r.unwrap();
        let hash = match vals.pop() {
            Some(mysql::Value::Bytes(b)) => b,
            _ => Vec::new(),
        };
        vals.truncate(n);
        let key = t.decode_key(vals)?;
        out.push((key_literal(&key), key, hash));
    }
    Ok(out)
}

/// The keys whose rows differ in a chunk ((missing, extra, different) candidates), and how many
/// keys were compared (on either side).
pub fn differing_keys(c: &mut Conns, t: &VerifyTable, chunk: &Chunk) -> Result<(Vec<Vec<Value>>, u64), VerifyError> {
    let (s, d) =
        c.both(|src| row_hashes(src, t, Side::Source, chunk), |dst| row_hashes(dst, t, Side::Destination, chunk));
    let (s, d) = (s?, d?);
    let index = |side: &Hashes| -> HashMap<String, Vec<u8>> {
        side.iter().map(|(lit, _, hash)| (lit.clone(), hash.clone())).collect()
    };
    let (si, di) = (index(&s), index(&d));
    // In key order (the source's, then the destination's extra keys), so reports are stable.
    let mut keys: Vec<Vec<Value>> = Vec::new();
    for (lit, key, hash) in &s {
        match di.get(lit) {
            Some(h) if h == hash => {}
            _ => keys.push(key.clone()),
        }
    }
    let mut compared = s.len() as u64;
    for (lit, key, _) in &d {
        if !si.contains_key(lit) {
            keys.push(key.clone());
            compared += 1;
        }
    }
    Ok((keys, compared))
}

/// One row as both raw values (for repair) and per-column serialized text (for comparing).
pub(crate) type Fetched = HashMap<String, (Vec<Value>, Vec<Vec<u8>>)>;

pub(crate) fn fetch_rows(
    conn: &mut Conn,
    t: &VerifyTable,
    side: Side,
    keys: &[Vec<Value>],
) -> Result<Fetched, VerifyError> {
    let mut out = Fetched::new();
    let n = t.cols.len();
    let exprs: Vec<String> = (0..n).map(|i| t.value_expr(side, i)).collect();
    for batch in keys.chunks(200) {
        let ors = batch
            .iter()
            .map(|k| Ok(format!("({})", t.key_match(side, k)?)))
            .collect::<Result<Vec<_>, VerifyError>>()?
            .join(" OR ");
        let mut cond = format!("({ors})");
        if side == Side::Source
            && let Some(f) = &t.job.map.filter
        {
            cond = format!("{cond} AND ({f})");
        }
        let sql = format!("SELECT {}, {} FROM {} WHERE {cond}", t.read_list(side), exprs.join(", "), t.name(side));
        let rows: Vec<mysql::Row> = conn.exec(sql, ())?;
        for r in rows {
            let mut vals = r.unwrap();
            let ser: Vec<Vec<u8>> = vals
                .split_off(n)
                .into_iter()
                .map(|v| match v {
                    mysql::Value::Bytes(b) => b,
                    other => other.as_sql(true).into_bytes(),
                })
                .collect();
            let row = t.decode_row(vals)?;
            let key: Vec<Value> = t.key.iter().flatten().map(|&i| row[i].clone()).collect();
            out.insert(key_literal(&key), (row, ser));
        }
    }
    Ok(out)
}

/// Differences among these rows.
#[derive(Debug, Default)]
pub struct KeyDiffs {
    pub missing: Vec<RowDiff>,
    pub extra: Vec<RowDiff>,
    pub different: Vec<RowDiff>,
    /// Keys that differ (for a re-check).
    pub keys: Vec<Vec<Value>>,
    /// Each compared key's source row as read (serialized columns; `None`: no such row), to
    /// tell a row that changed on the source since the last look from one that did not.
    pub source_state: HashMap<String, Option<Vec<Vec<u8>>>>,
}

impl KeyDiffs {
    /// The differences of these keys only.
    pub fn retain_keys(&mut self, t: &VerifyTable, keep: &[Vec<Value>]) {
        let texts: std::collections::HashSet<String> = keep.iter().map(|k| t.key_text(k)).collect();
        self.missing.retain(|d| texts.contains(&d.key));
        self.extra.retain(|d| texts.contains(&d.key));
        self.different.retain(|d| texts.contains(&d.key));
        self.keys.retain(|k| texts.contains(&t.key_text(k)));
    }
}

/// The literal text a key is known by.
pub fn key_id(key: &[Value]) -> String {
    key_literal(key)
}

/// Compares the rows with these keys on both servers (the source's row filter applies).
pub fn compare_keys(c: &mut Conns, t: &VerifyTable, keys: &[Vec<Value>]) -> Result<KeyDiffs, VerifyError> {
    let (s, d) =
        c.both(|src| fetch_rows(src, t, Side::Source, keys), |dst| fetch_rows(dst, t, Side::Destination, keys));
    let (s, d) = (s?, d?);
    let mut out = KeyDiffs::default();
    for key in keys {
        let lit = key_literal(key);
        out.source_state.insert(lit.clone(), s.get(&lit).map(|(_, ser)| ser.clone()));
        match (s.get(&lit), d.get(&lit)) {
            (Some((row, _)), None) => {
                out.missing.push(RowDiff { key: t.key_text(key), columns: vec![], repair: t.replace_sql(row)? });
                out.keys.push(key.clone());
            }
            (None, Some(_)) => {
                out.extra.push(RowDiff { key: t.key_text(key), columns: vec![], repair: t.delete_key_sql(key)? });
                out.keys.push(key.clone());
            }
            (Some((row, ss)), Some((_, ds))) => {
                let cols: Vec<String> =
                    (0..t.cols.len()).filter(|&i| ss[i] != ds[i]).map(|i| t.cols[i].source.clone()).collect();
                if !cols.is_empty() {
                    out.different.push(RowDiff { key: t.key_text(key), columns: cols, repair: t.replace_sql(row)? });
                    out.keys.push(key.clone());
                }
            }
            (None, None) => {}
        }
    }
    Ok(out)
}

/// Row hash -> copies, for a keyless table on one side.
fn multiset(conn: &mut Conn, t: &VerifyTable, side: Side) -> Result<HashMap<Vec<u8>, u64>, VerifyError> {
    let mut cond = "TRUE".to_string();
    if side == Side::Source
        && let Some(f) = &t.job.map.filter
    {
        cond = format!("({f})");
    }
    let sql = format!("SELECT MD5({}), COUNT(*) FROM {} WHERE {cond} GROUP BY 1", t.row_expr(side), t.name(side));
    let rows: Vec<(Vec<u8>, u64)> = conn.query(sql)?;
    Ok(rows.into_iter().collect())
}

fn rows_with_hash(
    conn: &mut Conn,
    t: &VerifyTable,
    side: Side,
    hash: &[u8],
    limit: u64,
) -> Result<Vec<Vec<Value>>, VerifyError> {
    let mut cond = format!("MD5({}) = ?", t.row_expr(side));
    if side == Side::Source
        && let Some(f) = &t.job.map.filter
    {
        cond = format!("{cond} AND ({f})");
    }
    let sql = format!("SELECT {} FROM {} WHERE {cond} LIMIT {limit}", t.read_list(side), t.name(side));
    let rows: Vec<mysql::Row> = conn.exec(sql, (hash.to_vec(),))?;
    rows.into_iter().map(|r| t.decode_row(r.unwrap())).collect()
}

fn row_text(t: &VerifyTable, row: &[Value]) -> String {
    let parts: Vec<String> = row
        .iter()
        .zip(&t.cols)
        .map(|(v, c)| format!("{}={}", c.source, v.to_sql_literal().unwrap_or_else(|_| "?".into())))
        .collect();
    format!("({})", parts.join(", "))
}

/// Row hash -> (copies on the source, copies on the destination), for the rows of a keyless
/// table whose numbers of copies differ.
pub type MultisetDiff = std::collections::BTreeMap<Vec<u8>, (u64, u64)>;

/// A keyless table compared as multisets: the rows whose copies differ in number.
pub fn multiset_diff(c: &mut Conns, t: &VerifyTable) -> Result<MultisetDiff, VerifyError> {
    let (s, d) = c.both(|src| multiset(src, t, Side::Source), |dst| multiset(dst, t, Side::Destination));
    let (s, d) = (s?, d?);
    let mut out = MultisetDiff::new();
    for h in s.keys().chain(d.keys()) {
        let (ns, nd) = (s.get(h).copied().unwrap_or(0), d.get(h).copied().unwrap_or(0));
        if ns != nd {
            out.insert(h.clone(), (ns, nd));
        }
    }
    Ok(out)
}

/// The rows behind a multiset difference, with their repairs (at most `limit` listed).
pub fn render_multiset(
    c: &mut Conns,
    t: &VerifyTable,
    diff: &MultisetDiff,
    limit: usize,
) -> Result<(KeyDiffs, u64), VerifyError> {
    let mut out = KeyDiffs::default();
    let mut unlisted = 0u64;
    // Read at the first extra row: only a destination row's DELETE needs it.
    let mut exact = None;
    for (h, &(ns, nd)) in diff {
        let listed = (out.missing.len() + out.extra.len()) as u64;
        let room = (limit as u64).saturating_sub(listed);
        if ns > nd {
            let n = (ns - nd).min(room);
            unlisted += ns - nd - n;
            if n > 0 {
                let row = rows_with_hash(&mut c.src, t, Side::Source, h, 1)?.pop();
                for _ in 0..n {
                    if let Some(row) = &row {
                        out.missing.push(RowDiff {
                            key: row_text(t, row),
                            columns: vec![],
                            repair: t.insert_sql(row)?,
                        });
                    }
                }
            }
        } else if nd > ns {
            let n = (nd - ns).min(room);
            unlisted += nd - ns - n;
            if n > 0 {
                let row = rows_with_hash(&mut c.dst, t, Side::Destination, h, 1)?.pop();
                if exact.is_none() {
                    exact = Some(t.exact_columns(&mut c.dst)?);
                }
                let exact = exact.as_ref().expect("read just above");
                for _ in 0..n {
                    if let Some(row) = &row {
                        out.extra.push(RowDiff {
                            key: row_text(t, row),
                            columns: vec![],
                            repair: t.delete_row_sql(row, exact)?,
                        });
                    }
                }
            }
        }
    }
    Ok((out, unlisted))
}
