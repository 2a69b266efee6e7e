//! Where a source table's row changes land: the destination table, which source columns are
//! written under which names, and the key that identifies a row there.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use dts_types::exact_match::{ColumnsRow, ExactCollation};
use dts_types::fk::{CascadeRole, ForeignKey};
use dts_types::{Ident, TableId, quote_ident};
use mysql::prelude::Queryable;

use crate::ApplyError;

/// How one source table maps onto a destination table (from the task's selection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowTarget {
    /// The destination table.
    pub target: TableId,
    /// For each source column, by position: its destination name, or `None` when not synced.
    pub columns: Vec<Option<Ident>>,
}

impl RowTarget {
    /// Every column synced under its own name.
    pub fn identity(target: TableId, names: &[Ident]) -> Self {
        RowTarget { target, columns: names.iter().cloned().map(Some).collect() }
    }
}

/// A destination table's shape, read from its information_schema.
#[derive(Debug, Clone)]
pub(crate) struct DestTable {
    /// Columns the server computes (never written).
    pub generated: Vec<String>,
    /// Primary key, else the first unique key of NOT NULL columns; empty for a keyless table.
    pub key: Vec<String>,
    /// Every unique index (primary key included), as column lists; `None` for a part that
    /// indexes only a prefix of its column (`b(3)`), where values that differ are equal.
    pub uniques: Vec<Vec<Option<String>>>,
    /// Keyless tables only: how each character column (by lowercase name) compares its exact
    /// value (`dts_types::exact_match`).
    pub exact: HashMap<String, ExactCollation>,
    /// Keyless tables only: the integer columns (by lowercase name), whose values identify a
    /// row for parallel workers (`parallel::tokens`); none when the table has no index.
    pub integers: HashSet<String>,
}

impl DestTable {
    /// `exact_keyed`: also how a keyed table's character columns compare exactly (two-way
    /// writes compare whole images, `crate::conflict`).
    pub fn load(dest: &mut mysql::Conn, t: &TableId, exact_keyed: bool) -> Result<DestTable, ApplyError> {
        let (db, name) = (t.database.as_str(), t.table.as_str());
        // Generated columns, explicit period columns (ROW START / ROW END) among them.
        let mut generated: Vec<String> = dest.exec(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             AND EXTRA LIKE '%GENERATED%'",
            (db, name),
        )?;
        // A system-versioned table without period columns of its own has the invisible
        // `row_start` and `row_end` (which information_schema does not list): the server's to
        // write, like any period column.
        let versioned: Option<String> = dest.exec_first(
            "SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             AND TABLE_TYPE = 'SYSTEM VERSIONED'",
            (db, name),
        )?;
        let explicit_periods: Option<u8> = dest.exec_first(
            "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             AND GENERATION_EXPRESSION IN ('ROW START', 'ROW END') LIMIT 1",
            (db, name),
        )?;
        if versioned.is_some() && explicit_periods.is_none() {
            generated.extend(["row_start".to_string(), "row_end".to_string()]);
        }
        let keys: Vec<(String, String, String, Option<u32>)> = dest.exec(
            "SELECT s.INDEX_NAME, s.COLUMN_NAME, c.IS_NULLABLE, s.SUB_PART FROM information_schema.STATISTICS s \
             JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME \
             AND c.COLUMN_NAME = s.COLUMN_NAME WHERE s.TABLE_SCHEMA = ? AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0 \
             ORDER BY s.INDEX_NAME = 'PRIMARY' DESC, s.INDEX_NAME, s.SEQ_IN_INDEX",
            (db, name),
        )?;
        let mut key = Vec::new();
        let mut uniques = Vec::new();
        let mut i = 0;
        while i < keys.len() {
            let idx = &keys[i].0;
            let part: Vec<_> = keys[i..].iter().take_while(|k| &k.0 == idx).collect();
            i += part.len();
            if key.is_empty() && part.iter().all(|p| p.2 == "NO") {
                key = part.iter().map(|p| p.1.clone()).collect();
            }
            uniques.push(part.iter().map(|p| p.3.is_none().then(|| p.1.clone())).collect());
        }
        let (exact, integers) = if key.is_empty() {
            // Without any index every change scans (and locks) the whole table: one token.
            let integers: Vec<String> = dest.exec(
                "SELECT LOWER(COLUMN_NAME) FROM information_schema.COLUMNS c WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
                 AND DATA_TYPE IN ('tinyint', 'smallint', 'mediumint', 'int', 'bigint') AND EXISTS (SELECT 1 FROM \
                 information_schema.STATISTICS s WHERE s.TABLE_SCHEMA = c.TABLE_SCHEMA AND s.TABLE_NAME = c.TABLE_NAME)",
                (db, name),
            )?;
            (exact_columns(dest, db, name)?, integers.into_iter().collect())
        } else if exact_keyed {
            (exact_columns(dest, db, name)?, HashSet::new())
        } else {
            (HashMap::new(), HashSet::new())
        };
        Ok(DestTable { generated, key, uniques, exact, integers })
    }
}

/// The character columns of a keyless destination table, by lowercase name, and how each
/// compares its exact value.
fn exact_columns(dest: &mut mysql::Conn, db: &str, name: &str) -> Result<HashMap<String, ExactCollation>, ApplyError> {
    let rows: Vec<ColumnsRow> = dest.exec(dts_types::exact_match::COLUMNS_SQL, (db, name))?;
    dts_types::exact_match::by_column(rows).map_err(|(column, charset)| ApplyError::NoBinaryCollation {
        table: format!("{db}.{name}"),
        column,
        charset,
    })
}

