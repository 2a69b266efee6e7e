//! `/metrics`: the task in Prometheus' text format (version 0.0.4).
//!
//! Every series has a `task` label. Counters end in `_total` and never run backwards, also
//! across restarts and kill -9: their values are exactly the task's totals in
//! `<meta>.metric_totals` ([`dts_types::totals`]) as the latest status read found them —
//! committed work exactly (added with the checkpoint or the chunk's done mark), the binlog
//! input's counters as its persister wrote them (every second) — never a count not yet written
//! there, which a crash would lose and the next process could not serve again. Gauges say how things are now; `dts_destination_commit_seconds` is a
//! histogram of this process's destination commits (it starts at zero with the process, as
//! Prometheus histograms do).
//!
//! `packaging/grafana/dts-sync.json` charts these; `tests/metrics.rs` checks that every metric
//! its queries name is served.

use std::fmt::Write as _;
use std::sync::Arc;

use dts_fullcopy::Progress;
use dts_task::Status;

/// Every counter: its name in the totals (the metric is `dts_<name>_total`) and help: committed
/// work (exact), then the input's (persisted every second).
const COUNTERS: &[(&str, &str)] = &[
    (
        dts_types::totals::ROWS_APPLIED,
        "Row changes incremental sync committed to the destination, together with the checkpoint covering them.",
    ),
    (
        dts_types::totals::TRANSACTIONS_APPLIED,
        "Source transactions with a row change or DDL that incremental sync committed to the destination, together with their checkpoint (those on tables the task does not sync count in dts_transactions_total only).",
    ),
    (
        dts_types::totals::FULL_ROWS_COPIED,
        "Rows the full copy committed to the destination (a table copied again counts again).",
    ),
    ("transactions", "Source transactions the binlog input handed to the applier."),
    ("row_changes", "Row changes the binlog input handed to the applier."),
    ("rows_filtered_out", "Row changes the task's row filters left out."),
    ("ddl", "DDL statements handed to the applier to run."),
    ("ddl_skipped", "DDL statements not applied (not selected, or nothing to do), each logged."),
    (
        "ddl_warnings",
        "Warnings about DDL, logged at WARN (a rename out of or into the selection, CREATE ... LIKE an unselected table).",
    ),
    ("rows_events_skipped", "Row events of unselected tables the binlog reader skipped before decoding them."),
    (
        "history_rows_skipped",
        "History rows of system-versioned tables not synced (the destination keeps its own history).",
    ),
    (
        "statement_writes_skipped",
        "Writes the source logged in statement format (binlog_format STATEMENT or MIXED) on tables the task does not sync, skipped.",
    ),
    ("xa_transactions_skipped", "XA transactions on tables the task does not sync, skipped."),
    (
        "rows_in_snapshot",
        "Row changes of tables copied in a consistent snapshot of their own (keyless tables, foreign-key cascade groups) that the snapshot already held, not applied again.",
    ),
    ("verify_rows_checked", "Applied rows compared again with the source by continuous verification."),
    ("verify_rows_mismatched", "Rows continuous verification found different on the destination."),
    ("verify_rows_skipped", "Applied rows continuous verification did not compare (it was behind)."),
    (
        "echo_transactions_dropped",
        "Two-way: transactions the opposite direction wrote, dropped at their origin mark (never synced back).",
    ),
    ("conflicts_insert_existing_key", "Two-way conflicts: an insert of a key the destination holds with another row."),
    ("conflicts_insert_existing_unique", "Two-way conflicts: an insert (or key update) colliding on a unique key."),
    ("conflicts_update_missing", "Two-way conflicts: an update of a row the destination does not have."),
    ("conflicts_update_differs", "Two-way conflicts: an update whose before image differs from the destination's row."),
    ("conflicts_delete_missing", "Two-way conflicts: a delete of a row the destination does not have."),
    ("conflicts_delete_differs", "Two-way conflicts: a delete whose before image differs from the destination's row."),
];

/// The phases of `dts_phase`, as `status` names them.
const PHASES: [&str; 5] = ["not started", "schema", "full", "incremental", "done"];

/// Renders `/metrics` for one task.
pub struct Metrics {
    task: String,
    progress: Arc<Progress>,
}

impl Metrics {
    /// The metrics of `task`, with this process's full copy progress.
    pub fn new(task: &str, progress: Arc<Progress>) -> Self {
        Metrics { task: task.to_string(), progress }
    }

    /// The exposition, from the latest status read (`None` before the first read: the counters,
    /// whose totals are on the destination, are left out until then).
    pub fn render(&self, status: Option<&Status>) -> String {
        let mut out = Exposition { out: String::new(), task: label_value(&self.task) };
        out.family("dts_build_info", "gauge", "The running dts-sync: its version and target architecture (always 1).");
        out.sample("dts_build_info", &[("version", env!("CARGO_PKG_VERSION")), ("arch", std::env::consts::ARCH)], 1.0);
        if let Some(s) = status {
            self.counters(&mut out, s);
            self.gauges(&mut out, s);
        }
        let estimate: u64 = self.progress.snapshot().iter().filter(|t| !t.finished).map(|t| t.rows_estimate).sum();
        out.family(
            "dts_full_rows_estimate",
            "gauge",
            "Estimated rows of the tables this process's full copy has still to finish (0 outside the full copy).",
        );
        out.sample("dts_full_rows_estimate", &[], estimate as f64);
        commit_histogram(&mut out);
        out.out
    }

