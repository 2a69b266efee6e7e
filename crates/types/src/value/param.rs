//! Values as bound parameters of prepared statements, and result-set values back into values.
//!
//! Strings are bound as their raw bytes, so they arrive unchanged only on a session whose
//! `character_set_client` is `binary` (or the column's own charset): see [`crate::session`].
//! Temporal values and DECIMALs are bound as their exact text, which the server converts with
//! the column's rules (TIMESTAMPs as UTC, hence `time_zone = '+00:00'`).

use mysql::Value as Param;

use super::text::{checked_signed, checked_unsigned};
use super::{Bits, Date, DateTime, Time, Timestamp, Value, ValueError};
use crate::column::ColumnType;

impl Value {
    /// The value as a bound parameter. Fails only for NaN and infinite floats.
    pub fn to_param(&self) -> Result<Param, ValueError> {
        Ok(match self {
            Value::Null => Param::NULL,
            Value::Int(v) => Param::Int(*v),
            Value::UInt(v) => Param::UInt(*v),
            Value::Float(v) if v.is_finite() => Param::Float(*v),
            Value::Double(v) if v.is_finite() => Param::Double(*v),
            Value::Float(v) => return Err(ValueError::NonFinite { kind: "FLOAT", value: v.to_string() }),
            Value::Double(v) => return Err(ValueError::NonFinite { kind: "DOUBLE", value: v.to_string() }),
            Value::Decimal(d) => Param::Bytes(d.as_str().as_bytes().to_vec()),
            Value::Date(d) => Param::Bytes(d.to_string().into_bytes()),
            Value::DateTime(d) => Param::Bytes(d.to_string().into_bytes()),
            Value::Timestamp(t) => Param::Bytes(t.to_string().into_bytes()),
            Value::Time(t) => Param::Bytes(t.to_string().into_bytes()),
            Value::Year(y) => Param::UInt(*y as u64),
            Value::Bit(b) => Param::UInt(b.value),
            Value::Enum(i) => Param::UInt(*i as u64),
            Value::Set(bits) => Param::UInt(*bits),
            Value::Json(j) => Param::Bytes(j.to_vec()),
            Value::Geometry(g) => Param::Bytes(g.to_internal()),
            Value::String(t) => Param::Bytes(t.bytes.to_vec()),
            Value::Binary(b) => Param::Bytes(b.to_vec()),
        })
    }

    /// Reads a result-set value (binary or text protocol) of a column of type `ty`.
    pub fn from_param(ty: &ColumnType, param: Param) -> Result<Value, ValueError> {
        let mismatch =
            |found: &Param| ValueError::TypeMismatch { column_type: ty.to_string(), found: format!("{found:?}") };
        match param {
            Param::NULL => Ok(Value::Null),
            Param::Bytes(b) => Value::from_text(ty, &b),
            Param::Int(v) => match (ty, ty.integer_bits()) {
                (_, Some((bits, false))) => checked_signed(v, bits),
                (_, Some((bits, true))) if v >= 0 => checked_unsigned(v as u64, bits),
                (ColumnType::Year, _) => Value::from_text(ty, v.to_string().as_bytes()),
                (ColumnType::Bit { width }, _) if v >= 0 => Ok(Value::Bit(Bits::new(*width, v as u64)?)),
                _ => Err(mismatch(&param)),
            },
            Param::UInt(v) => match (ty, ty.integer_bits()) {
                (_, Some((bits, true))) => checked_unsigned(v, bits),
                (_, Some((bits, false))) if v <= i64::MAX as u64 => checked_signed(v as i64, bits),
                (ColumnType::Year, _) => Value::from_text(ty, v.to_string().as_bytes()),
                (ColumnType::Bit { width }, _) => Ok(Value::Bit(Bits::new(*width, v)?)),
                _ => Err(mismatch(&param)),
            },
            Param::Float(f) => match ty {
                ColumnType::Float => Ok(Value::Float(f)),
                ColumnType::Double => Ok(Value::Double(f as f64)),
                _ => Err(mismatch(&param)),
            },
            Param::Double(d) => match ty {
                ColumnType::Double => Ok(Value::Double(d)),
                ColumnType::Float if (d as f32) as f64 == d || d.is_nan() => Ok(Value::Float(d as f32)),
                _ => Err(mismatch(&param)),
            },
            Param::Date(y, mo, d, h, mi, s, us) => {
                let date = Date::new(y, mo, d)?;
                match ty {
                    ColumnType::Date if (h, mi, s, us) == (0, 0, 0, 0) => Ok(Value::Date(date)),
                    ColumnType::DateTime { .. } => Ok(Value::DateTime(DateTime::new(date, h, mi, s, us)?)),
                    ColumnType::Timestamp { .. } => {
                        Ok(Value::Timestamp(Timestamp::from_utc(&DateTime::new(date, h, mi, s, us)?)?))
                    }
                    _ => Err(mismatch(&param)),
                }
            }
            Param::Time(neg, days, h, mi, s, us) => match ty {
                ColumnType::Time { .. } => {
                    let hours = days as u64 * 24 + h as u64;
                    let hours = u16::try_from(hours).map_err(|_| mismatch(&param))?;
                    Ok(Value::Time(Time::new(neg, hours, mi, s, us)?))
                }
                _ => Err(mismatch(&param)),
            },
        }
    }
}
