//! Library-level benchmarks of dts-sync. Each benchmark is a binary in `src/bin/` that measures
//! our code and a named baseline in the same run, interleaved, and reports the ratio of medians
//! (these machines are noisy; a ratio survives that, an absolute figure does not).
//!
//! Nothing here is a test: benchmarks never run in the test suite.

use std::time::{Duration, Instant};

/// Runs `f` `runs` times and returns each run's duration.
pub fn time_runs(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

/// The median of some durations.
pub fn median(mut d: Vec<Duration>) -> Duration {
    assert!(!d.is_empty(), "median of no runs");
    d.sort();
    d[d.len() / 2]
}

/// A number from the environment, or `default`.
pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name} must be a number")))
}

/// The account sysbench and the baselines' tools log in with: passwordless on the throwaway
/// sandboxes (127.0.0.1 only), so no password goes on their command lines.
pub const BENCH_USER: &str = "bench";

/// A source and a destination sandbox sized for benchmarks (512 MiB buffer pool), each with
/// the passwordless [`BENCH_USER`]; `extra` options go to both.
pub fn bench_pair(extra: &[(&str, &str)]) -> (dts_testkit::Sandbox, dts_testkit::Sandbox) {
    use mysql::prelude::Queryable;
    let start = |name| {
        let mut b = dts_testkit::Sandbox::builder(name)
            .option("innodb_buffer_pool_size", "512M")
            .option("innodb_log_file_size", "256M");
        for (k, v) in extra {
            b = b.option(k, v);
        }
        b.start().unwrap()
    };
    eprintln!("starting the source and destination sandboxes...");
    let (src, dst) = (start("bench-src"), start("bench-dst"));
    for sb in [&src, &dst] {
        let mut c = sb.root_conn().unwrap();
        c.query_drop(format!("CREATE USER '{BENCH_USER}'@'127.0.0.1'")).unwrap();
        c.query_drop(format!("GRANT ALL ON *.* TO '{BENCH_USER}'@'127.0.0.1'")).unwrap();
    }
    (src, dst)
}

/// `CHECKSUM TABLE` of `tables` in database `db` of `sb`: what a run must leave identical, and
/// the baseline of the verify benchmark.
pub fn checksum_tables(sb: &dts_testkit::Sandbox, db: &str, tables: &[String]) -> Vec<(String, Option<i64>)> {
    use mysql::prelude::Queryable;
    let list: Vec<String> = tables.iter().map(|t| format!("{db}.{t}")).collect();
    sb.conn().unwrap().query(format!("CHECKSUM TABLE {}", list.join(", "))).unwrap()
}

/// Fails with what to install when a tool is missing.
pub fn require(tools: &[&str], install: &str) {
    for tool in tools {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(found, "{tool} not found: {install}");
    }
}

