//! Object selection and name mapping: which databases, tables and columns a task syncs, under
//! which names, and the checks that reject a mapping before it can lose or mix data.

use std::collections::{BTreeMap, BTreeSet};

use dts_types::MAX_IDENT_CHARS;
use dts_types::{Ident, TableId};
use serde::{Deserialize, Serialize};

/// The destination's name-case policy for databases, tables and columns without an explicit
/// rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NameCase {
    /// Keep the source's names.
    #[default]
    Source,
    /// Lower-case them.
    Lower,
    /// Upper-case them.
    Upper,
}

impl NameCase {
    /// The destination name of `name` under this policy.
    pub fn apply(self, name: &str) -> String {
        match self {
            NameCase::Source => name.to_string(),
            NameCase::Lower => name.to_lowercase(),
            NameCase::Upper => name.to_uppercase(),
        }
    }
}

/// One selected database (or database pattern), as a task config's `[[objects]]` gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseRule {
    /// Exact name or wildcard pattern (`*` any run of characters, `?` one).
    pub database: String,
    /// Destination name (only for an exact `database`).
    #[serde(default)]
    pub rename: Option<String>,
    /// The tables to sync; `None` selects the whole database, including tables, views,
    /// routines and triggers created later.
    #[serde(default)]
    pub tables: Option<Vec<TableRule>>,
    /// Table names or patterns left out.
    #[serde(default)]
    pub exclude_tables: Vec<String>,
    /// With `tables` listed: a listed table renamed (inside the database) to a name the list
    /// does not cover keeps syncing under its new name ([`Selection::follow_rename`]). A
    /// database selected whole follows every rename inside it anyway.
    #[serde(default)]
    pub follow_renames: bool,
    /// In a partly selected database (`tables` or `exclude_tables`), the views (names or
    /// patterns) to sync; a whole database syncs every view.
    #[serde(default)]
    pub views: Vec<String>,
    /// Likewise the procedures and functions.
    #[serde(default)]
    pub routines: Vec<String>,
    /// Likewise the events.
    #[serde(default)]
    pub events: Vec<String>,
}

/// A database object that is no table (see [`Selection::object`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A view.
    View,
    /// A procedure or function.
    Routine,
    /// An event.
    Event,
}

/// One selected table (or table pattern).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableRule {
    /// Exact name or wildcard pattern.
    pub name: String,
    /// Destination name (only for an exact `name`).
    #[serde(default)]
    pub rename: Option<String>,
    /// Columns to sync (names or patterns); `None` for all.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// Columns left out (names or patterns).
    #[serde(default)]
    pub exclude_columns: Vec<String>,
    /// Column renames: source name to destination name.
    #[serde(default)]
    pub column_renames: BTreeMap<String, String>,
    /// A WHERE condition on source columns for the rows to sync (a task puts the SQL rendered
    /// from its parsed filter here, `dts_task::Filter::sql`).
    #[serde(default)]
    pub filter: Option<String>,
}

/// The selection of a task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// The selected databases; none selects every non-system database.
    pub databases: Vec<DatabaseRule>,
    /// Databases (names or patterns) never synced.
    #[serde(default)]
    pub exclude_databases: Vec<String>,
    /// How names without a rename are written on the destination.
    #[serde(default)]
    pub name_case: NameCase,
}

/// Databases no task syncs.
pub const SYSTEM_DATABASES: &[&str] = &["mysql", "information_schema", "performance_schema", "sys"];

/// `*` matches any run of characters, `?` one; everything else literally.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn is_pattern(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// Which columns of a table are synced, and their destination names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    /// Selected source columns in table order, with their destination names; `None` when the
    /// table's columns are not known yet (a table created later: all columns, names kept).
    pub columns: Option<Vec<(String, String)>>,
    renames: BTreeMap<String, String>,
    include: Option<Vec<String>>,
    exclude: Vec<String>,
    case: NameCase,
}

impl ColumnMap {
    /// Whether a source column is synced.
    pub fn selected(&self, column: &str) -> bool {
        let included = self.include.as_ref().is_none_or(|inc| inc.iter().any(|p| wildcard_match(p, column)));
        included && !self.exclude.iter().any(|p| wildcard_match(p, column))
    }

