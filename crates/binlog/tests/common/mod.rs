//! Where the MySQL/MariaDB binlog fixture files are (../shared beside the project root).
// Each test binary uses a part of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn fixture(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/mysql-binlogs");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "binlog fixture {} not found: these tests need the shared fixtures folder at ../shared beside the \
         project root (shared/fixtures/mysql-binlogs, as CI provides it)",
        path.display()
    );
    path
}

pub fn all_fixtures() -> Vec<PathBuf> {
    let dir = fixture("README.md").parent().unwrap().to_path_buf();
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().contains("bin")))
        .collect();
    v.sort();
    v
}
