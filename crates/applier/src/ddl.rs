//! DDL as a barrier: run on a fresh connection set up with the session the statement had on
//! the source (sql_mode, time_zone, charset, timestamp, default database).

use dts_types::SourcePosition;
use dts_types::retry::ErrorClass;
use mysql::Opts;
use mysql::prelude::Queryable;

use crate::apply::connect;
use crate::checkpoint::{DoneRange, Writer};
use crate::target::Plans;
use crate::txn::DestTxn;
use crate::{ApplyError, ApplyStats, Ddl};

/// Runs a DDL once everything before it has committed (`txn` is not open), then commits its
/// checkpoint at `at` on the applier's connection, with its done range in parallel mode. A
/// crash in between runs the DDL again on resume, which then fails harmlessly the same way.
/// The table plans are forgotten: columns may have changed.
pub(crate) fn barrier(
    txn: &mut DestTxn,
    dest: &Opts,
    plans: &mut Plans,
    d: &Ddl,
    at: &SourcePosition,
    done: Option<&DoneRange>,
    stats: &mut ApplyStats,
) -> Result<(), ApplyError> {
    debug_assert!(!txn.is_open(), "a DDL runs after what is before it has committed");
    plans.clear();
    // DDL cannot be in the checkpoint's transaction: the runner's lease is checked just before.
    txn.check_fence()?;
    apply(dest, d, stats)?;
    txn.commit_at(Writer::Main, Some(at), done, stats)?;
    stats.commits += 1;
    Ok(())
}

/// Runs the statements of `d`. A statement the destination refuses is recorded in
/// `stats.ddl_failed` and sync goes on; a transient error stops (the caller retries from the
/// checkpoint, which then runs the DDL again).
fn apply(dest: &Opts, d: &Ddl, stats: &mut ApplyStats) -> Result<(), ApplyError> {
    let setup = session(d)?;
    let mut c = connect(dest)?;
    for s in &setup {
        // The session as the source had it. A setting the destination lacks (a newer sql_mode
        // flag, a named time zone without time zone tables) is logged and the DDL still runs:
        // where the setting matters the statement itself fails and is reported below.
        if let Err(e) = c.query_drop(s) {
            tracing::warn!(setting = %s, error = %dts_types::describe::chain(&e), "the destination refused a DDL session setting");
        }
    }
    for s in &d.statements {
        match c.query_drop(s) {
            Ok(()) => stats.ddl_applied += 1,
            Err(e) => {
                let e = ApplyError::Sql(e);
                if e.class() != ErrorClass::Definite {
                    return Err(e);
                }
                stats.ddl_failed.push(format!("{s}: {e}"));
            }
        }
    }
    Ok(())
}

/// The statements that set up the source's session.
fn session(d: &Ddl) -> Result<Vec<String>, ApplyError> {
    let mut setup = Vec::new();
    if let Some(m) = d.sql_mode {
        setup.push(format!("SET SESSION sql_mode = {m}"));
    }
    if let Some(tz) = &d.time_zone {
        let lit = dts_types::Value::String(dts_types::Text::utf8mb4(tz)).to_sql_literal()?;
        setup.push(format!("SET SESSION time_zone = {lit}"));
    }
    if let Some((client, conn, server)) = d.charset {
        setup.push(format!(
            "SET SESSION character_set_client = {client}, collation_connection = {conn}, collation_server = {server}"
        ));
    }
    if let Some((secs, micros)) = d.timestamp {
        setup.push(format!("SET SESSION timestamp = {secs}.{:06}", micros.unwrap_or(0)));
    }
    if let Some(db) = &d.database {
        setup.push(format!("USE {}", dts_types::quote_ident(db)));
    }
    Ok(setup)
}
