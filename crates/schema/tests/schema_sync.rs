//! Schema sync from a real source to a real destination: an equivalent schema under a renamed
//! database, and exactly the mapped schema with renames, a column subset and a case policy.

use std::collections::BTreeMap;

use dts_schema::{DatabaseRule, NameCase, Selection, TableRule};
use dts_schema::{ObjectRules, TriggerPolicy, cutover, plan};
use dts_schema::{catalog, read_database};
use dts_testkit::{Sandbox, shared_pair};
use dts_types::quote_ident;
use mysql::prelude::Queryable;

const SOURCE: &[&str] = &[
    "CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(30) CHARACTER SET latin1 COLLATE latin1_swedish_ci NOT NULL DEFAULT 'n') COMMENT 'parents'",
    "CREATE TABLE child (id INT PRIMARY KEY AUTO_INCREMENT, pid INT, note TEXT, j JSON, g GEOMETRY NOT NULL, \
     a INT, b INT AS (a * 2) VIRTUAL, c INT AS (a + 1) STORED, h INT INVISIBLE, \
     KEY (pid), FULLTEXT KEY ft (note), SPATIAL KEY (g), KEY kc (c), \
     CONSTRAINT fk_parent FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE SET NULL) AUTO_INCREMENT=50",
    "CREATE TABLE parts (id INT NOT NULL, y INT NOT NULL, PRIMARY KEY (id, y)) PARTITION BY RANGE (y) (PARTITION p0 VALUES LESS THAN (2000), PARTITION p1 VALUES LESS THAN MAXVALUE)",
    "CREATE TABLE versioned (id INT PRIMARY KEY) WITH SYSTEM VERSIONING",
    "CREATE SEQUENCE seq START WITH 7",
    "CREATE VIEW v_parent AS SELECT id, name FROM parent",
    "CREATE VIEW v_on_view AS SELECT id FROM v_parent WHERE id > 1",
    "CREATE PROCEDURE p_count(OUT n INT) SELECT COUNT(*) INTO n FROM child",
    "CREATE FUNCTION f_double(x INT) RETURNS INT DETERMINISTIC RETURN x * 2",
    "CREATE TRIGGER tr_child BEFORE INSERT ON child FOR EACH ROW SET NEW.a = COALESCE(NEW.a, 0)",
];

fn show_all(sb: &Sandbox, db: &str) -> Vec<String> {
    let mut c = sb.conn().unwrap();
    let q = quote_ident(db);
    let mut out = Vec::new();
    let objs: Vec<(String, String)> = c
        .exec("SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1", (db,))
        .unwrap();
    for (name, kind) in objs {
        let what = match kind.as_str() {
            "VIEW" => "VIEW",
            "SEQUENCE" => "SEQUENCE",
            _ => "TABLE",
        };
        let row: mysql::Row = c.query_first(format!("SHOW CREATE {what} {q}.{}", quote_ident(&name))).unwrap().unwrap();
        out.push(normalise(&row.get::<String, _>(1).unwrap(), db));
    }
    let routines: Vec<(String, String)> = c
        .exec(
            "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY 2",
            (db,),
        )
        .unwrap();
    for (kind, name) in routines {
        let row: mysql::Row = c.query_first(format!("SHOW CREATE {kind} {q}.{}", quote_ident(&name))).unwrap().unwrap();
        out.push(normalise(&row.get::<String, _>(2).unwrap(), db));
    }
    let triggers: Vec<String> = c
        .exec("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY 1", (db,))
        .unwrap();
    for name in triggers {
        let row: mysql::Row =
            c.query_first(format!("SHOW CREATE TRIGGER {q}.{}", quote_ident(&name))).unwrap().unwrap();
        out.push(normalise(&row.get::<String, _>(2).unwrap(), db));
    }
    out
}

/// Database name and definer out, so two servers' texts compare.
fn normalise(s: &str, db: &str) -> String {
    let s = s.replace(&quote_ident(db), "`DB`");
    let mut out = String::new();
    let mut rest = s.as_str();
    // DEFINER=`user`@`host`
    while let Some(i) = rest.find("DEFINER=`") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 9..];
        let user_end = after.find('`').unwrap() + 1;
        let after = &after[user_end..];
        let host_end = after[2..].find('`').map_or(0, |k| k + 3);
        rest = &after[host_end..];
    }
    out.push_str(rest);
    out.replace("  ", " ")
}

fn apply(sb: &Sandbox, statements: &[String]) {
    let mut c = sb.conn().unwrap();
    for s in statements {
        c.query_drop(s).unwrap_or_else(|e| panic!("destination rejected:\n{s}\n{e}"));
    }
}

