//! The statements and variable names that differ by server flavour and version, chosen in this
//! one place: MySQL 8.4 removed `SHOW MASTER STATUS` and `SHOW SLAVE HOSTS` (8.2 and 8.0.22
//! brought their replacements) and names a replica's session variables `@source_*` from 8.0.26;
//! MariaDB keeps the old names and has its own GTID variables.
//!
//! ```
//! use dts_types::dialect::Dialect;
//! let d = Dialect::from_version("8.4.3");
//! assert_eq!(d.binlog_status(), "SHOW BINARY LOG STATUS");
//! assert_eq!(Dialect::from_version("10.11.6-MariaDB-0+deb12u1").binlog_status(), "SHOW MASTER STATUS");
//! ```

use mysql::Conn;
use mysql::prelude::Queryable;

/// Which server family a server belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// MariaDB.
    MariaDb,
    /// MySQL (and Percona Server).
    MySql,
}

/// A server's flavour and version: what decides how to ask it things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// The family.
    pub flavour: Flavour,
    /// (major, minor, patch).
    pub version: (u32, u32, u32),
}

impl Dialect {
    /// From `SELECT @@version` text: `10.11.6-MariaDB-0+deb12u1-log`, `8.4.3`, `8.0.36-28`
    /// (MariaDB's `5.5.5-` replication prefix is skipped).
    pub fn from_version(text: &str) -> Dialect {
        let flavour = if text.to_ascii_lowercase().contains("mariadb") { Flavour::MariaDb } else { Flavour::MySql };
        let t = text.strip_prefix("5.5.5-").unwrap_or(text);
        let mut parts =
            t.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap_or(0));
        let version = (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        Dialect { flavour, version }
    }

    /// Asks the server.
    pub fn of(conn: &mut Conn) -> Result<Dialect, mysql::Error> {
        let text: Option<String> = conn.query_first("SELECT @@version")?;
        // No version text (never from a real server) reads as MySQL 0.0.0: the oldest names.
        Ok(Dialect::from_version(&text.unwrap_or_default()))
    }

    fn mysql_from(&self, version: (u32, u32, u32)) -> bool {
        self.flavour == Flavour::MySql && self.version >= version
    }

    /// The current binlog file and offset (first two columns of the result).
    pub fn binlog_status(&self) -> &'static str {
        if self.mysql_from((8, 2, 0)) { "SHOW BINARY LOG STATUS" } else { "SHOW MASTER STATUS" }
    }

    /// The connected replicas (their server id in the first column).
    pub fn replicas(&self) -> &'static str {
        if self.mysql_from((8, 0, 22)) { "SHOW REPLICAS" } else { "SHOW SLAVE HOSTS" }
    }

    /// The binlog files (name and size in the first two columns); the same everywhere.
    pub fn binary_logs(&self) -> &'static str {
        "SHOW BINARY LOGS"
    }

    /// The GTID state of everything in the binlog.
    pub fn gtid_state(&self) -> &'static str {
        match self.flavour {
            Flavour::MariaDb => "SELECT @@GLOBAL.gtid_binlog_pos",
            Flavour::MySql => "SELECT @@GLOBAL.gtid_executed",
        }
    }

    /// The session variable a replica sets to ask for heartbeats (nanoseconds).
    pub fn heartbeat_variable(&self) -> &'static str {
        if self.mysql_from((8, 0, 26)) { "@source_heartbeat_period" } else { "@master_heartbeat_period" }
    }

    /// The session variable a replica sets to say it reads event checksums.
    pub fn checksum_variable(&self) -> &'static str {
        if self.mysql_from((8, 0, 26)) { "@source_binlog_checksum" } else { "@master_binlog_checksum" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact statements per version: where each rename happened, and that MariaDB keeps
    /// the old names.
    #[test]
    fn statements_per_version() {
        type Row = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str);
        let table: [Row; 7] = [
            (
                "10.11.6-MariaDB-0+deb12u1-log",
                "SHOW MASTER STATUS",
                "SHOW SLAVE HOSTS",
                "SELECT @@GLOBAL.gtid_binlog_pos",
                "@master_heartbeat_period",
                "@master_binlog_checksum",
            ),
            (
                "5.5.5-10.5.23-MariaDB",
                "SHOW MASTER STATUS",
                "SHOW SLAVE HOSTS",
                "SELECT @@GLOBAL.gtid_binlog_pos",
                "@master_heartbeat_period",
                "@master_binlog_checksum",
            ),
            (
                "5.7.44-log",
                "SHOW MASTER STATUS",
                "SHOW SLAVE HOSTS",
                "SELECT @@GLOBAL.gtid_executed",
                "@master_heartbeat_period",
                "@master_binlog_checksum",
            ),
            (
                "8.0.21",
                "SHOW MASTER STATUS",
                "SHOW SLAVE HOSTS",
                "SELECT @@GLOBAL.gtid_executed",
                "@master_heartbeat_period",
                "@master_binlog_checksum",
            ),
            (
                "8.0.22",
                "SHOW MASTER STATUS",
                "SHOW REPLICAS",
                "SELECT @@GLOBAL.gtid_executed",
                "@master_heartbeat_period",
                "@master_binlog_checksum",
            ),
            (
                "8.0.36-28",
                "SHOW MASTER STATUS",
                "SHOW REPLICAS",
                "SELECT @@GLOBAL.gtid_executed",
                "@source_heartbeat_period",
                "@source_binlog_checksum",
            ),
            (
                "8.4.3",
                "SHOW BINARY LOG STATUS",
                "SHOW REPLICAS",
                "SELECT @@GLOBAL.gtid_executed",
                "@source_heartbeat_period",
                "@source_binlog_checksum",
            ),
        ];
        for (version, status, replicas, gtid, heartbeat, checksum) in table {
            let d = Dialect::from_version(version);
            assert_eq!(d.binlog_status(), status, "{version}");
            assert_eq!(d.replicas(), replicas, "{version}");
            assert_eq!(d.gtid_state(), gtid, "{version}");
            assert_eq!(d.heartbeat_variable(), heartbeat, "{version}");
            assert_eq!(d.checksum_variable(), checksum, "{version}");
            assert_eq!(d.binary_logs(), "SHOW BINARY LOGS");
        }
        assert_eq!(Dialect::from_version("9.1.0").binlog_status(), "SHOW BINARY LOG STATUS");
        assert_eq!(Dialect::from_version("8.4.3").version, (8, 4, 3));
        assert_eq!(Dialect::from_version("5.5.5-10.5.23-MariaDB").version, (10, 5, 23));
    }
}
