//! Two-way writes: each row change applied by its own statements, with conflicts detected by
//! class and resolved by the table's policy, never by REPLACE.
//!
//! In one-way sync the destination holds nothing but the source's past, so writing the after
//! image with REPLACE is right (see the crate doc). In two-way sync the destination is written
//! by its own users too: a REPLACE would silently delete a *different* row colliding on a
//! secondary unique key, and an update would silently overwrite a newer local change. So here
//! every change first reads the destination's row by key (`FOR UPDATE`), compares it exactly
//! (`dts_types::exact_match`) with the change's before image, and only then writes:
//!
//! | change | destination row by key | class |
//! |---|---|---|
//! | insert | absent; the INSERT collides on another unique key (ERROR 1062) | `insert_existing_unique` |
//! | insert | present, not the after image | `insert_existing_key` |
//! | update | absent | `update_missing` |
//! | update | present, neither the before nor the after image | `update_differs` |
//! | delete | absent | `delete_missing` |
//! | delete | present, not the before image | `delete_differs` |
//!
//! A row already equal to the change's result (both nodes made the same change) is no
//! conflict. Each conflict is resolved by [`Policy`] and recorded in `<meta>.conflicts` in the
//! same destination transaction (class, table, key, both images, resolution), and counted by
//! class in the task's totals (`conflicts_<class>`), which `status` and `/metrics` show.

use std::collections::HashMap;

use dts_types::origin::OriginMark;
use dts_types::{Ident, RowChange, TableId, Value};
use mysql::Conn;
use mysql::prelude::Queryable;

use crate::target::TablePlan;
use crate::{ApplyError, ApplyStats};

/// How a conflict on a table is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// Stop the task, naming the conflict (the default).
    Fail,
    /// Keep the destination's row; the incoming change is dropped.
    Ignore,
    /// The incoming change wins: its after image is written (or the row deleted).
    Overwrite,
    /// The row whose column is larger wins; an equal value goes to the tie-break.
    UseMax(Ident),
    /// The row whose column is smaller wins; an equal value goes to the tie-break.
    UseMin(Ident),
    /// One node's changes win on this table: `true` for the task's `[source]` node.
    Owner {
        /// Whether the owner is the `[source]` node (else the `[destination]` node).
        source: bool,
    },
}

impl Policy {
    /// Reads a policy as the task file writes it: `fail`, `ignore`, `overwrite`,
    /// `use_max(column)`, `use_min(column)`, `owner(source)`, `owner(destination)`.
    pub fn parse(s: &str) -> Result<Policy, String> {
        let s = s.trim();
        let arg = |prefix: &str| {
            s.strip_prefix(prefix).and_then(|r| r.strip_prefix('(')).and_then(|r| r.strip_suffix(')')).map(str::trim)
        };
        Ok(match s {
            "fail" => Policy::Fail,
            "ignore" => Policy::Ignore,
            "overwrite" => Policy::Overwrite,
            _ => {
                if let Some(c) = arg("use_max") {
                    Policy::UseMax(Ident::new(c).map_err(|e| format!("use_max({c}): {e}"))?)
                } else if let Some(c) = arg("use_min") {
                    Policy::UseMin(Ident::new(c).map_err(|e| format!("use_min({c}): {e}"))?)
                } else if let Some(n) = arg("owner") {
                    match n {
                        "source" => Policy::Owner { source: true },
                        "destination" => Policy::Owner { source: false },
                        _ => return Err(format!("owner({n}): the owner is \"source\" or \"destination\"")),
                    }
                } else {
                    return Err(format!(
                        "{s:?} is not a conflict policy: write \"fail\", \"ignore\", \"overwrite\", \"use_max(column)\", \"use_min(column)\", \"owner(source)\" or \"owner(destination)\""
                    ));
                }
            }
        })
    }
}

/// A class of conflict (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// An insert whose key the destination holds with another row.
    InsertExistingKey,
    /// An insert colliding on another unique key.
    InsertExistingUnique,
    /// An update of a row the destination does not hold.
    UpdateMissing,
    /// An update whose before image differs from the destination's row.
    UpdateDiffers,
    /// A delete of a row the destination does not hold.
    DeleteMissing,
    /// A delete whose before image differs from the destination's row.
    DeleteDiffers,
}

