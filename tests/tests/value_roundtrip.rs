//! Every edge value of the value model, written to a real server as a SQL literal and as a
//! bound parameter, reads back as exactly the same value.

use dts_testkit::shared_pair;
use dts_types::value::samples::{Case, edge_cases};
use dts_types::{ColumnType, Value, session};
use mysql::prelude::Queryable;

fn create_table(c: &mut mysql::Conn, table: &str, case: &Case) {
    c.query_drop(format!("CREATE TABLE {table} (id INT PRIMARY KEY, v {} NULL)", case.ty)).unwrap();
}

/// Reads `v` back with the binary protocol (exact floats) and converts it with the column type.
fn read_back(c: &mut mysql::Conn, table: &str, ty: &ColumnType) -> Vec<Value> {
    let rows: Vec<mysql::Row> = c.exec(format!("SELECT v FROM {table} ORDER BY id"), ()).unwrap();
    rows.into_iter()
        .map(|mut r| {
            let raw: mysql::Value = r.take(0).unwrap();
            Value::from_param(ty, raw.clone()).unwrap_or_else(|e| panic!("{ty}: cannot read back {raw:?}: {e}"))
        })
        .collect()
}

#[test]
fn literals_round_trip_through_the_server() {
    let sb = &shared_pair().source;
    let db = sb.fresh_database("values_literal").unwrap();
    let mut c = sb.exact_conn().unwrap();
    for case in edge_cases() {
        let table = format!("{}.{}", db.quoted(), dts_types::quote_ident(case.name));
        create_table(&mut c, &table, &case);
        for (i, v) in case.values.iter().enumerate() {
            let lit = v.to_sql_literal().unwrap();
            let insert = format!("INSERT INTO {table} VALUES ({i}, {lit})");
            // ENUM index 0: written non-strict, with exactly one warning (what the writers check).
            let (insert, expected) =
                if v.is_enum_zero() { (session::allowing_enum_zero(&insert), 1) } else { (insert, 0) };
            c.query_drop(&insert).unwrap_or_else(|e| panic!("{} {}: INSERT of {lit} failed: {e}", case.name, case.ty));
            let warnings: u16 = c.warnings();
            assert_eq!(warnings, expected, "{} {}: {lit} raised warnings", case.name, case.ty);
        }
        assert_eq!(read_back(&mut c, &table, &case.ty), case.values, "{} {}", case.name, case.ty);
    }
}

#[test]
fn parameters_round_trip_through_the_server() {
    let sb = &shared_pair().destination;
    let db = sb.fresh_database("values_param").unwrap();
    let mut c = sb.exact_conn().unwrap();
    for case in edge_cases() {
        let table = format!("{}.{}", db.quoted(), dts_types::quote_ident(case.name));
        create_table(&mut c, &table, &case);
        for (i, v) in case.values.iter().enumerate() {
            let p = v.to_param().unwrap();
            let insert = format!("INSERT INTO {table} VALUES (?, ?)");
            let insert = if v.is_enum_zero() { session::allowing_enum_zero(&insert) } else { insert };
            c.exec_drop(insert, (i as i64, p))
                .unwrap_or_else(|e| panic!("{} {}: INSERT of {v:?} failed: {e}", case.name, case.ty));
        }
        assert_eq!(read_back(&mut c, &table, &case.ty), case.values, "{} {}", case.name, case.ty);
    }
}

#[test]
fn literals_match_in_where_clauses() {
    // A value rendered as a literal finds its own row: what an applier's key lookup relies on.
    let sb = &shared_pair().source;
    let db = sb.fresh_database("values_where").unwrap();
    let mut c = sb.exact_conn().unwrap();
    for case in edge_cases() {
        if matches!(case.ty, ColumnType::Json | ColumnType::Geometry | ColumnType::Float) {
            continue; // compared by other means than `=`: JSON and GEOMETRY, and FLOAT (double vs float)
        }
        let table = format!("{}.{}", db.quoted(), dts_types::quote_ident(case.name));
        create_table(&mut c, &table, &case);
        for (i, v) in case.values.iter().enumerate() {
            let insert = format!("INSERT INTO {table} VALUES ({i}, {})", v.to_sql_literal().unwrap());
            c.query_drop(if v.is_enum_zero() { session::allowing_enum_zero(&insert) } else { insert }).unwrap();
        }
        for (i, v) in case.values.iter().enumerate() {
            let lit = v.to_sql_literal().unwrap();
            let ids: Vec<i32> = c.query(format!("SELECT id FROM {table} WHERE v <=> {lit}")).unwrap();
            assert!(ids.contains(&(i as i32)), "{} {}: {lit} did not find its row (found {ids:?})", case.name, case.ty);
        }
    }
}

/// `Charset::decode` (how the task reads a DDL statement's text) reads every latin1 byte as
/// the server converts it to Unicode.
#[test]
fn latin1_decodes_as_the_server_converts_it() {
    let mut c = shared_pair().source.exact_conn().unwrap();
    for b in 0u8..=255 {
        let server: Vec<u8> =
            c.query_first(format!("SELECT CONVERT(_latin1 X'{b:02X}' USING utf8mb4)")).unwrap().unwrap();
        let ours = dts_types::Charset::LATIN1.decode(&[b]).unwrap();
        assert_eq!(ours.as_bytes(), server.as_slice(), "latin1 byte {b:#04x}");
    }
}
