//! The reader against real MariaDB sandboxes: every value type, positions, resume, reconnect,
//! compression, purged binlogs.

use std::time::Duration;

use dts_binlog::{BinlogError, BinlogReader, Item, ReaderParts, ReplicaOptions, StartPosition, TxnGtid};
use dts_testkit::{Sandbox, binlog_position, replica_server_id, shared_pair};
use dts_types::value::samples::edge_cases;
use dts_types::{ColumnType, GtidPosition, Ident, MariaGtidList, RowChange, TableChange, Value, session};
use mysql::Conn;
use mysql::prelude::Queryable;

fn gtid_pos(c: &mut Conn) -> MariaGtidList {
    let s: String = c.query_first("SELECT @@gtid_binlog_pos").unwrap().unwrap();
    s.parse().unwrap()
}

fn options(start: StartPosition) -> ReplicaOptions {
    let mut o = ReplicaOptions::new(replica_server_id(), start);
    o.stop_at_end = true;
    o.heartbeat = Duration::from_millis(500);
    o.silence_timeout = Duration::from_secs(10);
    o.retry_window = Duration::from_secs(30);
    o
}

/// Everything from `start` to the current end of the source's binlog.
fn read_to_end(sb: &Sandbox, start: StartPosition) -> Vec<Item> {
    let reader = BinlogReader::connect(sb.opts(), options(start), ReaderParts::default()).unwrap();
    reader.map(|r| r.unwrap()).collect()
}

/// Only the items of transactions that touched `db` (other tests write to the same server).
fn transactions_in(items: Vec<Item>, db: &Ident) -> Vec<Vec<Item>> {
    let mut out = Vec::new();
    let mut cur: Vec<Item> = Vec::new();
    for item in items {
        match &item {
            Item::Begin(_) => cur = vec![item],
            Item::Commit(_) => {
                cur.push(item);
                let mine = cur.iter().any(|i| match i {
                    Item::Row(TableChange { table, .. }) => &table.id.database == db,
                    Item::Statement(s) => {
                        s.context.database.as_deref() == Some(db.as_str()) || s.sql_lossy().contains(db.as_str())
                    }
                    _ => false,
                });
                if mine {
                    out.push(std::mem::take(&mut cur));
                }
            }
            Item::Heartbeat(_) => {}
            _ => cur.push(item),
        }
    }
    out
}

