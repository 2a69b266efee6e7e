//! What an operator sees of a running task off a terminal (a service, nohup): a progress line
//! every `[monitor] progress_interval` seconds in each phase, a closing summary of each phase
//! and of the run; and the logs as JSON (`--log-format json`) or at a level (`--log-level`,
//! also from DTS_LOG_FORMAT / DTS_LOG_LEVEL).
//!
//! On a terminal (tmux gives the run one, 80 columns wide): the live display, and what Ctrl-C
//! leaves of it.
//!
//! In Rust rather than in `tests/cases/`: it reads the running process's stderr line by line
//! while it writes to the source, and parses every line of it.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dts_testkit::{replica_server_id, shared_pair};
use mysql::prelude::Queryable;

fn dts_sync() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dts-sync"));
    let pair = shared_pair();
    c.env("DTS_TEST_SRC_PW", pair.source.password().expose());
    c.env("DTS_TEST_DST_PW", pair.destination.password().expose());
    // The flags and their defaults decide, not the environment of whoever runs the tests.
    for v in ["DTS_LOG", "DTS_LOG_FORMAT", "DTS_LOG_LEVEL"] {
        c.env_remove(v);
    }
    c
}

/// A task file for the shared pair syncing database `db`; `body` adds sections.
fn task_file(name: &str, db: &str, body: &str) -> PathBuf {
    let pair = shared_pair();
    let text = format!(
        "[source]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"dts\"\npassword_env = \"DTS_TEST_SRC_PW\"\n\n\
         [destination]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"dts\"\npassword_env = \"DTS_TEST_DST_PW\"\n\n\
         [task]\nname = \"{name}\"\nserver_id = {}\n\n[[objects]]\ndatabase = \"{db}\"\n\n{body}\n",
        pair.source.port(),
        pair.destination.port(),
        replica_server_id(),
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("dts-progress-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn sql(stmts: &[String]) {
    let mut c = shared_pair().source.conn().unwrap();
    for s in stmts {
        c.query_drop(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

/// A running `dts-sync run` whose stderr lines are collected as they come.
struct Running {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    fn start(config: &PathBuf) -> Running {
        let mut child = dts_sync()
            .args(["run", "--config"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (l, err) = (lines.clone(), child.stderr.take().unwrap());
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines() {
                l.lock().unwrap().push(line.unwrap());
            }
        });
        Running { child, lines, reader: Some(reader) }
    }

    fn text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Waits until a line holds `what` (60 s at most); the line.
    fn wait_for(&mut self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(l) = self.lines.lock().unwrap().iter().find(|l| l.contains(what)) {
                return l.clone();
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("run exited ({st}) before logging {what:?}:\n{}", self.text());
            }
            assert!(Instant::now() < deadline, "no line with {what:?} in 60 s:\n{}", self.text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM, then the exit status and every line.
    fn stop(mut self) -> (std::process::ExitStatus, Vec<String>) {
        // Cleanup on drop: the run may have exited already.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let st = self.child.wait().unwrap();
        self.reader.take().unwrap().join().unwrap();
        let lines = self.lines.lock().unwrap().clone();
        (st, lines)
    }
}

/// The progress lines that start with `prefix` (a phase's, not its summary).
fn progress_lines<'a>(lines: &'a [String], prefix: &str) -> Vec<&'a String> {
    lines.iter().filter(|l| l.contains(prefix)).collect()
}

#[test]
fn off_a_terminal_every_phase_logs_progress_lines_and_a_closing_summary() {
    let db = shared_pair().source.fresh_database("e2e_progress").unwrap();
    let q = db.quoted();
    // Schema sync lasting beyond one progress interval, however fast the machine: tables of
    // 200 partitions each (a file per partition to create), few, so that planning their copy
    // stays quick. (8 of them once took exactly 1.0 s: no progress line.)
    let mut setup: Vec<String> = (1..=16)
        .map(|i| format!("CREATE TABLE {q}.t{i} (id INT PRIMARY KEY, v INT) PARTITION BY HASH (id) PARTITIONS 200"))
        .collect();
    setup.push(format!("CREATE TABLE {q}.items (id BIGINT PRIMARY KEY, label VARCHAR(50)) DEFAULT CHARSET=utf8mb4"));
    setup.push(format!("INSERT INTO {q}.items SELECT seq, CONCAT('item ', seq) FROM {q}.seq_1_to_3000"));
    sql(&setup);
    // The copy throttled to about 3 s, so that it logs progress lines too.
    let config = task_file(
        &format!("progress_{db}"),
        db.as_str(),
        "[full]\nrows_per_sec = 1000\nchunk_rows = 200\n\n[monitor]\nprogress_interval = 1\n",
    );
    let started = Instant::now();
    let mut run = Running::start(&config);
    run.wait_for("full copy done: ");
    // 300 row changes in 30 transactions, over about 3 s.
    for round in 0..30 {
        let values: Vec<String> = (0..10).map(|k| format!("({}, 'new')", 10_000 + round * 10 + k)).collect();
        sql(&[format!("INSERT INTO {q}.items VALUES {}", values.join(", "))]);
        std::thread::sleep(Duration::from_millis(100));
    }
    run.wait_for("and 300 row changes in");
    let (st, lines) = run.stop();
    let text = lines.join("\n");
    println!("{text}\n(in {:?})", started.elapsed());
    assert!(st.success(), "{st}:\n{text}");

    // Each phase: progress lines while it ran, then its summary with what it did.
    let schema = progress_lines(&lines, "schema sync: ");
    assert!(!schema.is_empty() && schema.iter().all(|l| l.contains(" statements (")), "{text}");
    let summary = lines.iter().find(|l| l.contains("schema sync done: ")).expect("schema sync's summary");
    // The database, 16 tables and items, each created once.
    assert!(summary.contains("schema sync done: 18 of 18 statements in "), "{summary}");
    let copy = progress_lines(&lines, "full copy: ");
    assert!(copy.iter().filter(|l| l.contains(" rows (")).count() >= 2, "{text}");
    assert!(
        copy.iter().all(|l| l.contains("planning the chunks") || l.contains(" rows/s, ") && l.contains("/s, ETA ")),
        "{text}"
    );
    let summary = lines.iter().find(|l| l.contains("full copy done: ")).expect("the full copy's summary");
    assert!(summary.contains("full copy done: 3,000 rows (") && summary.contains(" of 17/17 tables in "), "{summary}");
    let incremental = progress_lines(&lines, "incremental sync: lag ");
    assert!(incremental.len() >= 2, "{text}");
    assert!(incremental.iter().all(|l| l.contains(" txn/s, ") && l.contains(" rows/s, applied ")), "{text}");
    let summary = lines.iter().find(|l| l.contains("incremental sync stopped: ")).expect("incremental sync's summary");
    assert!(summary.contains(" transactions, 300 row changes (") && summary.contains(" of binlog) in "), "{summary}");
    // The run's one line, last.
    let last = lines.iter().rev().find(|l| l.contains("stopped cleanly")).expect("the run's summary");
    assert!(
        last.contains("18 schema statements, 3,000 rows copied, ") && last.contains(" and 300 row changes applied"),
        "{last}"
    );
    // In order: no phase's lines after the next one's summary.
    let at = |what: &str| lines.iter().position(|l| l.contains(what)).unwrap();
    assert!(at("schema sync done") < at("full copy: ") && at("full copy done") < at("incremental sync: lag"), "{text}");
}

/// A small task caught up with `args` before `run`, `env` set; every stderr line.
fn caught_up(name: &str, db: &str, body: &str, args: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let config = task_file(name, db, body);
    let mut c = dts_sync();
    c.args(args).args(["run", "--exit-when-caught-up", "--config"]).arg(&config);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{}:\n{err}", out.status);
    err.lines().map(String::from).collect()
}

#[test]
fn logs_are_json_on_request_and_filtered_by_level() {
    let db = shared_pair().source.fresh_database("e2e_logs").unwrap();
    let q = db.quoted();
    sql(&[
        format!("CREATE TABLE {q}.items (id INT PRIMARY KEY, v VARCHAR(20))"),
        format!("INSERT INTO {q}.items SELECT seq, 'x' FROM {q}.seq_1_to_50"),
    ]);
    // Serving beyond loopback is a WARN: a line that must pass `--log-level warn`.
    let monitor = "[monitor]\nlisten = \"0.0.0.0:0\"\n";
    let name = format!("logs_{db}");

    let lines = caught_up(&name, db.as_str(), monitor, &["--log-format", "json"], &[]);
    assert!(lines.len() > 3, "{lines:?}");
    let mut levels = std::collections::BTreeSet::new();
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        for key in ["timestamp", "level", "target", "message"] {
            assert!(v[key].is_string(), "no {key} in {l}");
        }
        levels.insert(v["level"].as_str().unwrap().to_string());
    }
    assert!(levels.contains("INFO") && levels.contains("WARN"), "{levels:?}");
    let done = lines.iter().find(|l| l.contains("full copy done: 50 rows")).expect("the copy's summary as JSON");
    let v: serde_json::Value = serde_json::from_str(done).unwrap();
    assert_eq!(v["phase"], "full", "{done}");

    // A resumed run: caught up again, at WARN only (the flag), then from the environment.
    for (args, env) in [
        (&["--log-level", "warn"][..], &[][..]),
        (&[][..], &[("DTS_LOG_LEVEL", "warn"), ("DTS_LOG_FORMAT", "json")][..]),
    ] {
        let lines = caught_up(&name, db.as_str(), monitor, args, env);
        assert!(lines.iter().any(|l| l.contains("WARN") && l.contains("served beyond this host")), "{lines:?}");
        assert!(!lines.iter().any(|l| l.contains("INFO")), "{lines:?}");
        if !env.is_empty() {
            assert!(lines.iter().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()), "{lines:?}");
        }
    }
}

/// `tmux` on a server of this test's own (`-L`), so no other tmux is touched.
fn tmux(socket: &str) -> Command {
    let mut c = Command::new("tmux");
    c.args(["-L", socket]);
    c
}

/// Ends this test's tmux server (and the run in it) however the test ends.
struct TmuxServer(String);

impl Drop for TmuxServer {
    fn drop(&mut self) {
        // Already gone when the test ended it itself.
        let _ = tmux(&self.0).arg("kill-server").status();
    }
}

/// The pane's screen, a line per logical line (wrapped rows joined).
fn screen(socket: &str) -> String {
    let out = tmux(socket).args(["capture-pane", "-p", "-J", "-t", "run"]).output().unwrap();
    assert!(out.status.success(), "tmux capture-pane: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Ctrl-C on the terminal the display runs on: the terminal echoes `^C` where the cursor is.
/// Indicatif leaves it at the right edge after the last line, so the echo wrapped onto a line
/// the display did not count, and clearing it left its first line on the screen. Nothing of
/// the display may stay; the summaries follow the log lines above it.
#[test]
fn on_a_terminal_ctrl_c_leaves_nothing_of_the_display() {
    let db = shared_pair().source.fresh_database("e2e_progress_tty").unwrap();
    let q = db.quoted();
    sql(&[
        format!("CREATE TABLE {q}.items (id BIGINT PRIMARY KEY, label VARCHAR(50)) DEFAULT CHARSET=utf8mb4"),
        format!("INSERT INTO {q}.items SELECT seq, CONCAT('item ', seq) FROM {q}.seq_1_to_300"),
    ]);
    let config = task_file(&format!("progress_tty_{db}"), db.as_str(), "");
    let socket = format!("dts-progress-{}", std::process::id());
    // The server tmux starts inherits this environment (the passwords the task file names).
    let run = dts_sync();
    let mut start = tmux(&socket);
    for (k, v) in run.get_envs() {
        match v {
            Some(v) => start.env(k, v),
            None => start.env_remove(k),
        };
    }
    let command = format!("{} run --config {}", run.get_program().to_string_lossy(), config.display());
    let ok = start
        .args(["new-session", "-d", "-s", "run", "-x", "80", "-y", "40", &command])
        .status()
        .expect("tmux, which the test kit's machines have, runs");
    assert!(ok.success(), "tmux new-session");
    let _server = TmuxServer(socket.clone());
    // The pane stays once the run exits, to be read.
    tmux(&socket).args(["set-option", "-t", "run", "remain-on-exit", "on"]).status().unwrap();
    let wait = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = screen(&socket);
            if s.contains(what) {
                return s;
            }
            assert!(Instant::now() < deadline, "no {what:?} on the terminal in 60 s:\n{s}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let live = wait("  applied    ");
    assert!(live.lines().any(|l| l.starts_with("incremental  lag ")), "{live}");
    // Let the lag be read once (the display's lines are then all there).
    std::thread::sleep(Duration::from_millis(2500));
    tmux(&socket).args(["send-keys", "-t", "run", "C-c"]).status().unwrap();
    let after = wait("stopped cleanly");
    println!("{after}");
    for l in after.lines() {
        assert!(
            !l.starts_with("incremental  ") && !l.starts_with("  applied ") && !l.starts_with("  last DDL "),
            "a line of the display stayed on the terminal after Ctrl-C:\n{after}"
        );
    }
    assert!(after.contains("incremental sync stopped: "), "{after}");
}
