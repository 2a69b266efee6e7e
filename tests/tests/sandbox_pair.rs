//! A source and a destination server run at once, take writes over TCP, and have the binlog
//! settings sync needs.

use dts_testkit::shared_pair;
use mysql::prelude::Queryable;

#[test]
fn source_and_destination_run_at_once_with_row_binlogs() {
    let pair = shared_pair();
    assert_ne!(pair.source.port(), pair.destination.port());
    assert_ne!(pair.source.server_id(), pair.destination.server_id());

    for sb in [&pair.source, &pair.destination] {
        let mut c = sb.conn().expect("TCP login as the dts user");
        let (log_bin, format, image, metadata): (String, String, String, String) = c
            .query_first("SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata")
            .unwrap()
            .unwrap();
        assert_eq!(
            (log_bin.as_str(), format.as_str(), image.as_str(), metadata.as_str()),
            ("1", "ROW", "FULL", "FULL"),
            "{}",
            sb.name()
        );
        let (port, server_id): (u16, u32) = c.query_first("SELECT @@port, @@server_id").unwrap().unwrap();
        assert_eq!((port, server_id), (sb.port(), sb.server_id()));
        let via: String = c.query_first("SELECT SUBSTRING_INDEX(USER(), '@', -1)").unwrap().unwrap();
        assert_eq!(via, "127.0.0.1", "the login really came over TCP");
    }
}

#[test]
fn a_write_on_the_source_lands_in_its_binlog_with_a_gtid() {
    let src = &shared_pair().source;
    let db = src.fresh_database("binlog_write").unwrap();
    let mut c = src.conn().unwrap();
    let before: String = c.query_first("SELECT @@gtid_binlog_pos").unwrap().unwrap();
    c.query_drop(format!("CREATE TABLE {}.t (id INT PRIMARY KEY, v VARCHAR(10))", db.quoted())).unwrap();
    c.query_drop(format!("INSERT INTO {}.t VALUES (1, 'one'), (2, 'two')", db.quoted())).unwrap();
    let rows: Vec<(i32, String)> = c.query(format!("SELECT id, v FROM {}.t ORDER BY id", db.quoted())).unwrap();
    assert_eq!(rows, vec![(1, "one".to_string()), (2, "two".to_string())]);

    let after: String = c.query_first("SELECT @@gtid_binlog_pos").unwrap().unwrap();
    assert_ne!(before, after, "the writes got GTIDs");
    assert!(after.starts_with("1-"), "the source writes in GTID domain 1: {after}");

    let file = dts_testkit::binlog_position(&mut c).unwrap().file;
    let events: Vec<mysql::Row> = c.query(format!("SHOW BINLOG EVENTS IN '{file}'")).unwrap();
    let kinds: Vec<String> = events.iter().map(|r| r.get::<String, _>(2).unwrap()).collect();
    assert!(kinds.iter().any(|k| k == "Write_rows_v1"), "row events in the binlog: {kinds:?}");
    assert!(kinds.iter().any(|k| k == "Gtid"), "GTID events in the binlog: {kinds:?}");
}

#[test]
fn each_test_gets_its_own_database() {
    let src = &shared_pair().source;
    let a = src.fresh_database("mine").unwrap();
    let b = src.fresh_database("mine").unwrap();
    assert_ne!(a, b);
    let mut c = src.conn().unwrap();
    let n: u64 = c
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?, ?)",
            (a.as_str(), b.as_str()),
        )
        .unwrap()
        .unwrap();
    assert_eq!(n, 2);
}

#[test]
fn a_wrong_password_is_refused_over_tcp() {
    let src = &shared_pair().source;
    let opts = src.opts_builder().pass(Some("not-the-password"));
    let err = mysql::Conn::new(opts).expect_err("a wrong password must not log in");
    assert!(err.to_string().contains("Access denied"), "{err}");
}
