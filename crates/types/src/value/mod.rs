//! The exact value model: one [`Value`] for every MySQL/MariaDB column value, without loss.
//!
//! | column type                          | value                                   |
//! |--------------------------------------|-----------------------------------------|
//! | TINYINT..BIGINT signed / unsigned    | [`Value::Int`] i64 / [`Value::UInt`] u64 |
//! | FLOAT / DOUBLE                       | [`Value::Float`] f32 / [`Value::Double`] f64, bit-exact |
//! | DECIMAL                              | [`Value::Decimal`], exact digits         |
//! | DATE, DATETIME, TIMESTAMP, TIME      | [`Date`], [`DateTime`], [`Timestamp`] (UTC instant), [`Time`] |
//! | YEAR                                 | [`Value::Year`] (0 or 1901..=2155)       |
//! | BIT(n)                               | [`Bits`]                                 |
//! | ENUM / SET                           | member index (1-based; 0 is the error value) / member bitmask |
//! | JSON                                 | [`Value::Json`], UTF-8 JSON text         |
//! | GEOMETRY and subtypes                | [`Geometry`]: SRID + WKB                 |
//! | CHAR, VARCHAR, TEXT                  | [`Text`]: bytes + [`Charset`]            |
//! | BINARY, VARBINARY, BLOB              | [`Value::Binary`], bytes                 |
//!
//! Values turn into SQL literals ([`Value::write_sql_literal`]) and bound parameters
//! ([`Value::to_param`]) byte-exactly, and are read back from literals, from the servers' text
//! form and from result-set values given the column's [`ColumnType`](crate::ColumnType).

mod charset;
mod decimal;
mod literal;
mod param;
pub mod samples;
mod temporal;
mod text;
mod unicode;

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

pub use charset::Charset;
pub use decimal::{Decimal, MAX_DECIMAL_DIGITS};
pub use temporal::{Date, DateTime, MAX_TIME_HOURS, Time, Timestamp};
pub use unicode::DecodeError;

pub(crate) use literal::push_member_literal;

/// One column value.
///
/// Equality is exact: floats compare by their bits (so `-0.0 != 0.0`), strings by their bytes
/// and charset, DECIMALs by their digits and scale.
#[derive(Clone, Serialize, Deserialize)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A signed integer column's value.
    Int(i64),
    /// An unsigned integer column's value.
    UInt(u64),
    /// FLOAT.
    Float(f32),
    /// DOUBLE.
    Double(f64),
    /// DECIMAL.
    Decimal(Decimal),
    /// DATE.
    Date(Date),
    /// DATETIME.
    DateTime(DateTime),
    /// TIMESTAMP.
    Timestamp(Timestamp),
    /// TIME.
    Time(Time),
    /// YEAR: 0 or 1901..=2155.
    Year(u16),
    /// BIT(n).
    Bit(Bits),
    /// ENUM: the member's index, 1-based (0 is the error value).
    Enum(u16),
    /// SET: one bit per member, bit 0 for the first.
    Set(u64),
    /// JSON, as UTF-8 JSON text.
    Json(Bytes),
    /// GEOMETRY and its subtypes.
    Geometry(Geometry),
    /// CHAR, VARCHAR, TEXT.
    String(Text),
    /// BINARY, VARBINARY, BLOB.
    Binary(Bytes),
}

