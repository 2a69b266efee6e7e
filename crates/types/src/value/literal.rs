//! Values as SQL literals, and literals back into values.
//!
//! Every literal this module writes is plain ASCII or UTF-8 text that means the same value
//! whatever the session's sql_mode (no backslash escapes are relied on: a string holding a
//! backslash or a control character is written in hex) and whatever its character_set_client
//! (strings carry an introducer naming their own charset). Two session settings do matter and
//! are fixed by [`crate::session`]: `time_zone = '+00:00'`, because TIMESTAMP literals are UTC
//! wall-clock times, and an sql_mode that accepts zero and partial-zero dates.
//!
//! | value     | literal                                  |
//! |-----------|------------------------------------------|
//! | integers  | `-12`, `18446744073709551615`            |
//! | FLOAT     | the f32 widened to f64, shortest round-trip, E notation: `1.100000023841858e0` |
//! | DOUBLE    | shortest round-trip, E notation: `-0e0`, `5e-324` |
//! | DECIMAL   | its digits: `-123.4500`                   |
//! | temporal  | `'2024-00-15'`, `'2038-01-19 03:14:07.999999'` (UTC), `'-838:59:59'` |
//! | YEAR      | `2024`, `0`                               |
//! | BIT       | `b'101'`                                  |
//! | ENUM/SET  | index / bitmask: `2`, `5`                 |
//! | strings   | `_utf8mb4'it''s'`, `_latin1 X'E9'`        |
//! | binary    | `X'00FF'`                                 |
//! | GEOMETRY  | `X'<srid LE><wkb>'` (the servers' internal form) |

use std::fmt::Write as _;

use bytes::Bytes;

use super::{Bits, Charset, Geometry, Text, Value, ValueError, push_hex};
use crate::column::ColumnType;

impl Value {
    /// The value as a SQL literal.
    pub fn to_sql_literal(&self) -> Result<String, ValueError> {
        let mut s = String::new();
        self.write_sql_literal(&mut s)?;
        Ok(s)
    }

    /// Appends the value as a SQL literal to `out`. Fails only for NaN and infinite floats,
    /// which no MySQL or MariaDB column can hold.
    pub fn write_sql_literal(&self, out: &mut String) -> Result<(), ValueError> {
        match self {
            Value::Null => out.push_str("NULL"),
            Value::Int(v) => write!(out, "{v}").expect("write to String"),
            Value::UInt(v) => write!(out, "{v}").expect("write to String"),
            Value::Float(v) => push_float(out, *v as f64, "FLOAT")?,
            Value::Double(v) => push_float(out, *v, "DOUBLE")?,
            Value::Decimal(d) => out.push_str(d.as_str()),
            Value::Date(d) => write!(out, "'{d}'").expect("write to String"),
            Value::DateTime(d) => write!(out, "'{d}'").expect("write to String"),
            Value::Timestamp(t) => write!(out, "'{t}'").expect("write to String"),
            Value::Time(t) => write!(out, "'{t}'").expect("write to String"),
            Value::Year(y) => write!(out, "{y}").expect("write to String"),
            Value::Bit(b) => write!(out, "b'{:b}'", b.value).expect("write to String"),
            Value::Enum(i) => write!(out, "{i}").expect("write to String"),
            // As the server's own signed number for a SET: a bitmask with bit 63 written
            // unsigned is stored right but never equals the column in a comparison.
            Value::Set(bits) => write!(out, "{}", *bits as i64).expect("write to String"),
            Value::Json(j) => push_string(out, j, Some(Charset::UTF8MB4)),
            Value::Geometry(g) => push_hex_literal(out, &g.to_internal()),
            Value::String(t) => push_string(out, &t.bytes, Some(t.charset)),
            Value::Binary(b) => push_hex_literal(out, b),
        }
        Ok(())
    }

