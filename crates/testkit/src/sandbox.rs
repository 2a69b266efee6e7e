//! One throwaway `mariadbd`: data dir, config, start, readiness, accounts, stop.

use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use dts_types::{BinlogPosition, Endpoint, Ident, Secret, quote_ident};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder};

use crate::binaries::{MariaDbBinaries, find_binaries};
use crate::watchdog::Watchdog;

/// Why a sandbox could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A MariaDB program is not installed.
    #[error("{program} was not found: {hint}")]
    NotInstalled {
        /// The program.
        program: &'static str,
        /// How to install it.
        hint: &'static str,
    },
    /// A file or process operation failed.
    #[error("sandbox {name}: {action} failed: {source}")]
    Io {
        /// The sandbox.
        name: String,
        /// What it was doing.
        action: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The server did not come up.
    #[error("sandbox {name}: {what}\n--- last lines of {log} ---\n{tail}")]
    StartFailed {
        /// The sandbox.
        name: String,
        /// What went wrong.
        what: String,
        /// The server's error log.
        log: PathBuf,
        /// Its last lines.
        tail: String,
    },
    /// A statement on the sandbox failed.
    #[error("sandbox {name}: {action}: {source}")]
    Sql {
        /// The sandbox.
        name: String,
        /// What it was doing.
        action: &'static str,
        /// The server's error.
        source: mysql::Error,
    },
    /// Something waited for on the sandbox did not happen in time.
    #[error("sandbox {name}: {what} did not happen within {seconds} s")]
    TimedOut {
        /// The sandbox.
        name: String,
        /// What was waited for.
        what: &'static str,
        /// How long it was waited for.
        seconds: u64,
    },
    /// The end of binlog could not be read.
    #[error("sandbox {name}: reading the end of binlog")]
    Position {
        /// The sandbox.
        name: String,
        /// Why.
        source: crate::PositionError,
    },
}

/// How long a server may take to answer after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a clean shutdown may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Starts retried when another process took the chosen port first.
const PORT_ATTEMPTS: usize = 5;

/// The account every sandbox creates, with all privileges (replication included).
pub const USER: &str = "dts";

/// Settings for a sandbox before it starts.
#[derive(Debug, Clone)]
pub struct SandboxBuilder {
    name: String,
    server_id: Option<u32>,
    gtid_domain_id: u32,
    overrides: Vec<(String, Option<String>)>,
}

impl SandboxBuilder {
    /// `name` labels the sandbox in messages and in its directory name.
    pub fn new(name: &str) -> Self {
        SandboxBuilder { name: name.to_string(), server_id: None, gtid_domain_id: 0, overrides: Vec::new() }
    }

    /// The server_id; by default the port, which is unique among live servers on this machine.
    pub fn server_id(mut self, id: u32) -> Self {
        self.server_id = Some(id);
        self
    }

    /// Sets gtid_domain_id (default 0).
    pub fn gtid_domain_id(mut self, id: u32) -> Self {
        self.gtid_domain_id = id;
        self
    }

    /// Sets a mariadbd option (`binlog_format`, `log_bin_compress`, ...), replacing the default.
    pub fn option(mut self, key: &str, value: &str) -> Self {
        self.overrides.push((key.to_string(), Some(value.to_string())));
        self
    }

    /// Removes a default option, e.g. `without("log_bin")` for a server with no binlog.
    pub fn without(mut self, key: &str) -> Self {
        self.overrides.push((key.to_string(), None));
        self
    }

    /// Starts the server and waits until it answers.
    pub fn start(self) -> Result<Sandbox, SandboxError> {
        Sandbox::start_with(self)
    }
}

/// A running throwaway MariaDB server. Dropping it stops the server and removes its data dir.
#[derive(Debug)]
pub struct Sandbox {
    settings: SandboxBuilder,
    binaries: MariaDbBinaries,
    dir: PathBuf,
    port: u16,
    server_id: u32,
    password: Secret,
    server: Option<Child>,
    watchdog: Option<Watchdog>,
    next_db: AtomicU32,
}

static SANDBOX_COUNTER: AtomicU32 = AtomicU32::new(0);

