//! No server and no data dir outlives its owner: after a clean drop, a panic, or an abort.
//!
//! The abnormal endings are tested in a child process (this same test binary, re-run with
//! `DTS_CLEANUP_CHILD` set) that starts a sandbox, reports its PID and directory, and dies.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dts_testkit::Sandbox;

const CHILD_ENV: &str = "DTS_CLEANUP_CHILD";

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

fn wait_gone(pid: u32, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while (alive(pid) || dir.exists()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(pid), "mariadbd {pid} is still running");
    assert!(!dir.exists(), "{} still exists", dir.display());
}

/// In the child: start a sandbox, print where it is, then end the way `how` says.
#[test]
fn child_role() {
    let Ok(how) = std::env::var(CHILD_ENV) else { return };
    let sb = Sandbox::start("cleanup-child").expect("start sandbox");
    println!("SANDBOX {} {}", sb.pid().unwrap(), sb.dir().display());
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    match how.as_str() {
        "abort" => std::process::abort(),
        "leak-then-exit" => {
            std::mem::forget(sb);
            std::process::exit(0)
        }
        _ => {
            // An ordinary failing test: unwinding drops the sandbox.
            panic!("deliberate panic while holding a sandbox")
        }
    }
}

fn run_child(how: &str) -> (u32, PathBuf) {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["--exact", "child_role", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, how)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success() || how == "leak-then-exit", "the child was meant to fail ({how})");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("SANDBOX ").map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("child printed no sandbox: {stdout}"));
    let (pid, dir) = line.split_once(' ').unwrap();
    (pid.parse().unwrap(), PathBuf::from(dir))
}

#[test]
fn dropping_a_sandbox_stops_the_server_and_removes_its_dir() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let sb = Sandbox::start("cleanup-drop").unwrap();
    let (pid, dir) = (sb.pid().unwrap(), sb.dir().to_path_buf());
    assert!(alive(pid) && dir.join("data").exists());
    drop(sb);
    wait_gone(pid, &dir);
}

#[test]
fn a_panicking_test_leaves_nothing_behind() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let (pid, dir) = run_child("panic");
    wait_gone(pid, &dir);
}

#[test]
fn an_aborted_process_leaves_nothing_behind() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let (pid, dir) = run_child("abort");
    wait_gone(pid, &dir);
}

#[test]
fn a_sandbox_never_dropped_is_cleaned_when_the_process_exits() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let (pid, dir) = run_child("leak-then-exit");
    wait_gone(pid, &dir);
}

#[test]
fn restart_applies_new_settings_and_keeps_data() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    use mysql::prelude::Queryable;
    let mut sb = Sandbox::start("cleanup-restart").unwrap();
    let db = sb.fresh_database("keep").unwrap();
    sb.conn().unwrap().query_drop(format!("CREATE TABLE {}.t (id INT PRIMARY KEY)", db.quoted())).unwrap();
    let port = sb.port();
    sb.restart_with(&[("binlog_format", Some("STATEMENT"))]).unwrap();
    assert_eq!(sb.port(), port);
    assert_eq!(sb.global_var("binlog_format").unwrap().as_deref(), Some("STATEMENT"));
    let n: Option<u64> = sb
        .conn()
        .unwrap()
        .exec_first("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", (db.as_str(),))
        .unwrap();
    assert_eq!(n, Some(1));
}
