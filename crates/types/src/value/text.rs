//! Values from the servers' text form of a column value (text-protocol result sets,
//! `SELECT` output, the inside of a quoted literal), given the column's type.

use bytes::Bytes;

use super::{Bits, Date, DateTime, Decimal, Geometry, Text, Time, Timestamp, Value, ValueError};
use crate::column::ColumnType;

impl Value {
    /// Reads `text` as the server shows a value of a column of type `ty`.
    ///
    /// Strings and binary strings are taken byte for byte (the session must return results in
    /// the column's own charset, e.g. with `character_set_results = binary`); TIMESTAMPs are
    /// read as UTC; BIT is the server's raw big-endian bytes; ENUM and SET labels are looked up
    /// in the column's members. FLOAT text is exact only if the text is (the servers print
    /// FLOAT columns rounded; read them through the binary protocol, see [`Value::from_param`]).
    pub fn from_text(ty: &ColumnType, text: &[u8]) -> Result<Value, ValueError> {
        if let Some((bits, unsigned)) = ty.integer_bits() {
            return integer(text, bits, unsigned);
        }
        match ty {
            ColumnType::Float => {
                let v = float(text, "FLOAT")?;
                let f = v as f32;
                if f.is_finite() {
                    Ok(Value::Float(f))
                } else {
                    Err(ValueError::invalid("FLOAT", text, "out of range"))
                }
            }
            ColumnType::Double => Ok(Value::Double(float(text, "DOUBLE")?)),
            ColumnType::Decimal { .. } => Ok(Value::Decimal(Decimal::parse(utf8(text, "DECIMAL")?)?)),
            ColumnType::Year => {
                let y: u16 = utf8(text, "YEAR")?
                    .parse()
                    .map_err(|_| ValueError::invalid("YEAR", text, "expected a 4-digit year"))?;
                if y == 0 || (1901..=2155).contains(&y) {
                    Ok(Value::Year(y))
                } else {
                    Err(ValueError::OutOfRange { ty: "YEAR", value: y.to_string() })
                }
            }
            ColumnType::Date => Ok(Value::Date(Date::parse(text)?)),
            ColumnType::DateTime { .. } => Ok(Value::DateTime(DateTime::parse(text)?)),
            ColumnType::Timestamp { .. } => Ok(Value::Timestamp(Timestamp::parse_utc(text)?)),
            ColumnType::Time { .. } => Ok(Value::Time(Time::parse(text)?)),
            ColumnType::Bit { width } => {
                if text.len() > 8 {
                    return Err(ValueError::invalid("BIT", text, "more than 8 bytes"));
                }
                let v = text.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64);
                Ok(Value::Bit(Bits::new(*width, v)?))
            }
            ColumnType::Enum { members, .. } => {
                if let Some(i) = members.iter().position(|m| m.as_ref() == text) {
                    Ok(Value::Enum(i as u16 + 1))
                } else if text.is_empty() {
                    Ok(Value::Enum(0))
                } else {
                    Err(unknown_member(ty, text))
                }
            }
            ColumnType::Set { members, .. } => {
                let mut bits = 0u64;
                for label in text.split(|&b| b == b',').filter(|l| !l.is_empty()) {
                    let i =
                        members.iter().position(|m| m.as_ref() == label).ok_or_else(|| unknown_member(ty, label))?;
                    bits |= 1 << i;
                }
                Ok(Value::Set(bits))
            }
            ColumnType::Char { charset, .. }
            | ColumnType::VarChar { charset, .. }
            | ColumnType::Text { charset, .. } => Ok(Value::String(Text::new(*charset, Bytes::copy_from_slice(text)))),
            ColumnType::Binary { .. } | ColumnType::VarBinary { .. } | ColumnType::Blob { .. } => {
                Ok(Value::Binary(Bytes::copy_from_slice(text)))
            }
            ColumnType::Json => Ok(Value::Json(Bytes::copy_from_slice(text))),
            ColumnType::Geometry => Ok(Value::Geometry(Geometry::from_internal(text)?)),
            ColumnType::TinyInt { .. }
            | ColumnType::SmallInt { .. }
            | ColumnType::MediumInt { .. }
            | ColumnType::Int { .. }
            | ColumnType::BigInt { .. } => unreachable!("integers handled above"),
        }
    }
}

fn utf8<'a>(text: &'a [u8], ty: &'static str) -> Result<&'a str, ValueError> {
    std::str::from_utf8(text).map_err(|_| ValueError::invalid(ty, text, "not ASCII text"))
}

fn unknown_member(ty: &ColumnType, label: &[u8]) -> ValueError {
    ValueError::UnknownMember { column_type: ty.to_string(), label: format!("{:?}", String::from_utf8_lossy(label)) }
}

/// Reads an integer and checks it fits `bits` bits of the given signedness.
pub(crate) fn integer(text: &[u8], bits: u32, unsigned: bool) -> Result<Value, ValueError> {
    let s = utf8(text, "integer")?;
    let bad = || ValueError::invalid("integer", text, "expected a decimal integer");
    if unsigned {
        let v: u64 = s.parse().map_err(|_| bad())?;
        checked_unsigned(v, bits)
    } else {
        let v: i64 = s.parse().map_err(|_| bad())?;
        checked_signed(v, bits)
    }
}

pub(crate) fn checked_unsigned(v: u64, bits: u32) -> Result<Value, ValueError> {
    if bits < 64 && v >> bits != 0 {
        return Err(ValueError::OutOfRange { ty: "unsigned integer", value: format!("{v} in {bits} bits") });
    }
    Ok(Value::UInt(v))
}

pub(crate) fn checked_signed(v: i64, bits: u32) -> Result<Value, ValueError> {
    let (min, max) = if bits == 64 { (i64::MIN, i64::MAX) } else { (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1) };
    if v < min || v > max {
        return Err(ValueError::OutOfRange { ty: "signed integer", value: format!("{v} in {bits} bits") });
    }
    Ok(Value::Int(v))
}

fn float(text: &[u8], ty: &'static str) -> Result<f64, ValueError> {
    let v: f64 = utf8(text, ty)?.parse().map_err(|_| ValueError::invalid(ty, text, "expected a number"))?;
    if v.is_finite() { Ok(v) } else { Err(ValueError::invalid(ty, text, "not a finite number")) }
}
