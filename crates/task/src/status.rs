//! `status`: what a task is doing, read from its metadata on the destination (phase, per-table
//! full copy progress, the applier's checkpoint, the last error) and from the source (how far
//! its binlog is ahead of the checkpoint).

use dts_applier::checkpoint::Checkpoint;
use mysql::prelude::Queryable;
use serde::Serialize;

use crate::config::Config;
use crate::state::StateTable;

/// One table's full copy progress.
#[derive(Debug, Clone, Serialize)]
pub struct TableStatus {
    /// The source table, `db.table`.
    pub table: String,
    /// Chunks copied.
    pub chunks_done: u64,
    /// Chunks planned.
    pub chunks: u64,
    /// Rows copied.
    pub rows_copied: u64,
}

/// What a task is doing, as `dts-sync status` shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    /// The task's name.
    pub task: String,
    /// `not started`, `schema`, `full`, `incremental` or `done`.
    pub phase: String,
    /// Whether a runner holds the task's lease now.
    pub running: bool,
    /// The task's life: `not started`, `running`, `stopped`, `failed` (see `last_error`) or
    /// `done`.
    pub state: String,
    /// Since when the task is in its state (UTC): running since the holder took the lease;
    /// stopped or failed since the last runner's lease ended.
    pub since: Option<String>,
    /// The runner holding the lease, or the last one (host, pid, since, lease end; UTC).
    pub holder: Option<crate::lease::Holder>,
    /// When the phase last changed.
    pub updated_at: Option<String>,
    /// The error the task last stopped with.
    pub last_error: Option<String>,
    /// Per table, the full copy's progress.
    pub full_copy: Vec<TableStatus>,
    /// Where incremental sync began.
    pub incremental_from: Option<String>,
    /// The applier's checkpoint: every source transaction up to here is applied.
    pub checkpoint: Option<String>,
    /// When the checkpoint was written.
    pub checkpoint_at: Option<String>,
    /// The source's end of binlog now.
    pub source_position: Option<String>,
    /// Bytes of binlog between the checkpoint and the source's end (same file only).
    pub lag_bytes: Option<u64>,
    /// Seconds behind the source: now minus the last source heartbeat applied (with the
    /// heartbeat on), else how long the checkpoint has not moved while the source is ahead.
    pub lag_seconds: Option<f64>,
    /// What incremental sync handed to the applier, over all runs.
    pub counters: crate::state::Counters,
    /// Every counter over the task's life, by name (`<meta>.metric_totals`, see
    /// [`dts_types::totals`]): what `/metrics` serves as `dts_<name>_total`. Among them
    /// `rows_in_snapshot`: row changes of tables copied from a snapshot of their own (keyless
    /// tables, foreign-key cascade groups) that the snapshot already held, so not applied again.
    pub totals: std::collections::BTreeMap<String, u64>,
    /// How the source's DDL statements ended (the DDL log in the metadata database).
    pub ddl: dts_applier::DdlCounts,
    /// The latest statements that failed or were warned about, newest first.
    pub ddl_attention: Vec<dts_applier::DdlEntry>,
    /// The latest statements of any outcome, newest first.
    pub ddl_recent: Vec<dts_applier::DdlEntry>,
}

/// How many entries of the DDL log `status` lists.
const DDL_SHOWN: usize = 5;

