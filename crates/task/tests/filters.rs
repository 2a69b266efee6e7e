//! Row filters decide as the source server does, for every accepted construct on every type
//! and collation family: each value is written on a real source, read back from its binlog as
//! incremental sync sees it, and the [`Evaluator`]'s decision is compared with the server's own
//! `WHERE` (both with the rendered SQL and with the text as written). Integer filters are decided
//! in-process; this test is the proof that they never differ from the server.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use dts_binlog::{BinlogReader, Item, ReaderParts, ReplicaOptions, StartPosition};
use dts_task::{EvalError, Evaluator, Filter};
use dts_testkit::{Sandbox, binlog_position, replica_server_id, shared_pair};
use dts_types::{RowChange, TableChange, TableSchema, Value};
use mysql::prelude::Queryable;

/// One family: the column's type, the values written (SQL literals), the filters (`c` is the
/// column).
struct Family {
    name: &'static str,
    types: &'static [&'static str],
    values: &'static [&'static str],
    filters: &'static [&'static str],
}

const STRING_VALUES: &[&str] = &[
    "'Zürich'",
    "'zurich'",
    "'ZURICH'",
    "'zurich  '",
    "'zurich\\t'",
    "'ábc'",
    "'abc'",
    "'ABC'",
    "'ab'",
    "'Ab%x'",
    "''",
    "' '",
    "NULL",
    "'10'",
    "'10abc'",
    "' 5'",
    "'1e1'",
    "'ß'",
    "'ss'",
    "'a_c'",
    "'m'",
    "'Ä'",
    "'ae'",
];
const STRING_FILTERS: &[&str] = &[
    "c = 'zurich'",
    "c = 'Zurich '",
    "c <> 'zurich'",
    "c LIKE 'ab%'",
    "c LIKE 'a_c'",
    "c LIKE 'a\\_c'",
    "c NOT LIKE '%c'",
    "c LIKE 'zurich'",
    "c = 10",
    "c > 5",
    "c > 'm'",
    "c < 'B'",
    "c IN ('abc', 'ss', NULL)",
    "c NOT IN ('abc', 'ss')",
    "c BETWEEN 'a' AND 'b'",
    "c <=> NULL",
    "c IS NULL OR c = ''",
    "c IS TRUE",
    "NOT c",
    "c = 'ss' XOR c = 'ß'",
    "c + 0 = 10",
];

