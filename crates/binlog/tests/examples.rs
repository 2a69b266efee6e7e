//! Runs the example programs as a user would and checks what they print.
//!
//! `cargo test` builds the examples before it runs tests; to run this file alone, build them
//! first: `cargo build -p dts-binlog --examples && cargo test -p dts-binlog --test examples`.

use std::path::PathBuf;
use std::process::Command;

use dts_testkit::Sandbox;
use mysql::prelude::Queryable;

/// The built example `name` of this package.
fn example(name: &str) -> PathBuf {
    dts_testkit::example_program("dts-binlog", name)
}

#[test]
fn tail_binlog_prints_each_row_change_of_the_source() {
    let sb = Sandbox::start("examples").unwrap();
    let db = sb.fresh_database("tail").unwrap();
    let mut c = sb.conn().unwrap();
    c.query_drop(format!("CREATE TABLE `{db}`.t (id INT PRIMARY KEY, name VARCHAR(20))")).unwrap();
    let p = sb.binlog_position().unwrap();
    let (file, offset) = (p.file, p.offset);
    c.query_drop(format!("INSERT INTO `{db}`.t VALUES (1, 'one'), (2, NULL)")).unwrap();
    c.query_drop(format!("UPDATE `{db}`.t SET name = 'uno' WHERE id = 1")).unwrap();
    c.query_drop(format!("DELETE FROM `{db}`.t WHERE id = 2")).unwrap();

    let out = Command::new(example("tail_binlog"))
        .args([sb.host(), &sb.port().to_string(), sb.user(), &format!("{file}:{offset}")])
        .env("DTS_PASSWORD", sb.password().expose())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "tail_binlog failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));

    let changes: Vec<&str> = stdout.lines().filter(|l| !l.starts_with("BEGIN") && !l.starts_with("COMMIT")).collect();
    assert_eq!(
        changes,
        [
            format!("INSERT `{db}`.`t` (id=1, name=_utf8mb4'one')"),
            format!("INSERT `{db}`.`t` (id=2, name=NULL)"),
            format!("UPDATE `{db}`.`t` (id=1, name=_utf8mb4'one') -> (id=1, name=_utf8mb4'uno')"),
            format!("DELETE `{db}`.`t` (id=2, name=NULL)"),
        ],
        "{stdout}"
    );
    assert_eq!(stdout.lines().filter(|l| *l == "BEGIN").count(), 3, "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("COMMIT ")).count(), 3, "{stdout}");
}
