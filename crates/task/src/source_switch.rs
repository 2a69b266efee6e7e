//! Where incremental sync starts reading, and following the source to another server by GTID.
//!
//! A MariaDB source with GTIDs (in `gtid_strict_mode`) is read by GTID: on the server the
//! checkpoint was taken on, from the GTID state at the checkpoint's file and offset
//! (`BINLOG_GTID_POS`, the server's own answer, so it is exact even for a checkpoint saved
//! without one); the positions the reader reports are that server's file and offset again (the
//! dump starts with a ROTATE naming the file), so done ranges, recopy and snapshot positions
//! compare as before. By file and offset where the source has no GTIDs, is MySQL (its GTID sets
//! are not followed yet), or runs without strict mode (see [`same_server`]).
//!
//! On another server (a promoted replica: other `server_id`, other files and offsets, the same
//! GTIDs) the task resumes from the checkpoint's GTID state when that server's binlog holds it
//! ([`dts_types::GtidHistory::serves`]), and stops naming the missing GTIDs otherwise. Before it
//! reads, every piece of task state holding a position of the old server is *rebased*: moved to
//! the new server's position `Q` where reading resumes (the start of the first transaction after
//! the checkpoint there, or its end of binlog), so no position of one server is ever compared
//! with one of the other. That is only exact when nothing the task recorded lies past the
//! checkpoint (parallel workers' done ranges after a crash, a table copied again or a snapshot
//! from a later point, schema history read ahead): then the task stops and says so.

use dts_binlog::{BinlogReader, Item, ReaderParts, ReplicaOptions, StartPosition};
use dts_types::{BinlogPosition, GtidPosition, GtidShortfall, MariaGtidList, SourcePosition};
use mysql::Conn;
use mysql::prelude::Queryable;

use crate::config::Config;
use crate::input::SourceError;
use crate::source_identity::Identity;

/// How to read the server the checkpoint is on from `at`.
pub(crate) enum SameServer {
    /// By GTID, from the state at `at`.
    Gtid(MariaGtidList),
    /// By file and offset, with the GTID state there when the source has GTIDs.
    File(Option<MariaGtidList>),
}

/// How to read the connected source (the server the task has been reading) from `at`: by
/// GTID when it is a MariaDB server with GTIDs in strict mode and the state at `at` is not
/// empty. Without `gtid_strict_mode` a GTID start may differ from a file start (a domain's
/// sequence numbers out of order in the binlog stop a strict dump), so such a source is read
/// by file and offset, the GTID state at `at` given to the reader all the same: the checkpoints
/// hold the exact state either way, for a failover later.
pub(crate) fn same_server(source: &mut Conn, at: &BinlogPosition) -> Result<SameServer, mysql::Error> {
    if dts_types::dialect::Dialect::of(source)?.flavour != dts_types::dialect::Flavour::MariaDb {
        return Ok(SameServer::File(None));
    }
    let (now, strict): (Option<String>, Option<u8>) =
        source.query_first("SELECT @@GLOBAL.gtid_binlog_pos, @@GLOBAL.gtid_strict_mode")?.unwrap_or((None, None));
    if now.is_none_or(|g| g.trim().is_empty()) {
        return Ok(SameServer::File(None));
    }
    // NULL when the file is gone: reading by file says so (the binlog was purged).
    let g: Option<Option<String>> = source.exec_first("SELECT BINLOG_GTID_POS(?, ?)", (&at.file, at.offset))?;
    let g = g.flatten().and_then(|g| g.parse::<MariaGtidList>().ok()).filter(|g| !g.is_empty());
    Ok(match g {
        Some(g) if strict == Some(1) => SameServer::Gtid(g),
        other => SameServer::File(other),
    })
}

