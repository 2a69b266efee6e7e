//! Every precheck item against real servers, in a passing and a failing configuration: the
//! shared sandbox pair for the good cases; sandboxes started with wrong settings, accounts with
//! revoked privileges, conflicting tables and triggers for the bad ones.

use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use dts_precheck::{ConflictingTables, Report, Status, SyncTypes, Task};
use dts_schema::{DatabaseRule, NameCase, Selection, TableRule};
use dts_testkit::{Sandbox, replica_server_id, shared_pair};
use dts_types::{BinlogPosition, Endpoint, Ident, Secret, TlsMode};
use mysql::prelude::Queryable;

const ALL: SyncTypes = SyncTypes { schema: true, full: true, incremental: true };

fn select(db: &Ident) -> Selection {
    Selection { databases: vec![DatabaseRule { database: db.to_string(), ..Default::default() }], ..Default::default() }
}

fn task(src: Endpoint, dst: Endpoint, selection: Selection) -> Task {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    Task {
        name: format!("pc{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
        source: src,
        destination: dst,
        types: ALL,
        server_id: replica_server_id(),
        meta_database: "dts_meta".into(),
        conflicting_tables: ConflictingTables::Precheck,
        selection,
        resume_from: None,
        resuming: false,
        heartbeat: true,
    }
}

fn pair_task(selection: Selection) -> Task {
    let pair = shared_pair();
    task(pair.source.endpoint(), pair.destination.endpoint(), selection)
}

#[track_caller]
fn expect(r: &Report, id: &str, status: Status, found_contains: &str) {
    let item = r.get(id).unwrap_or_else(|| panic!("no item {id} in\n{}", r.to_table()));
    assert_eq!(item.status, status, "{id}\n{}", r.to_table());
    assert!(item.found.contains(found_contains), "{id}: {:?} lacks {found_contains:?}\n{}", item.found, r.to_table());
    if status != Status::Pass {
        assert!(!item.fix.is_empty(), "{id} has no fix");
    }
}

fn source_sql(db: &Ident, stmts: &[&str]) {
    let mut c = shared_pair().source.conn().unwrap();
    c.query_drop(format!("USE {}", db.quoted())).unwrap();
    for s in stmts {
        c.query_drop(*s).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

fn dest_sql(stmts: &[String]) {
    let mut c = shared_pair().destination.conn().unwrap();
    for s in stmts {
        c.query_drop(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

#[test]
fn a_healthy_task_of_100_tables_passes_every_item_in_under_5_seconds() {
    let pair = shared_pair();
    let db = pair.source.fresh_database("pc_ok").unwrap();
    let mut c = pair.source.conn().unwrap();
    c.query_drop(format!("USE {}", db.quoted())).unwrap();
    for i in 0..100 {
        c.query_drop(format!(
            "CREATE TABLE t{i} (id BIGINT PRIMARY KEY, name VARCHAR(100), body MEDIUMTEXT, doc LONGBLOB) DEFAULT CHARSET=utf8mb4"
        ))
        .unwrap();
        c.query_drop(format!("INSERT INTO t{i} VALUES (1, 'a', REPEAT('x', 1000), NULL)")).unwrap();
    }
    let t = task_for(&db);
    let started = Instant::now();
    let r = dts_precheck::run(&t);
    let took = started.elapsed();
    let not_passing: Vec<_> = r.items.iter().filter(|i| i.status != Status::Pass).collect();
    assert!(not_passing.is_empty(), "{}", r.to_table());
    assert!(r.passed());
    for id in [
        "source.network",
        "source.tls",
        "source.login",
        "destination.login",
        "source.version",
        "pair.versions",
        "source.privileges",
        "destination.privileges",
        "source.log_bin",
        "source.binlog_format",
        "source.binlog_row_image",
        "source.binlog_row_metadata",
        "source.binlog_checksum",
        "source.gtid_mode",
        "source.log_bin_compress",
        "source.binlog_retention",
        "source.server_id",
        "objects.selected",
        "objects.exist",
        "objects.name_collisions",
        "objects.column_case",
        "objects.primary_key",
        "source.foreign_key_cascades",
        "destination.existing_tables",
        "destination.triggers",
        "destination.utf8mb4",
        "destination.max_allowed_packet",
        "destination.read_only",
        "destination.local_infile",
    ] {
        assert!(r.get(id).is_some(), "{id} missing from\n{}", r.to_table());
    }
    expect(&r, "objects.selected", Status::Pass, "100 table(s)");
    eprintln!("a 100-table precheck took {took:?}");
    assert!(took < Duration::from_secs(5), "a 100-table precheck took {took:?}");
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["passed"], true);
}

fn task_for(db: &Ident) -> Task {
    pair_task(select(db))
}

#[test]
fn connectivity_failures_are_told_apart() {
    let pair = shared_pair();
    // Wrong password: the network is fine, the login is not.
    let mut ep = pair.source.endpoint();
    ep.password = Secret::new("not-the-password");
    let r = dts_precheck::run(&task(ep, pair.destination.endpoint(), Selection::everything()));
    expect(&r, "source.network", Status::Pass, "reachable");
    expect(&r, "source.login", Status::Failure, "wrong password");
    assert!(!r.to_json().contains("not-the-password") && !r.to_table().contains("not-the-password"));
    expect(&r, "destination.login", Status::Pass, "logged in");
    // Nothing listens on the port.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ep = Endpoint::new("127.0.0.1", port, "dts", Secret::new("x"));
    let r = dts_precheck::run(&task(pair.source.endpoint(), ep, Selection::everything()));
    expect(&r, "destination.network", Status::Failure, "connection refused");
    assert!(r.get("destination.login").is_none());
    // A host name that does not resolve.
    let ep = Endpoint::new("no-such-host.invalid", 3306, "dts", Secret::new("x"));
    let r = dts_precheck::run(&task(ep, pair.destination.endpoint(), Selection::everything()));
    expect(&r, "source.network", Status::Failure, "does not resolve");
    // TLS asked of a server that has none.
    let mut ep = pair.source.endpoint();
    ep.tls = TlsMode::Required;
    let r = dts_precheck::run(&task(ep, pair.destination.endpoint(), Selection::everything()));
    expect(&r, "source.tls", Status::Failure, "does not offer TLS");
    assert!(r.get("source.login").is_none());
}

/// A sandbox with a certificate for 127.0.0.1 signed by a CA of its own, and that CA's file.
fn tls_sandbox() -> &'static (Sandbox, std::path::PathBuf, std::path::PathBuf) {
    static S: OnceLock<(Sandbox, std::path::PathBuf, std::path::PathBuf)> = OnceLock::new();
    S.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("dts-precheck-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sh = |script: &str| {
            let out = Command::new("sh").arg("-c").arg(script).current_dir(&dir).output().unwrap_or_else(|e| {
                panic!("running openssl failed ({e}): apt-get install openssl")
            });
            assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let other = dir.join("other-ca.pem");
        sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=dts test CA' 2>/dev/null \
            && openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.pem -days 2 -subj '/CN=other CA' 2>/dev/null \
            && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=dts test server' 2>/dev/null \
            && printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext.cnf \
            && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext.cnf 2>/dev/null");
        let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
        let sb = Sandbox::builder("precheck-tls")
            .option("ssl_ca", &p("ca.pem"))
            .option("ssl_cert", &p("server.pem"))
            .option("ssl_key", &p("server.key"))
            .start()
            .unwrap();
        // The server has read its certificate; the CAs move into the sandbox's directory, which
        // goes away with it.
        let (ca, other_ca) = (sb.dir().join("test-ca.pem"), sb.dir().join("other-ca.pem"));
        std::fs::copy(dir.join("ca.pem"), &ca).unwrap();
        std::fs::copy(&other, &other_ca).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        (sb, ca, other_ca)
    })
}

#[test]
fn tls_is_verified_as_configured() {
    let (sb, ca, other_ca) = tls_sandbox();
    let dst = shared_pair().destination.endpoint();
    // The certificate names 127.0.0.1 only; "localhost" reaches the same server by another name.
    for (mode, ca_file, host, status) in [
        (TlsMode::Required, None, "127.0.0.1", Status::Pass),
        (TlsMode::VerifyCa, Some(ca.clone()), "127.0.0.1", Status::Pass),
        (TlsMode::VerifyCa, Some(ca.clone()), "localhost", Status::Pass),
        (TlsMode::VerifyIdentity, Some(ca.clone()), "127.0.0.1", Status::Pass),
        (TlsMode::VerifyCa, Some(other_ca.clone()), "127.0.0.1", Status::Failure),
        (TlsMode::VerifyIdentity, Some(other_ca.clone()), "127.0.0.1", Status::Failure),
        (TlsMode::VerifyIdentity, Some(ca.clone()), "localhost", Status::Failure),
        // Without ca_file only the driver's bundled public roots are trusted: not this CA.
        (TlsMode::VerifyIdentity, None, "127.0.0.1", Status::Failure),
    ] {
        let mut ep = sb.endpoint();
        ep.host = host.into();
        ep.tls = mode;
        ep.ca_file = ca_file;
        let r = dts_precheck::run(&task(ep, dst.clone(), Selection::everything()));
        let found = if status == Status::Pass { "cipher" } else { "handshake failed" };
        let item = r.get("source.tls").unwrap_or_else(|| panic!("{mode} {host}: no source.tls item"));
        assert!(item.status == status && item.found.contains(found), "{mode} via {host}: {item:?}");
    }
}

/// `verify-ca` and `verify-identity` with `ca_file` trust that file alone: the published driver
/// also trusted its bundled public roots, so under `verify-ca` (no name check) any publicly
/// issued certificate passed. No public CA's key is at hand to show that with a handshake, so
/// this counts the roots the patched driver (vendor/mysql) builds from the options our
/// `Endpoint` produces.
#[test]
fn ca_file_is_the_only_trusted_root() {
    let (sb, ca, _) = tls_sandbox();
    for mode in [TlsMode::VerifyCa, TlsMode::VerifyIdentity] {
        let mut ep = sb.endpoint();
        ep.tls = mode;
        ep.ca_file = Some(ca.clone());
        let opts = ep.opts();
        let ssl = opts.get_ssl_opts().expect("TLS options");
        assert_eq!(mysql::trusted_root_count(ssl).unwrap(), 1, "{mode} with ca_file");
        ep.ca_file = None;
        let opts = ep.opts();
        let public = mysql::trusted_root_count(opts.get_ssl_opts().expect("TLS options")).unwrap();
        assert!(public > 50, "{mode} without ca_file trusts the public roots, found {public}");
    }
}

/// `tls = "disabled"` to another host is an acknowledgeable warning (the password and every
/// row cross the network in clear); to this host over loopback it is a pass. The server listens
/// on every address and is reached through this machine's own non-loopback address.
#[test]
fn tls_disabled_to_another_host_is_a_warning() {
    let ip = non_loopback_address();
    let sb = Sandbox::builder("precheck-lan").option("bind_address", "0.0.0.0").start().unwrap();
    sb.root_conn()
        .unwrap()
        .query_drop(format!(
            "CREATE USER '{}'@'{ip}' IDENTIFIED BY '{}'; GRANT ALL PRIVILEGES ON *.* TO '{}'@'{ip}'",
            sb.user(),
            sb.password().expose(),
            sb.user()
        ))
        .unwrap();
    let dst = shared_pair().destination.endpoint();
    for (host, status) in [(ip.to_string(), Status::Warning), ("127.0.0.1".to_string(), Status::Pass)] {
        let mut ep = sb.endpoint();
        ep.host = host.clone();
        ep.tls = TlsMode::Disabled;
        let r = dts_precheck::run(&task(ep, dst.clone(), Selection::everything()));
        let login = r.get("source.login").unwrap_or_else(|| panic!("{host}: no source.login item"));
        assert_eq!(login.status, Status::Pass, "{host}: {login:?}");
        let item = r.get("source.tls").unwrap_or_else(|| panic!("{host}: no source.tls item"));
        assert_eq!(item.status, status, "{host}: {item:?}");
        if status == Status::Warning {
            assert!(item.found.contains("unencrypted") && item.fix.contains("verify-identity"), "{item:?}");
        }
    }
}

/// This machine's address on its default route (no packet is sent: connecting a UDP socket
/// only picks the route).
fn non_loopback_address() -> std::net::IpAddr {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    s.connect("192.0.2.1:9").expect("no network route: this test needs a non-loopback IPv4 address");
    let ip = s.local_addr().unwrap().ip();
    assert!(!ip.is_loopback(), "this machine's default route is loopback ({ip}): the test needs a network address");
    ip
}

/// A source started with the wrong binlog settings, usable as a destination with a small
/// packet, LOAD DATA LOCAL off and read_only on.
fn misconfigured() -> &'static Sandbox {
    static S: OnceLock<Sandbox> = OnceLock::new();
    S.get_or_init(|| {
        let sb = Sandbox::builder("precheck-bad")
            .option("binlog_format", "MIXED")
            .option("binlog_row_image", "MINIMAL")
            .option("binlog_row_metadata", "MINIMAL")
            .option("binlog_expire_logs_seconds", "3600")
            .option("max_allowed_packet", "1M")
            .option("local_infile", "0")
            .option("read_only", "1")
            .start()
            .unwrap();
        // The first binlog is purged, as a long-stopped task would find it.
        // The server keeps a file until its binlog checkpoint moves on, which is asynchronous.
        let mut c = sb.conn().unwrap();
        c.query_drop("FLUSH BINARY LOGS").unwrap();
        let files = |c: &mut mysql::Conn| -> Vec<String> {
            c.query_map("SHOW BINARY LOGS", |r: mysql::Row| r.get(0).unwrap()).unwrap()
        };
        let last = files(&mut c).pop().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while files(&mut c).iter().any(|f| f == "binlog.000001") {
            assert!(Instant::now() < deadline, "binlog.000001 was never purged");
            c.query_drop(format!("PURGE BINARY LOGS TO '{last}'")).unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
        sb
    })
}

#[test]
fn binlog_settings_fail_on_a_misconfigured_source() {
    let bad = misconfigured();
    let mut t = task(bad.endpoint(), shared_pair().destination.endpoint(), Selection::everything());
    t.resume_from = Some(dts_types::SourcePosition { binlog: BinlogPosition::new("binlog.000001", 4), gtid: None });
    let r = dts_precheck::run(&t);
    expect(&r, "source.log_bin", Status::Pass, "ON");
    expect(&r, "source.binlog_format", Status::Failure, "MIXED");
    expect(&r, "source.binlog_row_image", Status::Failure, "MINIMAL");
    expect(&r, "source.binlog_row_metadata", Status::Warning, "MINIMAL");
    expect(&r, "source.binlog_retention", Status::Failure, "1.0 hours");
    expect(&r, "source.checkpoint_binlog", Status::Failure, "no longer on the source");
    // The passing side of each: the shared source.
    let pair = shared_pair();
    let file = pair.source.binlog_position().unwrap().file;
    let mut t = pair_task(Selection::everything());
    t.resume_from = Some(dts_types::SourcePosition { binlog: BinlogPosition::new(file, 4), gtid: None });
    let r = dts_precheck::run(&t);
    for (id, found) in [
        ("source.binlog_format", "= ROW"),
        ("source.binlog_row_image", "= FULL"),
        ("source.binlog_row_metadata", "= FULL"),
    ] {
        expect(&r, id, Status::Pass, found);
    }
    expect(&r, "source.binlog_retention", Status::Pass, "never expire");
    expect(&r, "source.checkpoint_binlog", Status::Pass, "is present");
    // Retention judged against the phases: an hour is too short even for incremental only.
    let mut t = task(bad.endpoint(), pair.destination.endpoint(), Selection::everything());
    t.types = SyncTypes { incremental: true, ..Default::default() };
    expect(&dts_precheck::run(&t), "source.binlog_retention", Status::Failure, "24 hours");
}

#[test]
fn a_source_without_binlog_fails_log_bin() {
    let sb = Sandbox::builder("precheck-nobinlog").without("log_bin").start().unwrap();
    let r = dts_precheck::run(&task(sb.endpoint(), shared_pair().destination.endpoint(), Selection::everything()));
    expect(&r, "source.log_bin", Status::Failure, "OFF");
    assert!(r.get("source.binlog_format").is_none(), "the rest of the binlog checks need a binlog");
}

#[test]
fn the_replica_server_id_must_be_unique() {
    let pair = shared_pair();
    let mut t = pair_task(Selection::everything());
    t.server_id = pair.source.server_id();
    expect(&dts_precheck::run(&t), "source.server_id", Status::Failure, "the source's own server_id");
    // A replica connected with the id the task wants.
    let id = replica_server_id();
    let file = pair.source.binlog_position().unwrap().file;
    let o = dts_binlog::ReplicaOptions::new(id, dts_binlog::StartPosition::File(BinlogPosition::new(file, 4)));
    let reader = dts_binlog::BinlogReader::connect(pair.source.opts(), o, dts_binlog::ReaderParts::default()).unwrap();
    t.server_id = id;
    expect(&dts_precheck::run(&t), "source.server_id", Status::Failure, "already connected");
    drop(reader);
    t.server_id = replica_server_id();
    expect(&dts_precheck::run(&t), "source.server_id", Status::Pass, "connected replica");
}

/// A login on `sb` with exactly `grants` (user `name`, password `pw`).
fn account(sb: &Sandbox, name: &str, grants: &[String]) -> Endpoint {
    let mut c = sb.root_conn().unwrap();
    c.query_drop(format!("DROP USER IF EXISTS '{name}'@'127.0.0.1'")).unwrap();
    c.query_drop(format!("CREATE USER '{name}'@'127.0.0.1' IDENTIFIED BY 'pw-{name}'")).unwrap();
    for g in grants {
        c.query_drop(g.replace("{u}", &format!("'{name}'@'127.0.0.1'"))).unwrap_or_else(|e| panic!("{g}: {e}"));
    }
    Endpoint::new("127.0.0.1", sb.port(), name, Secret::new(format!("pw-{name}")))
}

#[test]
fn source_privileges_are_read_from_grants_and_roles() {
    let pair = shared_pair();
    let db = pair.source.fresh_database("pc_priv").unwrap();
    source_sql(&db, &["CREATE TABLE t (id INT PRIMARY KEY)"]);
    let q = db.quoted();
    let dst = pair.destination.endpoint();
    // SELECT only: the binlog privileges are missing.
    let ep = account(&pair.source, "pc_sel", &[format!("GRANT SELECT ON {q}.* TO {{u}}")]);
    let r = dts_precheck::run(&task(ep, dst.clone(), select(&db)));
    expect(&r, "source.privileges", Status::Failure, "REPLICATION SLAVE, REPLICATION CLIENT ON *.*");
    assert!(
        r.get("source.privileges")
            .unwrap()
            .fix
            .contains("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `pc_sel`@`127.0.0.1`")
    );
    // Through a role that is granted but not the default: the fix says to activate it.
    let mut root = pair.source.root_conn().unwrap();
    root.query_drop("DROP ROLE IF EXISTS pc_repl").unwrap();
    root.query_drop("CREATE ROLE pc_repl").unwrap();
    root.query_drop("GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO pc_repl").unwrap();
    let ep = account(
        &pair.source,
        "pc_role",
        &[
            format!("GRANT SELECT ON {q}.* TO {{u}}"),
            "GRANT CREATE, INSERT, UPDATE ON dts_meta.* TO {u}".into(),
            "GRANT pc_repl TO {u}".into(),
        ],
    );
    let r = dts_precheck::run(&task(ep.clone(), dst.clone(), select(&db)));
    expect(&r, "source.privileges", Status::Failure, "lacks");
    assert!(r.get("source.privileges").unwrap().fix.contains("SET DEFAULT ROLE `pc_repl`"), "{}", r.to_table());
    root.query_drop("SET DEFAULT ROLE pc_repl FOR 'pc_role'@'127.0.0.1'").unwrap();
    let r = dts_precheck::run(&task(ep, dst.clone(), select(&db)));
    expect(&r, "source.privileges", Status::Pass, "holds all");
    // All privileges, then one revoked.
    let ep = account(
        &pair.source,
        "pc_rev",
        &["GRANT ALL PRIVILEGES ON *.* TO {u}".into(), "REVOKE REPLICATION SLAVE ON *.* FROM {u}".into()],
    );
    let r = dts_precheck::run(&task(ep, dst, select(&db)));
    expect(&r, "source.privileges", Status::Failure, "REPLICATION SLAVE ON *.*");
}

#[test]
fn a_filtered_table_needs_temporary_tables_on_the_source() {
    let pair = shared_pair();
    let db = pair.source.fresh_database("pc_filter").unwrap();
    source_sql(&db, &["CREATE TABLE t (id INT PRIMARY KEY, city VARCHAR(20))"]);
    let q = db.quoted();
    let mut sel = select(&db);
    sel.databases[0].tables =
        Some(vec![TableRule { name: "t".into(), filter: Some("(`city` = 'x')".into()), ..Default::default() }]);
    let base = [
        format!("GRANT SELECT ON {q}.* TO {{u}}"),
        "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO {u}".into(),
        "GRANT CREATE, INSERT, UPDATE ON dts_meta.* TO {u}".into(),
    ];
    // Incremental sync has the source decide the filter over a scratch temporary table.
    let ep = account(&pair.source, "pc_filt", &base);
    let r = dts_precheck::run(&task(ep, pair.destination.endpoint(), sel.clone()));
    expect(&r, "source.privileges", Status::Failure, &format!("CREATE TEMPORARY TABLES ON {q}.*"));
    let ep = account(
        &pair.source,
        "pc_filt",
        &[&base[..], &[format!("GRANT CREATE TEMPORARY TABLES ON {q}.* TO {{u}}")]].concat(),
    );
    let r = dts_precheck::run(&task(ep, pair.destination.endpoint(), sel));
    expect(&r, "source.privileges", Status::Pass, "holds all");
}

#[test]
fn destination_privileges_cover_the_target_and_metadata_databases() {
    let pair = shared_pair();
    let db = pair.source.fresh_database("pc_dpriv").unwrap();
    source_sql(&db, &["CREATE TABLE t (id INT PRIMARY KEY)"]);
    let target = format!("{}_x", db.as_str());
    let mut sel = select(&db);
    sel.databases[0].rename = Some(target.clone());
    let write = "CREATE, ALTER, DROP, INDEX, INSERT, UPDATE, DELETE, SELECT";
    let ep = account(&pair.destination, "pc_dst", &[format!("GRANT {write} ON `{target}`.* TO {{u}}")]);
    let t = task(pair.source.endpoint(), ep, sel.clone());
    let r = dts_precheck::run(&t);
    expect(&r, "destination.privileges", Status::Failure, "ON `dts_meta`.*");
    assert!(!r.get("destination.privileges").unwrap().found.contains(&format!("`{target}`")));
    // With incremental sync, the schema history's shadow database of the source database too.
    let shadow = dts_schema::shadow_name(&t.name, db.as_str());
    let ep = account(
        &pair.destination,
        "pc_dst",
        &[format!("GRANT {write} ON `{target}`.* TO {{u}}"), format!("GRANT {write} ON `dts\\_meta`.* TO {{u}}")],
    );
    let mut t2 = task(pair.source.endpoint(), ep, sel.clone());
    t2.name = t.name.clone();
    let r = dts_precheck::run(&t2);
    expect(&r, "destination.privileges", Status::Failure, &format!("ON `{shadow}`.*"));
    let ep = account(
        &pair.destination,
        "pc_dst",
        &[
            format!("GRANT {write} ON `{target}`.* TO {{u}}"),
            format!("GRANT {write} ON `dts\\_meta`.* TO {{u}}"),
            format!("GRANT {write} ON `{}`.* TO {{u}}", shadow.replace('_', "\\_")),
        ],
    );
    let mut t2 = task(pair.source.endpoint(), ep, sel);
    t2.name = t.name.clone();
    let r = dts_precheck::run(&t2);
    expect(&r, "destination.privileges", Status::Pass, "holds all");
}

#[test]
fn object_selection_problems_are_reported() {
    let pair = shared_pair();
    let db = pair.source.fresh_database("pc_obj").unwrap();
    source_sql(
        &db,
        &[
            "CREATE TABLE `Orders` (id INT PRIMARY KEY, a INT, b INT)",
            "CREATE TABLE orders (id INT PRIMARY KEY)",
            "CREATE TABLE nokey (x INT, y INT, UNIQUE KEY (x))",
            "CREATE TABLE parent (id INT PRIMARY KEY)",
            "CREATE TABLE child (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES parent (id) ON DELETE CASCADE)",
        ],
    );
    // Good: exact names, no folding.
    let r = dts_precheck::run(&task_for(&db));
    expect(&r, "objects.name_collisions", Status::Pass, "lower_case_table_names = 0");
    expect(&r, "objects.primary_key", Status::Warning, "nokey");
    expect(&r, "source.foreign_key_cascades", Status::Pass, "ON DELETE CASCADE");
    expect(&r, "source.foreign_key_cascades", Status::Pass, "foreign_key_checks = 1");
    // Without schema sync the destination's foreign keys are the user's: a warning saying so.
    let mut t = task_for(&db);
    t.types.schema = false;
    expect(
        &dts_precheck::run(&t),
        "source.foreign_key_cascades",
        Status::Warning,
        "must already carry the same foreign keys",
    );
    // Folding names to lower case makes Orders and orders one table; renaming two columns to
    // names differing by case collides too; a table named that does not exist.
    let mut sel = select(&db);
    sel.name_case = NameCase::Lower;
    let r = dts_precheck::run(&pair_task(sel));
    expect(&r, "objects.name_collisions", Status::Failure, "Orders");
    let mut sel = select(&db);
    sel.databases[0].tables = Some(vec![
        TableRule {
            name: "Orders".into(),
            column_renames: [("a".to_string(), "X".to_string()), ("b".to_string(), "x".to_string())].into(),
            ..Default::default()
        },
        TableRule { name: "missing_table".into(), ..Default::default() },
        TableRule { name: "parent".into(), ..Default::default() },
    ]);
    let r = dts_precheck::run(&pair_task(sel));
    expect(&r, "objects.column_case", Status::Failure, "Orders.b");
    expect(&r, "objects.exist", Status::Failure, "missing_table");
    expect(&r, "objects.primary_key", Status::Pass, "keyed");
    // Nothing selected at all.
    let r = dts_precheck::run(&pair_task(select(&Ident::new("pc_no_such_db").unwrap())));
    expect(&r, "objects.selected", Status::Failure, "no database");
    expect(&r, "objects.exist", Status::Failure, "pc_no_such_db");
}

#[test]
fn destination_conflicts_triggers_and_charsets_are_reported() {
    let pair = shared_pair();
    let db = pair.source.fresh_database("pc_dst").unwrap();
    source_sql(
        &db,
        &[
            "CREATE TABLE emoji (id INT PRIMARY KEY, s VARCHAR(20)) DEFAULT CHARSET=utf8mb4",
            "INSERT INTO emoji VALUES (1, 'ok \u{1F600}')",
            "CREATE TABLE plain (id INT PRIMARY KEY, s VARCHAR(20)) DEFAULT CHARSET=utf8mb4",
            "INSERT INTO plain VALUES (1, 'no emoji')",
        ],
    );
    let q = db.quoted();
    // Nothing on the destination yet: all pass.
    let r = dts_precheck::run(&task_for(&db));
    expect(&r, "destination.existing_tables", Status::Pass, "none");
    expect(&r, "destination.utf8mb4", Status::Pass, "utf8mb4");
    // The tables exist on the destination in utf8mb3, one with a trigger.
    dest_sql(&[
        format!("CREATE DATABASE {q}"),
        format!("CREATE TABLE {q}.emoji (id INT PRIMARY KEY, s VARCHAR(20)) DEFAULT CHARSET=utf8mb3"),
        format!("CREATE TABLE {q}.plain (id INT PRIMARY KEY, s VARCHAR(20)) DEFAULT CHARSET=utf8mb3"),
        format!("CREATE TRIGGER {q}.audit BEFORE INSERT ON {q}.plain FOR EACH ROW SET NEW.s = UPPER(NEW.s)"),
    ]);
    let r = dts_precheck::run(&task_for(&db));
    expect(&r, "destination.existing_tables", Status::Failure, "2 target table(s) already exist");
    expect(&r, "destination.triggers", Status::Warning, "audit on");
    expect(&r, "destination.utf8mb4", Status::Failure, "emoji.s");
    let mut t = task_for(&db);
    t.conflicting_tables = ConflictingTables::Ignore;
    let mut r = dts_precheck::run(&t);
    expect(&r, "destination.existing_tables", Status::Warning, "kept");
    r.acknowledge(&["destination.existing_tables", "destination.triggers"]).unwrap();
    assert!(r.acknowledge(&["destination.utf8mb4"]).is_err(), "a failure cannot be acknowledged");
    // Without 4-byte characters: a warning only.
    source_sql(&db, &["UPDATE emoji SET s = 'plain now'"]);
    expect(&dts_precheck::run(&t), "destination.utf8mb4", Status::Warning, "emoji.s");
    // Incremental only: the tables must exist.
    let mut t = task_for(&db);
    t.types = SyncTypes { incremental: true, ..Default::default() };
    expect(&dts_precheck::run(&t), "destination.missing_tables", Status::Pass, "all 2");
    source_sql(&db, &["CREATE TABLE later (id INT PRIMARY KEY)"]);
    expect(&dts_precheck::run(&t), "destination.missing_tables", Status::Failure, "later");
}

#[test]
fn a_small_packet_read_only_destination_fails() {
    let pair = shared_pair();
    let db = pair.source.fresh_database("pc_pkt").unwrap();
    source_sql(
        &db,
        &["CREATE TABLE blobs (id INT PRIMARY KEY, b LONGBLOB)", "INSERT INTO blobs VALUES (1, REPEAT('z', 2000000))"],
    );
    let bad = misconfigured();
    let r = dts_precheck::run(&task(pair.source.endpoint(), bad.endpoint(), select(&db)));
    expect(&r, "destination.max_allowed_packet", Status::Failure, "blobs");
    expect(&r, "destination.read_only", Status::Failure, "read_only = ON");
    expect(&r, "destination.local_infile", Status::Warning, "OFF");
    let r = dts_precheck::run(&task_for(&db));
    expect(&r, "destination.max_allowed_packet", Status::Pass, "largest row");
    expect(&r, "destination.read_only", Status::Pass, "OFF");
    expect(&r, "destination.local_infile", Status::Pass, "ON");
}
