//! The monitor's pages for people and probes: the status page `/` (one self-contained HTML
//! file, `status_page.html`, with its own CSS and JS and no external assets), what it reads
//! besides `/status` — `/history` (the poller's samples of the last hour) and `/precheck` (this
//! run's precheck report) — and `/healthz` and `/readyz` for supervisors and Kubernetes probes.
//!
//! The page reads only what these endpoints serve (`/status` as served, with row values
//! redacted), and its script inserts every value with `textContent` or as an attribute: table
//! names and statements can be hostile.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use dts_task::Status;

use crate::http::Response;

/// The page, compiled into the binary.
const PAGE: &str = include_str!("status_page.html");

/// How far back `/history` reaches.
const HISTORY_SPAN: Duration = Duration::from_secs(3600);

/// The most samples kept, whatever the poller's pace (it takes one every 2 s: 1800 an hour).
const HISTORY_MAX: usize = 3600;

/// A status older than this makes `/readyz` answer 503: the poller cannot read it (the
/// destination or the source is out of reach), so the lag it had is no longer known.
const STATUS_STALE: Duration = Duration::from_secs(30);

/// One sample of the monitor's poller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// When it was taken: seconds since the Unix epoch.
    pub t: f64,
    /// The status's `lag_seconds` (none: not known, or the status could not be read).
    pub lag_seconds: Option<f64>,
    /// Row changes incremental sync handed to the applier in this process.
    pub rows_applied: u64,
    /// Rows the full copy copied in this process.
    pub rows_copied: u64,
}

/// The samples of the last hour, oldest first, bounded in time and in count.
#[derive(Debug, Default)]
struct History {
    samples: VecDeque<(Instant, Sample)>,
}

impl History {
    fn push(&mut self, at: Instant, sample: Sample) {
        self.samples.push_back((at, sample));
        while self.samples.len() > HISTORY_MAX
            || self.samples.front().is_some_and(|(t, _)| at.duration_since(*t) > HISTORY_SPAN)
        {
            self.samples.pop_front();
        }
    }
}

/// What the status page and the probes serve, fed by the monitor's poller ([`Self::sample`]).
#[derive(Debug)]
pub struct StatusPage {
    history: Mutex<History>,
    /// This process's full copy as the poller last saw it: live, between committed chunks.
    copy: Mutex<Vec<dts_fullcopy::TableProgress>>,
    /// When the poller last read the status.
    status_read: Mutex<Option<Instant>>,
    precheck: Arc<Mutex<Option<dts_precheck::Report>>>,
    ready_lag_seconds: u64,
}

impl StatusPage {
    /// A page serving `precheck` (set by the run once its precheck ran), `/readyz` ready at
    /// most `ready_lag_seconds` behind.
    pub fn new(precheck: Arc<Mutex<Option<dts_precheck::Report>>>, ready_lag_seconds: u64) -> StatusPage {
        StatusPage {
            history: Mutex::default(),
            copy: Mutex::default(),
            status_read: Mutex::default(),
            precheck,
            ready_lag_seconds,
        }
    }

    /// The poller's hook: records one sample, with the status it just read (`None`: it could
    /// not read one), the row changes handed to the applier and the full copy's progress (both
    /// of this process).
    pub fn sample(&self, status: Option<&Status>, rows_applied: u64, copy: Vec<dts_fullcopy::TableProgress>) {
        let now = Instant::now();
        let rows_copied = copy.iter().map(|t| t.rows_done).sum();
        *self.copy.lock().unwrap_or_else(|e| e.into_inner()) = copy;
        if status.is_some() {
            *self.status_read.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
        }
        let t = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        let sample = Sample { t, lag_seconds: status.and_then(|s| s.lag_seconds), rows_applied, rows_copied };
        self.history.lock().unwrap_or_else(|e| e.into_inner()).push(now, sample);
    }

    /// Answers the paths this module serves, with `status` the poller's latest; `None` for
    /// any other path.
    pub fn serve(&self, path: &str, status: Option<&Status>) -> Option<Response> {
        Some(match path {
            "/" | "/index.html" => Response::ok("text/html; charset=utf-8", PAGE.into()),
            "/history" => Response::ok("application/json", self.history_json()),
            "/precheck" => Response::ok("application/json", self.precheck_json()),
            "/healthz" => Response::ok("text/plain; charset=utf-8", "ok\n".into()),
            "/readyz" => {
                let age = self.status_read.lock().unwrap_or_else(|e| e.into_inner()).map(|t| t.elapsed());
                match readiness(status.zip(age), self.ready_lag_seconds) {
                    Ok(why) => Response::ok("text/plain; charset=utf-8", format!("ready: {why}\n")),
                    Err(why) => Response {
                        status: 503,
                        content_type: "text/plain; charset=utf-8",
                        body: format!("not ready: {why}\n"),
                    },
                }
            }
            _ => return None,
        })
    }

    /// `{"span_seconds", "ready_lag_seconds", "samples": [{t, lag_seconds, rows_applied,
    /// rows_copied}, ...] (oldest first), "copy": [{table, rows_done, rows_estimate, eta_secs,
    /// finished}, ...]}` (`copy`: this process's full copy, live).
    fn history_json(&self) -> String {
        let copy: Vec<serde_json::Value> = self
            .copy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|t| {
                serde_json::json!({
                    "table": format!("{}.{}", t.table.database.as_str(), t.table.table.as_str()),
                    "rows_done": t.rows_done,
                    "rows_estimate": t.rows_estimate,
                    "eta_secs": t.eta_secs,
                    "finished": t.finished,
                })
            })
            .collect();
        let h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let samples: Vec<serde_json::Value> = h
            .samples
            .iter()
            .map(|(_, s)| {
                serde_json::json!({
                    "t": s.t,
                    "lag_seconds": s.lag_seconds,
                    "rows_applied": s.rows_applied,
                    "rows_copied": s.rows_copied,
                })
            })
            .collect();
        serde_json::json!({
            "span_seconds": HISTORY_SPAN.as_secs(),
            "ready_lag_seconds": self.ready_lag_seconds,
            "samples": samples,
            "copy": copy,
        })
        .to_string()
    }

    /// The report as `dts-sync precheck --json` prints it, or `null` before the precheck ran.
    fn precheck_json(&self) -> String {
        match &*self.precheck.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(r) => r.to_json(),
            None => "null".into(),
        }
    }
}

