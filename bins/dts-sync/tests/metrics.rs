//! `/metrics` as Prometheus and the Grafana dashboard see it, from a real task (the binary,
//! real servers, a writer changing the source): the exposition is valid (one HELP and one TYPE
//! per family, counters end in `_total`, every series has the `task` label), every metric the
//! dashboard's queries name is served, and no counter runs backwards across a restart.
//!
//! A Rust test rather than a case folder: it scrapes HTTP and compares scrapes across runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod common;

use dts_testkit::shared_pair;
use mysql::prelude::Queryable;

fn task_file(name: &str, db: &str, port: u16) -> PathBuf {
    let body = format!("[[objects]]\ndatabase = \"{db}\"\n\n[monitor]\nlisten = \"{port}\"\n");
    common::task_file(&common::test_dir("dts-metrics-test"), name, &body)
}

fn spawn_run(config: &PathBuf) -> Child {
    // A keyless table in the selection: acknowledged, as a user does after reading the precheck.
    common::dts_sync("warn")
        .args(["run", "--ignore", "objects.primary_key", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, body)| body.to_string())
}

/// A sample line: its metric name, its labels and its value.
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn parse_sample(line: &str) -> Sample {
    let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
    let value: f64 = match value {
        "+Inf" => f64::INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
    };
    let (name, labels) = match series.split_once('{') {
        Some((n, rest)) => (n, rest.strip_suffix('}').unwrap_or_else(|| panic!("unclosed labels: {line}"))),
        None => (series, ""),
    };
    let mut out = BTreeMap::new();
    let mut rest = labels;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("bad label: {line}"));
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => panic!("bad escape: {line}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value: {line}"),
            }
        };
        assert!(out.insert(key.to_string(), value).is_none(), "label {key} twice: {line}");
        rest = after[end + 1..].strip_prefix(',').unwrap_or(&after[end + 1..]);
    }
    Sample { name: name.to_string(), labels: out, value }
}

/// Checks the exposition the way Prometheus reads it and returns its samples. Every family has
/// one HELP and one TYPE before its samples; a histogram's samples are `_bucket` (with `le`),
/// `_sum` and `_count`; counters end in `_total`; every series has `task = task`.
fn check_exposition(text: &str, task: &str) -> Vec<Sample> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps: BTreeSet<String> = BTreeSet::new();
    let mut samples = Vec::new();
    let mut series_seen = BTreeSet::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or_else(|| panic!("empty help: {line}"));
            assert!(help.len() > 10, "help says nothing: {line}");
            assert!(helps.insert(name.to_string()), "HELP twice for {name}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(helps.contains(name), "TYPE before HELP for {name}");
            assert!(types.insert(name.to_string(), kind.to_string()).is_none(), "TYPE twice for {name}");
            assert_eq!(
                name.ends_with("_total"),
                kind == "counter",
                "{name} is a {kind}: counters and only counters end in _total"
            );
        } else {
            assert!(!line.starts_with('#'), "{line}");
            let s = parse_sample(line);
            let family = family_of(&s.name, &types).unwrap_or_else(|| panic!("no TYPE before {line}"));
            if types[&family] == "histogram" {
                assert_eq!(s.name.ends_with("_bucket"), s.labels.contains_key("le"), "{line}");
            }
            assert_eq!(s.labels.get("task").map(String::as_str), Some(task), "no task label: {line}");
            assert!(series_seen.insert(line.rsplit_once(' ').unwrap().0.to_string()), "series twice: {line}");
            assert!(s.value.is_finite() || s.labels.get("le").is_some_and(|l| l == "+Inf"), "{line}");
            samples.push(s);
        }
    }
    for name in types.keys() {
        assert!(samples.iter().any(|s| family_of(&s.name, &types).as_ref() == Some(name)), "{name} has no samples");
    }
    samples
}

