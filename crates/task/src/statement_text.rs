//! A statement's text as the task acts on it: decoded exactly from the character_set_client of
//! the session that ran it ([`dts_binlog::Statement::text`]; charsets the reader has no table
//! for are converted by the source server itself, and must convert back to the same bytes),
//! translated, and applied as UTF-8 under character_set_client utf8mb4 with the source
//! session's collation_connection (see [`destination_charset`]). The server converts every
//! literal from the client charset to the connection charset, and identifiers and comments to
//! UTF-8, so converting the text to UTF-8 first gives the same characters. A string with a
//! character set introducer (`_latin1'..'`, `N'..'`) is not converted by the server but taken
//! byte for byte; under a client charset other than UTF-8, such a string holding non-ASCII text
//! under another charset's introducer cannot be carried exactly through UTF-8 text, so it stops
//! the task, as does text that cannot be decoded — never a lossy copy.

use dts_binlog::{Statement, StatementTextError};
use dts_schema::lexer::{Kind, lex};
use dts_types::{BinlogPosition, Charset};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder};

use crate::input::SourceError;

/// utf8mb4_general_ci: the collation id the applier's DDL session sets character_set_client
/// by (`SET character_set_client = 45`), as the text it sends is UTF-8.
const UTF8MB4_COLLATION_ID: u16 = 45;

/// Decodes statements' text (see the module doc), with a connection to the source for charsets
/// the reader has no table for, opened at the first such statement.
pub(crate) struct StatementText {
    source: Opts,
    conn: Option<Conn>,
    /// The last statement decoded, by its end position and bytes: the input and the router
    /// both ask for it.
    last: Option<(BinlogPosition, Vec<u8>, String)>,
}

impl std::fmt::Debug for StatementText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatementText").finish_non_exhaustive()
    }
}

impl StatementText {
    /// A decoder asking `source` where it must.
    pub(crate) fn new(source: Opts) -> Self {
        StatementText { source, conn: None, last: None }
    }

    /// The statement's text, exactly, or the stop naming it.
    pub(crate) fn decode(&mut self, s: &Statement) -> Result<String, SourceError> {
        if let Some((end, sql, text)) = &self.last
            && *end == s.end
            && sql[..] == s.sql[..]
        {
            return Ok(text.clone());
        }
        let text = self.decode_afresh(s)?;
        self.last = Some((s.end.clone(), s.sql.to_vec(), text.clone()));
        Ok(text)
    }

    fn decode_afresh(&mut self, s: &Statement) -> Result<String, SourceError> {
        let charset = s.context.client_charset;
        match s.text() {
            Err(StatementTextError::Decode(_))
                if charset.is_some_and(|c| c.is_ascii_compatible() && !c.is_utf8() && !c.is_binary()) =>
            {
                let cs = charset.expect("checked");
                let text = self.converted(&s.sql, cs).map_err(|source| SourceError::Conversion {
                    statement: s.sql_lossy(),
                    charset: cs.name().to_string(),
                    source,
                })?;
                match text {
                    Some(t) => checked(s, t),
                    None => Err(undecodable(
                        s,
                        format!(
                            "the source does not convert it to Unicode and back to the same bytes (it is not valid \
                             {cs} text). Run the statement from a session with SET NAMES utf8mb4"
                        ),
                    )),
                }
            }
            Err(e) => Err(undecodable(s, dts_types::describe::chain(&e))),
            Ok(t) => checked(s, t),
        }
    }

