//! The binary as a user runs it: help, version, and a clear message when MariaDB is missing.

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
fn demo_without_mariadb_says_what_to_install() {
    let out = dts_sync().arg("demo").env("DTS_MARIADB_BINDIR", "/nonexistent/dts-test").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("mariadbd was not found") && err.contains("apt-get install -y mariadb-server"), "{err}");
}

#[test]
fn demo_starts_two_ready_servers_and_removes_them() {
    let out = dts_sync().args(["demo", "--rows", "10"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("source: 10 rows in demo.accounts"), "{stdout}");
    for role in ["source ", "destination "] {
        let line = stdout.lines().find(|l| l.starts_with(role)).unwrap_or_else(|| panic!("no {role}line: {stdout}"));
        assert!(line.ends_with("ROW/FULL/FULL"), "{line}");
        let dir = line.split_whitespace().find(|w| w.ends_with("/password")).unwrap();
        let dir = std::path::Path::new(dir).parent().unwrap();
        assert!(!dir.exists(), "{} must be removed when the demo ends", dir.display());
    }
}
