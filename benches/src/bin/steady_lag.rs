//! Steady-state lag as users run it: `dts-sync run` (the release binary, the task file's
//! defaults unless WORKERS is set) in incremental sync while sysbench oltp_write_only writes
//! RATE transactions per second (4 client threads) to the source, against MariaDB
//! replication (IO and SQL threads, `slave_parallel_threads=0`) following the same source
//! under the same load. Each round runs one phase of each, alternating which goes first; the
//! other one is stopped meanwhile, and each starts its phase caught up.
//!
//! Lag is measured from outside, the same way for both: every 20 ms the source's binlog end
//! is read with the time; a sample's lag is how long until the follower has applied up to it
//! (dts-sync's checkpoint row, which commits in the same destination transaction as the rows;
//! the replica's `Exec_Master_Log_Pos`). Reported: p50, p99 and the largest lag over every
//! sample of every round, and dts-sync's peak RSS (VmHWM). At the end the source, the
//! destination and the replica must hold the same CHECKSUM TABLE.
//!
//! cargo build --release -p dts-sync && cargo run --release -p dts-benches --bin steady_lag
//! RATE=1000 SECS=30 RUNS=3 TABLES=4 TABLE_SIZE=100000 WORKERS=2 cargo run --release -p dts-benches --bin steady_lag

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use dts_benches::{DtsRun, checksum_tables, dts_sync_binary, env_num, require, run_caught_up, slave_pos};
use dts_testkit::{Sandbox, binlog_position};
use dts_types::BinlogPosition;
use mysql::prelude::Queryable;

const DB: &str = "sbtest";
const TASK: &str = "steady";
const SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// How long the follower may take to apply the last sample once the writer stopped.
const DRAIN: Duration = Duration::from_secs(30);

/// dts-sync's applied position: its checkpoint row on the destination.
fn dts_applied(d: &mut mysql::Conn) -> Option<BinlogPosition> {
    let row: Option<(String, u64)> = d
        .exec_first(
            "SELECT binlog_file, binlog_pos FROM dts_meta.apply_checkpoint WHERE task = ? \
             ORDER BY file_seq DESC, binlog_pos DESC LIMIT 1",
            (TASK,),
        )
        .ok()
        .flatten();
    row.map(|(f, p)| BinlogPosition::new(f, p))
}