/// Whether the task is ready (in incremental sync, at most `ready_lag_seconds` behind), and
/// why in a few words; `status` is the latest with its age.
fn readiness(status: Option<(&Status, Duration)>, ready_lag_seconds: u64) -> Result<String, String> {
    let Some((s, age)) = status else { return Err("no status read yet".into()) };
    if age > STATUS_STALE {
        return Err(format!(
            "the status could not be read for {} s (is the destination or the source out of reach?)",
            age.as_secs()
        ));
    }
    if s.phase != "incremental" {
        return Err(format!("phase {} (ready once in incremental sync and caught up)", s.phase));
    }
    match s.lag_seconds {
        None => Err("phase incremental, lag not known (the source's position cannot be read)".into()),
        Some(lag) if lag > ready_lag_seconds as f64 => {
            Err(format!("phase incremental, lag {lag:.1} s over {ready_lag_seconds} s"))
        }
        Some(lag) => Ok(format!("phase incremental, lag {lag:.1} s (at most {ready_lag_seconds} s)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: f64) -> Sample {
        Sample { t, lag_seconds: Some(0.5), rows_applied: 1, rows_copied: 2 }
    }

    #[test]
    fn history_keeps_one_hour_and_a_bounded_count() {
        let mut h = History::default();
        let start = Instant::now();
        for i in 0..4000u64 {
            h.push(start + Duration::from_millis(500 * i), sample(i as f64));
        }
        // 4000 samples half a second apart: the count bound holds.
        assert_eq!(h.samples.len(), HISTORY_MAX);
        assert_eq!(h.samples.back().unwrap().1.t, 3999.0);
        // Samples older than an hour go, however few there are.
        let mut h = History::default();
        h.push(start, sample(0.0));
        h.push(start + Duration::from_secs(1800), sample(1.0));
        h.push(start + Duration::from_secs(3601), sample(2.0));
        let ts: Vec<f64> = h.samples.iter().map(|(_, s)| s.t).collect();
        assert_eq!(ts, [1.0, 2.0]);
    }

    #[test]
    fn ready_only_in_incremental_sync_within_the_threshold() {
        let s = |phase: &str, lag: Option<f64>| Status { phase: phase.into(), lag_seconds: lag, ..Status::default() };
        let fresh = Duration::from_secs(1);
        assert!(readiness(None, 10).unwrap_err().contains("no status"));
        let full = s("full", None);
        assert!(readiness(Some((&full, fresh)), 10).unwrap_err().contains("phase full"));
        let caught_up = s("incremental", Some(2.0));
        assert_eq!(readiness(Some((&caught_up, fresh)), 10).unwrap(), "phase incremental, lag 2.0 s (at most 10 s)");
        let behind = s("incremental", Some(12.5));
        assert_eq!(readiness(Some((&behind, fresh)), 10).unwrap_err(), "phase incremental, lag 12.5 s over 10 s");
        assert!(readiness(Some((&s("incremental", None), fresh)), 10).unwrap_err().contains("not known"));
        let stale = readiness(Some((&caught_up, Duration::from_secs(31))), 10).unwrap_err();
        assert!(stale.contains("could not be read for 31 s"), "{stale}");
    }

    #[test]
    fn probes_and_history_are_served() {
        let page = StatusPage::new(Arc::default(), 10);
        assert_eq!(page.serve("/healthz", None).unwrap().status, 200);
        let r = page.serve("/readyz", None).unwrap();
        assert_eq!((r.status, r.body.as_str()), (503, "not ready: no status read yet\n"));
        let st = Status { phase: "incremental".into(), lag_seconds: Some(0.2), ..Status::default() };
        page.sample(Some(&st), 5, Vec::new());
        assert_eq!(page.serve("/readyz", Some(&st)).unwrap().status, 200);
        let h: serde_json::Value = serde_json::from_str(&page.serve("/history", None).unwrap().body).unwrap();
        assert_eq!(h["samples"][0]["rows_applied"], 5);
        assert_eq!(h["samples"][0]["lag_seconds"], 0.2);
        assert_eq!(h["ready_lag_seconds"], 10);
        assert_eq!(page.serve("/precheck", None).unwrap().body, "null");
        assert!(page.serve("/", None).unwrap().body.starts_with("<!DOCTYPE html>"));
        assert!(page.serve("/nothing", None).is_none());
    }

    /// The page inserts data only as text: no `innerHTML`, `outerHTML`, `insertAdjacentHTML` or
    /// `document.write` anywhere in it, and it loads nothing from elsewhere.
    #[test]
    fn the_page_never_parses_data_as_html_and_loads_nothing_from_elsewhere() {
        for banned in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "http://", "https://"]
        {
            // The SVG namespace is a name, not a location the page loads.
            let page = PAGE.replace("http://www.w3.org/2000/svg", "");
            assert!(!page.contains(banned), "the status page contains {banned}");
        }
    }
}
