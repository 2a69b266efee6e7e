//! `[monitor]`: HTTP `/metrics` (Prometheus text) and `/status` (JSON) for a running task, and
//! alerts — task failure, lag over the threshold — fired once per episode to a webhook (HTTP
//! POST of JSON) or a command (with DTS_ALERT_* in its environment).

use std::sync::Arc;
use std::time::Duration;

use dts_fullcopy::Progress;
use dts_task::Config;
use dts_task::InputStats;
use dts_task::Status;

/// The latest status, shared between the poller, the HTTP server and the alerts.
#[derive(Debug, Default)]
struct Latest<T>(std::sync::Mutex<Option<T>>);

impl<T: Clone> Latest<T> {
    fn set(&self, v: T) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(v);
    }
    fn get(&self) -> Option<T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Starts the status poller, the HTTP server (if `listen` is set) and the lag alert.
/// The running task's counters.
#[derive(Debug, Clone)]
pub struct Counters {
    pub input: Arc<InputStats>,
    pub verify: Arc<dts_task::VerifyCounters>,
}

pub fn start(config: &Config, progress: Arc<Progress>, counters: Counters) -> Result<(), String> {
    let latest: Arc<Latest<Status>> = Arc::new(Latest::default());
    let m = config.raw.monitor.clone();
    {
        let (config, latest) = (config.clone(), latest.clone());
        let threshold = m.latency_alert_seconds;
        std::thread::spawn(move || {
            let mut alerting = false;
            loop {
                if let Ok(s) = dts_task::read_status(&config) {
                    if let Some(limit) = threshold {
                        let lag = s.lag_seconds.unwrap_or(0.0);
                        if lag > limit as f64 && !alerting {
                            alerting = true;
                            alert(
                                &config,
                                "lag",
                                &format!(
                                    "task {} is {lag:.0} s behind the source (threshold {limit} s)",
                                    config.name()
                                ),
                            );
                        } else if lag <= limit as f64 && alerting {
                            alerting = false;
                            tracing::info!(lag, "lag back under the alert threshold");
                        }
                    }
                    latest.set(s);
                }
                std::thread::sleep(Duration::from_secs(2));
            }
        });
    }
    let Some(listen) = m.listen else { return Ok(()) };
    let server = tiny_http::Server::http(&listen).map_err(|e| format!("[monitor] listen = {listen:?}: {e}"))?;
    tracing::info!(%listen, "serving /metrics and /status");
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let (body, ctype) = match req.url() {
                "/metrics" => (metrics(latest.get().as_ref(), &progress, &counters), "text/plain; version=0.0.4"),
                "/status" => (
                    latest.get().map_or("{}".into(), |s| serde_json::to_string_pretty(&s).unwrap_or_default()),
                    "application/json",
                ),
                _ => {
                    let _ = req.respond(tiny_http::Response::from_string("not found").with_status_code(404));
                    continue;
                }
            };
            let header = tiny_http::Header::from_bytes("Content-Type", ctype).expect("a valid header");
            let _ = req.respond(tiny_http::Response::from_string(body).with_header(header));
        }
    });
    Ok(())
}

fn metrics(s: Option<&Status>, progress: &Progress, counters: &Counters) -> String {
    let mut out = String::new();
    let (input, verify) = (&counters.input, &counters.verify);
    for (name, help, c) in [
        ("verify_rows_checked_total", "applied rows compared again by continuous verification", &verify.checked),
        ("verify_rows_mismatched_total", "rows continuous verification found different", &verify.mismatched),
        ("verify_rows_skipped_total", "applied rows not compared (the checker was behind)", &verify.skipped),
        ("transactions_total", "source transactions handed to the applier", &input.transactions),
        ("row_changes_total", "row changes handed to the applier", &input.rows),
        ("rows_filtered_out_total", "row changes the row filters left out", &input.rows_filtered_out),
        ("ddl_total", "DDL statements applied", &input.ddl),
        ("ddl_skipped_total", "DDL statements not applied (not selected, or nothing to do)", &input.ddl_skipped),
        (
            "ddl_warnings_total",
            "warnings about DDL, logged at WARN (a rename out of or into the selection, CREATE ... LIKE an unselected table)",
            &input.ddl_warnings,
        ),
        (
            "rows_events_skipped_total",
            "row events of unselected tables the binlog reader skipped before decoding them",
            &input.rows_events_skipped,
        ),
    ] {
        out.push_str(&format!(
            "# HELP dts_{name} {help}\n# TYPE dts_{name} counter\ndts_{name} {}\n",
            c.load(std::sync::atomic::Ordering::Relaxed)
        ));
    }
    let mut gauge = |name: &str, help: &str, v: f64| {
        out.push_str(&format!("# HELP dts_{name} {help}\n# TYPE dts_{name} gauge\ndts_{name} {v}\n"));
    };
    if let Some(s) = s {
        let phase =
            ["not started", "schema", "full", "incremental", "done"].iter().position(|p| *p == s.phase).unwrap_or(0);
        gauge("phase", "0 not started, 1 schema, 2 full, 3 incremental, 4 done", phase as f64);
        if let Some(b) = s.lag_bytes {
            gauge("lag_bytes", "binlog bytes between the checkpoint and the source's end", b as f64);
        }
        if let Some(l) = s.lag_seconds {
            gauge("lag_seconds", "seconds the checkpoint has not moved while the source is ahead", l);
        }
        gauge("last_error", "1 when the task's last run ended with an error", s.last_error.is_some() as u8 as f64);
    }
    let snap = progress.snapshot();
    gauge(
        "full_rows_copied",
        "rows copied by the full sync in this process",
        snap.iter().map(|t| t.rows_done).sum::<u64>() as f64,
    );
    gauge(
        "full_tables_done",
        "tables the full sync finished in this process",
        snap.iter().filter(|t| t.finished).count() as f64,
    );
    out
}

/// Logs an alert's message at WARN and fires it ([`send_alert`]).
pub fn alert(config: &Config, kind: &str, message: &str) {
    tracing::warn!(kind, "{message}");
    send_alert(config, kind, message);
}

/// Fires an alert to the configured webhook and/or command, without logging its message (the
/// caller prints it).
pub fn send_alert(config: &Config, kind: &str, message: &str) {
    let m = &config.raw.monitor;
    if let Some(url) = &m.alert_webhook {
        let body = serde_json::json!({ "task": config.name(), "kind": kind, "message": message });
        // Three tries, a second and then two apart: a webhook that blips does not lose the alert.
        for attempt in 0..3u64 {
            match ureq::post(url).timeout(Duration::from_secs(5)).send_json(body.clone()) {
                Ok(_) => break,
                Err(e) if attempt < 2 => {
                    tracing::warn!(%url, "alert webhook failed, retrying: {e}");
                    std::thread::sleep(Duration::from_secs(attempt + 1));
                }
                Err(e) => tracing::error!(%url, "alert webhook failed: {e}"),
            }
        }
    }
    if let Some(cmd) = &m.alert_command {
        let r = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .env("DTS_TASK", config.name())
            .env("DTS_ALERT_KIND", kind)
            .env("DTS_ALERT_MESSAGE", message)
            .status();
        if let Err(e) = r {
            tracing::error!(%cmd, "alert command failed: {e}");
        }
    }
}
