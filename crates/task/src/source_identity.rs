//! Which server the task reads: recorded when incremental sync first starts, checked at every
//! start after.
//!
//! Checkpoints are binlog file and offset on that server. Another server (a replica promoted
//! after a failover, or the `[source]` pointed elsewhere) has other files; the same name and
//! offset there are another place, or past the end, and reading from them would re-read or skip
//! changes without a word. So a changed identity stops the task, naming both servers and the
//! checkpoint, until it can resume by GTID (issue 21).

use dts_types::dialect::{Dialect, Flavour};
use dts_types::{Ident, SourcePosition};
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
}

/// The message when the source is another server than the one the checkpoint is on.
pub(crate) fn changed(recorded: &Identity, current: &Identity, checkpoint: Option<&SourcePosition>) -> String {
    let at = checkpoint.map_or_else(|| "the full copy's position".to_string(), |p| p.to_string());
    format!(
        "the source is another server than the one this task has been reading: it was {recorded}, it is now \
         {current}; the checkpoint {at} is a position in the old server's binlog, and reading the new one from there \
         would re-read or skip changes. Point [source] back at the server with {recorded}, or start over from this \
         one (`dts-sync reset --yes`, then `run` with schema and full sync); resuming by GTID after a failover is \
         not supported yet"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_both_servers_the_checkpoint_and_the_fix() {
        let old = Identity { server_id: 1, server_uuid: String::new() };
        let new = Identity { server_id: 7, server_uuid: "3e11fa47-71ca-11e1-9e33-c80aa9429562".into() };
        let p = SourcePosition { binlog: dts_types::BinlogPosition::new("binlog.000003", 1234), gtid: None };
        let m = changed(&old, &new, Some(&p));
        assert!(m.contains("it was server_id 1, it is now server_id 7, server_uuid 3e11fa47"), "{m}");
        assert!(m.contains("binlog.000003:1234") && m.contains("dts-sync reset --yes"), "{m}");
    }
}
