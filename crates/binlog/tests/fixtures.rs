//! The decoder on MySQL 5.7-9.x and MariaDB binlog files (../shared/fixtures/mysql-binlogs).

mod common;

use common::fixture;
use dts_binlog::{BinlogError, BinlogReader, Item, ReaderParts, TxnGtid};
use dts_types::{Bits, ColumnType, GtidPosition, RowChange, Time, Value};

fn read(name: &str) -> (Vec<Item>, Option<BinlogError>, Option<GtidPosition>) {
    let parts = ReaderParts { positional_names: true, ..Default::default() };
    let mut r = BinlogReader::open_file(fixture(name), parts).unwrap();
    let mut items = Vec::new();
    let mut err = None;
    for i in r.by_ref() {
        match i {
            Ok(i) => items.push(i),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    (items, err, r.gtid_state().cloned())
}

fn read_ok(name: &str) -> Vec<Item> {
    let (items, err, _) = read(name);
    assert!(err.is_none(), "{name}: {}", err.unwrap());
    items
}

fn rows(items: &[Item]) -> Vec<RowChange> {
    items.iter().filter_map(|i| if let Item::Row(tc) = i { Some(tc.change.clone()) } else { None }).collect()
}

fn inserted(items: &[Item]) -> Vec<Vec<Value>> {
    rows(items)
        .into_iter()
        .filter_map(|c| if let RowChange::Insert { after } = c { Some(after) } else { None })
        .collect()
}

fn json(s: &str) -> Value {
    Value::Json(s.as_bytes().to_vec().into())
}

#[test]
fn zstd_transaction_payloads_are_decompressed() {
    let items = read_ok("transaction_compression.000001");
    assert_eq!(inserted(&items), vec![vec![Value::Int(1)]]);
    let commit = items.iter().rev().find_map(|i| if let Item::Commit(p) = i { Some(p.clone()) } else { None }).unwrap();
    assert!(commit.binlog.offset > 0, "the commit inside the payload resumes after the payload: {commit:?}");
}

#[test]
fn binary_json_decodes_to_text_and_partial_json_names_the_setting() {
    let (items, err, _) = read("json.binlog.000001");
    let updates: Vec<(Value, Value)> = rows(&items)
        .into_iter()
        .filter_map(|c| {
            if let RowChange::Update { before, after } = c { Some((before[1].clone(), after[1].clone())) } else { None }
        })
        .collect();
    assert!(updates.contains(&(
        json(r#"{"age": 24, "data": "xxxxxxxxxx", "name": "Joe"}"#),
        json(r#"{"age": 25, "data": "xxxxxxxxxx", "name": "Joe"}"#)
    )));
    let err = err.expect("the file ends with PARTIAL_UPDATE_ROWS events");
    assert!(matches!(err, BinlogError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("binlog_row_value_options"), "{err}");
}

#[test]
fn json_opaque_scalars_print_like_mysql() {
    let values: Vec<Value> = inserted(&read_ok("json-opaque.binlog")).into_iter().map(|r| r[0].clone()).collect();
    for want in [r#"{"c": "87:31:46.654321"}"#, r#"{"d": 123.456}"#, r#"{"e": 9.00}"#, r#"{"e": [0, 1, true, false]}"#]
    {
        assert!(values.contains(&json(want)), "{want} not among {values:?}");
    }
}

#[test]
fn tagged_gtids_and_previous_gtids() {
    let (items, err, state) = read("binlog_transaction_with_GTID_TAG.000001");
    assert!(err.is_none());
    let gtid = items.iter().find_map(|i| if let Item::Begin(b) = i { b.gtid.clone() } else { None }).unwrap();
    let TxnGtid::MySql(g) = gtid else { panic!("a MySQL GTID") };
    assert_eq!(g.to_string(), "55778904-0299-11f1-b1b8-4ef0c4956feb:mytag:3");
    assert_eq!(inserted(&items)[0][0], Value::Int(3));
    assert_eq!(state.unwrap().to_string(), "55778904-0299-11f1-b1b8-4ef0c4956feb:1-13:mytag:1-3");

    let (_, _, state) = read("binlog_transaction_previous_GTID_no_tag.000001");
    assert_eq!(state.unwrap().to_string(), "b9b88c66-0755-11f1-9899-4a9da94c4d71:1-2");
    let (items, _, state) = read("binlog_transaction_with_GTID.000001");
    assert!(items.iter().any(|i| matches!(i, Item::Begin(b) if b.gtid.is_some())));
    assert_eq!(state.unwrap().to_string(), "006c2cf2-b1ea-11e4-9057-8c705a3d3e78:1-3");
    let (items, _, _) = read("binlog_transaction_with_anonymous_GTID.000001");
    assert!(items.iter().all(|i| !matches!(i, Item::Begin(b) if b.gtid.is_some())), "anonymous GTIDs have none");
}

#[test]
fn invisible_columns_and_unsigned_values() {
    let items = read_ok("binlog-invisible-columns.000001");
    let first = &inserted(&items)[0];
    assert_eq!(first[0], Value::UInt(1));
    assert_eq!(first[2], Value::Int(-3));
    assert_eq!(first[5], Value::UInt(6_000_000_000));
    let Some(Item::Row(tc)) = items.iter().find(|i| matches!(i, Item::Row(_))) else { panic!() };
    let names: Vec<&str> = tc.table.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["f1", "f2", "f3", "f4", "f5", "f6"]);
}

#[test]
fn enum_and_set_members_come_from_the_table_map() {
    let items = read_ok("mysql-enum-string-set.000001");
    let Some(Item::Row(tc)) = items.iter().find(|i| matches!(i, Item::Row(_))) else { panic!() };
    match &tc.table.columns[2].ty {
        ColumnType::Enum { members, .. } => {
            assert_eq!(members.iter().map(|m| m.as_ref()).collect::<Vec<_>>(), [&b"var1"[..], b"variant2", b"foo"])
        }
        other => panic!("{other:?}"),
    }
    let deleted = rows(&items)
        .into_iter()
        .find_map(|c| if let RowChange::Delete { before } = c { Some(before) } else { None })
        .unwrap();
    assert_eq!((deleted[2].clone(), deleted[3].clone()), (Value::Enum(2), Value::Set(0b1010)));
}

#[test]
fn bits_time_and_vector_values() {
    let bits = inserted(&read_ok("mysql_type_bit.000001"));
    assert_eq!(bits[0][0], Value::Bit(Bits::new(3, 0b100).unwrap()));
    assert_eq!(bits[0][2], Value::Bit(Bits::new(8, 0b0010_0000).unwrap()));
    let time = inserted(&read_ok("time_issue.000001"));
    assert_eq!(time[0][0], Value::Time(Time::new(true, 507, 48, 27, 0).unwrap()));
    let vectors = inserted(&read_ok("vector.binlog"));
    let want = vec![Value::UInt(2), Value::Binary(vec![0, 0, 0x80, 0x3f, 0, 0, 0x80, 0xbf, 0, 0, 0, 0].into())];
    assert!(vectors.contains(&want), "{vectors:?}");
}

#[test]
fn mariadb_gtid_events_and_full_metadata() {
    let (items, err, state) = read("mariadb-bin.000001");
    assert!(err.is_none());
    let gtids: Vec<String> = items
        .iter()
        .filter_map(|i| if let Item::Begin(b) = i { b.gtid.clone() } else { None })
        .map(|g| match g {
            TxnGtid::MariaDb(g) => g.to_string(),
            TxnGtid::MySql(g) => panic!("MariaDB file gave a MySQL GTID {g}"),
        })
        .collect();
    assert_eq!(gtids, ["0-1-1", "0-1-2"]);
    assert_eq!(state.unwrap().to_string(), "0-1-2");
    let Some(Item::Row(tc)) = items.iter().find(|i| matches!(i, Item::Row(_))) else { panic!() };
    assert_eq!(tc.table.columns[0].name.as_str(), "id");
}

#[test]
fn savepoints_stay_inside_their_transaction() {
    let items = read_ok("binlog_savepoint.000001");
    let mut depth = 0;
    let mut saw_rollback_to = false;
    for i in &items {
        match i {
            Item::Begin(_) => depth += 1,
            Item::Commit(_) => depth -= 1,
            Item::Statement(s) => {
                let sql = s.sql_lossy().to_ascii_uppercase();
                if sql.starts_with("ROLLBACK TO") || sql.starts_with("SAVEPOINT") {
                    assert_eq!(depth, 1, "{sql} inside its transaction");
                    saw_rollback_to |= sql.starts_with("ROLLBACK TO");
                }
            }
            _ => {}
        }
        assert!((0..=1).contains(&depth));
    }
    assert!(saw_rollback_to);
}

#[test]
fn truncated_files_are_errors_not_panics() {
    for name in ["binlog_truncated_event.000001", "binlog_truncated_prev_gtid_event.000001"] {
        let (_, err, _) = read(name);
        let err = err.unwrap_or_else(|| panic!("{name} must not read cleanly"));
        assert!(matches!(err, BinlogError::Truncated { .. }), "{name}: {err}");
    }
}

#[test]
fn missing_metadata_and_partial_images_name_the_setting() {
    let (_, err, _) = read("write-full-row.binlog");
    let err = err.expect("no optional metadata, no schema: cannot know signedness");
    assert!(err.to_string().contains("binlog_row_metadata=FULL"), "{err}");
    let (_, err, _) = read("minimal_row_metadata.000001");
    let err = err.expect("a MINIMAL row image lacks columns");
    assert!(err.to_string().contains("binlog_row_image=FULL"), "{err}");
    // Without positional names, missing names are an error too.
    let mut r = BinlogReader::open_file(fixture("time_issue.000001"), ReaderParts::default()).unwrap();
    let err = r.find_map(|i| i.err()).expect("names are required");
    assert!(err.to_string().contains("column names"), "{err}");
}
