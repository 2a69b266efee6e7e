//! A silent, stopped or metadata-less source: detection, resumption, retry window, schemas
//! supplied by the caller, and packets over 16 MiB.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dts_binlog::{BinlogError, BinlogReader, Item, ReaderParts, ReplicaOptions, SchemaProvider, StartPosition};
use dts_testkit::{Sandbox, binlog_position, replica_server_id};
use dts_types::{
    BinlogPosition, Charset, ColumnDef, ColumnType, Ident, RowChange, TableChange, TableId, TableSchema, Text, Value,
};
use mysql::prelude::Queryable;

fn signal(sb: &Sandbox, sig: &str) {
    let ok = std::process::Command::new("kill").arg(sig).arg(sb.pid().unwrap().to_string()).status().unwrap();
    assert!(ok.success());
}

fn follow(sb: &Sandbox, start: BinlogPosition, retry: Duration) -> BinlogReader {
    let mut o = ReplicaOptions::new(replica_server_id(), StartPosition::File(start));
    o.heartbeat = Duration::from_millis(300);
    o.silence_timeout = Duration::from_millis(1500);
    o.retry_window = retry;
    BinlogReader::connect(sb.opts(), o, ReaderParts::default()).unwrap()
}

fn next_insert(r: &mut BinlogReader) -> Value {
    loop {
        match r.next().expect("a live stream does not end").expect("no error") {
            Item::Row(TableChange { change: RowChange::Insert { after }, .. }) => return after[0].clone(),
            _ => continue,
        }
    }
}

#[test]
fn a_silent_source_is_detected_and_resumed_and_idle_heartbeats_are_no_silence() {
    let sb = Sandbox::start("silent").unwrap();
    let mut c = sb.conn().unwrap();
    c.query_drop("CREATE DATABASE s").unwrap();
    c.query_drop("CREATE TABLE s.t (id INT PRIMARY KEY)").unwrap();
    let start = binlog_position(&mut c).unwrap();
    let mut r = follow(&sb, start, Duration::from_secs(60));
    c.query_drop("INSERT INTO s.t VALUES (1)").unwrap();
    assert_eq!(next_insert(&mut r), Value::Int(1));

    // Idle for several silence timeouts: heartbeats keep the stream alive.
    let idle_until = Instant::now() + Duration::from_secs(4);
    let mut heartbeats = 0;
    while Instant::now() < idle_until {
        if let Item::Heartbeat(_) = r.next().unwrap().unwrap() {
            heartbeats += 1;
        }
    }
    assert!(heartbeats >= 3, "{heartbeats} heartbeats");
    assert_eq!(r.stats().reconnects, 0, "an idle source with heartbeats is not silent");

    // A frozen source sends nothing while the reader waits: it notices, keeps trying, and
    // resumes once the source answers again.
    let reader = std::thread::spawn(move || {
        let v = next_insert(&mut r);
        (v, r.stats().reconnects)
    });
    signal(&sb, "-STOP");
    std::thread::sleep(Duration::from_secs(4));
    signal(&sb, "-CONT");
    c.query_drop("INSERT INTO s.t VALUES (2)").unwrap();
    let (v, reconnects) = reader.join().unwrap();
    assert_eq!(v, Value::Int(2));
    assert!(reconnects >= 1, "the silence was detected");
}

#[test]
fn reconnecting_stops_at_the_end_of_the_retry_window() {
    let sb = Sandbox::start("window").unwrap();
    let mut c = sb.conn().unwrap();
    let start = binlog_position(&mut c).unwrap();
    let mut r = follow(&sb, start, Duration::from_secs(3));
    signal(&sb, "-STOP");
    let t = Instant::now();
    let err = loop {
        match r.next() {
            Some(Err(e)) => break e,
            Some(Ok(_)) => continue,
            None => panic!("the stream ended instead of failing"),
        }
    };
    signal(&sb, "-CONT");
    assert!(matches!(err, BinlogError::RetryWindowExceeded { .. }), "{err}");
    assert!(t.elapsed() < Duration::from_secs(30), "gave up in {:?}", t.elapsed());
}