    /// Reads a literal of the forms [`Value::write_sql_literal`] writes, as a value of a
    /// column of type `ty`.
    pub fn from_sql_literal(ty: &ColumnType, literal: &str) -> Result<Value, ValueError> {
        match lex(literal)? {
            Lit::Null => Ok(Value::Null),
            Lit::Bits(digits) => {
                let ColumnType::Bit { width } = ty else {
                    return Err(mismatch(ty, "bit-value literal"));
                };
                let v = u64::from_str_radix(&digits, 2)
                    .map_err(|_| ValueError::invalid("BIT", digits.as_bytes(), "more than 64 bits"))?;
                Ok(Value::Bit(Bits::new(*width, v)?))
            }
            Lit::Number(n) => number_literal(ty, &n),
            Lit::Str { charset, bytes } => string_literal(ty, charset, bytes),
        }
    }
}

fn mismatch(ty: &ColumnType, found: &str) -> ValueError {
    ValueError::TypeMismatch { column_type: ty.to_string(), found: found.to_string() }
}

fn push_float(out: &mut String, v: f64, kind: &'static str) -> Result<(), ValueError> {
    if !v.is_finite() {
        return Err(ValueError::NonFinite { kind, value: v.to_string() });
    }
    // `{:e}` is the shortest text that reads back as the same f64, and the E makes the server
    // read it as a double (not a DECIMAL). An f32 is written as its exact f64 widening, so the
    // server's double-to-float conversion is exact too.
    write!(out, "{v:e}").expect("write to String");
    Ok(())
}

fn push_hex_literal(out: &mut String, bytes: &[u8]) {
    out.push_str("X'");
    push_hex(out, bytes);
    out.push('\'');
}

/// Whether `bytes` can be written between quotes and mean the same bytes in `charset`.
fn quotable(bytes: &[u8], charset: Option<Charset>) -> bool {
    let plain = |c: char| c >= ' ' && c != '\\' && c != '\u{7f}';
    match charset {
        Some(cs) if cs.is_utf8() => std::str::from_utf8(bytes).is_ok_and(|s| s.chars().all(plain)),
        Some(cs) if cs.is_ascii_compatible() && !cs.is_binary() => {
            bytes.iter().all(|&b| (0x20..0x7f).contains(&b) && b != b'\\')
        }
        _ => false,
    }
}

fn push_quoted(out: &mut String, bytes: &[u8]) {
    let s = std::str::from_utf8(bytes).expect("quotable text is UTF-8");
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
}

/// Writes a string with an introducer naming its charset: `_latin1'abc'` or `_latin1 X'E9'`.
fn push_string(out: &mut String, bytes: &[u8], charset: Option<Charset>) {
    let cs = charset.unwrap_or(Charset::BINARY);
    if cs.is_binary() {
        return push_hex_literal(out, bytes);
    }
    out.push('_');
    out.push_str(cs.name());
    if quotable(bytes, charset) {
        push_quoted(out, bytes);
    } else {
        out.push(' ');
        push_hex_literal(out, bytes);
    }
}

/// Writes an ENUM/SET member as its definition lists it: quoted, or in hex.
pub(crate) fn push_member_literal(out: &mut String, bytes: &[u8], charset: Charset) {
    if quotable(bytes, Some(charset)) {
        push_quoted(out, bytes);
    } else {
        push_hex_literal(out, bytes);
    }
}

enum Lit {
    Null,
    Number(String),
    Bits(String),
    Str { charset: Option<Charset>, bytes: Vec<u8> },
}

