//! Column types and table shapes: what a value needs to be read and checked exactly.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::ident::{Ident, TableId};
use crate::value::Charset;

/// Size class of TEXT and BLOB columns.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum LobSize {
    /// TINYTEXT / TINYBLOB: up to 255 bytes.
    Tiny,
    /// TEXT / BLOB: up to 64 KiB.
    Regular,
    /// MEDIUMTEXT / MEDIUMBLOB: up to 16 MiB.
    Medium,
    /// LONGTEXT / LONGBLOB: up to 4 GiB.
    Long,
}

impl LobSize {
    /// Longest value in bytes.
    pub fn max_bytes(self) -> u64 {
        match self {
            LobSize::Tiny => (1 << 8) - 1,
            LobSize::Regular => (1 << 16) - 1,
            LobSize::Medium => (1 << 24) - 1,
            LobSize::Long => (1 << 32) - 1,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            LobSize::Tiny => "tiny",
            LobSize::Regular => "",
            LobSize::Medium => "medium",
            LobSize::Long => "long",
        }
    }
}

/// The SQL type of a column, with what is needed to read its values exactly.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ColumnType {
    /// TINYINT, 8 bits.
    TinyInt {
        /// UNSIGNED.
        unsigned: bool,
    },
    /// SMALLINT, 16 bits.
    SmallInt {
        /// UNSIGNED.
        unsigned: bool,
    },
    /// MEDIUMINT, 24 bits.
    MediumInt {
        /// UNSIGNED.
        unsigned: bool,
    },
    /// INT, 32 bits.
    Int {
        /// UNSIGNED.
        unsigned: bool,
    },
    /// BIGINT, 64 bits.
    BigInt {
        /// UNSIGNED.
        unsigned: bool,
    },
    /// FLOAT (single precision).
    Float,
    /// DOUBLE.
    Double,
    /// DECIMAL(precision, scale).
    Decimal {
        /// Total digits, 1..=65.
        precision: u8,
        /// Digits after the point, 0..=30.
        scale: u8,
    },
    /// YEAR.
    Year,
    /// DATE.
    Date,
    /// TIME(fsp): `fsp` fractional-second digits, 0..=6 (as for DATETIME and TIMESTAMP).
    Time {
        /// Fractional-second digits.
        fsp: u8,
    },
    /// DATETIME(fsp).
    DateTime {
        /// Fractional-second digits.
        fsp: u8,
    },
    /// TIMESTAMP(fsp).
    Timestamp {
        /// Fractional-second digits.
        fsp: u8,
    },
    /// BIT(width), width 1..=64.
    Bit {
        /// Bits.
        width: u8,
    },
    /// ENUM: members in definition order; index 1 is the first.
    Enum {
        /// The members' bytes, in `charset`.
        members: Arc<[Bytes]>,
        /// The column's charset.
        charset: Charset,
    },
    /// SET: members in definition order; bit 0 is the first.
    Set {
        /// The members' bytes, in `charset`.
        members: Arc<[Bytes]>,
        /// The column's charset.
        charset: Charset,
    },
    /// CHAR(length): length in characters.
    Char {
        /// Characters.
        length: u32,
        /// The column's charset.
        charset: Charset,
    },
    /// VARCHAR(length): length in characters.
    VarChar {
        /// Characters.
        length: u32,
        /// The column's charset.
        charset: Charset,
    },
    /// TINYTEXT, TEXT, MEDIUMTEXT or LONGTEXT.
    Text {
        /// Which of them.
        size: LobSize,
        /// The column's charset.
        charset: Charset,
    },
    /// BINARY(length): length in bytes; shorter values are padded with 0x00.
    Binary {
        /// Bytes.
        length: u32,
    },
    /// VARBINARY(length): length in bytes.
    VarBinary {
        /// Bytes.
        length: u32,
    },
    /// TINYBLOB, BLOB, MEDIUMBLOB or LONGBLOB.
    Blob {
        /// Which of them.
        size: LobSize,
    },
    /// JSON (MySQL's binary JSON; MariaDB's JSON is LONGTEXT).
    Json,
    /// GEOMETRY and its subtypes (POINT, POLYGON...).
    Geometry,
}

impl ColumnType {
    /// The signed/unsigned bit width of an integer type.
    pub fn integer_bits(&self) -> Option<(u32, bool)> {
        match *self {
            ColumnType::TinyInt { unsigned } => Some((8, unsigned)),
            ColumnType::SmallInt { unsigned } => Some((16, unsigned)),
            ColumnType::MediumInt { unsigned } => Some((24, unsigned)),
            ColumnType::Int { unsigned } => Some((32, unsigned)),
            ColumnType::BigInt { unsigned } => Some((64, unsigned)),
            _ => None,
        }
    }

