//! Binlog streaming and decoding throughput: dts-binlog against `mariadb-binlog` on the same
//! binlog of a live sandbox, interleaved run by run.
//!
//! Two workloads, each of ROWS rows (default 1,000,000): single-row transactions (GTID,
//! TABLE_MAP, WRITE_ROWS, XID per row) and one INSERT ... SELECT (multi-row WRITE_ROWS events).
//! For each, three readers fetch the same byte range over the replication protocol:
//! - dts-binlog: every event CRC-checked, every value decoded into the value model;
//! - `mariadb-binlog --read-from-remote-server --verbose` (decodes rows to pseudo-SQL);
//! - `mariadb-binlog --read-from-remote-server --raw` (fetch only, no decoding).
//!
//! Each reader runs as its own process; figures are medians of RUNS (default 3) and peak RSS
//! from `/usr/bin/time` (our own process also reports its VmHWM). The sandbox trades
//! durability for speed (innodb_flush_log_at_trx_commit=2, sync_binlog=0), like the baselines'.
//!
//! cargo run --release -p dts-benches --bin binlog_decode
//! ROWS=200000 RUNS=5 cargo run --release -p dts-benches --bin binlog_decode

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dts_benches::{env_num, median};
use dts_binlog::{BinlogReader, Item, ReaderParts, ReplicaOptions, StartPosition};
use dts_testkit::{Sandbox, binlog_position, replica_server_id};
use dts_types::BinlogPosition;
use mysql::prelude::Queryable;

