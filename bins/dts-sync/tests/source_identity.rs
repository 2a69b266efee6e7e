//! Another server behind the source's address (a failover to a promoted replica, a rebuilt
//! server): the task's checkpoint is a binlog offset on the first server, so reading on from it
//! would re-read or skip changes. Both the next `run` and a `run` whose reader reconnects must
//! stop and say so; back on the first server the task goes on and ends identical.
//!
//! The "other server" is the case's own source restarted with another `server_id`, on the same
//! port and data dir: to the task it is a different server at the same address. This stays in
//! Rust (not a case folder) because it restarts a server with other options while a run reads.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dts_testkit::{Sandbox, replica_server_id, shared_pair};
use mysql::prelude::Queryable;

fn dts_sync(args: &[&str], config: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dts-sync"));
    c.args(args).arg("--config").arg(config).env("DTS_LOG", "warn");
    c
}

#[test]
fn another_server_behind_the_source_address_stops_the_task() {
    let mut src = Sandbox::builder("identity-src").server_id(4101).start().unwrap();
    let dst = &shared_pair().destination;
    let dir =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("dts-identity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = src.fresh_database("ident").unwrap();
    let q = db.quoted();
    let mut s = src.conn().unwrap();
    s.query_drop(format!("CREATE TABLE {q}.t (id INT PRIMARY KEY, v INT)")).unwrap();
    s.query_drop(format!("INSERT INTO {q}.t VALUES (1, 1), (2, 2)")).unwrap();
    drop(s);
    let task = format!("ident_{}", std::process::id());
    let config = dir.join("task.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n{}\n[task]\nname = \"{task}\"\nserver_id = {}\nheartbeat = false\n\n[[objects]]\ndatabase = \"{db}\"\n",
            src.task_section("source", &dir).unwrap(),
            dst.task_section("destination", &dir).unwrap(),
            replica_server_id()
        ),
    )
    .unwrap();
    let run = |what: &str| {
        let out = dts_sync(&["run", "--exit-when-caught-up"], &config).output().unwrap();
        (out.status.code(), format!("{what}: {}", String::from_utf8_lossy(&out.stderr)))
    };
    let (code, log) = run("first run");
    assert_eq!(code, Some(0), "{log}");

    // The next run, on another server: it stops before reading, naming both and the fix.
    src.restart_with(&[("server_id", Some("4202"))]).unwrap();
    src.conn().unwrap().query_drop(format!("INSERT INTO {q}.t VALUES (3, 3)")).unwrap();
    let (code, log) = run("run on the other server");
    assert_eq!(code, Some(1), "{log}");
    for needle in ["another server", "it was server_id 4101, it is now server_id 4202", "dts-sync reset --yes"] {
        assert!(log.contains(needle), "no {needle:?} in {log}");
    }

    // A running task whose reader reconnects to the other server stops too.
    src.restart_with(&[("server_id", Some("4101"))]).unwrap();
    let mut child = dts_sync(&["run"], &config).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let mut d = dst.conn().unwrap();
    let arrived = |d: &mut mysql::Conn, id: i32| {
        d.query_first::<i32, _>(format!("SELECT COUNT(*) FROM {q}.t WHERE id = {id}")).unwrap() == Some(1)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !arrived(&mut d, 3) {
        assert!(Instant::now() < deadline, "row 3 never arrived once the first server was back");
        std::thread::sleep(Duration::from_millis(100));
    }
    src.restart_with(&[("server_id", Some("4202"))]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the run went on reading another server");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut log = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("another server") && log.contains("4202"), "{log}");

    // Back on the first server: the task goes on from its checkpoint and ends identical.
    src.restart_with(&[("server_id", Some("4101"))]).unwrap();
    src.conn().unwrap().query_drop(format!("INSERT INTO {q}.t VALUES (4, 4)")).unwrap();
    let (code, log) = run("run back on the first server");
    assert_eq!(code, Some(0), "{log}");
    let rows: Vec<(i32, i32)> = d.query(format!("SELECT id, v FROM {q}.t ORDER BY id")).unwrap();
    assert_eq!(rows, [(1, 1), (2, 2), (3, 3), (4, 4)]);
    drop(src);
    // Cleanup of the test's own files; a leftover is harmless.
    std::fs::remove_dir_all(&dir).ok();
}
