//! Values as LOAD DATA fields (tab-separated, backslash-escaped, `\N` for NULL), for tables
//! whose every column type loads exactly that way; the others take the INSERT path.

use std::io::Write;

use dts_types::{ColumnType, Value, ValueError};

/// Whether values of this type load exactly through LOAD DATA ... CHARACTER SET binary.
/// BIT, ENUM, SET, JSON and GEOMETRY are written by INSERT instead, where their literal forms
/// are exact.
pub fn loads_exactly(ty: &ColumnType) -> bool {
    !matches!(
        ty,
        ColumnType::Bit { .. }
            | ColumnType::Enum { .. }
            | ColumnType::Set { .. }
            | ColumnType::Json
            | ColumnType::Geometry
    )
}

/// Whether the server's text form of this type's values is exact (everything but floats, which
/// the text protocol may round): such tables are read with the cheaper text protocol.
pub fn text_is_exact(ty: &ColumnType) -> bool {
    !matches!(ty, ColumnType::Float | ColumnType::Double)
}

/// Appends a value from a text-protocol result (the server's own text form, which LOAD DATA
/// reads back as the same value for every type [`text_is_exact`] accepts).
pub fn push_text_field(out: &mut Vec<u8>, v: &mysql::Value) -> Result<(), ValueError> {
    match v {
        mysql::Value::NULL => out.extend_from_slice(b"\\N"),
        mysql::Value::Bytes(b) => push_escaped(out, b),
        other => {
            return Err(ValueError::TypeMismatch { column_type: "text result".into(), found: format!("{other:?}") });
        }
    }
    Ok(())
}

/// Appends `bytes` escaped for a LOAD DATA field.
pub fn push_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => out.extend_from_slice(b"\\0"),
            0x1a => out.extend_from_slice(b"\\Z"),
            _ => out.push(b),
        }
    }
}

/// Appends a source value (as the binary protocol returned it) of a column of type `ty`.
pub fn push_field(out: &mut Vec<u8>, ty: &ColumnType, v: mysql::Value) -> Result<(), ValueError> {
    use mysql::Value as P;
    match (ty, v) {
        (_, P::NULL) => out.extend_from_slice(b"\\N"),
        // Strings and binary strings: their bytes, as stored (the session is SET NAMES binary).
        (
            ColumnType::Char { .. }
            | ColumnType::VarChar { .. }
            | ColumnType::Text { .. }
            | ColumnType::Binary { .. }
            | ColumnType::VarBinary { .. }
            | ColumnType::Blob { .. },
            P::Bytes(b),
        ) => push_escaped(out, &b),
        (_, P::Int(i)) if ty.integer_bits().is_some() => write!(out, "{i}").expect("Vec"),
        (_, P::UInt(u)) if ty.integer_bits().is_some() => write!(out, "{u}").expect("Vec"),
        (_, v) => match Value::from_param(ty, v)? {
            Value::Float(f) if f.is_finite() => write!(out, "{:e}", f as f64).expect("Vec"),
            Value::Double(d) if d.is_finite() => write!(out, "{d:e}").expect("Vec"),
            Value::Year(y) => write!(out, "{y:04}").expect("Vec"),
            Value::Decimal(d) => out.extend_from_slice(d.as_str().as_bytes()),
            Value::Date(d) => write!(out, "{d}").expect("Vec"),
            Value::DateTime(d) => write!(out, "{d}").expect("Vec"),
            Value::Timestamp(t) => write!(out, "{t}").expect("Vec"),
            Value::Time(t) => write!(out, "{t}").expect("Vec"),
            Value::Int(i) => write!(out, "{i}").expect("Vec"),
            Value::UInt(u) => write!(out, "{u}").expect("Vec"),
            Value::String(t) => push_escaped(out, &t.bytes),
            Value::Binary(b) => push_escaped(out, &b),
            other => {
                return Err(ValueError::TypeMismatch {
                    column_type: ty.to_string(),
                    found: format!("{} (not loadable by LOAD DATA)", other.kind()),
                });
            }
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_is_reversible() {
        let mut out = Vec::new();
        push_escaped(&mut out, b"a\tb\nc\\d\0e\x1a\r");
        assert_eq!(out, b"a\\tb\\nc\\\\d\\0e\\Z\\r");
        let mut out = Vec::new();
        push_field(&mut out, &ColumnType::Float, mysql::Value::Float(1.1)).unwrap();
        assert_eq!(out, b"1.100000023841858e0");
        let mut out = Vec::new();
        push_field(&mut out, &ColumnType::Year, mysql::Value::Int(0)).unwrap();
        assert_eq!(out, b"0000");
    }
}
