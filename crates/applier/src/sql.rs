//! Row changes as statements: full images replace rows by key (REPLACE also removes any row
//! the image conflicts with on another unique key, which only happens while catching up after a
//! full copy, and is exactly right then); keyless tables match all columns NULL-safely and
//! exactly (character values under their binary collation), one row per change. Consecutive
//! changes of one kind on one table share a statement.

use dts_types::{RowChange, Value};

use crate::ApplyError;
use crate::target::TablePlan;

/// What a statement does, to read conflicts from its affected-row count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// REPLACE of inserted rows: each existing key counts 2.
    Insert {
        rows: u64,
    },
    /// REPLACE of updated rows: each missing row counts 1 instead of 2.
    Update {
        rows: u64,
    },
    Delete {
        rows: u64,
    },
    /// Keyless table, one row per statement: an UPDATE that may have found nothing.
    KeylessUpdate,
    /// Keyless table, one row per statement: a DELETE that may have found nothing.
    KeylessDelete,
    Plain,
}

/// A statement and how to read its result.
#[derive(Debug, Clone)]
pub struct Stmt {
    pub sql: String,
    pub kind: Kind,
    /// For a keyless update that found no row: the INSERT of its after image.
    pub fallback: Option<String>,
    /// ENUM index-0 values it writes (each also in `fallback`): such a statement runs alone
    /// under `dts_types::session::allowing_enum_zero`, expecting exactly this many warnings.
    pub enum_zeros: usize,
    /// A cascade parent's UPDATE or DELETE: runs with foreign_key_checks = 1, so the
    /// destination's foreign keys repeat the source's cascades.
    pub fk_checks: bool,
}

/// The ENUM index-0 values of a row's written columns.
fn zeros(plan: &TablePlan, row: &[Value]) -> usize {
    plan.write.iter().filter(|(i, _)| row[*i].is_enum_zero()).count()
}

fn lit(out: &mut String, v: &Value) -> Result<(), ApplyError> {
    v.write_sql_literal(out)?;
    Ok(())
}

fn values(plan: &TablePlan, row: &[Value], out: &mut String) -> Result<(), ApplyError> {
    out.push('(');
    for (n, (i, _)) in plan.write.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        lit(out, &row[*i])?;
    }
    out.push(')');
    Ok(())
}

fn key_match(plan: &TablePlan, row: &[Value], out: &mut String) -> Result<(), ApplyError> {
    out.push('(');
    for (n, (i, c)) in plan.key.iter().enumerate() {
        if n > 0 {
            out.push_str(" AND ");
        }
        out.push_str(c);
        out.push_str(" = ");
        lit(out, &row[*i])?;
    }
    out.push(')');
    Ok(())
}

/// Every written column of a keyless row, NULL-safely and exactly (`dts_types::exact_match`):
/// a row equal to another only under a collation is never taken for it.
pub(crate) fn all_match(plan: &TablePlan, row: &[Value], out: &mut String) -> Result<(), ApplyError> {
    let mut literal = String::new();
    for (n, (i, c)) in plan.write.iter().enumerate() {
        if n > 0 {
            out.push_str(" AND ");
        }
        let v = &row[*i];
        literal.clear();
        v.write_sql_literal(&mut literal)?;
        let exact = plan
            .exact
            .get(n)
            .and_then(Option::as_ref)
            .filter(|_| matches!(v, Value::String(_) | Value::Json(_) | Value::Binary(_)));
        dts_types::exact_match::push_condition(out, c, &literal, exact);
    }
    Ok(())
}

fn key_of<'a>(plan: &TablePlan, row: &'a [Value]) -> Vec<&'a Value> {
    plan.key.iter().map(|(i, _)| &row[*i]).collect()
}

/// The net effect of a destination transaction's changes on one key.
#[derive(Debug)]
struct NetChange {
    /// Whether the first change of the key in this batch expected the row to exist
    /// (update, delete) or not (insert): how conflicts are counted.
    expected_existing: bool,
    /// The last image (`None`: deleted).
    last: Option<Vec<Value>>,
}

