//! A MySQL/MariaDB lexer that keeps byte offsets, so statements can be classified and their
//! identifiers rewritten in place while every other byte passes through unchanged.
//!
//! It knows comments (`-- `, `#`, `/* */`), executable comments (`/*!NNNNN ... */` and
//! MariaDB's `/*M!NNNNNN ... */`, whose contents are lexed as SQL), strings with both escape
//! styles, backtick identifiers with doubled backticks, double-quoted strings or identifiers
//! (ANSI_QUOTES), numbers, `@variables` and punctuation.

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A bare word: keyword or unquoted identifier.
    Word,
    /// A quoted identifier; `text` holds the unquoted name.
    Quoted,
    /// A string literal.
    Str,
    /// A number literal.
    Number,
    /// `@var`, `@@var`, `@'quoted'`.
    Variable,
    /// One punctuation character (or a two-character operator).
    Punct,
}

/// One token: its kind, its text (unquoted for identifiers) and its byte span in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: Kind,
    /// Its text (unquoted for quoted identifiers).
    pub text: String,
    /// Byte offset of its first byte in the input.
    pub start: usize,
    /// Byte offset just past its last byte.
    pub end: usize,
}

impl Token {
    /// A bare word equal to `kw`, case-insensitively.
    pub fn is_kw(&self, kw: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(kw)
    }

    /// The punctuation `p`.
    pub fn is_punct(&self, p: &str) -> bool {
        self.kind == Kind::Punct && self.text == p
    }

    /// An identifier: a quoted name or a bare word.
    pub fn is_ident(&self) -> bool {
        matches!(self.kind, Kind::Word | Kind::Quoted)
    }
}

/// Why a statement could not be lexed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read the statement at byte {offset}: {reason}")]
pub struct LexError {
    /// Byte offset where lexing failed.
    pub offset: usize,
    /// What was wrong there.
    pub reason: String,
}

/// The bytes of a string literal token (`'it''s'`, `"a\"b"`): quotes removed, doubled quotes
/// and backslash escapes resolved (`\%` and `\_` keep their backslash, as MySQL does, for LIKE).
pub fn string_value(lit: &str) -> Vec<u8> {
    let b = lit.as_bytes();
    if b.len() < 2 {
        return b.to_vec();
    }
    let q = b[0];
    let inner = &b[1..b.len() - 1];
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        match inner[i] {
            c if c == q && inner.get(i + 1) == Some(&q) => {
                out.push(q);
                i += 2;
            }
            b'\\' if i + 1 < inner.len() => {
                match inner[i + 1] {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'0' => out.push(0),
                    b'b' => out.push(8),
                    b'Z' => out.push(26),
                    x @ (b'%' | b'_') => out.extend([b'\\', x]),
                    x => out.push(x),
                }
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

/// Splits `sql` into tokens. With `ansi_quotes`, `"..."` is an identifier.
pub fn lex(sql: &str, ansi_quotes: bool) -> Result<Vec<Token>, LexError> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // Executable comments nest their content in the token stream; remember their ends.
    let mut exec_ends: Vec<usize> = Vec::new();
    let err = |offset: usize, reason: &str| LexError { offset, reason: reason.into() };
    while i < b.len() {
        let c = b[i];
        if exec_ends.last() == Some(&i) {
            exec_ends.pop();
            i += 2;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#'
            || (c == b'-' && b.get(i + 1) == Some(&b'-') && b.get(i + 2).is_none_or(|x| x.is_ascii_whitespace()))
        {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let close = sql[i + 2..].find("*/").map(|p| i + 2 + p).ok_or_else(|| err(i, "unterminated comment"))?;
            let exec = match b.get(i + 2) {
                Some(b'!') => Some(i + 3),
                Some(b'M') if b.get(i + 3) == Some(&b'!') => Some(i + 4),
                _ => None,
            };
            if let Some(mut j) = exec {
                while j < close && b[j].is_ascii_digit() {
                    j += 1;
                }
                exec_ends.push(close);
                i = j;
            } else {
                i = close + 2;
            }
            continue;
        }
        let start = i;
        if c == b'`' || (c == b'"' && ansi_quotes) {
            let (text, end) = quoted(sql, i, c).ok_or_else(|| err(i, "unterminated quoted identifier"))?;
            out.push(Token { kind: Kind::Quoted, text, start, end });
            i = end;
            continue;
        }
        if c == b'\'' || c == b'"' {
            let end = string_end(b, i, c).ok_or_else(|| err(i, "unterminated string"))?;
            out.push(Token { kind: Kind::Str, text: sql[start..end].to_string(), start, end });
            i = end;
            continue;
        }
        if c == b'@' {
            let mut j = i + 1;
            if b.get(j) == Some(&b'@') {
                j += 1;
            }
            if let Some(&q) = b.get(j).filter(|q| matches!(q, b'`' | b'\'' | b'"')) {
                j = if q == b'`' { quoted(sql, j, q).map(|x| x.1) } else { string_end(b, j, q) }
                    .ok_or_else(|| err(j, "unterminated variable name"))?;
            } else {
                while j < b.len()
                    && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'_' | b'$' | b'.') || b[j] >= 0x80)
                {
                    j += 1;
                }
            }
            out.push(Token { kind: Kind::Variable, text: sql[start..j].to_string(), start, end: j });
            i = j;
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.' || b[j] == b'_') {
                j += 1;
            }
            // `1e10`, `0x1F`, but also identifiers that start with digits (`1col`).
            let word = &sql[i..j];
            let numeric = word.bytes().all(|x| x.is_ascii_digit() || x == b'.')
                || word.starts_with("0x")
                || word.starts_with("0b")
                || word.parse::<f64>().is_ok();
            out.push(Token {
                kind: if numeric { Kind::Number } else { Kind::Word },
                text: word.to_string(),
                start,
                end: j,
            });
            i = j;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c >= 0x80 {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'$' || b[j] >= 0x80) {
                j += 1;
            }
            // x'..', b'..', N'..', _charset'..' literals
            if b.get(j) == Some(&b'\'')
                && (j - i == 1 && matches!(c, b'x' | b'X' | b'b' | b'B' | b'n' | b'N') || c == b'_')
            {
                let end = string_end(b, j, b'\'').ok_or_else(|| err(j, "unterminated string"))?;
                out.push(Token { kind: Kind::Str, text: sql[start..end].to_string(), start, end });
                i = end;
                continue;
            }
            out.push(Token { kind: Kind::Word, text: sql[i..j].to_string(), start, end: j });
            i = j;
            continue;
        }
        let two = sql.get(i..i + 2).unwrap_or("");
        let len =
            if matches!(two, "<=" | ">=" | "<>" | "!=" | ":=" | "||" | "&&" | "<<" | ">>" | "->") { 2 } else { 1 };
        let len = if sql.get(i..i + 3) == Some("<=>") || sql.get(i..i + 3) == Some("->>") { 3 } else { len };
        let end = (i + len).min(b.len());
        let end = (end..=b.len()).find(|&e| sql.is_char_boundary(e)).unwrap_or(b.len());
        out.push(Token { kind: Kind::Punct, text: sql[start..end].to_string(), start, end });
        i = end;
    }
    Ok(out)
}

