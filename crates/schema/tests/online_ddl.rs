//! gh-ost and pt-online-schema-change sequences on a source, in both online DDL modes: the
//! destination ends with the altered table, and with shadow tables only where they are copied.

use dts_binlog::{BinlogReader, Item, ReaderParts, ReplicaOptions, StartPosition};
use dts_schema::OnlineDdlMode;
use dts_schema::{DatabaseRule, Selection};
use dts_schema::{Decision, TranslateConfig, Translator};
use dts_testkit::{Sandbox, binlog_position, replica_server_id, shared_pair};
use dts_types::Ident;
use mysql::prelude::Queryable;

fn gh_ost() -> Vec<&'static str> {
    vec![
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))",
        "INSERT INTO t VALUES (1, 'a'), (2, 'b')",
        "CREATE TABLE _t_ghc (id BIGINT AUTO_INCREMENT, last_update TIMESTAMP, hint VARCHAR(64), value VARCHAR(4096), PRIMARY KEY (id), UNIQUE KEY hint_uidx (hint))",
        "CREATE TABLE _t_gho LIKE t",
        "ALTER TABLE _t_gho ADD COLUMN extra INT NOT NULL DEFAULT 5, ADD KEY v_idx (v)",
        "INSERT INTO _t_gho (id, v) SELECT id, v FROM t",
        "RENAME TABLE t TO _t_del, _t_gho TO t",
        "DROP TABLE IF EXISTS _t_del",
        "DROP TABLE IF EXISTS _t_ghc",
    ]
}

fn pt_osc() -> Vec<&'static str> {
    vec![
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))",
        "INSERT INTO t VALUES (1, 'a'), (2, 'b')",
        "CREATE TABLE `_t_new` LIKE t",
        "ALTER TABLE `_t_new` ADD COLUMN extra INT NOT NULL DEFAULT 5, ADD KEY v_idx (v)",
        "CREATE TRIGGER `pt_osc_db_t_ins` AFTER INSERT ON t FOR EACH ROW REPLACE INTO `_t_new` (id, v) VALUES (NEW.id, NEW.v)",
        "INSERT LOW_PRIORITY IGNORE INTO `_t_new` (id, v) SELECT id, v FROM t LOCK IN SHARE MODE",
        "RENAME TABLE t TO `_t_old`, `_t_new` TO t",
        "DROP TABLE IF EXISTS `_t_old`",
        "DROP TRIGGER IF EXISTS `pt_osc_db_t_ins`",
    ]
}

fn tables(sb: &Sandbox, db: &str) -> Vec<String> {
    sb.conn()
        .unwrap()
        .exec("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1", (db,))
        .unwrap()
}

fn show_create(sb: &Sandbox, db: &str, t: &str) -> String {
    let row: mysql::Row = sb
        .conn()
        .unwrap()
        .query_first(format!("SHOW CREATE TABLE {}.{}", dts_types::quote_ident(db), dts_types::quote_ident(t)))
        .unwrap()
        .unwrap();
    row.get(1).unwrap()
}

fn run(tool: &str, steps: Vec<&str>, mode: OnlineDdlMode) {
    let pair = shared_pair();
    let (src, dst) = (&pair.source, &pair.destination);
    let db = src.fresh_database(&format!("osc_{tool}")).unwrap();
    let target: Ident = Ident::new(format!("{}_d", db.as_str())).unwrap();
    dst.conn().unwrap().query_drop(format!("CREATE DATABASE {}", target.quoted())).unwrap();
    let mut c = src.conn().unwrap();
    let start = binlog_position(&mut c).unwrap();
    c.query_drop(format!("USE {}", db.quoted())).unwrap();
    for s in &steps {
        c.query_drop(*s).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    let selection = Selection {
        databases: vec![DatabaseRule {
            database: db.to_string(),
            rename: Some(target.to_string()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut tr = Translator::new(TranslateConfig { selection, online_ddl: mode, ..Default::default() });
    let mut o = ReplicaOptions::new(replica_server_id(), StartPosition::File(start));
    o.stop_at_end = true;
    let mut d = dst.conn().unwrap();
    let mut shadow_rows = 0;
    for item in BinlogReader::connect(src.opts(), o, ReaderParts::default()).unwrap() {
        match item.unwrap() {
            Item::Statement(s) if s.context.database.as_deref() == Some(db.as_str()) => {
                match tr.translate(&s.sql_lossy(), s.context.database.as_deref(), false).unwrap() {
                    Decision::Apply { statements, database, .. } => {
                        if let Some(n) = database {
                            d.query_drop(format!("USE {}", dts_types::quote_ident(&n))).unwrap();
                        }
                        for x in statements {
                            d.query_drop(&x)
                                .unwrap_or_else(|e| panic!("{tool} {mode:?}: destination rejected {x}: {e}"));
                        }
                    }
                    Decision::Skip { reason, .. } => {
                        assert!(!reason.is_empty());
                    }
                    Decision::Stop { reason, .. } => panic!("{tool} {mode:?}: the task stopped: {reason}"),
                    // The tools create their shadows LIKE the real table, which is selected.
                    Decision::CreateFromDefinition { table, .. } => {
                        panic!("{tool} {mode:?}: {table} needs a definition")
                    }
                }
            }
            Item::Row(tc) if tc.table.id.database == db => {
                let shadow = tr.table_target(db.as_str(), tc.table.id.table.as_str()).is_none();
                if shadow {
                    shadow_rows += 1;
                }
            }
            _ => {}
        }
    }
    assert_eq!(tables(dst, target.as_str()), vec!["t".to_string()], "{tool} {mode:?}: only the real table remains");
    assert_eq!(show_create(dst, target.as_str(), "t"), show_create(src, db.as_str(), "t"), "{tool} {mode:?}");
    match mode {
        OnlineDdlMode::ApplyAtCutOver => assert!(shadow_rows > 0, "rows of shadow tables are not synced in this mode"),
        OnlineDdlMode::Copy => assert_eq!(shadow_rows, 0, "every row is synced in copy mode"),
    }
}

#[test]
fn gh_ost_copy_mode() {
    run("ghost", gh_ost(), OnlineDdlMode::Copy);
}

#[test]
fn gh_ost_alter_at_cut_over() {
    run("ghost", gh_ost(), OnlineDdlMode::ApplyAtCutOver);
}

#[test]
fn pt_osc_copy_mode() {
    run("ptosc", pt_osc(), OnlineDdlMode::Copy);
}

#[test]
fn pt_osc_alter_at_cut_over() {
    run("ptosc", pt_osc(), OnlineDdlMode::ApplyAtCutOver);
}