    /// The destination name of a source column.
    pub fn target(&self, column: &str) -> String {
        // Column names compare case-insensitively, so a statement may spell one differently.
        self.renames
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(column))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| self.case.apply(column))
    }

    /// Every column under its own name (in letter case `case`).
    pub fn every_column(case: NameCase) -> ColumnMap {
        ColumnMap { columns: None, renames: BTreeMap::new(), include: None, exclude: Vec::new(), case }
    }

    /// Whether every column is synced under its own name.
    pub fn is_identity(&self) -> bool {
        self.include.is_none() && self.exclude.is_empty() && self.renames.is_empty() && self.case == NameCase::Source
    }

    /// Whether some source columns are left out.
    pub fn has_subset(&self) -> bool {
        self.include.is_some() || !self.exclude.is_empty()
    }
}

/// A selected table and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedTable {
    /// The source table.
    pub source: TableId,
    /// The destination table.
    pub target: TableId,
    /// Which columns go, under which names.
    pub columns: ColumnMap,
    /// The row filter, if any.
    pub filter: Option<String>,
}

/// Why a selection cannot be used, naming the objects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// An object named exactly is not on the source.
    #[error("{what} {name:?} is selected by an exact name but does not exist on the source")]
    Missing {
        /// `database`, `table` or `column`.
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// Two objects would get the same destination name.
    #[error("{first} and {second} would both become {target} on the destination")]
    Collision {
        /// One source object.
        first: String,
        /// The other.
        second: String,
        /// The name they would share.
        target: String,
    },
    /// Two names differ only in case where the destination ignores case.
    #[error(
        "{first} and {second} differ only in letter case, but the destination compares {what} names case-insensitively ({why}); rename one of them"
    )]
    CaseCollision {
        /// One name.
        first: String,
        /// The other.
        second: String,
        /// What they name.
        what: &'static str,
        /// Why the destination ignores case.
        why: String,
    },
    /// A destination name is not a valid identifier.
    #[error("destination name {name:?} for {source_name} is not valid: {reason}")]
    BadName {
        /// The source object.
        source_name: String,
        /// The destination name.
        name: String,
        /// Why it is not valid.
        reason: String,
    },
    /// A wildcard pattern has a rename.
    #[error("rename of {pattern:?} is not allowed: a pattern selects several objects, which cannot share one name")]
    RenamedPattern {
        /// The pattern.
        pattern: String,
    },
    /// A column is both renamed and excluded.
    #[error("column {column:?} is both renamed and left out of {table}")]
    RenamedExcluded {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
}

/// The source's objects, as selection needs them: tables and their columns, per database.
pub type Catalog = BTreeMap<String, BTreeMap<String, Vec<String>>>;

impl Selection {
    /// A selection of every non-system database, whole.
    pub fn everything() -> Selection {
        Selection { databases: vec![DatabaseRule { database: "*".into(), ..Default::default() }], ..Default::default() }
    }

    fn db_rule(&self, db: &str) -> Option<&DatabaseRule> {
        if SYSTEM_DATABASES.iter().any(|s| s.eq_ignore_ascii_case(db)) || db.eq_ignore_ascii_case("dts_meta") {
            return None;
        }
        if self.exclude_databases.iter().any(|p| wildcard_match(p, db)) {
            return None;
        }
        // An exact rule wins over a pattern.
        self.databases
            .iter()
            .find(|r| r.database == db)
            .or_else(|| self.databases.iter().find(|r| is_pattern(&r.database) && wildcard_match(&r.database, db)))
    }

    /// The destination name of a selected database.
    pub fn database(&self, db: &str) -> Option<String> {
        let r = self.db_rule(db)?;
        Some(r.rename.clone().unwrap_or_else(|| self.name_case.apply(db)))
    }

    /// Whether the whole database is selected (so tables, views, routines and triggers created
    /// later are too).
    pub fn whole_database(&self, db: &str) -> bool {
        self.db_rule(db).is_some_and(|r| r.tables.is_none() && r.exclude_tables.is_empty())
    }

    /// Whether a view, routine or event of `db` is synced: every one of a whole selected
    /// database; of a partly selected one, those its rule names in `views`, `routines` or
    /// `events`. (Triggers follow their tables, sequences are selected like tables.)
    pub fn object(&self, db: &str, kind: ObjectKind, name: &str) -> bool {
        let Some(rule) = self.db_rule(db) else { return false };
        if self.whole_database(db) {
            return true;
        }
        let names = match kind {
            ObjectKind::View => &rule.views,
            ObjectKind::Routine => &rule.routines,
            ObjectKind::Event => &rule.events,
        };
        names.iter().any(|p| wildcard_match(p, name))
    }

