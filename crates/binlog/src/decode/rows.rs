//! Row events: a per-table decoding plan built from the table map, and row images decoded
//! into exact values.

use std::sync::Arc;

use bytes::Bytes;
use dts_types::{
    Bits, Charset, ColumnDef, ColumnType, Date, DateTime, Decimal, Geometry, Ident, LobSize, RowChange, TableId,
    TableSchema, Text, Time, Timestamp, Value,
};

use super::table_map::{MapColumn, TableMapEvent, col};
use super::{decimal, json};
use crate::collation::Collations;
use crate::cursor::Cursor;

/// How to read one column's value from a row image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColPlan {
    Int {
        bytes: usize,
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
    Time2 {
        fsp: u8,
    },
    DateTime2 {
        fsp: u8,
    },
    Timestamp2 {
        fsp: u8,
    },
    TimeOld,
    DateTimeOld,
    TimestampOld,
    Bit {
        width: u8,
    },
    Enum {
        pack: usize,
    },
    Set {
        pack: usize,
    },
    /// CHAR/VARCHAR/BINARY/VARBINARY: `prefix` length bytes; `charset` None for binary;
    /// `pad_to` restores BINARY(n)'s trailing zero bytes, which the binlog drops.
    Str {
        prefix: usize,
        charset: Option<Charset>,
        pad_to: Option<usize>,
    },
    /// BLOB/TEXT (and MariaDB's JSON, a LONGTEXT).
    Blob {
        prefix: usize,
        charset: Option<Charset>,
    },
    /// MySQL's binary JSON.
    Json {
        prefix: usize,
    },
    Geometry {
        prefix: usize,
    },
    Vector {
        prefix: usize,
    },
}

/// A table map turned into a schema and a decoding plan.
#[derive(Debug, Clone)]
pub struct TablePlan {
    pub schema: Arc<TableSchema>,
    pub cols: Vec<ColPlan>,
}

/// What a plan could not be built without.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    Missing { what: String },
    Unsupported { column: String, reason: String },
}

fn lob(prefix: usize) -> LobSize {
    match prefix {
        1 => LobSize::Tiny,
        2 => LobSize::Regular,
        3 => LobSize::Medium,
        _ => LobSize::Long,
    }
}

