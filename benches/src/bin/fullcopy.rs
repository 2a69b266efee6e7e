//! Full copy throughput as users run it: `dts-sync run --exit-when-caught-up` (the release
//! binary: precheck, schema sync, the chunked parallel copy, then incremental sync with nothing
//! to apply) of a new task against mydumper/myloader, mariadb-dump piped into mariadb, and
//! SELECT ... INTO OUTFILE + LOAD DATA INFILE (the server-side limit), on the same sysbench
//! data and identical sandboxes, runs interleaved.
//!
//! Data: `sysbench oltp_read_write prepare`, TABLES x TABLE_SIZE rows (default 4 x 250,000).
//! Every method gets 2 threads, starts from a dropped destination database and is checked with
//! CHECKSUM TABLE against the source. The destination writes its binlog for every method (as a
//! sync target does). Sandboxes trade durability for speed (innodb_flush_log_at_trx_commit=2,
//! sync_binlog=0), for every method alike.
//!
//! Needs sysbench and mydumper (apt-get install sysbench mydumper).
//! cargo build --release -p dts-sync && cargo run --release -p dts-benches --bin fullcopy
//! TABLES=4 TABLE_SIZE=250000 RUNS=3 cargo run --release -p dts-benches --bin fullcopy
//! TABLES=1 TABLE_SIZE=1000000 ... (one large table: chunks of one table copy in parallel)
//! COPY_THREADS and CHUNK_ROWS set `[full] threads` and `chunk_rows` (default 2 and the task's).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use dts_benches::{
    BENCH_USER, bench_pair, checksum_tables, dts_sync_binary, env_num, median, require, run_caught_up,
    sysbench_prepare, write_task_file,
};
use dts_testkit::Sandbox;
use mysql::prelude::Queryable;

const DB: &str = "sbtest";

