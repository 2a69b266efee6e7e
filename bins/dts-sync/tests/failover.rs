//! A source failover: primary P, a native replica R of P (MariaDB GTID replication,
//! `log_slave_updates`, its own server_id and binlog), destination D. A task syncs P to D under
//! a writer; P stops once R has everything, R is promoted and the task file's `[source]` points
//! at R. The task follows by GTID: no second full copy, the destination identical to R while a
//! writer changes R. When R lacks transactions the checkpoint holds, the task stops naming
//! them and leaves the destination as it was.
//!
//! This stays in Rust (not a case folder) because it runs a second source server replicating
//! from the first and promotes it half-way, which the case format does not express yet.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dts_testkit::{Sandbox, replica_server_id, shared_pair};
use mysql::prelude::Queryable;

fn dts_sync(args: &[&str], config: &Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dts-sync"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("DTS_LOG", "warn")
        .output()
        .unwrap();
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// P, and R replicating from it by GTID (its own transactions, if any, in domain 1).
fn primary_and_replica(name: &str, ids: (u32, u32)) -> (Sandbox, Sandbox) {
    let p = Sandbox::builder(&format!("{name}-p")).server_id(ids.0).start().unwrap();
    let r = Sandbox::builder(&format!("{name}-r")).server_id(ids.1).gtid_domain_id(1).start().unwrap();
    r.replicate_from(&p).unwrap();
    (p, r)
}

fn task_file(dir: &Path, source: &Sandbox, task: &str, db: &str, server_id: u32) -> PathBuf {
    let config = dir.join("task.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n{}\n[task]\nname = \"{task}\"\nserver_id = {server_id}\nheartbeat = false\n\n[incremental]\nworkers = 4\n\n\
             [[objects]]\ndatabase = \"{db}\"\n",
            source.task_section("source", dir).unwrap(),
            shared_pair().destination.task_section("destination", dir).unwrap(),
        ),
    )
    .unwrap();
    config
}

/// Inserts and updates rows of `db.t` on `server` until stopped.
fn writer(server: &Sandbox, db: &str, first_id: u32) -> (Arc<AtomicBool>, std::thread::JoinHandle<u32>) {
    let stop = Arc::new(AtomicBool::new(false));
    let mut c = server.conn().unwrap();
    let (s, db) = (stop.clone(), db.to_string());
    let h = std::thread::spawn(move || {
        let mut i = first_id;
        while !s.load(Ordering::Relaxed) {
            c.query_drop(format!("INSERT INTO `{db}`.t VALUES ({i}, {i})")).unwrap();
            c.query_drop(format!("UPDATE `{db}`.t SET v = v + 1 WHERE id = {}", i % 50 + 1)).unwrap();
            c.query_drop(format!("DELETE FROM `{db}`.t WHERE id = {}", i - 7)).unwrap();
            i += 1;
            std::thread::sleep(Duration::from_millis(5));
        }
        i
    });
    (stop, h)
}

fn full_rows_copied(task: &str) -> i64 {
    let mut d = shared_pair().destination.conn().unwrap();
    d.exec_first::<Option<i64>, _, _>(
        "SELECT CAST(SUM(value) AS SIGNED) FROM dts_meta.metric_totals WHERE task = ? AND name = 'full_rows_copied'",
        (task,),
    )
    .unwrap()
    .flatten()
    .unwrap_or(0)
}

