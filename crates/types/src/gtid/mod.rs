//! GTID positions of both flavours: MariaDB's `domain-server-seq` lists and MySQL's
//! `uuid[:tag]:intervals` sets.
//!
//! The two are different things: a MariaDB position holds the last GTID applied per replication
//! domain, while a MySQL set holds every transaction executed. [`GtidPosition`] keeps them apart
//! so no code mixes them up.

mod mariadb;
mod mysql;
mod resume;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use mariadb::{MariaGtid, MariaGtidList};
pub use mysql::{GtidTag, MysqlGtid, MysqlGtidSet, Uuid};
pub use resume::{GtidGap, GtidHistory, GtidShortfall};

/// Why a GTID text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {text:?}: {reason}")]
pub struct GtidParseError {
    /// What was being read (`MariaDB GTID`, `GTID tag`...).
    pub what: &'static str,
    /// The text.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl GtidParseError {
    pub(crate) fn new(what: &'static str, text: &str, reason: impl Into<String>) -> Self {
        GtidParseError { what, text: text.to_string(), reason: reason.into() }
    }
}

/// The GTID state of a source, in its own flavour.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "flavor", content = "gtid", rename_all = "lowercase")]
pub enum GtidPosition {
    /// A MariaDB source's position: the last GTID per domain.
    MariaDb(MariaGtidList),
    /// A MySQL source's executed GTID set.
    MySql(MysqlGtidSet),
}

impl GtidPosition {
    /// Reads a GTID position, telling the flavour by its shape: `0-1-10,1-2-5` is MariaDB,
    /// `3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5` is MySQL. An empty text is ambiguous and
    /// is refused; use the flavour's own parser for it.
    pub fn parse(text: &str) -> Result<Self, GtidParseError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(GtidParseError::new("GTID position", text, "empty; cannot tell MariaDB from MySQL"));
        }
        if t.contains(':') { Ok(GtidPosition::MySql(t.parse()?)) } else { Ok(GtidPosition::MariaDb(t.parse()?)) }
    }
}

impl fmt::Display for GtidPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GtidPosition::MariaDb(l) => l.fmt(f),
            GtidPosition::MySql(s) => s.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavour_is_told_by_shape() {
        assert!(matches!(GtidPosition::parse("0-1-10").unwrap(), GtidPosition::MariaDb(_)));
        assert!(matches!(
            GtidPosition::parse("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5").unwrap(),
            GtidPosition::MySql(_)
        ));
        assert!(GtidPosition::parse("  ").is_err());
    }
}