    /// `bytes` (text in `cs`) converted to Unicode by the source, if the source converts them
    /// back to the same bytes (so the destination reads the Unicode text into the same bytes).
    fn converted(&mut self, bytes: &[u8], cs: Charset) -> Result<Option<String>, mysql::Error> {
        let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
        let q = format!(
            "SELECT CONVERT(_{cs} X'{hex}' USING utf8mb4), HEX(CONVERT(CONVERT(_{cs} X'{hex}' USING utf8mb4) USING {cs}))"
        );
        let mut attempt = 0;
        loop {
            if self.conn.is_none() {
                let opts =
                    OptsBuilder::from_opts(self.source.clone()).init(dts_types::session::init_statements().to_vec());
                self.conn = Some(Conn::new(opts)?);
            }
            let c = self.conn.as_mut().expect("connected");
            match c.query_first::<(Vec<u8>, String), _>(&q) {
                Ok(row) => {
                    let clean = c.warnings() == 0;
                    return Ok(row
                        .filter(|(_, back)| clean && *back == hex)
                        .and_then(|(t, _)| String::from_utf8(t).ok()));
                }
                // A lost connection: once more on a new one.
                Err(e) if attempt == 0 => {
                    tracing::debug!(error = %dts_types::describe::chain(&e), "converting a statement's text: reconnecting");
                    self.conn = None;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn undecodable(s: &Statement, reason: String) -> SourceError {
    SourceError::Undecodable {
        statement: s.sql_lossy(),
        charset: s.context.client_charset.map_or_else(|| "unknown".to_string(), |c| c.name().to_string()),
        reason,
    }
}

/// Decoded text, unless it holds a string the server read without converting it.
fn checked(s: &Statement, text: String) -> Result<String, SourceError> {
    let charset = s.context.client_charset.unwrap_or(Charset::UTF8MB4);
    if charset.is_utf8() || charset.is_binary() {
        // The text goes out as the very bytes the source read.
        return Ok(text);
    }
    if let Some(lit) = introduced_non_ascii(&text, charset) {
        return Err(undecodable(
            s,
            format!(
                "the string {lit} has a character set introducer, so the source read its bytes as they are, not \
             converted from {charset}; it cannot be replayed exactly. Run the statement from a session with SET NAMES \
             utf8mb4, or write the string without the introducer"
            ),
        ));
    }
    Ok(text)
}

/// The session charsets the destination runs the decoded text with: character_set_client
/// utf8mb4 (the text is UTF-8), the source's collation_connection and collation_server.
pub(crate) fn destination_charset(source: Option<(u16, u16, u16)>) -> Option<(u16, u16, u16)> {
    source.map(|(_, connection, server)| (UTF8MB4_COLLATION_ID, connection, server))
}

/// The first string literal with a character set introducer other than `client`
/// (`_cs'..'`, `_cs '..'`, `N'..'`) holding non-ASCII text: its bytes were not converted from
/// the client charset. Text the lexer cannot read is left to the translator, which names it.
fn introduced_non_ascii(text: &str, client: Charset) -> Option<String> {
    let tokens = lex(text, false).ok()?;
    let other = |name: &str| Charset::from_name(name).is_some_and(|c| c != client);
    for (i, t) in tokens.iter().enumerate() {
        if t.kind != Kind::Str || t.text.is_ascii() {
            continue;
        }
        let prefix = &t.text[..t.text.find('\'').unwrap_or(0)];
        let prefixed = match prefix {
            "N" | "n" => client != Charset::UTF8MB3,
            p => p.len() > 1 && p.starts_with('_') && other(&p[1..]),
        };
        let introduced = i > 0 && {
            let p = &tokens[i - 1];
            p.kind == Kind::Word && p.text.len() > 1 && p.text.starts_with('_') && other(&p.text[1..])
        };
        if prefixed || introduced {
            return Some(t.text.chars().take(40).collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn introduced_strings_with_non_ascii_text_are_found() {
        let f = |text: &str| introduced_non_ascii(text, Charset::LATIN1);
        assert!(f("ALTER TABLE t ADD c ENUM('café')").is_none());
        assert!(f("ALTER TABLE t ADD c VARCHAR(5) DEFAULT _utf8mb4'abc'").is_none());
        // The client's own charset as introducer: its bytes are read as they would be converted.
        assert!(f("SELECT _latin1'café'").is_none());
        assert_eq!(f("SELECT _utf8mb4'café'").as_deref(), Some("_utf8mb4'café'"));
        assert_eq!(f("SELECT _utf8mb4 'é'").as_deref(), Some("'é'"));
        assert_eq!(f("SELECT N'é'").as_deref(), Some("N'é'"));
        assert!(f("SELECT _nope 'é'").is_none());
    }

    #[test]
    fn the_destination_reads_utf8_text_into_the_source_connection_charset() {
        assert_eq!(destination_charset(Some((8, 8, 45))), Some((45, 8, 45)));
        assert_eq!(destination_charset(None), None);
    }
}
