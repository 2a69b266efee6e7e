//! A corpus of real DDL run on a source, read back from its binlog, translated and applied on a
//! destination under a renamed database: both schemas must end equal.

use dts_binlog::{BinlogReader, Item, ReaderParts, ReplicaOptions, StartPosition};
use dts_schema::{DatabaseRule, ObjectRules, Selection, TriggerPolicy};
use dts_schema::{Decision, TranslateConfig, Translator};
use dts_testkit::{Sandbox, binlog_position, replica_server_id, shared_pair};
use dts_types::{BinlogPosition, Ident};
use mysql::prelude::Queryable;

const CORPUS: &[&str] = &[
    "CREATE TABLE t1 (id INT PRIMARY KEY, a VARCHAR(20) NOT NULL DEFAULT 'x', b DECIMAL(10,2) UNSIGNED) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    "create table `odd``name` (`select` int not null, `a b` text, primary key (`select`)) comment 'it''s odd'",
    "CREATE TABLE IF NOT EXISTS t2 (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, ts TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), j JSON, g POINT NOT NULL, SPATIAL INDEX (g)) AUTO_INCREMENT=100",
    "/* leading comment */ CREATE TABLE t3 (id INT, v VARCHAR(100) CHARACTER SET latin1 COLLATE latin1_bin, FULLTEXT KEY ft (v)) ENGINE=InnoDB",
    "CREATE TABLE t4 (a INT, b INT AS (a * 2) VIRTUAL, c INT AS (a + 1) STORED, d INT INVISIBLE, KEY (c))",
    "CREATE TABLE p1 (id INT NOT NULL, y INT NOT NULL, PRIMARY KEY (id, y)) PARTITION BY RANGE (y) (PARTITION p0 VALUES LESS THAN (2000), PARTITION p1 VALUES LESS THAN (3000))",
    "CREATE TABLE p2 (id INT PRIMARY KEY) PARTITION BY HASH (id) PARTITIONS 4",
    "CREATE TABLE parent (id INT PRIMARY KEY) ENGINE=InnoDB",
    "CREATE TABLE child (id INT PRIMARY KEY, pid INT, CONSTRAINT fk_p FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE CASCADE) ENGINE=InnoDB",
    "CREATE TABLE t5 LIKE t1",
    "CREATE TABLE t6 AS SELECT 1 AS one, 'two' AS two",
    "CREATE TABLE t7 (e ENUM('a','b','c') DEFAULT 'b', s SET('x','y') NOT NULL, bits BIT(5) DEFAULT b'101', y YEAR, tm TIME(3), dt DATETIME(2))",
    "CREATE TABLE IF NOT EXISTS t1 (ignored INT)",
    "ALTER TABLE t1 ADD COLUMN c INT NULL AFTER a",
    "ALTER TABLE t1 ADD COLUMN IF NOT EXISTS c INT",
    "ALTER TABLE t1 MODIFY COLUMN a VARCHAR(40) NOT NULL DEFAULT 'y'",
    "ALTER TABLE t1 CHANGE COLUMN c c2 BIGINT",
    "ALTER TABLE t1 RENAME COLUMN c2 TO c3",
    "ALTER TABLE t1 ADD INDEX idx_a (a), ADD UNIQUE KEY uk_b (b)",
    "ALTER TABLE t1 RENAME INDEX idx_a TO idx_a2",
    "ALTER TABLE t1 DROP INDEX uk_b",
    "ALTER TABLE t1 ALTER COLUMN b SET DEFAULT 1.50",
    "ALTER TABLE t1 COMMENT = 'table comment'",
    "ALTER TABLE t1 ENGINE = InnoDB",
    "ALTER TABLE t3 CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
    "ALTER TABLE t1 DROP COLUMN c3",
    "ALTER TABLE p1 ADD PARTITION (PARTITION p2 VALUES LESS THAN (4000))",
    "ALTER TABLE p1 DROP PARTITION p0",
    "ALTER TABLE p2 COALESCE PARTITION 2",
    "ALTER TABLE t2 ADD COLUMN e INT AFTER id, ALGORITHM=INPLACE, LOCK=NONE",
    "ALTER ONLINE TABLE t7 ADD COLUMN z INT",
    "ALTER TABLE `odd``name` ADD `new col` INT DEFAULT 7",
    "ALTER TABLE child DROP FOREIGN KEY fk_p",
    "ALTER TABLE child ADD CONSTRAINT fk_p2 FOREIGN KEY (pid) REFERENCES parent (id)",
    "ALTER TABLE t2 AUTO_INCREMENT = 1000",
    "ALTER TABLE t1 ADD CONSTRAINT chk_b CHECK (b >= 0)",
    "ALTER TABLE t7 /*!50100 ADD COLUMN w INT */",
    "CREATE INDEX i_t5 ON t5 (a)",
    "CREATE UNIQUE INDEX ui_t5 ON t5 (id, a)",
    "DROP INDEX i_t5 ON t5",
    "TRUNCATE TABLE t5",
    "TRUNCATE t6",
    "RENAME TABLE t5 TO t5_renamed, t6 TO t6_renamed",
    "RENAME TABLE t5_renamed TO t5",
    "ALTER TABLE t6_renamed RENAME TO t6",
    "CREATE TABLE d1 (id INT)",
    "CREATE TABLE d2 (id INT)",
    "DROP TABLE d1, d2",
    "DROP TABLE IF EXISTS d3",
    "CREATE OR REPLACE TABLE t8 (id INT PRIMARY KEY) WITH SYSTEM VERSIONING",
    "CREATE SEQUENCE s1 START WITH 10 INCREMENT BY 5",
    "CREATE VIEW v1 AS SELECT id, a FROM t1 WHERE b > 0",
    "CREATE OR REPLACE ALGORITHM=MERGE SQL SECURITY INVOKER VIEW v2 AS SELECT v1.id FROM v1",
    "ALTER VIEW v1 AS SELECT id, a, b FROM t1",
    "CREATE VIEW v3 AS SELECT 1 AS x",
    "DROP VIEW v3",
    "CREATE PROCEDURE pr1(IN x INT) BEGIN SELECT x + 1; END",
    "CREATE FUNCTION f1(x INT) RETURNS INT DETERMINISTIC RETURN x * 2",
    "DROP PROCEDURE pr1",
    "CREATE PROCEDURE pr2() SELECT 'it''s; not the end'",
    "ALTER TABLE t2 ADD COLUMN ts2 DATETIME DEFAULT '2020-01-01 00:00:00'",
    "ALTER TABLE t4 DROP COLUMN d",
    "CREATE TABLE `UPPER_case` (`MixedCol` INT)",
    "DROP TABLE `UPPER_case`",
    "ALTER TABLE t1 ADD COLUMN `unicode_列` VARCHAR(5) CHARACTER SET utf8mb4",
    "CREATE TABLE t9 (id INT) /*M!100100 COMMENT 'mariadb only' */",
];