/// The resolved statement plan of a (source table, destination table) pair.
#[derive(Debug, Clone)]
pub(crate) struct TablePlan {
    pub target: TableId,
    /// (source column index, quoted destination column) of every written column.
    pub write: Vec<(usize, String)>,
    /// (source column index, quoted destination column) of the key; empty when keyless.
    pub key: Vec<(usize, String)>,
    /// `INSERT`/`REPLACE` column list.
    pub column_list: String,
    /// Keyless tables (and every table of a two-way direction): for each entry of `write`, how
    /// a character column matches exactly.
    pub exact: Vec<Option<ExactCollation>>,
    /// Keyless tables: the source column indexes of the written columns whose destination
    /// type is an integer. Their values, when the source gives integers, identify a row image
    /// exactly, so changes of different rows can go to different workers.
    pub row_identity: Vec<usize>,
    /// Every unique index as source column indexes (`None` where a part is not synced or
    /// indexes a prefix: such an index's changes share one token, `parallel::tokens`).
    pub uniques: Vec<Vec<Option<usize>>>,
    /// The table's foreign-key cascade group on the destination, if it is in one: its
    /// changes keep source order as plain INSERT/UPDATE/DELETE, and a parent's UPDATE and
    /// DELETE run with foreign_key_checks = 1 so the destination repeats the cascades
    /// (see `dts_types::fk`).
    pub cascade: Option<CascadeRole>,
}

impl TablePlan {
    pub fn new(rt: &RowTarget, dest: &DestTable, cascade: Option<CascadeRole>) -> Result<TablePlan, ApplyError> {
        let mut write = Vec::new();
        let mut exact = Vec::new();
        let mut row_identity = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        for (i, c) in rt.columns.iter().enumerate() {
            let Some(c) = c else { continue };
            by_name.insert(c.as_str().to_lowercase(), i);
            if dest.generated.iter().any(|g| g.eq_ignore_ascii_case(c.as_str())) {
                continue;
            }
            write.push((i, quote_ident(c.as_str())));
            exact.push(dest.exact.get(&c.as_str().to_lowercase()).cloned());
            if dest.integers.contains(&c.as_str().to_lowercase()) {
                row_identity.push(i);
            }
        }
        let mut key = Vec::new();
        for k in &dest.key {
            let i = by_name
                .get(&k.to_lowercase())
                .copied()
                .ok_or_else(|| ApplyError::KeyNotSynced { table: rt.target.to_string(), column: k.clone() })?;
            key.push((i, quote_ident(k)));
        }
        let column_list = write.iter().map(|(_, c)| c.as_str()).collect::<Vec<_>>().join(", ");
        let uniques = dest
            .uniques
            .iter()
            .map(|u| u.iter().map(|c| by_name.get(&c.as_ref()?.to_lowercase()).copied()).collect())
            .collect();
        Ok(TablePlan { target: rt.target.clone(), write, key, column_list, exact, row_identity, uniques, cascade })
    }
}

/// Plans by destination table, loaded once and dropped at every DDL.
#[derive(Debug, Default)]
pub(crate) struct Plans {
    dest: HashMap<TableId, DestTable>,
    plans: HashMap<(TableId, Vec<Option<Ident>>), Arc<TablePlan>>,
    /// The destination's cascade groups, read once (until the next DDL).
    cascades: Option<BTreeMap<TableId, CascadeRole>>,
    /// Keyed tables' plans hold their exact comparisons too (two-way writes).
    exact_keyed: bool,
}

impl Plans {
    /// Plans for a two-way direction (`exact_keyed`) or a one-way one.
    pub fn new(exact_keyed: bool) -> Self {
        Plans { exact_keyed, ..Plans::default() }
    }

    /// The plan of `rt` if it is loaded already (no connection needed).
    pub fn cached(&self, rt: &RowTarget) -> Option<Arc<TablePlan>> {
        self.plans.get(&(rt.target.clone(), rt.columns.clone())).cloned()
    }

    pub fn get(&mut self, conn: &mut mysql::Conn, rt: &RowTarget) -> Result<Arc<TablePlan>, ApplyError> {
        let k = (rt.target.clone(), rt.columns.clone());
        if let Some(p) = self.plans.get(&k) {
            return Ok(p.clone());
        }
        if !self.dest.contains_key(&rt.target) {
            let d = DestTable::load(conn, &rt.target, self.exact_keyed)?;
            self.dest.insert(rt.target.clone(), d);
        }
        if self.cascades.is_none() {
            let rows: Vec<(String, String, String, String, String, String)> = conn.query(dts_types::fk::QUERY)?;
            let keys: Vec<ForeignKey> = rows.into_iter().filter_map(ForeignKey::from_row).collect();
            self.cascades = Some(dts_types::fk::cascade_groups(&keys, |_| true));
        }
        let cascade = self.cascades.as_ref().and_then(|c| c.get(&rt.target).cloned());
        let plan = Arc::new(TablePlan::new(rt, &self.dest[&rt.target], cascade)?);
        self.plans.insert(k, plan.clone());
        Ok(plan)
    }

    /// Forgets every table's shape (after DDL).
    pub fn clear(&mut self) {
        self.dest.clear();
        self.plans.clear();
        self.cascades = None;
    }
}