impl Sandbox {
    /// Starts a sandbox with the default settings.
    pub fn start(name: &str) -> Result<Sandbox, SandboxError> {
        SandboxBuilder::new(name).start()
    }

    /// A sandbox to configure before it starts.
    pub fn builder(name: &str) -> SandboxBuilder {
        SandboxBuilder::new(name)
    }

    fn start_with(settings: SandboxBuilder) -> Result<Sandbox, SandboxError> {
        let binaries = find_binaries()?;
        let root = std::env::var_os("DTS_SANDBOX_ROOT").map_or_else(std::env::temp_dir, PathBuf::from);
        let dir = root.join(format!(
            "dts-sandbox-{}-{}-{}-{}",
            sanitize(&settings.name),
            std::process::id(),
            SANDBOX_COUNTER.fetch_add(1, Ordering::Relaxed),
            random_hex(4)
        ));
        let mut sb = Sandbox {
            settings,
            binaries,
            dir,
            port: 0,
            server_id: 0,
            password: Secret::new(random_hex(16)),
            server: None,
            watchdog: None,
            next_db: AtomicU32::new(0),
        };
        // From here on, dropping `sb` (also on an error) removes the directory.
        for sub in ["data", "tmp", "files"] {
            let p = sb.dir.join(sub);
            fs::create_dir_all(&p).map_err(|e| sb.io("creating the data directory", e))?;
        }
        sb.launch(true)?;
        sb.create_accounts()?;
        Ok(sb)
    }