/// The statements of `db` in the source's binlog from `start`.
fn statements(sb: &Sandbox, start: BinlogPosition) -> Vec<(String, Option<String>, u64)> {
    let mut o = ReplicaOptions::new(replica_server_id(), StartPosition::File(start));
    o.stop_at_end = true;
    BinlogReader::connect(sb.opts(), o, ReaderParts::default())
        .unwrap()
        .filter_map(|i| match i.unwrap() {
            Item::Statement(s) => Some((s.sql_lossy(), s.context.database.clone(), s.context.sql_mode.unwrap_or(0))),
            _ => None,
        })
        .collect()
}

/// SHOW CREATE of every table, view and routine of a database, with its name replaced by `as`.
fn schema_of(sb: &Sandbox, db: &Ident, as_name: &str) -> Vec<String> {
    let mut c = sb.conn().unwrap();
    let q = db.quoted();
    let mut out = Vec::new();
    let tables: Vec<(String, String)> = c
        .exec(
            "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
            (db.as_str(),),
        )
        .unwrap();
    for (t, kind) in tables {
        let sql = if kind == "VIEW" { "VIEW" } else { "TABLE" };
        let row: mysql::Row =
            c.query_first(format!("SHOW CREATE {sql} {q}.{}", dts_types::quote_ident(&t))).unwrap().unwrap();
        let text: String = row.get(1).unwrap();
        out.push(text.replace(db.as_str(), as_name));
    }
    let routines: Vec<(String, String)> = c
        .exec("SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_NAME", (db.as_str(),))
        .unwrap();
    for (kind, r) in routines {
        let row: mysql::Row =
            c.query_first(format!("SHOW CREATE {kind} {q}.{}", dts_types::quote_ident(&r))).unwrap().unwrap();
        out.push(row.get::<String, _>(2).unwrap().replace(db.as_str(), as_name));
    }
    out
}

