//! Verification of identical data: dts-verify (chunk checksums on both servers at once, row
//! precision on a mismatch) against `CHECKSUM TABLE` run on the source and then on the
//! destination (whole tables, no location of a difference), in the same run, interleaved.
//!
//! Data: `sysbench oltp_read_write prepare`, TABLES x TABLE_SIZE rows (default 4 x 250,000),
//! copied to the destination with mariadb-dump. Needs sysbench (apt-get install sysbench).
//!
//! `cargo run --release -p dts-benches --bin verify` (RUNS, TABLES, TABLE_SIZE, THREADS,
//! CHUNK_ROWS to change the defaults).

use std::process::Command;
use std::time::{Duration, Instant};

use dts_benches::{BENCH_USER, bench_pair, checksum_tables, env_num, median, require, sysbench_prepare};
use dts_schema::{DatabaseRule, Selection};
use dts_testkit::peak_rss_kib;

const DB: &str = "sbtest";

fn sh(script: &str) {
    let out = Command::new("sh").args(["-c", script]).output().unwrap();
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
}

fn main() {
    let tables = env_num("TABLES", 4);
    let size = env_num("TABLE_SIZE", 250_000);
    let runs = env_num("RUNS", 3) as usize;
    let threads = env_num("THREADS", 4) as usize;
    let chunk_rows = env_num("CHUNK_ROWS", 10_000);
    require(&["sysbench", "mariadb-dump"], "apt-get install sysbench mariadb-client");
    let (src, dst) = bench_pair(&[]);
    sysbench_prepare(&src, DB, tables, size);
    eprintln!("copying to the destination with mariadb-dump...");
    sh(&format!(
        "mariadb-dump -h 127.0.0.1 -P {} -u {BENCH_USER} --single-transaction --databases {DB} \
         | mariadb -h 127.0.0.1 -P {} -u {BENCH_USER}",
        src.port(),
        dst.port()
    ));
    let names: Vec<String> = (1..=tables).map(|i| format!("sbtest{i}")).collect();
    assert_eq!(checksum_tables(&src, DB, &names), checksum_tables(&dst, DB, &names), "the copy is identical");
    let selection =
        Selection { databases: vec![DatabaseRule { database: DB.into(), ..Default::default() }], ..Default::default() };
    let o = dts_verify::VerifyOptions { threads, chunk_rows, ..Default::default() };
    let chunked = dts_verify::VerifyOptions { table_checksum_first: false, ..o.clone() };
    let (mut ours, mut ours_chunked, mut baseline) = (Vec::<Duration>::new(), Vec::new(), Vec::<Duration>::new());
    for run in 0..runs {
        eprintln!("run {}/{runs}: CHECKSUM TABLE on the source, then on the destination", run + 1);
        let t = Instant::now();
        let a = checksum_tables(&src, DB, &names);
        let b = checksum_tables(&dst, DB, &names);
        baseline.push(t.elapsed());
        assert_eq!(a, b);
        eprintln!("run {}/{runs}: dts-verify, {threads} threads, chunks of {chunk_rows} rows", run + 1);
        let t = Instant::now();
        let r = dts_verify::run(&src.opts(), &dst.opts(), &selection, &o, None).unwrap();
        ours.push(t.elapsed());
        assert!(r.identical(), "{}", r.to_table());
        eprintln!("run {}/{runs}: dts-verify chunk by chunk (no CHECKSUM TABLE first)", run + 1);
        let t = Instant::now();
        let r = dts_verify::run(&src.opts(), &dst.opts(), &selection, &chunked, None).unwrap();
        ours_chunked.push(t.elapsed());
        assert!(r.identical() && r.tables.iter().all(|t| t.chunks > 0), "{}", r.to_table());
        assert_eq!(r.tables.iter().map(|t| t.source_rows.unwrap_or(0)).sum::<u64>(), tables * size);
    }
    let hwm = peak_rss_kib();
    let rows = (tables * size) as f64;
    let (mo, mc, mb) = (median(ours).as_secs_f64(), median(ours_chunked).as_secs_f64(), median(baseline).as_secs_f64());
    println!("== verify {tables} x {size} identical sysbench rows (each side), medians of {runs}");
    println!(
        "  dts-verify, default ({threads} threads)       {mo:7.2} s  {:>9.0} rows/s  {:.2}x CHECKSUM TABLE",
        rows / mo,
        mb / mo
    );
    println!(
        "  dts-verify, chunks only ({threads} threads)   {mc:7.2} s  {:>9.0} rows/s  {:.2}x CHECKSUM TABLE",
        rows / mc,
        mb / mc
    );
    println!("  CHECKSUM TABLE, source then destination {mb:7.2} s  {:>9.0} rows/s", rows / mb);
    println!("  peak RSS {hwm} KiB");
}