/// Net changes of one keyed table, in order of first appearance.
#[derive(Debug)]
struct TableNet {
    plan: std::sync::Arc<TablePlan>,
    keys: std::collections::HashMap<String, usize>,
    changes: Vec<(String, NetChange)>,
}

/// Whether changes can be netted by a key value's bytes: integers, temporal values, DECIMAL,
/// binary strings and strings. Two strings of different bytes can be one row under the key's
/// collation ('a' and 'A', 'x' and 'x '), but never two rows at once: the source's unique index
/// holds at most one of them at the end of the batch. So every key ending deleted is deleted
/// first, then every last image is written, and the row ends as the source's (see
/// `net_statements`). Not floats (-0 and 0 are one value of two encodings), nor NULL.
fn exact_key(v: &Value) -> bool {
    !matches!(v, Value::Float(_) | Value::Double(_) | Value::Json(_) | Value::Geometry(_) | Value::Null)
}

/// Accumulates row changes into statements.
///
/// Changes on keyed tables whose keys can be netted (see `exact_key`) are *netted*: within one destination
/// transaction only each key's last image matters (the transaction commits as a whole), so a
/// batch becomes, per table, one DELETE of the keys that end deleted and one multi-row REPLACE
/// of the keys that end with an image. REPLACE also removes rows that an image conflicts with
/// on another unique key; such a row has an image of its own in the batch (or later in the
/// log), which re-establishes it, whatever the order. Keyless tables and tables with float keys
/// keep their changes in source order.
/// The most netted images a batch holds (their approximate size) before they become
/// statements: the scope of netting is the whole destination transaction up to this bound, not
/// one packet, so a hot row changed a hundred times in a group is written once.
pub const NET_BYTES: usize = 8 << 20;

#[derive(Debug, Default)]
pub struct Builder {
    pub out: Vec<Stmt>,
    open: Option<(String, Kind)>,
    open_sql: String,
    /// ENUM index-0 values in the open statement.
    open_zeros: usize,
    batch_bytes: usize,
    net: Vec<TableNet>,
    net_bytes: usize,
}

impl Builder {
    pub fn new(batch_bytes: usize) -> Self {
        Builder { batch_bytes, ..Default::default() }
    }

    pub fn bytes(&self) -> usize {
        self.statement_bytes() + self.net_bytes
    }

    fn statement_bytes(&self) -> usize {
        self.out.iter().map(|s| s.sql.len()).sum::<usize>() + self.open_sql.len()
    }

    /// Whether what was built is to be sent now: a packet's worth of statements, or the most
    /// netted images a batch holds.
    pub fn due(&self) -> bool {
        self.statement_bytes() >= self.batch_bytes || self.net_bytes >= NET_BYTES
    }

    /// Closes the statement being built and turns netted changes into statements (a value
    /// that cannot be written is an error: never a netted row dropped).
    pub fn close(&mut self) -> Result<(), ApplyError> {
        if let Some((_, kind)) = self.open.take() {
            let enum_zeros = std::mem::take(&mut self.open_zeros);
            self.out.push(Stmt {
                sql: std::mem::take(&mut self.open_sql),
                kind,
                fallback: None,
                enum_zeros,
                fk_checks: false,
            });
        }
        for t in std::mem::take(&mut self.net) {
            net_statements(&t, &mut self.out, self.batch_bytes)?;
        }
        self.net_bytes = 0;
        Ok(())
    }

