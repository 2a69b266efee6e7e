//! TABLE_MAP events: a table's identity, column types and the optional metadata
//! (binlog_row_metadata=FULL / MINIMAL) that names and types its columns.

use crate::cursor::{Cursor, Res};

/// Binlog column type codes.
pub mod col {
    pub const DECIMAL: u8 = 0;
    pub const TINY: u8 = 1;
    pub const SHORT: u8 = 2;
    pub const LONG: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const NULL: u8 = 6;
    pub const TIMESTAMP: u8 = 7;
    pub const LONGLONG: u8 = 8;
    pub const INT24: u8 = 9;
    pub const DATE: u8 = 10;
    pub const TIME: u8 = 11;
    pub const DATETIME: u8 = 12;
    pub const YEAR: u8 = 13;
    pub const NEWDATE: u8 = 14;
    pub const VARCHAR: u8 = 15;
    pub const BIT: u8 = 16;
    pub const TIMESTAMP2: u8 = 17;
    pub const DATETIME2: u8 = 18;
    pub const TIME2: u8 = 19;
    pub const VECTOR: u8 = 242;
    pub const JSON: u8 = 245;
    pub const NEWDECIMAL: u8 = 246;
    pub const ENUM: u8 = 247;
    pub const SET: u8 = 248;
    pub const TINY_BLOB: u8 = 249;
    pub const MEDIUM_BLOB: u8 = 250;
    pub const LONG_BLOB: u8 = 251;
    pub const BLOB: u8 = 252;
    pub const VAR_STRING: u8 = 253;
    pub const STRING: u8 = 254;
    pub const GEOMETRY: u8 = 255;

    pub fn name(t: u8) -> &'static str {
        match t {
            DECIMAL => "DECIMAL(old)",
            TINY => "TINYINT",
            SHORT => "SMALLINT",
            LONG => "INT",
            FLOAT => "FLOAT",
            DOUBLE => "DOUBLE",
            NULL => "NULL",
            TIMESTAMP => "TIMESTAMP(old)",
            LONGLONG => "BIGINT",
            INT24 => "MEDIUMINT",
            DATE | NEWDATE => "DATE",
            TIME => "TIME(old)",
            DATETIME => "DATETIME(old)",
            YEAR => "YEAR",
            VARCHAR | VAR_STRING => "VARCHAR",
            BIT => "BIT",
            TIMESTAMP2 => "TIMESTAMP",
            DATETIME2 => "DATETIME",
            TIME2 => "TIME",
            VECTOR => "VECTOR",
            JSON => "JSON",
            NEWDECIMAL => "DECIMAL",
            ENUM => "ENUM",
            SET => "SET",
            TINY_BLOB | MEDIUM_BLOB | LONG_BLOB | BLOB => "BLOB/TEXT",
            STRING => "CHAR",
            GEOMETRY => "GEOMETRY",
            _ => "unknown type",
        }
    }
}

/// One column as the table map describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapColumn {
    /// The type code in the row format (STRING for CHAR, ENUM and SET).
    pub binlog_type: u8,
    /// The column's real type (ENUM, SET or STRING for a binlog STRING; else the binlog type).
    pub real_type: u8,
    /// Type metadata: length bytes, precision/scale, fsp, max length...
    pub meta: u16,
    pub nullable: bool,
}

impl MapColumn {
    /// Whether the column has a bit in the SIGNEDNESS metadata. MariaDB counts YEAR among the
    /// numeric columns (`year_signedness`; leaving it out shifts the bit of every numeric column
    /// after it: the real-server test `every_column_type_side_by_side_in_one_table...`).
    fn is_numeric(&self, year_signedness: bool) -> bool {
        use col::*;
        matches!(self.real_type, TINY | SHORT | INT24 | LONG | LONGLONG | NEWDECIMAL | FLOAT | DOUBLE)
            || (year_signedness && self.real_type == YEAR)
    }