const FAMILIES: &[Family] = &[
    Family {
        name: "strings",
        types: &[
            "VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
            "VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
            "VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
            "VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin",
            "VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci",
            "CHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
            "TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
        ],
        values: STRING_VALUES,
        filters: STRING_FILTERS,
    },
    Family {
        name: "binary",
        types: &["VARBINARY(20)", "BINARY(6)", "BLOB"],
        values: &["'abc'", "'abc '", "'ABC'", "'abc\\0'", "''", "NULL", "'10'", "'ábc'", "'ab'", "X'00'"],
        filters: &[
            "c = 'abc'",
            "c = 'abc '",
            "c = 'abc\\0\\0\\0'",
            "c LIKE 'ab%'",
            "c LIKE 'abc'",
            "c > 'ab'",
            "c = 10",
            "c IN ('ABC', 'ab')",
            "c IS NOT NULL AND c <> ''",
        ],
    },
    Family {
        name: "enum_set",
        types: &[
            "ENUM('new','done','x y') CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
            "SET('a','b','c') CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
        ],
        values: &["1", "2", "3", "'done'", "'new'", "NULL", "'a,b'", "'c'", "'a'", "5", "'x y'"],
        filters: &[
            "c = 2",
            "c = 'done'",
            "c = 'DONE'",
            "c = 'a,b'",
            "c > 1",
            "c < 'm'",
            "c + 0 = 3",
            "c IN (1, 'done')",
            "c LIKE '%b%'",
            "c LIKE 'd%'",
            "c BETWEEN 2 AND 3",
            "c = '2'",
        ],
    },
    Family {
        name: "integers",
        types: &["INT", "BIGINT UNSIGNED", "TINYINT", "BIGINT"],
        values: &["0", "1", "7", "-7", "10", "127", "-128", "NULL", "255", "3"],
        filters: &[
            "c % 3 = 1",
            "c MOD 2 = -1",
            "c DIV 2 = 3",
            "c * 2 > 10",
            "c BETWEEN -5 AND 5",
            "c NOT BETWEEN 1 AND 10",
            "c IN (1, 3, NULL)",
            "c NOT IN (1, 3)",
            "NOT c",
            "c IS FALSE",
            "c > -1",
            "c = 7 OR c = 10 XOR c > 5",
            "c <=> NULL",
            "c = '7'",
            "c = 7.0",
            "c = 1e1",
            "c / 2 = 3.5",
            "c + 1 = 8",
            "-c = -7",
        ],
    },
    Family {
        name: "numbers",
        types: &["DECIMAL(10,2)", "DOUBLE", "FLOAT"],
        values: &[
            "1.1",
            "1.10",
            "0.1",
            "-0",
            "2.5",
            "NULL",
            "100",
            "1e1",
            "0.30000000000000004",
            "-0.5",
            "-1.10",
            "99999999.99",
            "0.00",
            "-100",
        ],
        filters: &[
            "c = 1.1",
            "c = '1.1'",
            "c > 0.1",
            "c = 10",
            "c BETWEEN 0.2 AND 3",
            "c * 3 = 0.3",
            "c / 4 = 0.625",
            "c = -1.1",
            "c > -0.5",
            "c >= -0.50",
            "c IN (1.1, 2.50, NULL)",
            "c NOT IN (1.1, -100)",
            "c BETWEEN -1.1 AND 1.1",
            "NOT c",
            "c IS TRUE",
            "-c < 0",
            "c = 1.100000000000000000000000000000001",
            "c < 99999999.990",
            "c = 0",
        ],
    },
    Family {
        name: "temporal",
        types: &["DATETIME(6)", "DATE", "TIMESTAMP NULL", "TIME", "YEAR"],
        values: &[
            "'2024-03-01 10:00:00'",
            "'2024-03-01'",
            "'2024-03-02 00:00:00.5'",
            "'2023-12-31 23:59:59'",
            "NULL",
            "'2024-01-01 00:00:00'",
            "'1999-01-01'",
            "'10:30:00'",
            "'-01:00:00'",
            "2024",
            "24",
            "'1999'",
            "'0000-00-00'",
            "'2024-02-29 23:59:59.999999'",
            "'2024-03-01 00:00:00.000001'",
        ],
        filters: &[
            "c >= '2024-03-01'",
            "c < DATE '2024-03-02'",
            "c = '2024-3-1'",
            "c = 20240301",
            "c > TIMESTAMP '2024-01-01 00:00:00'",
            "c BETWEEN '2023-01-01' AND '2024-12-31 23:59:59'",
            "c > TIME '10:00:00'",
            "c = 2024",
            "c = 24",
            "c LIKE '2024%'",
            "c = '2024-03-01 00:00:00'",
            "c <= '2024-03-01'",
            "c IN ('2024-03-01', DATE '1999-01-01')",
            "c > '2024-02-30'",
            "c = TIMESTAMP '2024-03-02 00:00:00.5'",
            "c <> '0000-00-00'",
            "c IS NULL OR c < DATE '2000-01-01'",
            "c NOT BETWEEN DATE '2024-02-29' AND '2024-03-01 00:00:00'",
            "c > '2024-02-29 23:59:59.9999'",
        ],
    },
];

/// Every row image of each table of `db` from `start` to the binlog's end, with its schema.
fn images(
    sb: &Sandbox,
    db: &str,
    start: dts_types::BinlogPosition,
) -> BTreeMap<String, (Arc<TableSchema>, Vec<Vec<Value>>)> {
    let mut o = ReplicaOptions::new(replica_server_id(), StartPosition::File(start));
    o.stop_at_end = true;
    o.heartbeat = Duration::from_millis(500);
    let reader = BinlogReader::connect(sb.opts(), o, ReaderParts::default()).unwrap();
    let mut out: BTreeMap<String, (Arc<TableSchema>, Vec<Vec<Value>>)> = BTreeMap::new();
    for item in reader {
        if let Item::Row(TableChange { table, change: RowChange::Insert { after } }) = item.unwrap()
            && table.id.database.as_str() == db
        {
            out.entry(table.id.table.as_str().to_string()).or_insert_with(|| (table.clone(), Vec::new())).1.push(after);
        }
    }
    out
}

