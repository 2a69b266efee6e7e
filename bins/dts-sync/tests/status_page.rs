//! The status page as an operator opens it: a real task (the `dts-sync` binary, the shared
//! servers, a writer changing the source) serving `/`, loaded in headless Chromium, whose DOM
//! must hold the live figures `/status` serves; and `/healthz` and `/readyz` through the phases
//! (503 during the full copy and while behind, 200 when caught up).
//!
//! A Rust test rather than a case folder: it talks HTTP to the running process and drives a
//! browser. Chromium must be installed (`scripts/install-test-tools`, which `scripts/test`
//! runs); without it this test fails saying so, it never skips.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod common;
use common::source_sql as sql;

use dts_testkit::shared_pair;
use mysql::prelude::Queryable;

/// A table name a page must show as text: inserted as HTML it would become an element.
const HOSTILE: &str = "<img src=x onerror=alert(1)>";

/// The lag `/readyz` allows in this test (`[monitor] ready_lag_seconds`).
const READY_LAG: u64 = 3;

fn dir() -> PathBuf {
    common::test_dir("dts-status-page")
}

fn task_file(name: &str, body: &str) -> PathBuf {
    common::task_file(&dir(), name, body)
}

/// The browser: `DTS_CHROMIUM`, else `chromium` on the PATH; the test fails without it.
fn chromium() -> PathBuf {
    let found = match std::env::var_os("DTS_CHROMIUM") {
        Some(p) => Some(PathBuf::from(p)).filter(|p| p.is_file()),
        None => std::env::var_os("PATH")
            .and_then(|path| std::env::split_paths(&path).map(|d| d.join("chromium")).find(|p| p.is_file())),
    };
    found.unwrap_or_else(|| {
        panic!(
            "the status page test needs Chromium (headless), found neither $DTS_CHROMIUM nor chromium on the PATH: \
             run scripts/install-test-tools (it runs apt-get install chromium on Debian/Ubuntu), \
             or set DTS_CHROMIUM to the browser's program"
        )
    })
}

/// Runs headless Chromium on `url` with `args` (killed after 90 s), with a profile of the
/// caller's own (`profile`: tests run at once); returns its stdout.
fn browse(profile: &str, url: &str, args: &[String]) -> String {
    let profile = dir().join(format!("chromium-{profile}"));
    let mut child = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--virtual-time-budget=5000"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium().display()));
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).unwrap();
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        // Chromium's stderr is only shown when it fails.
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            // It is ours and still running.
            let _ = child.kill();
            // Reaping a process just killed: its status is not needed.
            let _ = child.wait();
            panic!("chromium did not finish within 90 s:\n{}", err_reader.join().unwrap());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = reader.join().unwrap();
    let stderr = err_reader.join().unwrap();
    assert!(status.success(), "chromium exited with {status}:\n{stderr}");
    stdout
}

/// (status code, body); `None` while nothing listens.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

fn json(port: u16, path: &str) -> serde_json::Value {
    let (code, body) = get(port, path).unwrap_or_else(|| panic!("{path}: no answer"));
    assert_eq!(code, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

/// Polls `what` every 200 ms until it gives a value, failing after `secs`.
fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "waited {secs} s for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// 1234567 as the page writes it: "1,234,567".
fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The element with `id` in the serialized DOM, up to its closing `</tag>`.
fn element<'a>(dom: &'a str, id: &str, tag: &str) -> &'a str {
    let start = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in the page:\n{dom}"));
    let end = dom[start..].find(&format!("</{tag}>")).unwrap_or_else(|| panic!("#{id} is not closed"));
    &dom[start..start + end]
}

/// The number in `attr="N"` right after `id`'s start.
fn attr_number(fragment: &str, attr: &str) -> u64 {
    let key = format!("{attr}=\"");
    let at = fragment.find(&key).unwrap_or_else(|| panic!("no {attr} in {fragment}")) + key.len();
    fragment[at..].split('"').next().unwrap().parse().unwrap()
}