/// Waits until `applied` reaches the source's end of binlog.
fn catch_up(src: &Sandbox, applied: &mut dyn FnMut() -> Option<BinlogPosition>) {
    let end = binlog_position(&mut src.conn().unwrap()).unwrap();
    let t = Instant::now();
    while applied().is_none_or(|p| p < end) {
        assert!(t.elapsed() < Duration::from_secs(300), "no catch-up to {end} in 5 minutes");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the writer and samples the lag of `applied` behind the source until the writer
/// stopped and the follower applied every sample.
fn lags(
    src: &Sandbox,
    applied: &mut dyn FnMut() -> Option<BinlogPosition>,
    writer: impl FnOnce() + Send,
) -> Vec<Duration> {
    std::thread::scope(|scope| {
        let writer = scope.spawn(writer);
        let mut s = src.conn().unwrap();
        let (mut pending, mut lags) = (VecDeque::<(Instant, BinlogPosition)>::new(), Vec::new());
        let mut next_sample = Instant::now();
        let mut drain_until = None;
        loop {
            let now = Instant::now();
            if drain_until.is_none() {
                if writer.is_finished() {
                    drain_until = Some(now + DRAIN);
                } else if now >= next_sample {
                    pending.push_back((now, binlog_position(&mut s).unwrap()));
                    next_sample += SAMPLE_EVERY;
                }
            }
            if let Some(at) = applied() {
                let t = Instant::now();
                while pending.front().is_some_and(|(_, p)| *p <= at) {
                    lags.push(t - pending.pop_front().expect("a sample").0);
                }
            }
            if drain_until.is_some_and(|d| pending.is_empty() || Instant::now() > d) {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        writer.join().unwrap();
        assert!(pending.is_empty(), "{} samples not applied {DRAIN:?} after the writer stopped", pending.len());
        lags
    })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    assert!(!sorted.is_empty(), "no lag samples");
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64()
}

fn main() {
    let tables = env_num("TABLES", 4);
    let size = env_num("TABLE_SIZE", 100_000);
    let rate = env_num("RATE", 1000);
    let secs = env_num("SECS", 30);
    let runs = env_num("RUNS", 3) as usize;
    let workers = std::env::var("WORKERS").ok().map(|_| env_num("WORKERS", 1));
    require(&["sysbench"], "apt-get install sysbench");
    let bin = dts_sync_binary();
    let (src, dst, rep) = dts_benches::source_destination_replica("lag");
    let mut r = rep.root_conn().unwrap();
    src.conn().unwrap().query_drop(format!("CREATE DATABASE {DB}")).unwrap();
    let sysbench = |cmd: &str, extra: &str| dts_benches::sysbench_write_only(&src, DB, tables, size, cmd, extra);
    eprintln!("sysbench prepare {tables} x {size}...");
    sysbench("prepare", "--threads=2");
    let incremental = workers.map_or(String::new(), |w| format!("\n[incremental]\nworkers = {w}\n"));
    let task = dts_benches::write_task_file(&src, &dst, &src.dir().join("lag-task"), TASK, DB, &incremental);
    eprintln!("dts-sync: schema and full copy (untimed)...");
    run_caught_up(&bin, &task);
    let write = || sysbench("run", &format!("--threads=4 --time={secs} --rate={rate} --events=0"));
    let (mut ours, mut native, mut peak) = (Vec::new(), Vec::new(), 0);
    let mut d = dst.conn().unwrap();
    for round in 0..runs {
        r.query_drop("STOP SLAVE").unwrap();
        let mut dts_phase = || {
            let mut run = DtsRun::spawn(&bin, &task, &[]);
            let mut applied = || {
                if let Some(status) = run.poll() {
                    panic!("dts-sync run exited during the phase ({status}), its log:\n{}", run.log());
                }
                dts_applied(&mut d)
            };
            catch_up(&src, &mut applied);
            let l = lags(&src, &mut applied, write);
            let (_, hwm) = run.terminate();
            peak = peak.max(hwm);
            l
        };
        let mut native_phase = || {
            r.query_drop("START SLAVE").unwrap();
            let mut applied = || Some(slave_pos(&mut r, "Relay_Master_Log_File", "Exec_Master_Log_Pos"));
            catch_up(&src, &mut applied);
            let l = lags(&src, &mut applied, write);
            r.query_drop("STOP SLAVE").unwrap();
            l
        };
        let report = |name: &str, l: &[Duration]| {
            let mut s = l.to_vec();
            s.sort();
            eprintln!("  {name}: p99 lag {:.3} s over {} samples", percentile(&s, 0.99), s.len());
        };
        eprintln!(
            "round {}/{runs}: sysbench oltp_write_only at {rate} txn/s for {secs} s, each follower in turn",
            round + 1
        );
        if round % 2 == 0 {
            ours.extend(dts_phase());
            report("dts-sync", &ours);
            native.extend(native_phase());
        } else {
            native.extend(native_phase());
            ours.extend(dts_phase());
            report("dts-sync", &ours);
        }
        report("native", &native);
    }
    // Both followers applied everything (the replica's threads were stopped after its phase).
    r.query_drop("START SLAVE").unwrap();
    catch_up(&src, &mut || Some(slave_pos(&mut r, "Relay_Master_Log_File", "Exec_Master_Log_Pos")));
    run_caught_up(&bin, &task);
    let names: Vec<String> = (1..=tables).map(|i| format!("sbtest{i}")).collect();
    let sums = checksum_tables(&src, DB, &names);
    assert_eq!(checksum_tables(&dst, DB, &names), sums, "dts-sync's destination equals the source");
    assert_eq!(checksum_tables(&rep, DB, &names), sums, "the native replica equals the source");
    let config = workers.map_or("defaults".to_string(), |w| format!("workers = {w}"));
    println!(
        "== steady-state lag, sysbench oltp_write_only at {rate} txn/s, {tables} x {size} rows, {runs} x {secs} s each"
    );
    let mut p99 = Vec::new();
    for (name, l) in
        [(format!("dts-sync run ({config})"), &mut ours), ("native replication, 0 threads".into(), &mut native)]
    {
        l.sort();
        let (p50, p, max) = (percentile(l, 0.5), percentile(l, 0.99), l.last().expect("samples").as_secs_f64());
        println!("  {name:<34} p50 {p50:6.3} s  p99 {p:6.3} s  max {max:6.3} s  ({} samples)", l.len());
        p99.push(p);
    }
    println!("  native / dts p99 lag: {:.2}   peak RSS of dts-sync: {} MiB", p99[1] / p99[0], peak / 1024);
}
