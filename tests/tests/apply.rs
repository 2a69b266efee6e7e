//! The applier against real servers, fed from the source's binlog through the task's own input
//! (`dts_task::BinlogInput`, built from a task file): mixed workloads, kill -9 and
//! resume, killed connections, unique-key swaps, keyless duplicates, a huge transaction.
//!
//! These live here, not in dts-applier's tests: dts-applier cannot dev-depend on dts-task (a
//! cycle would build two copies of the applier's types), and a private copy of the binlog glue
//! would test another path than the one the task uses.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use dts_applier::{Applier, ApplyOptions, Input, InputSource};
use dts_task::BinlogInput;
use dts_task::Config;
use dts_testkit::{RowDigest, Sandbox, binlog_position, replica_server_id, shared_pair};
use dts_types::{BinlogPosition, Ident, SourcePosition};
use mysql::Conn;
use mysql::prelude::Queryable;

/// A task file for `db` on the source renamed to `target` on the destination; the tests feed
/// the applier through the task's own binlog input, built from it.
fn task_file(db: &Ident, target: &Ident) -> PathBuf {
    let pair = shared_pair();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("apply-{}", std::process::id()));
    let text = format!(
        "{}\n{}\n[task]\nname = \"apply_{db}\"\nserver_id = {}\nheartbeat = false\n\n\
         [[objects]]\ndatabase = \"{db}\"\nrename = \"{target}\"\n",
        pair.source.task_section("source", &dir).unwrap(),
        pair.destination.task_section("destination", &dir).unwrap(),
        replica_server_id(),
    );
    let path = dir.join(format!("{db}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The task's binlog input for the task file at `path`, from `start` (or the applier's
/// checkpoint) to the source's end of binlog now.
fn binlog_input(path: &Path, start: &BinlogPosition) -> BinlogInput {
    let config = Config::load(path).unwrap();
    BinlogInput::new(&config, start.clone(), Arc::new(AtomicBool::new(false)), true, Arc::default())
}

/// Every row of a table as exact bytes, in any order.
fn rows(sb: &Sandbox, table: &str) -> RowDigest {
    sb.table_digest(table).unwrap()
}

/// A source database and an empty destination copy of its tables, with the position before
/// any row was written.
fn setup(prefix: &str, ddl: &[&str]) -> (Ident, Ident, BinlogPosition) {
    let pair = shared_pair();
    let (src, dst) = (&pair.source, &pair.destination);
    let db = src.fresh_database(prefix).unwrap();
    let target = Ident::new(format!("{}_d", db.as_str())).unwrap();
    let mut s = src.conn().unwrap();
    let mut d = dst.conn().unwrap();
    d.query_drop(format!("CREATE DATABASE {}", target.quoted())).unwrap();
    for stmt in ddl {
        s.query_drop(format!("USE {}", db.quoted())).unwrap();
        s.query_drop(*stmt).unwrap();
        d.query_drop(format!("USE {}", target.quoted())).unwrap();
        d.query_drop(*stmt).unwrap();
    }
    let start = binlog_position(&mut s).unwrap();
    (db, target, start)
}

fn workload(src: &Sandbox, db: &Ident, ops: u64, seed: u64) {
    let mut c = src.conn().unwrap();
    c.query_drop(format!("USE {}", db.quoted())).unwrap();
    let mut x = seed;
    for i in 0..ops {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let id = x % 60 + 1; // hot rows
        let sql = match x % 7 {
            0 => format!("INSERT INTO kv VALUES ({id}, {i}, 'n{i}') ON DUPLICATE KEY UPDATE v = v + 1"),
            1 => format!("UPDATE kv SET v = v * 3, s = CONCAT(s, 'x') WHERE id = {id}"),
            2 => format!("DELETE FROM kv WHERE id = {id}"),
            3 => format!("UPDATE kv SET id = id + 1000 WHERE id = {id}"),
            4 => format!(
                "BEGIN; INSERT INTO uk VALUES ({i}, 'U{}'); UPDATE kv SET v = 0 WHERE id = {id}; COMMIT",
                id % 20
            ),
            5 => format!("DELETE FROM uk WHERE u = 'u{}'", id % 20),
            _ => format!("INSERT INTO nokey VALUES ({}, 'dup')", id % 3),
        };
        // Unique-key collisions are part of the game: the source refuses some, as it would.
        let _ = c.query_drop(&sql);
        if x % 7 == 4 {
            let _ = c.query_drop("ROLLBACK");
        }
    }
}

const TABLES: &[&str] = &[
    "CREATE TABLE kv (id INT PRIMARY KEY, v BIGINT, s VARCHAR(200))",
    "CREATE TABLE uk (id INT NOT NULL, u VARCHAR(10) NOT NULL, UNIQUE KEY (u)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci",
    "CREATE TABLE nokey (x INT, y VARCHAR(5))",
];

fn check(db: &Ident, target: &Ident) {
    let pair = shared_pair();
    for t in ["kv", "uk", "nokey"] {
        assert_eq!(
            rows(&pair.source, &format!("{}.{t}", db.quoted())),
            rows(&pair.destination, &format!("{}.{t}", target.quoted())),
            "{t}"
        );
    }
}

#[test]
fn a_mixed_workload_applied_through_the_binlog_ends_identical() {
    mixed_workload(1);
}

#[test]
fn a_mixed_workload_applied_by_four_parallel_workers_ends_identical() {
    mixed_workload(4);
}

fn mixed_workload(workers: usize) {
    let pair = shared_pair();
    let (db, target, start) = setup(&format!("ap_mixed{workers}"), TABLES);
    workload(&pair.source, &db, 3000, 42);
    pair.source
        .conn()
        .unwrap()
        .query_drop(format!("ALTER TABLE {}.kv ADD COLUMN extra INT DEFAULT 7", db.quoted()))
        .unwrap();
    workload(&pair.source, &db, 500, 7);
    let task = task_file(&db, &target);
    let mut o = ApplyOptions::new(&format!("mixed_{db}"));
    o.workers = workers;
    o.group_transactions = 20;
    let mut a = Applier::new(pair.destination.opts(), o).unwrap();
    let stats = a.run(&mut binlog_input(&task, &start)).unwrap();
    assert!(stats.ddl_failed.is_empty(), "{:?}", stats.ddl_failed);
    assert_eq!(stats.ddl_applied, 1);
    assert!(stats.row_changes > 1000);
    assert!(stats.commits < stats.transactions, "small transactions are grouped: {stats:?}");
    check(&db, &target);
    // Applying again from the checkpoint changes nothing.
    let again = a.run(&mut binlog_input(&task, &start)).unwrap();
    assert_eq!(again.row_changes, stats.row_changes, "nothing after the checkpoint");
    check(&db, &target);
}

/// The applier restarts its input from the checkpoint after an error: whatever the input handed
/// over before (even the last transaction before the end it was to stop at) comes again.
#[test]
fn the_input_restarted_from_the_checkpoint_hands_the_transactions_over_again() {
    let pair = shared_pair();
    let (db, target, start) = setup("ap_restart", &["CREATE TABLE kv (id INT PRIMARY KEY, v BIGINT, s VARCHAR(200))"]);
    let mut s = pair.source.conn().unwrap();
    for i in 1..=3 {
        s.query_drop(format!("INSERT INTO {}.kv VALUES ({i}, {i}, 'x')", db.quoted())).unwrap();
    }
    let mut input = binlog_input(&task_file(&db, &target), &start);
    let rows = |input: &mut BinlogInput| {
        let mut n = 0;
        while let Some(item) = input.next_input() {
            n += u32::from(matches!(item.unwrap(), Input::Row { .. }));
        }
        n
    };
    input.start(None).unwrap();
    assert_eq!(rows(&mut input), 3, "to the end of binlog as it was at the start");
    // As after an error with nothing committed: from the position before the three.
    input.start(Some(&SourcePosition { binlog: start.clone(), gtid: None })).unwrap();
    assert_eq!(rows(&mut input), 3, "again after the restart");
}

#[test]
fn rows_already_in_the_destination_are_overwritten_and_counted() {
    let pair = shared_pair();
    let (db, target, _) = setup("ap_conflict", &["CREATE TABLE kv (id INT PRIMARY KEY, v BIGINT, s VARCHAR(200))"]);
    let mut s = pair.source.conn().unwrap();
    let mut d = pair.destination.conn().unwrap();
    // Row 2 exists on the source before the sync starts, but not on the destination.
    s.query_drop(format!("INSERT INTO {}.kv VALUES (2, 2, 'b')", db.quoted())).unwrap();
    let start = binlog_position(&mut s).unwrap();
    // Rows 1, 3 and 5 are on the destination already (stale or extra).
    d.query_drop(format!("INSERT INTO {}.kv VALUES (1, -1, 'stale'), (3, 3, 'extra'), (5, 5, 'e')", target.quoted()))
        .unwrap();
    s.query_drop(format!("INSERT INTO {}.kv VALUES (1, 1, 'new')", db.quoted())).unwrap();
    s.query_drop(format!("UPDATE {}.kv SET v = 20 WHERE id = 2", db.quoted())).unwrap();
    s.query_drop(format!("INSERT INTO {}.kv VALUES (4, 4, 'd')", db.quoted())).unwrap();
    s.query_drop(format!("DELETE FROM {}.kv WHERE id = 4", db.quoted())).unwrap();
    s.query_drop(format!("INSERT INTO {}.kv VALUES (5, 50, 'e2')", db.quoted())).unwrap();
    s.query_drop(format!("INSERT INTO {}.kv VALUES (6, 6, 'f')", db.quoted())).unwrap();
    // Row 6 vanishes from the destination before its delete arrives: nothing to delete.
    let task = task_file(&db, &target);
    let mut a = Applier::new(pair.destination.opts(), ApplyOptions::new(&format!("conflict_{db}"))).unwrap();
    a.run(&mut binlog_input(&task, &start)).unwrap();
    d.query_drop(format!("DELETE FROM {}.kv WHERE id = 6", target.quoted())).unwrap();
    s.query_drop(format!("DELETE FROM {}.kv WHERE id = 6", db.quoted())).unwrap();
    // A new input: the first one stopped at the end of binlog as it was then.
    let stats = a.run(&mut binlog_input(&task, &start)).unwrap();
    assert_eq!(stats.insert_existing, 2, "rows 1 and 5 existed: {stats:?}");
    assert_eq!(stats.update_missing, 1, "row 2 was missing: {stats:?}");
    assert_eq!(stats.delete_missing, 1, "row 6 was gone: {stats:?}");
    let got: Vec<(i32, i64)> = d.query(format!("SELECT id, v FROM {}.kv ORDER BY id", target.quoted())).unwrap();
    assert_eq!(got, vec![(1, 1), (2, 20), (3, 3), (5, 50)]);
}

#[test]
fn a_keyless_update_that_finds_no_row_inserts_its_after_image_in_place() {
    let pair = shared_pair();
    let (db, target, _) = setup("ap_kl_missing", &["CREATE TABLE log (a INT, b VARCHAR(10), KEY a (a))"]);
    let mut s = pair.source.conn().unwrap();
    let d = &mut pair.destination.conn().unwrap();
    // Row (2, 'x') is on the source before the sync starts, but not on the destination.
    s.query_drop(format!("INSERT INTO {}.log VALUES (1, 'a'), (2, 'x'), (3, 'q')", db.quoted())).unwrap();
    d.query_drop(format!("INSERT INTO {}.log VALUES (1, 'a')", target.quoted())).unwrap();
    let start = binlog_position(&mut s).unwrap();
    s.query_drop(format!("UPDATE {}.log SET b = 'y' WHERE a = 2", db.quoted())).unwrap();
    // The next update in the same batch sees the inserted image, as in source order.
    s.query_drop(format!("UPDATE {}.log SET b = 'z' WHERE a = 2", db.quoted())).unwrap();
    s.query_drop(format!("UPDATE {}.log SET b = 'b' WHERE a = 1", db.quoted())).unwrap();
    // A delete of a row the destination lacks too: counted (and logged), nothing deleted.
    s.query_drop(format!("DELETE FROM {}.log WHERE a = 3", db.quoted())).unwrap();
    let task = task_file(&db, &target);
    let mut a = Applier::new(pair.destination.opts(), ApplyOptions::new(&format!("kl_missing_{db}"))).unwrap();
    let stats = a.run(&mut binlog_input(&task, &start)).unwrap();
    assert_eq!(stats.update_missing, 1, "row 2 was missing once: {stats:?}");
    assert_eq!(stats.delete_missing, 1, "row 3 was missing: {stats:?}");
    let got: Vec<(i32, String)> = d.query(format!("SELECT a, b FROM {}.log ORDER BY a", target.quoted())).unwrap();
    assert_eq!(got, vec![(1, "b".to_string()), (2, "z".to_string())]);
}

#[test]
fn case_insensitive_unique_key_swaps_and_keyless_duplicates() {
    for workers in [1, 4] {
        swaps(workers);
    }
}

fn swaps(workers: usize) {
    let pair = shared_pair();
    let (db, target, start) = setup(
        &format!("ap_swap{workers}"),
        &[
            "CREATE TABLE u (id INT PRIMARY KEY, name VARCHAR(10) NOT NULL, UNIQUE KEY (name)) COLLATE=utf8mb4_general_ci",
            "CREATE TABLE nokey (x INT, y VARCHAR(5))",
        ],
    );
    let mut s = pair.source.conn().unwrap();
    s.query_drop(format!("USE {}", db.quoted())).unwrap();
    s.query_drop("INSERT INTO u VALUES (1, 'a'), (2, 'b')").unwrap();
    s.query_drop("UPDATE u SET name = 'tmp' WHERE id = 1").unwrap();
    s.query_drop("UPDATE u SET name = 'A' WHERE id = 2").unwrap();
    s.query_drop("UPDATE u SET name = 'B ' WHERE id = 1").unwrap();
    s.query_drop("INSERT INTO nokey VALUES (1, 'a'), (1, 'a'), (1, 'a'), (NULL, NULL), (NULL, NULL)").unwrap();
    s.query_drop("DELETE FROM nokey WHERE x = 1 LIMIT 1").unwrap();
    s.query_drop("UPDATE nokey SET y = 'b' WHERE x IS NULL LIMIT 1").unwrap();
    // Many small transactions, so parallel groups really race.
    for i in 0..50 {
        s.query_drop(format!("UPDATE u SET name = 'x{i}' WHERE id = 1")).unwrap();
        s.query_drop(format!("UPDATE u SET name = 'X{}' WHERE id = 2", i + 1000)).unwrap();
        s.query_drop(format!("UPDATE u SET name = 'X{i}' WHERE id = 2")).ok();
    }
    let mut input = binlog_input(&task_file(&db, &target), &start);
    let mut o = ApplyOptions::new(&format!("swap_{db}"));
    o.workers = workers;
    o.group_transactions = 2;
    Applier::new(pair.destination.opts(), o).unwrap().run(&mut input).unwrap();
    for t in ["u", "nokey"] {
        assert_eq!(
            rows(&pair.source, &format!("{}.{t}", db.quoted())),
            rows(&pair.destination, &format!("{}.{t}", target.quoted())),
            "{t}"
        );
    }
}

/// Keyless rows conflict by the values of their integer columns: changes of different rows go
/// to different workers, changes of one image (duplicates among them) keep source order. A
/// small key space with many duplicates, transactions of one to three changes, and groups of
/// two transactions make the workers race on every kind of change.
#[test]
fn keyless_rows_routed_by_their_integer_columns_end_identical_with_four_workers() {
    let pair = shared_pair();
    let (db, target, start) = setup(
        "ap_keyless_par",
        &[
            "CREATE TABLE kl (a INT, b BIGINT UNSIGNED, s VARCHAR(8), KEY (a)) COLLATE=utf8mb4_general_ci",
            // No integer column: the whole table is one token.
            "CREATE TABLE kl_text (s VARCHAR(8), t VARCHAR(400))",
            // Only a nullable unique key: rows are found by all their columns, as keyless.
            "CREATE TABLE kl_nu (u INT NULL, a INT NOT NULL, b INT NOT NULL, UNIQUE KEY (u), KEY (a))",
        ],
    );
    let mut s = pair.source.conn().unwrap();
    s.query_drop(format!("USE {}", db.quoted())).unwrap();
    s.query_drop("INSERT INTO kl SELECT seq % 20, seq % 3, IF(seq % 2, 'a', 'A') FROM seq_1_to_200").unwrap();
    s.query_drop("INSERT INTO kl VALUES (NULL, NULL, NULL), (NULL, NULL, NULL)").unwrap();
    s.query_drop("INSERT INTO kl_text SELECT seq % 7, 'x' FROM seq_1_to_30").unwrap();
    s.query_drop("INSERT INTO kl_nu SELECT IF(seq % 4, NULL, seq), seq % 10, 0 FROM seq_1_to_80").unwrap();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..400 {
        s.query_drop("BEGIN").unwrap();
        for _ in 0..(next() % 3 + 1) {
            let (k, op) = (next() % 22, next() % 9);
            let a = if k >= 20 { "NULL".to_string() } else { k.to_string() };
            let sql = match op {
                0 => format!("UPDATE kl SET b = b + 1 WHERE a <=> {a} LIMIT 1"),
                1 => format!("UPDATE kl SET a = {} WHERE a <=> {a} LIMIT 1", next() % 20),
                2 => format!("DELETE FROM kl WHERE a <=> {a} LIMIT 1"),
                3 => format!("INSERT INTO kl VALUES ({a}, {}, 'a')", next() % 3),
                4 => format!("UPDATE kl SET s = IF(s = 'a', 'A', 'a') WHERE a <=> {a} LIMIT 1"),
                5 => format!("UPDATE kl_text SET t = CONCAT(t, 'y') WHERE s = '{}' LIMIT 1", k % 7),
                6 => format!("UPDATE kl_nu SET b = b + 1 WHERE a = {} AND u IS NULL LIMIT 1", k % 10),
                7 => format!("UPDATE kl_nu SET u = IF(u IS NULL, {}, NULL) WHERE a = {} LIMIT 1", 100 + k, k % 10),
                _ => format!("DELETE FROM kl_nu WHERE a = {} AND u IS NULL LIMIT 1", k % 10),
            };
            // A unique value taken already refuses the statement alone (the transaction goes on).
            if let Err(e) = s.query_drop(&sql) {
                assert!(e.to_string().contains("Duplicate entry"), "{sql}: {e}");
            }
        }
        s.query_drop("COMMIT").unwrap();
    }
    let mut input = binlog_input(&task_file(&db, &target), &start);
    let mut o = ApplyOptions::new(&format!("kl_{db}"));
    o.workers = 4;
    o.group_transactions = 2;
    let stats = Applier::new(pair.destination.opts(), o).unwrap().run(&mut input).unwrap();
    for t in ["kl", "kl_text", "kl_nu"] {
        assert_eq!(
            rows(&pair.source, &format!("{}.{t}", db.quoted())),
            rows(&pair.destination, &format!("{}.{t}", target.quoted())),
            "{t}"
        );
    }
    assert_eq!((stats.update_missing, stats.delete_missing), (0, 0), "every keyless change found its row");
}

/// A unique index on a prefix of a binary column (`k(3)`) makes values that differ collide on
/// the destination: such an index gives one token for the table, so its changes keep source
/// order. With a token per value, a prefix-mate inserted later went to a free worker and
/// committed first; the older insert's REPLACE then removed it and the older row's delete left
/// neither. A destination trigger holds the older insert for a second so that order is sure.
#[test]
fn prefix_unique_keys_keep_source_order_across_four_workers() {
    let pair = shared_pair();
    let (db, target, start) = setup(
        "ap_prefix_par",
        &[
            "CREATE TABLE pk_prefix (k VARBINARY(20) NOT NULL, n INT NOT NULL, PRIMARY KEY (k(3)))",
            "CREATE TABLE uq_prefix (id INT PRIMARY KEY, b VARBINARY(20) NOT NULL, n INT NOT NULL, UNIQUE KEY (b(3)))",
        ],
    );
    let mut d = pair.destination.conn().unwrap();
    for t in ["pk_prefix", "uq_prefix"] {
        d.query_drop(format!(
            "CREATE TRIGGER {}.slow_{t} BEFORE INSERT ON {t} FOR EACH ROW IF NEW.n = 1 THEN SET @held = SLEEP(1); END IF",
            target.quoted()
        ))
        .unwrap();
    }
    let mut s = pair.source.conn().unwrap();
    s.query_drop(format!("USE {}", db.quoted())).unwrap();
    for sql in [
        "INSERT INTO pk_prefix VALUES ('k01a', 1)",
        "DELETE FROM pk_prefix WHERE k = 'k01a'",
        "INSERT INTO pk_prefix VALUES ('k01b', 2)",
        "INSERT INTO uq_prefix VALUES (1, 'b01a', 1)",
        "DELETE FROM uq_prefix WHERE id = 1",
        "INSERT INTO uq_prefix VALUES (2, 'b01b', 2)",
    ] {
        s.query_drop(sql).unwrap();
    }
    let mut input = binlog_input(&task_file(&db, &target), &start);
    let mut o = ApplyOptions::new(&format!("pp_{db}"));
    o.workers = 4;
    o.group_transactions = 1;
    Applier::new(pair.destination.opts(), o).unwrap().run(&mut input).unwrap();
    for t in ["pk_prefix", "uq_prefix"] {
        assert_eq!(
            rows(&pair.source, &format!("{}.{t}", db.quoted())),
            rows(&pair.destination, &format!("{}.{t}", target.quoted())),
            "{t}"
        );
    }
}

/// A worker whose group fails applies nothing queued behind it: those groups change the same
/// rows after it, and committed they would be skipped at the restart while the failed one is
/// applied again, out of order. Here a destination trigger refuses the first update of a row;
/// the later updates of that row, queued on the same worker, must not commit either.
#[test]
fn a_worker_whose_group_fails_commits_nothing_queued_behind_it() {
    let pair = shared_pair();
    // Run on both servers: the row is there before the start.
    let (db, target, start) =
        setup("ap_fail_queue", &["CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)", "INSERT INTO t VALUES (1, 0)"]);
    let mut d = pair.destination.conn().unwrap();
    d.query_drop(format!(
        "CREATE TRIGGER {}.refuse BEFORE INSERT ON t FOR EACH ROW IF NEW.v = 1 THEN \
         SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused'; END IF",
        target.quoted()
    ))
    .unwrap();
    let mut s = pair.source.conn().unwrap();
    for v in 1..=5 {
        s.query_drop(format!("UPDATE {}.t SET v = {v} WHERE id = 1", db.quoted())).unwrap();
    }
    let run = |task: &str| {
        let mut input = binlog_input(&task_file(&db, &target), &start);
        let mut o = ApplyOptions::new(task);
        o.workers = 2;
        o.group_transactions = 1;
        Applier::new(pair.destination.opts(), o).unwrap().run(&mut input)
    };
    let task = format!("failq_{db}");
    let err = run(&task).expect_err("the trigger refuses v = 1");
    assert!(format!("{err}").contains("refused"), "{err}");
    let v: u32 = d.query_first(format!("SELECT v FROM {}.t WHERE id = 1", target.quoted())).unwrap().unwrap();
    assert_eq!(v, 0, "no update after the refused one committed");
    d.query_drop(format!("DROP TRIGGER {}.refuse", target.quoted())).unwrap();
    run(&task).unwrap();
    let v: u32 = d.query_first(format!("SELECT v FROM {}.t WHERE id = 1", target.quoted())).unwrap().unwrap();
    assert_eq!(v, 5, "the restart applies them all, in order");
}

#[test]
fn connections_killed_during_apply_resume_from_the_checkpoint() {
    let pair = shared_pair();
    let (db, target, start) = setup("ap_killconn", TABLES);
    workload(&pair.source, &db, 4000, 99);
    let mut input = binlog_input(&task_file(&db, &target), &start);
    let mut o = ApplyOptions::new(&format!("killconn_{db}"));
    o.group_transactions = 5;
    o.limits = Arc::new(dts_applier::ApplyLimits::new(2000, 0));
    let task = o.task.clone();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let (opts, stop) = (pair.destination.opts(), stop.clone());
        let (target_name, task_name) = (target.to_string(), task.clone());
        std::thread::spawn(move || {
            let mut c = Conn::new(opts).unwrap();
            let mut kills = 0;
            // A statement runs for a fraction of a millisecond between throttled pauses: look
            // often, let the applier get on for a while after a kill, and stop after a few.
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && kills < 5 {
                std::thread::sleep(Duration::from_millis(5));
                // Only this test's applier: its statements name its database or its task.
                let ids: Vec<u64> = c
                    .exec(
                        "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND <> 'Binlog Dump' \
                         AND (INFO LIKE CONCAT('%', ?, '%') OR INFO LIKE CONCAT('%', ?, '%'))",
                        (&target_name, &task_name),
                    )
                    .unwrap();
                if let Some(id) = ids.first() {
                    if c.query_drop(format!("KILL CONNECTION {id}")).is_ok() {
                        kills += 1;
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
            }
            kills
        })
    };
    let mut a = Applier::new(pair.destination.opts(), o).unwrap();
    let stats = a.run(&mut input).unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let kills = killer.join().unwrap();
    assert!(kills > 0 && stats.restarts > 0, "kills {kills}, restarts {} ({task}): {stats:?}", stats.restarts);
    check(&db, &target);
}

const CHILD: &str = "DTS_APPLIER_CHILD";

#[test]
fn child_applies_until_killed() {
    let Ok(spec) = std::env::var(CHILD) else { return };
    let p: Vec<&str> = spec.split('|').collect();
    let task = PathBuf::from(p[0]);
    let start = BinlogPosition::new(p[1], p[2].parse().unwrap());
    let mut o = ApplyOptions::new(p[3]);
    o.group_transactions = 3;
    o.limits = std::sync::Arc::new(dts_applier::ApplyLimits::new(p[4].parse().unwrap(), 0));
    o.workers = p[5].parse().unwrap();
    let destination = Config::load(&task).unwrap().destination.opts();
    let stats = Applier::new(destination, o).unwrap().run(&mut binlog_input(&task, &start)).unwrap();
    println!("APPLIED {} rows, peak {} KiB", stats.row_changes, dts_testkit::peak_rss_kib());
}

/// This test binary again, running only [`child_applies_until_killed`] for the task file
/// `task_file` (passwords in files, so none on the command line or in the environment).
fn spawn_child(task_file: &Path, start: &BinlogPosition, task: &str, rate: u64, workers: usize) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_applies_until_killed", "--test-threads=1", "--nocapture"])
        .env(CHILD, format!("{}|{}|{}|{task}|{rate}|{workers}", task_file.display(), start.file, start.offset))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn kill_9_at_random_points_five_times_then_resume_ends_identical() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    kill_9(1);
}

#[test]
fn kill_9_of_parallel_workers_five_times_then_resume_ends_identical() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    kill_9(4);
}

fn kill_9(workers: usize) {
    let pair = shared_pair();
    let (db, target, start) = setup(&format!("ap_kill9_{workers}"), TABLES);
    workload(&pair.source, &db, 3000, 1234);
    let task = format!("kill9_{db}");
    let file = task_file(&db, &target);
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for round in 0..5 {
        let mut child = spawn_child(&file, &start, &task, 3000, workers);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::thread::sleep(Duration::from_millis(300 + x % 700));
        child.kill().unwrap();
        child.wait().unwrap();
        let _ = round;
    }
    let out = spawn_child(&file, &start, &task, 0, workers).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the last run finished: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.contains("panicked") || l.contains("Err"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    check(&db, &target);
    // Transactions on tables the task does not sync (here another database; in a whole-file
    // run, the other tests' too) land in the clean run's binlog range only: they apply nothing,
    // so they count in neither run's totals.
    let other = pair.source.fresh_database("ap_kill9_other").unwrap();
    let mut s = pair.source.conn().unwrap();
    s.query_drop(format!("CREATE TABLE {}.t (id INT PRIMARY KEY)", other.quoted())).unwrap();
    for i in 0..50 {
        s.query_drop(format!("INSERT INTO {}.t VALUES ({i})", other.quoted())).unwrap();
    }
    // The counters of committed work commit with it: after five kills they are exactly what a
    // run never killed counts for the same binlog (into tables of its own).
    let clean_target = Ident::new(format!("{}_c", target.as_str())).unwrap();
    let mut d = shared_pair().destination.conn().unwrap();
    d.query_drop(format!("CREATE DATABASE {}", clean_target.quoted())).unwrap();
    d.query_drop(format!("USE {}", clean_target.quoted())).unwrap();
    for stmt in TABLES {
        d.query_drop(*stmt).unwrap();
    }
    let clean = format!("clean_{db}");
    let out = spawn_child(&task_file(&db, &clean_target), &start, &clean, 0, workers).wait_with_output().unwrap();
    assert!(out.status.success(), "the clean run: {}", String::from_utf8_lossy(&out.stderr));
    check(&db, &clean_target);
    let totals = |task: &str| -> Vec<(String, u64)> {
        let meta = Ident::new("dts_meta").unwrap();
        let mut d = shared_pair().destination.conn().unwrap();
        d.query(format!("{} ORDER BY name", dts_types::totals::read_sql(&meta, task))).unwrap()
    };
    let (killed, reference) = (totals(&task), totals(&clean));
    assert!(reference.iter().any(|(n, v)| n == "rows_applied" && *v > 1000), "{reference:?}");
    assert_eq!(killed, reference, "{workers} worker(s): the killed task's totals, then a clean run's");
}

#[test]
fn a_million_row_transaction_applies_within_the_memory_bound() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let pair = shared_pair();
    let (db, target, start) = setup("ap_huge", &["CREATE TABLE big (id INT PRIMARY KEY, v INT)"]);
    pair.source
        .conn()
        .unwrap()
        .query_drop(format!("INSERT INTO {}.big SELECT seq, seq FROM mysql.seq_1_to_1000000", db.quoted()))
        .unwrap();
    let out = spawn_child(&task_file(&db, &target), &start, &format!("huge_{db}"), 0, 4).wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr).lines().take(8).collect::<Vec<_>>().join("\n")
    );
    let line = stdout.lines().find_map(|l| l.split_once("APPLIED ").map(|x| x.1)).unwrap_or_else(|| panic!("{stdout}"));
    let kb: u64 = line.split_whitespace().rev().nth(1).unwrap().parse().unwrap();
    assert!(kb > 0, "no peak RSS measured: {line}");
    assert!(kb < 256 * 1024, "peak RSS {kb} KiB for a 1M-row transaction");
    let n: u64 = pair
        .destination
        .conn()
        .unwrap()
        .query_first(format!("SELECT COUNT(*) FROM {}.big", target.quoted()))
        .unwrap()
        .unwrap();
    assert_eq!(n, 1_000_000);
}