#[test]
fn a_ddl_corpus_translated_under_a_renamed_database_ends_in_equal_schemas() {
    assert!(CORPUS.len() >= 60, "the corpus has {} statements", CORPUS.len());
    let pair = shared_pair();
    let (src, dst) = (&pair.source, &pair.destination);
    let db = src.fresh_database("corpus").unwrap();
    let other = src.fresh_database("corpus_unselected").unwrap();
    let target = format!("{}_dst", db.as_str());
    dst.conn().unwrap().query_drop(format!("CREATE DATABASE {}", dts_types::quote_ident(&target))).unwrap();

    let mut c = src.conn().unwrap();
    c.query_drop(format!("CREATE TABLE {}.u (id INT)", other.quoted())).unwrap();
    let start = binlog_position(&mut c).unwrap();
    c.query_drop(format!("USE {}", db.quoted())).unwrap();
    for sql in CORPUS {
        c.query_drop(*sql).unwrap_or_else(|e| panic!("source rejected {sql}: {e}"));
    }
    // Statements naming selected and unselected tables at once.
    c.query_drop("CREATE TABLE mixed (id INT)").unwrap();
    c.query_drop(format!("DROP TABLE mixed, {}.u", other.quoted())).unwrap();

    let selection = Selection {
        databases: vec![DatabaseRule { database: db.to_string(), rename: Some(target.clone()), ..Default::default() }],
        ..Default::default()
    };
    let objects = ObjectRules { triggers: TriggerPolicy::Guarded, ..Default::default() };
    let mut tr = Translator::new(TranslateConfig { selection, objects, ..Default::default() });
    let mut d = dst.conn().unwrap();
    let mut applied = 0;
    let mut partial_warning = false;
    for (sql, default_db, sql_mode) in statements(src, start) {
        let ansi = sql_mode & 4 != 0;
        match tr.translate(&sql, default_db.as_deref(), ansi).unwrap_or_else(|e| panic!("{sql}: {e}")) {
            Decision::Apply { statements, database, warnings } => {
                partial_warning |= warnings.iter().any(|w| w.contains("applied in part"));
                if let Some(dbn) = &database {
                    d.query_drop(format!("USE {}", dts_types::quote_ident(dbn))).unwrap();
                }
                d.query_drop(format!("SET SESSION sql_mode = {sql_mode}")).unwrap();
                for s in statements {
                    assert!(!s.contains(db.as_str()) || s.contains(&target), "source name left in {s}");
                    d.query_drop(&s).unwrap_or_else(|e| panic!("destination rejected {s}\n(from {sql}): {e}"));
                    applied += 1;
                }
            }
            Decision::Skip { reason, .. } => {
                assert!(
                    default_db.as_deref() != Some(db.as_str()) || sql.contains("IF NOT EXISTS t1"),
                    "a statement of the selected database was skipped: {sql}: {reason}"
                );
            }
            Decision::Stop { reason, .. } => panic!("the task stopped at {sql}: {reason}"),
            // The whole database is selected: nothing is created LIKE a table it does not have.
            Decision::CreateFromDefinition { table, .. } => panic!("{table} created like an unselected table: {sql}"),
        }
    }
    assert!(applied >= 60, "{applied} statements applied");
    assert!(partial_warning, "the mixed DROP was applied in part");
    let (a, b) = (schema_of(src, &db, "DB"), schema_of(dst, &Ident::new(&target).unwrap(), "DB"));
    assert_eq!(a.len(), b.len(), "same objects:\n{a:#?}\n{b:#?}");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
}
