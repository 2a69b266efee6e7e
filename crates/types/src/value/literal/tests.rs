use super::*;
use crate::value::samples::edge_cases;

#[test]
fn every_edge_value_renders_and_parses_back_exactly() {
    for case in edge_cases() {
        for v in &case.values {
            let lit = v.to_sql_literal().unwrap_or_else(|e| panic!("{}: {v:?}: {e}", case.name));
            assert!(lit.is_ascii() || matches!(v, Value::String(_) | Value::Json(_)), "{lit}");
            let back = Value::from_sql_literal(&case.ty, &lit)
                .unwrap_or_else(|e| panic!("{} {}: {lit} does not parse back: {e}", case.name, case.ty));
            assert_eq!(&back, v, "{} {}: literal {lit}", case.name, case.ty);
        }
    }
}

#[test]
fn literals_have_the_documented_forms() {
    let s = |v: Value| v.to_sql_literal().unwrap();
    assert_eq!(s(Value::Int(i64::MIN)), "-9223372036854775808");
    assert_eq!(s(Value::UInt(u64::MAX)), "18446744073709551615");
    assert_eq!(s(Value::Float(1.1)), "1.100000023841858e0");
    assert_eq!(s(Value::Double(-0.0)), "-0e0");
    assert_eq!(s(Value::Double(5e-324)), "5e-324");
    assert_eq!(s(Value::Year(0)), "0");
    assert_eq!(s(Value::Bit(Bits::new(5, 5).unwrap())), "b'101'");
    assert_eq!(s(Value::String(Text::utf8mb4("it's"))), "_utf8mb4'it''s'");
    assert_eq!(s(Value::String(Text::utf8mb4("a\\b"))), "_utf8mb4 X'615C62'");
    assert_eq!(s(Value::String(Text::new(Charset::LATIN1, &b"caf\xe9"[..]))), "_latin1 X'636166E9'");
    assert_eq!(s(Value::String(Text::new(Charset::LATIN1, &b"cafe"[..]))), "_latin1'cafe'");
    assert_eq!(s(Value::Binary(Bytes::new())), "X''");
    assert_eq!(s(Value::Timestamp(crate::Timestamp::new(1, 5).unwrap())), "'1970-01-01 00:00:01.000005'");
    assert_eq!(s(Value::Time(crate::Time::new(true, 838, 59, 59, 0).unwrap())), "'-838:59:59'");
}

#[test]
fn strings_never_depend_on_backslash_escaping() {
    for case in edge_cases() {
        for v in case.values {
            let lit = v.to_sql_literal().unwrap();
            if let Some(body) = lit.split_once('\'').map(|(_, b)| b) {
                assert!(!body.contains('\\'), "{lit}");
            }
        }
    }
}

#[test]
fn non_finite_floats_are_refused() {
    for v in [Value::Double(f64::NAN), Value::Double(f64::INFINITY), Value::Float(f32::NEG_INFINITY)] {
        assert!(matches!(v.to_sql_literal(), Err(ValueError::NonFinite { .. })), "{v:?}");
        assert!(matches!(v.to_param(), Err(ValueError::NonFinite { .. })), "{v:?}");
    }
}

#[test]
fn malformed_literals_are_errors() {
    let vc = ColumnType::VarChar { length: 10, charset: Charset::UTF8MB4 };
    for bad in ["'abc", "_nosuch'abc'", "X'ABC'", "X'GG'", "'a\\'b'", "'a'b'", "_utf8mb4 12"] {
        assert!(Value::from_sql_literal(&vc, bad).is_err(), "{bad}");
    }
    assert!(Value::from_sql_literal(&vc, "_latin1'abc'").is_err(), "charset must match the column");
    assert!(Value::from_sql_literal(&ColumnType::Float, "1.1e0").is_err(), "not an f32");
    assert!(Value::from_sql_literal(&ColumnType::Bit { width: 2 }, "b'111'").is_err());
    assert!(Value::from_sql_literal(&ColumnType::TinyInt { unsigned: false }, "128").is_err());
    assert!(Value::from_sql_literal(&ColumnType::Year, "1900").is_err());
}

#[test]
fn params_carry_exact_values() {
    use mysql::Value as P;
    assert_eq!(Value::Float(1.1).to_param().unwrap(), P::Float(1.1));
    assert_eq!(Value::Decimal("-1.50".parse().unwrap()).to_param().unwrap(), P::Bytes(b"-1.50".to_vec()));
    assert_eq!(Value::Enum(3).to_param().unwrap(), P::UInt(3));
    for case in edge_cases() {
        for v in &case.values {
            let p = v.to_param().unwrap();
            // Reading a parameter back as a result value of the same column gives the value.
            if !matches!(v, Value::Enum(_) | Value::Set(_)) {
                let back = Value::from_param(&case.ty, p).unwrap_or_else(|e| panic!("{}: {v:?}: {e}", case.name));
                assert_eq!(&back, v, "{}", case.name);
            }
        }
    }
}