fn inserted_rows(txns: &[Vec<Item>], table: &str) -> Vec<Vec<Value>> {
    txns.iter()
        .flatten()
        .filter_map(|i| match i {
            Item::Row(TableChange { table: t, change: RowChange::Insert { after } })
                if t.id.table.as_str() == table =>
            {
                Some(after.clone())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn every_column_type_arrives_decoded_exactly() {
    let sb = &shared_pair().source;
    let db = sb.fresh_database("bl_types").unwrap();
    let mut c = sb.exact_conn().unwrap();
    let start = binlog_position(&mut c).unwrap();
    let cases = edge_cases();
    for case in &cases {
        let t = format!("{}.{}", db.quoted(), dts_types::quote_ident(case.name));
        c.query_drop(format!("CREATE TABLE {t} (id INT PRIMARY KEY, v {} NULL)", case.ty)).unwrap();
        for (i, v) in case.values.iter().enumerate() {
            let insert = format!("INSERT INTO {t} VALUES ({i}, {})", v.to_sql_literal().unwrap());
            c.query_drop(if v.is_enum_zero() { session::allowing_enum_zero(&insert) } else { insert }).unwrap();
        }
    }
    let txns = transactions_in(read_to_end(sb, StartPosition::File(start)), &db);
    for case in &cases {
        let rows = inserted_rows(&txns, case.name);
        let got: Vec<Value> = rows.iter().map(|r| r[1].clone()).collect();
        // MariaDB's JSON is a LONGTEXT: its binlog says text in utf8mb4, and the value is
        // exactly the JSON text's bytes.
        let want: Vec<Value> = if case.ty == ColumnType::Json {
            case.values
                .iter()
                .map(|v| match v {
                    Value::Json(b) => Value::String(dts_types::Text::new(dts_types::Charset::UTF8MB4, b.clone())),
                    other => other.clone(),
                })
                .collect()
        } else {
            case.values.clone()
        };
        assert_eq!(got, want, "{} {}", case.name, case.ty);
        let ty = txns
            .iter()
            .flatten()
            .find_map(|i| match i {
                Item::Row(tc) if tc.table.id.table.as_str() == case.name => Some(tc.table.columns[1].ty.clone()),
                _ => None,
            })
            .unwrap();
        let want_ty = match &case.ty {
            ColumnType::Json => {
                ColumnType::Text { size: dts_types::LobSize::Long, charset: dts_types::Charset::UTF8MB4 }
            }
            other => other.clone(),
        };
        assert_eq!(ty, want_ty, "{}: the column type from the table map", case.name);
    }
}

#[test]
fn every_column_type_side_by_side_in_one_table_arrives_decoded_exactly() {
    // One table holding every type: the table map's per-kind metadata lists (signedness of the
    // numeric columns, YEAR among them; charsets; ENUM/SET members) line up with their columns.
    let sb = &shared_pair().source;
    let db = sb.fresh_database("bl_wide").unwrap();
    let mut c = sb.exact_conn().unwrap();
    let start = binlog_position(&mut c).unwrap();
    let mut cases: Vec<_> = edge_cases().into_iter().filter(|c| c.ty != ColumnType::Json).collect();
    // Signed integers again after every other type (after YEAR in particular).
    let signed: Vec<_> = cases.iter().filter(|c| matches!(c.name, "ti" | "bi" | "dec")).cloned().collect();
    cases.extend(signed);
    let t = format!("{}.wide", db.quoted());
    let cols: Vec<String> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} {} NULL", dts_types::quote_ident(&format!("{}_{i}", c.name)), c.ty))
        .collect();
    c.query_drop(format!("CREATE TABLE {t} (id INT PRIMARY KEY, {})", cols.join(", "))).unwrap();
    let most = cases.iter().map(|c| c.values.len()).max().unwrap();
    let mut want = Vec::new();
    for row in 0..most {
        let values: Vec<Value> = cases.iter().map(|c| c.values[row % c.values.len()].clone()).collect();
        let lits: Vec<String> = values.iter().map(|v| v.to_sql_literal().unwrap()).collect();
        let insert = format!("INSERT INTO {t} VALUES ({row}, {})", lits.join(", "));
        let zero = values.iter().any(Value::is_enum_zero);
        c.query_drop(if zero { session::allowing_enum_zero(&insert) } else { insert }).unwrap();
        want.push(values);
    }
    let txns = transactions_in(read_to_end(sb, StartPosition::File(start)), &db);
    let got: Vec<Vec<Value>> = inserted_rows(&txns, "wide").into_iter().map(|r| r[1..].to_vec()).collect();
    assert_eq!(got.len(), want.len());
    for (row, (g, w)) in got.iter().zip(&want).enumerate() {
        for (i, case) in cases.iter().enumerate() {
            assert_eq!(g[i], w[i], "row {row}, column {}_{i} ({})", case.name, case.ty);
        }
    }
}

#[test]
fn updates_and_deletes_carry_both_images_and_a_4mib_blob_streams() {
    let sb = &shared_pair().source;
    let db = sb.fresh_database("bl_images").unwrap();
    let mut c = sb.exact_conn().unwrap();
    let t = format!("{}.t", db.quoted());
    c.query_drop(format!("CREATE TABLE {t} (id INT UNSIGNED PRIMARY KEY, b LONGBLOB, s VARCHAR(10))")).unwrap();
    let start = binlog_position(&mut c).unwrap();
    let big: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    c.exec_drop(format!("INSERT INTO {t} VALUES (4294967295, ?, 'a')"), (big.clone(),)).unwrap();
    c.query_drop(format!("UPDATE {t} SET s = 'b' WHERE id = 4294967295")).unwrap();
    c.query_drop(format!("DELETE FROM {t}")).unwrap();
    let txns = transactions_in(read_to_end(sb, StartPosition::File(start)), &db);
    let changes: Vec<&RowChange> =
        txns.iter().flatten().filter_map(|i| if let Item::Row(tc) = i { Some(&tc.change) } else { None }).collect();
    assert_eq!(changes.len(), 3);
    let big = Value::Binary(big.into());
    match changes[1] {
        RowChange::Update { before, after } => {
            assert_eq!(before[0], Value::UInt(4_294_967_295));
            assert_eq!(before[1], big);
            assert_eq!(before[2], Value::String(dts_types::Text::utf8mb4("a")));
            assert_eq!(after[2], Value::String(dts_types::Text::utf8mb4("b")));
        }
        other => panic!("expected an update, got {other:?}"),
    }
    assert!(matches!(changes[2], RowChange::Delete { before } if before[1] == big));
}

#[test]
fn positions_survive_rotation_and_resuming_gives_no_gap_and_no_repeat() {
    let sb = &shared_pair().source;
    let db = sb.fresh_database("bl_rotate").unwrap();
    let mut c = sb.exact_conn().unwrap();
    let t = format!("{}.t", db.quoted());
    c.query_drop(format!("CREATE TABLE {t} (id INT PRIMARY KEY)")).unwrap();
    let start = binlog_position(&mut c).unwrap();
    let gtid_start = gtid_pos(&mut c);
    for i in 0..6 {
        c.query_drop(format!("INSERT INTO {t} VALUES ({i})")).unwrap();
        if i % 2 == 1 {
            c.query_drop("FLUSH BINARY LOGS").unwrap();
        }
    }
    let all = transactions_in(read_to_end(sb, StartPosition::File(start.clone())), &db);
    let ids =
        |txns: &[Vec<Item>]| -> Vec<Value> { inserted_rows(txns, "t").into_iter().map(|r| r[0].clone()).collect() };
    assert_eq!(ids(&all), (0..6).map(Value::Int).collect::<Vec<_>>());
    let files: std::collections::BTreeSet<String> = all
        .iter()
        .filter_map(|t| if let Some(Item::Commit(p)) = t.last() { Some(p.binlog.file.clone()) } else { None })
        .collect();
    assert!(files.len() >= 3, "the commits span the rotated files: {files:?}");

    // Resuming after each commit, by file + offset and by GTID, gives exactly the rest.
    for (k, txn) in all.iter().enumerate() {
        let Some(Item::Commit(pos)) = txn.last() else { panic!("a transaction ends with a commit") };
        let rest = transactions_in(read_to_end(sb, StartPosition::File(pos.binlog.clone())), &db);
        assert_eq!(ids(&rest), (k as i64 + 1..6).map(Value::Int).collect::<Vec<_>>(), "after {}", pos.binlog);
        let Some(GtidPosition::MariaDb(g)) = &pos.gtid else { panic!("MariaDB positions carry GTIDs: {pos:?}") };
        let rest = transactions_in(read_to_end(sb, StartPosition::MariaDbGtid(g.clone())), &db);
        assert_eq!(ids(&rest), (k as i64 + 1..6).map(Value::Int).collect::<Vec<_>>(), "after GTID {g}");
        // A GTID start reports the server's real file and offset again (its dump begins with a
        // ROTATE naming the file), and the GTID state after each transaction, exactly as a
        // start by file does: a task's checkpoints do not change with the way it starts.
        let commits = |txns: &[Vec<Item>]| -> Vec<dts_types::SourcePosition> {
            txns.iter()
                .filter_map(|t| if let Some(Item::Commit(p)) = t.last() { Some(p.clone()) } else { None })
                .collect()
        };
        assert_eq!(commits(&rest), commits(&all[k + 1..]), "positions after GTID {g}");
        // The server's own GTID state at the checkpoint's file and offset is the one saved.
        let at: Option<String> =
            c.exec_first("SELECT BINLOG_GTID_POS(?, ?)", (&pos.binlog.file, pos.binlog.offset)).unwrap();
        assert_eq!(at.unwrap().parse::<dts_types::MariaGtidList>().unwrap(), *g, "BINLOG_GTID_POS at {}", pos.binlog);
    }
    let from_gtid = transactions_in(read_to_end(sb, StartPosition::MariaDbGtid(gtid_start)), &db);
    assert_eq!(ids(&from_gtid), ids(&all));
    let first = from_gtid.first().and_then(|t| t.first());
    assert!(matches!(first, Some(Item::Begin(b)) if matches!(b.gtid, Some(TxnGtid::MariaDb(_)))));
}

#[test]
fn ddl_arrives_as_a_statement_with_its_context() {
    let sb = &shared_pair().source;
    let db = sb.fresh_database("bl_ddl").unwrap();
    let mut c = sb.exact_conn().unwrap();
    let start = binlog_position(&mut c).unwrap();
    c.query_drop(format!("USE {}", db.quoted())).unwrap();
    c.query_drop("SET time_zone = '+05:30', sql_mode = 'ANSI_QUOTES'").unwrap();
    // A TIMESTAMP default reads the time zone, so the server logs it with the statement.
    let ddl = "CREATE TABLE \"quoted\" (id INT PRIMARY KEY, ts TIMESTAMP NOT NULL DEFAULT '2020-01-01 00:00:00')";
    c.query_drop(ddl).unwrap();
    let txns = transactions_in(read_to_end(sb, StartPosition::File(start)), &db);
    let stmt = txns
        .iter()
        .flatten()
        .find_map(|i| if let Item::Statement(s) = i { Some(s.clone()) } else { None })
        .expect("the CREATE TABLE");
    assert_eq!(stmt.sql_lossy(), ddl);
    assert_eq!(stmt.context.database.as_deref(), Some(db.as_str()));
    assert_eq!(stmt.context.time_zone.as_deref(), Some("+05:30"));
    let ansi_quotes = 1u64 << 2;
    assert_ne!(stmt.context.sql_mode.unwrap() & ansi_quotes, 0, "sql_mode carries ANSI_QUOTES");
}

#[test]
fn a_killed_dump_connection_is_detected_and_resumed_without_loss_or_repeat() {
    let sb = &shared_pair().source;
    let db = sb.fresh_database("bl_kill").unwrap();
    let mut c = sb.exact_conn().unwrap();
    let t = format!("{}.t", db.quoted());
    c.query_drop(format!("CREATE TABLE {t} (id INT PRIMARY KEY)")).unwrap();
    let start = binlog_position(&mut c).unwrap();
    let mut opts = options(StartPosition::File(start));
    opts.stop_at_end = false;
    let mut reader = BinlogReader::connect(sb.opts(), opts, ReaderParts::default()).unwrap();
    let writer = {
        let opts = sb.opts();
        let t = t.clone();
        std::thread::spawn(move || {
            let mut c = Conn::new(opts).unwrap();
            for i in 0..200 {
                c.query_drop(format!("INSERT INTO {t} VALUES ({i})")).unwrap();
                if i % 50 == 25 {
                    let dumps: Vec<u64> =
                        c.query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'").unwrap();
                    for id in dumps {
                        let _ = c.query_drop(format!("KILL CONNECTION {id}"));
                    }
                }
            }
        })
    };
    let mut seen = Vec::new();
    while seen.len() < 200 {
        match reader.next().expect("the live stream does not end").expect("reconnects instead of failing") {
            Item::Row(TableChange { table, change: RowChange::Insert { after } }) if table.id.database == db => {
                seen.push(after[0].clone())
            }
            _ => {}
        }
    }
    writer.join().unwrap();
    assert_eq!(seen, (0..200).map(Value::Int).collect::<Vec<_>>());
    assert!(reader.stats().reconnects >= 1, "the dump connection was killed and resumed");
}

#[test]
fn a_purged_start_position_is_a_clear_error() {
    let sb = Sandbox::start("purge").unwrap();
    let mut c = sb.conn().unwrap();
    let old = binlog_position(&mut c).unwrap();
    c.query_drop("CREATE DATABASE p").unwrap();
    c.query_drop("FLUSH BINARY LOGS").unwrap();
    let now = binlog_position(&mut c).unwrap();
    // MariaDB keeps a file until its binlog checkpoint has moved on: retry until it is gone.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        c.query_drop(format!("PURGE BINARY LOGS TO '{}'", now.file)).unwrap();
        let files: Vec<mysql::Row> = c.query("SHOW BINARY LOGS").unwrap();
        if files.iter().all(|r| r.get::<String, _>(0).unwrap() != old.file) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{} was never purged", old.file);
        std::thread::sleep(Duration::from_millis(100));
    }
    let err = BinlogReader::connect(sb.opts(), options(StartPosition::File(old.clone())), ReaderParts::default())
        .and_then(|r| r.collect::<Result<Vec<_>, _>>().map(|_| ()))
        .expect_err("reading a purged binlog must fail");
    assert!(matches!(err, BinlogError::Purged { .. }), "{err}");
    assert!(err.to_string().contains(&old.file), "{err}");
}

#[test]
fn compressed_binlog_events_are_decompressed_not_dropped() {
    let sb = Sandbox::builder("compressed")
        .option("log_bin_compress", "ON")
        .option("log_bin_compress_min_len", "10")
        .start()
        .unwrap();
    let mut c = sb.exact_conn().unwrap();
    let start = binlog_position(&mut c).unwrap();
    c.query_drop("CREATE DATABASE z").unwrap();
    c.query_drop("CREATE TABLE z.t (id INT PRIMARY KEY, s TEXT)").unwrap();
    let long = "compressible ".repeat(100);
    for i in 0..20 {
        c.exec_drop("INSERT INTO z.t VALUES (?, ?)", (i, &long)).unwrap();
    }
    c.query_drop("UPDATE z.t SET s = 'x' WHERE id < 5").unwrap();
    c.query_drop("DELETE FROM z.t WHERE id >= 15").unwrap();
    let items = read_to_end(&sb, StartPosition::File(start));
    let rows: Vec<&RowChange> =
        items.iter().filter_map(|i| if let Item::Row(tc) = i { Some(&tc.change) } else { None }).collect();
    assert_eq!(rows.iter().filter(|r| matches!(r, RowChange::Insert { .. })).count(), 20);
    assert_eq!(rows.iter().filter(|r| matches!(r, RowChange::Update { .. })).count(), 5);
    assert_eq!(rows.iter().filter(|r| matches!(r, RowChange::Delete { .. })).count(), 5);
    let first = rows.iter().find_map(|r| if let RowChange::Insert { after } = r { Some(after) } else { None }).unwrap();
    assert_eq!(first[1], Value::String(dts_types::Text::utf8mb4(&long)));
    let ddl = items
        .iter()
        .filter(|i| matches!(i, Item::Statement(s) if s.sql_lossy().starts_with("CREATE TABLE z.t")))
        .count();
    assert_eq!(ddl, 1, "the compressed QUERY event arrives as its statement");
}

#[test]
fn rows_of_unselected_tables_are_skipped_on_purpose_and_counted() {
    let sb = &shared_pair().source;
    let db = sb.fresh_database("bl_filter").unwrap();
    let mut c = sb.exact_conn().unwrap();
    for t in ["keep", "drop_me"] {
        c.query_drop(format!("CREATE TABLE {}.{t} (id INT PRIMARY KEY)", db.quoted())).unwrap();
    }
    let start = binlog_position(&mut c).unwrap();
    c.query_drop(format!("INSERT INTO {0}.keep VALUES (1); INSERT INTO {0}.drop_me VALUES (2)", db.quoted())).unwrap();
    let selected = db.clone();
    let parts = ReaderParts {
        filter: Some(Box::new(move |t: &dts_types::TableId| t.database == selected && t.table.as_str() == "keep")),
        ..Default::default()
    };
    let mut reader = BinlogReader::connect(sb.opts(), options(StartPosition::File(start)), parts).unwrap();
    let items: Vec<Item> = reader.by_ref().map(Result::unwrap).collect();
    let tables: Vec<String> = items
        .iter()
        .filter_map(|i| if let Item::Row(tc) = i { Some(tc.table.id.table.to_string()) } else { None })
        .collect();
    assert!(tables.iter().all(|t| t == "keep") && !tables.is_empty(), "{tables:?}");
    assert!(reader.stats().skipped_rows_events >= 1);
    // Both transactions still arrive, so positions advance past the skipped one.
    let commits = transactions_in(items, &db);
    assert_eq!(commits.len(), 1, "only the transaction with selected rows touches the selection");
}

#[test]
fn statement_format_writes_and_xa_transactions_arrive_inside_their_transactions() {
    let sb = &shared_pair().source;
    let db = sb.fresh_database("bl_stmt").unwrap();
    let mut c = sb.conn().unwrap();
    let start = binlog_position(&mut c).unwrap();
    let xid = format!("{db}-xa");
    let file = sb.files_dir().join(format!("{db}.tsv"));
    std::fs::write(&file, "7\tloaded\n").unwrap();
    for sql in [
        format!("USE {}", db.quoted()),
        "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB".into(),
        "CREATE TABLE m (id INT PRIMARY KEY) ENGINE=MyISAM".into(),
        "SET SESSION binlog_format = 'STATEMENT'".into(),
        "INSERT INTO t (v) VALUES ('a')".into(),
        "INSERT INTO m VALUES (1)".into(),
        format!("LOAD DATA INFILE '{}' INTO TABLE t", file.display()),
        "SET SESSION binlog_format = 'ROW'".into(),
        format!("XA START '{xid}'"),
        "INSERT INTO t (v) VALUES ('xa')".into(),
        format!("XA END '{xid}'"),
        format!("XA PREPARE '{xid}'"),
        format!("XA COMMIT '{xid}'"),
    ] {
        c.query_drop(&sql).unwrap();
    }
    let txns = transactions_in(read_to_end(sb, StartPosition::File(start)), &db);
    let shape = |t: &Vec<Item>| -> Vec<String> {
        t.iter()
            .map(|i| match i {
                Item::Begin(b) => format!("BEGIN xa={:?}", b.xa),
                Item::Statement(s) => format!("{} values={}", s.sql_lossy(), s.context.logged_values),
                Item::Row(r) => format!("ROW {}", r.table.id.table),
                Item::Commit(_) => "COMMIT".into(),
                Item::Heartbeat(_) => "HEARTBEAT".into(),
            })
            .collect()
    };
    let mut shapes: Vec<Vec<String>> = txns.iter().map(shape).collect();
    // The server writes its own temporary file name into the LOAD DATA it logs.
    for t in &mut shapes {
        for i in t.iter_mut() {
            if i.starts_with("LOAD DATA ") && i.contains("INTO TABLE `t`") && i.ends_with("values=true") {
                *i = "LOAD".into();
            }
        }
    }
    let xa = format!("'{xid}','',1");
    let hex: String = xid.bytes().map(|b| format!("{b:02x}")).collect();
    let want = [
        vec![
            "BEGIN xa=None".to_string(),
            "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB values=false".into(),
            "COMMIT".into(),
        ],
        vec![
            "BEGIN xa=None".to_string(),
            "CREATE TABLE m (id INT PRIMARY KEY) ENGINE=MyISAM values=false".into(),
            "COMMIT".into(),
        ],
        // InnoDB: ended by XID; its INSERT_ID came in an INTVAR event.
        vec!["BEGIN xa=None".to_string(), "INSERT INTO t (v) VALUES ('a') values=true".into(), "COMMIT".into()],
        // MyISAM: ended by a COMMIT query.
        vec!["BEGIN xa=None".to_string(), "INSERT INTO m VALUES (1) values=false".into(), "COMMIT".into()],
        // LOAD DATA: the file's bytes, then the statement (with the server's name for its copy).
        vec!["BEGIN xa=None".to_string(), "LOAD".into(), "COMMIT".into()],
        vec![format!("BEGIN xa=Some(\"{xa}\")"), "ROW t".into(), "COMMIT".into()],
        // The outcome, as the server logs it (the xid in hex).
        vec!["BEGIN xa=None".to_string(), format!("XA COMMIT X'{hex}',X'',1 values=false"), "COMMIT".into()],
    ];
    assert_eq!(shapes, want);
}

/// A non-transactional table (MyISAM, a sequence) written in row format logs its group as
/// GTID, rows, then a COMMIT query. With the rows skipped (their table not selected), that
/// COMMIT ends the group: it is no statement-format write waiting for a second COMMIT (which
/// made the next GTID "start before the last one ended" and stopped every task on the source).
#[test]
fn skipped_rows_of_non_transactional_tables_still_end_their_group() {
    let sb = &shared_pair().source;
    let db = sb.fresh_database("bl_nontx").unwrap();
    let mut c = sb.conn().unwrap();
    c.query_drop(format!("USE {}", db.quoted())).unwrap();
    for s in [
        "CREATE TABLE keep (id INT PRIMARY KEY)",
        "CREATE TABLE plain (id INT PRIMARY KEY) ENGINE=MyISAM",
        "CREATE SEQUENCE seq",
    ] {
        c.query_drop(s).unwrap();
    }
    let start = binlog_position(&mut c).unwrap();
    for s in [
        "INSERT INTO plain VALUES (1)",
        "SELECT NEXTVAL(seq)",
        "INSERT INTO keep VALUES (1)",
        "UPDATE plain SET id = 2",
        "INSERT INTO keep VALUES (2)",
    ] {
        c.query_drop(s).unwrap();
    }
    let end = binlog_position(&mut c).unwrap();
    let selected = db.clone();
    let parts = ReaderParts {
        filter: Some(Box::new(move |t: &dts_types::TableId| t.database == selected && t.table.as_str() == "keep")),
        ..Default::default()
    };
    let mut reader = BinlogReader::connect(sb.opts(), options(StartPosition::File(start)), parts).unwrap();
    let mut rows = 0;
    for item in reader.by_ref() {
        match item.unwrap() {
            Item::Row(_) => rows += 1,
            Item::Commit(p) if p.binlog >= end => break,
            _ => {}
        }
    }
    assert_eq!(rows, 2, "both rows of the selected table");
}
