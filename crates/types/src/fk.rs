//! Foreign-key cascade groups: the tables whose rows a cascade can change without a binlog
//! entry of their own.
//!
//! A cascade (`ON DELETE CASCADE`, `SET NULL`, `SET DEFAULT`, `ON UPDATE CASCADE`) changes
//! child rows inside the parent's statement, and the source's binlog holds only the parent's
//! rows. dts-sync keeps such tables exact by making the destination repeat each cascade: the
//! full copy reads every table of a group from one consistent snapshot (so the destination
//! starts from one source state), and incremental sync applies the group's changes from that
//! snapshot on, in source order, with the parent's UPDATE and DELETE run under
//! `foreign_key_checks = 1` so that the destination's own foreign keys cascade. A group is a
//! connected component of the foreign-key graph (every rule, so a RESTRICT child the parent's
//! checks look at is exact too) that holds at least one cascading rule.
//!
//! The servers' catalogs are read by the crates that connect to them; this module only groups.

use std::collections::{BTreeMap, BTreeSet};

use crate::TableId;

/// One foreign key, as `information_schema.REFERENTIAL_CONSTRAINTS` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The table holding the foreign key.
    pub child: TableId,
    /// The table it references.
    pub parent: TableId,
    /// `UPDATE_RULE` (`CASCADE`, `SET NULL`, `RESTRICT`, ...).
    pub update_rule: String,
    /// `DELETE_RULE`.
    pub delete_rule: String,
}

impl ForeignKey {
    /// Whether the server changes child rows by itself for this key.
    pub fn cascades(&self) -> bool {
        [&self.update_rule, &self.delete_rule]
            .iter()
            .any(|r| matches!(r.to_ascii_uppercase().as_str(), "CASCADE" | "SET NULL" | "SET DEFAULT"))
    }
}

/// The query listing every foreign key of the server (outside the system schemas); each row
/// becomes a key with [`ForeignKey::from_row`].
pub const QUERY: &str = "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, UNIQUE_CONSTRAINT_SCHEMA, REFERENCED_TABLE_NAME, \
     UPDATE_RULE, DELETE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS \
     WHERE CONSTRAINT_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')";

impl ForeignKey {
    /// A row of [`QUERY`]; `None` for names no table can have.
    pub fn from_row(
        (db, table, parent_db, parent, update_rule, delete_rule): (String, String, String, String, String, String),
    ) -> Option<ForeignKey> {
        Some(ForeignKey {
            child: TableId::parse(&db, &table).ok()?,
            parent: TableId::parse(&parent_db, &parent).ok()?,
            update_rule,
            delete_rule,
        })
    }
}

/// A table's place in a cascade group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CascadeRole {
    /// The group's name: its first table (`db`.`table`), the same for every table of it.
    pub group: String,
    /// Whether a foreign key of the group references this table (its UPDATE and DELETE may
    /// cascade, so they run with foreign_key_checks = 1).
    pub parent: bool,
}

/// Every table of a cascade group among `keys`, with its role. Keys whose tables `keep`
/// rejects (not synced) are left out of the graph.
pub fn cascade_groups(keys: &[ForeignKey], keep: impl Fn(&TableId) -> bool) -> BTreeMap<TableId, CascadeRole> {
    let keys: Vec<&ForeignKey> = keys.iter().filter(|k| keep(&k.child) && keep(&k.parent)).collect();
    // Union-find over the tables named by the kept keys.
    let mut parent_of: BTreeMap<TableId, TableId> = BTreeMap::new();
    fn root(p: &mut BTreeMap<TableId, TableId>, t: &TableId) -> TableId {
        let mut r = t.clone();
        while let Some(up) = p.get(&r).filter(|u| **u != r).cloned() {
            r = up;
        }
        r
    }
    for k in &keys {
        for t in [&k.child, &k.parent] {
            parent_of.entry(t.clone()).or_insert_with(|| t.clone());
        }
        let (a, b) = (root(&mut parent_of, &k.child), root(&mut parent_of, &k.parent));
        if a != b {
            // The smaller table is the root, so a group's name does not depend on the order.
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            parent_of.insert(hi, lo);
        }
    }
    let cascading: BTreeSet<TableId> =
        keys.iter().filter(|k| k.cascades()).map(|k| root(&mut parent_of, &k.child)).collect();
    let referenced: BTreeSet<&TableId> = keys.iter().map(|k| &k.parent).collect();
    let tables: Vec<TableId> = parent_of.keys().cloned().collect();
    tables
        .into_iter()
        .filter_map(|t| {
            let r = root(&mut parent_of, &t);
            cascading
                .contains(&r)
                .then(|| (t.clone(), CascadeRole { group: r.to_string(), parent: referenced.contains(&t) }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> TableId {
        TableId::parse("db", name).unwrap()
    }

    fn fk(child: &str, parent: &str, delete: &str) -> ForeignKey {
        ForeignKey { child: t(child), parent: t(parent), update_rule: "RESTRICT".into(), delete_rule: delete.into() }
    }

    #[test]
    fn groups_are_components_with_a_cascade() {
        let keys = [
            fk("orders", "customers", "CASCADE"),
            fk("lines", "orders", "RESTRICT"),
            fk("notes", "lines", "SET NULL"),
            fk("b", "a", "RESTRICT"),
        ];
        let g = cascade_groups(&keys, |_| true);
        assert_eq!(g.len(), 4, "{g:?}");
        let name = &g[&t("orders")].group;
        assert!(["customers", "orders", "lines", "notes"].iter().all(|n| &g[&t(n)].group == name));
        assert!(g[&t("customers")].parent && g[&t("orders")].parent && g[&t("lines")].parent);
        assert!(!g[&t("notes")].parent);
        assert!(!g.contains_key(&t("a")), "a RESTRICT-only component needs nothing");
        // Unsynced tables are not part of the graph.
        let g = cascade_groups(&keys, |x| x != &t("customers"));
        assert!(g.contains_key(&t("notes")) && g.contains_key(&t("orders")) && !g.contains_key(&t("customers")));
        let on_update = ForeignKey { update_rule: "CASCADE".into(), ..fk("b", "a", "NO ACTION") };
        assert!(on_update.cascades());
    }
}
