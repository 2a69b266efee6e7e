//! What a server is: flavour, version and the global variables the checks read, and the version
//! items (each server supported; the pair workable).

use std::collections::BTreeMap;

use mysql::Conn;
use mysql::prelude::Queryable;

use crate::report::Item;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    MariaDb,
    MySql,
}

impl Flavour {
    pub fn name(self) -> &'static str {
        match self {
            Flavour::MariaDb => "MariaDB",
            Flavour::MySql => "MySQL",
        }
    }
}

/// A server's identity and settings, read once.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub flavour: Flavour,
    /// (major, minor, patch)
    pub version: (u32, u32, u32),
    pub version_text: String,
    /// Global variables by lower-case name.
    pub vars: BTreeMap<String, String>,
    /// `CURRENT_USER()`, as `user@host`.
    pub current_user: String,
}

/// The variables the checks read.
const VARIABLES: &[&str] = &[
    "version",
    "version_comment",
    "server_id",
    "log_bin",
    "binlog_format",
    "binlog_row_image",
    "binlog_row_metadata",
    "binlog_checksum",
    "gtid_mode",
    "gtid_strict_mode",
    "gtid_domain_id",
    "binlog_row_value_options",
    "binlog_transaction_compression",
    "log_bin_compress",
    "expire_logs_days",
    "binlog_expire_logs_seconds",
    "binlog_expire_logs_auto_purge",
    "lower_case_table_names",
    "max_allowed_packet",
    "read_only",
    "local_infile",
];

impl ServerInfo {
    pub fn read(conn: &mut Conn) -> Result<ServerInfo, mysql::Error> {
        let list = VARIABLES.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", ");
        let rows: Vec<(String, String)> =
            conn.query(format!("SHOW GLOBAL VARIABLES WHERE Variable_name IN ({list})"))?;
        let vars: BTreeMap<String, String> = rows.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        let current_user: String = conn.query_first("SELECT CURRENT_USER()")?.unwrap_or_default();
        let version_text = vars.get("version").cloned().unwrap_or_default();
        let comment = vars.get("version_comment").cloned().unwrap_or_default();
        let flavour = if version_text.to_lowercase().contains("mariadb") || comment.to_lowercase().contains("mariadb") {
            Flavour::MariaDb
        } else {
            Flavour::MySql
        };
        Ok(ServerInfo { flavour, version: parse_version(&version_text), version_text, vars, current_user })
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// A variable as a number (absent or unparsable: `None`).
    pub fn num(&self, name: &str) -> Option<f64> {
        self.var(name).and_then(|v| v.trim().parse().ok())
    }

    /// A boolean variable: ON, 1, TRUE.
    pub fn on(&self, name: &str) -> bool {
        self.var(name).is_some_and(|v| matches!(v.to_ascii_uppercase().as_str(), "ON" | "1" | "TRUE" | "YES"))
    }

    pub fn describe(&self) -> String {
        let (a, b, c) = self.version;
        format!("{} {a}.{b}.{c}", self.flavour.name())
    }
}

/// `10.11.6-MariaDB-0+deb12u1-log` → (10, 11, 6); MariaDB 5.5.5- prefixes are skipped.
pub fn parse_version(text: &str) -> (u32, u32, u32) {
    dts_types::dialect::Dialect::from_version(text).version
}

/// What the test suite runs against real servers: every end-to-end test and case.
const TESTED_LIVE: &str = "tested live against MariaDB 10.11 (every end-to-end test runs on it)";
/// What it checks for MySQL, where no MySQL server runs in the suite.
const TESTED_BY_FIXTURES: &str = "MySQL is tested by binlog fixture files (5.7 to 9.x) and the per-version statement \
     table (SHOW BINARY LOG STATUS from 8.2, SHOW REPLICAS from 8.0.22, @source_* from 8.0.26), not against a live \
     server";