    /// Nets a keyed change; `false` if the change cannot be netted.
    fn push_net(&mut self, plan: &std::sync::Arc<TablePlan>, change: &RowChange) -> Result<bool, ApplyError> {
        let images: Vec<&Vec<Value>> = [change.before(), change.after()].into_iter().flatten().collect();
        if !images.iter().all(|row| plan.key.iter().all(|(i, _)| exact_key(&row[*i]))) {
            return Ok(false);
        }
        let key_text = |row: &[Value]| -> Result<String, ApplyError> {
            let mut s = String::new();
            for (n, (i, _)) in plan.key.iter().enumerate() {
                if n > 0 {
                    s.push(',');
                }
                lit(&mut s, &row[*i])?;
            }
            Ok(s)
        };
        let idx = match self.net.iter().position(|t| std::sync::Arc::ptr_eq(&t.plan, plan)) {
            Some(i) => i,
            None => {
                self.net.push(TableNet { plan: plan.clone(), keys: Default::default(), changes: Vec::new() });
                self.net.len() - 1
            }
        };
        let mut set = |key: String, expected_existing: bool, last: Option<Vec<Value>>, bytes: &mut usize| {
            let t = &mut self.net[idx];
            *bytes +=
                key.len() + last.as_ref().map_or(0, |r| r.iter().map(Value::approx_size).sum::<usize>() + 8 * r.len());
            match t.keys.get(&key) {
                Some(&i) => t.changes[i].1.last = last,
                None => {
                    t.keys.insert(key.clone(), t.changes.len());
                    t.changes.push((key, NetChange { expected_existing, last }));
                }
            }
        };
        let mut bytes = 0;
        match change {
            RowChange::Insert { after } => set(key_text(after)?, false, Some(after.clone()), &mut bytes),
            RowChange::Delete { before } => set(key_text(before)?, true, None, &mut bytes),
            RowChange::Update { before, after } => {
                let (kb, ka) = (key_text(before)?, key_text(after)?);
                if kb != ka {
                    set(kb, true, None, &mut bytes);
                    set(ka, false, Some(after.clone()), &mut bytes);
                } else {
                    set(ka, true, Some(after.clone()), &mut bytes);
                }
            }
        }
        self.net_bytes += bytes;
        Ok(true)
    }

    fn extend(
        &mut self,
        key: String,
        kind: Kind,
        head: &str,
        sep: &str,
        zeros: usize,
        tail: impl FnOnce(&mut String) -> Result<(), ApplyError>,
    ) -> Result<(), ApplyError> {
        let same = matches!(&self.open, Some((k, open_kind)) if *k == key && std::mem::discriminant(open_kind) == std::mem::discriminant(&kind));
        if same && self.open_sql.len() < self.batch_bytes {
            self.open_sql.push_str(sep);
            if let Some((_, k)) = &mut self.open {
                match (k, kind) {
                    (Kind::Insert { rows }, Kind::Insert { rows: r })
                    | (Kind::Update { rows }, Kind::Update { rows: r })
                    | (Kind::Delete { rows }, Kind::Delete { rows: r }) => *rows += r,
                    _ => {}
                }
            }
        } else {
            self.close()?;
            self.open_sql.push_str(head);
            self.open = Some((key, kind));
        }
        self.open_zeros += zeros;
        tail(&mut self.open_sql)
    }

    /// Adds one row change on a table.
    pub fn push(&mut self, plan: &std::sync::Arc<TablePlan>, change: &RowChange) -> Result<(), ApplyError> {
        if plan.cascade.is_some() && !plan.key.is_empty() {
            return self.push_cascading(plan, change);
        }
        if !plan.key.is_empty() {
            if self.push_net(plan, change)? {
                return Ok(());
            }
            // A change that cannot be netted keeps source order with everything before it.
            self.close()?;
        }
        let plan: &TablePlan = plan;
        let t = plan.target.quoted();
        if plan.key.is_empty() {
            return self.push_keyless(plan, &t, change);
        }
        match change {
            RowChange::Insert { after } => {
                let head = format!("REPLACE INTO {t} ({}) VALUES ", plan.column_list);
                let z = zeros(plan, after);
                self.extend(format!("R{t}"), Kind::Insert { rows: 1 }, &head, ",", z, |s| values(plan, after, s))
            }
            RowChange::Update { before, after } => {
                if key_of(plan, before) != key_of(plan, after) {
                    self.extend(
                        format!("D{t}"),
                        Kind::Delete { rows: 1 },
                        &format!("DELETE FROM {t} WHERE "),
                        " OR ",
                        0,
                        |s| key_match(plan, before, s),
                    )?;
                    // The old key's row is gone; the new image is an insert.
                    let head = format!("REPLACE INTO {t} ({}) VALUES ", plan.column_list);
                    let z = zeros(plan, after);
                    return self
                        .extend(format!("R{t}"), Kind::Insert { rows: 1 }, &head, ",", z, |s| values(plan, after, s));
                }
                let head = format!("REPLACE INTO {t} ({}) VALUES ", plan.column_list);
                let z = zeros(plan, after);
                self.extend(format!("U{t}"), Kind::Update { rows: 1 }, &head, ",", z, |s| values(plan, after, s))
            }
            RowChange::Delete { before } => self.extend(
                format!("D{t}"),
                Kind::Delete { rows: 1 },
                &format!("DELETE FROM {t} WHERE "),
                " OR ",
                0,
                |s| key_match(plan, before, s),
            ),
        }
    }