/// Checks that the binlog at the checkpoint `from` is the one the task read: the server's GTID
/// state at that file and offset (`how`) is the checkpoint's in each of the checkpoint's
/// domains, and the file reaches that offset.
/// After `RESET MASTER`, or a server restored from a backup at the same address, the same file
/// name and offset is another place in another history: reading there would skip or repeat
/// transactions (or stop on a checksum error in the middle of an event). A checkpoint without a
/// MariaDB GTID state (GTIDs off, MySQL) is not checked.
pub(crate) fn same_history(source: &mut Conn, from: &SourcePosition, how: &SameServer) -> Result<(), SourceError> {
    let Some(GtidPosition::MariaDb(ck)) = from.gtid.as_ref().filter(|g| !g.to_string().is_empty()) else {
        return Ok(());
    };
    let at = &from.binlog;
    let fix = "The source's binlog was reset (RESET MASTER) or replaced (a server restored from a backup at the same \
               address); reading on would skip or repeat transactions. Start over from this server (`dts-sync reset \
               --yes`, then `run` with schema and full sync)";
    let dialect = dts_types::dialect::Dialect::of(source).map_err(SourceError::Identity)?;
    let files: Vec<mysql::Row> = source.query(dialect.binary_logs()).map_err(SourceError::Identity)?;
    let size = files.iter().find_map(|r| {
        let name: Option<String> = r.get(0);
        name.filter(|n| *n == at.file).and_then(|_| r.get::<u64, _>(1))
    });
    if let Some(size) = size.filter(|&size| size < at.offset) {
        return Err(SourceError::BinlogReplaced(format!(
            "the checkpoint is at {at} (GTID {ck}), but the source's {} ends at {size}. {fix}",
            at.file
        )));
    }
    let there = match how {
        SameServer::Gtid(g) | SameServer::File(Some(g)) => Some(g),
        SameServer::File(None) => None,
    };
    // Per domain of the checkpoint: a domain only the server has (its own writes' domain, on a
    // promoted replica) is no sign of another history.
    let differs = |g: &MariaGtidList| ck.iter().any(|c| g.get(c.domain) != Some(*c));
    match there {
        Some(g) if differs(g) => Err(SourceError::BinlogReplaced(format!(
            "the checkpoint is at {at} after GTID {ck}, but the source's binlog at {at} is after GTID {g}. {fix}"
        ))),
        // The file is there (else reading by file says it was purged) but the server gives no
        // GTID state at the offset: it lies inside an event of another history.
        None if size.is_some() => Err(SourceError::BinlogReplaced(format!(
            "the checkpoint is at {at} after GTID {ck}, but the source's binlog at {at} is not the end of a \
             transaction (the server gives no GTID state for it). {fix}"
        ))),
        _ => Ok(()),
    }
}

/// How the task goes on after its source became another server.
pub(crate) struct Switched {
    /// Read from here by GTID.
    pub gtid: MariaGtidList,
    /// The new server's position where reading resumes; the task's state was moved to it.
    pub at: BinlogPosition,
}