    /// The charset of a non-binary string type.
    pub fn charset(&self) -> Option<Charset> {
        match self {
            ColumnType::Char { charset, .. }
            | ColumnType::VarChar { charset, .. }
            | ColumnType::Text { charset, .. }
            | ColumnType::Enum { charset, .. }
            | ColumnType::Set { charset, .. } => Some(*charset),
            _ => None,
        }
    }
}

/// The type as written in a column definition: `int unsigned`, `decimal(10,2)`,
/// `varchar(20) CHARACTER SET latin1`, `enum('a','b') CHARACTER SET utf8mb4`.
impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ColumnType::*;
        let unsigned = |u: bool| if u { " unsigned" } else { "" };
        match self {
            TinyInt { unsigned: u } => write!(f, "tinyint{}", unsigned(*u)),
            SmallInt { unsigned: u } => write!(f, "smallint{}", unsigned(*u)),
            MediumInt { unsigned: u } => write!(f, "mediumint{}", unsigned(*u)),
            Int { unsigned: u } => write!(f, "int{}", unsigned(*u)),
            BigInt { unsigned: u } => write!(f, "bigint{}", unsigned(*u)),
            Float => f.write_str("float"),
            Double => f.write_str("double"),
            Decimal { precision, scale } => write!(f, "decimal({precision},{scale})"),
            Year => f.write_str("year"),
            Date => f.write_str("date"),
            Time { fsp } => write!(f, "time({fsp})"),
            DateTime { fsp } => write!(f, "datetime({fsp})"),
            Timestamp { fsp } => write!(f, "timestamp({fsp})"),
            Bit { width } => write!(f, "bit({width})"),
            Enum { members, charset } | Set { members, charset } => {
                f.write_str(if matches!(self, Enum { .. }) { "enum(" } else { "set(" })?;
                for (i, m) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    let mut s = String::new();
                    crate::value::push_member_literal(&mut s, m, *charset);
                    f.write_str(&s)?;
                }
                write!(f, ") CHARACTER SET {charset}")
            }
            Char { length, charset } => write!(f, "char({length}) CHARACTER SET {charset}"),
            VarChar { length, charset } => write!(f, "varchar({length}) CHARACTER SET {charset}"),
            Text { size, charset } => write!(f, "{}text CHARACTER SET {charset}", size.prefix()),
            Binary { length } => write!(f, "binary({length})"),
            VarBinary { length } => write!(f, "varbinary({length})"),
            Blob { size } => write!(f, "{}blob", size.prefix()),
            Json => f.write_str("json"),
            Geometry => f.write_str("geometry"),
        }
    }
}

/// A column of a table: name, type, nullability.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ColumnDef {
    /// The column's name.
    pub name: Ident,
    /// Its type.
    pub ty: ColumnType,
    /// Whether it accepts NULL.
    pub nullable: bool,
}

/// A table's shape as row changes need it: its columns in order and its primary key.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TableSchema {
    /// The table's database and name.
    pub id: TableId,
    /// Its columns, in table order.
    pub columns: Vec<ColumnDef>,
    /// Indexes into `columns`, in key order; empty when the table has no primary key.
    pub primary_key: Vec<usize>,
}

impl TableSchema {
    /// The position of the column named `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_render_as_column_definitions() {
        let members: Arc<[Bytes]> = vec![Bytes::from_static(b"a"), Bytes::from_static(b"it's")].into();
        let cases = [
            (ColumnType::BigInt { unsigned: true }, "bigint unsigned"),
            (ColumnType::Decimal { precision: 65, scale: 30 }, "decimal(65,30)"),
            (ColumnType::Timestamp { fsp: 6 }, "timestamp(6)"),
            (ColumnType::Enum { members, charset: Charset::LATIN1 }, "enum('a','it''s') CHARACTER SET latin1"),
            (ColumnType::Text { size: LobSize::Medium, charset: Charset::UTF8MB4 }, "mediumtext CHARACTER SET utf8mb4"),
            (ColumnType::Blob { size: LobSize::Regular }, "blob"),
            (ColumnType::Binary { length: 4 }, "binary(4)"),
        ];
        for (ty, sql) in cases {
            assert_eq!(ty.to_string(), sql);
        }
    }
}