    /// Where a source table goes, or `None` when it is not selected.
    pub fn table(&self, db: &str, table: &str) -> Option<MappedTable> {
        let rule = self.db_rule(db)?;
        if rule.exclude_tables.iter().any(|p| wildcard_match(p, table)) {
            return None;
        }
        let target_db = self.database(db)?;
        let tr = match &rule.tables {
            None => None,
            Some(tables) => Some(
                tables
                    .iter()
                    .find(|t| t.name == table)
                    .or_else(|| tables.iter().find(|t| is_pattern(&t.name) && wildcard_match(&t.name, table)))?,
            ),
        };
        let target_table = tr.and_then(|t| t.rename.clone()).unwrap_or_else(|| self.name_case.apply(table));
        let source = TableId::new(Ident::new(db).ok()?, Ident::new(table).ok()?);
        let target = TableId::new(Ident::new(target_db).ok()?, Ident::new(target_table).ok()?);
        let columns = ColumnMap {
            columns: None,
            renames: tr.map(|t| t.column_renames.clone()).unwrap_or_default(),
            include: tr.and_then(|t| t.columns.clone()),
            exclude: tr.map(|t| t.exclude_columns.clone()).unwrap_or_default(),
            case: self.name_case,
        };
        Some(MappedTable { source, target, columns, filter: tr.and_then(|t| t.filter.clone()) })
    }

    /// Follows `db.from` renamed to `db.to`: when `from` is selected by a table list that
    /// follows renames and `to` is not selected, `to` is selected from now on with `from`'s
    /// rule (columns, filter, and an explicit destination name, which it keeps; without one the
    /// destination name follows the source's) and `from` no longer is. Returns whether it did.
    pub fn follow_rename(&mut self, db: &str, from: &str, to: &str) -> bool {
        if self.table(db, from).is_none() || self.table(db, to).is_some() {
            return false;
        }
        let Some(rule) = self.databases.iter_mut().find(|r| r.database == db) else { return false };
        let follows = rule.follow_renames;
        let Some(tables) = rule.tables.as_mut().filter(|_| follows) else { return false };
        match tables.iter_mut().find(|t| t.name == from) {
            Some(exact) => exact.name = to.to_string(),
            None => {
                let Some(pattern) = tables.iter().find(|t| is_pattern(&t.name) && wildcard_match(&t.name, from)) else {
                    return false;
                };
                let mut followed = pattern.clone();
                followed.name = to.to_string();
                tables.insert(0, followed);
            }
        }
        true
    }

    /// [`Selection::table`] with the column list resolved against the table's columns.
    pub fn table_with_columns(&self, db: &str, table: &str, columns: &[String]) -> Option<MappedTable> {
        let mut m = self.table(db, table)?;
        let cols = columns.iter().filter(|c| m.columns.selected(c)).map(|c| (c.clone(), m.columns.target(c))).collect();
        m.columns.columns = Some(cols);
        Some(m)
    }

    /// Every table of `catalog` this selection selects, with its mapping and columns resolved.
    pub fn mapped(&self, catalog: &Catalog) -> Vec<MappedTable> {
        let mut out = Vec::new();
        for (db, tables) in catalog {
            for (t, cols) in tables {
                if let Some(m) = self.table_with_columns(db, t, cols) {
                    out.push(m);
                }
            }
        }
        out
    }