#[test]
fn every_construct_on_every_type_and_collation_decides_as_the_server() {
    let sb = &shared_pair().source;
    let db = sb.fresh_database("filters").unwrap();
    // Values and the filters as written are sent as a user's client would (utf8mb4); the
    // rendered SQL as the full copy sends it (the exact session, `SET NAMES binary`).
    let mut c = sb.exact_conn().unwrap();
    c.query_drop("SET NAMES utf8mb4").unwrap();
    c.query_drop(format!("USE `{db}`")).unwrap();
    let start = binlog_position(&mut c).unwrap();
    let mut tables = Vec::new();
    for f in FAMILIES {
        for (n, ty) in f.types.iter().enumerate() {
            let table = format!("{}_{n}", f.name);
            c.query_drop(format!("CREATE TABLE `{table}` (id INT PRIMARY KEY, c {ty})")).unwrap();
            for (id, v) in f.values.iter().enumerate() {
                // A value the type cannot hold is refused in strict mode: it is not a row.
                let _ = c.query_drop(format!("INSERT INTO `{table}` VALUES ({id}, {v})"));
            }
            tables.push((table, *ty, f));
        }
    }
    let images = images(sb, db.as_str(), start);

    let mut eval = Evaluator::new(sb.opts());
    let (mut compared, mut in_process, mut refused_by_server) = (0, 0, 0);
    let mut wrong = Vec::new();
    for (table, ty, family) in &tables {
        let (schema, rows) = &images[table];
        assert!(rows.len() >= 4, "{table}: only {} rows", rows.len());
        let refs: Vec<&[Value]> = rows.iter().map(|r| r.as_slice()).collect();
        for text in family.filters {
            let filter = Filter::parse(text).unwrap();
            let server = |sql: &str, names: &str| -> Result<BTreeSet<i64>, mysql::Error> {
                let mut c = sb.exact_conn().unwrap();
                c.query_drop(format!("SET NAMES {names}")).unwrap();
                c.query(format!("SELECT id FROM `{db}`.`{table}` WHERE {sql}"))
                    .map(|v: Vec<i64>| v.into_iter().collect())
            };
            let want = server(text, "utf8mb4");
            let rendered = server(filter.sql(), "binary");
            let got = eval.decide(&filter, schema, &refs);
            match (want, rendered, got) {
                (Ok(want), Ok(rendered), Ok(got)) => {
                    let got: BTreeSet<i64> = rows
                        .iter()
                        .zip(got)
                        .filter(|(_, pass)| *pass)
                        .map(|(r, _)| match r[0] {
                            Value::Int(i) => i,
                            ref v => panic!("id {v:?}"),
                        })
                        .collect();
                    if want != rendered {
                        wrong.push(format!(
                            "{ty}: {text}: the rendered SQL {} selects {rendered:?}, the text {want:?}",
                            filter.sql()
                        ));
                    }
                    if want != got {
                        wrong.push(format!("{ty}: {text}: the server selects {want:?}, the evaluator {got:?}"));
                    }
                    compared += rows.len();
                    if filter.decided_in_process(schema) {
                        for r in rows {
                            let Value::Int(id) = r[0] else { unreachable!() };
                            // `None`: the server could refuse this row; it decided above.
                            if let Some(pass) = filter.decide_in_process(schema, r) {
                                in_process += 1;
                                if pass != want.contains(&id) {
                                    wrong.push(format!("{ty}: {text}: id {id}: in-process {pass}, the server not"));
                                }
                            }
                        }
                    }
                }
                // The server refuses the filter on some rows (an out-of-range result): the
                // evaluator reports that, it does not decide otherwise.
                (Err(_), Err(_), Err(EvalError::Server { .. })) => refused_by_server += 1,
                (want, rendered, got) => {
                    wrong.push(format!("{ty}: {text}: server {want:?}, rendered {rendered:?}, evaluator {got:?}"))
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} disagreements:\n{}", wrong.len(), wrong.join("\n"));
    assert!(in_process > 100 && compared > 2000, "compared {compared} decisions, {in_process} in-process");
    eprintln!(
        "compared {compared} decisions ({in_process} in-process, {refused_by_server} filters refused by the server)"
    );

    // The scratch tables never reach the binlog (incremental sync would otherwise read them).
    let end = binlog_position(&mut c).unwrap();
    let mut again = Evaluator::new(sb.opts());
    let (schema, rows) = &images["strings_0"];
    let refs: Vec<&[Value]> = rows.iter().map(|r| r.as_slice()).collect();
    again.decide(&Filter::parse("c = 'zurich'").unwrap(), schema, &refs).unwrap();
    assert!(again.server_decisions > 0);
    let mut o = ReplicaOptions::new(replica_server_id(), StartPosition::File(end));
    o.stop_at_end = true;
    for item in BinlogReader::connect(sb.opts(), o, ReaderParts::default()).unwrap() {
        match item.unwrap() {
            Item::Statement(s) => assert!(!s.sql_lossy().contains("dts_sync_filter"), "{}", s.sql_lossy()),
            Item::Row(tc) => assert!(!tc.table.id.table.as_str().starts_with("dts_sync_filter"), "{}", tc.table.id),
            _ => {}
        }
    }
}

#[test]
fn repeated_values_are_decided_once() {
    let sb = &shared_pair().source;
    let db = sb.fresh_database("filters_cache").unwrap();
    let mut c = sb.exact_conn().unwrap();
    c.query_drop(format!("CREATE TABLE `{db}`.t (id INT PRIMARY KEY, city VARCHAR(20) COLLATE utf8mb4_general_ci)"))
        .unwrap();
    let start = binlog_position(&mut c).unwrap();
    c.query_drop(format!("INSERT INTO `{db}`.t VALUES (1, 'Zürich'), (2, 'Bern'), (3, 'Zürich'), (4, 'zurich')"))
        .unwrap();
    let (schema, rows) = &images(sb, db.as_str(), start)["t"];
    let refs: Vec<&[Value]> = rows.iter().map(|r| r.as_slice()).collect();
    let mut eval = Evaluator::new(sb.opts());
    let f = Filter::parse("city = 'zurich'").unwrap();
    assert_eq!(eval.decide(&f, schema, &refs).unwrap(), [true, false, true, true]);
    assert_eq!(eval.server_decisions, 3, "'Zürich' twice is asked once");
    assert_eq!(eval.decide(&f, schema, &refs).unwrap(), [true, false, true, true]);
    assert_eq!(eval.server_decisions, 3, "decisions are remembered");

    // Long values are not remembered, yet a value repeated in one batch is still asked once.
    c.query_drop(format!("CREATE TABLE `{db}`.long_values (id INT PRIMARY KEY, body TEXT)")).unwrap();
    let start = binlog_position(&mut c).unwrap();
    c.query_drop(format!(
        "INSERT INTO `{db}`.long_values VALUES (1, REPEAT('a', 5000)), (2, REPEAT('a', 5000)), (3, REPEAT('b', 5000))"
    ))
    .unwrap();
    let (schema, rows) = &images(sb, db.as_str(), start)["long_values"];
    let refs: Vec<&[Value]> = rows.iter().map(|r| r.as_slice()).collect();
    let f = Filter::parse("body LIKE 'A%'").unwrap();
    let mut eval = Evaluator::new(sb.opts());
    assert_eq!(eval.decide(&f, schema, &refs).unwrap(), [true, true, false]);
    assert_eq!(eval.server_decisions, 2);
    assert_eq!(eval.decide(&f, schema, &refs).unwrap(), [true, true, false]);
    assert_eq!(eval.server_decisions, 4, "long values are asked again");
}

/// A value an application user writes to stall sync (issue 18: an in-process LIKE backtracked
/// exponentially on `'%a%a%a%b'`): LIKE is decided by the source server, whose matcher is
/// linear on these, so every decision stays quick.
#[test]
fn hostile_like_patterns_are_decided_in_bounded_time() {
    let sb = &shared_pair().source;
    let db = sb.fresh_database("filters_like").unwrap();
    let mut c = sb.exact_conn().unwrap();
    c.query_drop(format!("CREATE TABLE `{db}`.t (id INT PRIMARY KEY, body TEXT COLLATE utf8mb4_general_ci)")).unwrap();
    let start = binlog_position(&mut c).unwrap();
    c.query_drop(format!(
        "INSERT INTO `{db}`.t VALUES (1, REPEAT('a', 400)), (2, REPEAT('a', 20000)), (3, CONCAT(REPEAT('a', 20000), 'b'))"
    ))
    .unwrap();
    let (schema, rows) = &images(sb, db.as_str(), start)["t"];
    let refs: Vec<&[Value]> = rows.iter().map(|r| r.as_slice()).collect();
    for pattern in ["%a%a%a%b", "%a%a%a%a%a%a%ab%", "%a_a_a_a_%b"] {
        let f = Filter::parse(&format!("body LIKE '{pattern}'")).unwrap();
        let mut eval = Evaluator::new(sb.opts());
        let t = std::time::Instant::now();
        let got = eval.decide(&f, schema, &refs).unwrap();
        assert!(t.elapsed() < Duration::from_secs(2), "{pattern}: {:?}", t.elapsed());
        assert!(!got[0] && !got[1], "{pattern}: {got:?}");
    }
}