/// Builds the plan for a table map, taking what the map lacks from `fallback` (a schema the
/// caller supplied for this table at this position).
///
/// With `positional_names`, columns whose names neither source gives are named `@1`, `@2`...
/// (as mysqlbinlog shows them); everything else must still be known.
pub fn plan(
    tm: &TableMapEvent,
    table: TableId,
    collations: &Collations,
    fallback: Option<&TableSchema>,
    positional_names: bool,
) -> Result<TablePlan, PlanError> {
    let md = &tm.metadata;
    if let Some(fb) = fallback
        && fb.columns.len() != tm.columns.len()
    {
        return Err(PlanError::Missing {
            what: format!(
                "a matching schema (the binlog has {} columns, the supplied schema {})",
                tm.columns.len(),
                fb.columns.len()
            ),
        });
    }
    let fb_col = |i: usize| fallback.map(|f| &f.columns[i]);
    let mut columns = Vec::with_capacity(tm.columns.len());
    let mut cols = Vec::with_capacity(tm.columns.len());
    for (i, mc) in tm.columns.iter().enumerate() {
        let name = match (&md.names, fb_col(i)) {
            (Some(names), _) => {
                let n = String::from_utf8_lossy(&names[i]).into_owned();
                Ident::new(n.clone()).map_err(|e| PlanError::Unsupported { column: n, reason: e.to_string() })?
            }
            (None, Some(c)) => c.name.clone(),
            (None, None) if positional_names => Ident::new(format!("@{}", i + 1)).expect("a valid name"),
            (None, None) => return Err(PlanError::Missing { what: "column names".into() }),
        };
        let unsigned = || -> Result<bool, PlanError> {
            match (&md.unsigned, fb_col(i)) {
                (Some(u), _) => Ok(u[i]),
                (None, Some(c)) => Ok(c.ty.integer_bits().is_some_and(|(_, u)| u)),
                (None, None) => Err(PlanError::Missing { what: format!("the signedness of column {name}") }),
            }
        };
        let charset = || -> Result<Option<Charset>, PlanError> {
            if let Some(coll) = md.collations.as_ref().and_then(|c| c[i]) {
                let cs = collations.charset(coll).ok_or_else(|| PlanError::Unsupported {
                    column: name.to_string(),
                    reason: format!("unknown collation id {coll}"),
                })?;
                return Ok(if cs.is_binary() { None } else { Some(cs) });
            }
            match fb_col(i) {
                Some(c) => Ok(c.ty.charset()),
                None => Err(PlanError::Missing { what: format!("the charset of column {name}") }),
            }
        };
        let members = || -> Arc<[Bytes]> {
            match (&md.members[i], fb_col(i).map(|c| &c.ty)) {
                (Some(m), _) => m.iter().map(|b| Bytes::copy_from_slice(b)).collect(),
                (None, Some(ColumnType::Enum { members, .. } | ColumnType::Set { members, .. })) => members.clone(),
                _ => Arc::from(Vec::new()),
            }
        };
        let (plan, ty) = column_plan(mc, &name, unsigned, charset, members)?;
        columns.push(ColumnDef { name, ty, nullable: mc.nullable });
        cols.push(plan);
    }
    let primary_key = match (&md.primary_key, fallback) {
        (Some(pk), _) => pk.iter().copied().filter(|&k| k < columns.len()).collect(),
        (None, Some(f)) => f.primary_key.clone(),
        (None, None) => Vec::new(),
    };
    Ok(TablePlan { schema: Arc::new(TableSchema { id: table, columns, primary_key }), cols })
}

