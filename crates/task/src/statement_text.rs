//! A statement's text as the task acts on it: decoded exactly from the character_set_client of
//! the session that ran it ([`dts_binlog::Statement::text`]), translated, and applied as UTF-8
//! under character_set_client utf8mb4 with the source session's collation_connection (see
//! [`destination_charset`]). The server converts every literal from the client charset to the
//! connection charset, and identifiers and comments to UTF-8, so converting the text to UTF-8
//! first gives the same characters. A string with a character set introducer (`_latin1'..'`,
//! `N'..'`) is not converted by the server but taken byte for byte; under a client charset
//! other than UTF-8, such a string holding non-ASCII text cannot be carried exactly through
//! UTF-8 text, so it stops the task, as does text that cannot be decoded — never a lossy copy.

use dts_binlog::Statement;
use dts_schema::lexer::{Kind, lex};
use dts_types::Charset;

use crate::input::SourceError;

/// utf8mb4_general_ci: the collation id the applier's DDL session sets character_set_client
/// by (`SET character_set_client = 45`), as the text it sends is UTF-8.
const UTF8MB4_COLLATION_ID: u16 = 45;

/// The statement's text, exactly, or the stop naming it.
pub(crate) fn decode(s: &Statement) -> Result<String, SourceError> {
    let undecodable = |reason: String| SourceError::Undecodable {
        statement: s.sql_lossy(),
        charset: s.context.client_charset.map_or_else(|| "unknown".to_string(), |c| c.name().to_string()),
        reason,
    };
    let text = s.text().map_err(|e| undecodable(dts_types::describe::chain(&e)))?;
    let charset = s.context.client_charset.unwrap_or(Charset::UTF8MB4);
    if charset.is_utf8() || charset.is_binary() {
        // The text goes out as the very bytes the source read.
        return Ok(text);
    }
    if let Some(lit) = introduced_non_ascii(&text, charset) {
        return Err(undecodable(format!(
            "the string {lit} has a character set introducer, so the source read its bytes as they are, not \
             converted from {charset}; it cannot be replayed exactly. Run the statement from a session with SET NAMES \
             utf8mb4, or write the string without the introducer"
        )));
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
