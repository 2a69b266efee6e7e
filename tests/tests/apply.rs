//! The applier against real servers, fed from the source's binlog: mixed workloads, kill -9 and
//! resume, killed connections, unique-key swaps, keyless duplicates, a huge transaction.

use std::sync::Arc;
use std::time::Duration;

use dts_applier::{Applier, ApplyOptions, Ddl, Input, InputSource, RowTarget};
use dts_binlog::{BinlogReader, Item, ReaderParts, ReplicaOptions, StartPosition};
use dts_schema::selection::{DatabaseRule, Selection};
use dts_schema::translate::{Decision, TranslateConfig, Translator};
use dts_testkit::{Sandbox, shared_pair};
use dts_types::{BinlogPosition, Ident, SourcePosition, TableId};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder};

/// The binary's glue, in small: the binlog of one database, mapped to another.
struct BinlogInput {
    source: Opts,
    start: BinlogPosition,
    src_db: Ident,
    dst_db: Ident,
    server_id: u32,
    reader: Option<BinlogReader>,
    translator: Translator,
}

impl BinlogInput {
    fn new(source: Opts, start: BinlogPosition, src_db: &Ident, dst_db: &Ident) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(9_000_000);
        let selection = Selection {
            databases: vec![DatabaseRule {
                database: src_db.to_string(),
                rename: Some(dst_db.to_string()),
                ..Default::default()
            }],
            ..Default::default()
        };
        BinlogInput {
            source,
            start,
            src_db: src_db.clone(),
            dst_db: dst_db.clone(),
            // Unique across the processes of this binary (children included): the source drops a
            // replica whose server_id another one registers with.
            server_id: 0x4000_0000
                | (std::process::id() % 0x10_0000) << 8
                | (NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 256),
            reader: None,
            translator: Translator::new(TranslateConfig { selection, ..Default::default() }),
        }
    }
}

impl InputSource for BinlogInput {
    fn start(&mut self, from: Option<&SourcePosition>) -> Result<(), dts_applier::InputError> {
        let at = from.map_or(self.start.clone(), |p| p.binlog.clone());
        let mut o = ReplicaOptions::new(self.server_id, StartPosition::File(at));
        o.stop_at_end = true;
        self.reader = None;
        self.reader = Some(
            BinlogReader::connect(self.source.clone(), o, ReaderParts::default())
                .map_err(dts_applier::InputError::new)?,
        );
        Ok(())
    }

    fn next_input(&mut self) -> Option<Result<Input, dts_applier::InputError>> {
        loop {
            let item = match self.reader.as_mut()?.next()? {
                Ok(i) => i,
                Err(e) => return Some(Err(dts_applier::InputError::new(e))),
            };
            return Some(Ok(match item {
                Item::Begin(_) => Input::Begin,
                Item::Commit(p) => Input::Commit(p),
                Item::Heartbeat(_) => Input::Idle,
                Item::Row(tc) => {
                    if tc.table.id.database != self.src_db {
                        continue;
                    }
                    let names: Vec<Ident> = tc.table.columns.iter().map(|c| c.name.clone()).collect();
                    let target = TableId::new(self.dst_db.clone(), tc.table.id.table.clone());
                    Input::Row { target: Arc::new(RowTarget::identity(target, &names)), change: tc.change }
                }
                Item::Statement(s) => {
                    let ctx = &s.context;
                    match self.translator.translate(
                        &s.sql_lossy(),
                        ctx.database.as_deref(),
                        ctx.sql_mode.unwrap_or(0) & 4 != 0,
                    ) {
                        Ok(Decision::Apply { statements, database, .. }) => Input::Ddl(Ddl {
                            statements,
                            database,
                            sql_mode: ctx.sql_mode,
                            time_zone: ctx.time_zone.clone(),
                            charset: ctx.charset,
                            timestamp: Some((ctx.timestamp, ctx.microseconds)),
                        }),
                        Ok(Decision::Skip { .. }) => continue,
                        Err(e) => return Some(Err(dts_applier::InputError::new(e))),
                    }
                }
            }));
        }
    }
}

fn master_pos(c: &mut Conn) -> BinlogPosition {
    let row: mysql::Row = c.query_first("SHOW MASTER STATUS").unwrap().unwrap();
    BinlogPosition::new(row.get::<String, _>(0).unwrap(), row.get::<u64, _>(1).unwrap())
}

fn rows(sb: &Sandbox, table: &str) -> Vec<Vec<mysql::Value>> {
    let mut c =
        Conn::new(OptsBuilder::from_opts(sb.opts()).init(dts_types::session::init_statements().to_vec())).unwrap();
    let rs: Vec<mysql::Row> = c.exec(format!("SELECT * FROM {table}"), ()).unwrap();
    let mut v: Vec<Vec<mysql::Value>> = rs.into_iter().map(|r| r.unwrap()).collect();
    v.sort_by_cached_key(|r| format!("{r:?}"));
    v
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
    let start = master_pos(&mut s);
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
    let mut input = BinlogInput::new(pair.source.opts(), start, &db, &target);
    let mut o = ApplyOptions::new(&format!("mixed_{db}"));
    o.workers = workers;
    o.group_transactions = 20;
    let mut a = Applier::new(pair.destination.opts(), o).unwrap();
    let stats = a.run(&mut input).unwrap();
    assert!(stats.ddl_failed.is_empty(), "{:?}", stats.ddl_failed);
    assert_eq!(stats.ddl_applied, 1);
    assert!(stats.row_changes > 1000);
    assert!(stats.commits < stats.transactions, "small transactions are grouped: {stats:?}");
    check(&db, &target);
    // Applying again from the checkpoint changes nothing.
    let again = a.run(&mut input).unwrap();
    assert_eq!(again.row_changes, stats.row_changes, "nothing after the checkpoint");
    check(&db, &target);
}

