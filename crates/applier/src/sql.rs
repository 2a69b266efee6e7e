//! Row changes as statements: full images replace rows by key (REPLACE also removes any row
//! the image conflicts with on another unique key, which only happens while catching up after a
//! full copy, and is exactly right then); keyless tables match all columns NULL-safely, one row
//! per change. Consecutive changes of one kind on one table share a statement.

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
    Plain,
}

/// A statement and how to read its result.
#[derive(Debug, Clone)]
pub struct Stmt {
    pub sql: String,
    pub kind: Kind,
    /// For a keyless update that found no row: the INSERT of its after image.
    pub fallback: Option<String>,
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

fn all_match(plan: &TablePlan, row: &[Value], out: &mut String) -> Result<(), ApplyError> {
    for (n, (i, c)) in plan.write.iter().enumerate() {
        if n > 0 {
            out.push_str(" AND ");
        }
        out.push_str(c);
        out.push_str(" <=> ");
        lit(out, &row[*i])?;
    }
    Ok(())
}

fn key_of<'a>(plan: &TablePlan, row: &'a [Value]) -> Vec<&'a Value> {
    plan.key.iter().map(|(i, _)| &row[*i]).collect()
}

/// Accumulates row changes into statements.
#[derive(Debug, Default)]
pub struct Builder {
    pub out: Vec<Stmt>,
    open: Option<(String, Kind)>,
    open_sql: String,
    batch_bytes: usize,
}

impl Builder {
    pub fn new(batch_bytes: usize) -> Self {
        Builder { batch_bytes, ..Default::default() }
    }

    pub fn bytes(&self) -> usize {
        self.out.iter().map(|s| s.sql.len()).sum::<usize>() + self.open_sql.len()
    }

    /// Closes the statement being built.
    pub fn close(&mut self) {
        if let Some((_, kind)) = self.open.take() {
            self.out.push(Stmt { sql: std::mem::take(&mut self.open_sql), kind, fallback: None });
        }
    }

    fn extend(
        &mut self,
        key: String,
        kind: Kind,
        head: &str,
        sep: &str,
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
            self.close();
            self.open_sql.push_str(head);
            self.open = Some((key, kind));
        }
        tail(&mut self.open_sql)
    }

    /// Adds one row change on a table.
    pub fn push(&mut self, plan: &TablePlan, change: &RowChange) -> Result<(), ApplyError> {
        let t = plan.target.quoted();
        if plan.key.is_empty() {
            return self.push_keyless(plan, &t, change);
        }
        match change {
            RowChange::Insert { after } => {
                let head = format!("REPLACE INTO {t} ({}) VALUES ", plan.column_list);
                self.extend(format!("R{t}"), Kind::Insert { rows: 1 }, &head, ",", |s| values(plan, after, s))
            }
            RowChange::Update { before, after } => {
                if key_of(plan, before) != key_of(plan, after) {
                    self.extend(
                        format!("D{t}"),
                        Kind::Delete { rows: 1 },
                        &format!("DELETE FROM {t} WHERE "),
                        " OR ",
                        |s| key_match(plan, before, s),
                    )?;
                    // The old key's row is gone; the new image is an insert.
                    let head = format!("REPLACE INTO {t} ({}) VALUES ", plan.column_list);
                    return self
                        .extend(format!("R{t}"), Kind::Insert { rows: 1 }, &head, ",", |s| values(plan, after, s));
                }
                let head = format!("REPLACE INTO {t} ({}) VALUES ", plan.column_list);
                self.extend(format!("U{t}"), Kind::Update { rows: 1 }, &head, ",", |s| values(plan, after, s))
            }
            RowChange::Delete { before } => self.extend(
                format!("D{t}"),
                Kind::Delete { rows: 1 },
                &format!("DELETE FROM {t} WHERE "),
                " OR ",
                |s| key_match(plan, before, s),
            ),
        }
    }

    fn push_keyless(&mut self, plan: &TablePlan, t: &str, change: &RowChange) -> Result<(), ApplyError> {
        match change {
            RowChange::Insert { after } => {
                let head = format!("INSERT INTO {t} ({}) VALUES ", plan.column_list);
                self.extend(format!("I{t}"), Kind::Plain, &head, ",", |s| values(plan, after, s))
            }
            RowChange::Delete { before } => {
                self.close();
                let mut sql = format!("DELETE FROM {t} WHERE ");
                all_match(plan, before, &mut sql)?;
                sql.push_str(" LIMIT 1");
                self.out.push(Stmt { sql, kind: Kind::Delete { rows: 1 }, fallback: None });
                Ok(())
            }
            RowChange::Update { before, after } => {
                self.close();
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
                all_match(plan, before, &mut sql)?;
                sql.push_str(" LIMIT 1");
                let mut fallback = format!("INSERT INTO {t} ({}) VALUES ", plan.column_list);
                values(plan, after, &mut fallback)?;
                self.out.push(Stmt { sql, kind: Kind::KeylessUpdate, fallback: Some(fallback) });
                Ok(())
            }
        }
    }
}