#[test]
fn schema_sync_under_a_renamed_database_is_equivalent() {
    let pair = shared_pair();
    let (src, dst) = (&pair.source, &pair.destination);
    let db = src.fresh_database("sync_all").unwrap();
    let mut c = src.conn().unwrap();
    c.query_drop(format!("USE {}", db.quoted())).unwrap();
    for s in SOURCE {
        c.query_drop(*s).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    let target = format!("{}_dst", db.as_str());
    let selection = Selection {
        databases: vec![DatabaseRule { database: db.to_string(), rename: Some(target.clone()), ..Default::default() }],
        ..Default::default()
    };
    let cat = catalog(&mut c).unwrap();
    selection.validate(&cat, 0).unwrap();
    let schema = read_database(&mut c, &selection, &cat, db.as_str()).unwrap();
    let rules = ObjectRules { triggers: TriggerPolicy::Guarded, ..Default::default() };
    let schema = [schema];
    let p = plan(&selection, &schema, &rules).unwrap();
    apply(dst, &p.statements);
    // Guarded at schema sync; the cut-over gives the triggers the source's bodies.
    let guarded = show_all(dst, &target);
    assert!(guarded.iter().any(|s| s.contains("FOR EACH ROW IF @dts_sync IS NULL THEN SET NEW.a")), "{guarded:#?}");
    apply(dst, &cutover(&selection, &schema, &rules).unwrap());
    let (a, b) = (show_all(src, db.as_str()), show_all(dst, &target));
    assert_eq!(a.len(), b.len(), "{a:#?}\n{b:#?}");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
}

#[test]
fn renames_a_column_subset_and_lower_case_give_exactly_the_mapped_schema() {
    let pair = shared_pair();
    let (src, dst) = (&pair.source, &pair.destination);
    let db = src.fresh_database("Sync_Map").unwrap();
    let mut c = src.conn().unwrap();
    c.query_drop(format!("USE {}", db.quoted())).unwrap();
    c.query_drop("CREATE TABLE Owners (Id INT PRIMARY KEY)").unwrap();
    c.query_drop(
        "CREATE TABLE Orders (Id INT PRIMARY KEY, OwnerId INT, Total DECIMAL(12,2) NOT NULL, Secret VARCHAR(10), Note TEXT, \
         KEY k_secret (Secret), KEY k_total (Total), CONSTRAINT fk_owner FOREIGN KEY (OwnerId) REFERENCES Owners (Id))",
    )
    .unwrap();
    c.query_drop("CREATE TABLE Ignored (x INT)").unwrap();
    let selection = Selection {
        databases: vec![DatabaseRule {
            database: db.to_string(),
            rename: None,
            tables: Some(vec![
                TableRule { name: "Owners".into(), ..Default::default() },
                TableRule {
                    name: "Orders".into(),
                    rename: Some("purchases".into()),
                    exclude_columns: vec!["Secret".into()],
                    column_renames: BTreeMap::from([("Total".into(), "amount".into())]),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }],
        name_case: NameCase::Lower,
        ..Default::default()
    };
    let cat = catalog(&mut c).unwrap();
    selection.validate(&cat, 0).unwrap();
    let schema = read_database(&mut c, &selection, &cat, db.as_str()).unwrap();
    let p = plan(&selection, &[schema], &ObjectRules::default()).unwrap();
    assert!(p.warnings.iter().any(|w| w.contains("not synced")), "the key on Secret is reported: {:?}", p.warnings);
    apply(dst, &p.statements);
    let tdb = db.as_str().to_lowercase();
    let mut d = dst.conn().unwrap();
    let tables: Vec<String> =
        d.exec("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1", (&tdb,)).unwrap();
    assert_eq!(tables, ["owners", "purchases"]);
    let cols: Vec<(String, String)> = d
        .exec(
            "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'purchases' ORDER BY ORDINAL_POSITION",
            (&tdb,),
        )
        .unwrap();
    let want: Vec<(String, String)> =
        [("id", "int(11)"), ("ownerid", "int(11)"), ("amount", "decimal(12,2)"), ("note", "text")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    assert_eq!(cols, want);
    let keys: Vec<(String, String)> = d
        .exec(
            "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'purchases' ORDER BY 1, SEQ_IN_INDEX",
            (&tdb,),
        )
        .unwrap();
    assert!(keys.contains(&("k_total".into(), "amount".into())), "{keys:?}");
    assert!(!keys.iter().any(|(k, _)| k == "k_secret"), "{keys:?}");
    let fk: Option<(String, String)> = d
        .exec_first(
            "SELECT REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = ? AND CONSTRAINT_NAME = 'fk_owner'",
            (&tdb,),
        )
        .unwrap();
    assert_eq!(fk, Some(("owners".into(), "id".into())));
}
