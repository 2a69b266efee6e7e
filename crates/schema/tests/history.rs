//! Schema history against a source that logs no table-map metadata: DDL changes the columns
//! between rows, and a reader started again from the beginning (as after a restart) decodes
//! every row with the schema it was written under.

use std::sync::Arc;

use dts_binlog::{BinlogReader, Item, ReaderParts, ReplicaOptions, SchemaProvider, StartPosition};
use dts_schema::catalog;
use dts_schema::{DatabaseRule, Selection};
use dts_schema::{SchemaHistory, SchemaTracker};
use dts_testkit::{Sandbox, binlog_position, replica_server_id, shared_pair};
use dts_types::{BinlogPosition, Charset, Ident, RowChange, TableChange, TableId, TableSchema, Text, Value};
use mysql::prelude::Queryable;

/// The binary's glue: the history as the binlog reader's schema source.
struct FromHistory {
    history: SchemaHistory,
    conn: mysql::Conn,
}

impl SchemaProvider for FromHistory {
    fn table_schema(
        &mut self,
        table: &TableId,
        at: &BinlogPosition,
    ) -> Result<Option<Arc<TableSchema>>, dts_binlog::SchemaError> {
        self.history.lookup(&mut self.conn, table, at).map(|s| s.map(Arc::new)).map_err(Into::into)
    }
}

fn reader(src: &Sandbox, start: &BinlogPosition, provider: FromHistory) -> BinlogReader {
    let mut o = ReplicaOptions::new(replica_server_id(), StartPosition::File(start.clone()));
    o.stop_at_end = true;
    BinlogReader::connect(src.opts(), o, ReaderParts { schema: Some(Box::new(provider)), ..Default::default() })
        .unwrap()
}

#[test]
fn old_events_decode_with_the_schema_they_were_written_under() {
    let src = Sandbox::builder("history-src").option("binlog_row_metadata", "NO_LOG").start().unwrap();
    let dst = &shared_pair().destination;
    let meta = Ident::new("dts_meta").unwrap();
    let task = format!("history_{}", src.port());
    let mut s = src.conn().unwrap();
    s.query_drop("CREATE DATABASE h").unwrap();
    s.query_drop("CREATE TABLE h.t (a INT UNSIGNED, s VARCHAR(5) CHARACTER SET latin1)").unwrap();
    let start = binlog_position(&mut s).unwrap();

    let selection = Selection {
        databases: vec![DatabaseRule { database: "h".into(), ..Default::default() }],
        ..Default::default()
    };
    let mut tracker = SchemaTracker::new(&task, meta.clone(), selection);
    let mut d = dst.conn().unwrap();
    let cat = catalog(&mut s).unwrap();
    tracker.bootstrap(&mut s, &mut d, &cat, &start).unwrap();

    s.query_drop("INSERT INTO h.t VALUES (4294967295, _latin1 X'E9')").unwrap();
    s.query_drop("ALTER TABLE h.t ADD COLUMN b BIGINT UNSIGNED FIRST").unwrap();
    s.query_drop("INSERT INTO h.t VALUES (18446744073709551615, 2, 'y')").unwrap();
    s.query_drop("ALTER TABLE h.t DROP COLUMN a, MODIFY s VARCHAR(5) CHARACTER SET utf8mb4").unwrap();
    s.query_drop("INSERT INTO h.t VALUES (3, 'ü')").unwrap();

    let rows = |r: BinlogReader, tracker: Option<&mut SchemaTracker>, d: &mut mysql::Conn| -> Vec<Vec<Value>> {
        let mut out = Vec::new();
        let mut pending = None;
        let mut tracker = tracker;
        for item in r {
            match item.unwrap() {
                Item::Statement(st) => pending = Some(st),
                Item::Commit(p) => {
                    if let (Some(st), Some(t)) = (pending.take(), tracker.as_deref_mut()) {
                        t.on_statement(d, &st.sql_lossy(), st.context.database.as_deref(), false, &p.binlog).unwrap();
                    }
                }
                Item::Row(TableChange { change: RowChange::Insert { after }, .. }) => out.push(after),
                _ => {}
            }
        }
        out
    };
    let provider = || FromHistory { history: tracker.history().clone(), conn: dst.conn().unwrap() };
    let live = rows(reader(&src, &start, provider()), Some(&mut tracker), &mut d);
    let latin = |b: &[u8]| Value::String(Text::new(Charset::LATIN1, b.to_vec()));
    let want = vec![
        vec![Value::UInt(4_294_967_295), latin(b"\xe9")],
        vec![Value::UInt(u64::MAX), Value::UInt(2), latin(b"y")],
        vec![Value::UInt(3), Value::String(Text::utf8mb4("ü"))],
    ];
    assert_eq!(live, want, "while the DDL is tracked");

    // A restart: nothing in memory, the history alone decodes the old events.
    let again = rows(
        reader(&src, &start, FromHistory { history: SchemaHistory::new(&task, meta), conn: dst.conn().unwrap() }),
        None,
        &mut d,
    );
    assert_eq!(again, want, "after a restart, from the persisted history");
}