impl Status {
    /// The status as `dts-sync status` prints it.
    pub fn to_text(&self) -> String {
        let mut out = if self.state == self.phase {
            format!("task {}: {}\n", self.task, self.phase)
        } else {
            format!("task {}: {}, {}\n", self.task, self.phase, self.state)
        };
        if let Some(since) = &self.since {
            out.push_str(&format!("  {:<12} {since}\n", format!("{} since", self.state)));
        }
        if let Some(h) = &self.holder {
            if h.running {
                out.push_str(&format!("  running on   {} pid {} since {}\n", h.host, h.pid, h.since));
            } else if !h.host.is_empty() {
                out.push_str(&format!("  last run     {} pid {} from {} to {}\n", h.host, h.pid, h.since, h.expires));
            }
        }
        if let Some(u) = &self.updated_at {
            out.push_str(&format!("  phase since  {u}\n"));
        }
        if !self.full_copy.is_empty() {
            let (done, all, rows) = self
                .full_copy
                .iter()
                .fold((0, 0, 0), |(d, a, r), t| (d + t.chunks_done, a + t.chunks, r + t.rows_copied));
            out.push_str(&format!("  full copy    {done}/{all} chunks, {rows} rows\n"));
            for t in &self.full_copy {
                out.push_str(&format!(
                    "    {:<40} {}/{} chunks  {} rows\n",
                    t.table, t.chunks_done, t.chunks, t.rows_copied
                ));
            }
        }
        if let Some(p) = &self.incremental_from {
            out.push_str(&format!("  incremental from {p}\n"));
        }
        if let Some(c) = &self.checkpoint {
            out.push_str(&format!("  checkpoint   {c} (at {})\n", self.checkpoint_at.as_deref().unwrap_or("?")));
        }
        if let Some(s) = &self.source_position {
            out.push_str(&format!("  source at    {s}\n"));
        }
        match (self.lag_bytes, self.lag_seconds) {
            (Some(b), Some(s)) => out.push_str(&format!("  lag          {b} bytes, {s:.1} s\n")),
            (Some(b), None) => out.push_str(&format!("  lag          {b} bytes\n")),
            _ => {}
        }
        let k = &self.counters;
        if k.transactions > 0 {
            out.push_str(&format!(
                "  applied      {} transactions, {} row changes ({} left out by filters), {} DDL\n",
                k.transactions, k.row_changes, k.rows_filtered_out, k.ddl
            ));
        }
        if let Some(n) = self.totals.get("rows_in_snapshot").filter(|n| **n > 0) {
            out.push_str(&format!(
                "  snapshots    {n} row changes already in a table's snapshot copy, not applied again\n"
            ));
        }
        let echoes = self.totals.get("echo_transactions_dropped").copied().unwrap_or(0);
        let conflicts: Vec<String> = dts_applier::conflict::Class::ALL
            .iter()
            .filter_map(|c| self.totals.get(&c.total_name()).filter(|n| **n > 0).map(|n| format!("{} {n}", c.as_str())))
            .collect();
        if echoes > 0 || !conflicts.is_empty() {
            out.push_str(&format!(
                "  two-way      {echoes} transactions of the other direction dropped; conflicts: {}\n",
                if conflicts.is_empty() { "none".to_string() } else { conflicts.join(", ") }
            ));
        }
        let d = &self.ddl;
        if d.applied + d.skipped + d.failed > 0 {
            out.push_str(&format!(
                "  DDL          {} applied, {} skipped, {} failed ({} with warnings)\n",
                d.applied, d.skipped, d.failed, d.with_warnings
            ));
        }
        for e in &self.ddl_attention {
            out.push_str(&format!(
                "    {} {} at {}: {}\n",
                e.at,
                e.outcome.as_str(),
                e.position,
                one_line(&e.statement)
            ));
            for line in e.reason.iter().chain(&e.warnings).flat_map(|t| t.lines()) {
                out.push_str(&format!("      {line}\n"));
            }
        }
        if let Some(e) = &self.last_error {
            out.push_str(&format!("  last error   {e}\n"));
        }
        out
    }
}

/// A statement on one line, cut at 120 characters.
fn one_line(s: &str) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(120) {
        Some((i, _)) => format!("{}...", &flat[..i]),
        None => flat,
    }
}