/// A writer changing the source until stopped.
fn writer(q: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut c = shared_pair().source.conn().unwrap();
        let mut i = 0u64;
        while !stop.load(Ordering::Relaxed) {
            i += 1;
            c.query_drop(format!(
                "INSERT INTO {q}.items (id, qty, label) VALUES ({}, {i} % 7, 'written live')",
                1_000_000 + i
            ))
            .unwrap();
            c.query_drop(format!("UPDATE {q}.items SET qty = qty + 1 WHERE id = {}", i % 3000 + 1)).unwrap();
            std::thread::sleep(Duration::from_millis(50));
        }
        i
    })
}

fn wait_exit(child: &mut Child, secs: u64) -> std::process::ExitStatus {
    wait_for(secs, "dts-sync to exit", || child.try_wait().unwrap())
}

#[test]
fn the_status_page_shows_the_live_task_in_a_browser_and_the_probes_follow_the_phases() {
    // Before anything: without a browser this test fails, saying what to install.
    chromium();
    let db = shared_pair().source.fresh_database("e2e_page").unwrap();
    let q = db.quoted();
    let hostile = format!("{q}.`{HOSTILE}`");
    sql(&[
        format!("CREATE TABLE {q}.items (id BIGINT PRIMARY KEY, qty INT NOT NULL, label VARCHAR(50))"),
        format!("INSERT INTO {q}.items SELECT seq, seq % 50, CONCAT('item ', seq) FROM {q}.seq_1_to_3000"),
        format!("CREATE TABLE {hostile} (id INT PRIMARY KEY, v VARCHAR(10))"),
        format!("INSERT INTO {hostile} SELECT seq, 'x' FROM {q}.seq_1_to_40"),
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let task = format!("page_{db}");
    // The copy is throttled so that it lasts a few seconds (the probes are checked during it);
    // the applier too, so that a burst of rows puts the task behind.
    let config = task_file(
        &task,
        &format!(
            "[[objects]]\ndatabase = \"{db}\"\n\n[full]\nchunk_rows = 500\nrows_per_sec = 500\n\n[incremental]\nrows_per_sec = 400\n\n\
             [monitor]\nlisten = \"{port}\"\nready_lag_seconds = {READY_LAG}\n"
        ),
    );
    let log_path = dir().join(format!("{task}.log"));
    let mut child = common::dts_sync("info")
        .args(["run", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();

    // During the full copy: alive, not ready.
    wait_for(60, "phase full in /status", || {
        assert!(child.try_wait().unwrap().is_none(), "dts-sync exited:\n{}", log());
        let (_, body) = get(port, "/status")?;
        body.contains("\"phase\": \"full\"").then_some(())
    });
    assert_eq!(get(port, "/healthz").unwrap(), (200, "ok\n".to_string()));
    let (code, why) = get(port, "/readyz").unwrap();
    assert_eq!(code, 503, "{why}");
    assert!(why.starts_with("not ready: phase full"), "{why}");

    let stop_writer = Arc::new(AtomicBool::new(false));
    let writes = writer(q.to_string(), stop_writer.clone());

    // Caught up in incremental sync: ready.
    let ready = wait_for(60, "/readyz 200", || get(port, "/readyz").filter(|(c, _)| *c == 200));
    assert!(ready.1.starts_with("ready: phase incremental, lag "), "{}", ready.1);

    // A DDL statement while the writer writes: the page lists it with its outcome.
    sql(&[format!("ALTER TABLE {q}.items ADD COLUMN note VARCHAR(20) NULL")]);
    wait_for(30, "the ALTER applied in /status ddl_recent", || {
        let s = json(port, "/status");
        let first = s["ddl_recent"].get(0)?;
        (first["outcome"] == "applied" && first["statement"].as_str()?.contains("ADD COLUMN note")).then_some(())
    });
    // Enough samples for both charts, with rows applied.
    wait_for(30, "history samples with rows applied", || {
        let h = json(port, "/history");
        let s = h["samples"].as_array()?;
        (s.len() >= 4 && s.last()?["rows_applied"].as_u64()? > s.first()?["rows_applied"].as_u64()?).then_some(())
    });

    let url = format!("http://127.0.0.1:{port}/");
    let t = Instant::now();
    let dom = browse("live", &url, &["--dump-dom".into()]);
    let browse_time = t.elapsed();
    let status = json(port, "/status");
    let precheck = json(port, "/precheck");

    // The phase and the state.
    assert!(element(&dom, "phase", "span").ends_with(">incremental"), "{}", element(&dom, "phase", "span"));
    assert!(element(&dom, "state", "span").ends_with(">running"), "{}", element(&dom, "state", "span"));
    assert!(element(&dom, "task", "span").ends_with(&format!(">{task}")));
    // Every table's rows copied, as /status says (the copy is over: the figures stand still).
    let tables = element(&dom, "tables", "tbody");
    let full_copy = status["full_copy"].as_array().unwrap();
    assert_eq!(full_copy.len(), 2, "{status}");
    let items = full_copy.iter().find(|t| t["table"] == format!("{db}.items")).unwrap();
    let rows = items["rows_copied"].as_u64().unwrap();
    // The writer started during the copy: the last chunk may hold some of its rows.
    assert!(rows >= 3000, "{status}");
    let row = format!("<tr data-table=\"{db}.items\" data-rows=\"{rows}\">");
    let at = tables.find(&row).unwrap_or_else(|| panic!("no {row} in the page's tables:\n{tables}"));
    let cells = &tables[at..at + tables[at..].find("</tr>").unwrap()];
    assert!(cells.contains(&format!("<td class=\"num rows\">{}</td>", grouped(rows))), "{cells}");
    // The hostile name is text, not an element: nothing the page inserts is parsed as HTML.
    assert!(tables.contains("&lt;img src=x onerror=alert(1)&gt;"), "{tables}");
    assert!(!dom.contains("<img"), "a table name became an element:\n{dom}");
    // Both charts are drawn, with points.
    for (chart, series) in [("lag-chart", "lag"), ("rate-chart", "applied")] {
        let svg = element(&dom, chart, "svg");
        assert!(attr_number(svg, "data-points") >= 2, "{chart}: {svg}");
        let line = &svg[svg.find(&format!("data-series=\"{series}\"")).unwrap_or_else(|| panic!("{chart}: {svg}"))..];
        assert!(attr_number(line, "data-points") >= 2, "{chart}: {svg}");
        assert!(svg.contains("<polyline"), "{chart}: {svg}");
    }
    // The lag card shows a figure.
    assert!(element(&dom, "lag", "div").ends_with(" s"), "{}", element(&dom, "lag", "div"));
    // The DDL, with its outcome.
    let ddl = element(&dom, "ddl", "tbody");
    let first = &ddl[..ddl.find("</tr>").unwrap()];
    assert!(first.contains("data-outcome=\"applied\"") && first.contains("ADD COLUMN note"), "{ddl}");
    // The precheck's every item: failures and warnings in the open, the passes folded.
    let items = precheck["items"].as_array().unwrap();
    assert!(!items.is_empty());
    let (attention, passed) = (element(&dom, "precheck-attention", "tbody"), element(&dom, "precheck-passed", "tbody"));
    for it in items {
        let id = it["id"].as_str().unwrap();
        let place = if it["status"] == "pass" { passed } else { attention };
        assert!(place.contains(&format!("data-check=\"{id}\"")), "precheck {id} missing:\n{attention}\n{passed}");
    }
    if items.iter().all(|it| it["status"] == "pass") {
        assert!(attention.contains("No warnings or failures."), "{attention}");
    }
    // No error to show.
    assert!(
        dom.contains("<section id=\"error-section\" hidden=\"\">"),
        "{}",
        element(&dom, "error-section", "section")
    );

    // What an operator sees, for people to look at.
    let png = dir().join("status.png");
    browse("live", &url, &[format!("--screenshot={}", png.display()), "--window-size=1280,900".into()]);
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", png.display()));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(bytes.len() > 20_000, "the screenshot is {} bytes: a blank page?", bytes.len());
    eprintln!("status page: DOM in {browse_time:?}; screenshot {} ({} bytes)", png.display(), bytes.len());

    // A burst of rows the throttled applier takes seconds over: behind, not ready; then ready again.
    sql(&[format!("INSERT INTO {q}.items (id, qty, label) SELECT 2000000 + seq, 1, 'burst' FROM {q}.seq_1_to_4000")]);
    let behind = wait_for(40, "/readyz 503 while behind", || get(port, "/readyz").filter(|(c, _)| *c == 503));
    assert!(behind.1.contains(&format!("s over {READY_LAG} s")), "{}", behind.1);
    let ready = wait_for(60, "/readyz 200 once caught up", || get(port, "/readyz").filter(|(c, _)| *c == 200));
    assert!(ready.1.starts_with("ready: "), "{}", ready.1);

    stop_writer.store(true, Ordering::Relaxed);
    let written = writes.join().unwrap();
    assert!(written > 0);
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert_eq!(wait_exit(&mut child, 60).code(), Some(0), "{}", log());
    // A profile from an earlier run may or may not be there.
    let _ = std::fs::remove_dir_all(dir().join("chromium-live"));
    assert!(Path::new(&png).exists());
}

/// The last-error panel after a real error: a run whose full copy the destination refuses (a
/// trigger there raises an error on every insert) stops with the error recorded; once the
/// trigger is gone the next run resumes the copy, and while it copies its page shows that
/// error, as text, in the open panel.
#[test]
fn the_status_page_shows_the_last_runs_error_in_its_panel() {
    chromium();
    let db = shared_pair().source.fresh_database("e2e_page_error").unwrap();
    let q = db.quoted();
    sql(&[
        format!("CREATE TABLE {q}.items (id BIGINT PRIMARY KEY, qty INT NOT NULL)"),
        format!("INSERT INTO {q}.items SELECT seq, seq % 50 FROM {q}.seq_1_to_4000"),
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let task = format!("page_err_{db}");
    // A copy lasting about 20 s: the error comes early, and the resumed copy outlasts the browser.
    let config = task_file(
        &task,
        &format!(
            "[[objects]]\ndatabase = \"{db}\"\n\n[full]\nchunk_rows = 250\nrows_per_sec = 200\n\n[monitor]\nlisten = \"{port}\"\n"
        ),
    );
    let log_path = dir().join(format!("{task}.log"));
    let spawn = || {
        common::dts_sync("info")
            .args(["run", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap()
    };
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut child = spawn();
    wait_for(60, "phase full in /status", || {
        assert!(child.try_wait().unwrap().is_none(), "dts-sync exited:\n{}", log());
        let (_, body) = get(port, "/status")?;
        body.contains("\"phase\": \"full\"").then_some(())
    });
    let mut dst = shared_pair().destination.root_conn().unwrap();
    let trigger = format!("{q}.`refuse_rows`");
    dst.query_drop(format!(
        "CREATE TRIGGER {trigger} BEFORE INSERT ON {q}.items FOR EACH ROW \
         SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the test trigger refuses this row'"
    ))
    .unwrap();
    assert_eq!(wait_exit(&mut child, 60).code(), Some(1), "the refused copy stops the run:\n{}", log());
    assert!(log().contains("the test trigger refuses this row"), "{}", log());

    dst.query_drop(format!("DROP TRIGGER {trigger}")).unwrap();
    let mut child = spawn();
    let status = wait_for(60, "the resumed copy's /status with the last error", || {
        assert!(child.try_wait().unwrap().is_none(), "dts-sync exited:\n{}", log());
        let s: serde_json::Value = serde_json::from_str(&get(port, "/status")?.1).ok()?;
        (s["phase"] == "full" && s["running"] == true && s["last_error"].is_string()).then_some(s)
    });
    let error = status["last_error"].as_str().unwrap().to_string();
    assert!(error.contains("ERROR 1644 (45000): the test trigger refuses this row"), "{error}");
    let dom = browse("error", &format!("http://127.0.0.1:{port}/"), &["--dump-dom".into()]);
    let section = element(&dom, "error-section", "section");
    assert!(section.starts_with("id=\"error-section\">"), "the error panel is hidden:\n{section}");
    let shown = element(&dom, "last-error", "pre");
    let text = shown.split_once('>').map_or("", |(_, t)| t);
    // The error as /status serves it, as text (the DOM escapes what HTML would parse).
    let escaped = error.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    assert_eq!(text, escaped, "the panel does not show the last error");
    // Still copying: the page was read during the resumed copy, not after it.
    assert_eq!(json(port, "/status")["phase"], "full", "the copy ended before the page was read");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert_eq!(wait_exit(&mut child, 60).code(), Some(0), "{}", log());
    let _ = std::fs::remove_dir_all(dir().join("chromium-error"));
}