fn column_plan(
    mc: &MapColumn,
    name: &Ident,
    unsigned: impl Fn() -> Result<bool, PlanError>,
    charset: impl Fn() -> Result<Option<Charset>, PlanError>,
    members: impl Fn() -> Arc<[Bytes]>,
) -> Result<(ColPlan, ColumnType), PlanError> {
    use col::{
        BIT, BLOB, DATE, DATETIME, DATETIME2, DOUBLE, ENUM, FLOAT, GEOMETRY, INT24, JSON, LONG, LONG_BLOB, LONGLONG,
        MEDIUM_BLOB, NEWDATE, NEWDECIMAL, SET, SHORT, STRING, TIME, TIME2, TIMESTAMP, TIMESTAMP2, TINY, TINY_BLOB,
        VAR_STRING, VARCHAR, VECTOR, YEAR,
    };
    let unsupported = |reason: &str| PlanError::Unsupported { column: name.to_string(), reason: reason.into() };
    let meta = mc.meta;
    let fsp = |m: u16| -> Result<u8, PlanError> {
        if m > 6 { Err(unsupported(&format!("fractional-second precision {m}"))) } else { Ok(m as u8) }
    };
    Ok(match mc.real_type {
        TINY | SHORT | INT24 | LONG | LONGLONG => {
            let u = unsigned()?;
            let (bytes, ty) = match mc.real_type {
                TINY => (1, ColumnType::TinyInt { unsigned: u }),
                SHORT => (2, ColumnType::SmallInt { unsigned: u }),
                INT24 => (3, ColumnType::MediumInt { unsigned: u }),
                LONG => (4, ColumnType::Int { unsigned: u }),
                _ => (8, ColumnType::BigInt { unsigned: u }),
            };
            (ColPlan::Int { bytes, unsigned: u }, ty)
        }
        FLOAT => (ColPlan::Float, ColumnType::Float),
        DOUBLE => (ColPlan::Double, ColumnType::Double),
        NEWDECIMAL => {
            let (precision, scale) = ((meta >> 8) as u8, (meta & 0xff) as u8);
            if precision == 0 || precision > 65 || scale > 30 || scale > precision {
                return Err(unsupported(&format!("DECIMAL({precision},{scale})")));
            }
            (ColPlan::Decimal { precision, scale }, ColumnType::Decimal { precision, scale })
        }
        YEAR => (ColPlan::Year, ColumnType::Year),
        DATE | NEWDATE => (ColPlan::Date, ColumnType::Date),
        TIME2 => (ColPlan::Time2 { fsp: fsp(meta)? }, ColumnType::Time { fsp: fsp(meta)? }),
        DATETIME2 => (ColPlan::DateTime2 { fsp: fsp(meta)? }, ColumnType::DateTime { fsp: fsp(meta)? }),
        TIMESTAMP2 => (ColPlan::Timestamp2 { fsp: fsp(meta)? }, ColumnType::Timestamp { fsp: fsp(meta)? }),
        TIME => (ColPlan::TimeOld, ColumnType::Time { fsp: 0 }),
        DATETIME => (ColPlan::DateTimeOld, ColumnType::DateTime { fsp: 0 }),
        TIMESTAMP => (ColPlan::TimestampOld, ColumnType::Timestamp { fsp: 0 }),
        BIT => {
            let width = (meta >> 8) * 8 + (meta & 0xff);
            if !(1..=64).contains(&width) {
                return Err(unsupported(&format!("BIT({width})")));
            }
            (ColPlan::Bit { width: width as u8 }, ColumnType::Bit { width: width as u8 })
        }
        ENUM | SET => {
            let pack = (meta & 0xff) as usize;
            let cs = charset().ok().flatten().unwrap_or(Charset::UTF8MB4);
            if mc.real_type == ENUM {
                if !matches!(pack, 1 | 2) {
                    return Err(unsupported(&format!("ENUM stored in {pack} bytes")));
                }
                (ColPlan::Enum { pack }, ColumnType::Enum { members: members(), charset: cs })
            } else {
                if !matches!(pack, 1..=4 | 8) {
                    return Err(unsupported(&format!("SET stored in {pack} bytes")));
                }
                (ColPlan::Set { pack }, ColumnType::Set { members: members(), charset: cs })
            }
        }
        STRING => {
            let max = mc.string_max_len() as u32;
            let prefix = if max > 255 { 2 } else { 1 };
            match charset()? {
                None => (
                    ColPlan::Str { prefix, charset: None, pad_to: Some(max as usize) },
                    ColumnType::Binary { length: max },
                ),
                Some(cs) => (
                    ColPlan::Str { prefix, charset: Some(cs), pad_to: None },
                    ColumnType::Char { length: max / cs.max_bytes_per_char(), charset: cs },
                ),
            }
        }
        VARCHAR | VAR_STRING => {
            let max = meta as u32;
            let prefix = if max > 255 { 2 } else { 1 };
            match charset()? {
                None => (ColPlan::Str { prefix, charset: None, pad_to: None }, ColumnType::VarBinary { length: max }),
                Some(cs) => (
                    ColPlan::Str { prefix, charset: Some(cs), pad_to: None },
                    ColumnType::VarChar { length: max / cs.max_bytes_per_char(), charset: cs },
                ),
            }
        }
        BLOB | TINY_BLOB | MEDIUM_BLOB | LONG_BLOB => {
            let prefix = meta as usize;
            if !(1..=4).contains(&prefix) {
                return Err(unsupported(&format!("BLOB with a {prefix}-byte length")));
            }
            match charset()? {
                None => (ColPlan::Blob { prefix, charset: None }, ColumnType::Blob { size: lob(prefix) }),
                Some(cs) => {
                    (ColPlan::Blob { prefix, charset: Some(cs) }, ColumnType::Text { size: lob(prefix), charset: cs })
                }
            }
        }
        JSON => {
            let prefix = meta as usize;
            if !(1..=4).contains(&prefix) {
                return Err(unsupported(&format!("JSON with a {prefix}-byte length")));
            }
            (ColPlan::Json { prefix }, ColumnType::Json)
        }
        GEOMETRY => {
            let prefix = meta as usize;
            if !(1..=4).contains(&prefix) {
                return Err(unsupported(&format!("GEOMETRY with a {prefix}-byte length")));
            }
            (ColPlan::Geometry { prefix }, ColumnType::Geometry)
        }
        VECTOR => {
            let prefix = meta as usize;
            if !(1..=4).contains(&prefix) {
                return Err(unsupported(&format!("VECTOR with a {prefix}-byte length")));
            }
            (ColPlan::Vector { prefix }, ColumnType::Blob { size: LobSize::Long })
        }
        other => return Err(unsupported(&format!("column type {} ({other})", col::name(other)))),
    })
}

