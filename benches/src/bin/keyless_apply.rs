//! Catch-up of updates to a keyless table with a secondary index: dts (binlog reader + applier,
//! end to end, WORKERS workers, default 1: a keyless table's changes conflict by the values of
//! its integer columns) against MariaDB's own
//! replication (slave_parallel_threads=0) applying the same binlog to the same data, runs
//! interleaved, each checked with CHECKSUM TABLE. Target: dts at least as fast.
//!
//! Data: ROWS rows (default 100,000) of (grp INT, note CHAR(60), n INT) with KEY (grp), grp
//! unique in practice; workload: UPDATES single-row transactions `UPDATE ... SET n = n + 1
//! WHERE grp = ?` (default 20,000), recorded once in the source's binlog. Timed from the
//! start of a run that resumes the task (its metadata set up by a run stopped at once, as a
//! full copy leaves it) to the end of its catch-up, like native replication from START SLAVE.
//!
//! cargo run --release -p dts-benches --bin keyless_apply
//! ROWS=100000 UPDATES=20000 RUNS=3 WORKERS=2 cargo run --release -p dts-benches --bin keyless_apply

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use dts_applier::{Applier, ApplyOptions};
use dts_benches::{BENCH_USER, checksum_tables, env_num, median};
use dts_task::BinlogInput;
use dts_task::config::Config;
use dts_testkit::{Sandbox, binlog_position};
use dts_types::BinlogPosition;
use mysql::prelude::Queryable;

const DB: &str = "kla";
const DDL: &str =
    "CREATE TABLE kla.events (grp INT NOT NULL, note CHAR(60) NOT NULL, n INT NOT NULL, KEY grp (grp)) ENGINE=InnoDB";

fn task_config(src: &Sandbox, dst: &Sandbox) -> Config {
    let dir = src.dir().join("bench-task");
    Config::load(&dts_benches::write_task_file(src, dst, &dir, "bench", DB, "heartbeat = false\n")).unwrap()
}

/// The pre-workload rows, rebuilt the same way on a destination (not binlogged).
fn reset(sb: &Sandbox, rows: u64) {
    let mut c = sb.conn().unwrap();
    c.query_drop("SET SESSION sql_log_bin = 0").unwrap();
    c.query_drop(format!("DROP DATABASE IF EXISTS {DB}")).unwrap();
    c.query_drop(format!("CREATE DATABASE {DB}")).unwrap();
    c.query_drop(DDL).unwrap();
    c.query_drop(format!("INSERT INTO {DB}.events SELECT seq, CONCAT('note ', seq), 0 FROM {DB}.seq_1_to_{rows}"))
        .unwrap();
    c.query_drop("DROP DATABASE IF EXISTS dts_meta").unwrap();
    c.query_drop("RESET MASTER").unwrap();
    c.query_drop("SET GLOBAL gtid_slave_pos = ''").ok();
}

