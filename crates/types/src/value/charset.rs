//! Character sets a string value can be in, by the names MySQL and MariaDB use.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A server character set. Only names the servers know can be built, so a charset rendered as
/// an introducer (`_latin1'..'`) is always valid SQL.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Charset(&'static str);

/// (name, ASCII-compatible): in an ASCII-compatible charset every byte 0x20..=0x7E stands for
/// the same ASCII character, so such text can be written as a quoted literal. The UTF-16/32
/// family encodes ASCII differently and swe7 reuses `[\]{|}` for letters.
const KNOWN: &[(&str, bool)] = &[
    ("armscii8", true),
    ("ascii", true),
    ("big5", true),
    ("binary", true),
    ("cp1250", true),
    ("cp1251", true),
    ("cp1256", true),
    ("cp1257", true),
    ("cp850", true),
    ("cp852", true),
    ("cp866", true),
    ("cp932", true),
    ("dec8", true),
    ("eucjpms", true),
    ("euckr", true),
    ("gb18030", true),
    ("gb2312", true),
    ("gbk", true),
    ("geostd8", true),
    ("greek", true),
    ("hebrew", true),
    ("hp8", true),
    ("keybcs2", true),
    ("koi8r", true),
    ("koi8u", true),
    ("latin1", true),
    ("latin2", true),
    ("latin5", true),
    ("latin7", true),
    ("macce", true),
    ("macroman", true),
    ("sjis", true),
    ("swe7", false),
    ("tis620", true),
    ("ucs2", false),
    ("ujis", true),
    ("utf16", false),
    ("utf16le", false),
    ("utf32", false),
    ("utf8mb3", true),
    ("utf8mb4", true),
];

impl Charset {
    /// utf8mb4: all of Unicode.
    pub const UTF8MB4: Charset = Charset("utf8mb4");
    /// utf8mb3 (`utf8`): the Basic Multilingual Plane.
    pub const UTF8MB3: Charset = Charset("utf8mb3");
    /// latin1 (the servers' cp1252).
    pub const LATIN1: Charset = Charset("latin1");
    /// binary: bytes without a charset.
    pub const BINARY: Charset = Charset("binary");

    /// Looks a charset up by name, case-insensitively; `utf8` means `utf8mb3`.
    pub fn from_name(name: &str) -> Option<Charset> {
        let lower = name.to_ascii_lowercase();
        let lower = if lower == "utf8" { "utf8mb3".to_string() } else { lower };
        KNOWN.iter().find(|(n, _)| *n == lower).map(|(n, _)| Charset(n))
    }

    /// The server's name for it.
    pub fn name(self) -> &'static str {
        self.0
    }

    /// Whether it is `binary`.
    pub fn is_binary(self) -> bool {
        self.0 == "binary"
    }

    /// Whether printable ASCII bytes mean the same characters in this charset.
    pub fn is_ascii_compatible(self) -> bool {
        KNOWN.iter().any(|(n, ascii)| *n == self.0 && *ascii)
    }

    /// Most bytes one character takes.
    pub fn max_bytes_per_char(self) -> u32 {
        match self.0 {
            "utf8mb4" | "utf16" | "utf16le" | "utf32" | "gb18030" => 4,
            "utf8mb3" | "ujis" | "eucjpms" => 3,
            "ucs2" | "gbk" | "big5" | "sjis" | "cp932" | "euckr" | "gb2312" => 2,
            _ => 1,
        }
    }

    /// Whether the charset is a UTF-8 encoding, so valid UTF-8 text can be written as is.
    pub fn is_utf8(self) -> bool {
        matches!(self.0, "utf8mb3" | "utf8mb4")
    }
}

impl fmt::Display for Charset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Charset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Charset {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Charset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Charset::from_name(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown character set {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_and_knows_utf8_alias() {
        assert_eq!(Charset::from_name("UTF8"), Some(Charset::UTF8MB3));
        assert_eq!(Charset::from_name("Latin1"), Some(Charset::LATIN1));
        assert_eq!(Charset::from_name("latin1'; DROP"), None);
        assert!(!Charset::from_name("utf16").unwrap().is_ascii_compatible());
        assert!(Charset::from_name("gbk").unwrap().is_ascii_compatible());
    }
}
