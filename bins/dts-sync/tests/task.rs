//! Whole tasks through the `dts-sync` binary against real servers: renames, a column subset and
//! a filter under a live writer; kill -9 during full and during incremental sync, five times
//! each; DDL during incremental sync; bad task files, wrong passwords, unreachable servers.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use dts_schema::{DatabaseRule, Selection, TableRule};
use dts_testkit::{Sandbox, shared_pair};
use dts_types::Ident;
use mysql::prelude::Queryable;

fn dts_sync() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dts-sync"));
    let pair = shared_pair();
    c.env("DTS_TEST_SRC_PW", pair.source.password().expose());
    c.env("DTS_TEST_DST_PW", pair.destination.password().expose());
    c.env("DTS_LOG", "warn");
    c
}

/// A task file for the shared pair; `body` adds [task] keys and objects.
fn task_file(name: &str, task_keys: &str, body: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let pair = shared_pair();
    let server_id = 0x6000_0000 + (std::process::id() % 0x10_0000) * 16 + NEXT.fetch_add(1, Ordering::Relaxed);
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
server_id = {server_id}
{task_keys}

{body}
"#,
        pair.source.port(),
        pair.destination.port()
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("dts-task-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn run(args: &[&str], config: &PathBuf) -> Output {
    dts_sync().args(args).arg("--config").arg(config).output().unwrap()
}

#[track_caller]
fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "exit {:?}\n{stdout}\n{}", out.status.code(), String::from_utf8_lossy(&out.stderr));
    stdout
}

fn spawn_run(config: &PathBuf) -> Child {
    dts_sync().args(["run", "--config"]).arg(config).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
}

