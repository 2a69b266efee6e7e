//! Catch-up throughput of the applier: the binlog of a recorded sysbench oltp_write_only run
//! applied to a destination holding the pre-workload data, by dts (binlog reader + applier,
//! end to end) and by MariaDB's own replication (slave_parallel_threads=0, and 4 with
//! slave_parallel_mode=optimistic), interleaved run by run, each checked with CHECKSUM TABLE.
//!
//! Needs sysbench (apt-get install sysbench).
//! cargo run --release -p dts-benches --bin apply
//! TABLES=4 TABLE_SIZE=25000 EVENTS=20000 RUNS=3 cargo run --release -p dts-benches --bin apply

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use dts_applier::{Applier, ApplyOptions};
use dts_benches::{BENCH_USER, checksum_tables, env_num, median};
use dts_binlog::{BinlogReader, Item, ReaderParts, ReplicaOptions, StartPosition};
use dts_task::BinlogInput;
use dts_task::config::Config;
use dts_testkit::{Sandbox, binlog_position, peak_rss_kib, replica_server_id};
use dts_types::BinlogPosition;
use mysql::prelude::Queryable;

const DB: &str = "sbtest";

/// A task file for `sbtest` from `src` to `dst` (no heartbeat: nothing but the recorded
/// workload is in the source's binlog); the applier reads through the task's own input.
fn task_config(src: &Sandbox, dst: &Sandbox) -> Config {
    let dir = src.dir().join("bench-task");
    Config::load(&dts_benches::write_task_file(src, dst, &dir, "bench", DB, "heartbeat = false\n")).unwrap()
}

/// Puts the pre-workload data (kept in `sbtest_tpl`) back into `sbtest` on a destination.
fn reset(sb: &Sandbox, tables: &[String]) {
    let mut c = sb.conn().unwrap();
    c.query_drop("SET SESSION sql_log_bin = 0").unwrap();
    c.query_drop(format!("DROP DATABASE IF EXISTS {DB}")).unwrap();
    c.query_drop(format!("CREATE DATABASE {DB}")).unwrap();
    for t in tables {
        c.query_drop(format!("CREATE TABLE {DB}.{t} LIKE sbtest_tpl.{t}")).unwrap();
        c.query_drop(format!("INSERT INTO {DB}.{t} SELECT * FROM sbtest_tpl.{t}")).unwrap();
    }
    c.query_drop("DROP DATABASE IF EXISTS dts_meta").unwrap();
    // A replayed run must not meet the GTIDs of the last one in this server's binlog.
    c.query_drop("RESET MASTER").unwrap();
    c.query_drop("SET GLOBAL gtid_slave_pos = ''").ok();
}

