//! The binary as a user runs it: help, version, a missing task file, and a clear message when
//! MariaDB is missing.

use std::process::Command;

fn dts_sync() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dts-sync"))
}

#[test]
fn version_and_help() {
    let out = dts_sync().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("dts-sync {}", env!("CARGO_PKG_VERSION")));
    let out = dts_sync().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Usage: dts-sync") && help.contains("demo"), "{help}");
}

#[test]
fn bad_usage_exits_2() {
    let out = dts_sync().arg("no-such-command").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand"));
}

#[test]
fn a_missing_task_file_exits_2() {
    let out = dts_sync().args(["status", "--config", "/nonexistent/dts-test/missing.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn demo_without_mariadb_says_what_to_install() {
    let out = dts_sync().arg("demo").env("DTS_MARIADB_BINDIR", "/nonexistent/dts-test").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("mariadbd was not found") && err.contains("apt-get install -y mariadb-server"), "{err}");
}

#[test]
fn demo_syncs_under_a_live_writer_verifies_and_removes_its_servers() {
    let out = dts_sync().args(["demo", "--rows", "500", "--write-seconds", "1"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("source: 500 rows in demo.accounts"), "{stdout}");
    assert!(stdout.contains("demo: the destination is identical to the source"), "{stdout}");
    let task = stdout.lines().find_map(|l| l.strip_prefix("task file: ")).unwrap_or_else(|| panic!("{stdout}"));
    let dir = std::path::Path::new(task.split_whitespace().next().unwrap()).parent().unwrap();
    assert!(!dir.exists(), "{} must be removed when the demo ends", dir.display());
}
