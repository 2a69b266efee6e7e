//! Reading a binlog in which 90% of row events belong to tables the task does not select: the
//! task's reader (its table filter, `dts_task::Router::table_filter`, rows of unselected tables
//! skipped before their values are decoded) against the baseline, the reader without a filter
//! (every row decoded, then dropped), as incremental sync read before issue 14.
//!
//! Ten tables of the same shape (integers, DECIMAL, DATETIME, VARCHAR); the task selects one.
//! The binlog: BATCHES rounds of one 100-row INSERT ... SELECT per table (default 400, so
//! 400,000 rows, 40,000 of them selected). Both readers fetch the same byte range over the
//! replication protocol from a live sandbox, interleaved run by run; figures are medians of
//! RUNS (default 3).
//!
//! cargo run --release -p dts-benches --bin binlog_filter
//! BATCHES=1000 RUNS=5 cargo run --release -p dts-benches --bin binlog_filter

use std::time::{Duration, Instant};

use dts_benches::{env_num, median};
use dts_binlog::{BinlogReader, Item, ReaderParts, ReplicaOptions, StartPosition};
use dts_task::{Config, Router};
use dts_testkit::{Sandbox, binlog_position, replica_server_id};
use dts_types::{BinlogPosition, TableId};
use mysql::prelude::Queryable;

const TABLES: usize = 10;

/// Reads `start..stop`; returns the time and the rows of the selected table it saw.
fn read(
    sb: &Sandbox,
    start: &BinlogPosition,
    stop: &BinlogPosition,
    selected: &TableId,
    filter: bool,
) -> (Duration, u64, u64) {
    let mut o = ReplicaOptions::new(replica_server_id(), StartPosition::File(start.clone()));
    o.stop_at_end = true;
    let parts = ReaderParts {
        filter: filter.then(|| {
            // The task selecting only `selected`, as a task file says it.
            let text = format!(
                "[source]\nhost = \"127.0.0.1\"\nuser = \"u\"\npassword_env = \"PATH\"\n[destination]\nhost = \"127.0.0.1\"\nuser = \"u\"\npassword_env = \"PATH\"\n\
                 [task]\nname = \"bench\"\nserver_id = 7\nheartbeat = false\n\
                 [[objects]]\ndatabase = \"{}\"\n[[objects.tables]]\nname = \"{}\"\n",
                selected.database.as_str(),
                selected.table.as_str()
            );
            let config = Config::parse(&text, std::path::Path::new("bench.toml")).expect("the bench's task file");
            Router::new(&config).table_filter()
        }),
        ..Default::default()
    };
    let t = Instant::now();
    let mut reader = BinlogReader::connect(sb.opts(), o, parts).unwrap();
    let mut kept = 0u64;
    for item in reader.by_ref() {
        match item.unwrap() {
            // What the task's input does with a row: route it by its table, drop the others.
            Item::Row(tc) if tc.table.id == *selected => kept += 1,
            Item::Commit(p) if p.binlog >= *stop => break,
            _ => {}
        }
    }
    (t.elapsed(), kept, reader.stats().skipped_rows_events)
}

fn main() {
    let batches = env_num("BATCHES", 400);
    let runs = env_num("RUNS", 3) as usize;
    let sb = Sandbox::builder("bench-filter").option("innodb_buffer_pool_size", "256M").start().unwrap();
    let db = sb.fresh_database("filter").unwrap();
    let mut c = sb.conn().unwrap();
    c.query_drop(format!("USE {}", db.quoted())).unwrap();
    for t in 0..TABLES {
        c.query_drop(format!(
            "CREATE TABLE t{t} (id BIGINT PRIMARY KEY, a INT, b BIGINT UNSIGNED, d DECIMAL(12,2), ts DATETIME(3), \
             s VARCHAR(40), u VARCHAR(40)) DEFAULT CHARSET=utf8mb4"
        ))
        .unwrap();
    }
    let start = binlog_position(&mut c).unwrap();
    let t0 = Instant::now();
    for b in 0..batches {
        for t in 0..TABLES {
            c.query_drop(format!(
                "INSERT INTO t{t} SELECT {b} * 100 + seq, seq, seq * 1000, seq / 7, '2024-05-01 12:00:00.123' + INTERVAL seq SECOND, \
                 CONCAT('label ', seq), CONCAT('zürich ', seq) FROM seq_1_to_100"
            ))
            .unwrap();
        }
    }
    let stop = binlog_position(&mut c).unwrap();
    eprintln!(
        "wrote {} rows in {:.1} s ({start} .. {stop})",
        batches * 100 * TABLES as u64,
        t0.elapsed().as_secs_f64()
    );
    let selected = TableId::parse(db.as_str(), "t0").unwrap();
    let (mut base, mut filtered) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (d, kept, skipped) = read(&sb, &start, &stop, &selected, false);
        assert_eq!((kept, skipped), (batches * 100, 0));
        base.push(d);
        let (d, kept, skipped) = read(&sb, &start, &stop, &selected, true);
        assert_eq!((kept, skipped), (batches * 100, batches * (TABLES as u64 - 1)), "every unselected event skipped");
        filtered.push(d);
    }
    let (b, f) = (median(base), median(filtered));
    println!("baseline (no filter, every row decoded then dropped): {:.3} s", b.as_secs_f64());
    println!("table filter (unselected rows skipped before decoding): {:.3} s", f.as_secs_f64());
    println!("ratio: {:.2}x faster", b.as_secs_f64() / f.as_secs_f64());
}