    /// Whether the column has an entry in the charset metadata. MariaDB counts GEOMETRY (a
    /// BLOB with the binary charset) among them (`year_signedness`, which is MariaDB's counting
    /// for both; leaving it out gives every character column after a GEOMETRY the charset of
    /// the one before it: found by the random-table property test, seed 1796156644580828782).
    fn is_character(&self, mariadb: bool) -> bool {
        use col::*;
        matches!(self.real_type, STRING | VAR_STRING | VARCHAR | BLOB | TINY_BLOB | MEDIUM_BLOB | LONG_BLOB)
            || (mariadb && self.real_type == GEOMETRY)
    }

    fn is_enum_or_set(&self) -> bool {
        matches!(self.real_type, col::ENUM | col::SET)
    }

    /// For CHAR/BINARY: the declared length in bytes (from the two metadata bytes).
    pub fn string_max_len(&self) -> u16 {
        self.meta & 0xff | (((self.meta >> 8) & 0x30) ^ 0x30) << 4
    }
}

/// What the optional metadata told about the columns (each `None` when not logged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMetadata {
    pub unsigned: Option<Vec<bool>>,
    /// Collation id per column (character, ENUM and SET columns; `None` for the others).
    pub collations: Option<Vec<Option<u16>>>,
    pub names: Option<Vec<Vec<u8>>>,
    /// Member lists per column (for ENUM and SET columns).
    pub members: Vec<Option<Vec<Vec<u8>>>>,
    pub primary_key: Option<Vec<usize>>,
    pub visible: Option<Vec<bool>>,
}

/// A decoded TABLE_MAP event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableMapEvent {
    pub table_id: u64,
    pub database: Vec<u8>,
    pub table: Vec<u8>,
    pub columns: Vec<MapColumn>,
    pub metadata: ColumnMetadata,
}

/// Reads a TABLE_MAP body; `table_id_len` is 6 (or 4 for very old formats); `year_signedness`:
/// MariaDB's counting of the optional metadata (YEAR columns have a bit in SIGNEDNESS, GEOMETRY
/// columns an entry in the charsets).
pub fn parse(body: &[u8], table_id_len: usize, year_signedness: bool) -> Res<TableMapEvent> {
    let mut c = Cursor::new(body);
    let table_id = c.uint_le(table_id_len, "table id")?;
    c.skip(2, "flags")?;
    let db_len = c.u8("database name length")? as usize;
    let database = c.take(db_len, "database name")?.to_vec();
    c.skip(1, "NUL after database name")?;
    let t_len = c.u8("table name length")? as usize;
    let table = c.take(t_len, "table name")?.to_vec();
    c.skip(1, "NUL after table name")?;
    let n = c.lenenc("column count")? as usize;
    let types = c.take(n, "column types")?;
    let meta_block = c.lenenc_bytes("column metadata")?;
    let mut m = Cursor::new(meta_block);
    let mut columns = Vec::with_capacity(n);
    for &t in types {
        use col::*;
        let (meta, real_type) = match t {
            FLOAT | DOUBLE | BLOB | TINY_BLOB | MEDIUM_BLOB | LONG_BLOB | GEOMETRY | JSON | TIMESTAMP2 | DATETIME2
            | TIME2 | VECTOR => (m.u8("1-byte column metadata")? as u16, t),
            VARCHAR | VAR_STRING | BIT => (m.u16("2-byte column metadata")?, t),
            NEWDECIMAL => {
                let p = m.u8("DECIMAL precision")? as u16;
                let s = m.u8("DECIMAL scale")? as u16;
                (p << 8 | s, t)
            }
            STRING | ENUM | SET => {
                let b0 = m.u8("CHAR metadata")? as u16;
                let b1 = m.u8("CHAR metadata")? as u16;
                let real = if b0 & 0x30 != 0x30 { (b0 | 0x30) as u8 } else { b0 as u8 };
                let real = if matches!(real, ENUM | SET | STRING) { real } else { t };
                (b0 << 8 | b1, real)
            }
            _ => (0, t),
        };
        columns.push(MapColumn { binlog_type: t, real_type, meta, nullable: false });
    }
    let nulls = c.take(n.div_ceil(8), "null bitmap")?;
    for (i, col) in columns.iter_mut().enumerate() {
        col.nullable = nulls[i / 8] & (1 << (i % 8)) != 0;
    }
    let metadata = parse_optional(&mut c, &columns, year_signedness)?;
    Ok(TableMapEvent { table_id, database, table, columns, metadata })
}