#[test]
fn rows_already_in_the_destination_are_overwritten_and_counted() {
    let pair = shared_pair();
    let (db, target, _) = setup("ap_conflict", &["CREATE TABLE kv (id INT PRIMARY KEY, v BIGINT, s VARCHAR(200))"]);
    let mut s = pair.source.conn().unwrap();
    let mut d = pair.destination.conn().unwrap();
    // Row 2 exists on the source before the sync starts, but not on the destination.
    s.query_drop(format!("INSERT INTO {}.kv VALUES (2, 2, 'b')", db.quoted())).unwrap();
    let start = master_pos(&mut s);
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
    let mut input = BinlogInput::new(pair.source.opts(), start.clone(), &db, &target);
    let mut a = Applier::new(pair.destination.opts(), ApplyOptions::new(&format!("conflict_{db}"))).unwrap();
    a.run(&mut input).unwrap();
    d.query_drop(format!("DELETE FROM {}.kv WHERE id = 6", target.quoted())).unwrap();
    s.query_drop(format!("DELETE FROM {}.kv WHERE id = 6", db.quoted())).unwrap();
    let stats = a.run(&mut input).unwrap();
    assert_eq!(stats.insert_existing, 2, "rows 1 and 5 existed: {stats:?}");
    assert_eq!(stats.update_missing, 1, "row 2 was missing: {stats:?}");
    assert_eq!(stats.delete_missing, 1, "row 6 was gone: {stats:?}");
    let got: Vec<(i32, i64)> = d.query(format!("SELECT id, v FROM {}.kv ORDER BY id", target.quoted())).unwrap();
    assert_eq!(got, vec![(1, 1), (2, 20), (3, 3), (5, 50)]);
    let _ = start;
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
    let mut input = BinlogInput::new(pair.source.opts(), start, &db, &target);
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

#[test]
fn connections_killed_during_apply_resume_from_the_checkpoint() {
    let pair = shared_pair();
    let (db, target, start) = setup("ap_killconn", TABLES);
    workload(&pair.source, &db, 4000, 99);
    let mut input = BinlogInput::new(pair.source.opts(), start, &db, &target);
    let mut o = ApplyOptions::new(&format!("killconn_{db}"));
    o.group_transactions = 5;
    o.rows_per_sec = 2000;
    let task = o.task.clone();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let (opts, stop) = (pair.destination.opts(), stop.clone());
        let (target_name, task_name) = (target.to_string(), task.clone());
        std::thread::spawn(move || {
            let mut c = Conn::new(opts).unwrap();
            let mut kills = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
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
    assert!(kills > 0 && stats.restarts > 0, "kills {kills}, restarts {} ({task})", stats.restarts);
    check(&db, &target);
}

const CHILD: &str = "DTS_APPLIER_CHILD";

#[test]
fn child_applies_until_killed() {
    let Ok(spec) = std::env::var(CHILD) else { return };
    let p: Vec<&str> = spec.split('|').collect();
    let opts = |port: &str| -> Opts {
        OptsBuilder::new()
            .ip_or_hostname(Some("127.0.0.1"))
            .tcp_port(port.parse().unwrap())
            .user(Some("dts"))
            .pass(std::env::var(format!("DTS_PW_{port}")).ok())
            .prefer_socket(false)
            .into()
    };
    let start = BinlogPosition::new(p[2], p[3].parse().unwrap());
    let (db, target) = (Ident::new(p[4]).unwrap(), Ident::new(p[5]).unwrap());
    let mut input = BinlogInput::new(opts(p[0]), start, &db, &target);
    let mut o = ApplyOptions::new(p[6]);
    o.group_transactions = 3;
    o.rows_per_sec = p[7].parse().unwrap();
    o.workers = p[8].parse().unwrap();
    let stats = Applier::new(opts(p[1]), o).unwrap().run(&mut input).unwrap();
    if let Some(hwm) = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
    {
        println!("APPLIED {} rows, {hwm}", stats.row_changes);
    }
}

fn spawn_child(
    db: &Ident,
    target: &Ident,
    start: &BinlogPosition,
    task: &str,
    rate: u64,
    workers: usize,
) -> std::process::Child {
    let pair = shared_pair();
    let (src, dst) = (&pair.source, &pair.destination);
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_applies_until_killed", "--test-threads=1", "--nocapture"])
        .env(
            CHILD,
            format!(
                "{}|{}|{}|{}|{}|{}|{}|{}|{workers}",
                src.port(),
                dst.port(),
                start.file,
                start.offset,
                db,
                target,
                task,
                rate
            ),
        )
        .env(format!("DTS_PW_{}", src.port()), src.password().expose())
        .env(format!("DTS_PW_{}", dst.port()), dst.password().expose())
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
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for round in 0..5 {
        let mut child = spawn_child(&db, &target, &start, &task, 3000, workers);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::thread::sleep(Duration::from_millis(300 + x % 700));
        child.kill().unwrap();
        child.wait().unwrap();
        let _ = round;
    }
    let out = spawn_child(&db, &target, &start, &task, 0, workers).wait_with_output().unwrap();
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
    let out = spawn_child(&db, &target, &start, &format!("huge_{db}"), 0, 4).wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr).lines().take(8).collect::<Vec<_>>().join("\n")
    );
    let line = stdout.lines().find_map(|l| l.split_once("APPLIED ").map(|x| x.1)).unwrap_or_else(|| panic!("{stdout}"));
    let kb: u64 = line.split_whitespace().rev().nth(1).unwrap().parse().unwrap();
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
