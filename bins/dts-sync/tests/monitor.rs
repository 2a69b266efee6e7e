//! A running task as an operator watches it: `/metrics` and `/status` over HTTP, the
//! heartbeat's lag, continuous verification, a clean stop on SIGTERM, and a failure firing the
//! alert command and the webhook.
//!
//! This stays in Rust rather than in `tests/cases/` (the cases as data): it talks HTTP to the
//! running process, receives a webhook, reads the alert command's file and signals the process,
//! none of which a case folder can say. The other whole-task tests are cases there.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dts_testkit::{replica_server_id, shared_pair};
use mysql::prelude::Queryable;

fn dts_sync() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dts-sync"));
    let pair = shared_pair();
    c.env("DTS_TEST_SRC_PW", pair.source.password().expose());
    c.env("DTS_TEST_DST_PW", pair.destination.password().expose());
    c.env("DTS_LOG", "warn");
    c
}

/// A task file for the shared pair (passwords from the environment); `body` adds objects
/// and sections.
fn task_file(name: &str, body: &str) -> PathBuf {
    let pair = shared_pair();
    let text = format!(
        r#"[source]
host = "127.0.0.1"
port = {}
user = "dts"
password_env = "DTS_TEST_SRC_PW"

[destination]
host = "127.0.0.1"
port = {}
user = "dts"
password_env = "DTS_TEST_DST_PW"

[task]
name = "{name}"
server_id = {}

{body}
"#,
        pair.source.port(),
        pair.destination.port(),
        replica_server_id(),
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("dts-monitor-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn spawn_run(config: &PathBuf) -> Child {
    dts_sync().args(["run", "--config"]).arg(config).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
}

fn sql(stmts: &[String]) {
    let mut c = shared_pair().source.conn().unwrap();
    for s in stmts {
        c.query_drop(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
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
        "[monitor]\nlisten = \"127.0.0.1:{port}\"\nalert_command = \"echo $DTS_ALERT_KIND: $DTS_ALERT_MESSAGE > {}\"\n\
         alert_webhook = \"http://127.0.0.1:{hook_port}/alert\"\n",
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
            if m.contains("dts_phase 3") && m.contains("dts_lag_seconds") {
                break m;
            }
        }
        assert!(std::time::Instant::now() < deadline, "no incremental phase in /metrics");
    };
    assert!(metrics.contains("# TYPE dts_lag_bytes gauge"), "{metrics}");
    assert!(metrics.contains("# TYPE dts_transactions_total counter"), "{metrics}");
    let status = http_get(port, "/status");
    assert!(status.contains("\"phase\": \"incremental\""), "{status}");
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
        m.lines().find_map(|l| l.strip_prefix(&format!("dts_{name} "))).map_or(0, |v| v.trim().parse().unwrap())
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
    let out = dts_sync().env("DTS_TEST_SRC_PW", "bad").args(["run", "--config"]).arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let alert = std::fs::read_to_string(&alert_file).unwrap();
    assert!(alert.starts_with("failure: task mon_") && alert.contains("precheck"), "{alert}");
    let (method, body) = received.join().unwrap();
    assert_eq!(method, "POST");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["kind"], "failure", "{body}");
    assert_eq!(j["task"], format!("mon_{db}"));
}