/// The source is `current`, not the `recorded` server the checkpoint `from` was taken on:
/// checks that `current` can serve the checkpoint by GTID and that nothing the task recorded
/// lies past it, then rebases the task's state to `current`'s position and records the new
/// identity. Any refusal is a [`SourceError::SourceChanged`] naming what and the fix.
pub(crate) fn switch(
    config: &Config,
    fence: Option<&dts_types::fence::Fence>,
    server_id: u32,
    recorded: &Identity,
    current: &Identity,
    from: Option<&SourcePosition>,
) -> Result<Switched, SourceError> {
    let head = format!(
        "the source is another server than the one this task has been reading (it was {recorded}, it is now {current})"
    );
    let Some(from) = from else {
        return Err(SourceError::SourceChanged(format!(
            "{head}, and incremental sync has neither a checkpoint nor a recorded start with a GTID state: the \
             position it would start from is in the old server's binlog. Point [source] back at the server with \
             {recorded}, or start over from this one (`dts-sync reset --yes`, then `run`)"
        )));
    };
    let Some(GtidPosition::MariaDb(gtid)) = from.gtid.clone().filter(|g| !g.to_string().is_empty()) else {
        return Err(SourceError::SourceChanged(format!(
            "{head}; the checkpoint {from} holds no MariaDB GTID state to find its place on the new server by \
             (GTIDs off, or a MySQL source: following a MySQL failover is not supported yet). Point [source] back at \
             the server with {recorded}, or start over from this one (`dts-sync reset --yes`, then `run`)"
        )));
    };
    let mut src = crate::run::connect(config.source.opts()).map_err(SourceError::Identity)?;
    // `None` (a MySQL source, whose GTIDs are not followed yet): an empty history, which serves
    // no checkpoint, so the switch stops naming the GTIDs rather than reading by position.
    let history = dts_precheck::gtid_history(&mut src).map_err(SourceError::Identity)?.unwrap_or_default();
    match history.serves(&gtid) {
        Ok(()) => {}
        Err(short @ GtidShortfall::Missing(_)) => {
            return Err(SourceError::SourceChanged(format!(
                "{head}, and it lacks transactions the destination already holds: the checkpoint is at GTID {gtid}, but \
                 {short} (its binlog ends at {}). Resuming there would lose them on the destination. Point [source] at a \
                 server that has every transaction up to {gtid} (the old primary, or a replica that received all of \
                 them), or start over from this one (`dts-sync reset --yes`, then `run` with schema and full sync)",
                history.end
            )));
        }
        Err(short) => {
            return Err(SourceError::SourceChanged(format!(
                "{head}; the checkpoint is at GTID {gtid}, but {short}. Start over from this server (`dts-sync reset \
                 --yes`, then `run` with schema and full sync), and keep binlogs longer"
            )));
        }
    }
    let mut dst = crate::run::connect(config.destination.opts()).map_err(SourceError::Destination)?;
    if let Some(what) = pending_past(config, &mut dst, &from.binlog)? {
        return Err(SourceError::SourceChanged(format!(
            "{head}; the checkpoint's GTID state {gtid} is in its binlog, but {what} lies past the checkpoint in the old \
             server's binlog, which cannot be placed on the new one. Run the task once more against the server with \
             {recorded} until it catches up (`run --exit-when-caught-up`), then switch; or start over from this one \
             (`dts-sync reset --yes`)"
        )));
    }
    let at = match resume_point(config, server_id, &gtid) {
        // Its binlog reaches the checkpoint's seq_no, yet the server refuses the GTID itself:
        // another transaction has that seq_no there (the histories diverged), or it is purged.
        Err(SourceError::Binlog(dts_binlog::BinlogError::Purged { message, .. })) => {
            return Err(SourceError::SourceChanged(format!(
                "{head}; its binlog reaches the checkpoint's GTID state {gtid} by sequence number, but it refuses to \
                 send from there: {message}. Its history is not the old server's (a transaction of its own took one of \
                 those sequence numbers), or purged. Point [source] at a server that replicated the old one, or start \
                 over from this one (`dts-sync reset --yes`, then `run` with schema and full sync)"
            )));
        }
        other => other?,
    };
    let to = SourcePosition { binlog: at.clone(), gtid: Some(GtidPosition::MariaDb(gtid.clone())) };
    rebase(config, &mut dst, fence, &to, recorded, current).map_err(|e| match e {
        Rebase::Sql(e) => SourceError::Destination(e),
        Rebase::History(e) => SourceError::History(e),
        Rebase::Fenced(e) => SourceError::Fenced(e),
    })?;
    tracing::warn!(
        was = %recorded, now = %current, checkpoint = %from, gtid = %gtid, resumes_at = %at,
        "the source is another server: resuming by GTID there (the task's positions moved to the new server's binlog)"
    );
    Ok(Switched { gtid, at })
}

