//! Another server behind the source's address (a failover to a promoted replica, a rebuilt
//! server): the task's checkpoint is a binlog offset on the first server, so it must never be
//! read there by file and offset. Here the other server has the first one's binlog and GTIDs
//! (its history covers the checkpoint), so the next `run`, and a `run` whose reader reconnects
//! to it, follow it by GTID and end identical; and so does going back to the first server.
//! (A promoted replica, and one that lacks transactions of the checkpoint: the `failover_*` cases.)
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

/// A task file in `dir` syncing database `db` of `src` to the shared destination (no heartbeat:
/// only the test writes to the binlog).
fn task_file(src: &Sandbox, dir: &std::path::Path, name: &str, db: &dts_types::Ident) -> std::path::PathBuf {
    let config = dir.join("task.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n{}\n[task]\nname = \"{name}_{}\"\nserver_id = {}\nheartbeat = false\n\n[[objects]]\ndatabase = \"{db}\"\n",
            src.task_section("source", dir).unwrap(),
            shared_pair().destination.task_section("destination", dir).unwrap(),
            std::process::id(),
            replica_server_id()
        ),
    )
    .unwrap();
    config
}

#[test]
fn another_server_behind_the_source_address_is_followed_by_gtid() {
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
    let config = task_file(&src, &dir, "ident", &db);
    let run = |what: &str| {
        let out = dts_sync(&["run", "--exit-when-caught-up"], &config).output().unwrap();
        (out.status.code(), format!("{what}: {}", String::from_utf8_lossy(&out.stderr)))
    };
    let (code, log) = run("first run");
    assert_eq!(code, Some(0), "{log}");

    // The next run, on another server: it follows by GTID.
    src.restart_with(&[("server_id", Some("4202"))]).unwrap();
    src.conn().unwrap().query_drop(format!("INSERT INTO {q}.t VALUES (3, 3)")).unwrap();
    let (code, log) = run("run on the other server");
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("resuming by GTID there"), "{log}");
    let mut d = dst.conn().unwrap();
    let arrived = |d: &mut mysql::Conn, id: i32| {
        d.query_first::<i32, _>(format!("SELECT COUNT(*) FROM {q}.t WHERE id = {id}")).unwrap() == Some(1)
    };
    assert!(arrived(&mut d, 3), "row 3 written on the other server");

    // A running task whose reader reconnects to yet another server follows it too.
    let mut child = dts_sync(&["run"], &config).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    src.conn().unwrap().query_drop(format!("INSERT INTO {q}.t VALUES (4, 4)")).unwrap();
    let wait_for = |d: &mut mysql::Conn, child: &mut std::process::Child, id: i32| {
        let deadline = Instant::now() + Duration::from_secs(90);
        while !arrived(d, id) {
            if let Some(st) = child.try_wait().unwrap() {
                let mut log = String::new();
                std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut log).unwrap();
                panic!("the run stopped ({st}) before row {id} arrived: {log}");
            }
            assert!(Instant::now() < deadline, "row {id} never arrived");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(&mut d, &mut child, 4);
    src.restart_with(&[("server_id", Some("4303"))]).unwrap();
    src.conn().unwrap().query_drop(format!("INSERT INTO {q}.t VALUES (5, 5)")).unwrap();
    wait_for(&mut d, &mut child, 5);
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("server_id 4303"), "the switch is logged: {log}");

    // Back on the first server: by GTID again, and identical.
    src.restart_with(&[("server_id", Some("4101"))]).unwrap();
    src.conn().unwrap().query_drop(format!("INSERT INTO {q}.t VALUES (6, 6)")).unwrap();
    let (code, log) = run("run back on the first server");
    assert_eq!(code, Some(0), "{log}");
    let rows: Vec<(i32, i32)> = d.query(format!("SELECT id, v FROM {q}.t ORDER BY id")).unwrap();
    assert_eq!(rows, [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6)]);
    drop(src);
    // Cleanup of the test's own files; a leftover is harmless.
    std::fs::remove_dir_all(&dir).ok();
}