impl Class {
    /// Every class, in order.
    pub const ALL: [Class; 6] = [
        Class::InsertExistingKey,
        Class::InsertExistingUnique,
        Class::UpdateMissing,
        Class::UpdateDiffers,
        Class::DeleteMissing,
        Class::DeleteDiffers,
    ];

    /// Its name in the conflicts table, the totals and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::InsertExistingKey => "insert_existing_key",
            Class::InsertExistingUnique => "insert_existing_unique",
            Class::UpdateMissing => "update_missing",
            Class::UpdateDiffers => "update_differs",
            Class::DeleteMissing => "delete_missing",
            Class::DeleteDiffers => "delete_differs",
        }
    }

    /// The totals counter of the class.
    pub fn total_name(self) -> String {
        format!("conflicts_{}", self.as_str())
    }

    fn index(self) -> usize {
        Class::ALL.iter().position(|c| *c == self).expect("listed")
    }

    fn describe(self) -> &'static str {
        match self {
            Class::InsertExistingKey => "an insert of a key the destination holds with another row",
            Class::InsertExistingUnique => "an insert colliding with another row on a unique key",
            Class::UpdateMissing => "an update of a row the destination does not have",
            Class::UpdateDiffers => "an update of a row that differs on the destination from its before image",
            Class::DeleteMissing => "a delete of a row the destination does not have",
            Class::DeleteDiffers => "a delete of a row that differs on the destination from its before image",
        }
    }
}

/// Conflicts counted by class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConflictCounts(pub [u64; 6]);

impl ConflictCounts {
    /// The count of `class`.
    pub fn get(&self, class: Class) -> u64 {
        self.0[class.index()]
    }
    pub(crate) fn add(&mut self, other: &ConflictCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }
    /// The sum over every class.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

/// A conflict the table's policy (`fail`) leaves to the user: the task stops naming it.
#[derive(Debug, thiserror::Error)]
#[error(
    "two-way conflict on {table} ({}): {}; key {key}; incoming after image: {incoming}; destination row: {local}. The table's conflict policy is \"fail\": make the row equal on both nodes, or choose a policy in [two_way] (conflicts, or tables.\"db.table\": \"ignore\", \"overwrite\", \"use_max(column)\", \"use_min(column)\", \"owner(source)\"), then run again",
    class.as_str(),
    class.describe()
)]
pub struct Unresolved {
    /// The destination table.
    pub table: String,
    /// The conflict's class.
    pub class: Class,
    /// The row's key.
    pub key: String,
    /// The change's after image (`(none)` for a delete).
    pub incoming: String,
    /// The destination's row as JSON (`(none)` when missing).
    pub local: String,
}

/// How one direction of a two-way task writes: its origin mark and its conflict policies.
#[derive(Debug, Clone)]
pub struct TwoWay {
    /// Written first in every destination transaction (see `dts_types::origin`).
    pub mark: OriginMark,
    /// The policy of tables without one of their own.
    pub default: Policy,
    /// Policies by destination table.
    pub tables: HashMap<TableId, Policy>,
    /// Whether this direction writes the `[source]` node's changes (the forward direction):
    /// its changes win ties of `use_max`/`use_min`, and it is the owner of `owner(source)`.
    pub from_source: bool,
    /// Set by the input while the forward direction replays the source's changes over its own
    /// full copy (transactions before the copy's high watermark): the destination then holds
    /// only the source's past, and a row found newer or missing is the copy's doing, not a
    /// conflict (the one-way argument, see the crate doc), so changes are written as one-way
    /// sync writes them.
    pub catching_up: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl TwoWay {
    fn policy(&self, t: &TableId) -> &Policy {
        self.tables.get(t).unwrap_or(&self.default)
    }
}

/// What was done about one conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolution {
    /// The incoming change was written.
    Applied,
    /// The destination's row was kept.
    Kept,
}