/// `sysbench oltp_read_write prepare` of `tables` x `size` rows into database `db` of `sb`.
pub fn sysbench_prepare(sb: &dts_testkit::Sandbox, db: &str, tables: u64, size: u64) {
    use mysql::prelude::Queryable;
    sb.conn().unwrap().query_drop(format!("CREATE DATABASE {db}")).unwrap();
    eprintln!("sysbench prepare: {tables} x {size} rows...");
    let out = std::process::Command::new("sysbench")
        .args([
            "oltp_read_write",
            "--mysql-host=127.0.0.1",
            &format!("--mysql-port={}", sb.port()),
            &format!("--mysql-user={BENCH_USER}"),
            &format!("--mysql-db={db}"),
            &format!("--tables={tables}"),
            &format!("--table-size={size}"),
            "--threads=2",
            "prepare",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "sysbench prepare: {}", String::from_utf8_lossy(&out.stderr));
}

/// Runs `sysbench oltp_write_only <cmd>` (prepare, run) against database `db` of `sb` with
/// `tables` x `size` rows and `extra` options (threads, events); fails if sysbench does.
pub fn sysbench_write_only(sb: &dts_testkit::Sandbox, db: &str, tables: u64, size: u64, cmd: &str, extra: &str) {
    let ok = std::process::Command::new("sh")
        .args(["-c", &format!(
            "sysbench oltp_write_only --mysql-host=127.0.0.1 --mysql-port={} --mysql-user={BENCH_USER} --mysql-db={db} \
             --tables={tables} --table-size={size} {extra} {cmd} > /dev/null",
            sb.port()
        )])
        .stdin(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success(), "sysbench {cmd} failed");
}

/// Writes a task file syncing database `db` from `src` to `dst` into `dir` (made if missing;
/// password files beside it), with `task` as its name and `extra` appended (more `[task]` keys
/// first, then sections), and returns its path.
pub fn write_task_file(
    src: &dts_testkit::Sandbox,
    dst: &dts_testkit::Sandbox,
    dir: &std::path::Path,
    task: &str,
    db: &str,
    extra: &str,
) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let text = format!(
        "{}\n{}\n[task]\nname = \"{task}\"\nserver_id = {}\n{extra}\n[[objects]]\ndatabase = \"{db}\"\n",
        src.task_section("source", dir).unwrap(),
        dst.task_section("destination", dir).unwrap(),
        dts_testkit::replica_server_id()
    );
    let path = dir.join("task.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The dts-sync binary next to the running benchmark's own (target/release/).
pub fn dts_sync_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().join("dts-sync");
    assert!(bin.exists(), "{} not found: cargo build --release -p dts-sync first", bin.display());
    bin
}

/// A `dts-sync run` child process, timed from its spawn, with its peak RSS (VmHWM) sampled
/// whenever it is polled.
#[derive(Debug)]
pub struct DtsRun {
    child: std::process::Child,
    started: Instant,
    peak_kib: u64,
    log: std::path::PathBuf,
}

impl DtsRun {
    /// Spawns `dts-sync run --log-level warn --config TASK` with `args` added (DTS_LOG_LEVEL
    /// sets another level); its log goes to `dts-sync.log` beside the task file.
    pub fn spawn(bin: &std::path::Path, task: &std::path::Path, args: &[&str]) -> DtsRun {
        let log = task.with_file_name("dts-sync.log");
        let level = std::env::var("DTS_LOG_LEVEL").unwrap_or_else(|_| "warn".into());
        let started = Instant::now();
        let child = std::process::Command::new(bin)
            .args(["run", "--log-level", &level, "--config"])
            .arg(task)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        DtsRun { child, started, peak_kib: 0, log }
    }

    /// Reads the child's peak RSS so far; `Some` once it exited.
    pub fn poll(&mut self) -> Option<std::process::ExitStatus> {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())) {
            let hwm = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            self.peak_kib = self.peak_kib.max(hwm.unwrap_or(0));
        }
        self.child.try_wait().unwrap()
    }

    /// What the child logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for the child's exit, which must be a success; returns its wall time and peak
    /// RSS (KiB).
    pub fn wait(mut self) -> (Duration, u64) {
        let status = loop {
            if let Some(s) = self.poll() {
                break s;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let elapsed = self.started.elapsed();
        if !status.success() {
            panic!("dts-sync run failed ({status}), its log {}:\n{}", self.log.display(), self.log());
        }
        (elapsed, self.peak_kib)
    }

    /// Stops the child as an operator does (SIGTERM) and waits for its clean exit.
    pub fn terminate(mut self) -> (Duration, u64) {
        if self.poll().is_some() {
            // Exited already (its pid may be another process's now): say how.
            return self.wait();
        }
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM {}", self.child.id());
        self.wait()
    }
}

impl Drop for DtsRun {
    /// A benchmark that failed midway leaves no dts-sync running on (it would retry its
    /// connections against whatever server takes the sandboxes' ports next).
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `dts-sync run --exit-when-caught-up` on `task`; returns its wall time and peak RSS
/// (KiB).
pub fn run_caught_up(bin: &std::path::Path, task: &std::path::Path) -> (Duration, u64) {
    DtsRun::spawn(bin, task, &["--exit-when-caught-up"]).wait()
}

/// A source, a destination and a native replica of the source (`slave_parallel_threads = 0`,
/// following it by GTID from its first transaction on), each with the passwordless
/// [`BENCH_USER`], sandboxes named `{prefix}-src`, `-dst` and `-replica`; the replica's threads
/// are running.
pub fn source_destination_replica(prefix: &str) -> (dts_testkit::Sandbox, dts_testkit::Sandbox, dts_testkit::Sandbox) {
    use mysql::prelude::Queryable;
    eprintln!("starting sandboxes...");
    let start = |name: &str, domain: u32| {
        dts_testkit::Sandbox::builder(&format!("{prefix}-{name}"))
            .gtid_domain_id(domain)
            .option("innodb_buffer_pool_size", "512M")
            .option("innodb_log_file_size", "256M")
            .start()
            .unwrap()
    };
    let (src, dst, rep) = (start("src", 1), start("dst", 2), start("replica", 3));
    for sb in [&src, &dst, &rep] {
        let mut c = sb.root_conn().unwrap();
        // Not binlogged: the replica must not replay the source's own account.
        c.query_drop("SET SESSION sql_log_bin = 0").unwrap();
        c.query_drop(format!("CREATE USER '{BENCH_USER}'@'127.0.0.1'")).unwrap();
        c.query_drop(format!("GRANT ALL ON *.* TO '{BENCH_USER}'@'127.0.0.1'")).unwrap();
    }
    let mut r = rep.root_conn().unwrap();
    r.query_drop(format!(
        "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {}, MASTER_USER = '{BENCH_USER}', MASTER_PASSWORD = '', \
         MASTER_USE_GTID = slave_pos",
        src.port()
    ))
    .unwrap();
    r.query_drop("SET GLOBAL slave_parallel_threads = 0").unwrap();
    r.query_drop("START SLAVE").unwrap();
    (src, dst, rep)
}

/// The source position in the replica's `SHOW SLAVE STATUS` columns `file` and `pos` (what its
/// IO thread read, or what its SQL thread executed); fails on a replication error.
pub fn slave_pos(r: &mut mysql::Conn, file: &str, pos: &str) -> dts_types::BinlogPosition {
    use mysql::prelude::Queryable;
    let st: mysql::Row = r.query_first("SHOW SLAVE STATUS").unwrap().unwrap();
    let err: String = st.get("Last_SQL_Error").unwrap_or_default();
    assert!(err.is_empty(), "native replication failed: {err}");
    dts_types::BinlogPosition::new(st.get::<String, _>(file).unwrap(), st.get::<u64, _>(pos).unwrap())
}
