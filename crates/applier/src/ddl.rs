//! DDL as a barrier: run on a fresh connection set up with the session the statement had on
//! the source (sql_mode, time_zone, charset, timestamp, default database).

use dts_types::SourcePosition;
use dts_types::retry::{ErrorClass, is_already_done};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts};

use crate::apply::connect;
use crate::checkpoint::{DoneRange, Writer};
use crate::ddl_log::{DdlErrors, DdlLog, DdlOutcome};
use crate::target::Plans;
use crate::txn::DestTxn;
use crate::{ApplyError, ApplyStats, Ddl};

/// Runs a DDL once everything before it has committed (`txn` is not open), then commits its
/// checkpoint at `at` on the applier's connection — with its outcome in the DDL log, and its
/// done range in parallel mode. A statement the task skipped is only recorded. The table plans
/// are forgotten: columns may have changed. The transaction counts as applied here when the DDL
/// applied, unless its rows committed before it counted it already (`rows_counted`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn barrier(
    txn: &mut DestTxn,
    dest: &Opts,
    plans: &mut Plans,
    ctx: &DdlContext,
    d: &Ddl,
    at: &SourcePosition,
    done: Option<&DoneRange>,
    rows_counted: bool,
    stats: &mut ApplyStats,
) -> Result<(), ApplyError> {
    debug_assert!(!txn.is_open(), "a DDL runs after what is before it has committed");
    let gtid = at.gtid.as_ref().map(|g| g.to_string());
    let (outcome, reason) = match &d.skipped {
        Some(reason) => {
            tracing::debug!(statement = %d.source, reason, "statement not applied");
            (DdlOutcome::Skipped, Some(reason.clone()))
        }
        None => {
            plans.clear();
            // DDL cannot be in the checkpoint's transaction: the runner's lease is checked just
            // before it.
            txn.check_fence()?;
            run(txn.conn()?, dest, ctx, d, gtid.as_deref(), stats)?
        }
    };
    txn.meta(&ctx.log.write_sql(d, gtid.as_deref(), outcome, reason.as_deref()))?;
    for r in &d.record {
        txn.meta(r)?;
    }
    if outcome == DdlOutcome::Applied && !rows_counted {
        txn.count_transactions(1);
    }
    txn.commit_at(Writer::Main, Some(at), done.map_or(&[], std::slice::from_ref), stats)?;
    Ok(())
}

/// What the DDL barrier needs besides the statement: where outcomes are recorded and what a
/// refused statement does.
#[derive(Debug, Clone)]
pub(crate) struct DdlContext {
    pub log: DdlLog,
    pub errors: DdlErrors,
}

/// Runs the statements of `d` and says how it ended. A statement the destination refuses
/// stops the task (`ddl_errors = stop`: the error, after its row says `failed`) or is
/// recorded and logged at WARN (`skip`); a transient error stops so that the caller retries
/// from the checkpoint, which then runs the DDL again.
fn run(
    meta: &mut Conn,
    dest: &Opts,
    ctx: &DdlContext,
    d: &Ddl,
    gtid: Option<&str>,
    stats: &mut ApplyStats,
) -> Result<(DdlOutcome, Option<String>), ApplyError> {
    // A row still `running` is the last run's, stopped between the statement and its checkpoint.
    let rerun = ctx.log.outcome_at(meta, &d.position)? == Some(DdlOutcome::Running);
    meta.query_drop(ctx.log.write_sql(d, gtid, DdlOutcome::Running, None))?;
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
    let mut failures = Vec::new();
    for s in &d.statements {
        match c.query_drop(s) {
            Ok(()) => stats.ddl_applied += 1,
            Err(e) if rerun && is_already_done(&e) => {
                tracing::info!(statement = %s, position = %d.position, "DDL already applied before the last stop: {e}");
                stats.ddl_applied += 1;
            }
            Err(e) => {
                let e = ApplyError::Sql(e);
                if e.class() != ErrorClass::Definite {
                    return Err(e);
                }
                let reason = format!("{s}: {}", dts_types::describe::chain(&e));
                if ctx.errors == DdlErrors::Stop {
                    meta.query_drop(ctx.log.write_sql(d, gtid, DdlOutcome::Failed, Some(&reason)))?;
                    return Err(ApplyError::Ddl {
                        position: d.position.to_string(),
                        statement: s.clone(),
                        source: Box::new(e),
                    });
                }
                tracing::warn!(statement = %s, position = %d.position, error = %dts_types::describe::chain(&e),
                    "the destination refused a DDL statement; going on (ddl_errors = skip)");
                stats.ddl_failed.push(reason.clone());
                failures.push(reason);
            }
        }
    }
    Ok(if failures.is_empty() { (DdlOutcome::Applied, None) } else { (DdlOutcome::Failed, Some(failures.join("\n"))) })
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