fn lit(v: &Value) -> Result<String, ApplyError> {
    Ok(v.to_sql_literal()?)
}

/// `col1 <=> v1 AND ...` over the written columns, each compared exactly.
fn image_matches(plan: &TablePlan, row: &[Value]) -> Result<String, ApplyError> {
    let mut out = String::new();
    for (n, (i, c)) in plan.write.iter().enumerate() {
        if n > 0 {
            out.push_str(" AND ");
        }
        let v = &row[*i];
        let e = plan
            .exact
            .get(n)
            .and_then(Option::as_ref)
            .filter(|_| matches!(v, Value::String(_) | Value::Json(_) | Value::Binary(_)));
        dts_types::exact_match::push_condition(&mut out, c, &lit(v)?, e);
    }
    if out.is_empty() {
        out.push_str("TRUE");
    }
    Ok(format!("({out})"))
}

fn key_where(plan: &TablePlan, row: &[Value]) -> Result<String, ApplyError> {
    let mut out = String::new();
    for (n, (i, c)) in plan.key.iter().enumerate() {
        if n > 0 {
            out.push_str(" AND ");
        }
        out.push_str(c);
        out.push_str(" = ");
        out.push_str(&lit(&row[*i])?);
    }
    Ok(out)
}

fn key_text(plan: &TablePlan, row: &[Value]) -> String {
    plan.key
        .iter()
        .map(|(i, c)| format!("{c}={}", row[*i].to_sql_literal().unwrap_or_else(|_| "?".into())))
        .collect::<Vec<_>>()
        .join(", ")
}