impl Value {
    /// The kind of value, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Int(_) => "signed integer",
            Value::UInt(_) => "unsigned integer",
            Value::Float(_) => "FLOAT",
            Value::Double(_) => "DOUBLE",
            Value::Decimal(_) => "DECIMAL",
            Value::Date(_) => "DATE",
            Value::DateTime(_) => "DATETIME",
            Value::Timestamp(_) => "TIMESTAMP",
            Value::Time(_) => "TIME",
            Value::Year(_) => "YEAR",
            Value::Bit(_) => "BIT",
            Value::Enum(_) => "ENUM",
            Value::Set(_) => "SET",
            Value::Json(_) => "JSON",
            Value::Geometry(_) => "GEOMETRY",
            Value::String(_) => "string",
            Value::Binary(_) => "binary string",
        }
    }

    /// Whether it is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether it is an ENUM's index 0 (the `''` of an invalid member), which strict mode
    /// refuses to write: see [`crate::session::allowing_enum_zero`].
    pub fn is_enum_zero(&self) -> bool {
        matches!(self, Value::Enum(0))
    }

    /// Bytes this value takes in a row image, roughly: for buffer sizing and throttling.
    pub fn approx_size(&self) -> usize {
        match self {
            Value::Json(b) | Value::Binary(b) => b.len(),
            Value::String(t) => t.bytes.len(),
            Value::Geometry(g) => g.wkb.len() + 4,
            Value::Decimal(d) => d.as_str().len(),
            _ => 8,
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Int(a), Int(b)) => a == b,
            (UInt(a), UInt(b)) => a == b,
            (Float(a), Float(b)) => a.to_bits() == b.to_bits(),
            (Double(a), Double(b)) => a.to_bits() == b.to_bits(),
            (Decimal(a), Decimal(b)) => a == b,
            (Date(a), Date(b)) => a == b,
            (DateTime(a), DateTime(b)) => a == b,
            (Timestamp(a), Timestamp(b)) => a == b,
            (Time(a), Time(b)) => a == b,
            (Year(a), Year(b)) => a == b,
            (Bit(a), Bit(b)) => a == b,
            (Enum(a), Enum(b)) => a == b,
            (Set(a), Set(b)) => a == b,
            (Json(a), Json(b)) => a == b,
            (Geometry(a), Geometry(b)) => a == b,
            (String(a), String(b)) => a == b,
            (Binary(a), Binary(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Value::*;
        match self {
            Null => f.write_str("Null"),
            Int(v) => write!(f, "Int({v})"),
            UInt(v) => write!(f, "UInt({v})"),
            Float(v) => write!(f, "Float({v:e} bits={:#010x})", v.to_bits()),
            Double(v) => write!(f, "Double({v:e} bits={:#018x})", v.to_bits()),
            Decimal(v) => v.fmt(f),
            Date(v) => v.fmt(f),
            DateTime(v) => v.fmt(f),
            Timestamp(v) => v.fmt(f),
            Time(v) => v.fmt(f),
            Year(v) => write!(f, "Year({v})"),
            Bit(v) => v.fmt(f),
            Enum(v) => write!(f, "Enum(#{v})"),
            Set(v) => write!(f, "Set({v:#b})"),
            Json(v) => write!(f, "Json({:?})", std::string::String::from_utf8_lossy(v)),
            Geometry(v) => v.fmt(f),
            String(v) => v.fmt(f),
            Binary(v) => write!(f, "Binary({})", hex(v)),
        }
    }
}

/// A BIT(n) value: `n` (1..=64) and the bits, right-aligned.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Bits {
    /// Bits in the column, 1..=64.
    pub width: u8,
    /// The bits, right-aligned.
    pub value: u64,
}

impl Bits {
    /// Checks that `value` fits in `width` bits.
    pub fn new(width: u8, value: u64) -> Result<Bits, ValueError> {
        if !(1..=64).contains(&width) || (width < 64 && value >> width != 0) {
            return Err(ValueError::OutOfRange { ty: "BIT", value: format!("{value:#b} in BIT({width})") });
        }
        Ok(Bits { width, value })
    }

    /// The big-endian bytes the servers use for BIT(n): `ceil(n/8)` of them.
    pub fn to_bytes(&self) -> Vec<u8> {
        let n = (self.width as usize).div_ceil(8);
        self.value.to_be_bytes()[8 - n..].to_vec()
    }
}

impl fmt::Debug for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bit({}:{:0w$b})", self.width, self.value, w = self.width as usize)
    }
}