fn main() {
    let tables = env_num("TABLES", 4);
    let size = env_num("TABLE_SIZE", 25_000);
    let events = env_num("EVENTS", 20_000);
    let runs = env_num("RUNS", 3) as usize;
    assert!(
        Command::new("sh").args(["-c", "command -v sysbench"]).output().unwrap().status.success(),
        "sysbench not found: apt-get install sysbench"
    );
    eprintln!("starting sandboxes...");
    // Each server writes its own GTIDs in a domain of its own, so replicated GTIDs never clash.
    let start = |name: &str, domain: u32| {
        Sandbox::builder(name).gtid_domain_id(domain).option("innodb_buffer_pool_size", "256M").start().unwrap()
    };
    let (src, dst, rep) = (start("ap-src", 1), start("ap-dst", 2), start("ap-replica", 3));
    for sb in [&src, &dst, &rep] {
        let mut c = sb.root_conn().unwrap();
        c.query_drop(format!("CREATE USER '{BENCH_USER}'@'127.0.0.1'")).unwrap();
        c.query_drop(format!("GRANT ALL ON *.* TO '{BENCH_USER}'@'127.0.0.1'")).unwrap();
    }
    src.conn().unwrap().query_drop(format!("CREATE DATABASE {DB}")).unwrap();
    let sysbench = |cmd: &str, extra: &str| dts_benches::sysbench_write_only(&src, DB, tables, size, cmd, extra);
    eprintln!("sysbench prepare {tables} x {size}...");
    sysbench("prepare", "--threads=2");
    let names: Vec<String> = (1..=tables).map(|i| format!("sbtest{i}")).collect();
    // The pre-workload data, as a template on both destinations.
    for sb in [&dst, &rep] {
        let mut c = sb.conn().unwrap();
        c.query_drop("CREATE DATABASE sbtest_tpl").unwrap();
        let mut s = src.conn().unwrap();
        for t in &names {
            let row: mysql::Row = s.query_first(format!("SHOW CREATE TABLE {DB}.{t}")).unwrap().unwrap();
            c.query_drop("USE sbtest_tpl").unwrap();
            c.query_drop(row.get::<String, _>(1).unwrap()).unwrap();
        }
    }
    let mut s = src.conn().unwrap();
    for t in &names {
        let rows: Vec<mysql::Row> = s.query(format!("SELECT * FROM {DB}.{t}")).unwrap();
        for sb in [&dst, &rep] {
            let mut c = sb.conn().unwrap();
            for chunk in rows.chunks(2000) {
                let vals: Vec<String> = chunk
                    .iter()
                    .map(|r| {
                        let (id, k, cc, pad): (i64, i64, String, String) = mysql::from_row(r.clone());
                        format!("({id},{k},'{cc}','{pad}')")
                    })
                    .collect();
                c.query_drop(format!("INSERT INTO sbtest_tpl.{t} VALUES {}", vals.join(","))).unwrap();
            }
        }
    }
    let from = binlog_position(&mut s).unwrap();
    eprintln!("sysbench oltp_write_only: {events} transactions, 4 threads...");
    sysbench("run", &format!("--threads=4 --events={events} --time=0 --rate=0"));
    let to = binlog_position(&mut s).unwrap();
    assert_eq!(from.file, to.file);
    let src_sums = checksum_tables(&src, DB, &names);
    let changes = {
        let mut o = ReplicaOptions::new(replica_server_id(), StartPosition::File(from.clone()));
        o.stop_at_end = true;
        BinlogReader::connect(src.opts(), o, ReaderParts::default())
            .unwrap()
            .filter(|i| matches!(i, Ok(Item::Row(_))))
            .count() as f64
    };
    let txns = events as f64;
    let config = task_config(&src, &dst);
    // The applier with one worker (in order on one connection) and with WORKERS in parallel.
    let worker_counts = [1usize, env_num("WORKERS", 4) as usize];
    let mut ours: Vec<Vec<Duration>> = vec![Vec::new(); worker_counts.len()];
    let mut native0 = Vec::new();
    let mut native4 = Vec::new();
    let mut hwm = 0u64;
    for run in 0..runs {
        for (i, &workers) in worker_counts.iter().enumerate() {
            eprintln!("run {}/{runs}: dts applier, {workers} worker(s)", run + 1);
            reset(&dst, &names);
            let t = Instant::now();
            // From the workload's start to the source's end of binlog (the workload's end).
            let mut input =
                BinlogInput::new(&config, from.clone(), Arc::new(AtomicBool::new(false)), true, Arc::default());
            let mut o = ApplyOptions::new("bench");
            o.workers = workers;
            let mut a = Applier::new(dst.opts(), o).unwrap();
            let stats = a.run(&mut input).unwrap();
            ours[i].push(t.elapsed());
            assert_eq!(checksum_tables(&dst, DB, &names), src_sums, "dts applied the workload exactly");
            assert_eq!(stats.row_changes as f64, changes);
        }
        hwm = hwm.max(peak_rss_kib());
        for (threads, out) in [(0, &mut native0), (4, &mut native4)] {
            eprintln!("run {}/{runs}: native replication, {threads} threads", run + 1);
            reset(&rep, &names);
            let mut r = rep.root_conn().unwrap();
            r.query_drop("STOP SLAVE").ok();
            r.query_drop("RESET SLAVE ALL").ok();
            r.query_drop(format!("SET GLOBAL slave_parallel_threads = {threads}")).unwrap();
            r.query_drop(format!(
                "SET GLOBAL slave_parallel_mode = '{}'",
                if threads > 0 { "optimistic" } else { "conservative" }
            ))
            .unwrap();
            // CHANGE MASTER takes a plain string: the name is the server's own, checked to be plain.
            assert!(from.file.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
            let file = format!("'{}'", from.file);
            r.query_drop(format!(
                "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {}, MASTER_USER = '{BENCH_USER}', MASTER_PASSWORD = '', \
                 MASTER_LOG_FILE = {file}, MASTER_LOG_POS = {}, MASTER_USE_GTID = no",
                src.port(),
                from.offset
            ))
            .unwrap();
            let t = Instant::now();
            r.query_drop("START SLAVE").unwrap();
            loop {
                let st: mysql::Row = r.query_first("SHOW SLAVE STATUS").unwrap().unwrap();
                let file: String = st.get("Relay_Master_Log_File").unwrap();
                let pos: u64 = st.get("Exec_Master_Log_Pos").unwrap();
                let err: String = st.get("Last_SQL_Error").unwrap_or_default();
                assert!(err.is_empty(), "native replication failed: {err}");
                if BinlogPosition::new(file, pos) >= to {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            out.push(t.elapsed());
            r.query_drop("STOP SLAVE").unwrap();
            assert_eq!(checksum_tables(&rep, DB, &names), src_sums, "native replication applied the workload exactly");
        }
    }
    let (m0, m4) = (median(native0).as_secs_f64(), median(native4).as_secs_f64());
    println!(
        "== catch-up of sysbench oltp_write_only: {events} transactions, {changes} row changes, {tables} x {size} rows, medians of {runs}"
    );
    for (i, runs) in ours.into_iter().enumerate() {
        let mo = median(runs).as_secs_f64();
        println!(
            "  dts, {} worker(s)               {mo:7.2} s  {:>8.0} txn/s  {:>8.0} row changes/s   {:.2}x native 0 threads, {:.2}x native 4 threads",
            worker_counts[i],
            txns / mo,
            changes / mo,
            m0 / mo,
            m4 / mo
        );
    }
    println!(
        "  native, 0 threads             {m0:7.2} s  {:>8.0} txn/s  {:>8.0} row changes/s",
        txns / m0,
        changes / m0
    );
    println!(
        "  native, 4 threads optimistic  {m4:7.2} s  {:>8.0} txn/s  {:>8.0} row changes/s",
        txns / m4,
        changes / m4
    );
    println!("  peak RSS of the dts process (reader + applier): {hwm} KiB");
}