/// What the task recorded past the checkpoint `low`, in the old server's binlog, if anything.
fn pending_past(config: &Config, dst: &mut Conn, low: &BinlogPosition) -> Result<Option<String>, SourceError> {
    let e = SourceError::Destination;
    let ck = dts_applier::checkpoint::Checkpoint::new(config.name(), &config.meta_db);
    let done: Option<u8> = dst
        .exec_first(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'apply_done'",
            (config.meta_db.as_str(),),
        )
        .map_err(e)?;
    if done.is_some()
        && let Some(end) = ck.done_beyond(dst, low).map_err(SourceError::Checkpoint)?.first()
    {
        return Ok(Some(format!("a range of transactions parallel workers applied (up to {end})")));
    }
    let recopy = crate::recopy::RecopyTable { task: config.name().to_string(), db: config.meta_db.clone() };
    if let Some((t, p)) = recopy.recopied(dst).map_err(e)?.into_iter().find(|(_, p)| p > low) {
        return Ok(Some(format!("the copy of {t} made again at {p}")));
    }
    let late = crate::late_tables::LateTables { task: config.name().to_string(), db: config.meta_db.clone() };
    if let Some(((d, t), p)) = late.read(dst).map_err(e)?.into_iter().find(|(_, p)| p > low) {
        return Ok(Some(format!("the definition of {d}.{t} read at {p}")));
    }
    if let Some((t, p)) = crate::snapshots::read(config)?.into_iter().find(|(_, p)| p > low) {
        return Ok(Some(format!("the snapshot {t} was copied from at {p}")));
    }
    let ddl_log: Option<u8> = dst
        .exec_first(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'ddl_log'",
            (config.meta_db.as_str(),),
        )
        .map_err(e)?;
    if ddl_log.is_some() {
        let running: Option<(String, u64)> = dst
            .exec_first(
                format!(
                    "SELECT binlog_file, binlog_pos FROM {}.`ddl_log` WHERE task = ? AND outcome = 'running' LIMIT 1",
                    config.meta_db.quoted()
                ),
                (config.name(),),
            )
            .map_err(e)?;
        if let Some((f, p)) = running {
            return Ok(Some(format!(
                "the DDL at {f}:{p}, which ran on the destination before its checkpoint committed,"
            )));
        }
    }
    let history = dts_schema::SchemaHistory::new(config.name(), config.meta_db.clone());
    if let Some(p) = history.applied_to(dst)?.filter(|p| p > low) {
        return Ok(Some(format!("the schema history, read up to {p}")));
    }
    Ok(None)
}

/// The new server's position right after `gtid`: where the first transaction after it begins
/// (the server skips what the state holds), or its end of binlog when there is none yet (read
/// before the dump, so nothing logged after the dump can come before it).
fn resume_point(config: &Config, server_id: u32, gtid: &MariaGtidList) -> Result<BinlogPosition, SourceError> {
    let end = crate::input::source_end(&config.source.opts())?;
    let mut o = ReplicaOptions::new(server_id, StartPosition::MariaDbGtid(gtid.clone()));
    o.stop_at_end = true;
    o.retry_window = std::time::Duration::ZERO;
    // No row is decoded: only where the first transaction begins matters.
    let parts = ReaderParts { filter: Some(Box::new(|_| false)), ..Default::default() };
    let reader = BinlogReader::connect(config.source.opts(), o, parts)?;
    for item in reader {
        match item? {
            Item::Begin(b) => return Ok(b.start),
            Item::Heartbeat(p) => return Ok(p),
            _ => {}
        }
    }
    Ok(end)
}

enum Rebase {
    Sql(mysql::Error),
    History(dts_schema::HistoryError),
    Fenced(dts_types::fence::Fenced),
}

impl From<mysql::Error> for Rebase {
    fn from(e: mysql::Error) -> Self {
        Rebase::Sql(e)
    }
}

