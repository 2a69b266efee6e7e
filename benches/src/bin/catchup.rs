//! Catch-up as users run it: `dts-sync run --exit-when-caught-up` (the release binary, the task
//! file's defaults unless WORKERS is set) resuming a task from its checkpoint after a sysbench
//! oltp_write_only burst, against MariaDB replication's SQL thread (slave_parallel_threads=0)
//! applying the same burst from its relay log (fetched beforehand, as in
//! ../shared/bench/anchor-incremental.sh). Rounds alternate which of the two goes first; every
//! round is a new burst of EVENTS transactions by 4 client threads; at the end the source,
//! the destination and the replica must hold the same CHECKSUM TABLE.
//!
//! Timed: dts from the process's start to its exit (precheck, connections and catch-up);
//! native from START SLAVE SQL_THREAD until the SQL thread has executed the burst's end.
//! Also reported: the dts process's peak RSS (VmHWM).
//!
//! KEY=composite_string makes each table's primary key (id, pad), a CHAR(60) in a collation
//! that folds case; RAND=uniform spreads the changes evenly over the rows (sysbench's default,
//! `special`, sends 75% of them to 1% of the rows); TABLES=1 TABLE_SIZE=100 is a hot-row
//! workload.
//!
//! cargo build --release -p dts-sync && cargo run --release -p dts-benches --bin catchup
//! TABLES=4 TABLE_SIZE=100000 EVENTS=60000 RUNS=3 WORKERS=4 cargo run --release -p dts-benches --bin catchup
//! KEY=composite_string RAND=uniform cargo run --release -p dts-benches --bin catchup

use std::path::PathBuf;
use std::time::{Duration, Instant};

use dts_benches::{checksum_tables, dts_sync_binary, env_num, median, require, run_caught_up};
use dts_testkit::{Sandbox, binlog_position};
use dts_types::BinlogPosition;
use mysql::prelude::Queryable;

const DB: &str = "sbtest";

fn task_file(src: &Sandbox, dst: &Sandbox, workers: Option<u64>) -> PathBuf {
    // A section of its own: it goes before [[objects]], which ends the file.
    let incremental = workers.map_or(String::new(), |w| format!("\n[incremental]\nworkers = {w}\n"));
    dts_benches::write_task_file(src, dst, &src.dir().join("catchup-task"), "catchup", DB, &incremental)
}

/// Native replication's SQL thread applies what its IO thread fetched, until `to`.
fn run_native(r: &mut mysql::Conn, to: &BinlogPosition) -> Duration {
    let t = Instant::now();
    r.query_drop("START SLAVE SQL_THREAD").unwrap();
    while dts_benches::slave_pos(r, "Relay_Master_Log_File", "Exec_Master_Log_Pos") < *to {
        std::thread::sleep(Duration::from_millis(2));
    }
    t.elapsed()
}

fn main() {
    let tables = env_num("TABLES", 4);
    let size = env_num("TABLE_SIZE", 100_000);
    let events = env_num("EVENTS", 60_000);
    let runs = env_num("RUNS", 3) as usize;
    let workers = std::env::var("WORKERS").ok().map(|_| env_num("WORKERS", 1));
    require(&["sysbench"], "apt-get install sysbench");
    let bin = dts_sync_binary();
    let (src, dst, rep) = dts_benches::source_destination_replica("cu");
    let mut r = rep.root_conn().unwrap();
    src.conn().unwrap().query_drop(format!("CREATE DATABASE {DB}")).unwrap();
    let sysbench = |cmd: &str, extra: &str| dts_benches::sysbench_write_only(&src, DB, tables, size, cmd, extra);
    eprintln!("sysbench prepare {tables} x {size}...");
    sysbench("prepare", "--threads=2");
    let key = std::env::var("KEY").unwrap_or_else(|_| "int".into());
    match key.as_str() {
        "int" => {}
        "composite_string" => {
            let mut c = src.conn().unwrap();
            for i in 1..=tables {
                c.query_drop(format!("ALTER TABLE {DB}.sbtest{i} DROP PRIMARY KEY, ADD PRIMARY KEY (id, pad)"))
                    .unwrap();
            }
        }
        other => panic!("KEY={other}: int or composite_string"),
    }
    let rand = std::env::var("RAND").map(|r| format!(" --rand-type={r}")).unwrap_or_default();
    let task = task_file(&src, &dst, workers);
    eprintln!("dts-sync: schema and full copy (untimed)...");
    run_caught_up(&bin, &task);
    let names: Vec<String> = (1..=tables).map(|i| format!("sbtest{i}")).collect();
    let (mut ours, mut native, mut peak) = (Vec::new(), Vec::new(), 0);
    for round in 0..runs {
        r.query_drop("STOP SLAVE SQL_THREAD").unwrap();
        eprintln!("round {}/{runs}: sysbench oltp_write_only, {events} transactions, 4 threads...", round + 1);
        sysbench("run", &format!("--threads=4 --events={events} --time=0 --rate=0{rand}"));
        let to = binlog_position(&mut src.conn().unwrap()).unwrap();
        while dts_benches::slave_pos(&mut r, "Master_Log_File", "Read_Master_Log_Pos") < to {
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut dts_round = || {
            let (t, hwm) = run_caught_up(&bin, &task);
            eprintln!("  dts-sync: {:.2} s, peak RSS {} MiB", t.as_secs_f64(), hwm / 1024);
            peak = peak.max(hwm);
            t
        };
        let (d, n) = if round % 2 == 0 {
            let d = dts_round();
            (d, run_native(&mut r, &to))
        } else {
            let n = run_native(&mut r, &to);
            (dts_round(), n)
        };
        eprintln!("  native: {:.2} s   ratio {:.2}", n.as_secs_f64(), n.as_secs_f64() / d.as_secs_f64());
        ours.push(d);
        native.push(n);
    }
    let sums = checksum_tables(&src, DB, &names);
    assert_eq!(checksum_tables(&dst, DB, &names), sums, "dts-sync's destination equals the source");
    assert_eq!(checksum_tables(&rep, DB, &names), sums, "the native replica equals the source");
    let (mo, mn) = (median(ours).as_secs_f64(), median(native).as_secs_f64());
    let e = events as f64;
    let config = workers.map_or("defaults".to_string(), |w| format!("workers = {w}"));
    let keys = std::env::var("RAND").map_or(String::new(), |r| format!(", {r} keys"));
    println!(
        "== catch-up of {events} sysbench oltp_write_only transactions, {tables} x {size} rows, {key} primary key{keys}, medians of {runs}"
    );
    println!("  dts-sync run --exit-when-caught-up ({config})  {mo:7.2} s  {:>8.0} txn/s", e / mo);
    println!("  native SQL thread, 0 threads                   {mn:7.2} s  {:>8.0} txn/s", e / mn);
    println!("  dts / native rate: {:.2}   peak RSS of dts-sync: {} MiB", mn / mo, peak / 1024);
}