/// The child mode: read `start..stop` with dts-binlog, print counters.
fn read_child(args: &[String]) {
    let [host, port, user, start, stop] = args else { panic!("read-child HOST PORT USER START STOP") };
    let password = std::env::var("DTS_BENCH_PASSWORD").expect("password in the environment");
    let opts = mysql::OptsBuilder::new()
        .ip_or_hostname(Some(host.clone()))
        .tcp_port(port.parse().unwrap())
        .user(Some(user.clone()))
        .pass(Some(password))
        .prefer_socket(false);
    let start: BinlogPosition = start.parse().unwrap();
    let stop: BinlogPosition = stop.parse().unwrap();
    let mut o = ReplicaOptions::new(replica_server_id(), StartPosition::File(start));
    o.stop_at_end = true;
    let mut reader = BinlogReader::connect(opts.into(), o, ReaderParts::default()).unwrap();
    let (mut rows, mut values) = (0u64, 0u64);
    let t = Instant::now();
    for item in reader.by_ref() {
        match item.unwrap() {
            Item::Row(tc) => {
                rows += 1;
                values += tc.change.after().map_or(0, |r| r.len() as u64);
            }
            Item::Commit(p) if p.binlog >= stop => break,
            _ => {}
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let s = reader.stats();
    let hwm = dts_testkit::peak_rss_kib();
    println!("events={} bytes={} rows={rows} values={values} secs={secs:.3} hwm_kb={hwm}", s.events, s.bytes);
}

struct Run {
    secs: f64,
    rss_kb: Option<u64>,
    out: String,
}

/// Runs a command under `/usr/bin/time` (when present) and returns wall time and peak RSS.
fn timed(mut cmd: Command) -> Run {
    let time = Path::new("/usr/bin/time");
    let rss_file = std::env::temp_dir().join(format!("dts-bench-rss-{}", std::process::id()));
    let mut c = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&rss_file).arg(cmd.get_program()).args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                c.env(k, v);
            }
        }
        c
    } else {
        std::mem::replace(&mut cmd, Command::new("true"))
    };
    let t = Instant::now();
    let out = c.stderr(Stdio::inherit()).output().expect("run reader");
    let secs = t.elapsed().as_secs_f64();
    assert!(out.status.success(), "{:?} failed: {}", c, String::from_utf8_lossy(&out.stdout));
    let rss_kb = std::fs::read_to_string(&rss_file).ok().and_then(|s| s.trim().lines().last()?.parse().ok());
    let _ = std::fs::remove_file(&rss_file);
    Run { secs, rss_kb, out: String::from_utf8_lossy(&out.stdout).into_owned() }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("read-child") {
        return read_child(&args[1..]);
    }
    let rows = env_num("ROWS", 1_000_000);
    let runs = env_num("RUNS", 3) as usize;
    eprintln!("starting a sandbox...");
    let sb = Sandbox::builder("bench-binlog").option("innodb_buffer_pool_size", "512M").start().unwrap();
    let mut c = sb.conn().unwrap();
    c.query_drop("CREATE DATABASE sb").unwrap();
    let ddl = "(id INT NOT NULL PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL)";
    c.query_drop(format!("CREATE TABLE sb.single {ddl}")).unwrap();
    c.query_drop(format!("CREATE TABLE sb.multi {ddl}")).unwrap();

    eprintln!("writing {rows} single-row transactions...");
    let a_start = binlog_position(&mut c).unwrap();
    let t = Instant::now();
    let batch = 2000u64;
    let mut id = 0u64;
    while id < rows {
        let mut sql = String::with_capacity(batch as usize * 260);
        for _ in 0..batch.min(rows - id) {
            id += 1;
            let k = id.wrapping_mul(2_654_435_761) % 1_000_000;
            sql.push_str(&format!(
                "INSERT INTO sb.single VALUES ({id},{k},'{:0>11}-{:0>11}-{:0>11}-{:0>11}-{:0>11}-{:0>11}-{:0>11}-{:0>11}-{:0>11}-{:0>11}','{:0>11}-{:0>11}-{:0>11}-{:0>11}-{:0>11}');",
                id, k, id * 3, id * 5, id * 7, k * 3, k * 5, k * 7, id + k, id ^ k, id, k, id * 11, k * 11, id + 1
            ));
        }
        c.query_drop(sql).unwrap();
    }
    eprintln!("  {:.1} s", t.elapsed().as_secs_f64());
    let a_stop = binlog_position(&mut c).unwrap();
    // Each workload in a binlog file of its own, so `--raw` (which ignores --stop-position)
    // fetches exactly the same events as the others.
    c.query_drop("FLUSH BINARY LOGS").unwrap();
    let b_start = binlog_position(&mut c).unwrap();
    eprintln!("writing {rows} rows in one INSERT ... SELECT...");
    c.query_drop("INSERT INTO sb.multi SELECT * FROM sb.single").unwrap();
    let b_stop = binlog_position(&mut c).unwrap();
    c.query_drop("FLUSH BINARY LOGS").unwrap();
    assert_eq!(a_start.file, a_stop.file, "workload A must stay in one binlog file");
    assert_eq!(b_start.file, b_stop.file, "workload B must stay in one binlog file");

    let pw_file = sb.dir().join("bench-client.cnf");
    {
        let mut f = std::fs::File::create(&pw_file).unwrap();
        writeln!(f, "[client]\npassword={}", sb.password().expose()).unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let raw_dir: PathBuf = sb.dir().join("raw");
    std::fs::create_dir_all(&raw_dir).unwrap();

    for (label, start, stop) in
        [("single-row transactions", &a_start, &a_stop), ("multi-row events", &b_start, &b_stop)]
    {
        let mb = (stop.offset - start.offset) as f64 / 1e6;
        let (mut ours, mut verbose, mut raw) = (Vec::new(), Vec::new(), Vec::new());
        let (mut ours_rss, mut verbose_rss, mut raw_rss, mut hwm) = (0, 0, 0, String::new());
        let mut counts = String::new();
        for run in 0..runs {
            eprintln!("{label}: run {}/{runs}", run + 1);
            let mut cmd = Command::new(&exe);
            cmd.args([
                "read-child",
                sb.host(),
                &sb.port().to_string(),
                sb.user(),
                &start.to_string(),
                &stop.to_string(),
            ])
            .env("DTS_BENCH_PASSWORD", sb.password().expose());
            let r = timed(cmd);
            counts = r.out.trim().to_string();
            hwm = counts.split("hwm_kb=").nth(1).unwrap_or("").to_string();
            ours.push(Duration::from_secs_f64(r.secs));
            ours_rss = ours_rss.max(r.rss_kb.unwrap_or(0));

            let base = |extra: &[&str]| {
                let mut cmd = Command::new("mariadb-binlog");
                cmd.arg(format!("--defaults-extra-file={}", pw_file.display()))
                    .args(["--read-from-remote-server", "--host", sb.host(), "--user", sb.user()])
                    .arg(format!("--port={}", sb.port()))
                    .arg(format!("--start-position={}", start.offset))
                    .arg(format!("--stop-position={}", stop.offset))
                    .args(extra)
                    .arg(&start.file)
                    .stdout(Stdio::null());
                cmd
            };
            let r = timed(base(&["--verbose", "--result-file=/dev/null"]));
            verbose.push(Duration::from_secs_f64(r.secs));
            verbose_rss = verbose_rss.max(r.rss_kb.unwrap_or(0));
            let prefix = format!("--result-file={}/", raw_dir.display());
            let mut raw_cmd = base(&["--raw", &prefix]);
            // --raw cannot stop at a position; it reads the file to its end (the rotation).
            raw_cmd = {
                let args: Vec<_> = raw_cmd
                    .get_args()
                    .filter(|a| !a.to_string_lossy().starts_with("--stop-position"))
                    .map(|a| a.to_owned())
                    .collect();
                let mut c = Command::new("mariadb-binlog");
                c.args(args).stdout(Stdio::null());
                c
            };
            let r = timed(raw_cmd);
            raw.push(Duration::from_secs_f64(r.secs));
            raw_rss = raw_rss.max(r.rss_kb.unwrap_or(0));
        }
        let events: f64 = counts.split_whitespace().find_map(|w| w.strip_prefix("events=")).unwrap().parse().unwrap();
        let row_events: f64 = counts.split_whitespace().find_map(|w| w.strip_prefix("rows=")).unwrap().parse().unwrap();
        let (mo, mv, mr) = (median(ours).as_secs_f64(), median(verbose).as_secs_f64(), median(raw).as_secs_f64());
        println!(
            "== {label}: {events} events, {row_events} row changes, {mb:.1} MB (medians of {runs}, wall time incl. connect)"
        );
        println!(
            "  dts-binlog (decode all)      {mo:7.2} s  {:>9.0} events/s  {:>9.0} rows/s  {:6.1} MB/s  peak RSS {} KiB (VmHWM {hwm} KiB)",
            events / mo,
            row_events / mo,
            mb / mo,
            ours_rss
        );
        println!(
            "  mariadb-binlog --verbose     {mv:7.2} s  {:>9.0} events/s  {:>9.0} rows/s  {:6.1} MB/s  peak RSS {verbose_rss} KiB",
            events / mv,
            row_events / mv,
            mb / mv
        );
        println!(
            "  mariadb-binlog --raw (fetch) {mr:7.2} s  {:>9.0} events/s  {:>9.0} rows/s  {:6.1} MB/s  peak RSS {raw_rss} KiB",
            events / mr,
            row_events / mr,
            mb / mr
        );
        println!("  ratio vs --verbose: {:.2}x   vs --raw: {:.2}", mv / mo, mr / mo);
    }
}