fn lex(literal: &str) -> Result<Lit, ValueError> {
    let bad = |reason: &str| ValueError::invalid("SQL literal", literal.as_bytes(), reason);
    let s = literal.trim();
    if s.eq_ignore_ascii_case("NULL") {
        return Ok(Lit::Null);
    }
    let (charset, rest) = match s.strip_prefix('_') {
        Some(after) => {
            let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            let cs = Charset::from_name(&after[..end]).ok_or_else(|| bad("unknown charset introducer"))?;
            (Some(cs), after[end..].trim_start())
        }
        None => (None, s),
    };
    let quoted_body = |r: &str| -> Option<String> {
        let inner = r.strip_prefix('\'')?.strip_suffix('\'')?;
        Some(inner.to_string())
    };
    if let Some(r) = rest.strip_prefix(['X', 'x']).filter(|r| r.starts_with('\'')) {
        let hex = quoted_body(r).ok_or_else(|| bad("unterminated hex literal"))?;
        return Ok(Lit::Str { charset, bytes: unhex(&hex).ok_or_else(|| bad("bad hex digits"))? });
    }
    if rest.starts_with('\'') {
        let body = quoted_body(rest).ok_or_else(|| bad("unterminated string"))?;
        if body.contains('\\') {
            return Err(bad("backslash escapes depend on sql_mode; write such strings in hex"));
        }
        let mut bytes = Vec::with_capacity(body.len());
        let mut chars = body.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' && chars.next() != Some('\'') {
                return Err(bad("a quote inside a string must be doubled"));
            }
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        return Ok(Lit::Str { charset, bytes });
    }
    if charset.is_some() {
        return Err(bad("an introducer must be followed by a string"));
    }
    if let Some(r) = rest.strip_prefix(['b', 'B']).filter(|r| r.starts_with('\'')) {
        let digits = quoted_body(r).ok_or_else(|| bad("unterminated bit literal"))?;
        if digits.is_empty() || !digits.bytes().all(|b| b == b'0' || b == b'1') {
            return Err(bad("a bit literal holds only 0 and 1"));
        }
        return Ok(Lit::Bits(digits));
    }
    Ok(Lit::Number(rest.to_string()))
}

fn unhex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.as_bytes()
        .chunks(2)
        .map(|p| {
            let hi = (p[0] as char).to_digit(16)?;
            let lo = (p[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

fn number_literal(ty: &ColumnType, n: &str) -> Result<Value, ValueError> {
    let int = |ty_name: &'static str| -> Result<u64, ValueError> {
        n.parse::<u64>().map_err(|_| ValueError::invalid(ty_name, n.as_bytes(), "expected an unsigned integer"))
    };
    match ty {
        ColumnType::Float | ColumnType::Double => {
            let v: f64 = n
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| ValueError::invalid("floating-point", n.as_bytes(), "not a finite number"))?;
            if matches!(ty, ColumnType::Double) {
                return Ok(Value::Double(v));
            }
            let f = v as f32;
            if f as f64 != v {
                return Err(ValueError::invalid("FLOAT", n.as_bytes(), "not exactly a single-precision value"));
            }
            Ok(Value::Float(f))
        }
        ColumnType::Enum { members, .. } => {
            let i = int("ENUM")?;
            match u16::try_from(i) {
                Ok(i) if (i as usize) <= members.len() => Ok(Value::Enum(i)),
                _ => Err(ValueError::OutOfRange { ty: "ENUM", value: format!("index {i}") }),
            }
        }
        ColumnType::Set { members, .. } => {
            let bits = match n.parse::<i64>() {
                Ok(signed) => signed as u64,
                Err(_) => int("SET")?,
            };
            if members.len() < 64 && bits >> members.len() != 0 {
                return Err(ValueError::OutOfRange { ty: "SET", value: format!("bitmask {bits:#b}") });
            }
            Ok(Value::Set(bits))
        }
        ColumnType::Bit { width } => Ok(Value::Bit(Bits::new(*width, int("BIT")?)?)),
        ColumnType::Year => Value::from_text(ty, n.as_bytes()),
        _ if ty.integer_bits().is_some() || matches!(ty, ColumnType::Decimal { .. }) => {
            Value::from_text(ty, n.as_bytes())
        }
        _ => Err(mismatch(ty, "number")),
    }
}

fn string_literal(ty: &ColumnType, charset: Option<Charset>, bytes: Vec<u8>) -> Result<Value, ValueError> {
    match ty {
        ColumnType::Geometry => Ok(Value::Geometry(Geometry::from_internal(&bytes)?)),
        ColumnType::Binary { .. } | ColumnType::VarBinary { .. } | ColumnType::Blob { .. } => {
            Ok(Value::Binary(Bytes::from(bytes)))
        }
        ColumnType::Json => Ok(Value::Json(Bytes::from(bytes))),
        ColumnType::Char { charset: col, .. }
        | ColumnType::VarChar { charset: col, .. }
        | ColumnType::Text { charset: col, .. } => match charset {
            Some(cs) if cs != *col => Err(mismatch(ty, &format!("{cs} string"))),
            _ => Ok(Value::String(Text::new(*col, bytes))),
        },
        _ => Value::from_text(ty, &bytes),
    }
}

#[cfg(test)]
mod tests;