    /// A keyed table of a cascade group: the source's own statement per change, in source
    /// order (the destination's state equals the source's here, see `dts_types::fk`), a
    /// parent's UPDATE and DELETE with foreign_key_checks = 1. Never REPLACE: its delete would
    /// cascade.
    fn push_cascading(&mut self, plan: &TablePlan, change: &RowChange) -> Result<(), ApplyError> {
        let t = plan.target.quoted();
        let parent = plan.cascade.as_ref().is_some_and(|c| c.parent);
        match change {
            RowChange::Insert { after } => {
                let head = format!("INSERT INTO {t} ({}) VALUES ", plan.column_list);
                let z = zeros(plan, after);
                self.extend(format!("I{t}"), Kind::Plain, &head, ",", z, |s| values(plan, after, s))
            }
            RowChange::Update { before, after } => {
                self.close()?;
                let mut sql = format!("UPDATE {t} SET ");
                for (n, (i, c)) in plan.write.iter().enumerate() {
                    if n > 0 {
                        sql.push(',');
                    }
                    sql.push_str(c);
                    sql.push('=');
                    lit(&mut sql, &after[*i])?;
                }
                sql.push_str(" WHERE ");
                key_match(plan, before, &mut sql)?;
                let enum_zeros = zeros(plan, after);
                self.out.push(Stmt { sql, kind: Kind::Plain, fallback: None, enum_zeros, fk_checks: parent });
                Ok(())
            }
            RowChange::Delete { before } => {
                self.close()?;
                let mut sql = format!("DELETE FROM {t} WHERE ");
                key_match(plan, before, &mut sql)?;
                self.out.push(Stmt {
                    sql,
                    kind: Kind::Delete { rows: 1 },
                    fallback: None,
                    enum_zeros: 0,
                    fk_checks: parent,
                });
                Ok(())
            }
        }
    }

    fn push_keyless(&mut self, plan: &TablePlan, t: &str, change: &RowChange) -> Result<(), ApplyError> {
        let parent = plan.cascade.as_ref().is_some_and(|c| c.parent);
        match change {
            RowChange::Insert { after } => {
                let head = format!("INSERT INTO {t} ({}) VALUES ", plan.column_list);
                let z = zeros(plan, after);
                self.extend(format!("I{t}"), Kind::Plain, &head, ",", z, |s| values(plan, after, s))
            }
            RowChange::Delete { before } => {
                self.close()?;
                let mut sql = format!("DELETE FROM {t} WHERE ");
                all_match(plan, before, &mut sql)?;
                sql.push_str(" LIMIT 1");
                self.out.push(Stmt {
                    sql,
                    kind: Kind::KeylessDelete,
                    fallback: None,
                    enum_zeros: 0,
                    fk_checks: parent,
                });
                Ok(())
            }
            RowChange::Update { before, after } => {
                self.close()?;
                // Only the columns that change: the row matched on every column and the rest
                // already hold their after values (less for the server to parse and compare).
                // An update that changes nothing still sets one column, so its found-row count
                // says whether the row is there. A row writing ENUM index-0 values sets every
                // column: such a statement must warn once per value, as its fallback INSERT does.
                let every = zeros(plan, after) > 0;
                let mut changed: Vec<&(usize, String)> =
                    plan.write.iter().filter(|(i, _)| every || before[*i] != after[*i]).collect();
                if changed.is_empty() {
                    changed.extend(plan.write.first());
                }
                let mut sql = format!("UPDATE {t} SET ");
                for (n, (i, c)) in changed.into_iter().enumerate() {
                    if n > 0 {
                        sql.push(',');
                    }
                    sql.push_str(c);
                    sql.push('=');
                    lit(&mut sql, &after[*i])?;
                }
                sql.push_str(" WHERE ");
                all_match(plan, before, &mut sql)?;
                sql.push_str(" LIMIT 1");
                let mut fallback = format!("INSERT INTO {t} ({}) VALUES ", plan.column_list);
                values(plan, after, &mut fallback)?;
                let enum_zeros = zeros(plan, after);
                self.out.push(Stmt {
                    sql,
                    kind: Kind::KeylessUpdate,
                    fallback: Some(fallback),
                    enum_zeros,
                    fk_checks: parent,
                });
                Ok(())
            }
        }
    }
}