    fn counters(&self, out: &mut Exposition, s: &Status) {
        for &(name, help) in COUNTERS {
            let metric = format!("dts_{name}_total");
            out.family(&metric, "counter", help);
            out.sample(&metric, &[], s.totals.get(name).copied().unwrap_or(0) as f64);
        }
        let name = "dts_ddl_outcomes_total";
        out.family(name, "counter", "Source DDL statements by outcome over the task's life (its DDL log).");
        for (outcome, n) in [("applied", s.ddl.applied), ("skipped", s.ddl.skipped), ("failed", s.ddl.failed)] {
            out.sample(name, &[("outcome", outcome)], n as f64);
        }
    }

    fn gauges(&self, out: &mut Exposition, s: &Status) {
        out.family("dts_phase", "gauge", "The task's phase: 1 for the phase it is in, 0 for the others.");
        for p in PHASES {
            out.sample("dts_phase", &[("phase", &p.replace(' ', "_"))], (s.phase == p) as u8 as f64);
        }
        out.family("dts_running", "gauge", "1 while a runner holds the task's lease.");
        out.sample("dts_running", &[], s.running as u8 as f64);
        out.family("dts_last_error", "gauge", "1 when the task's last run stopped with an error (shown by status).");
        out.sample("dts_last_error", &[], s.last_error.is_some() as u8 as f64);
        if let Some(b) = s.lag_bytes {
            out.family(
                "dts_lag_bytes",
                "gauge",
                "Bytes of binlog between the applied checkpoint and the source's end (same binlog file only).",
            );
            out.sample("dts_lag_bytes", &[], b as f64);
        }
        if let Some(l) = s.lag_seconds {
            out.family(
                "dts_lag_seconds",
                "gauge",
                "Seconds the destination is behind the source: now minus the time of the last source heartbeat applied \
                 (with [task] heartbeat on), else how long the checkpoint has not moved while the source is ahead.",
            );
            out.sample("dts_lag_seconds", &[], l);
        }
        let done = s.full_copy.iter().filter(|t| t.chunks > 0 && t.chunks_done == t.chunks).count();
        out.family("dts_full_tables", "gauge", "Tables in the task's full copy plan.");
        out.sample("dts_full_tables", &[], s.full_copy.len() as f64);
        out.family("dts_full_tables_done", "gauge", "Tables of the full copy plan whose copy is done.");
        out.sample("dts_full_tables_done", &[], done as f64);
    }
}

/// `dts_destination_commit_seconds`: [`dts_applier::latency::DESTINATION_COMMIT`].
fn commit_histogram(out: &mut Exposition) {
    let name = "dts_destination_commit_seconds";
    out.family(name, "histogram", "Time the destination took to COMMIT a transaction of incremental sync.");
    let h = dts_applier::latency::DESTINATION_COMMIT.snapshot();
    let bucket = format!("{name}_bucket");
    for (le, n) in dts_applier::latency::BUCKETS.iter().zip(&h.cumulative) {
        out.sample(&bucket, &[("le", &le.to_string())], *n as f64);
    }
    out.sample(&bucket, &[("le", "+Inf")], h.count as f64);
    out.sample(&format!("{name}_sum"), &[], h.sum_seconds);
    out.sample(&format!("{name}_count"), &[], h.count as f64);
}

/// The text being built, every sample labelled with the task.
struct Exposition {
    out: String,
    /// The task's name, escaped as a label value.
    task: String,
}

impl Exposition {
    // Writing to a String cannot fail: the fmt::Result of each write! below is always Ok.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = write!(self.out, "# HELP {name} {}\n# TYPE {name} {kind}\n", help.replace('\\', "\\\\"));
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let _ = write!(self.out, "{name}{{task=\"{}\"", self.task);
        for (k, v) in labels {
            let _ = write!(self.out, ",{k}=\"{}\"", label_value(v));
        }
        let _ = writeln!(self.out, "}} {value}");
    }
}

/// A label value escaped as the text format wants (backslash, double quote, newline).
fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn metrics() -> Metrics {
        Metrics::new("or\"ders", Arc::new(Progress::default()))
    }

    #[test]
    fn every_series_has_the_task_label_and_counters_end_in_total() {
        let s = Status { phase: "incremental".into(), lag_seconds: Some(1.5), ..Status::default() };
        let text = metrics().render(Some(&s));
        let mut types = BTreeMap::new();
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                types.insert(name.to_string(), kind.to_string());
            } else if !l.starts_with('#') {
                assert!(l.contains("{task=\"or\\\"ders\""), "{l}");
            }
        }
        for (name, kind) in &types {
            assert_eq!(name.ends_with("_total"), kind == "counter", "{name} is a {kind}");
        }
        assert!(text.contains("dts_phase{task=\"or\\\"ders\",phase=\"incremental\"} 1\n"), "{text}");
        assert!(text.contains("dts_phase{task=\"or\\\"ders\",phase=\"not_started\"} 0\n"), "{text}");
        assert!(text.contains("dts_destination_commit_seconds_bucket{task=\"or\\\"ders\",le=\"+Inf\"}"), "{text}");
    }

    #[test]
    fn counters_are_the_totals_as_read() {
        let m = metrics();
        let mut s = Status::default();
        s.totals.insert("rows_applied".into(), 10);
        s.totals.insert("transactions".into(), 4);
        let text = m.render(Some(&s));
        assert!(text.contains("dts_rows_applied_total{task=\"or\\\"ders\"} 10\n"), "{text}");
        assert!(text.contains("dts_transactions_total{task=\"or\\\"ders\"} 4\n"), "{text}");
        assert!(text.contains("dts_row_changes_total{task=\"or\\\"ders\"} 0\n"), "{text}");
    }
}
