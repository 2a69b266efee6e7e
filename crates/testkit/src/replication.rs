//! Native MariaDB replication between sandboxes, for failover tests: a replica of a primary by
//! GTID, waiting until it has everything, stopping it, promoting it.
//!
//! Every sandbox already logs what it replicates (`log_slave_updates`) with GTIDs in strict
//! mode; give a replica its own `gtid_domain_id` (`SandboxBuilder::gtid_domain_id`) so that
//! what it logs itself before its promotion never collides with its primary's sequence.

use std::time::Duration;

use mysql::prelude::Queryable;

use crate::{Sandbox, SandboxError};

impl Sandbox {
    /// Makes this server a replica of `primary` by GTID (`MASTER_USE_GTID = slave_pos`, from
    /// the start of `primary`'s binlog), and starts replicating.
    pub fn replicate_from(&self, primary: &Sandbox) -> Result<(), SandboxError> {
        let mut c = self.root_conn()?;
        // CHANGE MASTER takes no placeholders: the credentials are quoted here, and the
        // statement never appears in an error (only the server's message does).
        let quoted = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"));
        let change = format!(
            "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {}, MASTER_USER = {}, MASTER_PASSWORD = {}, \
             MASTER_USE_GTID = slave_pos",
            primary.port(),
            quoted(primary.user()),
            quoted(primary.password().expose())
        );
        c.query_drop(change).map_err(|e| self.sql("pointing the replica at its primary", e))?;
        c.query_drop("START SLAVE").map_err(|e| self.sql("starting replication", e))
    }

    /// Waits (at most `timeout`) until this replica has applied every transaction `primary`
    /// has logged so far.
    pub fn wait_replicated(&self, primary: &Sandbox, timeout: Duration) -> Result<(), SandboxError> {
        let pos: Option<String> = primary
            .root_conn()?
            .query_first("SELECT @@GLOBAL.gtid_binlog_pos")
            .map_err(|e| primary.sql("reading the primary's GTID position", e))?;
        let waited: Option<i64> = self
            .root_conn()?
            // A primary with no GTID yet: waiting for the empty position returns at once.
            .exec_first("SELECT MASTER_GTID_WAIT(?, ?)", (pos.unwrap_or_default(), timeout.as_secs_f64()))
            .map_err(|e| self.sql("waiting for the replica to catch up", e))?;
        if waited != Some(0) {
            let (name, seconds) = (self.name().to_string(), timeout.as_secs());
            return Err(SandboxError::TimedOut { name, what: "the replica catching up with its primary", seconds });
        }
        Ok(())
    }

    /// Stops replicating (the replica misses what its primary logs from now on).
    pub fn stop_replicating(&self) -> Result<(), SandboxError> {
        self.root_conn()?.query_drop("STOP SLAVE").map_err(|e| self.sql("stopping replication", e))
    }

    /// Promotes this replica: it stops replicating and forgets its primary (`RESET SLAVE ALL`).
    pub fn promote(&self) -> Result<(), SandboxError> {
        let mut c = self.root_conn()?;
        c.query_drop("STOP SLAVE").map_err(|e| self.sql("stopping replication", e))?;
        c.query_drop("RESET SLAVE ALL").map_err(|e| self.sql("forgetting the primary", e))
    }
}
