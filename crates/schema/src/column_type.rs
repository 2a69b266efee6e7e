//! Column types from information_schema (`COLUMN_TYPE`, `CHARACTER_SET_NAME`) into the value
//! model's [`ColumnType`], so values of a table whose binlog carries no metadata, or read by a
//! full copy, are decoded exactly.

use std::sync::Arc;

use bytes::Bytes;
use dts_types::{Charset, ColumnType, LobSize};

use crate::lexer::{Kind, lex};

/// Why a column type is not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column type {column_type:?} is not supported: {reason}")]
pub struct TypeError {
    /// The type as information_schema gives it.
    pub column_type: String,
    /// What is not supported.
    pub reason: String,
}

/// Parses `int(10) unsigned`, `decimal(12,2)`, `varchar(20)`, `enum('a','b')`, `datetime(6)`...
/// `charset` is the column's CHARACTER_SET_NAME (NULL for non-character types).
pub fn parse_column_type(column_type: &str, charset: Option<&str>) -> Result<ColumnType, TypeError> {
    let err = |reason: &str| TypeError { column_type: column_type.into(), reason: reason.into() };
    let lower = column_type.to_ascii_lowercase();
    let unsigned = lower.contains(" unsigned");
    let base: String = lower.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    let args: Vec<u32> = lower
        .split_once('(')
        .and_then(|(_, r)| r.split_once(')'))
        .map(|(a, _)| a.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_default();
    let arg = |i: usize, default: u32| args.get(i).copied().unwrap_or(default);
    let cs = || -> Result<Charset, TypeError> {
        let name = charset.ok_or_else(|| err("a character type without a character set"))?;
        Charset::from_name(name).ok_or_else(|| err(&format!("unknown character set {name}")))
    };
    let text_or_binary = |binary: ColumnType, text: fn(Charset) -> ColumnType| -> Result<ColumnType, TypeError> {
        match charset {
            None | Some("binary") => Ok(binary),
            Some(_) => Ok(text(cs()?)),
        }
    };
    Ok(match base.as_str() {
        "tinyint" | "bool" | "boolean" => ColumnType::TinyInt { unsigned },
        "smallint" => ColumnType::SmallInt { unsigned },
        "mediumint" => ColumnType::MediumInt { unsigned },
        "int" | "integer" => ColumnType::Int { unsigned },
        "bigint" => ColumnType::BigInt { unsigned },
        "float" => ColumnType::Float,
        "double" | "real" => ColumnType::Double,
        "decimal" | "numeric" => ColumnType::Decimal { precision: arg(0, 10) as u8, scale: arg(1, 0) as u8 },
        "year" => ColumnType::Year,
        "date" => ColumnType::Date,
        "time" => ColumnType::Time { fsp: arg(0, 0) as u8 },
        "datetime" => ColumnType::DateTime { fsp: arg(0, 0) as u8 },
        "timestamp" => ColumnType::Timestamp { fsp: arg(0, 0) as u8 },
        "bit" => ColumnType::Bit { width: arg(0, 1) as u8 },
        "enum" | "set" => {
            let list = &column_type[column_type.find('(').ok_or_else(|| err("no member list"))?..];
            let tokens = lex(list, false).map_err(|e| err(&e.to_string()))?;
            let members: Arc<[Bytes]> =
                tokens.iter().filter(|t| t.kind == Kind::Str).map(|t| Bytes::from(unquote(&t.text))).collect();
            let charset = cs()?;
            if base == "enum" { ColumnType::Enum { members, charset } } else { ColumnType::Set { members, charset } }
        }
        "char" => {
            text_or_binary(ColumnType::Binary { length: arg(0, 1) }, |c| ColumnType::Char { length: 0, charset: c })
                .map(|t| with_length(t, arg(0, 1)))?
        }
        "varchar" => text_or_binary(ColumnType::VarBinary { length: arg(0, 0) }, |c| ColumnType::VarChar {
            length: 0,
            charset: c,
        })
        .map(|t| with_length(t, arg(0, 0)))?,
        "binary" => ColumnType::Binary { length: arg(0, 1) },
        "varbinary" => ColumnType::VarBinary { length: arg(0, 0) },
        "tinytext" => ColumnType::Text { size: LobSize::Tiny, charset: cs()? },
        "text" => ColumnType::Text { size: LobSize::Regular, charset: cs()? },
        "mediumtext" => ColumnType::Text { size: LobSize::Medium, charset: cs()? },
        "longtext" => ColumnType::Text { size: LobSize::Long, charset: cs()? },
        "tinyblob" => ColumnType::Blob { size: LobSize::Tiny },
        "blob" => ColumnType::Blob { size: LobSize::Regular },
        "mediumblob" => ColumnType::Blob { size: LobSize::Medium },
        "longblob" => ColumnType::Blob { size: LobSize::Long },
        "json" => ColumnType::Json,
        "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring" | "multipolygon"
        | "geometrycollection" | "geomcollection" => ColumnType::Geometry,
        other => return Err(err(&format!("unknown type {other}"))),
    })
}

fn with_length(t: ColumnType, length: u32) -> ColumnType {
    match t {
        ColumnType::Char { charset, .. } => ColumnType::Char { length, charset },
        ColumnType::VarChar { charset, .. } => ColumnType::VarChar { length, charset },
        other => other,
    }
}

/// The bytes of a quoted ENUM/SET member as information_schema shows it (`'it''s'`).
fn unquote(lit: &str) -> Vec<u8> {
    let inner = &lit[1..lit.len() - 1];
    let mut out = Vec::with_capacity(inner.len());
    let b = inner.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' if b.get(i + 1) == Some(&b'\'') => {
                out.push(b'\'');
                i += 2;
            }
            b'\\' if i + 1 < b.len() => {
                out.push(match b[i + 1] {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'0' => 0,
                    x => x,
                });
                i += 2;
            }
            x => {
                out.push(x);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn information_schema_types() {
        assert_eq!(parse_column_type("int(10) unsigned", None).unwrap(), ColumnType::Int { unsigned: true });
        assert_eq!(
            parse_column_type("decimal(65,30)", None).unwrap(),
            ColumnType::Decimal { precision: 65, scale: 30 }
        );
        assert_eq!(
            parse_column_type("varchar(20)", Some("latin1")).unwrap(),
            ColumnType::VarChar { length: 20, charset: Charset::LATIN1 }
        );
        assert_eq!(parse_column_type("varbinary(20)", None).unwrap(), ColumnType::VarBinary { length: 20 });
        assert_eq!(parse_column_type("datetime(6)", None).unwrap(), ColumnType::DateTime { fsp: 6 });
        match parse_column_type("enum('a','it''s','x,y')", Some("utf8mb4")).unwrap() {
            ColumnType::Enum { members, .. } => {
                assert_eq!(
                    members.iter().map(|m| m.to_vec()).collect::<Vec<_>>(),
                    [b"a".to_vec(), b"it's".to_vec(), b"x,y".to_vec()]
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_column_type("vector(3)", None).is_err());
    }
}
