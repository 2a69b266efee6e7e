//! Verification against real servers: differences made behind the tool's back on the
//! destination are each reported exactly, the repair script makes the sides identical, renames,
//! column subsets and filters are honoured, and a comparison while replication lags reports
//! nothing false.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dts_schema::{DatabaseRule, Selection, TableRule};
use dts_testkit::{Sandbox, replica_server_id, shared_pair};
use dts_types::{BinlogPosition, Ident};
use dts_verify::{Progress, SettledBy, VerifyOptions};
use mysql::prelude::Queryable;

fn run_sql(sb: &Sandbox, db: &str, stmts: &[String]) {
    let mut c = dts_verify::connect(&sb.opts()).unwrap();
    c.query_drop(format!("CREATE DATABASE IF NOT EXISTS `{db}`")).unwrap();
    c.query_drop(format!("USE `{db}`")).unwrap();
    for s in stmts {
        c.query_drop(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

fn select(db: &Ident) -> Selection {
    Selection { databases: vec![DatabaseRule { database: db.to_string(), ..Default::default() }], ..Default::default() }
}

fn options() -> VerifyOptions {
    VerifyOptions { threads: 3, chunk_rows: 40, ..Default::default() }
}

const TABLES: &[&str] = &[
    "CREATE TABLE t (id INT PRIMARY KEY, j JSON, b VARBINARY(16), f FLOAT, d DOUBLE, z DATE, \
     `dec` DECIMAL(20,6), ts TIMESTAMP(3) NULL, s VARCHAR(20) CHARACTER SET utf8mb4 NULL) DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE nk (x INT, y VARCHAR(10))",
];

fn rows() -> Vec<String> {
    let mut v = Vec::new();
    for i in 1..=200 {
        v.push(format!(
            "INSERT INTO t VALUES ({i}, '{{\"k\": {i}}}', X'01', {i}.5, {i}.25e0, '2020-01-01', {i}.000001, \
             '2021-06-01 10:00:00.123', 's{i}')"
        ));
    }
    v.push("UPDATE t SET z = '0000-00-00' WHERE id = 14".into());
    v.push("UPDATE t SET s = NULL WHERE id = 17".into());
    v.push("UPDATE t SET s = 'NULL' WHERE id = 18".into());
    v.push("INSERT INTO nk VALUES (1, 'a'), (1, 'a'), (2, 'b'), (3, NULL)".into());
    v
}

/// A source database and an identical destination copy.
fn identical_pair(prefix: &str) -> Ident {
    let pair = shared_pair();
    let db = pair.source.fresh_database(prefix).unwrap();
    let mut all: Vec<String> = TABLES.iter().map(|s| s.to_string()).collect();
    all.extend(rows());
    run_sql(&pair.source, db.as_str(), &all);
    run_sql(&pair.destination, db.as_str(), &all);
    db
}

#[test]
fn identical_sides_report_nothing() {
    let pair = shared_pair();
    let db = identical_pair("vf_same");
    let r = dts_verify::run(&pair.source.opts(), &pair.destination.opts(), &select(&db), &options(), None).unwrap();
    assert!(r.identical(), "{}", r.to_table());
    let t = r.table(&format!("{db}.t")).unwrap();
    assert_eq!(t.chunks, 0, "whole identical tables are settled by CHECKSUM TABLE on both servers");
    assert_eq!(
        (t.settled_by, t.source_rows, t.destination_rows, t.rows_compared_by_row),
        (SettledBy::TableChecksum, Some(200), Some(200), 0),
        "and counted on each side"
    );
    assert_eq!(r.totals().tables_settled_by_checksum, 2, "{}", r.to_table());
    // Chunk by chunk, the same tables are identical too, and counted.
    let o = VerifyOptions { table_checksum_first: false, ..options() };
    let r = dts_verify::run(&pair.source.opts(), &pair.destination.opts(), &select(&db), &o, None).unwrap();
    assert!(r.identical(), "{}", r.to_table());
    let t = r.table(&format!("{db}.t")).unwrap();
    assert_eq!((t.source_rows, t.destination_rows), (Some(200), Some(200)));
    assert_eq!((t.settled_by, t.rows_compared_by_row), (SettledBy::Chunks, 0), "equal chunks read no row");
    assert!(t.chunks >= 5, "{} chunks", t.chunks);
    assert_eq!(r.table(&format!("{db}.nk")).unwrap().source_rows, Some(4));
}

#[test]
fn every_difference_is_reported_exactly_and_the_repair_makes_the_sides_identical() {
    let pair = shared_pair();
    let db = identical_pair("vf_diff");
    run_sql(
        &pair.destination,
        db.as_str(),
        &[
            "DELETE FROM t WHERE id = 5".into(),
            "INSERT INTO t (id, s) VALUES (1000, 'extra')".into(),
            "UPDATE t SET j = '{\"k\": 2}' WHERE id = 10".into(),
            "UPDATE t SET b = X'0100' WHERE id = 11".into(),
            "UPDATE t SET f = 12.25 WHERE id = 12".into(),
            "UPDATE t SET d = d + 1e-13 WHERE id = 13".into(),
            "UPDATE t SET z = '2020-01-01' WHERE id = 14".into(),
            "UPDATE t SET `dec` = 15.000002 WHERE id = 15".into(),
            "UPDATE t SET ts = '2021-06-01 10:00:00.124' WHERE id = 16".into(),
            "UPDATE t SET s = '' WHERE id = 17".into(),
            "UPDATE t SET s = NULL WHERE id = 18".into(),
            "INSERT INTO nk VALUES (1, 'a')".into(),
            "DELETE FROM nk WHERE x = 2".into(),
        ],
    );
    let r = dts_verify::run(&pair.source.opts(), &pair.destination.opts(), &select(&db), &options(), None).unwrap();
    let t = r.table(&format!("{db}.t")).unwrap();
    assert_eq!(t.missing.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(), ["id=5"], "{}", r.to_table());
    assert_eq!(t.extra.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(), ["id=1000"], "{}", r.to_table());
    let different: BTreeMap<&str, Vec<&str>> =
        t.different.iter().map(|d| (d.key.as_str(), d.columns.iter().map(String::as_str).collect())).collect();
    let expected: BTreeMap<&str, Vec<&str>> = [
        ("id=10", vec!["j"]),
        ("id=11", vec!["b"]),
        ("id=12", vec!["f"]),
        ("id=13", vec!["d"]),
        ("id=14", vec!["z"]),
        ("id=15", vec!["dec"]),
        ("id=16", vec!["ts"]),
        ("id=17", vec!["s"]),
        ("id=18", vec!["s"]),
    ]
    .into();
    assert_eq!(different, expected, "{}", r.to_table());
    assert!(t.schema.is_empty(), "{:?}", t.schema);
    let nk = r.table(&format!("{db}.nk")).unwrap();
    assert_eq!(nk.extra.len(), 1, "{}", r.to_table());
    assert!(nk.extra[0].key.contains("x=1") && nk.extra[0].key.contains("'a'"), "{:?}", nk.extra);
    assert_eq!(nk.missing.len(), 1);
    assert!(nk.missing[0].key.contains("x=2"), "{:?}", nk.missing);
    assert_eq!(r.differences(), 13);
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["identical"], false);
    assert_eq!(json["differences"], 13);
    // The repair script, run on the destination, makes the sides identical.
    let sql = r.repair_sql();
    let mut c = pair.destination.conn().unwrap();
    c.query_drop(&sql).unwrap_or_else(|e| panic!("{e}\n{sql}"));
    drop(c);
    let r = dts_verify::run(&pair.source.opts(), &pair.destination.opts(), &select(&db), &options(), None).unwrap();
    assert!(r.identical(), "{}", r.to_table());
}

#[test]
fn renames_column_subsets_and_filters_are_honoured() {
    let pair = shared_pair();
    let db = pair.source.fresh_database("vf_map").unwrap();
    let target = format!("{}_copy", db.as_str());
    let mut src: Vec<String> =
        vec!["CREATE TABLE orders (id INT PRIMARY KEY, amount DECIMAL(10,2), secret VARCHAR(10), note TEXT)".into()];
    let mut dst: Vec<String> = vec!["CREATE TABLE o (id INT PRIMARY KEY, total DECIMAL(10,2), note TEXT)".into()];
    for i in 1..=100 {
        src.push(format!("INSERT INTO orders VALUES ({i}, {i}.50, 'x{i}', 'n{i}')"));
        if i % 2 == 0 {
            dst.push(format!("INSERT INTO o VALUES ({i}, {i}.50, 'n{i}')"));
        }
    }
    run_sql(&pair.source, db.as_str(), &src);
    run_sql(&pair.destination, &target, &dst);
    let selection = Selection {
        databases: vec![DatabaseRule {
            database: db.to_string(),
            rename: Some(target.clone()),
            tables: Some(vec![TableRule {
                name: "orders".into(),
                rename: Some("o".into()),
                exclude_columns: vec!["secret".into()],
                column_renames: [("amount".to_string(), "total".to_string())].into(),
                filter: Some("id % 2 = 0".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }],
        ..Default::default()
    };
    let r = dts_verify::run(&pair.source.opts(), &pair.destination.opts(), &selection, &options(), None).unwrap();
    assert!(r.identical(), "{}", r.to_table());
    assert_eq!(r.tables[0].source_rows, Some(50));
    assert!(r.tables[0].chunks >= 2, "a filtered column subset is compared by chunks");
    // A row outside the filter on the destination is extra; a changed renamed column is named.
    run_sql(
        &pair.destination,
        &target,
        &["INSERT INTO o VALUES (7, 7.50, 'n7')".into(), "UPDATE o SET total = 0 WHERE id = 8".into()],
    );
    let r = dts_verify::run(&pair.source.opts(), &pair.destination.opts(), &selection, &options(), None).unwrap();
    let t = &r.tables[0];
    assert_eq!(t.extra.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(), ["id=7"], "{}", r.to_table());
    assert_eq!(t.different.len(), 1);
    assert_eq!(t.different[0].columns, ["amount"]);
    assert!(t.different[0].repair.contains("`total`") && !t.different[0].repair.contains("secret"));
    // A schema difference: a column only on the destination.
    run_sql(&pair.destination, &target, &["ALTER TABLE o ADD COLUMN extra INT".into()]);
    let r = dts_verify::run(&pair.source.opts(), &pair.destination.opts(), &selection, &options(), None).unwrap();
    assert!(r.tables[0].schema.iter().any(|s| s.contains("extra")), "{:?}", r.tables[0].schema);
}

/// Native replication as the sync under test: it has applied up to a position when its SQL
/// thread has executed past it.
struct ReplicaProgress<'a>(&'a Sandbox);

impl Progress for ReplicaProgress<'_> {
    fn wait_applied(&self, pos: &BinlogPosition, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut c = self.0.root_conn().unwrap();
        while Instant::now() < deadline {
            let st: mysql::Row = c.query_first("SHOW SLAVE STATUS").unwrap().unwrap();
            let file: String = st.get("Relay_Master_Log_File").unwrap();
            let at: u64 = st.get("Exec_Master_Log_Pos").unwrap();
            if BinlogPosition::new(file, at) >= *pos {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

#[test]
fn a_comparison_during_a_write_workload_reports_no_false_difference() {
    let pair = shared_pair();
    let source = &pair.source;
    let db = source.fresh_database("vf_live").unwrap();
    let replica = Sandbox::builder("verify-replica").server_id(replica_server_id()).start().unwrap();
    let BinlogPosition { file, offset: pos } = source.binlog_position().unwrap();
    run_sql(
        source,
        db.as_str(),
        &[
            "CREATE TABLE kv (id INT PRIMARY KEY, v BIGINT, s VARCHAR(40))".into(),
            "CREATE TABLE log (k INT, v VARCHAR(20))".into(),
        ],
    );
    {
        let mut r = replica.root_conn().unwrap();
        r.query_drop(format!("SET GLOBAL replicate_do_db = '{db}'")).unwrap();
        // The replica lags on purpose: a second behind the source.
        // CHANGE MASTER takes plain literals only: both are the sandbox's own plain names.
        let pw = source.password().expose();
        let plain = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        assert!(plain(pw) && plain(&file));
        r.query_drop(format!(
            "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {}, MASTER_USER = 'dts', MASTER_PASSWORD = '{pw}', \
             MASTER_LOG_FILE = '{file}', MASTER_LOG_POS = {pos}, MASTER_USE_GTID = no, MASTER_DELAY = 1",
            source.port()
        ))
        .unwrap();
        r.query_drop("START SLAVE").unwrap();
    }
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut c = source.conn().unwrap();
            c.query_drop(format!("USE {}", db.quoted())).unwrap();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let id = i % 300;
                c.query_drop(format!(
                    "INSERT INTO kv VALUES ({id}, {i}, 'v{i}') ON DUPLICATE KEY UPDATE v = v + 1, s = CONCAT('u', {i})"
                ))
                .unwrap();
                if i.is_multiple_of(7) {
                    c.query_drop(format!("DELETE FROM kv WHERE id = {}", (i * 13) % 300)).unwrap();
                }
                // A keyless table: duplicates come and go.
                c.query_drop(format!("INSERT INTO log VALUES ({}, 'x')", i % 40)).unwrap();
                if i.is_multiple_of(3) {
                    c.query_drop(format!("DELETE FROM log WHERE k = {} LIMIT 1", (i * 7) % 40)).unwrap();
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        std::thread::sleep(Duration::from_millis(1500));
        let o =
            VerifyOptions { threads: 2, chunk_rows: 50, recheck_wait: Duration::from_secs(20), ..Default::default() };
        // Without knowing the sync's progress, the lag shows as differences...
        let naive = dts_verify::run(&source.opts(), &replica.opts(), &select(&db), &o, None).unwrap();
        // ...with it, every difference is re-checked once the replica passed the position.
        let aware =
            dts_verify::run(&source.opts(), &replica.opts(), &select(&db), &o, Some(&ReplicaProgress(&replica)));
        stop.store(true, Ordering::Relaxed);
        let aware = aware.unwrap();
        assert!(!naive.identical(), "a replica a second behind should differ:\n{}", naive.to_table());
        // Rows still changing on the source are not settled either way: never a difference.
        assert_eq!(aware.differences(), 0, "{}", aware.to_table());
        eprintln!("during the workload: {} row(s) unsettled", aware.unsettled());
    });
    // Caught up and quiet: identical without any help.
    let end = source.binlog_position().unwrap();
    assert!(ReplicaProgress(&replica).wait_applied(&end, Duration::from_secs(30)));
    let r = dts_verify::run(&source.opts(), &replica.opts(), &select(&db), &options(), None).unwrap();
    assert!(r.identical(), "{}", r.to_table());
}

#[test]
fn the_row_checker_compares_given_keys_and_counts() {
    let pair = shared_pair();
    let db = identical_pair("vf_rows");
    let mut checker = dts_verify::RowChecker::new(&pair.source.opts(), &pair.destination.opts()).unwrap();
    let mut src = dts_verify::connect(&pair.source.opts()).unwrap();
    let map = dts_verify::selected_tables(&mut src, &select(&db))
        .unwrap()
        .into_iter()
        .find(|m| m.source.table.as_str() == "t")
        .unwrap();
    let t = checker.table(map).unwrap();
    let keys: Vec<Vec<dts_types::Value>> = (1..=5).map(|i| vec![dts_types::Value::Int(i)]).collect();
    let d = checker.check(&t, &keys, &options(), None).unwrap();
    assert!(d.keys.is_empty());
    assert_eq!((checker.checked, checker.mismatched), (5, 0));
    run_sql(
        &pair.destination,
        db.as_str(),
        &["UPDATE t SET `dec` = 0 WHERE id = 2".into(), "DELETE FROM t WHERE id = 3".into()],
    );
    let d = checker.check(&t, &keys, &options(), None).unwrap();
    assert_eq!(d.different.len(), 1);
    assert_eq!((d.different[0].key.as_str(), d.different[0].columns.as_slice()), ("id=2", &["dec".to_string()][..]));
    assert_eq!(d.missing.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(), ["id=3"]);
    assert_eq!((checker.checked, checker.mismatched), (10, 2));
}

/// A repair asked to stop (`dts-sync stop` sets the flag through the lease `verify --apply`
/// holds) repairs no further table and says so for each; the destination keeps its
/// differences.
#[test]
fn a_repair_asked_to_stop_refuses_the_tables_it_did_not_repair() {
    let pair = shared_pair();
    let db = identical_pair("vf_stop");
    run_sql(&pair.destination, db.as_str(), &["DELETE FROM t WHERE id = 5".into()]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut policy = || Ok(dts_verify::RepairOptions { stop: Some(stop.clone()), ..Default::default() });
    let r =
        dts_verify::apply(&pair.source.opts(), &pair.destination.opts(), &select(&db), &options(), None, &mut policy)
            .unwrap();
    let applied = r.apply.as_ref().unwrap();
    assert_eq!((applied.rows_written, applied.rows_deleted), (0, 0), "{}", r.to_table());
    assert!(
        applied.refused.iter().any(|x| x.table == format!("{db}.t") && x.reason.contains("asked to stop")),
        "{:?}",
        applied.refused
    );
    let again = dts_verify::run(&pair.source.opts(), &pair.destination.opts(), &select(&db), &options(), None).unwrap();
    assert_eq!(again.differences(), 1, "{}", again.to_table());
}
