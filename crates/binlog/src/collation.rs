//! Collation ids (as table maps and QUERY events carry them) to charsets.
//!
//! A live source is asked for its full list (`information_schema.COLLATIONS`), which also covers
//! MariaDB's and MySQL's newer collations; [`builtin`] knows the ids both servers have long
//! shared, for binlog files read offline. An id neither knows is an error naming it, never a
//! guess.

use std::collections::HashMap;

use dts_types::Charset;

/// The charset of a built-in collation id.
pub fn builtin(id: u16) -> Option<Charset> {
    let name = match id {
        1 | 84 => "big5",
        3 | 69 => "dec8",
        4 | 80 => "cp850",
        6 | 72 => "hp8",
        7 | 74 => "koi8r",
        5 | 8 | 15 | 31 | 47 | 48 | 49 | 94 => "latin1",
        2 | 9 | 21 | 27 | 77 => "latin2",
        10 | 82 => "swe7",
        11 | 65 => "ascii",
        12 | 91 => "ujis",
        13 | 88 => "sjis",
        16 | 71 => "hebrew",
        18 | 89 => "tis620",
        19 | 85 => "euckr",
        22 | 75 => "koi8u",
        24 | 86 => "gb2312",
        25 | 70 => "greek",
        26 | 34 | 44 | 66 | 99 => "cp1250",
        28 | 87 => "gbk",
        30 | 78 => "latin5",
        32 | 64 => "armscii8",
        33 | 76 | 83 | 192..=215 | 223 => "utf8mb3",
        35 | 90 | 128..=151 | 159 => "ucs2",
        36 | 68 => "cp866",
        37 | 73 => "keybcs2",
        38 | 43 => "macce",
        39 | 53 => "macroman",
        40 | 81 => "cp852",
        20 | 41 | 42 | 79 => "latin7",
        45 | 46 | 224..=247 | 255..=323 => "utf8mb4",
        14 | 23 | 50 | 51 | 52 => "cp1251",
        54 | 55 | 101..=124 => "utf16",
        56 | 62 => "utf16le",
        57 | 67 => "cp1256",
        29 | 58 | 59 => "cp1257",
        60 | 61 | 160..=183 => "utf32",
        63 => "binary",
        92 | 93 => "geostd8",
        95 | 96 => "cp932",
        97 | 98 => "eucjpms",
        248..=250 => "gb18030",
        _ => return None,
    };
    Charset::from_name(name)
}

/// Collation ids to charsets: the built-in table plus whatever a live source reported.
#[derive(Debug, Clone, Default)]
pub struct Collations {
    from_server: HashMap<u16, Charset>,
}

impl Collations {
    /// Adds what a server reported (`ID`, `CHARACTER_SET_NAME` pairs).
    pub fn extend_from_server(&mut self, pairs: impl IntoIterator<Item = (u16, String)>) {
        for (id, name) in pairs {
            if let Some(cs) = Charset::from_name(&name) {
                self.from_server.insert(id, cs);
            }
        }
    }

    /// The charset of a collation id, if known.
    pub fn charset(&self, id: u16) -> Option<Charset> {
        self.from_server.get(&id).copied().or_else(|| builtin(id))
    }
}