/// gh-ost's statements (tests/cases/_shared/gh_ost_migration_until_cutover.sql and
/// gh_ost_cutover.sql), split at the ALTER of its ghost table: those up to and including it,
/// and the rest (the row copy and the cut-over).
fn gh_ost_statements() -> (Vec<String>, Vec<String>) {
    let text = [
        include_str!("../cases/_shared/gh_ost_migration_until_cutover.sql"),
        include_str!("../cases/_shared/gh_ost_cutover.sql"),
    ]
    .concat();
    let statements: Vec<String> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("--") && !l.trim().is_empty())
        .map(|l| l.trim().trim_end_matches(';').to_string())
        .collect();
    let alter = statements.iter().position(|s| s.starts_with("ALTER")).expect("gh-ost's ALTER") + 1;
    let rest = statements[alter..].to_vec();
    (statements[..alter].to_vec(), rest)
}

/// The ALTER gh-ost ran on its ghost table is recorded with the checkpoint that passes it; a
/// task that restarts between the two (as after kill -9) applies it at the cut-over all the
/// same (before, the cut-over stopped the task, and before that the destination silently kept
/// the old table).
#[test]
fn a_restart_between_the_ghost_alter_and_the_cut_over_applies_the_alter_at_the_cut_over() {
    let pair = shared_pair();
    let (db, target, start) =
        setup("ap_cutover", &["CREATE TABLE items (id INT PRIMARY KEY, qty INT NOT NULL, label VARCHAR(20) NOT NULL)"]);
    let mut s = pair.source.conn().unwrap();
    s.query_drop(format!("USE {}", db.quoted())).unwrap();
    s.query_drop("INSERT INTO items VALUES (1, 1, 'a'), (150, 2, 'b'), (300, 3, 'c')").unwrap();
    let (to_alter, rest) = gh_ost_statements();
    for sql in &to_alter {
        s.query_drop(sql).unwrap();
    }
    // A row after the ALTER, so the checkpoint is past it.
    s.query_drop("UPDATE items SET qty = 10 WHERE id = 150").unwrap();
    let task = task_file(&db, &target);
    let name = format!("cutover_{db}");
    // The first run reads up to just after the ghost's ALTER, then is gone (as after kill -9).
    Applier::new(pair.destination.opts(), ApplyOptions::new(&name))
        .unwrap()
        .run(&mut binlog_input(&task, &start))
        .unwrap();
    s.query_drop("UPDATE items SET qty = 20 WHERE id = 1").unwrap();
    for sql in &rest {
        s.query_drop(sql).unwrap();
    }
    assert!(rest.iter().any(|r| r.starts_with("RENAME")), "the cut-over is in the rest: {rest:?}");
    // The second run resumes from the checkpoint, after the ALTER, and goes through the cut-over.
    Applier::new(pair.destination.opts(), ApplyOptions::new(&name))
        .unwrap()
        .run(&mut binlog_input(&task, &start))
        .unwrap();
    let columns: Vec<String> = pair
        .destination
        .conn()
        .unwrap()
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'items' \
             ORDER BY ORDINAL_POSITION",
            (target.as_str(),),
        )
        .unwrap();
    assert_eq!(columns, ["id", "qty", "label", "note"], "the ghost's ALTER is on the destination");
    let table = |t: &Ident| format!("{}.items", t.quoted());
    assert_eq!(rows(&pair.source, &table(&db)), rows(&pair.destination, &table(&target)));
}
