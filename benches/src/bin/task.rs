//! A whole task — schema, full and incremental sync — on a sysbench dataset (TABLES x
//! TABLE_SIZE rows, default 4 x 250,000) while sysbench oltp_write_only keeps writing to the
//! source (RATE transactions/s, default 300, 4 threads). Reports the time to catch up, the
//! steady lag (from the heartbeat) over STEADY_SECONDS, and the peak RSS; as a named baseline
//! in the same run, `mariadb-dump | mariadb` of the same data with no writes running.
//!
//! `cargo run --release -p dts-benches --bin task` (needs sysbench: apt-get install sysbench).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dts_benches::{BENCH_USER, bench_pair, env_num, require, sysbench_prepare};
use dts_task::Config;
use dts_task::RunOptions;
use dts_testkit::{Sandbox, peak_rss_kib};
use mysql::prelude::Queryable;

const DB: &str = "sbtest";

fn sh(script: &str) {
    let out = Command::new("sh").args(["-c", script]).output().unwrap();
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
}

fn sysbench(src: &Sandbox, tables: u64, size: u64, rest: &str) -> Command {
    let mut c = Command::new("sh");
    c.args([
        "-c",
        &format!(
            "exec sysbench oltp_write_only --mysql-host=127.0.0.1 --mysql-port={} --mysql-user={BENCH_USER} \
             --mysql-db={DB} --tables={tables} --table-size={size} {rest}",
            src.port()
        ),
    ]);
    c
}

fn main() {
    let tables = env_num("TABLES", 4);
    let size = env_num("TABLE_SIZE", 250_000);
    let rate = env_num("RATE", 300);
    let steady = env_num("STEADY_SECONDS", 15);
    require(&["sysbench", "mariadb-dump"], "apt-get install sysbench mariadb-client");
    let (src, dst) = bench_pair(&[]);
    sysbench_prepare(&src, DB, tables, size);

    // The baseline: a dump piped into the destination, no writes running.
    eprintln!("baseline: mariadb-dump | mariadb...");
    let t = Instant::now();
    sh(&format!(
        "mariadb-dump -h 127.0.0.1 -P {} -u {BENCH_USER} --single-transaction --databases {DB} \
         | sed 's/CREATE DATABASE .*{DB}.*/CREATE DATABASE baseline;/; s/USE `{DB}`/USE baseline/' \
         | mariadb -h 127.0.0.1 -P {} -u {BENCH_USER}",
        src.port(),
        dst.port()
    ));
    let baseline = t.elapsed();
    dst.conn().unwrap().query_drop("DROP DATABASE IF EXISTS baseline").unwrap();

    let dir = src.dir().join("bench-task");
    let task = dir.join("task.toml");
    std::fs::write(
        &task,
        format!(
            "{}\n{}\n[task]\nname = \"bench\"\nserver_id = {}\n\n[[objects]]\ndatabase = \"{DB}\"\n\n\
             [full]\nthreads = 2\n\n[incremental]\nworkers = 4\n",
            src.task_section("source", &dir).unwrap(),
            dst.task_section("destination", &dir).unwrap(),
            dts_testkit::replica_server_id()
        ),
    )
    .unwrap();
    let config = Config::load(&task).unwrap();

    eprintln!("sysbench oltp_write_only at {rate} txn/s on the source, for the rest of the run...");
    let mut writer: Child =
        sysbench(&src, tables, size, &format!("--threads=4 --rate={rate} --time=0 --report-interval=0 run"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    eprintln!("dts-sync: schema + full + incremental until caught up...");
    let t = Instant::now();
    let o = RunOptions { exit_when_caught_up: true, ..Default::default() };
    let r = dts_task::run(&config, &o).unwrap();
    let catch_up = t.elapsed();

    eprintln!("steady state: incremental sync for {steady} s under the write load...");
    let stop = Arc::new(AtomicBool::new(false));
    let runner = {
        let (config, stop) = (config.clone(), stop.clone());
        std::thread::spawn(move || {
            let o = RunOptions { stop, ..Default::default() };
            dts_task::run(&config, &o).unwrap()
        })
    };
    std::thread::sleep(Duration::from_secs(2));
    let mut lags = Vec::new();
    let until = Instant::now() + Duration::from_secs(steady);
    while Instant::now() < until {
        if let Some(l) = dts_task::read_status(&config).ok().and_then(|s| s.lag_seconds) {
            lags.push(l);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = writer.kill();
    let _ = writer.wait();
    stop.store(true, Ordering::Relaxed);
    let steady_run = runner.join().unwrap();
    lags.sort_by(|a, b| a.total_cmp(b));
    let median = lags.get(lags.len() / 2).copied().unwrap_or(f64::NAN);
    let max = lags.last().copied().unwrap_or(f64::NAN);
    let applied = steady_run.apply.as_ref().map_or(0, |a| a.transactions);
    println!("== whole task on {tables} x {size} sysbench rows, sysbench oltp_write_only at {rate} txn/s throughout");
    println!(
        "  time to catch up (schema + full + incremental):  {:7.2} s  ({} rows copied, {} transactions applied on the way)",
        catch_up.as_secs_f64(),
        r.full_rows,
        r.apply.as_ref().map_or(0, |a| a.transactions)
    );
    println!(
        "  baseline mariadb-dump | mariadb, no writes:       {:7.2} s  ({:.2}x our catch-up time)",
        baseline.as_secs_f64(),
        baseline.as_secs_f64() / catch_up.as_secs_f64()
    );
    println!(
        "  steady lag over {steady} s (heartbeat): median {median:.2} s, max {max:.2} s; {applied} transactions applied"
    );
    println!("  peak RSS {} KiB", peak_rss_kib());
}
