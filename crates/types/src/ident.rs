//! Names of databases, tables and columns, and their quoting wherever they become SQL.
//!
//! An [`Ident`] holds a name exactly as the server stores it (case preserved) and can only be
//! built from a name the server would accept, so quoting it never produces invalid SQL. Quoting
//! always uses backticks with embedded backticks doubled: that form is valid under every sql_mode,
//! ANSI_QUOTES included.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest identifier MySQL and MariaDB accept for databases, tables and columns, in characters.
pub const MAX_IDENT_CHARS: usize = 64;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentError {
    /// The name is empty.
    #[error("an identifier must not be empty")]
    Empty,
    /// The name is longer than [`MAX_IDENT_CHARS`].
    #[error("identifier {name:?} is {chars} characters long; the limit is {MAX_IDENT_CHARS}")]
    TooLong {
        /// The name.
        name: String,
        /// Its length in characters.
        chars: usize,
    },
    /// The name contains NUL.
    #[error("identifier {name:?} contains the NUL character, which MySQL does not allow")]
    Nul {
        /// The name.
        name: String,
    },
    /// The name contains a character outside the Basic Multilingual Plane.
    #[error(
        "identifier {name:?} contains a character outside the Basic Multilingual Plane, which MySQL does not allow in names"
    )]
    Supplementary {
        /// The name.
        name: String,
    },
    /// The name ends with a space.
    #[error("identifier {name:?} ends with a space, which MySQL does not allow in names")]
    TrailingSpace {
        /// The name.
        name: String,
    },
}

/// A database, table or column name as the server stores it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ident(String);

impl Ident {
    /// Validates `name` against the server's rules for identifiers.
    pub fn new(name: impl Into<String>) -> Result<Self, IdentError> {
        let name = name.into();
        if name.is_empty() {
            return Err(IdentError::Empty);
        }
        let chars = name.chars().count();
        if chars > MAX_IDENT_CHARS {
            return Err(IdentError::TooLong { name, chars });
        }
        if name.contains('\0') {
            return Err(IdentError::Nul { name });
        }
        if name.chars().any(|c| c as u32 > 0xFFFF) {
            return Err(IdentError::Supplementary { name });
        }
        if name.ends_with(' ') {
            return Err(IdentError::TrailingSpace { name });
        }
        Ok(Ident(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name quoted for SQL: `` `a``b` `` for a name ``a`b``.
    pub fn quoted(&self) -> String {
        quote_ident(&self.0)
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl TryFrom<String> for Ident {
    type Error = IdentError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Ident::new(s)
    }
}

impl TryFrom<&str> for Ident {
    type Error = IdentError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Ident::new(s)
    }
}

impl From<Ident> for String {
    fn from(i: Ident) -> String {
        i.0
    }
}

impl AsRef<str> for Ident {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Quotes any string as a backtick identifier, doubling embedded backticks.
///
/// Prefer [`Ident::quoted`], which also guarantees the name is one the server accepts.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    push_quoted_ident(&mut out, name);
    out
}

/// Appends `name` quoted as a backtick identifier to `out`.
pub fn push_quoted_ident(out: &mut String, name: &str) {
    out.push('`');
    for c in name.chars() {
        if c == '`' {
            out.push('`');
        }
        out.push(c);
    }
    out.push('`');
}

/// A table: its database and its name.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TableId {
    /// The database.
    pub database: Ident,
    /// The table's name.
    pub table: Ident,
}

impl TableId {
    /// The table `database`.`table`.
    pub fn new(database: Ident, table: Ident) -> Self {
        TableId { database, table }
    }

    /// Builds a table id from two strings, validating both.
    pub fn parse(database: &str, table: &str) -> Result<Self, IdentError> {
        Ok(TableId { database: Ident::new(database)?, table: Ident::new(table)? })
    }

    /// `db.table` as the names are, unquoted: for reports that name tables that way (verify's
    /// `source`/`target`, progress lines). Removing the backticks of [`TableId::quoted`] would
    /// also drop a backtick inside a name.
    pub fn plain(&self) -> String {
        format!("{}.{}", self.database.as_str(), self.table.as_str())
    }

    /// `` `db`.`table` ``
    pub fn quoted(&self) -> String {
        let mut out = String::with_capacity(self.database.0.len() + self.table.0.len() + 5);
        push_quoted_ident(&mut out, self.database.as_str());
        out.push('.');
        push_quoted_ident(&mut out, self.table.as_str());
        out
    }
}

/// Shows the quoted form, so messages name tables unambiguously (a name may contain a dot).
impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.quoted())
    }
}

impl fmt::Debug for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TableId({})", self.quoted())
    }
}

/// A column of a table.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ColumnId {
    /// The table.
    pub table: TableId,
    /// The column's name.
    pub column: Ident,
}

impl ColumnId {
    /// The column `column` of `table`.
    pub fn new(table: TableId, column: Ident) -> Self {
        ColumnId { table, column }
    }

    /// `` `db`.`table`.`column` ``
    pub fn quoted(&self) -> String {
        let mut out = self.table.quoted();
        out.push('.');
        push_quoted_ident(&mut out, self.column.as_str());
        out
    }
}

impl fmt::Display for ColumnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.quoted())
    }
}

impl fmt::Debug for ColumnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ColumnId({})", self.quoted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_backticks_and_keeps_everything_else() {
        assert_eq!(quote_ident("plain"), "`plain`");
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(quote_ident("``"), "``````");
        assert_eq!(quote_ident("we'ird \"na.me\\"), "`we'ird \"na.me\\`");
        assert_eq!(quote_ident("表"), "`表`");
    }

    #[test]
    fn table_and_column_ids_quote_each_part() {
        let t = TableId::parse("my.db", "t`1").unwrap();
        assert_eq!(t.quoted(), "`my.db`.`t``1`");
        let c = ColumnId::new(t, Ident::new("c").unwrap());
        assert_eq!(c.to_string(), "`my.db`.`t``1`.`c`");
    }

    #[test]
    fn invalid_names_are_rejected_with_the_reason() {
        assert_eq!(Ident::new(""), Err(IdentError::Empty));
        assert!(matches!(Ident::new("a".repeat(65)), Err(IdentError::TooLong { chars: 65, .. })));
        assert!(Ident::new("é".repeat(64)).is_ok(), "the limit counts characters, not bytes");
        assert!(matches!(Ident::new("a\0b"), Err(IdentError::Nul { .. })));
        assert!(matches!(Ident::new("😀"), Err(IdentError::Supplementary { .. })));
        assert!(matches!(Ident::new("t "), Err(IdentError::TrailingSpace { .. })));
        assert!(Ident::new(" t").is_ok());
    }

    #[test]
    fn serde_validates_names() {
        let ok: Result<Ident, _> = Ident::try_from("x".to_string());
        assert!(ok.is_ok());
        let bad: Result<Ident, _> = Ident::try_from(String::new());
        assert!(bad.is_err());
    }
}