/// A schema the caller knows, as a source without binlog_row_metadata=FULL needs.
struct Known(Arc<TableSchema>);

impl SchemaProvider for Known {
    fn table_schema(
        &mut self,
        table: &TableId,
        _at: &BinlogPosition,
    ) -> Result<Option<Arc<TableSchema>>, dts_binlog::SchemaError> {
        Ok((table == &self.0.id).then(|| self.0.clone()))
    }
}

#[test]
fn without_table_map_metadata_the_callers_schema_decodes_the_rows() {
    let sb = Sandbox::builder("nometa").option("binlog_row_metadata", "NO_LOG").start().unwrap();
    let mut c = sb.conn().unwrap();
    c.query_drop("CREATE DATABASE m").unwrap();
    c.query_drop("CREATE TABLE m.t (id INT UNSIGNED PRIMARY KEY, name VARCHAR(10) CHARACTER SET latin1)").unwrap();
    let start = binlog_position(&mut c).unwrap();
    c.query_drop("INSERT INTO m.t VALUES (4294967295, _latin1 X'E9')").unwrap();
    let read = |parts: ReaderParts| -> Result<Vec<Item>, BinlogError> {
        let mut o = ReplicaOptions::new(replica_server_id(), StartPosition::File(start.clone()));
        o.stop_at_end = true;
        BinlogReader::connect(sb.opts(), o, parts)?.collect()
    };
    let err = read(ReaderParts::default()).expect_err("no names, no signedness");
    assert!(matches!(err, BinlogError::MissingMetadata(_)), "{err}");
    assert!(err.to_string().contains("binlog_row_metadata=FULL"), "{err}");

    let schema = TableSchema {
        id: TableId::parse("m", "t").unwrap(),
        columns: vec![
            ColumnDef { name: Ident::new("id").unwrap(), ty: ColumnType::Int { unsigned: true }, nullable: false },
            ColumnDef {
                name: Ident::new("name").unwrap(),
                ty: ColumnType::VarChar { length: 10, charset: Charset::LATIN1 },
                nullable: true,
            },
        ],
        primary_key: vec![0],
    };
    let items = read(ReaderParts { schema: Some(Box::new(Known(Arc::new(schema)))), ..Default::default() }).unwrap();
    let row = items
        .iter()
        .find_map(|i| {
            if let Item::Row(TableChange { change: RowChange::Insert { after }, .. }) = i { Some(after) } else { None }
        })
        .unwrap();
    assert_eq!(row, &vec![Value::UInt(4_294_967_295), Value::String(Text::new(Charset::LATIN1, &b"\xe9"[..]))]);
}

#[test]
fn events_larger_than_one_16mib_packet_arrive_whole() {
    let sb = Sandbox::start("bigpacket").unwrap();
    let mut c = sb.conn().unwrap();
    c.query_drop("CREATE DATABASE b").unwrap();
    c.query_drop("CREATE TABLE b.t (id INT PRIMARY KEY, v LONGBLOB)").unwrap();
    let start = binlog_position(&mut c).unwrap();
    let big: Vec<u8> = (0..20 * 1024 * 1024u32).map(|i| (i * 7 % 253) as u8).collect();
    c.exec_drop("INSERT INTO b.t VALUES (1, ?)", (big.clone(),)).unwrap();
    let mut o = ReplicaOptions::new(replica_server_id(), StartPosition::File(start));
    o.stop_at_end = true;
    let items: Vec<Item> =
        BinlogReader::connect(sb.opts(), o, ReaderParts::default()).unwrap().map(Result::unwrap).collect();
    let row = items
        .iter()
        .find_map(|i| {
            if let Item::Row(TableChange { change: RowChange::Insert { after }, .. }) = i { Some(after) } else { None }
        })
        .unwrap();
    assert_eq!(row[1], Value::Binary(big.into()));
}