/// Moves every position the task keeps to `to` (on the new server), names the DDL log's
/// positions as `was`'s, and records `current` as the task's source, in one fenced destination
/// transaction.
fn rebase(
    config: &Config,
    dst: &mut Conn,
    fence: Option<&dts_types::fence::Fence>,
    to: &SourcePosition,
    was: &Identity,
    current: &Identity,
) -> Result<(), Rebase> {
    let task = config.name().to_string();
    let meta = &config.meta_db;
    let exists = |c: &mut Conn, t: &str| -> Result<bool, mysql::Error> {
        Ok(c.exec_first::<u8, _, _>(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (meta.as_str(), t),
        )?
        .is_some())
    };
    let (file, pos) = (&to.binlog.file, to.binlog.offset);
    let gtid = to.gtid.as_ref().map(|g| g.to_string());
    let ck = dts_applier::checkpoint::Checkpoint::new(&task, meta);
    let history = dts_schema::SchemaHistory::new(&task, meta.clone());
    let translator = crate::translator_state::TranslatorState::of(config);
    let t = |name: &str| format!("{}.{}", meta.quoted(), dts_types::quote_ident(name));
    // Tables created on first use by other parts: made now, as DDL would commit the transaction.
    history.ensure(dst).map_err(Rebase::History)?;
    translator.ensure(dst)?;
    let recorded = crate::source_identity::Recorded { task: task.clone(), db: meta.clone() };
    recorded.ensure_start(dst)?;
    dst.query_drop("START TRANSACTION")?;
    let result = (|| -> Result<(), Rebase> {
        if let Some(f) = fence {
            let found: Option<u64> = dst.query_first(f.check_sql())?;
            f.verify(found).map_err(Rebase::Fenced)?;
        }
        if exists(dst, "apply_checkpoint")? {
            for sql in ck.rebase_sql(to) {
                dst.query_drop(sql)?;
            }
        }
        history.rebase(dst, &to.binlog).map_err(Rebase::History)?;
        translator.rebase(dst, &to.binlog)?;
        if exists(dst, "table_recopy")? {
            dst.exec_drop(
                format!(
                    "UPDATE {} SET from_file = ?, from_pos = ? WHERE task = ? AND from_file IS NOT NULL",
                    t("table_recopy")
                ),
                (file, pos, &task),
            )?;
        }
        if exists(dst, "schema_created_late")? {
            dst.exec_drop(
                format!("UPDATE {} SET binlog_file = ?, binlog_pos = ? WHERE task = ?", t("schema_created_late")),
                (file, pos, &task),
            )?;
        }
        if exists(dst, "fullcopy_snapshots")? {
            dst.exec_drop(
                format!("UPDATE {} SET snapshot_file = ?, snapshot_pos = ? WHERE task = ?", t("fullcopy_snapshots")),
                (file, pos, &task),
            )?;
        }
        if exists(dst, "fullcopy_state")? {
            dst.exec_drop(
                format!(
                    "UPDATE {} SET low_file = ?, low_pos = ?, low_gtid = ?, high_file = IF(high_file IS NULL, NULL, ?), \
                     high_pos = IF(high_pos IS NULL, NULL, ?), high_gtid = IF(high_file IS NULL, NULL, ?) WHERE task = ?",
                    t("fullcopy_state")
                ),
                (file, pos, &gtid, file, pos, &gtid, &task),
            )?;
        }
        // The DDL log is a record, not a resume point: its positions stay, named as the old
        // server's, so the new server's statements never meet them.
        if exists(dst, "ddl_log")? {
            dst.exec_drop(
                format!(
                    "UPDATE {} SET binlog_file = CONCAT(?, binlog_file) WHERE task = ? AND binlog_file NOT LIKE '%/%'",
                    t("ddl_log")
                ),
                (format!("{was}/"), &task),
            )?;
        }
        if exists(dst, "task_state")? {
            crate::state::StateTable { task: task.clone(), db: meta.clone() }.set_incremental_from(dst, &to.binlog)?;
        }
        recorded.replace(dst, current)?;
        recorded.record_start(dst, to)?;
        Ok(())
    })();
    match result {
        Ok(()) => Ok(dst.query_drop("COMMIT")?),
        Err(e) => {
            // The rebase's error is what counts; a failed ROLLBACK ends with the connection.
            let _ = dst.query_drop("ROLLBACK");
            Err(e)
        }
    }
}
