//! The every-type test of the binlog reader (`crates/binlog/tests/live.rs`), on a source that
//! logs `binlog_row_metadata=NO_LOG` (MariaDB's default): table maps carry no column names,
//! signedness, charsets or ENUM/SET members, so every value decodes exactly only through the
//! task's own input (`dts_task::BinlogInput`), whose reader takes them from the schema history.
//! Half of the tables exist when the history is bootstrapped, half are created after it (their
//! schema comes from the DDL replayed into the shadow database).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use dts_applier::{Input, InputSource};
use dts_task::{BinlogInput, Config};
use dts_testkit::{Sandbox, binlog_position, replica_server_id, shared_pair};
use dts_types::value::samples::edge_cases;
use dts_types::{BinlogPosition, ColumnType, Ident, RowChange, SourcePosition, Value};
use mysql::prelude::Queryable;

fn no_log_source() -> Sandbox {
    Sandbox::builder("nolog").option("binlog_row_metadata", "NO_LOG").start().unwrap()
}

/// The task's own input for database `db` of `sb`, from `start` (a fresh one is what a restarted
/// process builds: the schema history is read back from the destination).
fn input(sb: &Sandbox, db: &Ident, start: &BinlogPosition) -> BinlogInput {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("nolog-{}-{db}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!(
        "{}\n{}\n[task]\nname = \"nolog_{db}\"\nserver_id = {}\nheartbeat = false\n\n[[objects]]\ndatabase = \"{db}\"\n",
        sb.task_section("source", &dir).unwrap(),
        shared_pair().destination.task_section("destination", &dir).unwrap(),
        replica_server_id(),
    );
    let path = dir.join(format!("{db}.toml"));
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    BinlogInput::new(&config, start.clone(), Arc::new(AtomicBool::new(false)), true, Arc::default())
}

#[test]
fn every_column_type_arrives_decoded_exactly_from_a_no_log_source() {
    let sb = no_log_source();
    let db = sb.fresh_database("nolog_types").unwrap();
    let mut c = sb.exact_conn().unwrap();
    let meta: String = c.query_first("SELECT @@binlog_row_metadata").unwrap().unwrap();
    assert_eq!(meta, "NO_LOG");
    let cases = edge_cases();
    let create = |c: &mut mysql::Conn, i: usize| {
        let case = &cases[i];
        let t = format!("{}.{}", db.quoted(), dts_types::quote_ident(case.name));
        c.query_drop(format!("CREATE TABLE {t} (id INT PRIMARY KEY, v {} NULL)", case.ty)).unwrap();
    };
    let half = cases.len() / 2;
    for i in 0..half {
        create(&mut c, i);
    }
    let start = binlog_position(&mut c).unwrap();
    for i in half..cases.len() {
        create(&mut c, i);
    }
    for case in &cases {
        let t = format!("{}.{}", db.quoted(), dts_types::quote_ident(case.name));
        for (i, v) in case.values.iter().enumerate() {
            let insert = format!("INSERT INTO {t} VALUES ({i}, {})", v.to_sql_literal().unwrap());
            c.query_drop(if v.is_enum_zero() { dts_types::session::allowing_enum_zero(&insert) } else { insert })
                .unwrap();
        }
    }

    let mut input = input(&sb, &db, &start);
    input.start(None).unwrap();
    let mut got: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    while let Some(i) = input.next_input() {
        if let Input::Row { target, change: RowChange::Insert { after } } = i.unwrap() {
            got.entry(target.target.table.as_str().to_string()).or_default().push(after[1].clone());
        }
    }
    for case in &cases {
        // MariaDB's JSON is a LONGTEXT: exactly the JSON text's bytes, in utf8mb4.
        let want: Vec<Value> = case
            .values
            .iter()
            .map(|v| match (v, &case.ty) {
                (Value::Json(b), ColumnType::Json) => {
                    Value::String(dts_types::Text::new(dts_types::Charset::UTF8MB4, b.clone()))
                }
                (other, _) => other.clone(),
            })
            .collect();
        assert_eq!(got.get(case.name).cloned().unwrap_or_default(), want, "{} {}", case.name, case.ty);
    }
}

#[test]
fn a_restart_decodes_each_event_with_the_schema_at_its_position() {
    let sb = no_log_source();
    let db = sb.fresh_database("nolog_flip").unwrap();
    let mut c = sb.exact_conn().unwrap();
    c.query_drop(format!("USE {}", db.quoted())).unwrap();
    c.query_drop("CREATE TABLE flip (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)").unwrap();
    let start = binlog_position(&mut c).unwrap();
    // The signedness flips twice a round; under NO_LOG the table maps of both shapes are alike.
    let mut want = Vec::new();
    for i in 1..=5i64 {
        c.query_drop("DELETE FROM flip WHERE v < 0").unwrap();
        c.query_drop("ALTER TABLE flip MODIFY v INT UNSIGNED NOT NULL").unwrap();
        c.query_drop(format!("INSERT INTO flip VALUES ({i}, {})", 4_000_000_000 + i)).unwrap();
        want.push((i, Value::UInt(4_000_000_000 + i as u64)));
        c.query_drop("ALTER TABLE flip MODIFY v BIGINT NOT NULL").unwrap();
        c.query_drop(format!("INSERT INTO flip VALUES ({}, {})", 100 + i, -i)).unwrap();
        want.push((100 + i, Value::Int(-i)));
    }
    let inserts = |input: &mut BinlogInput, upto: Option<usize>| -> (Vec<(i64, Value)>, Option<SourcePosition>) {
        let (mut rows, mut last) = (Vec::new(), None);
        while let Some(i) = input.next_input() {
            match i.unwrap() {
                Input::Row { change: RowChange::Insert { after }, .. } => {
                    let Value::Int(id) = after[0] else { panic!("id {:?}", after[0]) };
                    rows.push((id, after[1].clone()));
                }
                Input::Commit(p) => {
                    last = Some(p);
                    if upto.is_some_and(|n| rows.len() >= n) {
                        break;
                    }
                }
                _ => {}
            }
        }
        (rows, last)
    };
    // The first run reads (and records the DDL) up to the fifth row, then stops.
    let mut first = input(&sb, &db, &start);
    first.start(None).unwrap();
    let (head, at) = inserts(&mut first, Some(5));
    assert_eq!(head, want[..5]);
    drop(first);
    // A restart from an earlier checkpoint (the applier had not committed everything): the DDL
    // is read again, already recorded, and every row still decodes with its own schema.
    let mut again = input(&sb, &db, &start);
    again.start(None).unwrap();
    let (all, _) = inserts(&mut again, None);
    assert_eq!(all, want, "replayed from the start");
    // And from the first run's last commit: the rest, exactly.
    let mut rest = input(&sb, &db, &start);
    rest.start(at.as_ref()).unwrap();
    let (tail, _) = inserts(&mut rest, None);
    assert_eq!(tail, want[5..], "resumed from the checkpoint");
}