/// RESET MASTER on the source while the task is stopped, then one transaction padded to end
/// exactly at the checkpoint's offset, then more: the file and offset exist again and lie at a
/// transaction's end, and the server's GTID state covers the checkpoint's by number, so only the
/// GTID state at the offset (one transaction) differs from the checkpoint's. The run stops naming both states and leaves the destination
/// as it was. (The cases `reset_master_*` cover an offset past the new file's end and one inside
/// an event; this one must be computed, so it is not a case folder.)
#[test]
fn a_reset_binlog_with_a_transaction_ending_at_the_checkpoint_stops_naming_both_gtid_states() {
    let src = Sandbox::builder("replaced-src").server_id(4111).start().unwrap();
    let dst = &shared_pair().destination;
    let dir =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("dts-replaced-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = src.fresh_database("replaced").unwrap();
    let q = db.quoted();
    let mut s = src.root_conn().unwrap();
    s.query_drop(format!("CREATE TABLE {q}.t (id INT PRIMARY KEY, b LONGBLOB)")).unwrap();
    s.query_drop(format!("INSERT INTO {q}.t SELECT seq, REPEAT('x', 100) FROM {q}.seq_1_to_300")).unwrap();
    let config = task_file(&src, &dir, "replaced", &db);
    let run = |what: &str| {
        let out = dts_sync(&["run", "--exit-when-caught-up"], &config).output().unwrap();
        (out.status.code(), format!("{what}: {}", String::from_utf8_lossy(&out.stderr)))
    };
    let (code, log) = run("first run");
    assert_eq!(code, Some(0), "{log}");
    // Nothing else writes to this source: its binlog's end is the task's checkpoint.
    let checkpoint = src.binlog_position().unwrap();
    let ck_gtid = src.global_var("gtid_binlog_pos").unwrap().unwrap();

    // One insert after RESET MASTER, padded to end exactly at the checkpoint's offset. Its size
    // less its padding is the same for any padding: LONGBLOB's length is 4 bytes whatever the
    // value, and the padding's width in the statement text (annotated in the binlog) is fixed.
    let insert = |s: &mut mysql::Conn, pad: u64| {
        s.query_drop("RESET MASTER").unwrap();
        let start = src.binlog_position().unwrap();
        s.query_drop(format!("INSERT INTO {q}.t VALUES (999, REPEAT('p', {pad:09}))")).unwrap();
        let end = src.binlog_position().unwrap();
        assert_eq!(end.file, checkpoint.file, "RESET MASTER starts the same file again");
        end.offset - start.offset
    };
    let probe = insert(&mut s, 1);
    s.query_drop(format!("DELETE FROM {q}.t WHERE id = 999")).unwrap();
    let start = {
        s.query_drop("RESET MASTER").unwrap();
        src.binlog_position().unwrap().offset
    };
    assert!(checkpoint.offset > start + probe, "the checkpoint lies past one small transaction");
    let size = insert(&mut s, 1 + checkpoint.offset - start - probe);
    assert_eq!(size, checkpoint.offset - start, "the padded insert alone fills the binlog up to the checkpoint");
    let now = src.binlog_position().unwrap();
    assert_eq!(
        (now.file.as_str(), now.offset),
        (checkpoint.file.as_str(), checkpoint.offset),
        "the padded transaction ends at the checkpoint"
    );
    let there = src.global_var("gtid_binlog_pos").unwrap().unwrap();
    assert_ne!(there, ck_gtid, "the new history's GTID state at the offset is another");
    // More writes than the task had read: the new history's sequence numbers pass the
    // checkpoint's, so its GTID state covers the checkpoint by number (the precheck passes) and
    // only the state at the offset tells the histories apart.
    for id in 1000..1004 {
        s.query_drop(format!("INSERT INTO {q}.t VALUES ({id}, 'n')")).unwrap();
    }

    let (code, log) = run("run after RESET MASTER");
    assert_eq!(code, Some(1), "{log}");
    for want in [
        format!(
            "after GTID {ck_gtid}, but the source's binlog at {}:{} is after GTID {there}",
            checkpoint.file, checkpoint.offset
        ),
        "binlog was reset (RESET MASTER)".to_string(),
        "dts-sync reset --yes".to_string(),
    ] {
        assert!(log.contains(&want), "want {want:?} in {log}");
    }
    let mut d = dst.conn().unwrap();
    let n: Option<(i64, i64)> = d.query_first(format!("SELECT COUNT(*), SUM(id > 300) FROM {q}.t")).unwrap();
    assert_eq!(n, Some((300, 0)), "the destination is left as it was");
    drop(src);
    // Cleanup of the test's own files; a leftover is harmless.
    std::fs::remove_dir_all(&dir).ok();
}