    /// Checks the selection against the source's objects and the destination's case rules
    /// (`lower_case_table_names` of the destination: 0 compares database and table names by
    /// case, 1 and 2 do not).
    pub fn validate(&self, catalog: &Catalog, dest_lower_case_table_names: u8) -> Result<(), Vec<MappingError>> {
        let mut errors = Vec::new();
        let ci_tables = dest_lower_case_table_names != 0;
        let why = || format!("lower_case_table_names={dest_lower_case_table_names}");
        for r in &self.databases {
            if r.rename.is_some() && is_pattern(&r.database) {
                errors.push(MappingError::RenamedPattern { pattern: r.database.clone() });
            }
            if !is_pattern(&r.database) && !catalog.contains_key(&r.database) {
                errors.push(MappingError::Missing { what: "database", name: r.database.clone() });
            }
            for t in r.tables.iter().flatten() {
                if t.rename.is_some() && is_pattern(&t.name) {
                    errors.push(MappingError::RenamedPattern { pattern: format!("{}.{}", r.database, t.name) });
                }
                if !is_pattern(&r.database) && !is_pattern(&t.name) {
                    match catalog.get(&r.database).and_then(|tables| tables.get(&t.name)) {
                        None if catalog.contains_key(&r.database) => errors
                            .push(MappingError::Missing { what: "table", name: format!("{}.{}", r.database, t.name) }),
                        Some(cols) => {
                            for c in
                                t.column_renames.keys().chain(t.columns.iter().flatten().filter(|c| !is_pattern(c)))
                            {
                                if !cols.contains(c) {
                                    errors.push(MappingError::Missing {
                                        what: "column",
                                        name: format!("{}.{}.{}", r.database, t.name, c),
                                    });
                                }
                            }
                        }
                        None => {}
                    }
                }
            }
        }
        // Targets: no two sources may land on one name, nor on names the destination folds
        // together.
        let mut db_targets: BTreeMap<String, String> = BTreeMap::new();
        let mut table_targets: BTreeMap<(String, String), String> = BTreeMap::new();
        for (db, tables) in catalog {
            let Some(tdb) = self.database(db) else { continue };
            check_name(&mut errors, &format!("database {db}"), &tdb);
            let key = if ci_tables { tdb.to_lowercase() } else { tdb.clone() };
            if let Some(prev) = db_targets.insert(key, db.clone())
                && &prev != db
            {
                errors.push(collision(ci_tables, &prev, db, &tdb, "database", why()));
            }
            for (table, cols) in tables {
                let Some(m) = self.table_with_columns(db, table, cols) else { continue };
                let src = format!("{db}.{table}");
                check_name(&mut errors, &format!("table {src}"), m.target.table.as_str());
                let t = m.target.table.as_str();
                let key = if ci_tables { (tdb.to_lowercase(), t.to_lowercase()) } else { (tdb.clone(), t.to_string()) };
                if let Some(prev) = table_targets.insert(key, src.clone()) {
                    errors.push(collision(ci_tables, &prev, &src, &m.target.to_string(), "table", why()));
                }
                // Columns compare case-insensitively on every server.
                let mut seen: BTreeMap<String, String> = BTreeMap::new();
                for (c, tc) in m.columns.columns.iter().flatten() {
                    check_name(&mut errors, &format!("column {src}.{c}"), tc);
                    if let Some(prev) = seen.insert(tc.to_lowercase(), c.clone()) {
                        let (first, second) = (format!("{src}.{prev}"), format!("{src}.{c}"));
                        errors.push(if tc == &m.columns.target(&prev) {
                            MappingError::Collision { first, second, target: format!("{}.{tc}", m.target) }
                        } else {
                            MappingError::CaseCollision {
                                first,
                                second,
                                what: "column",
                                why: "column names are never case-sensitive".into(),
                            }
                        });
                    }
                }
                for c in m.columns.renames.keys() {
                    if cols.contains(c) && !m.columns.selected(c) {
                        errors.push(MappingError::RenamedExcluded { table: src.clone(), column: c.clone() });
                    }
                }
            }
        }
        if errors.is_empty() {
            return Ok(());
        }
        let mut seen = BTreeSet::new();
        errors.retain(|e| seen.insert(e.to_string()));
        Err(errors)
    }
}

fn collision(ci: bool, first: &str, second: &str, target: &str, what: &'static str, why: String) -> MappingError {
    // Same target text: a plain collision; differing only by case: the destination folds them.
    if ci && first.to_lowercase() == second.to_lowercase() && first != second {
        MappingError::CaseCollision { first: first.into(), second: second.into(), what, why }
    } else {
        MappingError::Collision { first: first.into(), second: second.into(), target: target.into() }
    }
}