/// Whether one server is supported, and how well.
pub fn version_item(side: &str, s: &ServerInfo) -> Item {
    let id = format!("{side}.version");
    let title = "a supported server version";
    let found = format!("{} ({})", s.describe(), s.version_text);
    let (major, minor, _) = s.version;
    match s.flavour {
        Flavour::MariaDb if (major, minor) >= (10, 5) => Item::pass(&id, title, format!("{found}; {TESTED_LIVE}")),
        Flavour::MariaDb => Item::failure(
            &id,
            title,
            found,
            "MariaDB 10.5 or later is supported (binlog metadata and GTID handling need it); upgrade the server",
        ),
        Flavour::MySql => match (major, minor) {
            (5, 7) | (8, 0) | (8, 4) => Item::pass(&id, title, format!("{found}; {TESTED_BY_FIXTURES}")),
            (8, 1..=3) | (9, _) => Item::warning(
                &id,
                title,
                format!("{found}: an innovation release, not tested"),
                "supported releases are MySQL 5.7, 8.0 and 8.4 LTS; acknowledge this warning to go on",
            ),
            _ => Item::failure(&id, title, found, "MySQL 5.7, 8.0 and 8.4 are supported; upgrade the server"),
        },
    }
}

/// Whether the pair works: same flavour and a destination at least as new is the safe case.
pub fn pair_item(source: &ServerInfo, dest: &ServerInfo) -> Item {
    let id = "pair.versions";
    let title = "source and destination versions work together";
    let found = format!("{} -> {}", source.describe(), dest.describe());
    let (s, d) = ((source.version.0, source.version.1), (dest.version.0, dest.version.1));
    match (source.flavour, dest.flavour) {
        (a, b) if a == b && d >= s => Item::pass(id, title, found),
        (a, b) if a == b => Item::warning(
            id,
            title,
            format!("{found}: the destination is older than the source"),
            "DDL and types new in the source's version may be refused by the destination; use a destination at least as new, or acknowledge",
        ),
        (Flavour::MySql, Flavour::MariaDb) => Item::warning(
            id,
            title,
            format!("{found}: MySQL to MariaDB"),
            "MySQL 8 collations (utf8mb4_0900_*), JSON columns (LONGTEXT in MariaDB) and some DDL have no exact MariaDB counterpart; check the schema after schema sync, then acknowledge",
        ),
        _ => Item::warning(
            id,
            title,
            format!("{found}: MariaDB to MySQL"),
            "MariaDB-only types and DDL (INET6, UUID, sequences, system-versioned tables) cannot be created on MySQL; leave them out of the selection, then acknowledge",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(flavour: Flavour, v: &str) -> ServerInfo {
        ServerInfo {
            flavour,
            version: parse_version(v),
            version_text: v.into(),
            vars: BTreeMap::new(),
            current_user: "u@%".into(),
        }
    }

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("10.11.6-MariaDB-0+deb12u1-log"), (10, 11, 6));
        assert_eq!(parse_version("5.5.5-10.4.33-MariaDB"), (10, 4, 33));
        assert_eq!(parse_version("8.0.36"), (8, 0, 36));
    }

    #[test]
    fn version_support() {
        use crate::report::Status::*;
        let st = |f, v| version_item("source", &info(f, v)).status;
        assert_eq!(st(Flavour::MariaDb, "10.11.6-MariaDB"), Pass);
        assert_eq!(st(Flavour::MariaDb, "10.4.33-MariaDB"), Failure);
        assert_eq!(st(Flavour::MySql, "5.7.44"), Pass);
        assert_eq!(st(Flavour::MySql, "8.4.3"), Pass);
        assert_eq!(st(Flavour::MySql, "9.1.0"), Warning);
        assert_eq!(st(Flavour::MySql, "5.6.51"), Failure);
        // What is tested live and what only by fixtures is said where it passes.
        let found = |f, v| version_item("source", &info(f, v)).found;
        assert!(found(Flavour::MariaDb, "10.11.6-MariaDB").contains("tested live against MariaDB 10.11"));
        let mysql = found(Flavour::MySql, "8.4.3");
        assert!(
            mysql.contains("binlog fixture files (5.7 to 9.x)") && mysql.contains("not against a live server"),
            "{mysql}"
        );
        let pair = |a, b| pair_item(&a, &b).status;
        assert_eq!(pair(info(Flavour::MariaDb, "10.6.1"), info(Flavour::MariaDb, "10.11.6")), Pass);
        assert_eq!(pair(info(Flavour::MariaDb, "10.11.6"), info(Flavour::MariaDb, "10.6.1")), Warning);
        assert_eq!(pair(info(Flavour::MySql, "8.0.36"), info(Flavour::MariaDb, "10.11.6")), Warning);
        assert_eq!(pair(info(Flavour::MariaDb, "10.11.6"), info(Flavour::MySql, "8.0.36")), Warning);
    }
}
