//! Drops stay inside the selection. A `DROP DATABASE` of a database the task selects only some
//! tables of (`exclude_tables`, or `[[objects.tables]]`) must not drop the destination's
//! database, which may hold what the task never selected: it becomes a `DROP TABLE` of the
//! selected tables the database had, under their destination names, with a warning.

use crate::selection::wildcard_match;
use crate::translate::{Decision, Translator};

impl Translator {
    /// The decision for `DROP DATABASE db` where `db` is not selected whole; `source_tables`
    /// are the tables it had on the source just before the statement (the tables its rules
    /// name exactly count too, so a translator without the source's tables still drops those).
    pub(crate) fn drop_partly_selected_database(&self, db: &str, source_tables: Vec<String>) -> Decision {
        let selection = &self.config().selection;
        let Some(target_db) = selection.database(db) else {
            return Decision::Skip { reason: format!("database {db} is not selected"), warnings: Vec::new() };
        };
        let mut tables = source_tables;
        for rule in selection.databases.iter().filter(|r| r.database == db || wildcard_match(&r.database, db)) {
            for t in rule.tables.iter().flatten() {
                if !t.name.contains(['*', '?']) && !tables.contains(&t.name) {
                    tables.push(t.name.clone());
                }
            }
        }
        tables.sort();
        let mut targets: Vec<String> = Vec::new();
        for t in &tables {
            if let Some(m) = self.table_mapping(db, t) {
                let q = m.target.quoted();
                if !targets.contains(&q) {
                    targets.push(q);
                }
            }
        }
        if targets.is_empty() {
            return Decision::Skip {
                reason: format!("DROP DATABASE {db}: none of its selected tables exists"),
                warnings: Vec::new(),
            };
        }
        let warning = format!(
            "DROP DATABASE {db}: the task selects only some of its tables, so only they were dropped on the \
             destination ({}); the destination database {target_db} and everything else in it are kept",
            targets.join(", ")
        );
        Decision::Apply {
            statements: vec![format!("DROP TABLE IF EXISTS {}", targets.join(", "))],
            database: None,
            warnings: vec![warning],
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::selection::{DatabaseRule, Selection, TableRule};
    use crate::translate::{Decision, TranslateConfig, Translator};

    fn tr(rule: DatabaseRule) -> Translator {
        Translator::new(TranslateConfig {
            selection: Selection { databases: vec![rule], ..Default::default() },
            ..Default::default()
        })
    }

    fn decide(t: &mut Translator, sql: &str, tables: &[&str]) -> Decision {
        let tables: Vec<String> = tables.iter().map(|s| s.to_string()).collect();
        t.translate_with_tables(sql, None, false, &|db| if db == "shop" { tables.clone() } else { Vec::new() }).unwrap()
    }

    #[test]
    fn drops_touch_only_selected_objects_and_a_database_selected_by_table_keeps_the_rest() {
        let mut t = tr(DatabaseRule {
            database: "shop".into(),
            rename: Some("shop2".into()),
            exclude_tables: vec!["log*".into()],
            ..Default::default()
        });
        match decide(&mut t, "DROP DATABASE shop", &["items", "log_a", "orders"]) {
            Decision::Apply { statements, warnings, .. } => {
                assert_eq!(statements, ["DROP TABLE IF EXISTS `shop2`.`items`, `shop2`.`orders`"]);
                assert!(
                    warnings[0].contains("only some of its tables") && warnings[0].contains("shop2"),
                    "{warnings:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(decide(&mut t, "DROP DATABASE shop", &["log_a"]), Decision::Skip { .. }));
        assert!(matches!(decide(&mut t, "DROP DATABASE other", &[]), Decision::Skip { .. }));

        // Named tables are known without the source's list, under their destination names.
        let mut t = tr(DatabaseRule {
            database: "shop".into(),
            tables: Some(vec![TableRule { name: "items".into(), rename: Some("goods".into()), ..Default::default() }]),
            ..Default::default()
        });
        match t.translate("DROP DATABASE IF EXISTS shop", None, false).unwrap() {
            Decision::Apply { statements, .. } => assert_eq!(statements, ["DROP TABLE IF EXISTS `shop`.`goods`"]),
            other => panic!("{other:?}"),
        }
        // Every other drop names only selected objects, under their destination names.
        let mut t = tr(DatabaseRule {
            database: "shop".into(),
            rename: Some("shop2".into()),
            exclude_tables: vec!["log".into()],
            ..Default::default()
        });
        let applied = |d: Decision| match d {
            Decision::Apply { statements, .. } => statements,
            other => panic!("{other:?}"),
        };
        let sql = |t: &mut Translator, s: &str| t.translate(s, Some("shop"), false).unwrap();
        assert_eq!(applied(sql(&mut t, "DROP TABLE log, items")), ["DROP TABLE `shop2`.`items`"]);
        assert_eq!(applied(sql(&mut t, "TRUNCATE items")), ["TRUNCATE `shop2`.`items`"]);
        assert_eq!(applied(sql(&mut t, "DROP SEQUENCE s")), ["DROP SEQUENCE `shop2`.`s`"]);
        match sql(&mut t, "ALTER TABLE log RENAME TO items") {
            Decision::Skip { warnings, .. } => assert!(warnings[0].contains("full sync"), "{warnings:?}"),
            other => panic!("{other:?}"),
        }
        for s in [
            "ALTER TABLE items ADD c INT, RENAME TO log",
            "ALTER TABLE items RENAME TO shop.log",
            "DROP TABLE log",
            "DROP TABLE IF EXISTS other.items",
            "TRUNCATE TABLE log",
            "DROP INDEX i ON log",
            "DROP VIEW v",
            "DROP TRIGGER tr",
            "DROP PROCEDURE p",
            "DROP FUNCTION f",
            "DROP EVENT e",
            // A sequence is a table: selected (or not) by the table rules.
            "DROP SEQUENCE log",
            "DROP DATABASE other",
        ] {
            assert!(matches!(sql(&mut t, s), Decision::Skip { .. }), "{s}");
        }
        // A whole database is dropped whole.
        let mut t = tr(DatabaseRule { database: "shop".into(), ..Default::default() });
        match decide(&mut t, "DROP DATABASE shop", &["items"]) {
            Decision::Apply { statements, .. } => assert_eq!(statements, ["DROP DATABASE `shop`"]),
            other => panic!("{other:?}"),
        }
    }
}