/// The family a sample belongs to: its own name, or, for a histogram's `_bucket`, `_sum` and
/// `_count`, the name without that suffix.
fn family_of(sample: &str, types: &BTreeMap<String, String>) -> Option<String> {
    if types.contains_key(sample) {
        return Some(sample.to_string());
    }
    ["_bucket", "_sum", "_count"]
        .iter()
        .filter_map(|sfx| sample.strip_suffix(sfx))
        .find(|base| types.get(*base).is_some_and(|k| k == "histogram"))
        .map(String::from)
}

/// Every metric name the dashboard's queries use (`dts_...` in each target's `expr`).
fn dashboard_metrics() -> BTreeSet<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../packaging/grafana/dts-sync.json");
    let d: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut exprs = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("expr", serde_json::Value::String(e)) => out.push(e.clone()),
                        ("query", serde_json::Value::String(e)) => out.push(e.clone()),
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&d, &mut exprs);
    assert!(exprs.len() >= 10, "the dashboard's queries were not found: {exprs:?}");
    let mut names = BTreeSet::new();
    for e in &exprs {
        let b = e.as_bytes();
        let mut i = 0;
        while let Some(at) = e[i..].find("dts_") {
            let start = i + at;
            let mut end = start;
            while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
                end += 1;
            }
            // An identifier, not part of a longer one.
            if start == 0 || !(b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_') {
                names.insert(e[start..end].to_string());
            }
            i = end;
        }
    }
    names
}

/// Scrapes until `ready` holds (or fails after 60 s).
fn scrape_until(port: u16, what: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(m) = http_get(port, "/metrics")
            && ready(&m)
        {
            return m;
        }
        assert!(Instant::now() < deadline, "{what}: not in /metrics in time");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Scrapes the run started again until it applies rows beyond `before`: every counter of
/// `before` is at least where it was. The scrape.
fn run_again(port: u16, task: &str, before: &[Sample], after_what: &str) -> Vec<Sample> {
    let applied = value(before, "dts_rows_applied_total");
    let again = scrape_until(port, &format!("the run after {after_what} applying rows"), |m| {
        m.contains("phase=\"incremental\"} 1") && value(&check_exposition(m, task), "dts_rows_applied_total") > applied
    });
    let after = check_exposition(&again, task);
    let mut compared = 0;
    for b in before.iter().filter(|s| s.name.ends_with("_total")) {
        let a = after
            .iter()
            .find(|a| a.name == b.name && a.labels == b.labels)
            .unwrap_or_else(|| panic!("{} {:?} is gone after {after_what}", b.name, b.labels));
        assert!(
            a.value >= b.value,
            "{} {:?} ran backwards across {after_what}: {} then {}",
            b.name,
            b.labels,
            b.value,
            a.value
        );
        compared += 1;
    }
    assert!(compared >= 15, "only {compared} counters compared");
    after
}

fn value(samples: &[Sample], name: &str) -> f64 {
    samples.iter().filter(|s| s.name == name).map(|s| s.value).sum()
}

fn stop(child: &mut Child) {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0), "a stopped run exits 0");
}