fn sh(cmd: &str) -> (f64, Option<u64>) {
    let rss_file = std::env::temp_dir().join(format!("dts-bench-rss-{}", std::process::id()));
    let t = Instant::now();
    let timed = Path::new("/usr/bin/time").exists();
    let mut c = if timed {
        let mut c = Command::new("/usr/bin/time");
        c.args(["-f", "%M", "-o"]).arg(&rss_file).args(["sh", "-c", cmd]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", cmd]);
        c
    };
    let out = c.stdout(Stdio::piped()).stderr(Stdio::inherit()).output().unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(out.status.success(), "{cmd} failed: {}", String::from_utf8_lossy(&out.stdout));
    let rss = std::fs::read_to_string(&rss_file).ok().and_then(|s| s.trim().lines().last()?.parse().ok());
    let _ = std::fs::remove_file(&rss_file);
    (secs, rss)
}

fn main() {
    let tables = env_num("TABLES", 4);
    let size = env_num("TABLE_SIZE", 250_000);
    let runs = env_num("RUNS", 3) as usize;
    require(&["sysbench", "mydumper", "myloader", "mariadb-dump"], "apt-get install sysbench mydumper mariadb-client");
    let shared = std::env::temp_dir().join(format!("dts-bench-files-{}", std::process::id()));
    std::fs::create_dir_all(&shared).unwrap();
    let (src, dst) = bench_pair(&[("secure_file_priv", &shared.display().to_string())]);
    sysbench_prepare(&src, DB, tables, size);
    let names: Vec<String> = (1..=tables).map(|i| format!("sbtest{i}")).collect();
    let mut c = src.conn().unwrap();
    for t in &names {
        c.query_drop(format!("ANALYZE TABLE {DB}.{t}")).unwrap();
    }
    let bytes: u64 = c
        .query_first(format!(
            "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{DB}'"
        ))
        .unwrap()
        .unwrap();
    let src_sums = checksum_tables(&src, DB, &names);
    let rows = (tables * size) as f64;
    let mb = bytes as f64 / 1_048_576.0;
    let base = format!("-h 127.0.0.1 -u {BENCH_USER}");
    let (sp, dp) = (src.port(), dst.port());
    let bin = dts_sync_binary();
    let full = format!(
        "\n[full]\nthreads = {}\n{}",
        env_num("COPY_THREADS", 2),
        std::env::var("CHUNK_ROWS").map_or(String::new(), |n| format!("chunk_rows = {n}\n"))
    );
    let task = write_task_file(&src, &dst, &shared.join("task"), "fullcopy_bench", DB, &full);
    let dump_dir = shared.join("dump");
    let reset = |dst: &Sandbox| {
        let mut d = dst.conn().unwrap();
        d.query_drop(format!("DROP DATABASE IF EXISTS {DB}")).unwrap();
        d.query_drop("DROP DATABASE IF EXISTS dts_meta").unwrap();
        d.query_drop("RESET MASTER").unwrap();
    };
    let outfile = |run: usize| -> String {
        // Per table in parallel (2 at a time): SELECT INTO OUTFILE on the source, then CREATE
        // TABLE (the source's DDL) and LOAD DATA INFILE on the destination.
        let mut script = format!("set -e; mariadb {base} -P {dp} -e 'CREATE DATABASE {DB}'; ");
        let jobs: Vec<String> = names
            .iter()
            .map(|t| {
                let f = shared.join(format!("{t}.{run}.tsv")).display().to_string();
                format!(
                    "(rm -f {f}; mariadb {base} -P {sp} -e \"SELECT * INTO OUTFILE '{f}' FROM {DB}.{t}\" && \
                     mariadb-dump {base} -P {sp} --no-data --skip-comments {DB} {t} | mariadb {base} -P {dp} {DB} && \
                     mariadb {base} -P {dp} -e \"LOAD DATA INFILE '{f}' INTO TABLE {DB}.{t}\" && rm -f {f})"
                )
            })
            .collect();
        for pair in jobs.chunks(2) {
            script.push_str(&format!(
                "{} & {} wait; ",
                pair[0],
                pair.get(1).map_or(String::new(), |j| format!("{j} &"))
            ));
        }
        script
    };
    let mut results: Vec<(&str, Vec<std::time::Duration>, u64)> = vec![
        ("dts-sync run", vec![], 0),
        ("mydumper+myloader", vec![], 0),
        ("mariadb-dump | mariadb", vec![], 0),
        ("OUTFILE + LOAD DATA", vec![], 0),
    ];
    // METHODS=ours,mydumper,dump,outfile (default all) runs a subset, e.g. while tuning.
    let methods = std::env::var("METHODS").unwrap_or_else(|_| "ours,mydumper,dump,outfile".into());
    let wanted: Vec<bool> =
        ["ours", "mydumper", "dump", "outfile"].iter().map(|m| methods.split(',').any(|x| x == *m)).collect();
    results.retain({
        let mut k = 0;
        move |_| {
            k += 1;
            wanted[k - 1]
        }
    });
    let kinds: Vec<usize> =
        (0..4).filter(|i| methods.split(',').any(|x| x == ["ours", "mydumper", "dump", "outfile"][*i])).collect();
    for run in 0..runs {
        for (slot, entry) in results.iter_mut().enumerate() {
            let i = kinds[slot];
            reset(&dst);
            eprintln!("run {}/{runs}: {}", run + 1, entry.0);
            let (secs, rss) = match i {
                0 => {
                    let (t, rss) = run_caught_up(&bin, &task);
                    (t.as_secs_f64(), Some(rss))
                }
                1 => sh(&format!(
                    "rm -rf {d} && mydumper {base} -P {sp} -B {DB} -t 2 -r 100000 -o {d} && myloader {base} -P {dp} -d {d} -t 2 --enable-binlog",
                    d = dump_dir.display()
                )),
                2 => sh(&format!(
                    "mariadb {base} -P {dp} -e 'CREATE DATABASE {DB}' && mariadb-dump {base} -P {sp} --single-transaction {DB} | mariadb {base} -P {dp} {DB}"
                )),
                _ => sh(&outfile(run)),
            };
            entry.1.push(std::time::Duration::from_secs_f64(secs));
            entry.2 = entry.2.max(rss.unwrap_or(0));
            assert_eq!(checksum_tables(&dst, DB, &names), src_sums, "{} copied the data exactly", entry.0);
        }
    }
    if std::env::var("DTS_LOG_LEVEL").is_ok() {
        eprintln!("{}", std::fs::read_to_string(task.with_file_name("dts-sync.log")).unwrap_or_default());
    }
    let _ = std::fs::remove_dir_all(&shared);
    println!("== full copy of {tables} x {size} sysbench rows ({mb:.1} MiB data+index), 2 threads, medians of {runs}");
    let mut medians = Vec::new();
    for (name, times, rss) in &results {
        let m = median(times.clone()).as_secs_f64();
        medians.push(m);
        println!("  {name:<24} {m:7.2} s  {:>9.0} rows/s  {:6.1} MB/s  peak RSS {rss} KiB", rows / m, mb / m);
    }
    if medians.len() == 4 {
        println!(
            "  ratio dts-sync run vs mydumper+myloader: {:.2}x   vs mariadb-dump: {:.2}x   vs OUTFILE+LOAD: {:.2}",
            medians[1] / medians[0],
            medians[2] / medians[0],
            medians[3] / medians[0]
        );
    }
}
