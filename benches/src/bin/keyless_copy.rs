//! Full copy of a table without a key against the same table with a primary key (the named
//! baseline), in one run, interleaved: the keyless table is read from one consistent snapshot
//! and streamed in bounded pieces (`dts_fullcopy`'s snapshot copy), the keyed one in parallel
//! key-range chunks. Target: the keyless copy at >= 50% of the keyed copy's rate, with a peak
//! RSS of at most 256 MiB.
//!
//! Data: ROWS rows (default 1,000,000) of sysbench's shape (id, k, c CHAR(120), pad CHAR(60)),
//! once with `PRIMARY KEY (id)` and once with only a secondary index on k. Each copy runs in a
//! child process (its own peak RSS), 2 threads, into a freshly created destination table, and
//! is checked with CHECKSUM TABLE against the source.
//!
//! cargo run --release -p dts-benches --bin keyless_copy
//! ROWS=1000000 RUNS=3 cargo run --release -p dts-benches --bin keyless_copy

use std::process::Command;
use std::time::Duration;

use dts_benches::{BENCH_USER, bench_pair, checksum_tables, env_num, median};
use dts_fullcopy::CopyOptions;
use dts_schema::{DatabaseRule, Selection, TableRule};
use mysql::prelude::Queryable;

const DB: &str = "kl";

fn table_ddl(name: &str, keyed: bool) -> String {
    let key = if keyed { "PRIMARY KEY (id), " } else { "" };
    format!(
        "CREATE TABLE {DB}.{name} (id BIGINT NOT NULL, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL, \
         {key}KEY k (k)) ENGINE=InnoDB"
    )
}

fn opts(port: u16) -> mysql::Opts {
    mysql::OptsBuilder::new()
        .ip_or_hostname(Some("127.0.0.1"))
        .tcp_port(port)
        .user(Some(BENCH_USER))
        .prefer_socket(false)
        .into()
}

/// The child mode: the full copy of one table, as a task runs it; prints rows, seconds, peak RSS.
fn copy_child(src_port: u16, dst_port: u16, table: &str) {
    let (s, d) = (opts(src_port), opts(dst_port));
    let rule = DatabaseRule {
        database: DB.into(),
        tables: Some(vec![TableRule { name: table.into(), ..Default::default() }]),
        ..Default::default()
    };
    let sel = Selection { databases: vec![rule], ..Default::default() };
    let cat = dts_schema::catalog(&mut mysql::Conn::new(s.clone()).unwrap()).unwrap();
    let tables = cat[DB].iter().filter_map(|(t, cols)| sel.table_with_columns(DB, t, cols)).collect();
    let mut o = CopyOptions::new(&format!("bench_{}_{table}", std::process::id()));
    o.threads = env_num("COPY_THREADS", 2) as usize;
    let t = std::time::Instant::now();
    let r = dts_fullcopy::run(s, d, tables, &o).unwrap();
    println!("rows={} secs={:.3} hwm_kb={}", r.rows, t.elapsed().as_secs_f64(), dts_testkit::peak_rss_kib());
}

fn field<'a>(out: &'a str, name: &str) -> &'a str {
    out.split_whitespace().find_map(|w| w.strip_prefix(&format!("{name}="))).unwrap_or("0")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("copy-child") {
        return copy_child(args[1].parse().unwrap(), args[2].parse().unwrap(), &args[3]);
    }
    let rows = env_num("ROWS", 1_000_000);
    let runs = env_num("RUNS", 3) as usize;
    let (src, dst) = bench_pair(&[]);
    let mut c = src.conn().unwrap();
    c.query_drop(format!("CREATE DATABASE {DB}")).unwrap();
    eprintln!("filling {rows} rows twice...");
    for (name, keyed) in [("keyed", true), ("keyless", false)] {
        c.query_drop(table_ddl(name, keyed)).unwrap();
        c.query_drop(format!(
            "INSERT INTO {DB}.{name} SELECT seq, seq % 100000, CONCAT(REPEAT('c', 100), seq), REPEAT('p', 59) \
             FROM {DB}.seq_1_to_{rows}"
        ))
        .unwrap();
        c.query_drop(format!("ANALYZE TABLE {DB}.{name}")).unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let mut results: Vec<(&str, Vec<Duration>, u64)> = vec![("keyed (baseline)", vec![], 0), ("keyless", vec![], 0)];
    for run in 0..runs {
        for (entry, (name, keyed)) in results.iter_mut().zip([("keyed", true), ("keyless", false)]) {
            let mut d = dst.conn().unwrap();
            d.query_drop(format!("DROP DATABASE IF EXISTS {DB}")).unwrap();
            d.query_drop("DROP DATABASE IF EXISTS dts_meta").unwrap();
            d.query_drop(format!("CREATE DATABASE {DB}")).unwrap();
            d.query_drop(table_ddl(name, keyed)).unwrap();
            d.query_drop("RESET MASTER").unwrap();
            eprintln!("run {}/{runs}: {name}", run + 1);
            let out = Command::new(&exe)
                .args(["copy-child", &src.port().to_string(), &dst.port().to_string(), name])
                .output()
                .unwrap();
            assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            assert_eq!(field(&text, "rows").parse::<u64>().unwrap(), rows, "{name} copied every row: {text}");
            entry.1.push(Duration::from_secs_f64(field(&text, "secs").parse().unwrap()));
            entry.2 = entry.2.max(field(&text, "hwm_kb").parse().unwrap());
            let names = vec![name.to_string()];
            assert_eq!(checksum_tables(&dst, DB, &names), checksum_tables(&src, DB, &names), "{name} is exact");
        }
    }
    println!("== full copy of {rows} rows, keyless vs the same table with a primary key, 2 threads, medians of {runs}");
    let mut rates = Vec::new();
    for (name, times, rss) in &results {
        let m = median(times.clone()).as_secs_f64();
        rates.push(rows as f64 / m);
        println!("  {name:<18} {m:7.2} s  {:>9.0} rows/s  peak RSS {:.1} MiB", rows as f64 / m, *rss as f64 / 1024.0);
    }
    let (ratio, rss_mib) = (rates[1] / rates[0], results[1].2 as f64 / 1024.0);
    println!(
        "  keyless rate / keyed rate: {ratio:.2} (target >= 0.50)   keyless peak RSS {rss_mib:.1} MiB (target <= 256)"
    );
}