#[test]
fn metrics_are_valid_serve_the_dashboard_and_counters_survive_a_restart() {
    let db = shared_pair().source.fresh_database("e2e_metrics").unwrap();
    let q = db.quoted();
    let mut src = shared_pair().source.conn().unwrap();
    for s in [
        format!("CREATE TABLE {q}.items (id BIGINT PRIMARY KEY, qty INT NOT NULL)"),
        format!("INSERT INTO {q}.items SELECT seq, seq FROM {q}.seq_1_to_2000"),
        format!("CREATE TABLE {q}.events (grp INT NOT NULL, note VARCHAR(20), KEY (grp))"),
        format!("INSERT INTO {q}.events SELECT seq % 10, 'e' FROM {q}.seq_1_to_500"),
    ] {
        src.query_drop(&s).unwrap();
    }
    // A writer for the whole test: the counters have something to count in every run.
    let stop_writer = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop_writer, q) = (stop_writer.clone(), q.clone());
        std::thread::spawn(move || {
            let mut c = shared_pair().source.conn().unwrap();
            let mut i = 0u64;
            while !stop_writer.load(Ordering::Relaxed) && i < 3000 {
                i += 1;
                c.query_drop(format!("UPDATE {q}.items SET qty = qty + 1 WHERE id = {}", i * 7 % 2000 + 1)).unwrap();
                c.query_drop(format!("INSERT INTO {q}.events VALUES ({}, 'w')", i % 10)).unwrap();
                std::thread::sleep(Duration::from_millis(40));
            }
        })
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let task = format!("met_{db}");
    let config = task_file(&task, db.as_str(), port);
    let mut child = spawn_run(&config);
    let applied = |m: &str| -> f64 {
        m.lines()
            .find(|l| l.starts_with("dts_rows_applied_total{"))
            .and_then(|l| l.rsplit(' ').next())
            .map_or(0.0, |v| v.parse().unwrap())
    };
    let first = scrape_until(port, "incremental sync applying rows", |m| {
        m.contains("phase=\"incremental\"} 1") && applied(m) > 0.0 && m.contains("dts_lag_seconds{")
    });
    let samples = check_exposition(&first, &task);
    // The dashboard's queries name only what is served.
    let served: BTreeSet<&str> = samples.iter().map(|s| s.name.as_str()).collect();
    let used = dashboard_metrics();
    assert!(used.contains("dts_destination_commit_seconds_bucket") && used.contains("dts_phase"), "{used:?}");
    let missing: Vec<&String> = used.iter().filter(|n| !served.contains(n.as_str())).collect();
    assert!(missing.is_empty(), "the dashboard uses metrics /metrics does not serve: {missing:?}\n{first}");
    // What the issue names, as Prometheus reads it.
    let one = |name: &str, label: (&str, &str)| {
        samples.iter().find(|s| s.name == name && s.labels.get(label.0).map(String::as_str) == Some(label.1))
    };
    assert_eq!(one("dts_phase", ("phase", "incremental")).unwrap().value, 1.0);
    assert_eq!(one("dts_phase", ("phase", "full")).unwrap().value, 0.0);
    assert_eq!(one("dts_build_info", ("version", env!("CARGO_PKG_VERSION"))).unwrap().value, 1.0);
    // Every copied row counted once: the copy's own record of the rows it committed.
    let mut dst = shared_pair().destination.conn().unwrap();
    let copied: u64 = dst
        .exec_first("SELECT CAST(SUM(rows_copied) AS UNSIGNED) FROM dts_meta.fullcopy_chunks WHERE task = ?", (&task,))
        .unwrap()
        .unwrap();
    assert!(copied >= 2500, "{copied}");
    assert_eq!(value(&samples, "dts_full_rows_copied_total"), copied as f64);
    assert!(value(&samples, "dts_destination_commit_seconds_count") > 0.0, "{first}");
    // Once the input's counters are persisted (every second), stop and run again: every
    // counter is at least where it was.
    let total = |m: &str, name: &str| value(&check_exposition(m, &task), name);
    let before = scrape_until(port, "the input's counters", |m| total(m, "dts_row_changes_total") > 0.0);
    let before = check_exposition(&before, &task);
    stop(&mut child);
    let mut child = spawn_run(&config);
    let after = run_again(port, &task, &before, "a restart");
    for name in ["dts_transactions_total", "dts_row_changes_total", "dts_transactions_applied_total"] {
        assert!(value(&before, name) > 0.0, "{name} counted nothing in the first run");
    }
    // The full copy is not done again, and its counter keeps the first run's rows.
    assert_eq!(value(&after, "dts_full_rows_copied_total"), copied as f64);
    // Killed (no last write of its counters) while the writer runs, a scrape after the last
    // persisted counts: served counters are what the totals hold, so nothing served is lost.
    for round in 0..3 {
        std::thread::sleep(Duration::from_millis(1700 + 300 * round));
        let served = check_exposition(&http_get(port, "/metrics").unwrap(), &task);
        child.kill().unwrap();
        child.wait().unwrap();
        child = spawn_run(&config);
        run_again(port, &task, &served, "a kill -9");
    }
    stop(&mut child);
    stop_writer.store(true, Ordering::Relaxed);
    writer.join().unwrap();
}