/// Where a row event's decoding failed: column index and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    pub column: usize,
    pub reason: String,
}

/// The row images of one rows event, decoded.
#[derive(Debug)]
pub struct RowsBody<'a> {
    pub present: Vec<bool>,
    pub present_after: Option<Vec<bool>>,
    /// The row data, after the column bitmaps.
    pub rows: &'a [u8],
}

/// Splits a rows event body (after its post-header) into bitmaps and row data.
pub(crate) fn split_body(body: &[u8], start: usize, update: bool) -> Result<RowsBody<'_>, String> {
    let mut c = Cursor::new(body);
    c.skip(start, "rows post-header").map_err(|e| e.to_string())?;
    let n = c.lenenc("column count").map_err(|e| e.to_string())? as usize;
    let bitmap = |c: &mut Cursor<'_>| -> Result<Vec<bool>, String> {
        let b = c.take(n.div_ceil(8), "column bitmap").map_err(|e| e.to_string())?;
        Ok((0..n).map(|i| b[i / 8] & (1 << (i % 8)) != 0).collect())
    };
    let present = bitmap(&mut c)?;
    let present_after = if update { Some(bitmap(&mut c)?) } else { None };
    Ok(RowsBody { present, present_after, rows: c.rest() })
}

/// Decodes one row image (null bitmap + values of the present columns) from `c`.
pub fn decode_image(c: &mut Cursor<'_>, plan: &TablePlan, present: &[bool]) -> Result<Vec<Value>, CellError> {
    let n_present = present.iter().filter(|p| **p).count();
    let nulls =
        c.take(n_present.div_ceil(8), "null bitmap").map_err(|e| CellError { column: 0, reason: e.to_string() })?;
    let mut row = Vec::with_capacity(plan.cols.len());
    for (k, (i, p)) in plan.cols.iter().enumerate().enumerate() {
        if !present[i] {
            return Err(CellError {
                column: i,
                reason: "the row image lacks this column: set binlog_row_image=FULL on the source".into(),
            });
        }
        let is_null = nulls[k / 8] & (1 << (k % 8)) != 0;
        if is_null {
            row.push(Value::Null);
            continue;
        }
        row.push(decode_cell(c, p).map_err(|reason| CellError { column: i, reason })?);
    }
    Ok(row)
}

fn short(e: crate::cursor::Short) -> String {
    format!("the row ends early ({e})")
}

fn fraction(c: &mut Cursor<'_>, fsp: u8) -> Result<u32, String> {
    Ok(match fsp {
        0 => 0,
        1 | 2 => c.uint_be(1, "fraction").map_err(short)? as u32 * 10_000,
        3 | 4 => c.uint_be(2, "fraction").map_err(short)? as u32 * 100,
        _ => c.uint_be(3, "fraction").map_err(short)? as u32,
    })
}

fn len_prefixed<'a>(c: &mut Cursor<'a>, prefix: usize) -> Result<&'a [u8], String> {
    let n = c.uint_le(prefix, "length").map_err(short)? as usize;
    c.take(n, "value").map_err(short)
}

