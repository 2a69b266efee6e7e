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
use dts_types::{ColumnType, RowChange, Value};
use mysql::prelude::Queryable;

#[test]
fn every_column_type_arrives_decoded_exactly_from_a_no_log_source() {
    let sb = Sandbox::builder("nolog").option("binlog_row_metadata", "NO_LOG").start().unwrap();
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
            c.query_drop(format!("INSERT INTO {t} VALUES ({i}, {})", v.to_sql_literal().unwrap())).unwrap();
        }
    }

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("nolog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!(
        "{}\n{}\n[task]\nname = \"nolog_{db}\"\nserver_id = {}\nheartbeat = false\n\n[[objects]]\ndatabase = \"{db}\"\n",
        sb.task_section("source", &dir).unwrap(),
        shared_pair().destination.task_section("destination", &dir).unwrap(),
        replica_server_id(),
    );
    let path = dir.join("task.toml");
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    let mut input = BinlogInput::new(&config, start, Arc::new(AtomicBool::new(false)), true, Arc::default());
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