fn bitmap_msb(bytes: &[u8], count: usize) -> Vec<bool> {
    (0..count).map(|i| bytes.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0)).collect()
}

fn parse_optional(c: &mut Cursor<'_>, columns: &[MapColumn], year_signedness: bool) -> Res<ColumnMetadata> {
    let mut md = ColumnMetadata { members: vec![None; columns.len()], ..Default::default() };
    let numeric: Vec<usize> = (0..columns.len()).filter(|&i| columns[i].is_numeric(year_signedness)).collect();
    let character: Vec<usize> = (0..columns.len()).filter(|&i| columns[i].is_character(year_signedness)).collect();
    let enum_set: Vec<usize> = (0..columns.len()).filter(|&i| columns[i].is_enum_or_set()).collect();
    let mut collations: Vec<Option<u16>> = vec![None; columns.len()];
    let mut have_collations = false;
    while !c.is_empty() {
        let kind = c.u8("metadata field type")?;
        let value = c.lenenc_bytes("metadata field")?;
        let mut v = Cursor::new(value);
        match kind {
            1 => {
                let flags = bitmap_msb(value, numeric.len());
                let mut unsigned = vec![false; columns.len()];
                for (k, &i) in numeric.iter().enumerate() {
                    unsigned[i] = flags[k];
                }
                md.unsigned = Some(unsigned);
            }
            2 | 10 => {
                let targets = if kind == 2 { &character } else { &enum_set };
                let default = v.lenenc("default collation")? as u16;
                for &i in targets {
                    collations[i] = Some(default);
                }
                while !v.is_empty() {
                    let k = v.lenenc("column index")? as usize;
                    let coll = v.lenenc("collation")? as u16;
                    if let Some(&i) = targets.get(k) {
                        collations[i] = Some(coll);
                    }
                }
                have_collations = true;
            }
            3 | 11 => {
                let targets = if kind == 3 { &character } else { &enum_set };
                for &i in targets {
                    collations[i] = Some(v.lenenc("column collation")? as u16);
                }
                have_collations = true;
            }
            4 => {
                let mut names = Vec::with_capacity(columns.len());
                for _ in 0..columns.len() {
                    names.push(v.lenenc_bytes("column name")?.to_vec());
                }
                md.names = Some(names);
            }
            5 | 6 => {
                let want = if kind == 5 { col::SET } else { col::ENUM };
                for (i, column) in columns.iter().enumerate() {
                    if column.real_type != want {
                        continue;
                    }
                    let count = v.lenenc("member count")? as usize;
                    let mut members = Vec::with_capacity(count.min(65_535));
                    for _ in 0..count {
                        members.push(v.lenenc_bytes("member")?.to_vec());
                    }
                    md.members[i] = Some(members);
                }
            }
            8 => {
                let mut pk = Vec::new();
                while !v.is_empty() {
                    pk.push(v.lenenc("primary key column")? as usize);
                }
                md.primary_key = Some(pk);
            }
            9 => {
                let mut pk = Vec::new();
                while !v.is_empty() {
                    pk.push(v.lenenc("primary key column")? as usize);
                    v.lenenc("primary key prefix")?;
                }
                md.primary_key = Some(pk);
            }
            12 => md.visible = Some(bitmap_msb(value, columns.len())),
            // 7 GEOMETRY_TYPE and fields from newer servers: known lengths, nothing we need.
            _ => {}
        }
    }
    if have_collations {
        md.collations = Some(collations);
    }
    Ok(md)
}