fn main() {
    let rows = env_num("ROWS", 100_000);
    let updates = env_num("UPDATES", 20_000);
    let runs = env_num("RUNS", 3) as usize;
    let workers = env_num("WORKERS", 1) as usize;
    eprintln!("starting sandboxes...");
    let start = |name: &str, domain: u32| {
        Sandbox::builder(name).gtid_domain_id(domain).option("innodb_buffer_pool_size", "256M").start().unwrap()
    };
    let (src, dst, rep) = (start("ka-src", 1), start("ka-dst", 2), start("ka-replica", 3));
    for sb in [&src, &dst, &rep] {
        let mut c = sb.root_conn().unwrap();
        c.query_drop(format!("CREATE USER '{BENCH_USER}'@'127.0.0.1'")).unwrap();
        c.query_drop(format!("GRANT ALL ON *.* TO '{BENCH_USER}'@'127.0.0.1'")).unwrap();
    }
    let mut s = src.conn().unwrap();
    s.query_drop(format!("CREATE DATABASE {DB}")).unwrap();
    s.query_drop(DDL).unwrap();
    s.query_drop(format!("INSERT INTO {DB}.events SELECT seq, CONCAT('note ', seq), 0 FROM {DB}.seq_1_to_{rows}"))
        .unwrap();
    let from = binlog_position(&mut s).unwrap();
    eprintln!("workload: {updates} single-row updates...");
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..updates {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.query_drop(format!("UPDATE {DB}.events SET n = n + 1 WHERE grp = {}", x % rows + 1)).unwrap();
    }
    let to = binlog_position(&mut s).unwrap();
    let names = vec!["events".to_string()];
    let src_sums = checksum_tables(&src, DB, &names);
    let config = task_config(&src, &dst);
    let (mut ours, mut native) = (Vec::new(), Vec::new());
    for run in 0..runs {
        eprintln!("run {}/{runs}: dts applier", run + 1);
        reset(&dst, rows);
        // A catch-up resumes a task whose state exists (the full copy recorded its schema
        // history): a run stopped before its first event sets that up, untimed, as native
        // replication's own state exists before START SLAVE.
        let stopped = Arc::new(AtomicBool::new(true));
        let mut setup = BinlogInput::new(&config, from.clone(), stopped, true, Arc::default());
        Applier::new(dst.opts(), ApplyOptions::new("bench")).unwrap().run(&mut setup).unwrap();
        // Its binlog connection goes first: a second one with the same server_id waits for it.
        drop(setup);
        let (t, server0, own0) = (Instant::now(), cpu_seconds(dst.pid()), cpu_seconds(None));
        let mut input = BinlogInput::new(&config, from.clone(), Arc::new(AtomicBool::new(false)), true, Arc::default());
        let mut options = ApplyOptions::new("bench");
        options.workers = workers;
        let mut a = Applier::new(dst.opts(), options).unwrap();
        let stats = a.run(&mut input).unwrap();
        ours.push(t.elapsed());
        eprintln!(
            "  dts: {:.2} s, destination server CPU {:.2} s, dts CPU {:.2} s",
            t.elapsed().as_secs_f64(),
            cpu_seconds(dst.pid()) - server0,
            cpu_seconds(None) - own0
        );
        assert_eq!(checksum_tables(&dst, DB, &names), src_sums, "dts applied the workload exactly");
        assert_eq!(stats.update_missing, 0, "every update found its row");

        eprintln!("run {}/{runs}: native replication", run + 1);
        reset(&rep, rows);
        let mut r = rep.root_conn().unwrap();
        r.query_drop("STOP SLAVE").ok();
        r.query_drop("RESET SLAVE ALL").ok();
        r.query_drop("SET GLOBAL slave_parallel_threads = 0").unwrap();
        assert!(from.file.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
        r.query_drop(format!(
            "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {}, MASTER_USER = '{BENCH_USER}', MASTER_PASSWORD = '', \
             MASTER_LOG_FILE = '{}', MASTER_LOG_POS = {}, MASTER_USE_GTID = no",
            src.port(),
            from.file,
            from.offset
        ))
        .unwrap();
        let (t, server0) = (Instant::now(), cpu_seconds(rep.pid()));
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
        native.push(t.elapsed());
        eprintln!(
            "  native: {:.2} s, replica server CPU {:.2} s",
            t.elapsed().as_secs_f64(),
            cpu_seconds(rep.pid()) - server0
        );
        r.query_drop("STOP SLAVE").unwrap();
        assert_eq!(checksum_tables(&rep, DB, &names), src_sums, "native replication applied the workload exactly");
    }
    let (mo, mn) = (median(ours).as_secs_f64(), median(native).as_secs_f64());
    let u = updates as f64;
    println!(
        "== catch-up of {updates} single-row updates of a keyless {rows}-row table with an index, medians of {runs}"
    );
    println!("  dts, {workers} worker(s)           {mo:7.2} s  {:>8.0} updates/s", u / mo);
    println!("  native, 0 threads          {mn:7.2} s  {:>8.0} updates/s", u / mn);
    println!("  dts / native rate: {:.2} (target >= 1.00)", mn / mo);
}

/// User plus system CPU seconds of a process (this one for `None`), from /proc.
fn cpu_seconds(pid: Option<u32>) -> f64 {
    let path = pid.map_or("/proc/self/stat".to_string(), |p| format!("/proc/{p}/stat"));
    let stat = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    // Fields after the command name (which is in parentheses): utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}
