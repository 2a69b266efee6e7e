//! Which server the task reads: recorded when incremental sync first starts, checked at every
//! start after.
//!
//! Checkpoints are binlog file and offset on that server. Another server (a replica promoted
//! after a failover, or the `[source]` pointed elsewhere) has other files; the same name and
//! offset there are another place, or past the end, and reading from them would re-read or skip
//! changes without a word. So a changed identity is never read by file and offset: the task
//! follows it by GTID or stops naming both servers and the fix (`crate::source_switch`).

use dts_types::dialect::{Dialect, Flavour};
use dts_types::{BinlogPosition, GtidPosition, Ident, SourcePosition};
use mysql::Conn;
use mysql::prelude::Queryable;

/// A server's identity: `server_id`, and on MySQL `server_uuid` (MariaDB has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub server_id: u64,
    pub server_uuid: String,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "server_id {}", self.server_id)?;
        if !self.server_uuid.is_empty() {
            write!(f, ", server_uuid {}", self.server_uuid)?;
        }
        Ok(())
    }
}

impl Identity {
    /// The identity of the server `conn` is connected to.
    pub fn of(conn: &mut Conn) -> Result<Identity, mysql::Error> {
        let server_id: Option<u64> = conn.query_first("SELECT @@GLOBAL.server_id")?;
        let server_uuid = match Dialect::of(conn)?.flavour {
            // A NULL server_uuid (never on a server that has the variable) reads as none.
            Flavour::MySql => conn.query_first::<String, _>("SELECT @@GLOBAL.server_uuid")?.unwrap_or_default(),
            Flavour::MariaDb => String::new(),
        };
        Ok(Identity { server_id: server_id.unwrap_or(0), server_uuid })
    }
}

/// The task's recorded source in its metadata database (table `source_identity`).
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub task: String,
    pub db: Ident,
}

impl Recorded {
    fn table(&self) -> String {
        format!("{}.`source_identity`", self.db.quoted())
    }

    /// The recorded identity, recording `current` first if there is none (a new task, or one
    /// from before identities were kept).
    pub fn check_or_record(&self, dest: &mut Conn, current: &Identity) -> Result<Identity, mysql::Error> {
        dest.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", self.db.quoted()))?;
        dest.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL PRIMARY KEY, server_id BIGINT UNSIGNED NOT NULL, \
             server_uuid VARCHAR(64) NOT NULL, recorded_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) \
             DEFAULT CHARSET=utf8mb4",
            self.table()
        ))?;
        dest.exec_drop(
            format!("INSERT IGNORE INTO {} (task, server_id, server_uuid) VALUES (?, ?, ?)", self.table()),
            (&self.task, current.server_id, &current.server_uuid),
        )?;
        let (server_id, server_uuid): (u64, String) = dest
            .exec_first(format!("SELECT server_id, server_uuid FROM {} WHERE task = ?", self.table()), (&self.task,))?
            .unwrap_or((current.server_id, current.server_uuid.clone()));
        Ok(Identity { server_id, server_uuid })
    }

    fn start_table(&self) -> String {
        format!("{}.`source_start`", self.db.quoted())
    }

    /// Records where incremental sync first started reading, with the GTID state there: the
    /// point to follow a failover from while the applier has no checkpoint yet (nothing changed
    /// since the full copy).
    /// (After [`Recorded::ensure_start`].)
    pub fn record_start(&self, dest: &mut Conn, start: &SourcePosition) -> Result<(), mysql::Error> {
        dest.exec_drop(
            format!("REPLACE INTO {} (task, binlog_file, binlog_pos, gtid) VALUES (?, ?, ?, ?)", self.start_table()),
            (&self.task, &start.binlog.file, start.binlog.offset, start.gtid.as_ref().map(|g| g.to_string())),
        )
    }

    /// Creates the table of [`Recorded::record_start`] where missing.
    pub fn ensure_start(&self, dest: &mut Conn) -> Result<(), mysql::Error> {
        dest.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL PRIMARY KEY, binlog_file VARCHAR(255) NOT NULL, \
             binlog_pos BIGINT UNSIGNED NOT NULL, gtid TEXT NULL) DEFAULT CHARSET=utf8mb4",
            self.start_table()
        ))
    }

    /// Where incremental sync first started reading, if recorded and still `at`.
    pub fn start(&self, dest: &mut Conn, at: &BinlogPosition) -> Result<Option<SourcePosition>, mysql::Error> {
        let exists: Option<u8> = dest.exec_first(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'source_start'",
            (self.db.as_str(),),
        )?;
        if exists.is_none() {
            return Ok(None);
        }
        let row: Option<(String, u64, Option<String>)> = dest.exec_first(
            format!("SELECT binlog_file, binlog_pos, gtid FROM {} WHERE task = ?", self.start_table()),
            (&self.task,),
        )?;
        Ok(row
            .map(|(f, p, g)| SourcePosition {
                binlog: BinlogPosition::new(f, p),
                gtid: g.and_then(|g| GtidPosition::parse(&g).ok()),
            })
            .filter(|s| s.binlog == *at))
    }

    /// Records `current` as the task's source (after it followed a failover to it by GTID).
    pub fn replace(&self, dest: &mut Conn, current: &Identity) -> Result<(), mysql::Error> {
        dest.exec_drop(
            format!("REPLACE INTO {} (task, server_id, server_uuid) VALUES (?, ?, ?)", self.table()),
            (&self.task, current.server_id, &current.server_uuid),
        )
    }
}