fn check_name(errors: &mut Vec<MappingError>, source_name: &str, name: &str) {
    if let Err(e) = Ident::new(name) {
        let reason = if name.chars().count() > MAX_IDENT_CHARS {
            format!("longer than {MAX_IDENT_CHARS} characters")
        } else {
            e.to_string()
        };
        errors.push(MappingError::BadName { source_name: source_name.into(), name: name.into(), reason });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let mut c = Catalog::new();
        let mut shop = BTreeMap::new();
        shop.insert("orders".to_string(), vec!["id".to_string(), "total".to_string(), "note".to_string()]);
        shop.insert("Orders".to_string(), vec!["id".to_string()]);
        shop.insert("tmp_1".to_string(), vec!["id".to_string()]);
        c.insert("shop".to_string(), shop);
        c.insert(
            "crm".to_string(),
            BTreeMap::from([("people".to_string(), vec!["id".to_string(), "Name".to_string(), "name".to_string()])]),
        );
        c
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("tmp_*", "tmp_1"));
        assert!(wildcard_match("t?p*", "tmp_1"));
        assert!(!wildcard_match("tmp_?", "tmp_12"));
        assert!(wildcard_match("*", ""));
        assert!(!wildcard_match("a*b", "ac"));
    }

    #[test]
    fn selection_maps_names_and_columns() {
        let s = Selection {
            databases: vec![DatabaseRule {
                database: "shop".into(),
                rename: Some("shop2".into()),
                tables: Some(vec![TableRule {
                    name: "orders".into(),
                    rename: Some("o".into()),
                    exclude_columns: vec!["note".into()],
                    column_renames: BTreeMap::from([("total".into(), "amount".into())]),
                    ..Default::default()
                }]),
                ..Default::default()
            }],
            ..Default::default()
        };
        let m = s.table_with_columns("shop", "orders", &["id".into(), "total".into(), "note".into()]).unwrap();
        assert_eq!(m.target.to_string(), "`shop2`.`o`");
        assert_eq!(
            m.columns.columns.unwrap(),
            vec![("id".to_string(), "id".to_string()), ("total".into(), "amount".into())]
        );
        assert!(s.table("shop", "tmp_1").is_none(), "tables not listed are not selected");
        assert!(!s.whole_database("shop"));
        assert!(s.table("mysql", "user").is_none());
    }

    #[test]
    fn invalid_mappings_name_the_objects() {
        let cat = catalog();
        let errs = |s: Selection, lctn: u8| {
            s.validate(&cat, lctn).unwrap_err().iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
        };
        // Two databases onto one name.
        let s = Selection {
            databases: vec![
                DatabaseRule { database: "shop".into(), rename: Some("x".into()), ..Default::default() },
                DatabaseRule { database: "crm".into(), rename: Some("x".into()), ..Default::default() },
            ],
            ..Default::default()
        };
        let e = errs(s, 0);
        assert!(
            e.contains("crm and shop would both become x") || e.contains("shop and crm would both become x"),
            "{e}"
        );
        // A mapped object that does not exist.
        let s = Selection {
            databases: vec![DatabaseRule { database: "nope".into(), ..Default::default() }],
            ..Default::default()
        };
        assert!(errs(s, 0).contains("database \"nope\" is selected by an exact name but does not exist"));
        let s = Selection {
            databases: vec![DatabaseRule {
                database: "shop".into(),
                tables: Some(vec![
                    TableRule { name: "gone".into(), ..Default::default() },
                    TableRule {
                        name: "orders".into(),
                        column_renames: BTreeMap::from([("ghost".into(), "g".into())]),
                        ..Default::default()
                    },
                ]),
                ..Default::default()
            }],
            ..Default::default()
        };
        let e = errs(s, 0);
        assert!(e.contains("table \"shop.gone\""), "{e}");
        assert!(e.contains("column \"shop.orders.ghost\""), "{e}");
        // orders and Orders: fine on a case-sensitive destination, a collision where it folds case.
        let whole = Selection {
            databases: vec![DatabaseRule { database: "shop".into(), ..Default::default() }],
            ..Default::default()
        };
        assert!(whole.validate(&BTreeMap::from([("shop".to_string(), cat["shop"].clone())]), 0).is_ok());
        let e = errs(whole.clone(), 1);
        assert!(
            e.contains("shop.Orders and shop.orders differ only in letter case")
                && e.contains("lower_case_table_names=1"),
            "{e}"
        );
        // A lower-case policy folds them together on any destination.
        let lower = Selection { name_case: NameCase::Lower, ..whole };
        assert!(errs(lower, 0).contains("would both become `shop`.`orders`"));
        // Columns Name and name collide everywhere.
        let s = Selection {
            databases: vec![DatabaseRule { database: "crm".into(), ..Default::default() }],
            ..Default::default()
        };
        assert!(errs(s, 0).contains("crm.people.Name and crm.people.name differ only in letter case"));
        // A name too long.
        let s = Selection {
            databases: vec![DatabaseRule {
                database: "crm".into(),
                rename: Some("d".repeat(65)),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(errs(s, 0).contains("longer than 64 characters"));
        // A renamed pattern.
        let s = Selection {
            databases: vec![DatabaseRule { database: "s*".into(), rename: Some("x".into()), ..Default::default() }],
            ..Default::default()
        };
        assert!(errs(s, 0).contains("rename of \"s*\" is not allowed"));
    }
}