fn sql(sb: &Sandbox, stmts: &[String]) {
    let mut c = sb.conn().unwrap();
    for s in stmts {
        c.query_drop(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

/// A writer on the source until `stop`: updates, inserts, deletes, a key change now and then.
fn writer(db: &Ident, stop: &AtomicBool) {
    let mut c = shared_pair().source.conn().unwrap();
    c.query_drop(format!("USE {}", db.quoted())).unwrap();
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let id = (i * 7919) % 3000 + 1;
        let _ = c.query_drop(format!("UPDATE items SET qty = qty + 1, label = CONCAT('w', {i}) WHERE id = {id}"));
        let _ = c.query_drop(format!(
            "INSERT INTO items (id, qty, label, secret) VALUES ({}, {}, 'new {i}', 'x') ON DUPLICATE KEY UPDATE qty = 0",
            10_000 + i,
            i % 40
        ));
        if i.is_multiple_of(5) {
            let _ = c.query_drop(format!("DELETE FROM items WHERE id = {}", (i * 31) % 3000 + 1));
        }
        if i.is_multiple_of(17) {
            let _ = c.query_drop(format!("UPDATE items SET id = id + 100000 WHERE id = {}", (i * 13) % 3000 + 1));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn seed(prefix: &str, rows: u64) -> Ident {
    let pair = shared_pair();
    let db = pair.source.fresh_database(prefix).unwrap();
    sql(
        &pair.source,
        &[
            format!(
                "CREATE TABLE {}.items (id BIGINT PRIMARY KEY, qty INT NOT NULL, label VARCHAR(50), secret VARCHAR(20), \
                 created DATETIME(3) NOT NULL DEFAULT '2024-01-01 00:00:00') DEFAULT CHARSET=utf8mb4",
                db.quoted()
            ),
            format!(
                "INSERT INTO {}.items (id, qty, label, secret) SELECT seq, seq % 50, CONCAT('item ', seq), 's' \
                 FROM {}.seq_1_to_{rows}",
                db.quoted(),
                db.quoted()
            ),
        ],
    );
    db
}

/// The task's objects: `items` renamed, without `secret`, `qty` as `quantity`, rows with
/// qty < 30 only.
fn objects(db: &Ident) -> String {
    format!(
        r#"[[objects]]
database = "{db}"
rename = "{db}_copy"

[[objects.tables]]
name = "items"
rename = "stock"
exclude_columns = ["secret"]
column_renames = {{ qty = "quantity" }}
filter = "qty < 30"
"#
    )
}

fn verify_identical(config: &PathBuf) {
    let out = run(&["verify", "--json"], config);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let j: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(j["differences"], 0, "{stdout}");
}

/// Independent of the tool: every selected row compared, by the verify crate chunk by chunk.
fn compare_rows(db: &Ident) {
    let pair = shared_pair();
    let selection = Selection {
        databases: vec![DatabaseRule {
            database: db.to_string(),
            rename: Some(format!("{db}_copy")),
            tables: Some(vec![TableRule {
                name: "items".into(),
                rename: Some("stock".into()),
                exclude_columns: vec!["secret".into()],
                column_renames: [("qty".to_string(), "quantity".to_string())].into(),
                filter: Some("qty < 30".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }],
        ..Default::default()
    };
    let o = dts_verify::VerifyOptions { table_checksum_first: false, ..Default::default() };
    let r = dts_verify::run(&pair.source.opts(), &pair.destination.opts(), &selection, &o, None).unwrap();
    assert!(r.identical(), "{}", r.to_table());
    assert!(r.tables[0].source_rows.unwrap() > 100);
}

#[test]
fn renames_a_column_subset_and_a_filter_under_a_live_writer_end_identical() {
    let db = seed("e2e_map", 3000);
    let config = task_file(&format!("map_{db}"), "", &objects(&db));
    let out = run(&["precheck"], &config);
    let stdout = ok(&out);
    assert!(stdout.contains("the task may start"), "{stdout}");
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| writer(&db, &stop));
        std::thread::sleep(Duration::from_millis(300));
        ok(&run(&["run", "--exit-when-caught-up"], &config));
        std::thread::sleep(Duration::from_millis(700));
        stop.store(true, Ordering::Relaxed);
    });
    ok(&run(&["run", "--exit-when-caught-up"], &config));
    compare_rows(&db);
    verify_identical(&config);
    // Checked again after it ran, the task is a resumed one: its own tables are no conflict.
    let pre = ok(&run(&["precheck", "--json"], &config));
    assert!(pre.contains("\"passed\": true") && pre.contains("checkpoint_binlog"), "{pre}");
    let status = ok(&run(&["status", "--json"], &config));
    let j: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(j["phase"], "incremental", "{status}");
    assert!(j["counters"]["transactions"].as_u64().unwrap() > 0, "{status}");
    assert!(j["counters"]["rows_filtered_out"].as_u64().unwrap() > 0, "{status}");
    // Other tests write on the shared source, so it may be ahead again: the lag is measured.
    assert!(j["checkpoint"].is_string() && j["lag_bytes"].is_u64(), "{status}");
    // The destination has only the selected, renamed columns.
    let cols: Vec<String> = shared_pair()
        .destination
        .conn()
        .unwrap()
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'stock' ORDER BY ORDINAL_POSITION",
            (format!("{db}_copy"),),
        )
        .unwrap();
    assert_eq!(cols, ["id", "quantity", "label", "created"]);
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[test]
fn kill_9_during_full_and_during_incremental_five_times_each_then_resume_ends_identical() {
    let db = seed("e2e_kill", 60_000);
    let config = task_file(
        &format!("kill_{db}"),
        "",
        &format!("{}\n[full]\nthreads = 2\nchunk_rows = 2000\nrows_per_sec = 8000\n", objects(&db)),
    );
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    // During the full copy (throttled to take a few seconds).
    for _ in 0..5 {
        let mut child = spawn_run(&config);
        std::thread::sleep(Duration::from_millis(200 + xorshift(&mut x) % 500));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let status = ok(&run(&["status", "--json"], &config));
    let j: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(j["phase"], "full", "still copying after five kills: {status}");
    // During incremental sync, with a writer.
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| writer(&db, &stop));
        ok(&run(&["run", "--exit-when-caught-up"], &config));
        for _ in 0..5 {
            let mut child = spawn_run(&config);
            std::thread::sleep(Duration::from_millis(300 + xorshift(&mut x) % 700));
            child.kill().unwrap();
            child.wait().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
    });
    ok(&run(&["run", "--exit-when-caught-up"], &config));
    compare_rows(&db);
}

#[test]
fn ddl_during_incremental_sync_flows_through() {
    let pair = shared_pair();
    let db = seed("e2e_ddl", 200);
    let config = task_file(&format!("ddl_{db}"), "", &format!("[[objects]]\ndatabase = \"{db}\"\n"));
    ok(&run(&["run", "--exit-when-caught-up"], &config));
    let q = db.quoted();
    sql(
        &pair.source,
        &[
            format!("ALTER TABLE {q}.items ADD COLUMN note VARCHAR(20) DEFAULT 'n'"),
            format!("UPDATE {q}.items SET note = 'changed' WHERE id <= 10"),
            format!("CREATE TABLE {q}.t2 (id INT PRIMARY KEY, v INT)"),
            format!("INSERT INTO {q}.t2 VALUES (1, 1), (2, 2)"),
            format!("RENAME TABLE {q}.t2 TO {q}.t3"),
            format!("INSERT INTO {q}.t3 VALUES (3, 3)"),
            format!("TRUNCATE TABLE {q}.t3"),
            format!("INSERT INTO {q}.t3 VALUES (4, 4)"),
            // Generated columns are the destination's to compute, never written.
            format!(
                "CREATE TABLE {q}.g (id INT PRIMARY KEY, a INT, b INT AS (a * 2) STORED, c INT AS (a + 1) VIRTUAL)"
            ),
            format!("INSERT INTO {q}.g (id, a) VALUES (1, 10), (2, 20)"),
            format!("UPDATE {q}.g SET a = a + 5"),
        ],
    );
    ok(&run(&["run", "--exit-when-caught-up"], &config));
    verify_identical(&config);
    let mut d = pair.destination.conn().unwrap();
    let notes: u64 = d.query_first(format!("SELECT COUNT(*) FROM {q}.items WHERE note = 'changed'")).unwrap().unwrap();
    assert_eq!(notes, 10);
    let t3: Vec<(i32, i32)> = d.query(format!("SELECT id, v FROM {q}.t3")).unwrap();
    assert_eq!(t3, [(4, 4)]);
    let t2: Option<u8> = d
        .exec_first(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't2'",
            (db.as_str(),),
        )
        .unwrap();
    assert!(t2.is_none(), "t2 was renamed away");
    let g: Vec<(i32, i32, i32, i32)> = d.query(format!("SELECT id, a, b, c FROM {q}.g ORDER BY id")).unwrap();
    assert_eq!(g, [(1, 15, 30, 16), (2, 25, 50, 26)]);
}

#[test]
fn bad_task_files_wrong_passwords_and_unreachable_servers_say_so() {
    let db = Ident::new("e2e_nothing").unwrap();
    let good = task_file("bad_cfg", "", &format!("[[objects]]\ndatabase = \"{db}\"\n"));
    let text = std::fs::read_to_string(&good).unwrap();
    // An unknown key: exit 2, naming the key and line.
    let bad = good.with_file_name("unknown.toml");
    std::fs::write(&bad, text.replace("[task]\n", "[task]\nworkers = 3\n")).unwrap();
    let out = run(&["run"], &bad);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("workers") && err.contains("line"), "{err}");
    // A bad value.
    std::fs::write(&bad, text.replace("[task]\n", "[task]\ntypes = [\"full\", \"everything\"]\n")).unwrap();
    let out = run(&["precheck"], &bad);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("everything"));
    // No such file.
    let out = run(&["status"], &good.with_file_name("missing.toml"));
    assert_eq!(out.status.code(), Some(2));
    // A wrong password: the precheck says so, the run refuses with exit 1, the password is
    // nowhere in the output.
    let out =
        dts_sync().env("DTS_TEST_SRC_PW", "wrong-password-xyz").args(["run", "--config"]).arg(&good).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("source.login") && all.contains("wrong password"), "{all}");
    assert!(!all.contains("wrong-password-xyz"));
    // Unreachable: nothing listens on the port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(
        &bad,
        text.replacen(&format!("port = {}", shared_pair().source.port()), &format!("port = {port}"), 1),
    )
    .unwrap();
    let out = run(&["precheck", "--json"], &bad);
    assert_eq!(out.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let item = j["items"].as_array().unwrap().iter().find(|i| i["id"] == "source.network").unwrap().clone();
    assert_eq!(item["status"], "failure");
    assert!(item["found"].as_str().unwrap().contains("refused"), "{item}");
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
    let db = seed("e2e_mon", 100);
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
        "",
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
    sql(&shared_pair().source, &[format!("UPDATE {}.items SET qty = qty + 1 WHERE id <= 20", db.quoted())]);
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

#[test]
fn a_table_created_on_the_source_after_schema_sync_is_created_and_copied() {
    let pair = shared_pair();
    let db = seed("e2e_late", 20_000);
    let config = task_file(
        &format!("late_{db}"),
        "",
        &format!("[[objects]]\ndatabase = \"{db}\"\n\n[full]\nchunk_rows = 1000\nrows_per_sec = 2000\n"),
    );
    // Stopped in the middle of the (throttled) full copy, after schema sync.
    let mut child = spawn_run(&config);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let st = ok(&run(&["status", "--json"], &config));
        if st.contains("\"phase\": \"full\"") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never reached the full copy: {st}");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let q = db.quoted();
    sql(
        &pair.source,
        &[
            format!("CREATE TABLE {q}.late (id INT PRIMARY KEY, v VARCHAR(10))"),
            format!("INSERT INTO {q}.late VALUES (1, 'a'), (2, 'b')"),
        ],
    );
    // The resumed copy lists it (sped up: the throttle is only for the kill above).
    let text = std::fs::read_to_string(&config).unwrap().replace("rows_per_sec = 2000", "rows_per_sec = 0");
    std::fs::write(&config, text).unwrap();
    ok(&run(&["run", "--exit-when-caught-up"], &config));
    verify_identical(&config);
    let n: u64 =
        pair.destination.conn().unwrap().query_first(format!("SELECT COUNT(*) FROM {q}.late")).unwrap().unwrap();
    assert_eq!(n, 2);
}

#[test]
fn a_full_only_task_ends_done_and_an_incremental_only_task_continues_from_there() {
    let pair = shared_pair();
    let db = seed("e2e_types", 500);
    let objects = format!("[[objects]]\ndatabase = \"{db}\"\n");
    let full = task_file(&format!("full_{db}"), "types = [\"schema\", \"full\"]", &objects);
    ok(&run(&["run", "--exit-when-caught-up"], &full));
    let st = ok(&run(&["status", "--json"], &full));
    assert!(st.contains("\"phase\": \"done\""), "{st}");
    verify_identical(&full);
    // Incremental only: the tables exist; it starts from the source's position now.
    let incr = task_file(&format!("incr_{db}"), "types = [\"incremental\"]", &objects);
    ok(&run(&["precheck"], &incr));
    ok(&run(&["run", "--exit-when-caught-up"], &incr));
    let q = db.quoted();
    sql(
        &pair.source,
        &[
            format!("UPDATE {q}.items SET label = 'later' WHERE id <= 50"),
            format!("DELETE FROM {q}.items WHERE id > 450"),
        ],
    );
    ok(&run(&["run", "--exit-when-caught-up"], &incr));
    verify_identical(&incr);
    let later: u64 = pair
        .destination
        .conn()
        .unwrap()
        .query_first(format!("SELECT COUNT(*) FROM {q}.items WHERE label = 'later'"))
        .unwrap()
        .unwrap();
    assert_eq!(later, 50);
}
