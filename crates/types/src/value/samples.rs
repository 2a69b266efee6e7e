//! Edge values of every column type, for tests and benchmarks across the workspace.
//!
//! Each case is a column type and values at its limits: extremes, zero and negative zero,
//! zero dates, the longest TIME, every charset shape of a string. Only values a server can
//! store are here: MariaDB stores a negative zero FLOAT or DOUBLE as positive zero, so no
//! source holds one (the literal renderer still writes `-0e0` exactly; see its unit tests). The same catalog drives the
//! unit tests of literal rendering and the real-server round-trip tests.

use std::sync::Arc;

use bytes::Bytes;

use super::{Bits, Charset, Date, DateTime, Decimal, Geometry, Text, Time, Timestamp, Value};
use crate::column::{ColumnType, LobSize};

/// One column type with edge values of it.
#[derive(Debug, Clone)]
pub struct Case {
    /// A short name, usable as a column name.
    pub name: &'static str,
    /// The column type.
    pub ty: ColumnType,
    /// Its edge values.
    pub values: Vec<Value>,
}

fn case(name: &'static str, ty: ColumnType, values: Vec<Value>) -> Case {
    Case { name, ty, values }
}

fn dt(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, us: u32) -> DateTime {
    DateTime::new(Date::new(y, mo, d).unwrap(), h, mi, s, us).unwrap()
}

fn dec(s: &str) -> Value {
    Value::Decimal(Decimal::parse(s).unwrap())
}

fn text(cs: &str, b: &[u8]) -> Value {
    Value::String(Text::new(Charset::from_name(cs).unwrap(), Bytes::copy_from_slice(b)))
}

fn linestring_wkb(points: &[(f64, f64)]) -> Bytes {
    let mut w = vec![1u8, 2, 0, 0, 0];
    w.extend_from_slice(&(points.len() as u32).to_le_bytes());
    for (x, y) in points {
        w.extend_from_slice(&x.to_le_bytes());
        w.extend_from_slice(&y.to_le_bytes());
    }
    Bytes::from(w)
}

fn point_wkb(x: f64, y: f64) -> Bytes {
    let mut w = vec![1u8, 1, 0, 0, 0];
    w.extend_from_slice(&x.to_le_bytes());
    w.extend_from_slice(&y.to_le_bytes());
    Bytes::from(w)
}

