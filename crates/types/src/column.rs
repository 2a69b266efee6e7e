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
    Tiny,
    Regular,
    Medium,
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
    TinyInt {
        unsigned: bool,
    },
    SmallInt {
        unsigned: bool,
    },
    MediumInt {
        unsigned: bool,
    },
    Int {
        unsigned: bool,
    },
    BigInt {
        unsigned: bool,
    },
    Float,
    Double,
    Decimal {
        precision: u8,
        scale: u8,
    },
    Year,
    Date,
    /// `fsp`: fractional-second digits, 0..=6.
    Time {
        fsp: u8,
    },
    DateTime {
        fsp: u8,
    },
    Timestamp {
        fsp: u8,
    },
    /// BIT(width), width 1..=64.
    Bit {
        width: u8,
    },
    /// Members in definition order; index 1 is the first.
    Enum {
        members: Arc<[Bytes]>,
        charset: Charset,
    },
    /// Members in definition order; bit 0 is the first.
    Set {
        members: Arc<[Bytes]>,
        charset: Charset,
    },
    /// CHAR(length): length in characters.
    Char {
        length: u32,
        charset: Charset,
    },
    VarChar {
        length: u32,
        charset: Charset,
    },
    Text {
        size: LobSize,
        charset: Charset,
    },
    /// BINARY(length): length in bytes; shorter values are padded with 0x00.
    Binary {
        length: u32,
    },
    VarBinary {
        length: u32,
    },
    Blob {
        size: LobSize,
    },
    Json,
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
    pub name: Ident,
    pub ty: ColumnType,
    pub nullable: bool,
}

/// A table's shape as row changes need it: its columns in order and its primary key.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TableSchema {
    pub id: TableId,
    pub columns: Vec<ColumnDef>,
    /// Indexes into `columns`, in key order; empty when the table has no primary key.
    pub primary_key: Vec<usize>,
}

impl TableSchema {
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
