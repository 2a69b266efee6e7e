//! Full copy throughput: dts-fullcopy (schema sync + chunked parallel copy) against
//! mydumper/myloader, mariadb-dump piped into mariadb, and SELECT ... INTO OUTFILE + LOAD DATA
//! INFILE (the server-side limit), on the same sysbench data and identical sandboxes, runs
//! interleaved.
//!
//! Data: `sysbench oltp_read_write prepare`, TABLES x TABLE_SIZE rows (default 4 x 250,000).
//! Every method gets 2 threads, starts from a dropped destination database and is checked with
//! CHECKSUM TABLE against the source. The destination writes its binlog for every method (as a
//! sync target does). Sandboxes trade durability for speed (innodb_flush_log_at_trx_commit=2,
//! sync_binlog=0), for every method alike.
//!
//! Needs sysbench and mydumper (apt-get install sysbench mydumper).
//! cargo run --release -p dts-benches --bin fullcopy
//! TABLES=4 TABLE_SIZE=250000 RUNS=3 cargo run --release -p dts-benches --bin fullcopy

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use dts_benches::{BENCH_USER, bench_pair, checksum_tables, env_num, median, require, sysbench_prepare};
use dts_fullcopy::CopyOptions;
use dts_schema::{DatabaseRule, Selection};
use dts_testkit::Sandbox;
use mysql::prelude::Queryable;

const DB: &str = "sbtest";

fn opts(port: u16, user: &str, password: Option<String>) -> mysql::Opts {
    mysql::OptsBuilder::new()
        .ip_or_hostname(Some("127.0.0.1"))
        .tcp_port(port)
        .user(Some(user))
        .pass(password)
        .prefer_socket(false)
        .into()
}

/// The child mode: schema sync + full copy of sbtest from SRC to DST, as a task would run it.
fn copy_child(src_port: u16, dst_port: u16) {
    let (s, d) = (opts(src_port, BENCH_USER, None), opts(dst_port, BENCH_USER, None));
    let sel =
        Selection { databases: vec![DatabaseRule { database: DB.into(), ..Default::default() }], ..Default::default() };
    let mut sc = mysql::Conn::new(s.clone()).unwrap();
    let cat = dts_schema::catalog(&mut sc).unwrap();
    let schema = dts_schema::read_database(&mut sc, &sel, &cat, DB).unwrap();
    let plan = dts_schema::plan(&sel, &[schema], &dts_schema::ObjectRules::default()).unwrap();
    let mut dc = mysql::Conn::new(d.clone()).unwrap();
    for st in plan.statements {
        dc.query_drop(st).unwrap();
    }
    let tables = cat[DB].iter().filter_map(|(t, cols)| sel.table_with_columns(DB, t, cols)).collect();
    let mut o = CopyOptions::new(&format!("bench_{}", std::process::id()));
    o.threads = env_num("COPY_THREADS", 2) as usize;
    o.chunk_rows = env_num("CHUNK_ROWS", o.chunk_rows);
    let t = Instant::now();
    let r = dts_fullcopy::run(s, d, tables, &o).unwrap();
    let hwm = dts_testkit::peak_rss_kib();
    println!(
        "rows={} bytes={} chunks={} secs={:.3} hwm_kb={hwm}",
        r.rows,
        r.bytes,
        r.chunks_copied,
        t.elapsed().as_secs_f64()
    );
}

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
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("copy-child") {
        return copy_child(args[1].parse().unwrap(), args[2].parse().unwrap());
    }
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
    let exe = std::env::current_exe().unwrap().display().to_string();
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
        ("dts-fullcopy", vec![], 0),
        ("mydumper+myloader", vec![], 0),
        ("mariadb-dump | mariadb", vec![], 0),
        ("OUTFILE + LOAD DATA", vec![], 0),
    ];
    let mut ours_detail = String::new();
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
            let cmd = match i {
                0 => format!("{exe} copy-child {sp} {dp}"),
                1 => format!(
                    "rm -rf {d} && mydumper {base} -P {sp} -B {DB} -t 2 -r 100000 -o {d} && myloader {base} -P {dp} -d {d} -t 2 --enable-binlog",
                    d = dump_dir.display()
                ),
                2 => format!(
                    "mariadb {base} -P {dp} -e 'CREATE DATABASE {DB}' && mariadb-dump {base} -P {sp} --single-transaction {DB} | mariadb {base} -P {dp} {DB}"
                ),
                _ => outfile(run),
            };
            let (secs, rss) = sh(&if i == 0 { format!("{cmd} > {}/ours.out", shared.display()) } else { cmd });
            if i == 0 {
                ours_detail = std::fs::read_to_string(shared.join("ours.out")).unwrap_or_default();
            }
            entry.1.push(std::time::Duration::from_secs_f64(secs));
            entry.2 = entry.2.max(rss.unwrap_or(0));
            assert_eq!(checksum_tables(&dst, DB, &names), src_sums, "{} copied the data exactly", entry.0);
        }
    }
    let _ = std::fs::remove_dir_all(&shared);
    println!("== full copy of {tables} x {size} sysbench rows ({mb:.1} MiB data+index), 2 threads, medians of {runs}");
    let mut medians = Vec::new();
    for (name, times, rss) in &results {
        let m = median(times.clone()).as_secs_f64();
        medians.push(m);
        println!("  {name:<24} {m:7.2} s  {:>9.0} rows/s  {:6.1} MB/s  peak RSS {rss} KiB", rows / m, mb / m);
    }
    println!("  dts-fullcopy detail (last run): {}", ours_detail.trim());
    if medians.len() == 4 {
        println!(
            "  ratio dts-fullcopy vs mydumper+myloader: {:.2}x   vs mariadb-dump: {:.2}x   vs OUTFILE+LOAD: {:.2}",
            medians[1] / medians[0],
            medians[2] / medians[0],
            medians[3] / medians[0]
        );
    }
}