/// Reads a quoted identifier starting at `i` (quote `q`, doubled to escape); returns the
/// unquoted text and the end offset.
fn quoted(sql: &str, i: usize, q: u8) -> Option<(String, usize)> {
    let b = sql.as_bytes();
    let mut j = i + 1;
    let mut text = String::new();
    let mut seg = j;
    loop {
        let p = j + sql[j..].find(q as char)?;
        if b.get(p + 1) == Some(&q) {
            text.push_str(&sql[seg..=p]);
            j = p + 2;
            seg = j;
        } else {
            text.push_str(&sql[seg..p]);
            return Some((text, p + 1));
        }
    }
}

/// The end offset of a string starting at `i` with quote `q` (doubled quotes and backslash
/// escapes both handled, as the default sql_mode reads them).
fn string_end(b: &[u8], i: usize, q: u8) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            x if x == q => {
                if b.get(j + 1) == Some(&q) {
                    j += 2;
                } else {
                    return Some(j + 1);
                }
            }
            _ => j += 1,
        }
    }
    None
}

/// Replaces byte spans of `sql` (non-overlapping, any order) and returns the new text.
pub fn splice(sql: &str, mut edits: Vec<(usize, usize, String)>) -> String {
    edits.sort_by_key(|e| e.0);
    let mut out = String::with_capacity(sql.len() + 16);
    let mut at = 0;
    for (s, e, text) in edits {
        if s < at {
            continue;
        }
        out.push_str(&sql[at..s]);
        out.push_str(&text);
        at = e;
    }
    out.push_str(&sql[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<String> {
        lex(sql, false).unwrap().into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn identifiers_strings_and_comments() {
        assert_eq!(
            texts("ALTER TABLE `we``ird`.t1 ADD c INT -- tail\n"),
            ["ALTER", "TABLE", "we`ird", ".", "t1", "ADD", "c", "INT"]
        );
        assert_eq!(texts("/* x */ DROP TABLE a /*!40005 IF EXISTS */"), ["DROP", "TABLE", "a", "IF", "EXISTS"]);
        assert_eq!(texts("CREATE /*!40005 TEMPORARY */ TABLE t"), ["CREATE", "TEMPORARY", "TABLE", "t"]);
        assert_eq!(texts("x = 'it''s \\' here' # c"), ["x", "=", "'it''s \\' here'"]);
        assert_eq!(
            texts("SELECT _utf8mb4'a' , x'41', @@sql_mode, @`v`"),
            ["SELECT", "_utf8mb4'a'", ",", "x'41'", ",", "@@sql_mode", ",", "@`v`"]
        );
        let t = lex("\"a b\".c", true).unwrap();
        assert_eq!((t[0].kind.clone(), t[0].text.as_str()), (Kind::Quoted, "a b"));
        assert!(lex("SELECT 'open", false).is_err());
        assert!(lex("SELECT `open", false).is_err());
        assert_eq!(texts("CREATE TABLE t1 (1col INT)"), ["CREATE", "TABLE", "t1", "(", "1col", "INT", ")"]);
    }

    #[test]
    fn splicing_keeps_every_other_byte() {
        let sql = "RENAME TABLE /* keep */ a TO `b`";
        let t = lex(sql, false).unwrap();
        let edits = vec![(t[2].start, t[2].end, "`x`".into()), (t[4].start, t[4].end, "`y`".into())];
        assert_eq!(splice(sql, edits), "RENAME TABLE /* keep */ `x` TO `y`");
    }
}
