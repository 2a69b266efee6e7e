//! A running task as an operator watches it: `/metrics` and `/status` over HTTP, the
//! heartbeat's lag, continuous verification, a clean stop on SIGTERM, and a failure firing the
//! alert command and the webhook.
//!
//! This stays in Rust rather than in `tests/cases/` (the cases as data): it talks HTTP to the
//! running process, receives a webhook, reads the alert command's file and signals the process,
//! none of which a case folder can say. The other whole-task tests are cases there.

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

mod common;
use common::{source_sql as sql, task_file as task_file_in};

use dts_testkit::shared_pair;
use mysql::prelude::Queryable;

fn task_file(name: &str, body: &str) -> PathBuf {
    task_file_in(&common::test_dir("dts-monitor-test"), name, body)
}

fn spawn_run(config: &PathBuf) -> Child {
    common::dts_sync("warn")
        .args(["run", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn a_running_task_serves_metrics_and_status_and_a_failure_fires_the_alert() {
    let db = shared_pair().source.fresh_database("e2e_mon").unwrap();
    let q = db.quoted();
    sql(&[
        format!(
            "CREATE TABLE {q}.items (id BIGINT PRIMARY KEY, qty INT NOT NULL, label VARCHAR(50), secret VARCHAR(20), \
             created DATETIME(3) NOT NULL DEFAULT '2024-01-01 00:00:00') DEFAULT CHARSET=utf8mb4"
        ),
        format!(
            "INSERT INTO {q}.items (id, qty, label, secret) SELECT seq, seq % 50, CONCAT('item ', seq), 's' \
             FROM {q}.seq_1_to_100"
        ),
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let alert_file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("alert-{db}"));
    // A webhook receiver: the first POST's body.
    let hook = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let hook_port = hook.server_addr().to_ip().unwrap().port();
    let received = std::thread::spawn(move || {
        let mut req = hook.recv_timeout(Duration::from_secs(120)).unwrap().expect("a webhook call");
        let mut body = String::new();
        std::io::Read::read_to_string(req.as_reader(), &mut body).unwrap();
        let method = req.method().to_string();
        let _ = req.respond(tiny_http::Response::from_string("ok"));
        (method, body)
    });
    let monitor = format!(
        "[monitor]\nlisten = \"{port}\"\nalert_command = \"echo $DTS_ALERT_KIND: $DTS_ALERT_MESSAGE > {}; env > {}.env\"\n\
         alert_webhook = \"http://127.0.0.1:{hook_port}/alert\"\n",
        alert_file.display(),
        alert_file.display()
    );
    let config = task_file(
        &format!("mon_{db}"),
        &format!("[[objects]]\ndatabase = \"{db}\"\n\n{monitor}\n[verify]\ncontinuous = true\n"),
    );
    let mut child = spawn_run(&config);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let metrics = loop {
        std::thread::sleep(Duration::from_millis(300));
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let m = http_get(port, "/metrics");
            if m.contains("phase=\"incremental\"} 1") && m.contains("dts_lag_seconds{") {
                break m;
            }
        }
        assert!(std::time::Instant::now() < deadline, "no incremental phase in /metrics");
    };
    assert!(metrics.contains("# TYPE dts_lag_bytes gauge"), "{metrics}");
    assert!(metrics.contains("# TYPE dts_transactions_total counter"), "{metrics}");
    let status = http_get(port, "/status");
    assert!(status.contains("\"phase\": \"incremental\""), "{status}");
    hostile_clients_do_not_stop_metrics_or_applying(port, &mut child, &db);
    // The source's heartbeat reaches the destination through the binlog: the lag is measured.
    let task = format!("mon_{db}");
    let mut d = shared_pair().destination.conn().unwrap();
    let lag = loop {
        let lag: Option<f64> = d
            .exec_first(
                "SELECT TIMESTAMPDIFF(MICROSECOND, ts, UTC_TIMESTAMP(6)) / 1e6 FROM dts_meta.heartbeat WHERE task = ?",
                (&task,),
            )
            .unwrap();
        if let Some(l) = lag {
            break l;
        }
        assert!(std::time::Instant::now() < deadline, "no heartbeat applied");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(lag < 10.0, "heartbeat lag {lag}");
    // Continuous verification compares the rows incremental sync applies.
    sql(&[format!("UPDATE {q}.items SET qty = qty + 1 WHERE id <= 20")]);
    let metric = |m: &str, name: &str| -> u64 {
        m.lines()
            .find(|l| l.starts_with(&format!("dts_{name}{{task=")))
            .and_then(|l| l.rsplit(' ').next())
            .map_or(0, |v| v.trim().parse().unwrap())
    };
    loop {
        let m = http_get(port, "/metrics");
        if metric(&m, "verify_rows_checked_total") >= 20 {
            assert_eq!(metric(&m, "verify_rows_mismatched_total"), 0, "{m}");
            break;
        }
        assert!(std::time::Instant::now() < deadline + Duration::from_secs(30), "no rows checked:\n{m}");
        std::thread::sleep(Duration::from_millis(300));
    }
    // Rows of a table the task does not select are skipped before decoding, and counted.
    let other = shared_pair().source.fresh_database("e2e_mon_other").unwrap();
    sql(&[
        format!("CREATE TABLE {}.t (id INT PRIMARY KEY)", other.quoted()),
        format!("INSERT INTO {}.t VALUES (1), (2)", other.quoted()),
    ]);
    loop {
        let m = http_get(port, "/metrics");
        if metric(&m, "rows_events_skipped_total") >= 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline + Duration::from_secs(40), "no row event skipped:\n{m}");
        std::thread::sleep(Duration::from_millis(300));
    }
    // So are writes logged in statement format and XA transactions there.
    let xid = format!("'{other}'");
    sql(&[
        "SET SESSION binlog_format = 'STATEMENT'".into(),
        format!("INSERT INTO {}.t VALUES (3)", other.quoted()),
        "SET SESSION binlog_format = 'ROW'".into(),
        format!("XA START {xid}"),
        format!("INSERT INTO {}.t VALUES (4)", other.quoted()),
        format!("XA END {xid}"),
        format!("XA PREPARE {xid}"),
        format!("XA COMMIT {xid}"),
    ]);
    loop {
        let m = http_get(port, "/metrics");
        if metric(&m, "statement_writes_skipped_total") >= 1 && metric(&m, "xa_transactions_skipped_total") >= 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline + Duration::from_secs(50), "not counted:\n{m}");
        std::thread::sleep(Duration::from_millis(300));
    }
    // SIGTERM stops it cleanly.
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(0));
    // A failing run fires the alert command once.
    let out =
        common::dts_sync("warn").env("DTS_TEST_SRC_PW", "bad").args(["run", "--config"]).arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let alert = std::fs::read_to_string(&alert_file).unwrap();
    assert!(alert.starts_with("failure: task mon_") && alert.contains("precheck"), "{alert}");
    // The command's environment has the task's variables but not the password variables.
    let env = std::fs::read_to_string(format!("{}.env", alert_file.display())).unwrap();
    assert!(env.contains("DTS_ALERT_KIND=failure"), "{env}");
    let dst_pw = shared_pair().destination.password().expose().to_string();
    assert!(!env.contains("DTS_TEST_SRC_PW") && !env.contains("DTS_TEST_DST_PW") && !env.contains(&dst_pw), "{env}");
    let (method, body) = received.join().unwrap();
    assert_eq!(method, "POST");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["kind"], "failure", "{body}");
    assert_eq!(j["task"], format!("mon_{db}"));
}