/// Reads the task's status.
pub fn read(config: &Config) -> Result<Status, mysql::Error> {
    let mut dst = crate::run::connect(config.destination.opts())?;
    let mut st = Status { task: config.name().to_string(), phase: "not started".into(), ..Default::default() };
    let state = StateTable { task: config.name().to_string(), db: config.meta_db.clone() };
    st.state = "not started".into();
    st.holder =
        crate::lease::LeaseTable { task: config.name().to_string(), db: config.meta_db.clone() }.read(&mut dst)?;
    st.running = st.holder.as_ref().is_some_and(|h| h.running);
    if st.running {
        st.state = "running".into();
    }
    let Some(s) = state.read(&mut dst)? else { return Ok(st) };
    st.phase = s.phase.as_str().to_string();
    st.since = st
        .holder
        .as_ref()
        .filter(|h| !h.host.is_empty())
        .map(|h| if h.running { h.since.clone() } else { h.expires.clone() });
    if !st.running {
        st.state = match (&s.last_error, s.phase) {
            (Some(_), _) => "failed",
            (None, crate::state::Phase::Done) => "done",
            (None, _) => "stopped",
        }
        .into();
    }
    st.updated_at = Some(s.updated_at);
    st.last_error = s.last_error;
    // Only a task with incremental sync has a start of it.
    st.incremental_from = s.incremental_from.as_ref().filter(|_| config.incremental()).map(|p| p.to_string());
    st.counters = s.counters;
    let q = config.meta_db.quoted();
    let has = |c: &mut mysql::Conn, t: &str| -> Result<bool, mysql::Error> {
        Ok(c.exec_first::<u8, _, _>(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (config.meta_db.as_str(), t),
        )?
        .is_some())
    };
    if has(&mut dst, "fullcopy_chunks")? {
        let rows: Vec<(String, String, u64, u64, u64)> = dst.exec(
            format!(
                "SELECT db, tbl, SUM(done), COUNT(*), SUM(rows_copied) FROM {q}.fullcopy_chunks WHERE task = ? \
                 GROUP BY db, tbl ORDER BY db, tbl"
            ),
            (config.name(),),
        )?;
        st.full_copy = rows
            .into_iter()
            .map(|(d, t, done, all, rows)| TableStatus {
                table: format!("{d}.{t}"),
                chunks_done: done,
                chunks: all,
                rows_copied: rows,
            })
            .collect();
    }
    if has(&mut dst, "apply_checkpoint")? {
        let ck = Checkpoint::new(config.name(), &config.meta_db);
        if let Ok(Some(p)) = ck.read(&mut dst) {
            st.checkpoint = Some(p.binlog.to_string());
            let at: Option<(String, f64)> = dst.exec_first(
                format!(
                    "SELECT DATE_FORMAT(MAX(updated_at), '%Y-%m-%dT%H:%i:%s.%fZ'), TIMESTAMPDIFF(MICROSECOND, MAX(updated_at), UTC_TIMESTAMP(6)) / 1e6 \
                     FROM {q}.apply_checkpoint WHERE task = ?"
                ),
                (config.name(),),
            )?;
            if let Ok(src_end) = crate::input::source_end(&config.source.opts()) {
                st.source_position = Some(src_end.to_string());
                if src_end.file == p.binlog.file {
                    st.lag_bytes = Some(src_end.offset.saturating_sub(p.binlog.offset));
                }
                if src_end > p.binlog {
                    st.lag_seconds = at.as_ref().map(|a| a.1);
                } else {
                    st.lag_seconds = Some(0.0);
                }
            }
            st.checkpoint_at = at.map(|a| a.0);
        }
    }
    st.totals = crate::input_totals::read(&mut dst, &config.meta_db, config.name())?;
    let log = dts_applier::DdlLog { task: config.name().to_string(), db: config.meta_db.clone() };
    st.ddl = log.counts(&mut dst)?;
    st.ddl_attention = log.needing_attention(&mut dst, DDL_SHOWN)?;
    st.ddl_recent = log.recent(&mut dst, DDL_SHOWN)?;
    if config.raw.task.heartbeat
        && has(&mut dst, crate::heartbeat::TABLE)?
        && let Some(lag) = crate::heartbeat::applied_lag(&mut dst, &config.meta_db, config.name())
    {
        st.lag_seconds = Some(lag.max(0.0));
    }
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_says_how_many_changes_a_snapshot_already_held() {
        let mut s =
            Status { task: "t".into(), phase: "incremental".into(), state: "running".into(), ..Status::default() };
        assert!(!s.to_text().contains("snapshot"));
        s.totals.insert("rows_in_snapshot".into(), 7);
        assert!(
            s.to_text().contains("snapshots    7 row changes already in a table's snapshot copy"),
            "{}",
            s.to_text()
        );
    }
}
