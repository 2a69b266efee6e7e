//! Row filter throughput in incremental sync: row images decided in-process (integer and
//! decimal-literal filters; the integer one is the baseline) and by the source server (a string
//! filter under utf8mb4_general_ci, through the task's `Evaluator`), one change at a time as the
//! router asks (batch 1), and in batches of 100 and 1000; every value distinct (no decision remembered),
//! and with 10 distinct values (decisions remembered). Rows per second, medians of RUNS runs,
//! one after the other (each kind's runs back to back).
//!
//! cargo run --release -p dts-benches --bin filter
//! ROWS=20000 RUNS=5 cargo run --release -p dts-benches --bin filter

use std::time::Duration;

use dts_benches::{env_num, median, time_runs};
use dts_binlog::{BinlogReader, Item, ReaderParts, ReplicaOptions, StartPosition};
use dts_task::{Evaluator, Filter};
use dts_testkit::{Sandbox, binlog_position, replica_server_id};
use dts_types::{RowChange, TableChange, TableSchema, Value};
use mysql::prelude::Queryable;

fn images(sb: &Sandbox, table: &str, start: dts_types::BinlogPosition) -> (TableSchema, Vec<Vec<Value>>) {
    let mut o = ReplicaOptions::new(replica_server_id(), StartPosition::File(start));
    o.stop_at_end = true;
    let mut schema = None;
    let mut rows = Vec::new();
    for item in BinlogReader::connect(sb.opts(), o, ReaderParts::default()).unwrap() {
        if let Item::Row(TableChange { table: t, change: RowChange::Insert { after } }) = item.unwrap()
            && t.id.table.as_str() == table
        {
            schema.get_or_insert_with(|| (*t).clone());
            rows.push(after);
        }
    }
    (schema.unwrap(), rows)
}

fn main() {
    let n = env_num("ROWS", 20_000);
    let runs = env_num("RUNS", 5) as usize;
    let sb = Sandbox::start("bench-filter").unwrap();
    let mut c = sb.exact_conn().unwrap();
    c.query_drop("CREATE DATABASE bench").unwrap();
    c.query_drop(
        "CREATE TABLE bench.distinct_values (id INT PRIMARY KEY, city VARCHAR(40) COLLATE utf8mb4_general_ci)",
    )
    .unwrap();
    c.query_drop("CREATE TABLE bench.few_values (id INT PRIMARY KEY, city VARCHAR(40) COLLATE utf8mb4_general_ci)")
        .unwrap();
    let start = binlog_position(&mut c).unwrap();
    for lo in (0..n).step_by(1000) {
        let ids = lo..(lo + 1000).min(n);
        let rows =
            |city: &dyn Fn(u64) -> String| ids.clone().map(|i| format!("({i}, '{}')", city(i))).collect::<Vec<_>>();
        c.query_drop(format!(
            "INSERT INTO bench.distinct_values VALUES {}",
            rows(&|i| format!("Zürich {i}")).join(",")
        ))
        .unwrap();
        c.query_drop(format!(
            "INSERT INTO bench.few_values VALUES {}",
            rows(&|i| format!("Zürich {}", i % 10)).join(",")
        ))
        .unwrap();
    }
    let (distinct_schema, distinct) = images(&sb, "distinct_values", start.clone());
    let (few_schema, few) = images(&sb, "few_values", start);
    let integer = Filter::parse("id % 3 = 1").unwrap();
    let decimal = Filter::parse("id BETWEEN 10.5 AND 5000.25 OR id > 9000").unwrap();
    let string = Filter::parse("city LIKE 'zurich 1%'").unwrap();

    let measure = |filter: &Filter, schema: &TableSchema, rows: &[Vec<Value>], batch: usize| -> Duration {
        let refs: Vec<&[Value]> = rows.iter().map(|r| r.as_slice()).collect();
        median(time_runs(runs, || {
            // A fresh evaluator each run: nothing remembered from the last one.
            let mut eval = Evaluator::new(sb.opts());
            let mut passed = 0;
            for chunk in refs.chunks(batch) {
                passed += eval.decide(filter, schema, chunk).unwrap().into_iter().filter(|p| *p).count();
            }
            assert!(passed > 0);
        }))
    };
    let rate = |d: Duration, rows: usize| rows as f64 / d.as_secs_f64();
    let baseline = rate(measure(&integer, &distinct_schema, &distinct, 1), distinct.len());
    println!("{} rows, median of {runs} runs", distinct.len());
    println!("in-process, integer filter, batch 1 (baseline): {baseline:.0} rows/s");
    let r = rate(measure(&decimal, &distinct_schema, &distinct, 1), distinct.len());
    println!("in-process, decimal literals, batch 1: {r:.0} rows/s ({:.3} of the baseline)", r / baseline);
    for (what, schema, rows) in [
        ("server, every value distinct", &distinct_schema, &distinct),
        ("server, 10 distinct values", &few_schema, &few),
    ] {
        for batch in [1, 100, 1000] {
            let r = rate(measure(&string, schema, rows, batch), rows.len());
            println!("{what}, batch {batch}: {r:.0} rows/s ({:.3} of the baseline)", r / baseline);
        }
    }
}