/// 100 clients at once, over and over: a third announce a body of 10^15 bytes (tiny_http, used
/// before, allocated it and aborted), a third announce 5000 bytes and never send them, a third
/// send their head a byte at a time. Meanwhile `/metrics` answers within 1 s every time, rows
/// written on the source reach the destination, and the process lives on.
fn hostile_clients_do_not_stop_metrics_or_applying(port: u16, child: &mut Child, db: &dts_types::Ident) {
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    let attackers: Vec<_> = (0..100)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { continue };
                    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                    let head: &[u8] = match i % 3 {
                        0 => b"GET /status HTTP/1.1\r\nContent-Length: 1000000000000000\r\n\r\n",
                        1 => b"GET /status HTTP/1.1\r\nContent-Length: 5000\r\n\r\n",
                        _ => b"GET /metrics HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                    };
                    let chunk = if i % 3 == 2 { 1 } else { head.len() };
                    for part in head.chunks(chunk) {
                        if stop.load(Ordering::Relaxed) || s.write_all(part).is_err() {
                            break;
                        }
                        if chunk == 1 {
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                    // Answered at once (413): a short pause, so the test measures the server,
                    // not how fast 100 threads can reconnect.
                    std::thread::sleep(Duration::from_millis(10));
                    let mut sink = [0u8; 512];
                    // Until the server closes (Ok(0)) or resets; a timeout only means "still open".
                    while !stop.load(Ordering::Relaxed) {
                        match s.read(&mut sink) {
                            Ok(0) => break,
                            Ok(_) => {}
                            Err(e)
                                if matches!(
                                    e.kind(),
                                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                                ) => {}
                            Err(_) => break,
                        }
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let q = db.quoted();
    let mut slowest = Duration::ZERO;
    let until = std::time::Instant::now() + Duration::from_secs(6);
    let mut id = 10_000;
    while std::time::Instant::now() < until {
        sql(&[format!("INSERT INTO {q}.items (id, qty, label, secret) VALUES ({id}, 1, 'under attack', 's')")]);
        id += 1;
        let t = std::time::Instant::now();
        let m = http_get(port, "/metrics");
        slowest = slowest.max(t.elapsed());
        assert!(m.starts_with("HTTP/1.1 200 ") && m.contains("dts_transactions_total"), "{m}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(slowest < Duration::from_secs(1), "/metrics took {slowest:?} under hostile clients");
    assert!(child.try_wait().unwrap().is_none(), "dts-sync exited under hostile clients");
    let mut d = shared_pair().destination.conn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let n: u64 = d.query_first(format!("SELECT COUNT(*) FROM {q}.items WHERE id >= 10000")).unwrap().unwrap();
        if n == id - 10_000 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{n} of {} rows written under attack applied", id - 10_000);
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        a.join().unwrap();
    }
    eprintln!("hostile clients: slowest /metrics {slowest:?}, {} rows applied meanwhile", id - 10_000);
}
