//! `[monitor]`: HTTP `/metrics` (Prometheus text), `/status` (JSON), the status page and the
//! probes (`crate::status_page`) for a running task, and
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

/// Starts the status poller, the HTTP server (if `listen` is set) and the lag alert; `input`
/// is the running task's input counters (the history's rows handed to the applier).
pub fn start(
    config: &Config,
    progress: Arc<Progress>,
    input: Arc<InputStats>,
    precheck: Arc<std::sync::Mutex<Option<dts_precheck::Report>>>,
) -> Result<(), String> {
    check(config)?;
    let latest: Arc<Latest<Status>> = Arc::new(Latest::default());
    let m = config.raw.monitor.clone();
    let page = Arc::new(crate::status_page::StatusPage::new(precheck, m.ready_lag_seconds));
    {
        let (config, latest) = (config.clone(), latest.clone());
        let (page, progress, rows_applied) = (page.clone(), progress.clone(), input);
        let threshold = m.latency_alert_seconds;
        std::thread::spawn(move || {
            let mut alerting = false;
            loop {
                // A failed read is a gap in the history; /readyz says so after 30 s without one.
                let read = dts_task::read_status(&config).ok();
                let rows = rows_applied.rows.load(std::sync::atomic::Ordering::Relaxed);
                page.sample(read.as_ref(), rows, progress.snapshot());
                if let Some(s) = read {
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
    let addr = listen_address(&listen);
    let show_values = m.status_shows_row_values;
    let metrics = crate::metrics::Metrics::new(config.name(), progress);
    let bound = crate::http::serve(&addr, crate::http::Limits::default(), move |path| match path {
        "/metrics" => crate::http::Response::ok("text/plain; version=0.0.4", metrics.render(latest.get().as_ref())),
        "/status" => crate::http::Response::ok(
            "application/json",
            latest.get().map_or("{}".into(), |s| {
                serde_json::to_string_pretty(&served_status(s, show_values)).unwrap_or_default()
            }),
        ),
        // The status page, /history, /precheck, /healthz, /readyz.
        other => page.serve(other, latest.get().as_ref()).unwrap_or_else(|| crate::http::Response {
            status: 404,
            content_type: "text/plain",
            body: "not found\n".into(),
        }),
    })
    .map_err(|e| format!("[monitor] listen = {listen:?}: {e}"))?;
    if !bound.ip().is_loopback() {
        tracing::warn!(%bound, "/metrics and /status are served beyond this host, without authentication");
    }
    tracing::info!(%bound, "serving the status page at http://{bound}/, /metrics, /status, /healthz and /readyz");
    Ok(())
}

/// `[monitor] listen`: `host:port`, or a port alone (`"9187"` or `":9187"`) for 127.0.0.1.
fn listen_address(listen: &str) -> String {
    let port = listen.strip_prefix(':').unwrap_or(listen);
    if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
        format!("127.0.0.1:{port}")
    } else {
        listen.into()
    }
}

/// The status as `/status` serves it: unauthenticated, so `last_error` has its quoted
/// literals (where the server's messages put row values) replaced by `'?'` unless
/// `[monitor] status_shows_row_values = true`.
fn served_status(mut s: Status, show_values: bool) -> Status {
    if !show_values {
        s.last_error = s.last_error.map(|e| redact_quoted(&e));
        // A DDL's destination error can quote rows too (ADD UNIQUE: "Duplicate entry ...").
        for d in s.ddl_recent.iter_mut().chain(s.ddl_attention.iter_mut()) {
            d.reason = d.reason.as_deref().map(redact_quoted);
            d.warnings = d.warnings.as_deref().map(redact_quoted);
        }
    }
    s
}

/// Replaces the text inside every '...' and "..." with `?`.
fn redact_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<char> = None;
    for c in text.chars() {
        match open {
            None => {
                out.push(c);
                if c == '\'' || c == '"' {
                    open = Some(c);
                    out.push('?');
                }
            }
            Some(q) if c == q => {
                out.push(c);
                open = None;
            }
            Some(_) => {}
        }
    }
    out
}

/// How long an alert command may run before it is killed (with its process group).
const ALERT_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Fires an alert to the configured webhook and/or command on a thread of its own, so that a
/// hung webhook or script delays nothing else; the failure path joins the handle before the
/// process exits (bounded: the command by [`ALERT_COMMAND_TIMEOUT`], the webhook by its tries).
pub fn alert(config: &Config, kind: &str, message: &str) -> std::thread::JoinHandle<()> {
    tracing::warn!(kind, "{message}");
    send_alert(config, kind, message)
}

/// [`alert`] without logging its message (the caller prints it).
pub fn send_alert(config: &Config, kind: &str, message: &str) -> std::thread::JoinHandle<()> {
    let m = config.raw.monitor.clone();
    let (task, kind, message) = (config.name().to_string(), kind.to_string(), message.to_string());
    let secret_vars: Vec<String> = [&config.raw.source.password_env, &config.raw.destination.password_env]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    std::thread::spawn(move || {
        if let Some(url) = &m.alert_webhook {
            crate::alert_webhook::post(url, &serde_json::json!({ "task": task, "kind": kind, "message": message }));
        }
        if let Some(cmd) = &m.alert_command {
            let env = [("DTS_TASK", task.as_str()), ("DTS_ALERT_KIND", &kind), ("DTS_ALERT_MESSAGE", &message)];
            match crate::alert_command::run(cmd, &env, &secret_vars, ALERT_COMMAND_TIMEOUT) {
                Ok(st) if st.success() => {}
                // The command itself is not logged: it may carry a token.
                Ok(st) => tracing::error!(kind, "[monitor] alert_command failed: {st}"),
                Err(e) => tracing::error!(kind, "[monitor] alert_command failed: {e}"),
            }
        }
    })
}

/// Checks `[monitor]` before the task starts: the webhook's URL (see [`crate::alert_webhook::check`]).
pub fn check(config: &Config) -> Result<(), String> {
    if let Some(url) = &config.raw.monitor.alert_webhook {
        crate::alert_webhook::check(url).map_err(|e| format!("[monitor] alert_webhook: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_run_on_their_own_threads_so_a_hung_command_delays_nothing() {
        let dir = std::env::temp_dir().join(format!("dts-alert-thread-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("alerts");
        let text = format!(
            "[source]\nhost = \"127.0.0.1\"\nuser = \"u\"\npassword_env = \"PATH\"\n\
             [destination]\nhost = \"127.0.0.1\"\nuser = \"u\"\npassword_env = \"PATH\"\n\
             [task]\nname = \"t\"\nserver_id = 4242\n[monitor]\n\
             alert_command = \"sleep 1; echo $DTS_ALERT_KIND >> {}\"\n",
            log.display()
        );
        let config = Config::parse(&text, &dir.join("t.toml")).unwrap();
        let t = std::time::Instant::now();
        let first = alert(&config, "lag", "behind");
        let second = alert(&config, "failure", "stopped");
        assert!(t.elapsed() < Duration::from_millis(500), "alert() waited for the command: {:?}", t.elapsed());
        first.join().unwrap();
        second.join().unwrap();
        let mut got: Vec<String> = std::fs::read_to_string(&log).unwrap().lines().map(String::from).collect();
        got.sort();
        assert_eq!(got, ["failure", "lag"]);
        // Both ran at once: about one second for the two, not two.
        assert!(t.elapsed() < Duration::from_millis(1900), "{:?}", t.elapsed());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_port_alone_listens_on_loopback() {
        assert_eq!(listen_address("9187"), "127.0.0.1:9187");
        assert_eq!(listen_address(":9187"), "127.0.0.1:9187");
        assert_eq!(listen_address("0.0.0.0:9187"), "0.0.0.0:9187");
        assert_eq!(listen_address("[::1]:9187"), "[::1]:9187");
    }

    #[test]
    fn status_leaves_quoted_values_out_of_last_error_unless_configured() {
        let e = "applying row: ERROR 1062 (23000): Duplicate entry 'alice@example.com' for key \"PRIMARY\"";
        assert_eq!(redact_quoted(e), "applying row: ERROR 1062 (23000): Duplicate entry '?' for key \"?\"");
        assert_eq!(redact_quoted("it's open"), "it'?");
        let ddl = dts_applier::DdlEntry {
            position: "binlog.000001:4".into(),
            gtid: None,
            statement: "ALTER TABLE t ADD UNIQUE (email)".into(),
            applied: None,
            outcome: dts_applier::DdlOutcome::Failed,
            reason: Some(e.into()),
            warnings: None,
            at: String::new(),
        };
        let s = Status {
            last_error: Some(e.into()),
            ddl_recent: vec![ddl.clone()],
            ddl_attention: vec![ddl],
            ..Status::default()
        };
        assert!(!serde_json::to_string(&served_status(s.clone(), false)).unwrap().contains("alice"));
        assert!(serde_json::to_string(&served_status(s, true)).unwrap().contains("alice"));
    }
}