/// Edge values of every column type, with a NULL in each case.
pub fn edge_cases() -> Vec<Case> {
    use ColumnType as T;
    use Value as V;
    let members = |m: &[&str]| -> Arc<[Bytes]> { m.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect() };
    let set64: Arc<[Bytes]> = (0..64).map(|i| Bytes::from(format!("m{i}"))).collect();
    // 30 levels of nesting (MariaDB allows 32), and an array of about 100 KB.
    let deep_json = format!("{}1{}", r#"{"a": ["#.repeat(15), "]}".repeat(15));
    let large_json = format!("[{}]", (0..10_000).map(|i| format!("\"v{i:05}\"")).collect::<Vec<_>>().join(", "));
    let mut cases = vec![
        case("ti", T::TinyInt { unsigned: false }, vec![V::Int(-128), V::Int(127), V::Int(0)]),
        case("tiu", T::TinyInt { unsigned: true }, vec![V::UInt(0), V::UInt(255)]),
        case("si", T::SmallInt { unsigned: false }, vec![V::Int(-32768), V::Int(32767)]),
        case("siu", T::SmallInt { unsigned: true }, vec![V::UInt(65535)]),
        case("mi", T::MediumInt { unsigned: false }, vec![V::Int(-8_388_608), V::Int(8_388_607)]),
        case("miu", T::MediumInt { unsigned: true }, vec![V::UInt(16_777_215)]),
        case("i", T::Int { unsigned: false }, vec![V::Int(i32::MIN as i64), V::Int(i32::MAX as i64)]),
        case("iu", T::Int { unsigned: true }, vec![V::UInt(u32::MAX as u64)]),
        case("bi", T::BigInt { unsigned: false }, vec![V::Int(i64::MIN), V::Int(i64::MAX), V::Int(-1)]),
        case("biu", T::BigInt { unsigned: true }, vec![V::UInt(u64::MAX), V::UInt(1 << 63), V::UInt(0)]),
        case(
            "f",
            T::Float,
            vec![
                V::Float(0.0),
                V::Float(1.1),
                V::Float(-3.402_823_5e38),
                V::Float(f32::MAX),
                V::Float(f32::MIN_POSITIVE),
                V::Float(1.0000001),
                V::Float(16_777_217.0),
                V::Float(std::f32::consts::PI),
            ],
        ),
        case(
            "d",
            T::Double,
            vec![
                V::Double(0.0),
                V::Double(0.1),
                V::Double(f64::MAX),
                V::Double(-f64::MAX),
                V::Double(f64::MIN_POSITIVE),
                V::Double(2.2250738585072014e-308),
                V::Double(5e-324),
                V::Double(1.0000000000000002),
                V::Double(9_007_199_254_740_993.0),
                V::Double(std::f64::consts::E),
            ],
        ),
        case(
            "dec",
            T::Decimal { precision: 65, scale: 30 },
            vec![
                dec(&format!("{}.{}", "9".repeat(35), "9".repeat(30))),
                dec(&format!("-{}.{}", "9".repeat(35), "9".repeat(30))),
                dec(&format!("0.{}1", "0".repeat(29))),
                dec(&format!("0.{}", "0".repeat(30))),
                dec(&format!("-1.{}", "5".repeat(30))),
            ],
        ),
        case(
            "dec0",
            T::Decimal { precision: 20, scale: 0 },
            vec![dec("-99999999999999999999"), dec("0"), dec("18446744073709551616")],
        ),
        case("y", T::Year, vec![V::Year(0), V::Year(1901), V::Year(2155), V::Year(2000)]),
        case(
            "dt_d",
            T::Date,
            vec![
                V::Date(Date::ZERO),
                V::Date(Date::new(2024, 0, 15).unwrap()),
                V::Date(Date::new(2024, 7, 0).unwrap()),
                V::Date(Date::new(1000, 1, 1).unwrap()),
                V::Date(Date::new(9999, 12, 31).unwrap()),
                V::Date(Date::new(2023, 2, 31).unwrap()),
                V::Date(Date::new(2024, 2, 29).unwrap()),
            ],
        ),
        case(
            "dt",
            T::DateTime { fsp: 6 },
            vec![
                V::DateTime(DateTime::ZERO),
                V::DateTime(dt(2024, 0, 0, 0, 0, 0, 0)),
                V::DateTime(dt(1000, 1, 1, 0, 0, 0, 0)),
                V::DateTime(dt(9999, 12, 31, 23, 59, 59, 999_999)),
                V::DateTime(dt(2024, 3, 10, 2, 30, 0, 1)),
            ],
        ),
        case(
            "ts",
            T::Timestamp { fsp: 6 },
            vec![
                V::Timestamp(Timestamp::ZERO),
                V::Timestamp(Timestamp::new(1, 0).unwrap()),
                V::Timestamp(Timestamp::new(i32::MAX as u32, 999_999).unwrap()),
                V::Timestamp(Timestamp::new(1_710_037_800, 123_456).unwrap()),
                // Second 0 with a fraction: stored from a session east of UTC.
                V::Timestamp(Timestamp::new(0, 1).unwrap()),
                V::Timestamp(Timestamp::new(0, 999_999).unwrap()),
            ],
        ),
        case(
            "tm",
            T::Time { fsp: 6 },
            vec![
                V::Time(Time::new(true, 838, 59, 59, 999_999).unwrap()),
                V::Time(Time::new(false, 838, 59, 59, 999_999).unwrap()),
                V::Time(Time::new(false, 0, 0, 0, 0).unwrap()),
                V::Time(Time::new(true, 0, 0, 0, 1).unwrap()),
                V::Time(Time::new(false, 24, 0, 0, 0).unwrap()),
                V::Time(Time::new(true, 100, 30, 0, 500_000).unwrap()),
            ],
        ),
        case("b1", T::Bit { width: 1 }, vec![V::Bit(Bits::new(1, 0).unwrap()), V::Bit(Bits::new(1, 1).unwrap())]),
        case(
            "b64",
            T::Bit { width: 64 },
            vec![
                V::Bit(Bits::new(64, u64::MAX).unwrap()),
                V::Bit(Bits::new(64, 1 << 63).unwrap()),
                V::Bit(Bits::new(64, 0).unwrap()),
            ],
        ),
        case(
            "b13",
            T::Bit { width: 13 },
            vec![V::Bit(Bits::new(13, 0x1FFF).unwrap()), V::Bit(Bits::new(13, 0x100).unwrap())],
        ),
        case(
            "e",
            T::Enum { members: members(&["a", "it's", "Ünï", "z z"]), charset: Charset::UTF8MB4 },
            // Index 0: the '' a non-strict session stores for an invalid member.
            vec![V::Enum(1), V::Enum(2), V::Enum(3), V::Enum(4), V::Enum(0)],
        ),
        case(
            "st",
            T::Set { members: members(&["a", "b", "c", "d"]), charset: Charset::UTF8MB4 },
            vec![V::Set(0), V::Set(1), V::Set(0b1010), V::Set(0b1111)],
        ),
        case(
            "st64",
            T::Set { members: set64.clone(), charset: Charset::UTF8MB4 },
            vec![V::Set(u64::MAX), V::Set(1 << 63), V::Set(0x5555_5555_5555_5555)],
        ),
        case(
            "vc",
            T::VarChar { length: 64, charset: Charset::UTF8MB4 },
            vec![
                text("utf8mb4", b""),
                text("utf8mb4", "it's a \"test\"".as_bytes()),
                text("utf8mb4", "😀 emoji, 中文, ünïcödé".as_bytes()),
                text("utf8mb4", b"back\\slash"),
                text("utf8mb4", b"nul\0tab\tnewline\ncr\rctrlz\x1a"),
                text("utf8mb4", b"trailing spaces   "),
                text("utf8mb4", b"'; DROP TABLE t; --"),
            ],
        ),
        case(
            "l1",
            T::VarChar { length: 32, charset: Charset::LATIN1 },
            vec![text("latin1", b"caf\xe9"), text("latin1", b"plain ascii"), text("latin1", b"\xff\xfe\x80")],
        ),
        case(
            "gbk",
            T::VarChar { length: 16, charset: Charset::from_name("gbk").unwrap() },
            vec![text("gbk", b"\xd6\xd0\xce\xc4"), text("gbk", b"\xd5\x5c")],
        ),
        case(
            "c",
            T::Char { length: 8, charset: Charset::from_name("ascii").unwrap() },
            // The server strips a CHAR's trailing spaces (it pads them back): leading and inner
            // spaces are what it holds.
            vec![text("ascii", b"x"), text("ascii", b"12345678"), text("ascii", b"  a  b"), text("ascii", b"")],
        ),
        case(
            "c8",
            T::Char { length: 4, charset: Charset::UTF8MB4 },
            vec![text("utf8mb4", " é😀".as_bytes()), text("utf8mb4", b"	")],
        ),
        case(
            "ucs2",
            T::VarChar { length: 8, charset: Charset::from_name("ucs2").unwrap() },
            vec![text("ucs2", b"\x00a\x4e\x2d\xff\xfd"), text("ucs2", b"")],
        ),
        case(
            "u32",
            T::VarChar { length: 8, charset: Charset::from_name("utf32").unwrap() },
            vec![text("utf32", b"\x00\x00\x00a\x00\x01\xf6\x00\x00\x10\xff\xfd")],
        ),
        case(
            "big5",
            T::VarChar { length: 8, charset: Charset::from_name("big5").unwrap() },
            vec![text("big5", b"\xa4\xa4\xa4\xe5"), text("big5", b"\xa5\\")],
        ),
        case(
            "sjis",
            T::VarChar { length: 8, charset: Charset::from_name("sjis").unwrap() },
            vec![text("sjis", b"\x93\xfa\x96\x7b"), text("sjis", b"\x95\\\x83\x5c")],
        ),
        case(
            "cp1251",
            T::VarChar { length: 8, charset: Charset::from_name("cp1251").unwrap() },
            vec![text("cp1251", b"\xcf\xf0\xe8\xe2\xe5\xf2"), text("cp1251", b"\x80\xff")],
        ),
        case(
            "txt",
            T::Text { size: LobSize::Regular, charset: Charset::UTF8MB4 },
            vec![text("utf8mb4", "long ".repeat(200).as_bytes())],
        ),
        case(
            "u16",
            T::VarChar { length: 8, charset: Charset::from_name("utf16").unwrap() },
            vec![text("utf16", b"\x00a\xd8\x3d\xde\x00")],
        ),
        case(
            "bn",
            T::Binary { length: 4 },
            vec![
                V::Binary(Bytes::from_static(b"\x00\x00\x00\x00")),
                V::Binary(Bytes::from_static(b"a\x00\x00\x00")),
                V::Binary(Bytes::from_static(b"\xff\x00\x01\x00")),
            ],
        ),
        case(
            "vb",
            T::VarBinary { length: 16 },
            vec![
                V::Binary(Bytes::new()),
                V::Binary(Bytes::from_static(b"\x00")),
                V::Binary(Bytes::from_static(b"'\\\"\x00\x1a\xff")),
            ],
        ),
        case(
            "blb",
            T::Blob { size: LobSize::Medium },
            vec![V::Binary(Bytes::from((0..=255u8).cycle().take(70_000).collect::<Vec<u8>>()))],
        ),
        case(
            "j",
            T::Json,
            vec![
                V::Json(Bytes::from_static(br#"{"a": [1, 2.5, "x"], "b": null}"#)),
                V::Json(Bytes::from_static("\"ünï \\\" \\\\ 😀\"".as_bytes())),
                V::Json(Bytes::from_static(b"[]")),
                V::Json(Bytes::from_static(b"{}")),
                V::Json(Bytes::from_static(b"true")),
                V::Json(Bytes::from_static(b"false")),
                V::Json(Bytes::from_static(b"null")),
                V::Json(Bytes::from_static(b"-1.5e300")),
                V::Json(Bytes::from_static(b"18446744073709551615")),
                V::Json(Bytes::from_static(b"\"\"")),
                V::Json(Bytes::from(deep_json)),
                V::Json(Bytes::from(large_json)),
            ],
        ),
        case(
            "g",
            T::Geometry,
            vec![
                V::Geometry(Geometry { srid: 0, wkb: point_wkb(1.5, -2.25) }),
                V::Geometry(Geometry { srid: 4326, wkb: point_wkb(-0.0, 90.0) }),
                V::Geometry(Geometry { srid: 3857, wkb: linestring_wkb(&[(0.0, 0.0), (1e9, -1e-9), (5.5, 6.25)]) }),
            ],
        ),
    ];
    for c in &mut cases {
        c.values.push(Value::Null);
    }
    cases
}
