use super::*;
use dts_types::{ColumnDef, Ident, TableId, Text};

fn schema() -> TableSchema {
    let col = |n: &str, t: &str, cs: Option<&str>| ColumnDef {
        name: Ident::new(n).unwrap(),
        ty: dts_schema::parse_column_type(t, cs).unwrap(),
        nullable: true,
    };
    TableSchema {
        id: TableId::new(Ident::new("d").unwrap(), Ident::new("t").unwrap()),
        columns: vec![
            col("id", "int(11)", None),
            col("name", "varchar(20)", Some("utf8mb4")),
            col("u", "bigint(20) unsigned", None),
            col("n", "int(11)", None),
        ],
        primary_key: vec![0],
    }
}

fn row(id: i64, u: u64, n: Option<i64>) -> Vec<Value> {
    vec![Value::Int(id), Value::String(Text::utf8mb4("x")), Value::UInt(u), n.map_or(Value::Null, Value::Int)]
}

fn decide(f: &str, r: &[Value]) -> Option<bool> {
    Filter::parse(f).unwrap().decide_in_process(&schema(), r)
}

#[test]
fn integer_filters_are_decided_in_process_with_sql_logic() {
    let r = row(7, 5, None);
    assert_eq!(decide("id % 2 = 1", &r), Some(true));
    assert_eq!(decide("id BETWEEN 5 AND 7 AND u IN (5, 6)", &r), Some(true));
    assert_eq!(decide("n IS NULL", &r), Some(true));
    assert_eq!(decide("n = 1 OR n <> 1", &r), Some(false), "unknown is not true");
    assert_eq!(decide("n <=> NULL", &r), Some(true));
    assert_eq!(decide("id NOT IN (1, 2, NULL)", &r), Some(false), "NOT IN with a NULL is unknown");
    assert_eq!(decide("-id + 10 * 2 DIV 3 = -1", &r), Some(true));
    assert_eq!(decide("`id` > 6 XOR id > 100", &r), Some(true));
    assert_eq!(decide("id > 100 OR id = 7 XOR TRUE", &r), Some(false), "XOR binds tighter than OR");
    assert_eq!(decide("id DIV 0 IS NULL", &r), Some(true));
    assert_eq!(decide("u > -1", &r), Some(true), "signed and unsigned compare as numbers");
    assert_eq!(decide("id = 7.0 AND id < 7.000001 AND id > -0.5", &r), Some(true), "exact decimals");
}

#[test]
fn what_the_server_could_refuse_or_compare_otherwise_is_left_to_it() {
    let r = row(7, 5, Some(i64::MAX));
    assert_eq!(decide("u - 10 < 0", &r), None, "a negative unsigned result is an error on the server");
    assert_eq!(decide("n + 1 > 0", &r), None, "a BIGINT overflow is an error on the server");
    assert_eq!(decide("-u = -5", &r), None);
    for f in ["name = 'x'", "id / 2 = 3.5", "id = '7'", "name LIKE 'x%'", "id = 1e1", "id = '2024-01-01'"] {
        assert_eq!(decide(f, &r), None, "{f}");
    }
}

#[test]
fn the_sql_is_rendered_from_the_parsed_expression() {
    let f = Filter::parse("id>1 and name = 'it''s' || NOT n IN (1,2) AND created >= DATE '2024-01-02'").unwrap();
    assert_eq!(
        f.sql(),
        "(((`id` > 1) AND (`name` = _utf8mb4'it''s')) OR ((NOT (`n` IN (1, 2))) AND (`created` >= DATE'2024-01-02')))"
    );
    let f = Filter::parse(r"name LIKE 'a\%b%' AND `we``ird` = 1 % 2").unwrap();
    assert!(f.sql().starts_with("((`name` LIKE _utf8mb4 X'615C256225')"), "a backslash is written in hex: {}", f.sql());
    assert!(f.sql().ends_with("(`we``ird` = (1 MOD 2)))"), "{}", f.sql());
    assert_eq!(f.columns(), ["name", "we`ird"]);
}

#[test]
fn unsupported_expressions_and_comments_are_refused_naming_them() {
    for (bad, named) in [
        ("UPPER(name) = 'A'", "UPPER"),
        ("id IN (SELECT 1)", "SELECT"),
        ("@x = 1", "@x"),
        ("id >", "ends"),
        ("id = 1 garbage", "garbage"),
        ("name IS 3", "IS"),
        ("id = /*!1000007 + */ 1", "comments"),
        ("id = 1 /* c */", "comments"),
        ("id = 1 -- c", "comments"),
        ("id = 1 # c", "comments"),
        ("!id", "NOT"),
        ("id = 0x10", "0x10"),
        ("name = _latin1'a'", "_latin1"),
        ("name = X'41'", "X"),
        ("name LIKE 'a' ESCAPE '!'", "ESCAPE"),
        ("created = DATE '2024-01'", "DATE"),
    ] {
        let e = Filter::parse(bad).unwrap_err();
        assert_eq!(e.filter, bad);
        assert!(e.to_string().contains(named), "{bad}: {e}");
    }
    let f = Filter::parse("missing = 1").unwrap();
    assert!(f.check_columns(&schema()).unwrap_err().reason.contains("missing"));
}