fn image_text(plan: &TablePlan, row: Option<&[Value]>) -> String {
    match row {
        None => "(none)".into(),
        Some(row) => plan
            .write
            .iter()
            .map(|(i, c)| format!("{c}={}", row[*i].to_sql_literal().unwrap_or_else(|_| "?".into())))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// What the destination holds for a change's key, compared with its images.
struct Found {
    /// The row exists.
    exists: bool,
    /// It equals the before image (updates, deletes).
    before: bool,
    /// It equals the after image (inserts, updates).
    after: bool,
    /// Its policy column compared with the incoming after image's: -1, 0, 1 (`use_max/min`).
    order: i64,
    /// The row as JSON, for the record.
    json: Option<String>,
}

/// Before image equal, after image equal, the policy column's order, the row as JSON.
type FoundRow = (Option<i64>, Option<i64>, i64, Option<String>);

fn find(
    conn: &mut Conn,
    plan: &TablePlan,
    key_row: &[Value],
    before: Option<&[Value]>,
    after: Option<&[Value]>,
    column: Option<(&Ident, &[Value])>,
) -> Result<Found, ApplyError> {
    let before_sql = before.map(|b| image_matches(plan, b)).transpose()?.unwrap_or_else(|| "FALSE".into());
    let after_sql = after.map(|a| image_matches(plan, a)).transpose()?.unwrap_or_else(|| "FALSE".into());
    let order_sql = match column {
        Some((col, row)) => {
            let i = plan
                .write
                .iter()
                .find(|(_, c)| c.trim_matches('`').replace("``", "`").eq_ignore_ascii_case(col.as_str()))
                .map(|(i, _)| *i)
                .ok_or_else(|| ApplyError::ConflictColumn {
                    table: plan.target.to_string(),
                    column: col.to_string(),
                })?;
            let (c, v) = (col.quoted(), lit(&row[i])?);
            format!(
                "CASE WHEN {c} <=> {v} THEN 0 WHEN {c} IS NULL THEN -1 WHEN {v} IS NULL THEN 1 WHEN {c} < {v} THEN -1 ELSE 1 END"
            )
        }
        None => "0".into(),
    };
    let json = format!(
        "JSON_OBJECT({})",
        plan.write
            .iter()
            .map(|(_, c)| Ok(format!("{}, {c}", lit(&Value::String(dts_types::Text::utf8mb4(c.trim_matches('`'))))?)))
            .collect::<Result<Vec<_>, ApplyError>>()?
            .join(", ")
    );
    let sql = format!(
        "SELECT {before_sql}, {after_sql}, {order_sql}, {json} FROM {} WHERE {} FOR UPDATE",
        plan.target.quoted(),
        key_where(plan, key_row)?
    );
    let row: Option<FoundRow> =
        conn.query_first(&sql).map_err(|e| ApplyError::Statement { table: plan.target.to_string(), source: e })?;
    Ok(match row {
        None => Found { exists: false, before: false, after: false, order: 0, json: None },
        Some((b, a, o, j)) => Found { exists: true, before: b == Some(1), after: a == Some(1), order: o, json: j },
    })
}

/// Applies one row change of a two-way direction on the open destination transaction.
pub(crate) fn apply(
    conn: &mut Conn,
    rules: &TwoWay,
    plan: &TablePlan,
    change: &RowChange,
    stats: &mut ApplyStats,
) -> Result<(), ApplyError> {
    if plan.key.is_empty() {
        return Err(ApplyError::TwoWayKeyless { table: plan.target.to_string() });
    }
    if rules.catching_up.load(std::sync::atomic::Ordering::Relaxed) {
        return over_the_copy(conn, plan, change, stats);
    }
    let policy = rules.policy(&plan.target);
    let column = match policy {
        Policy::UseMax(c) | Policy::UseMin(c) => Some(c),
        _ => None,
    };
    let t = plan.target.quoted();
    match change {
        RowChange::Insert { after } => {
            let found = find(conn, plan, after, None, Some(after), column.map(|c| (c, &after[..])))?;
            if found.exists {
                if found.after {
                    return Ok(());
                }
                return conflict(conn, rules, policy, plan, change, Class::InsertExistingKey, &found, stats, |conn| {
                    conn.query_drop(update_sql(plan, after, after)?).map_err(|e| statement_error(plan, e))
                });
            }
            match conn.query_drop(insert_sql(plan, after)?) {
                Ok(()) => {
                    stats.statements += 1;
                    Ok(())
                }
                Err(e) if duplicate(&e) => {
                    let found = Found { exists: false, before: false, after: false, order: 0, json: None };
                    conflict(conn, rules, policy, plan, change, Class::InsertExistingUnique, &found, stats, |conn| {
                        replace(conn, plan, after)
                    })
                }
                Err(e) => Err(ApplyError::Statement { table: plan.target.to_string(), source: e }),
            }
        }
        RowChange::Update { before, after } => {
            let found = find(conn, plan, before, Some(before), Some(after), column.map(|c| (c, &after[..])))?;
            if found.exists && found.before {
                return match conn.query_drop(update_sql(plan, before, after)?) {
                    Ok(()) => {
                        stats.statements += 1;
                        Ok(())
                    }
                    Err(e) if duplicate(&e) => conflict(
                        conn,
                        rules,
                        policy,
                        plan,
                        change,
                        Class::InsertExistingUnique,
                        &found,
                        stats,
                        |conn| {
                            conn.query_drop(format!("DELETE FROM {t} WHERE {}", key_where(plan, before)?))?;
                            replace(conn, plan, after)
                        },
                    ),
                    Err(e) => Err(ApplyError::Statement { table: plan.target.to_string(), source: e }),
                };
            }
            if found.exists && found.after {
                return Ok(());
            }
            let class = if found.exists { Class::UpdateDiffers } else { Class::UpdateMissing };
            conflict(conn, rules, policy, plan, change, class, &found, stats, |conn| {
                if found.exists {
                    conn.query_drop(update_sql(plan, before, after)?).map_err(|e| statement_error(plan, e))
                } else {
                    replace(conn, plan, after)
                }
            })
        }
        RowChange::Delete { before } => {
            let found = find(conn, plan, before, Some(before), None, None)?;
            if found.exists && found.before {
                conn.query_drop(format!("DELETE FROM {t} WHERE {}", key_where(plan, before)?))
                    .map_err(|e| ApplyError::Statement { table: plan.target.to_string(), source: e })?;
                stats.statements += 1;
                return Ok(());
            }
            let class = if found.exists { Class::DeleteDiffers } else { Class::DeleteMissing };
            conflict(conn, rules, policy, plan, change, class, &found, stats, |conn| {
                if found.exists {
                    conn.query_drop(format!("DELETE FROM {t} WHERE {}", key_where(plan, before)?))?;
                }
                Ok(())
            })
        }
    }
}

/// A change replayed over the forward direction's own copy: its after image replaces the row
/// (and whatever collides with it), a delete removes the row if present.
fn over_the_copy(
    conn: &mut Conn,
    plan: &TablePlan,
    change: &RowChange,
    stats: &mut ApplyStats,
) -> Result<(), ApplyError> {
    let t = plan.target.quoted();
    if let Some(before) = change.before()
        && (change.after().is_none() || key_where(plan, before)? != key_where(plan, change.after().expect("an image"))?)
    {
        conn.query_drop(format!("DELETE FROM {t} WHERE {}", key_where(plan, before)?))
            .map_err(|e| statement_error(plan, e))?;
        stats.statements += 1;
    }
    if let Some(after) = change.after() {
        replace(conn, plan, after)?;
        stats.statements += 1;
    }
    Ok(())
}

fn statement_error(plan: &TablePlan, source: mysql::Error) -> ApplyError {
    ApplyError::Statement { table: plan.target.to_string(), source }
}

fn duplicate(e: &mysql::Error) -> bool {
    matches!(e, mysql::Error::MySqlError(m) if m.code == 1062)
}

/// An INSERT's text, run by the caller (its ERROR 1062 is a conflict).
fn insert_sql(plan: &TablePlan, after: &[Value]) -> Result<String, ApplyError> {
    values_sql("INSERT INTO", plan, after)
}

/// The incoming image wins a unique-key collision: the colliding rows go (the policy chose it;
/// the conflict is recorded).
fn replace(conn: &mut Conn, plan: &TablePlan, after: &[Value]) -> Result<(), ApplyError> {
    conn.query_drop(values_sql("REPLACE INTO", plan, after)?)
        .map_err(|e| ApplyError::Statement { table: plan.target.to_string(), source: e })
}

fn values_sql(verb: &str, plan: &TablePlan, row: &[Value]) -> Result<String, ApplyError> {
    let vals = plan.write.iter().map(|(i, _)| lit(&row[*i])).collect::<Result<Vec<_>, _>>()?;
    Ok(format!("{verb} {} ({}) VALUES ({})", plan.target.quoted(), plan.column_list, vals.join(",")))
}

/// An UPDATE's text (the row found by `before`'s key), run by the caller (its ERROR 1062 is a
/// conflict).
fn update_sql(plan: &TablePlan, before: &[Value], after: &[Value]) -> Result<String, ApplyError> {
    let sets = plan
        .write
        .iter()
        .map(|(i, c)| Ok(format!("{c}={}", lit(&after[*i])?)))
        .collect::<Result<Vec<_>, ApplyError>>()?;
    Ok(format!("UPDATE {} SET {} WHERE {}", plan.target.quoted(), sets.join(","), key_where(plan, before)?))
}

/// Resolves and records one conflict; `write` applies the incoming change.
#[allow(clippy::too_many_arguments)]
fn conflict(
    conn: &mut Conn,
    rules: &TwoWay,
    policy: &Policy,
    plan: &TablePlan,
    change: &RowChange,
    class: Class,
    found: &Found,
    stats: &mut ApplyStats,
    write: impl FnOnce(&mut Conn) -> Result<(), ApplyError>,
) -> Result<(), ApplyError> {
    let incoming_is_delete = matches!(change, RowChange::Delete { .. });
    let resolution = match policy {
        Policy::Fail => {
            return Err(ApplyError::Conflict(Box::new(Unresolved {
                table: plan.target.to_string(),
                class,
                key: key_text(plan, change.before().or(change.after()).expect("a change has an image")),
                incoming: image_text(plan, change.after().map(|r| &r[..])),
                local: found.json.clone().unwrap_or_else(|| "(none)".into()),
            })));
        }
        Policy::Ignore => Resolution::Kept,
        Policy::Overwrite => Resolution::Applied,
        Policy::Owner { source } => {
            if *source == rules.from_source {
                Resolution::Applied
            } else {
                Resolution::Kept
            }
        }
        Policy::UseMax(_) | Policy::UseMin(_) => {
            // No destination row to compare: the incoming change is written (a row deleted on
            // one node and updated on the other ends updated on both: the update wins).
            if !found.exists {
                if incoming_is_delete { Resolution::Kept } else { Resolution::Applied }
            } else if incoming_is_delete {
                // The destination's row changed since: its change beats the delete.
                Resolution::Kept
            } else {
                // `order`: the destination's column against the incoming one.
                let incoming_wins = match (policy, found.order) {
                    (_, 0) => rules.from_source,
                    (Policy::UseMax(_), o) => o < 0,
                    (_, o) => o > 0,
                };
                if incoming_wins { Resolution::Applied } else { Resolution::Kept }
            }
        }
    };
    if resolution == Resolution::Applied {
        write(conn)?;
    }
    stats.conflicts.0[class.index()] += 1;
    record(conn, rules, plan, change, class, found, resolution)
}

fn record(
    conn: &mut Conn,
    rules: &TwoWay,
    plan: &TablePlan,
    change: &RowChange,
    class: Class,
    found: &Found,
    resolution: Resolution,
) -> Result<(), ApplyError> {
    let s = |v: &str| lit(&Value::String(dts_types::Text::utf8mb4(v)));
    let key = key_text(plan, change.before().or(change.after()).expect("a change has an image"));
    let sql = format!(
        "INSERT INTO {} (task, class, table_name, key_values, incoming, destination_row, resolution) VALUES ({}, {}, {}, {}, {}, {}, {})",
        conflicts_table(&rules.mark.db),
        s(&rules.mark.task)?,
        s(class.as_str())?,
        s(&plan.target.to_string())?,
        s(&key)?,
        s(&image_text(plan, change.after().map(|r| &r[..])))?,
        found.json.as_deref().map(s).transpose()?.unwrap_or_else(|| "NULL".into()),
        s(match resolution {
            Resolution::Applied => "incoming change applied",
            Resolution::Kept => "destination row kept",
        })?
    );
    conn.query_drop(sql)?;
    if let Some(sql) = dts_types::totals::add_sql(&rules.mark.db, &rules.mark.task, 0, &[(&class.total_name(), 1)]) {
        conn.query_drop(sql)?;
    }
    Ok(())
}

fn conflicts_table(db: &Ident) -> String {
    format!("{}.`conflicts`", db.quoted())
}

/// Creates the conflicts table and the origin mark's table where missing.
pub(crate) fn ensure(conn: &mut Conn, rules: &TwoWay) -> Result<(), ApplyError> {
    conn.query_drop(rules.mark.create_sql())?;
    conn.query_drop(format!(
        "CREATE TABLE IF NOT EXISTS {} (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, task VARCHAR(64) NOT NULL, \
         at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), class VARCHAR(32) NOT NULL, table_name VARCHAR(200) NOT NULL, \
         key_values TEXT NOT NULL, incoming LONGTEXT NOT NULL, destination_row LONGTEXT NULL, resolution VARCHAR(64) NOT NULL, \
         KEY (task, at)) DEFAULT CHARSET=utf8mb4",
        conflicts_table(&rules.mark.db)
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_as_the_task_file_writes_them() {
        assert_eq!(Policy::parse("fail"), Ok(Policy::Fail));
        assert_eq!(Policy::parse(" overwrite "), Ok(Policy::Overwrite));
        assert_eq!(Policy::parse("use_max(version)"), Ok(Policy::UseMax(Ident::new("version").unwrap())));
        assert_eq!(Policy::parse("use_min( at )"), Ok(Policy::UseMin(Ident::new("at").unwrap())));
        assert_eq!(Policy::parse("owner(destination)"), Ok(Policy::Owner { source: false }));
        assert!(Policy::parse("owner(b)").unwrap_err().contains("source"));
        assert!(Policy::parse("newest").unwrap_err().contains("use_max(column)"));
        assert!(Policy::parse("use_max()").is_err());
    }
}