fn setup(name: &str, ids: (u32, u32)) -> (Sandbox, Sandbox, String, PathBuf, String, u32) {
    let (p, r) = primary_and_replica(name, ids);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("dts-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = p.fresh_database(name).unwrap().as_str().to_string();
    let mut s = p.conn().unwrap();
    s.query_drop(format!("CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v INT)")).unwrap();
    s.query_drop(format!("INSERT INTO `{db}`.t SELECT seq, seq FROM `{db}`.seq_1_to_300")).unwrap();
    let task = format!("{name}_{}", std::process::id());
    (p, r, db, dir, task, replica_server_id())
}

#[test]
fn a_promoted_replica_is_followed_by_gtid() {
    let (p, r, db, dir, task, server_id) = setup("failover", (5101, 5202));
    let config = task_file(&dir, &p, &task, &db, server_id);
    let (stop, w) = writer(&p, &db, 1000);
    let (code, log) = dts_sync(&["run", "--exit-when-caught-up"], &config);
    assert_eq!(code, Some(0), "first run on P: {log}");
    stop.store(true, Ordering::Relaxed);
    let next = w.join().unwrap();
    let (code, log) = dts_sync(&["run", "--exit-when-caught-up"], &config);
    assert_eq!(code, Some(0), "catching up on P: {log}");
    let copied = full_rows_copied(&task);
    assert!(copied >= 300, "the full copy ran: {copied}");

    r.wait_replicated(&p, Duration::from_secs(60)).unwrap();
    drop(p);
    r.promote().unwrap();
    let config = task_file(&dir, &r, &task, &db, server_id);
    let (stop, w) = writer(&r, &db, next + 1000);
    std::thread::sleep(Duration::from_millis(300));
    let (code, log) = dts_sync(&["run", "--exit-when-caught-up"], &config);
    assert_eq!(code, Some(0), "first run on R: {log}");
    stop.store(true, Ordering::Relaxed);
    w.join().unwrap();
    let (code, log) = dts_sync(&["run", "--exit-when-caught-up"], &config);
    assert_eq!(code, Some(0), "catching up on R: {log}");

    assert_eq!(full_rows_copied(&task), copied, "no second full copy");
    let table = format!("`{db}`.t");
    assert_eq!(
        shared_pair().destination.table_digest(&table).unwrap(),
        r.table_digest(&table).unwrap(),
        "the destination is identical to R"
    );
    let (code, log) = dts_sync(&["verify"], &config);
    assert_eq!(code, Some(0), "verify against R: {log}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_replica_that_lacks_transactions_of_the_checkpoint_stops_the_task() {
    let (p, r, db, dir, task, server_id) = setup("failback", (5301, 5402));
    let config = task_file(&dir, &p, &task, &db, server_id);
    let (code, log) = dts_sync(&["run", "--exit-when-caught-up"], &config);
    assert_eq!(code, Some(0), "first run on P: {log}");
    r.wait_replicated(&p, Duration::from_secs(60)).unwrap();
    // R stops replicating; P goes on, and the task takes its last writes to D.
    r.stop_replicating().unwrap();
    let mut s = p.conn().unwrap();
    for i in 1..=5 {
        s.query_drop(format!("INSERT INTO `{db}`.t VALUES ({}, 0)", 5000 + i)).unwrap();
    }
    let last: String = s.query_first("SELECT @@GLOBAL.gtid_binlog_pos").unwrap().unwrap();
    drop(s);
    let (code, log) = dts_sync(&["run", "--exit-when-caught-up"], &config);
    assert_eq!(code, Some(0), "catching up on P: {log}");
    drop(p);
    r.promote().unwrap();
    let table = format!("`{db}`.t");
    let before = shared_pair().destination.table_digest(&table).unwrap();
    let config = task_file(&dir, &r, &task, &db, server_id);
    r.conn().unwrap().query_drop(format!("INSERT INTO `{db}`.t VALUES (9999, 9)")).unwrap();
    let (code, log) = dts_sync(&["run", "--exit-when-caught-up"], &config);
    assert_eq!(code, Some(1), "{log}");
    let gtid = last.split(',').find(|g| g.starts_with("0-")).unwrap();
    for needle in ["source.checkpoint_binlog", "5 transactions after", gtid] {
        assert!(log.contains(needle), "no {needle:?} in {log}");
    }
    assert_eq!(shared_pair().destination.table_digest(&table).unwrap(), before, "the destination is untouched");
    std::fs::remove_dir_all(&dir).ok();
}