    /// Writes the config, initialises the data dir if `init`, starts mariadbd and waits until
    /// it answers; retries on a port taken by someone else meanwhile.
    fn launch(&mut self, init: bool) -> Result<(), SandboxError> {
        let mut last_err = None;
        for attempt in 0..PORT_ATTEMPTS {
            if attempt == 0 && self.port != 0 {
                // a restart keeps its port
            } else {
                self.port = free_port().map_err(|e| self.io("finding a free port", e))?;
            }
            self.server_id = self.settings.server_id.unwrap_or(self.port as u32);
            self.write_config()?;
            if init && attempt == 0 {
                self.install_db()?;
            }
            match self.spawn_and_wait() {
                Ok(()) => return Ok(()),
                Err(e @ SandboxError::StartFailed { .. }) if self.port_was_taken() => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.expect("at least one attempt"))
    }

    fn config_path(&self) -> PathBuf {
        self.dir.join("my.cnf")
    }

    fn socket_path(&self) -> PathBuf {
        self.dir.join("mariadbd.sock")
    }

    fn error_log(&self) -> PathBuf {
        self.dir.join("error.log")
    }

    fn options(&self) -> Vec<(String, String)> {
        let d = |p: &str| self.dir.join(p).display().to_string();
        let mut opts: Vec<(String, String)> = vec![
            ("datadir", d("data")),
            ("tmpdir", d("tmp")),
            ("socket", d("mariadbd.sock")),
            ("pid_file", d("mariadbd.pid")),
            ("log_error", d("error.log")),
            ("port", self.port.to_string()),
            ("bind_address", "127.0.0.1".into()),
            ("skip_name_resolve", "ON".into()),
            ("server_id", self.server_id.to_string()),
            ("log_bin", d("data/binlog")),
            ("binlog_format", "ROW".into()),
            ("binlog_row_image", "FULL".into()),
            ("binlog_row_metadata", "FULL".into()),
            ("binlog_checksum", "CRC32".into()),
            ("log_slave_updates", "ON".into()),
            ("gtid_strict_mode", "ON".into()),
            ("gtid_domain_id", self.settings.gtid_domain_id.to_string()),
            ("character_set_server", "utf8mb4".into()),
            ("collation_server", "utf8mb4_general_ci".into()),
            ("innodb_buffer_pool_size", "128M".into()),
            ("innodb_log_file_size", "48M".into()),
            ("innodb_flush_log_at_trx_commit", "2".into()),
            ("sync_binlog", "0".into()),
            ("max_allowed_packet", "256M".into()),
            ("max_connections", "300".into()),
            ("performance_schema", "OFF".into()),
            ("secure_file_priv", d("files")),
            ("skip_slave_start", "ON".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (key, value) in &self.settings.overrides {
            let key = key.replace('-', "_");
            opts.retain(|(k, _)| *k != key);
            if let Some(v) = value {
                opts.push((key, v.clone()));
            }
        }
        opts
    }

    fn write_config(&self) -> Result<(), SandboxError> {
        let mut cnf = String::from("# written by dts-testkit for a throwaway test server\n[mariadbd]\n");
        if is_root() {
            cnf.push_str("user=root\n");
        }
        for (k, v) in self.options() {
            writeln!(cnf, "{k}={v}").expect("write to String");
        }
        fs::write(self.config_path(), cnf).map_err(|e| self.io("writing my.cnf", e))
    }

    fn install_db(&self) -> Result<(), SandboxError> {
        let log = self.dir.join("install.log");
        let out = fs::File::create(&log).map_err(|e| self.io("creating install.log", e))?;
        let status = Command::new(&self.binaries.install_db)
            .arg(format!("--defaults-file={}", self.config_path().display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"])
            .stdin(Stdio::null())
            .stdout(out.try_clone().map_err(|e| self.io("opening install.log", e))?)
            .stderr(out)
            .status()
            .map_err(|e| self.io("running mariadb-install-db", e))?;
        if !status.success() {
            return Err(self.start_failed(format!("mariadb-install-db failed ({status})"), &log));
        }
        Ok(())
    }

    fn spawn_and_wait(&mut self) -> Result<(), SandboxError> {
        use std::os::unix::process::CommandExt;
        // A stale socket may not exist.
        let _ = fs::remove_file(self.socket_path());
        let log_start = fs::metadata(self.error_log()).map_or(0, |m| m.len());
        let child = Command::new(&self.binaries.mariadbd)
            .arg(format!("--defaults-file={}", self.config_path().display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| self.io("starting mariadbd", e))?;
        let pid = child.id();
        self.server = Some(child);
        self.watchdog = Some(Watchdog::spawn(pid, &self.dir).map_err(|e| self.io("starting the watchdog", e))?);

        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.root_conn().is_ok() {
                return Ok(());
            }
            let exited = self.server.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.server = None;
                if let Some(w) = self.watchdog.take() {
                    w.dismiss();
                }
                return Err(self.start_failed_since(format!("mariadbd exited during startup ({status})"), log_start));
            }
            if Instant::now() > deadline {
                self.stop_server();
                return Err(self.start_failed_since(format!("not answering after {START_TIMEOUT:?}"), log_start));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn port_was_taken(&self) -> bool {
        let log = fs::read_to_string(self.error_log()).unwrap_or_default();
        log.lines().rev().take(20).any(|l| l.contains("Address already in use") || l.contains("Bind on TCP/IP port"))
    }

    /// Removes the anonymous accounts mariadb-install-db creates (they would shadow TCP logins
    /// from 127.0.0.1) and creates the `dts` account with every privilege. Not binlogged.
    fn create_accounts(&self) -> Result<(), SandboxError> {
        let mut c = self.root_conn()?;
        let pw = self.password.expose();
        debug_assert!(pw.bytes().all(|b| b.is_ascii_alphanumeric()));
        let stmts = [
            "SET SESSION sql_log_bin = 0".to_string(),
            "DELETE FROM mysql.global_priv WHERE User = ''".to_string(),
            "FLUSH PRIVILEGES".to_string(),
            format!("CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{pw}'"),
            format!("CREATE USER '{USER}'@'localhost' IDENTIFIED BY '{pw}'"),
            format!("GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'127.0.0.1', '{USER}'@'localhost' WITH GRANT OPTION"),
        ];
        for s in &stmts {
            // The statement holds the password: report which step failed, never the text.
            c.query_drop(s).map_err(|e| self.sql("creating the test accounts", e))?;
        }
        Ok(())
    }

    /// The name it was started with.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// The address it listens on.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// Its TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its server_id.
    pub fn server_id(&self) -> u32 {
        self.server_id
    }

    /// The account holding every grant a sync task needs.
    pub fn user(&self) -> &'static str {
        USER
    }

    /// That account's password.
    pub fn password(&self) -> &Secret {
        &self.password
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(Child::id)
    }

    /// The sandbox directory (data dir, config, logs); removed when the sandbox stops.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A directory the server may read and write files in (its secure_file_priv).
    pub fn files_dir(&self) -> PathBuf {
        self.dir.join("files")
    }

    /// The `dts` account over TCP on 127.0.0.1 as an [`Endpoint`] (TLS disabled).
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(self.host(), self.port, USER, self.password.clone())
    }

    /// Connection options for the `dts` account over TCP on 127.0.0.1.
    pub fn opts(&self) -> Opts {
        self.opts_builder().into()
    }

    /// The same as [`Sandbox::opts`], to add settings to.
    pub fn opts_builder(&self) -> OptsBuilder {
        OptsBuilder::new()
            .ip_or_hostname(Some(self.host()))
            .tcp_port(self.port)
            .user(Some(USER))
            .pass(Some(self.password.expose()))
            .prefer_socket(false)
    }

    /// A connection as `dts` over TCP.
    pub fn conn(&self) -> Result<Conn, SandboxError> {
        Conn::new(self.opts()).map_err(|e| self.sql("connecting over TCP", e))
    }

    /// A connection as `dts` over TCP with [`exact_session`](crate::exact_session) settings.
    pub fn exact_conn(&self) -> Result<Conn, SandboxError> {
        crate::exact_conn(self.opts()).map_err(|e| self.sql("connecting with exact session settings", e))
    }

    /// The [`RowDigest`](crate::RowDigest) of every row of `table` (`db`.`t`, quoted), read on
    /// an exact session.
    pub fn table_digest(&self, table: &str) -> Result<crate::RowDigest, SandboxError> {
        let mut c = self.exact_conn()?;
        crate::RowDigest::of_query(&mut c, &format!("SELECT * FROM {table}"))
            .map_err(|e| self.sql("reading a table's rows", e))
    }

    /// A task file's `[<section>]` (`source` or `destination`) for this server's `dts` account,
    /// its password in `<dir>/<section>.pw` (mode 0600) so it is never on a command line or in
    /// the environment.
    pub fn task_section(&self, section: &str, dir: &Path) -> Result<String, SandboxError> {
        let file = password_file(&dir.join(format!("{section}.pw")), self.password.expose()).map_err(|e| {
            SandboxError::Io { name: self.name().to_string(), action: "writing a password file", source: e }
        })?;
        Ok(format!(
            "[{section}]\nhost = \"{}\"\nport = {}\nuser = \"{USER}\"\npassword_file = \"{}\"\n",
            self.host(),
            self.port,
            file.display()
        ))
    }

    /// The server's current end of binlog (see [`binlog_position`](crate::binlog_position)).
    pub fn binlog_position(&self) -> Result<BinlogPosition, SandboxError> {
        let mut c = self.conn()?;
        crate::binlog_position(&mut c).map_err(|e| SandboxError::Position { name: self.name().to_string(), source: e })
    }

    /// A connection as root over the server's socket.
    pub fn root_conn(&self) -> Result<Conn, SandboxError> {
        let o = OptsBuilder::new()
            .socket(Some(self.socket_path().display().to_string()))
            .user(Some("root"))
            .prefer_socket(true);
        Conn::new(o).map_err(|e| self.sql("connecting as root over the socket", e))
    }

    /// Creates an empty database of its own for a test: `<prefix>_<n>`.
    pub fn fresh_database(&self, prefix: &str) -> Result<Ident, SandboxError> {
        let n = self.next_db.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}_{n}", sanitize(prefix));
        let db = Ident::new(&name[..name.len().min(64)]).expect("sanitized names are valid identifiers");
        let mut c = self.root_conn()?;
        c.query_drop(format!("CREATE DATABASE {}", quote_ident(db.as_str())))
            .map_err(|e| self.sql("creating a test database", e))?;
        Ok(db)
    }

    /// Reads a global variable (`log_bin`, `binlog_format`, ...).
    pub fn global_var(&self, name: &str) -> Result<Option<String>, SandboxError> {
        let mut c = self.root_conn()?;
        c.exec_first(
            "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME = ?",
            (name.to_ascii_uppercase(),),
        )
        .map_err(|e| self.sql("reading a global variable", e))
    }

    /// Stops the server cleanly and starts it again on the same data dir and port, with
    /// `option`s changed (`restart_with(&[("binlog_format", Some("STATEMENT"))])`; `None`
    /// removes an option).
    pub fn restart_with(&mut self, options: &[(&str, Option<&str>)]) -> Result<(), SandboxError> {
        self.stop_server();
        for (k, v) in options {
            self.settings.overrides.push((k.to_string(), v.map(str::to_string)));
        }
        self.launch(false)
    }

    /// Stops the server cleanly, leaves it down for `down` (clients see it gone, as in a
    /// restart), and starts it again on the same data dir and port.
    pub fn restart_after(&mut self, down: Duration) -> Result<(), SandboxError> {
        self.stop_server();
        std::thread::sleep(down);
        self.launch(false)
    }

    /// Kills the server at once (SIGKILL, as a crash or a lost machine would): nothing more
    /// reaches its binlog. The sandbox is then down; dropping it removes its files.
    pub fn crash(&mut self) {
        if let Some(mut child) = self.server.take() {
            // A server that already exited needs neither: either way it is down now.
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(w) = self.watchdog.take() {
            w.dismiss();
        }
    }

    /// SIGTERM, then SIGKILL after [`STOP_TIMEOUT`]; dismisses the watchdog.
    fn stop_server(&mut self) {
        if let Some(mut child) = self.server.take() {
            // Best effort; a server that does not stop is killed below.
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let deadline = Instant::now() + STOP_TIMEOUT;
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if let Some(w) = self.watchdog.take() {
            w.dismiss();
        }
    }

    fn io(&self, action: &'static str, source: std::io::Error) -> SandboxError {
        SandboxError::Io { name: self.settings.name.clone(), action, source }
    }

    pub(crate) fn sql(&self, action: &'static str, source: mysql::Error) -> SandboxError {
        SandboxError::Sql { name: self.settings.name.clone(), action, source }
    }

    fn start_failed(&self, what: String, log: &Path) -> SandboxError {
        SandboxError::StartFailed { name: self.settings.name.clone(), what, log: log.to_path_buf(), tail: tail(log, 0) }
    }

    fn start_failed_since(&self, what: String, offset: u64) -> SandboxError {
        let log = self.error_log();
        SandboxError::StartFailed { name: self.settings.name.clone(), what, tail: tail(&log, offset), log }
    }
}

/// Writes `password` to `path` (its directory created), readable by its owner only (mode
/// 0600), as a task file's `password_file` wants it; returns `path`.
pub fn password_file(path: &Path, password: &str) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(path, password)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    Ok(path.to_path_buf())
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop_server();
        // A throwaway dir; the watchdog removes what is left.
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The last 30 lines of a log, from `offset` on.
fn tail(path: &Path, offset: u64) -> String {
    let mut s = String::new();
    if let Ok(mut f) = fs::File::open(path) {
        use std::io::Seek;
        // A log read for messages: what cannot be read is simply not shown.
        let _ = f.seek(std::io::SeekFrom::Start(offset));
        let mut buf = Vec::new();
        let _ = f.read_to_end(&mut buf);
        s = String::from_utf8_lossy(&buf).into_owned();
    }
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn is_root() -> bool {
    fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false)
}

/// Keeps `[A-Za-z0-9_]`, so the result is a plain identifier and a safe path component.
fn sanitize(s: &str) -> String {
    let t: String = s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if t.is_empty() { "x".into() } else { t }
}

/// `n` random bytes as hex, from the kernel's generator.
fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    let ok = fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf)).is_ok();
    if !ok {
        // No /dev/urandom: fall back on the std hasher's per-process random keys.
        use std::hash::{BuildHasher, Hasher};
        for (i, b) in buf.iter_mut().enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(i);
            *b = h.finish() as u8;
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