/// Decodes one non-NULL value.
pub(crate) fn decode_cell(c: &mut Cursor<'_>, p: &ColPlan) -> Result<Value, String> {
    let bad = |e: dts_types::ValueError| e.to_string();
    Ok(match *p {
        ColPlan::Int { bytes, unsigned } => {
            let v = c.uint_le(bytes, "integer").map_err(short)?;
            if unsigned {
                Value::UInt(v)
            } else {
                let shift = 64 - 8 * bytes as u32;
                Value::Int(((v << shift) as i64) >> shift)
            }
        }
        ColPlan::Float => Value::Float(f32::from_bits(c.u32("FLOAT").map_err(short)?)),
        ColPlan::Double => Value::Double(f64::from_bits(c.u64("DOUBLE").map_err(short)?)),
        ColPlan::Decimal { precision, scale } => {
            let text = decimal::decode(c, precision, scale)?;
            Value::Decimal(Decimal::parse(&text).map_err(bad)?)
        }
        ColPlan::Year => {
            let y = c.u8("YEAR").map_err(short)?;
            Value::Year(if y == 0 { 0 } else { 1900 + y as u16 })
        }
        ColPlan::Date => {
            let v = c.uint_le(3, "DATE").map_err(short)? as u32;
            Value::Date(Date::new((v >> 9) as u16, ((v >> 5) & 15) as u8, (v & 31) as u8).map_err(bad)?)
        }
        ColPlan::Time2 { fsp } => {
            let int = c.uint_be(3, "TIME").map_err(short)? as i64 - 0x80_0000;
            let packed: i64 = match fsp {
                0 => int << 24,
                1 | 2 => {
                    let (mut i, mut f) = (int, c.u8("fraction").map_err(short)? as i8 as i64);
                    if i < 0 && f != 0 {
                        i += 1;
                        f -= 0x100;
                    }
                    (i << 24) + f * 10_000
                }
                3 | 4 => {
                    let (mut i, mut f) = (int, c.uint_be(2, "fraction").map_err(short)? as i64);
                    if i < 0 && f != 0 {
                        i += 1;
                        f -= 0x10000;
                    }
                    (i << 24) + f * 100
                }
                _ => {
                    let f = c.uint_be(3, "fraction").map_err(short)? as i64;
                    (int << 24) + f
                }
            };
            let negative = packed < 0;
            let m = packed.unsigned_abs();
            let frac = (m % (1 << 24)) as u32;
            let hms = m >> 24;
            let t =
                Time::new(negative, ((hms >> 12) % (1 << 10)) as u16, ((hms >> 6) % 64) as u8, (hms % 64) as u8, frac);
            Value::Time(t.map_err(bad)?)
        }
        ColPlan::DateTime2 { fsp } => {
            let int = c.uint_be(5, "DATETIME").map_err(short)? as i64 - 0x80_0000_0000;
            let micro = fraction(c, fsp)?;
            if int < 0 {
                return Err("negative DATETIME".into());
            }
            let int = int as u64;
            let ymd = int >> 17;
            let ym = ymd >> 5;
            let hms = int % (1 << 17);
            let date = Date::new((ym / 13) as u16, (ym % 13) as u8, (ymd % 32) as u8).map_err(bad)?;
            let dt = DateTime::new(date, (hms >> 12) as u8, ((hms >> 6) % 64) as u8, (hms % 64) as u8, micro);
            Value::DateTime(dt.map_err(bad)?)
        }
        ColPlan::Timestamp2 { fsp } => {
            let secs = c.uint_be(4, "TIMESTAMP").map_err(short)? as u32;
            let micro = fraction(c, fsp)?;
            Value::Timestamp(Timestamp::new(secs, micro).map_err(bad)?)
        }
        ColPlan::TimestampOld => Value::Timestamp(Timestamp::new(c.u32("TIMESTAMP").map_err(short)?, 0).map_err(bad)?),
        ColPlan::DateTimeOld => {
            let v = c.u64("DATETIME").map_err(short)?;
            let (d, t) = (v / 1_000_000, v % 1_000_000);
            let date = Date::new((d / 10_000) as u16, (d / 100 % 100) as u8, (d % 100) as u8).map_err(bad)?;
            Value::DateTime(
                DateTime::new(date, (t / 10_000) as u8, (t / 100 % 100) as u8, (t % 100) as u8, 0).map_err(bad)?,
            )
        }
        ColPlan::TimeOld => {
            let raw = c.uint_le(3, "TIME").map_err(short)?;
            let v = ((raw << 40) as i64) >> 40;
            let m = v.unsigned_abs();
            let t = Time::new(v < 0, (m / 10_000) as u16, (m / 100 % 100) as u8, (m % 100) as u8, 0);
            Value::Time(t.map_err(bad)?)
        }
        ColPlan::Bit { width } => {
            let v = c.uint_be((width as usize).div_ceil(8), "BIT").map_err(short)?;
            Value::Bit(Bits::new(width, v).map_err(bad)?)
        }
        ColPlan::Enum { pack } => Value::Enum(c.uint_le(pack, "ENUM").map_err(short)? as u16),
        ColPlan::Set { pack } => Value::Set(c.uint_le(pack, "SET").map_err(short)?),
        ColPlan::Str { prefix, charset, pad_to } => {
            let bytes = len_prefixed(c, prefix)?;
            match charset {
                Some(cs) => Value::String(Text::new(cs, Bytes::copy_from_slice(bytes))),
                None => match pad_to {
                    Some(n) if bytes.len() < n => {
                        let mut v = Vec::with_capacity(n);
                        v.extend_from_slice(bytes);
                        v.resize(n, 0);
                        Value::Binary(Bytes::from(v))
                    }
                    _ => Value::Binary(Bytes::copy_from_slice(bytes)),
                },
            }
        }
        ColPlan::Blob { prefix, charset } => {
            let bytes = len_prefixed(c, prefix)?;
            match charset {
                Some(cs) => Value::String(Text::new(cs, Bytes::copy_from_slice(bytes))),
                None => Value::Binary(Bytes::copy_from_slice(bytes)),
            }
        }
        ColPlan::Json { prefix } => {
            let bytes = len_prefixed(c, prefix)?;
            Value::Json(Bytes::from(json::to_text(bytes)?))
        }
        ColPlan::Geometry { prefix } => {
            let bytes = len_prefixed(c, prefix)?;
            Value::Geometry(Geometry::from_internal(bytes).map_err(bad)?)
        }
        ColPlan::Vector { prefix } => {
            let bytes = len_prefixed(c, prefix)?;
            Value::Binary(Bytes::copy_from_slice(bytes))
        }
    })
}

/// The kind of a rows event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowsKind {
    Write,
    Update,
    Delete,
}

/// Decodes every row change of a rows event's row data.
pub fn decode_rows(
    kind: RowsKind,
    body: &RowsBody<'_>,
    plan: &TablePlan,
    mut emit: impl FnMut(RowChange),
) -> Result<(), CellError> {
    if body.present.len() != plan.cols.len() {
        return Err(CellError {
            column: 0,
            reason: format!("the event has {} columns, its table map {}", body.present.len(), plan.cols.len()),
        });
    }
    let mut c = Cursor::new(body.rows);
    while !c.is_empty() {
        let change = match kind {
            RowsKind::Write => RowChange::Insert { after: decode_image(&mut c, plan, &body.present)? },
            RowsKind::Delete => RowChange::Delete { before: decode_image(&mut c, plan, &body.present)? },
            RowsKind::Update => {
                let before = decode_image(&mut c, plan, &body.present)?;
                let after_present = body.present_after.as_deref().unwrap_or(&body.present);
                let after = decode_image(&mut c, plan, after_present)?;
                RowChange::Update { before, after }
            }
        };
        emit(change);
    }
    Ok(())
}
