//! The full copy against real servers: exact values, chunk boundaries, keys, filters, subsets,
//! renames, existing rows, DDL during the copy, concurrent writes with a replay, and kill -9.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use dts_binlog::{BinlogReader, Item, ReaderParts, ReplicaOptions, StartPosition};
use dts_fullcopy::{CopyError, CopyOptions, ExistingRows, Throttle, run};
use dts_schema::{DatabaseRule, Selection, TableRule};
use dts_testkit::{RowDigest, Sandbox, replica_server_id, shared_pair};
use dts_types::value::samples::edge_cases;
use dts_types::{Ident, RowChange, SourcePosition, TableChange};
use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder};

/// Every row of a table as exact bytes, in any order.
fn rows(sb: &Sandbox, table: &str) -> RowDigest {
    sb.table_digest(table).unwrap()
}

fn selection_of(db: &Ident, target: &str, tables: Option<Vec<TableRule>>) -> Selection {
    Selection {
        databases: vec![DatabaseRule {
            database: db.to_string(),
            rename: Some(target.into()),
            tables,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Creates the selected tables on the destination with the schema crate, as a task would.
fn sync_schema(src: &Sandbox, dst: &Sandbox, sel: &Selection, db: &Ident) {
    let mut s = src.conn().unwrap();
    let cat = dts_schema::catalog(&mut s).unwrap();
    let schema = dts_schema::read_database(&mut s, sel, &cat, db.as_str()).unwrap();
    let plan = dts_schema::plan(sel, &[schema], &dts_schema::ObjectRules::default()).unwrap();
    let mut d = dst.conn().unwrap();
    for st in plan.statements {
        d.query_drop(st).unwrap();
    }
}

fn tables_of(src: &Sandbox, sel: &Selection, db: &Ident) -> Vec<dts_schema::MappedTable> {
    let mut s = src.conn().unwrap();
    let cat = dts_schema::catalog(&mut s).unwrap();
    cat[db.as_str()].iter().filter_map(|(t, cols)| sel.table_with_columns(db.as_str(), t, cols)).collect()
}

fn options(task: &str) -> CopyOptions {
    let mut o = CopyOptions::new(task);
    o.chunk_rows = 7;
    o.batch_bytes = 4096;
    o
}

#[test]
fn every_edge_value_copies_byte_exactly() {
    let pair = shared_pair();
    let (src, dst) = (&pair.source, &pair.destination);
    let db = src.fresh_database("fc_types").unwrap();
    let mut c = src.exact_conn().unwrap();
    for case in edge_cases() {
        let t = format!("{}.{}", db.quoted(), dts_types::quote_ident(case.name));
        c.query_drop(format!("CREATE TABLE {t} (id INT PRIMARY KEY, v {} NULL)", case.ty)).unwrap();
        for (i, v) in case.values.iter().enumerate() {
            let insert = format!("INSERT INTO {t} VALUES ({i}, {})", v.to_sql_literal().unwrap());
            c.query_drop(if v.is_enum_zero() { dts_types::session::allowing_enum_zero(&insert) } else { insert })
                .unwrap();
        }
    }
    let target = format!("{}_d", db.as_str());
    let sel = selection_of(&db, &target, None);
    sync_schema(src, dst, &sel, &db);
    let report = run(src.opts(), dst.opts(), tables_of(src, &sel, &db), &options(&format!("types_{}", db))).unwrap();
    assert!(report.rows > 50);
    for case in edge_cases() {
        let s = rows(src, &format!("{}.{}", db.quoted(), dts_types::quote_ident(case.name)));
        let d = rows(dst, &format!("{}.{}", dts_types::quote_ident(&target), dts_types::quote_ident(case.name)));
        assert_eq!(s, d, "{} {}", case.name, case.ty);
    }
}

#[test]
fn chunks_miss_and_double_nothing_for_any_key_shape() {
    let pair = shared_pair();
    let (src, dst) = (&pair.source, &pair.destination);
    let db = src.fresh_database("fc_keys").unwrap();
    let mut c = src.conn().unwrap();
    c.query_drop(format!("USE {}", db.quoted())).unwrap();
    c.query_drop("CREATE TABLE sparse (id BIGINT PRIMARY KEY, v INT)").unwrap();
    c.query_drop("INSERT INTO sparse VALUES (-9223372036854775808, 1), (-5, 2), (0, 3), (1, 4), (2, 5), (1000000000, 6), (9223372036854775807, 7)").unwrap();
    c.query_drop("INSERT INTO sparse SELECT seq * 37, seq FROM mysql.seq_1000_to_1100").unwrap();
    c.query_drop("CREATE TABLE composite (a VARCHAR(10) NOT NULL, b INT NOT NULL, v INT, PRIMARY KEY (a, b))").unwrap();
    c.query_drop("INSERT INTO composite SELECT CONCAT('k', seq % 3), seq, seq FROM mysql.seq_1_to_200").unwrap();
    c.query_drop("INSERT INTO composite VALUES ('', 0, 0), ('K1', 5, 5), ('k1 ', 999, 1)").ok();
    c.query_drop("CREATE TABLE uniq (u INT NOT NULL, w INT, UNIQUE KEY (u))").unwrap();
    c.query_drop("INSERT INTO uniq SELECT seq, seq FROM mysql.seq_1_to_50").unwrap();
    c.query_drop("CREATE TABLE nokey (x INT, y TEXT)").unwrap();
    c.query_drop("INSERT INTO nokey VALUES (1, 'a'), (1, 'a'), (2, NULL), (NULL, NULL), (NULL, NULL)").unwrap();
    let target = format!("{}_d", db.as_str());
    let sel = selection_of(&db, &target, None);
    sync_schema(src, dst, &sel, &db);
    let report = run(src.opts(), dst.opts(), tables_of(src, &sel, &db), &options(&format!("keys_{db}"))).unwrap();
    assert!(report.chunks_copied > 30, "{} chunks", report.chunks_copied);
    for t in ["sparse", "composite", "uniq", "nokey"] {
        let s = rows(src, &format!("{}.{t}", db.quoted()));
        let d = rows(dst, &format!("{}.{t}", dts_types::quote_ident(&target)));
        assert_eq!(s, d, "{t}");
    }
}

#[test]
fn filters_column_subsets_and_renames() {
    let pair = shared_pair();
    let (src, dst) = (&pair.source, &pair.destination);
    let db = src.fresh_database("fc_map").unwrap();
    let mut c = src.conn().unwrap();
    c.query_drop(format!(
        "CREATE TABLE {}.t (id INT PRIMARY KEY, a INT, secret VARCHAR(5), g INT AS (a * 2) STORED)",
        db.quoted()
    ))
    .unwrap();
    c.query_drop(format!(
        "INSERT INTO {}.t (id, a, secret) SELECT seq, seq % 10, 'x' FROM mysql.seq_1_to_100",
        db.quoted()
    ))
    .unwrap();
    let target = format!("{}_d", db.as_str());
    let sel = selection_of(
        &db,
        &target,
        Some(vec![TableRule {
            name: "t".into(),
            rename: Some("t2".into()),
            exclude_columns: vec!["secret".into()],
            column_renames: BTreeMap::from([("a".into(), "a2".into())]),
            filter: Some("a > 5".into()),
            ..Default::default()
        }]),
    );
    sync_schema(src, dst, &sel, &db);
    let o = options(&format!("map_{db}"));
    run(src.opts(), dst.opts(), tables_of(src, &sel, &db), &o).unwrap();
    // The progress a binary shows: every chunk done, the filtered rows counted.
    let p = o.progress.snapshot();
    assert_eq!(p.len(), 1);
    assert!(p[0].finished && p[0].chunks_done == p[0].chunks_total && p[0].rows_done == 40, "{p:?}");
    assert_eq!(p[0].eta_secs, Some(0.0));
    let mut d = dst.conn().unwrap();
    let got: Vec<(i32, i32, i32)> =
        d.query(format!("SELECT id, a2, g FROM {}.t2 ORDER BY id", dts_types::quote_ident(&target))).unwrap();
    let want: Vec<(i32, i32, i32)> = (1..=100).filter(|i| i % 10 > 5).map(|i| (i, i % 10, (i % 10) * 2)).collect();
    assert_eq!(got, want);
}

#[test]
fn ignore_mode_keeps_existing_rows_and_replace_mode_overwrites_them() {
    let pair = shared_pair();
    let (src, dst) = (&pair.source, &pair.destination);
    let db = src.fresh_database("fc_exist").unwrap();
    let mut c = src.conn().unwrap();
    c.query_drop(format!("CREATE TABLE {}.t (id INT PRIMARY KEY, v VARCHAR(5))", db.quoted())).unwrap();
    c.query_drop(format!("INSERT INTO {}.t VALUES (1, 'src'), (2, 'src')", db.quoted())).unwrap();
    let target = format!("{}_d", db.as_str());
    let sel = selection_of(&db, &target, None);
    sync_schema(src, dst, &sel, &db);
    dst.conn()
        .unwrap()
        .query_drop(format!("INSERT INTO {}.t VALUES (2, 'dst')", dts_types::quote_ident(&target)))
        .unwrap();
    let read = || -> Vec<(i32, String)> {
        dst.conn()
            .unwrap()
            .query(format!("SELECT id, v FROM {}.t ORDER BY id", dts_types::quote_ident(&target)))
            .unwrap()
    };
    let mut o = options(&format!("exist_i_{db}"));
    o.existing_rows = ExistingRows::Ignore;
    run(src.opts(), dst.opts(), tables_of(src, &sel, &db), &o).unwrap();
    assert_eq!(read(), vec![(1, "src".to_string()), (2, "dst".to_string())]);
    // The default: a row met again (here: one already there) is replaced by the later read.
    run(src.opts(), dst.opts(), tables_of(src, &sel, &db), &options(&format!("exist_r_{db}"))).unwrap();
    assert_eq!(read(), vec![(1, "src".to_string()), (2, "src".to_string())]);
}

#[test]
fn ddl_on_a_table_during_its_copy_stops_with_a_clear_error() {
    let pair = shared_pair();
    let (src, dst) = (&pair.source, &pair.destination);
    let db = src.fresh_database("fc_ddl").unwrap();
    let mut c = src.conn().unwrap();
    c.query_drop(format!("CREATE TABLE {}.t (id INT PRIMARY KEY, v INT)", db.quoted())).unwrap();
    c.query_drop(format!("INSERT INTO {}.t SELECT seq, seq FROM mysql.seq_1_to_2000", db.quoted())).unwrap();
    let target = format!("{}_d", db.as_str());
    let sel = selection_of(&db, &target, None);
    sync_schema(src, dst, &sel, &db);
    let mut o = options(&format!("ddl_{db}"));
    o.chunk_rows = 100;
    o.throttle = Arc::new(Throttle::new(0, 2000, 0));
    let (sopts, dopts, tables) = (src.opts(), dst.opts(), tables_of(src, &sel, &db));
    let copy = std::thread::spawn(move || run(sopts, dopts, tables, &o));
    std::thread::sleep(Duration::from_millis(300));
    c.query_drop(format!("ALTER TABLE {}.t ADD COLUMN w INT", db.quoted())).unwrap();
    let err = copy.join().unwrap().expect_err("the copy must notice the ALTER");
    assert!(matches!(&err, CopyError::TablesChanged(t) if t.len() == 1), "{err}");
    assert!(err.to_string().contains("dts-sync recopy --config FILE"), "{err}");
}

/// Applies the binlog's row changes of `table` from `from` to the end, as the applier will:
/// a row's full after image replaces it, a delete removes it.
fn replay(src: &Sandbox, dst: &Sandbox, from: &SourcePosition, db: &Ident, target: &str) {
    let mut o = ReplicaOptions::new(replica_server_id(), StartPosition::File(from.binlog.clone()));
    o.stop_at_end = true;
    let mut d = dst.exact_conn().unwrap();
    for item in BinlogReader::connect(src.opts(), o, ReaderParts::default()).unwrap() {
        let Item::Row(TableChange { table, change }) = item.unwrap() else { continue };
        if table.id.database != *db {
            continue;
        }
        let t = format!("{}.{}", dts_types::quote_ident(target), table.id.table.quoted());
        let lit = |v: &dts_types::Value| v.to_sql_literal().unwrap();
        match change {
            RowChange::Insert { after } | RowChange::Update { after, .. } => {
                let vals: Vec<String> = after.iter().map(lit).collect();
                d.query_drop(format!("REPLACE INTO {t} VALUES ({})", vals.join(","))).unwrap();
            }
            RowChange::Delete { before } => {
                d.query_drop(format!("DELETE FROM {t} WHERE id = {}", lit(&before[0]))).unwrap();
            }
        }
    }
}

#[test]
fn a_copy_under_concurrent_writes_converges_after_the_replay() {
    let pair = shared_pair();
    let (src, dst) = (&pair.source, &pair.destination);
    let db = src.fresh_database("fc_conc").unwrap();
    let mut c = src.conn().unwrap();
    c.query_drop(format!("CREATE TABLE {}.t (id INT PRIMARY KEY, v INT, u INT, UNIQUE KEY (u))", db.quoted())).unwrap();
    c.query_drop(format!("INSERT INTO {}.t SELECT seq, seq, seq FROM mysql.seq_1_to_3000", db.quoted())).unwrap();
    let target = format!("{}_d", db.as_str());
    let sel = selection_of(&db, &target, None);
    sync_schema(src, dst, &sel, &db);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (opts, stop, q) = (src.opts(), stop.clone(), db.quoted());
        std::thread::spawn(move || {
            let mut c = Conn::new(opts).unwrap();
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && i < 20_000 {
                i += 1;
                let id = (i * 7919) % 4000 + 1;
                let sql = match i % 4 {
                    0 => format!(
                        "INSERT INTO {q}.t VALUES ({id}, {i}, {}) ON DUPLICATE KEY UPDATE v = v + 1",
                        100_000 + i
                    ),
                    1 => format!("UPDATE {q}.t SET v = v * 2 WHERE id = {id}"),
                    2 => format!("DELETE FROM {q}.t WHERE id = {id}"),
                    _ => format!("UPDATE {q}.t SET u = {} WHERE id = {id}", 200_000 + i),
                };
                c.query_drop(sql).unwrap();
            }
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let mut o = options(&format!("conc_{db}"));
    o.chunk_rows = 200;
    let report = run(src.opts(), dst.opts(), tables_of(src, &sel, &db), &o).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    replay(src, dst, &report.low, &db, &target);
    assert_eq!(rows(src, &format!("{}.t", db.quoted())), rows(dst, &format!("{}.t", dts_types::quote_ident(&target))));
}

const CHILD: &str = "DTS_FULLCOPY_CHILD";

/// The child of the kill -9 test: copies with the parent's servers, slowly, until killed.
#[test]
fn child_copy_until_killed() {
    let Ok(spec) = std::env::var(CHILD) else { return };
    let p: Vec<&str> = spec.split('|').collect();
    let opts = |port: &str| -> mysql::Opts {
        OptsBuilder::new()
            .ip_or_hostname(Some("127.0.0.1"))
            .tcp_port(port.parse().unwrap())
            .user(Some("dts"))
            .pass(std::env::var(format!("DTS_PW_{port}")).ok())
            .prefer_socket(false)
            .into()
    };
    let db = Ident::new(p[2]).unwrap();
    let sel = selection_of(&db, p[3], None);
    let mut s = Conn::new(opts(p[0])).unwrap();
    let cat = dts_schema::catalog(&mut s).unwrap();
    let tables = cat[db.as_str()].iter().filter_map(|(t, cols)| sel.table_with_columns(db.as_str(), t, cols)).collect();
    let mut o = options(p[4]);
    o.chunk_rows = 500;
    o.throttle = Arc::new(Throttle::new(0, p[5].parse().unwrap(), 0));
    run(opts(p[0]), opts(p[1]), tables, &o).unwrap();
}

#[test]
fn kill_9_mid_copy_then_resume_copies_each_row_once() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let pair = shared_pair();
    let (src, dst) = (&pair.source, &pair.destination);
    let db = src.fresh_database("fc_kill").unwrap();
    let mut c = src.conn().unwrap();
    c.query_drop(format!("CREATE TABLE {}.t (id INT PRIMARY KEY, v VARCHAR(20))", db.quoted())).unwrap();
    c.query_drop(format!("INSERT INTO {}.t SELECT seq, CONCAT('v', seq) FROM mysql.seq_1_to_20000", db.quoted()))
        .unwrap();
    c.query_drop(format!("CREATE TABLE {}.nokey (x INT)", db.quoted())).unwrap();
    c.query_drop(format!("INSERT INTO {}.nokey SELECT seq % 7 FROM mysql.seq_1_to_3000", db.quoted())).unwrap();
    let target = format!("{}_d", db.as_str());
    let sel = selection_of(&db, &target, None);
    sync_schema(src, dst, &sel, &db);
    let task = format!("kill_{db}");
    let spawn = |rate: u64| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_copy_until_killed", "--test-threads=1"])
            .env(CHILD, format!("{}|{}|{}|{}|{}|{}", src.port(), dst.port(), db, target, task, rate))
            .env(format!("DTS_PW_{}", src.port()), src.password().expose())
            .env(format!("DTS_PW_{}", dst.port()), dst.password().expose())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let done_chunks = |d: &mut Conn| -> u64 {
        d.exec_first("SELECT COUNT(*) FROM dts_meta.fullcopy_chunks WHERE task = ? AND done = 1", (&task,))
            .unwrap()
            .unwrap_or(0)
    };
    let mut child = spawn(8000);
    let mut d = dst.conn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while done_chunks(&mut d) < 3 {
        assert!(std::time::Instant::now() < deadline, "the child made no progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let total: u64 =
        d.exec_first("SELECT COUNT(*) FROM dts_meta.fullcopy_chunks WHERE task = ?", (&task,)).unwrap().unwrap();
    let before = done_chunks(&mut d);
    assert!(before < total, "killed mid-copy ({before} of {total} chunks done)");
    let status = spawn(0).wait().unwrap();
    assert!(status.success(), "the resumed copy finished");
    assert_eq!(done_chunks(&mut d), total);
    for t in ["t", "nokey"] {
        assert_eq!(
            rows(src, &format!("{}.{t}", db.quoted())),
            rows(dst, &format!("{}.{t}", dts_types::quote_ident(&target))),
            "{t}"
        );
    }
}

/// A LOAD DATA into a destination table with an AUTO_INCREMENT column holds the table's
/// AUTO-INC lock until it ends (MariaDB's default `innodb_autoinc_lock_mode` 1), so a table
/// with most of the chunks, written by two writers at once, goes as INSERT statements; among
/// several tables, or without AUTO_INCREMENT, LOAD DATA stays. Every row arrives either way.
#[test]
fn one_large_auto_increment_table_is_written_by_statements_in_parallel() {
    let pair = shared_pair();
    let (src, dst) = (&pair.source, &pair.destination);
    let mode: u64 = dst.conn().unwrap().query_first("SELECT @@innodb_autoinc_lock_mode").unwrap().unwrap();
    assert_eq!(mode, 1, "the sandboxes run MariaDB's default lock mode");
    let copy = |tables: &[(&str, &str)]| {
        let db = src.fresh_database("fc_autoinc").unwrap();
        let mut c = src.conn().unwrap();
        c.query_drop(format!("USE {}", db.quoted())).unwrap();
        for (t, id) in tables {
            c.query_drop(format!("CREATE TABLE {t} ({id}, k INT, s VARCHAR(20), KEY (k))")).unwrap();
            c.query_drop(format!(
                "INSERT INTO {t} SELECT seq, seq * 7 % 101, CONCAT('r', seq) FROM mysql.seq_1_to_300"
            ))
            .unwrap();
        }
        let target = format!("{}_d", db.as_str());
        let sel = selection_of(&db, &target, None);
        sync_schema(src, dst, &sel, &db);
        let mut o = options(&format!("autoinc_{db}"));
        o.chunk_rows = 40;
        let report = run(src.opts(), dst.opts(), tables_of(src, &sel, &db), &o).unwrap();
        for (t, _) in tables {
            let s = rows(src, &format!("{}.{t}", db.quoted()));
            assert_eq!(s, rows(dst, &format!("{}.{t}", dts_types::quote_ident(&target))), "{t}");
        }
        report.tables_as_statements.iter().map(|t| t.table.as_str().to_string()).collect::<Vec<_>>()
    };
    let auto = "id INT AUTO_INCREMENT PRIMARY KEY";
    assert_eq!(copy(&[("big", auto)]), ["big"]);
    assert!(copy(&[("plain", "id INT PRIMARY KEY")]).is_empty(), "no AUTO_INCREMENT: LOAD DATA");
    assert!(copy(&[("a", auto), ("b", auto), ("c", auto)]).is_empty(), "each writer on a table of its own");
}

/// The position a task starts or resumes from pairs its offset with the GTID state exactly
/// there, even while the source commits: read as two values, a commit in between put a GTID in
/// the state that lies after the offset (a resume by GTID then skipped it). Checked against the
/// server's own answer for the offset, under a writer committing as fast as it can.
#[test]
fn the_position_pairs_its_offset_with_the_gtid_state_there_under_writes() {
    let pair = shared_pair();
    let db = pair.source.fresh_database("fc_position").unwrap();
    let mut c = pair.source.conn().unwrap();
    c.query_drop(format!("CREATE TABLE {}.t (id INT AUTO_INCREMENT PRIMARY KEY)", db.quoted())).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut w = pair.source.conn().unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                w.query_drop(format!("INSERT INTO {}.t VALUES ()", db.quoted())).unwrap();
            }
        });
        // A failed check below must stop the writer too, or the scope would wait for it.
        struct StopOnDrop<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let _stop = StopOnDrop(&stop);
        let mut src = pair.source.conn().unwrap();
        for _ in 0..300 {
            let p = dts_fullcopy::source_position(&mut src).unwrap();
            let there: Option<String> =
                src.exec_first("SELECT BINLOG_GTID_POS(?, ?)", (&p.binlog.file, p.binlog.offset)).unwrap();
            assert_eq!(
                p.gtid,
                there.filter(|g| !g.is_empty()).map(|g| dts_types::GtidPosition::parse(&g).unwrap()),
                "the GTID state at {}",
                p.binlog
            );
        }
    });
}

/// A table big enough gets its plain secondary indexes after its rows (`dts_fullcopy::indexes`):
/// while a copy that stopped mid-table waits they are missing (unique and FULLTEXT keys stay),
/// and the copy that finishes the table builds exactly the definition schema sync created.
#[test]
fn secondary_indexes_are_built_after_the_rows_also_when_a_copy_stopped_mid_table() {
    let pair = shared_pair();
    let (src, dst) = (&pair.source, &pair.destination);
    let db = src.fresh_database("fc_idx").unwrap();
    let q = db.quoted();
    let mut s = src.conn().unwrap();
    s.query_drop(format!(
        "CREATE TABLE {q}.t (id INT PRIMARY KEY, k INT NOT NULL, u INT NOT NULL, c VARCHAR(50) NOT NULL, \
         KEY k_1 (k), UNIQUE KEY uu (u), KEY `we``ird` (c(10), k DESC) COMMENT 'prefix, descending', FULLTEXT KEY ft (c))"
    ))
    .unwrap();
    s.query_drop(format!(
        "INSERT INTO {q}.t SELECT seq, seq * 7919 % 30011, seq, CONCAT('word', seq % 97, ' x', seq) FROM {q}.seq_1_to_30000"
    ))
    .unwrap();
    s.query_drop(format!("CREATE TABLE {q}.small (id INT PRIMARY KEY, k INT, KEY k (k))")).unwrap();
    s.query_drop(format!("INSERT INTO {q}.small SELECT seq, seq FROM {q}.seq_1_to_100")).unwrap();
    s.query_drop(format!("ANALYZE TABLE {q}.t, {q}.small")).unwrap();
    let target = format!("{}_d", db.as_str());
    let sel = selection_of(&db, &target, None);
    sync_schema(src, dst, &sel, &db);
    let tq = dts_types::quote_ident(&target);
    let mut d = dst.conn().unwrap();
    let create = |d: &mut Conn, t: &str| {
        d.query_first::<(String, String), _>(format!("SHOW CREATE TABLE {tq}.{t}")).unwrap().unwrap().1
    };
    let (want_t, want_small) = (create(&mut d, "t"), create(&mut d, "small"));
    let indexes = |d: &mut Conn| -> Vec<String> {
        d.exec(
            "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't' \
                ORDER BY INDEX_NAME",
            (&target,),
        )
        .unwrap()
    };
    // The destination refuses one row of the table's last chunk: that copy stops mid-table.
    d.query_drop(format!("ALTER TABLE {tq}.t ADD CONSTRAINT stop_here CHECK (id <> 29990)")).unwrap();
    let task = format!("idx_{db}");
    let mut o = CopyOptions::new(&task);
    o.chunk_rows = 5000;
    let tables = tables_of(src, &sel, &db);
    let e = run(src.opts(), dst.opts(), tables.clone(), &o).unwrap_err();
    assert!(e.to_string().contains(&target) || dts_types::describe::chain(&e).contains("stop_here"), "{e}");
    assert_eq!(indexes(&mut d), ["ft", "PRIMARY", "uu"], "the plain indexes wait for the rows");
    let waiting: Option<String> =
        d.exec_first("SELECT indexes FROM dts_meta.fullcopy_indexes WHERE task = ? AND tbl = 't'", (&task,)).unwrap();
    assert!(waiting.as_deref().is_some_and(|w| w.contains("KEY `k_1` (`k`)")), "{waiting:?}");

    d.query_drop(format!("ALTER TABLE {tq}.t DROP CONSTRAINT stop_here")).unwrap();
    let report = run(src.opts(), dst.opts(), tables, &o).unwrap();
    let built: Vec<&str> = report.indexes_built_after_rows.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(built, ["t"], "the small table keeps its index while loading");
    assert_eq!(create(&mut d, "t"), want_t, "the table ends with the definition schema sync created");
    assert_eq!(create(&mut d, "small"), want_small);
    assert_eq!(rows(src, &format!("{q}.t")), rows(dst, &format!("{tq}.t")));
    let left: Option<u64> =
        d.exec_first("SELECT COUNT(*) FROM dts_meta.fullcopy_indexes WHERE task = ?", (&task,)).unwrap();
    assert_eq!(left, Some(0), "no record is left");
}