/// The statements of one table's netted changes: deletes first (keys that end deleted), then
/// images; each split by what the first change expected, so conflicts count exactly.
fn net_statements(t: &TableNet, out: &mut Vec<Stmt>, batch_bytes: usize) -> Result<(), ApplyError> {
    let plan = &t.plan;
    let table = plan.target.quoted();
    let cols: Vec<&str> = plan.key.iter().map(|(_, c)| c.as_str()).collect();
    // Every key ending deleted first, then every last image: a key ending deleted may be the
    // same destination row as one ending with an image (strings equal under the collation).
    for expected in [true, false] {
        let deleted = t.changes.iter().filter(|(_, c)| c.last.is_none() && c.expected_existing == expected);
        let head = if cols.len() == 1 {
            format!("DELETE FROM {table} WHERE {} IN (", cols[0])
        } else {
            format!("DELETE FROM {table} WHERE ({}) IN (", cols.join(", "))
        };
        let kind = |rows| if expected { Kind::Delete { rows } } else { Kind::Plain };
        let mut stmt: Option<(String, u64)> = None;
        for (key, _) in deleted {
            let (sql, rows) = stmt.get_or_insert_with(|| (head.clone(), 0));
            if *rows > 0 {
                sql.push(',');
            }
            if cols.len() == 1 {
                sql.push_str(key);
            } else {
                sql.push('(');
                sql.push_str(key);
                sql.push(')');
            }
            *rows += 1;
            if sql.len() >= batch_bytes {
                let (mut sql, rows) = stmt.take().expect("just filled");
                sql.push(')');
                out.push(Stmt { sql, kind: kind(rows), fallback: None, enum_zeros: 0, fk_checks: false });
            }
        }
        if let Some((mut sql, rows)) = stmt.take() {
            sql.push(')');
            out.push(Stmt { sql, kind: kind(rows), fallback: None, enum_zeros: 0, fk_checks: false });
        }
    }
    for expected in [true, false] {
        let images =
            t.changes.iter().filter(|(_, c)| c.expected_existing == expected).filter_map(|(_, c)| c.last.as_ref());
        let head = format!("REPLACE INTO {table} ({}) VALUES ", plan.column_list);
        let kind = |rows| if expected { Kind::Update { rows } } else { Kind::Insert { rows } };
        // (statement, rows, ENUM index-0 values)
        let mut stmt: Option<(String, u64, usize)> = None;
        for row in images {
            let (sql, rows, zs) = stmt.get_or_insert_with(|| (head.clone(), 0, 0));
            if *rows > 0 {
                sql.push(',');
            }
            values(plan, row, sql)?;
            *rows += 1;
            *zs += zeros(plan, row);
            if sql.len() >= batch_bytes {
                let (sql, rows, enum_zeros) = stmt.take().expect("just filled");
                out.push(Stmt { sql, kind: kind(rows), fallback: None, enum_zeros, fk_checks: false });
            }
        }
        if let Some((sql, rows, enum_zeros)) = stmt.take() {
            out.push(Stmt { sql, kind: kind(rows), fallback: None, enum_zeros, fk_checks: false });
        }
    }
    Ok(())
}
