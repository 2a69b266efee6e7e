//! A two-way task: both directions in one process.
//!
//! The forward direction (`[source]` A → `[destination]` B) runs the task's phases as a one-way
//! task does; the reverse direction (B → A, [`Config::reverse`]) is incremental only. Before the
//! forward direction's first run writes anything, B's binlog position is recorded as the
//! reverse direction's start (in its state on A), so every later write to B is either the
//! forward direction's own — marked, and dropped by the reverse reader at its first row
//! (`dts_types::origin`, `Router`'s echoes) — or an application's, which goes to A. The reverse
//! direction runs once the forward one is in incremental sync (B then has every table; its
//! precheck passes), and reads from that start, so nothing written to B in between is missed.
//!
//! One direction stopping stops the other; the first error is the task's. Each direction holds
//! its own lease (on the server it writes to), so a second runner of the task file is refused
//! by the first lease it meets.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mysql::Conn;
use mysql::prelude::Queryable;

use crate::config::Config;
use crate::run::{RunOptions, RunReport, TaskError, connect};
use crate::state::{Phase, StateTable};

/// Runs both directions of `config` (a two-way task file, loaded as its forward direction).
pub(crate) fn run(config: &Config, o: &RunOptions) -> Result<RunReport, TaskError> {
    let reverse = config.reverse();
    prepare(config, &reverse)?;
    let reverse_stop = Arc::new(AtomicBool::new(false));
    let reverse_o = RunOptions {
        exit_when_caught_up: o.exit_when_caught_up,
        acknowledged: o.acknowledged.clone(),
        stop: reverse_stop.clone(),
        ..RunOptions::default()
    };
    let o = &RunOptions { echo_probe: Default::default(), ..o.clone() };
    let forward_done = AtomicBool::new(false);
    let reverse_done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let reverse_thread = s.spawn(|| {
            let r = (|| {
                // Until the forward direction is in incremental sync: B then has every table.
                while !o.in_incremental.load(Ordering::SeqCst) {
                    if forward_done.load(Ordering::SeqCst) || reverse_stop.load(Ordering::SeqCst) {
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                // Both readers must drop the other direction's marks: a probe on each server.
                if let Err(e) = write_probes(config, &reverse, o, &reverse_o) {
                    return Some(Err(e));
                }
                let _span = tracing::info_span!("reverse").entered();
                tracing::info!(
                    task = reverse.name(),
                    "two-way: the reverse direction starts ([destination] → [source])"
                );
                Some(crate::run::run_direction(&reverse, &reverse_o))
            })();
            reverse_done.store(true, Ordering::SeqCst);
            if matches!(r, Some(Err(_))) {
                // The task stops as a whole.
                o.stop.store(true, Ordering::SeqCst);
            }
            r
        });
        // The reverse direction follows the process's stop, and the forward direction's end
        // (unless that end is "caught up": then it catches up too, on its own).
        s.spawn(|| {
            while !reverse_done.load(Ordering::SeqCst) {
                let forward_ended_early = forward_done.load(Ordering::SeqCst) && !o.exit_when_caught_up;
                if o.stop.load(Ordering::SeqCst) || forward_ended_early {
                    reverse_stop.store(true, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let forward = crate::run::run_direction(config, o);
        if forward.is_err() || forward.as_ref().is_ok_and(|r| r.stopped_by_request) {
            reverse_stop.store(true, Ordering::SeqCst);
        }
        forward_done.store(true, Ordering::SeqCst);
        let reverse_result = reverse_thread.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        match (forward, reverse_result) {
            (Err(e), _) => Err(e),
            (Ok(_), Some(Err(e))) => Err(TaskError::Reverse(Box::new(e))),
            (Ok(mut f), r) => {
                if let Some(Ok(r)) = r {
                    f.stopped_by_request |= r.stopped_by_request;
                    f.reverse_apply = r.apply;
                }
                Ok(f)
            }
        }
    })
}

/// Whether the server's binlog filters (`binlog_do_db`, `binlog_ignore_db`, as its binlog status
/// shows them) leave out the metadata database `meta`, and how.
fn binlog_leaves_out(c: &mut Conn, meta: &dts_types::Ident) -> Result<Option<String>, mysql::Error> {
    let dialect = dts_types::dialect::Dialect::of(c)?;
    let Some(row) = c.query_first::<mysql::Row, _>(dialect.binlog_status())? else { return Ok(None) };
    let list = |i: usize| -> Vec<String> {
        row.get_opt::<String, _>(i)
            .and_then(Result::ok)
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let (only, ignored) = (list(2), list(3));
    Ok(if ignored.iter().any(|d| d == meta.as_str()) {
        Some(format!("does not log the metadata database {meta} (binlog_ignore_db)"))
    } else if !only.is_empty() && !only.iter().any(|d| d == meta.as_str()) {
        Some(format!("logs only {} (binlog_do_db), not the metadata database {meta}", only.join(", ")))
    } else {
        None
    })
}

/// A transaction of `mark` alone on `c`, between the two positions returned.
fn probe(c: &mut Conn, mark: &dts_types::origin::OriginMark) -> Result<crate::input::EchoProbe, TaskError> {
    let from = dts_fullcopy::source_binlog_position(c)?;
    let write = |c: &mut Conn| -> Result<(), mysql::Error> {
        c.query_drop("BEGIN")?;
        c.query_drop(mark.mark_sql())?;
        c.query_drop("COMMIT")
    };
    write(c).map_err(TaskError::Destination)?;
    let to = dts_fullcopy::source_binlog_position(c)?;
    Ok(crate::input::EchoProbe { from, to, seen: false })
}

/// The probes each direction's reader must drop (`crate::input::EchoProbe`): the reverse
/// direction's mark on `[source]` for the forward reader, the forward one's on
/// `[destination]` for the reverse reader.
fn write_probes(forward: &Config, reverse: &Config, fo: &RunOptions, ro: &RunOptions) -> Result<(), TaskError> {
    let mut a = connect(forward.source.opts()).map_err(TaskError::Source)?;
    let mut b = connect(forward.destination.opts()).map_err(TaskError::Destination)?;
    *fo.echo_probe.lock() = Some(probe(&mut a, &reverse.origin_mark())?);
    *ro.echo_probe.lock() = Some(probe(&mut b, &forward.origin_mark())?);
    Ok(())
}

/// What must hold before either direction writes, and the reverse direction's start.
fn prepare(forward: &Config, reverse: &Config) -> Result<(), TaskError> {
    let mut a = connect(forward.source.opts()).map_err(TaskError::Source)?;
    let mut b = connect(forward.destination.opts()).map_err(TaskError::Destination)?;
    refuse_what_cannot_sync_both_ways(forward, &mut a, &mut b)?;
    for (c, side, err) in [
        (&mut a, "[source]", TaskError::Source as fn(mysql::Error) -> TaskError),
        (&mut b, "[destination]", TaskError::Destination),
    ] {
        if let Some(why) = binlog_leaves_out(c, &forward.meta_db).map_err(err)? {
            return Err(TaskError::TwoWay(format!(
                "{side} {why}, where each direction's origin marks are: transactions synced one way would come back the other (a loop); log it (remove the option from the server's configuration and restart it)"
            )));
        }
    }
    // The marks' tables, before the first marked write on either server.
    for (c, mark, err) in [
        (&mut b, forward.origin_mark(), TaskError::Destination as fn(mysql::Error) -> TaskError),
        (&mut a, reverse.origin_mark(), TaskError::Source),
    ] {
        c.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", mark.db.quoted())).map_err(err)?;
        c.query_drop(mark.create_sql()).map_err(err)?;
    }
    let forward_state = StateTable { task: forward.name().to_string(), db: forward.meta_db.clone() };
    let reverse_state = StateTable { task: reverse.name().to_string(), db: reverse.meta_db.clone() };
    reverse_state.ensure(&mut a).map_err(TaskError::Source)?;
    let resuming = reverse_state.read(&mut a).map_err(TaskError::Source)?.and_then(|s| s.incremental_from).is_some();
    // [destination] is the reverse direction's source: its binlog must serve it as [source]'s
    // serves the forward direction (whose own precheck checks [source]).
    let failed: Vec<String> = dts_precheck::binlog_source_items(&mut b, reverse.raw.task.server_id, resuming)
        .map_err(TaskError::Destination)?
        .into_iter()
        .filter(|i| i.status == dts_precheck::Status::Failure && i.id != "source.checkpoint_binlog")
        .map(|i| format!("{}: {} ({}); fix: {}", i.id, i.title, i.found, i.fix))
        .collect();
    if !failed.is_empty() {
        return Err(TaskError::TwoWay(format!(
            "[destination] cannot be the reverse direction's source:\n  {}",
            failed.join("\n  ")
        )));
    }
    if resuming {
        return Ok(());
    }
    forward_state.ensure(&mut b).map_err(TaskError::Destination)?;
    if forward_state.read(&mut b).map_err(TaskError::Destination)?.is_some() {
        return Err(TaskError::TwoWay(format!(
            "the task {} ran before without [two_way]: what it wrote to [destination] is not marked, so the reverse direction cannot start from before its first write. Reset the task (dts-sync reset --config {}) and run it again, or sync back with a task of its own",
            forward.name(),
            forward.path.display()
        )));
    }
    // B's position before the forward direction's first write: the reverse direction's start.
    let p = dts_fullcopy::without_prepared_xa(&mut b, dts_fullcopy::source_binlog_position)?;
    crate::history::bootstrap(reverse, &p).map_err(crate::input::SourceError::from)?;
    reverse_state.set_phase(&mut a, Phase::Incremental).map_err(TaskError::Source)?;
    reverse_state.set_incremental_from(&mut a, &p).map_err(TaskError::Source)?;
    tracing::info!(task = forward.name(), reverse_from = %p, "two-way: the reverse direction will start at [destination]'s position before the first write");
    Ok(())
}

/// Tables two-way sync cannot keep equal, refused before anything is written: tables without a
/// key (a row cannot be found on the other node for its conflict check), sequences (both nodes
/// would hand out the same values), and AUTO_INCREMENT columns when both nodes generate the
/// same values.
fn refuse_what_cannot_sync_both_ways(config: &Config, a: &mut Conn, b: &mut Conn) -> Result<(), TaskError> {
    let tables = crate::run::mapped_tables(config, a).map_err(TaskError::Source)?;
    let mut keyless = Vec::new();
    let mut sequences = Vec::new();
    let mut auto_increment = Vec::new();
    for t in &tables {
        let (db, name) = (t.source.database.as_str(), t.source.table.as_str());
        let kind: Option<String> = a
            .exec_first(
                "SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (db, name),
            )
            .map_err(TaskError::Source)?;
        if kind.as_deref() == Some("SEQUENCE") {
            sequences.push(t.source.to_string());
            continue;
        }
        let keyed: Option<u8> = a
            .exec_first(
                "SELECT 1 FROM information_schema.STATISTICS s WHERE s.TABLE_SCHEMA = ? AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0 \
                 GROUP BY s.INDEX_NAME HAVING SUM(s.NULLABLE = 'YES') = 0 LIMIT 1",
                (db, name),
            )
            .map_err(TaskError::Source)?;
        if keyed.is_none() {
            keyless.push(t.source.to_string());
        }
        let auto: Option<u8> = a
            .exec_first(
                "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND EXTRA LIKE '%auto_increment%'",
                (db, name),
            )
            .map_err(TaskError::Source)?;
        if auto.is_some() {
            auto_increment.push(t.source.to_string());
        }
    }
    if !keyless.is_empty() {
        return Err(TaskError::TwoWay(format!(
            "tables without a primary key or a unique key of NOT NULL columns cannot sync both ways (a row could not be found on the other node to check it for conflicts): {}; give them a key, or leave them out of the two-way task",
            keyless.join(", ")
        )));
    }
    if !sequences.is_empty() {
        return Err(TaskError::TwoWay(format!(
            "sequences cannot sync both ways (each node hands out its own values, and copying one node's state back would make them repeat): {}; leave them out of the two-way task",
            sequences.join(", ")
        )));
    }
    if !auto_increment.is_empty() {
        let read = |c: &mut Conn| -> Result<(u64, u64), mysql::Error> {
            Ok(c.query_first("SELECT @@GLOBAL.auto_increment_increment, @@GLOBAL.auto_increment_offset")?
                .unwrap_or((1, 1)))
        };
        let on_a = read(a).map_err(TaskError::Source)?;
        let on_b = read(b).map_err(TaskError::Destination)?;
        if let Some(why) = auto_increment_collision(on_a, on_b) {
            return Err(TaskError::TwoWay(format!(
                "{why}: both nodes would generate the same AUTO_INCREMENT values for {}; set for example `SET GLOBAL auto_increment_increment = 2, auto_increment_offset = 1` on [source] and `SET GLOBAL auto_increment_increment = 2, auto_increment_offset = 2` on [destination] (and in their configuration files)",
                auto_increment.join(", ")
            )));
        }
    }
    Ok(())
}

/// Why two nodes' `(auto_increment_increment, auto_increment_offset)` can generate one value
/// twice (`None`: their values are disjoint).
fn auto_increment_collision((inc_a, off_a): (u64, u64), (inc_b, off_b): (u64, u64)) -> Option<String> {
    let shown =
        format!("auto_increment_increment/offset are {inc_a}/{off_a} on [source] and {inc_b}/{off_b} on [destination]");
    if inc_a != inc_b || inc_a < 2 {
        return Some(shown);
    }
    // The server takes the offset modulo nothing: an offset above the increment is ignored
    // (treated as 1), as MariaDB documents.
    let eff = |off: u64| if off > inc_a { 1 } else { off } % inc_a;
    (eff(off_a) == eff(off_b)).then_some(shown)
}

#[cfg(test)]
mod tests {
    use super::auto_increment_collision;

    #[test]
    fn auto_increment_settings_must_hand_out_disjoint_values() {
        assert!(auto_increment_collision((1, 1), (1, 1)).is_some());
        assert!(auto_increment_collision((2, 1), (2, 1)).is_some());
        assert!(auto_increment_collision((2, 1), (3, 2)).is_some());
        assert!(auto_increment_collision((2, 1), (2, 2)).is_none());
        assert!(auto_increment_collision((3, 1), (3, 3)).is_none());
        // An offset above the increment counts as 1.
        assert!(auto_increment_collision((2, 1), (2, 5)).is_some());
    }
}
