//! Runs the example programs as a user would and checks what they print and do.
//!
//! `cargo test` builds the examples before it runs tests; to run this file alone, build them
//! first: `cargo build -p dts-task --examples && cargo test -p dts-task --test examples`.

use std::path::PathBuf;
use std::process::Command;

use mysql::prelude::Queryable;

/// The built example `name` of this package.
fn example(name: &str) -> PathBuf {
    dts_testkit::example_program("dts-task", name)
}

#[test]
fn embed_task_runs_a_whole_task_and_reports_it() {
    let pair = dts_testkit::start_pair().unwrap();
    let db = pair.source.fresh_database("embed").unwrap();
    let mut src = pair.source.conn().unwrap();
    src.query_drop(format!("CREATE TABLE `{db}`.t (id INT PRIMARY KEY, name VARCHAR(20))")).unwrap();
    src.query_drop(format!("INSERT INTO `{db}`.t VALUES (1, 'one'), (2, 'two'), (3, NULL)")).unwrap();

    let task = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("embed_task-{}.toml", std::process::id()));
    std::fs::write(
        &task,
        format!(
            r#"[source]
host = "127.0.0.1"
port = {}
user = "dts"
password_env = "EMBED_SOURCE_PASSWORD"

[destination]
host = "127.0.0.1"
port = {}
user = "dts"
password_env = "EMBED_DESTINATION_PASSWORD"

[task]
name = "embed"
server_id = 4000000002

[[objects]]
database = "{db}"
"#,
            pair.source.port(),
            pair.destination.port()
        ),
    )
    .unwrap();

    let out = Command::new(example("embed_task"))
        .arg(&task)
        .env("EMBED_SOURCE_PASSWORD", pair.source.password().expose())
        .env("EMBED_DESTINATION_PASSWORD", pair.destination.password().expose())
        .env("DTS_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "embed_task failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));

    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[..3], ["phase incremental", "schema statements 2", "rows copied 3"], "{stdout}");
    assert!(stdout.contains("task embed: incremental"), "the status follows the report:\n{stdout}");
    let copied: Vec<(i32, Option<String>)> =
        pair.destination.conn().unwrap().query(format!("SELECT id, name FROM `{db}`.t ORDER BY id")).unwrap();
    assert_eq!(copied, [(1, Some("one".into())), (2, Some("two".into())), (3, None)]);
}