/// A spatial value: SRID and well-known binary, as the servers store it.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Geometry {
    /// The spatial reference system id.
    pub srid: u32,
    /// The shape as well-known binary.
    pub wkb: Bytes,
}

impl Geometry {
    /// Reads the servers' internal form: the SRID as 4 little-endian bytes, then the WKB.
    pub fn from_internal(bytes: &[u8]) -> Result<Geometry, ValueError> {
        if bytes.len() < 4 + 5 {
            return Err(ValueError::invalid("GEOMETRY", bytes, "shorter than SRID + WKB header"));
        }
        let srid = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"));
        Ok(Geometry { srid, wkb: Bytes::copy_from_slice(&bytes[4..]) })
    }

    /// The servers' internal form: SRID (4 bytes, little-endian) followed by the WKB.
    pub fn to_internal(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.wkb.len());
        out.extend_from_slice(&self.srid.to_le_bytes());
        out.extend_from_slice(&self.wkb);
        out
    }
}

impl fmt::Debug for Geometry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Geometry(srid={} wkb={})", self.srid, hex(&self.wkb))
    }
}

/// A non-binary string: its bytes exactly as stored, and the charset they are in.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Text {
    /// The charset `bytes` are in.
    pub charset: Charset,
    /// The bytes as stored.
    pub bytes: Bytes,
}

impl Text {
    /// A string of `bytes` in `charset`.
    pub fn new(charset: Charset, bytes: impl Into<Bytes>) -> Text {
        Text { charset, bytes: bytes.into() }
    }

    /// A utf8mb4 string.
    pub fn utf8mb4(s: &str) -> Text {
        Text::new(Charset::UTF8MB4, Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(&self.bytes) {
            Ok(s) if self.charset.is_utf8() => write!(f, "{}{s:?}", self.charset),
            _ => write!(f, "{} x'{}'", self.charset, hex(&self.bytes)),
        }
    }
}

/// Why a value could not be built, read or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The text or bytes are not a value of the type.
    #[error("invalid {ty} value {text}: {reason}")]
    Invalid {
        /// The type.
        ty: &'static str,
        /// What was read.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The value is outside the type's range.
    #[error("{ty} value {value} is out of range")]
    OutOfRange {
        /// The type.
        ty: &'static str,
        /// The value.
        value: String,
    },
    /// A NaN or infinite float.
    #[error("{kind} value {value} cannot be stored in MySQL or MariaDB, which have no NaN or infinity")]
    NonFinite {
        /// FLOAT or DOUBLE.
        kind: &'static str,
        /// The value.
        value: String,
    },
    /// The value is of another kind than the column.
    #[error("a {found} value does not fit a column of type {column_type}")]
    TypeMismatch {
        /// The column's type.
        column_type: String,
        /// The value's kind.
        found: String,
    },
    /// An ENUM or SET label that is not a member.
    #[error("{label} is not a member of {column_type}")]
    UnknownMember {
        /// The column's type.
        column_type: String,
        /// The label.
        label: String,
    },
}

impl ValueError {
    /// An `Invalid` error quoting (a bounded prefix of) the offending text.
    pub(crate) fn invalid(ty: &'static str, text: &[u8], reason: &str) -> ValueError {
        const SHOWN: usize = 64;
        let shown = &text[..text.len().min(SHOWN)];
        let mut t = format!("{:?}", String::from_utf8_lossy(shown));
        if text.len() > SHOWN {
            t.push_str(&format!(" (first {SHOWN} of {} bytes)", text.len()));
        }
        ValueError::Invalid { ty, text: t, reason: reason.to_string() }
    }

    pub(crate) fn retyped(self, new_ty: &'static str) -> ValueError {
        match self {
            ValueError::Invalid { text, reason, .. } => ValueError::Invalid { ty: new_ty, text, reason },
            ValueError::OutOfRange { value, .. } => ValueError::OutOfRange { ty: new_ty, value },
            other => other,
        }
    }
}

/// Upper-case hex digits of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
}
