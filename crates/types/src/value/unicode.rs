//! Text in a server charset to Unicode, exactly as the server converts it, or an error: for
//! statement text, which must mean the same characters on the destination as on the source.

use super::Charset;

/// Why bytes cannot be decoded exactly from a charset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the bytes at offset {offset} are not valid {charset}{detail}")]
pub struct DecodeError {
    /// The charset the bytes were to be read in.
    pub charset: Charset,
    /// Where the first byte that cannot be read is.
    pub offset: usize,
    /// More about why, where there is more to say.
    pub detail: String,
}

/// latin1 0x80..=0x9F as MariaDB and MySQL read them: cp1252, with the five bytes cp1252
/// leaves undefined mapped to the C1 control characters of the same value. 0xA0..=0xFF are
/// U+00A0..=U+00FF, 0x00..=0x7F ASCII.
const LATIN1_80_9F: [u16; 32] = [
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D,
    0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
    0x0153, 0x009D, 0x017E, 0x0178,
];

impl Charset {
    /// `bytes`, text in this charset, as Unicode, character for character as the server reads
    /// them. UTF-8 charsets (and `binary`, whose text the server copies byte for byte) need
    /// valid UTF-8 (utf8mb3: without 4-byte characters); latin1 and ascii are read by table;
    /// in every other ASCII-compatible charset only ASCII text is read (anything else is an
    /// error naming the charset, never a guess).
    pub fn decode(self, bytes: &[u8]) -> Result<String, DecodeError> {
        let err = |offset: usize, detail: &str| DecodeError { charset: self, offset, detail: detail.to_string() };
        match self.name() {
            "utf8mb4" | "binary" => {
                String::from_utf8(bytes.to_vec()).map_err(|e| err(e.utf8_error().valid_up_to(), " (UTF-8)"))
            }
            "utf8mb3" => {
                let s = String::from_utf8(bytes.to_vec()).map_err(|e| err(e.utf8_error().valid_up_to(), ""))?;
                match s.char_indices().find(|(_, c)| c.len_utf8() == 4) {
                    Some((i, _)) => Err(err(i, " (a 4-byte character, which utf8mb3 cannot hold)")),
                    None => Ok(s),
                }
            }
            "latin1" => Ok(bytes
                .iter()
                .map(|&b| match b {
                    0x80..=0x9F => char::from_u32(LATIN1_80_9F[(b - 0x80) as usize] as u32).expect("a valid char"),
                    _ => b as char,
                })
                .collect()),
            _ => match bytes.iter().position(|b| !b.is_ascii()) {
                None if self.is_ascii_compatible() => Ok(bytes.iter().map(|&b| b as char).collect()),
                None => Err(err(0, ": ASCII bytes mean other characters in it")),
                Some(i) if self.name() == "ascii" => Err(err(i, "")),
                Some(i) => Err(err(i, ": only ASCII text in it is read exactly; run the statement as UTF-8 text")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_charset_decodes_exactly_or_refuses() {
        assert_eq!(Charset::LATIN1.decode(b"caf\xe9 na\xefve \x80\x81\x9f\xff").unwrap(), "café naïve €\u{81}Ÿÿ");
        assert_eq!(Charset::UTF8MB4.decode("café 😀".as_bytes()).unwrap(), "café 😀");
        assert_eq!(Charset::UTF8MB4.decode(b"caf\xe9").unwrap_err().offset, 3);
        assert!(Charset::UTF8MB3.decode("😀".as_bytes()).is_err());
        assert_eq!(Charset::BINARY.decode(b"plain").unwrap(), "plain");
        let cp1251 = Charset::from_name("cp1251").unwrap();
        assert_eq!(cp1251.decode(b"ALTER TABLE t ADD c INT").unwrap(), "ALTER TABLE t ADD c INT");
        let e = cp1251.decode(b"COMMENT '\xe0'").unwrap_err();
        assert!(e.to_string().contains("cp1251") && e.offset == 9, "{e}");
        assert!(Charset::from_name("ascii").unwrap().decode(b"\xe9").is_err());
        assert!(Charset::from_name("swe7").unwrap().decode(b"a").is_err());
    }
}
