//! A task's life outside `run`: asking the running task to stop, resetting it (forgetting
//! everything it keeps), and the effective task file with every default filled in.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mysql::Conn;
use mysql::prelude::Queryable;

use crate::config::Config;
use crate::lease::{Holder, LeaseError, LeaseTable};

/// Why a lifecycle command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// A server failed or refused a query.
    #[error("the {server} server")]
    Sql {
        /// `source` or `destination`.
        server: &'static str,
        /// The server's error.
        #[source]
        source: mysql::Error,
    },
    /// The task is running: `reset` refuses.
    #[error("{0}; stop it first (`dts-sync stop --config FILE`)")]
    Running(#[source] LeaseError),
    /// The runner did not stop in time.
    #[error(
        "task {task} is still running on host {host}, pid {pid}, {seconds} s after the stop request (it stops at the next transaction boundary; a runner that cannot reach the destination loses the task when its lease expires)"
    )]
    StillRunning {
        /// The task.
        task: String,
        /// The holder's host.
        host: String,
        /// The holder's pid.
        pid: u32,
        /// How long `stop` waited.
        seconds: u64,
    },
}

fn dst_err(source: mysql::Error) -> LifecycleError {
    LifecycleError::Sql { server: "destination", source }
}

fn lease_table(config: &Config) -> LeaseTable {
    LeaseTable { task: config.name().to_string(), db: config.meta_db.clone() }
}

/// Asks the running task to stop at its next transaction boundary and waits until it has
/// released its lease (at most `wait`). Returns the runner that stopped, `None` when none ran.
pub fn stop(config: &Config, wait: Duration) -> Result<Option<Holder>, LifecycleError> {
    let mut dst = Conn::new(config.destination.opts()).map_err(dst_err)?;
    let table = lease_table(config);
    let Some(holder) = table.request_stop(&mut dst).map_err(dst_err)? else { return Ok(None) };
    let start = Instant::now();
    loop {
        let now = table.read(&mut dst).map_err(dst_err)?;
        if !now.as_ref().is_some_and(|h| h.running && h.epoch == holder.epoch) {
            return Ok(Some(holder));
        }
        if start.elapsed() > wait {
            return Err(LifecycleError::StillRunning {
                task: config.name().to_string(),
                host: holder.host,
                pid: holder.pid,
                seconds: wait.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What `reset` removed.
#[derive(Debug, Default)]
pub struct ResetReport {
    /// `db.table: rows` of the metadata database.
    pub meta_rows: Vec<(String, u64)>,
    /// The shadow databases of the schema history dropped.
    pub shadow_databases: Vec<String>,
    /// Whether the heartbeat row on the source was removed.
    pub heartbeat_row: bool,
}

/// Removes everything the task keeps: its rows in every table of the metadata database with a
/// `task` column (state, lease, checkpoints, copy plan, schema history), its heartbeat row on
/// the source and its schema-history shadow databases. Refuses while the task runs (it holds
/// the lease itself meanwhile, so no runner starts halfway). The synced data stays.
pub fn reset(config: &Config) -> Result<ResetReport, LifecycleError> {
    let mut dst = Conn::new(config.destination.opts()).map_err(dst_err)?;
    let table = lease_table(config);
    table.acquire(&mut dst, Duration::from_secs(60)).map_err(|e| match e {
        LeaseError::Sql(source) => dst_err(source),
        other => LifecycleError::Running(other),
    })?;
    let mut report = ResetReport::default();
    let meta = config.meta_db.as_str();
    let tables: Vec<String> = dst
        .exec(
            "SELECT TABLE_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND COLUMN_NAME = 'task' \
             ORDER BY TABLE_NAME = 'task_lease', TABLE_NAME",
            (meta,),
        )
        .map_err(dst_err)?;
    for t in tables {
        let q = format!("DELETE FROM {}.{} WHERE task = ?", config.meta_db.quoted(), dts_types::quote_ident(&t));
        dst.exec_drop(q, (config.name(),)).map_err(dst_err)?;
        report.meta_rows.push((format!("{meta}.{t}"), dst.affected_rows()));
    }
    // Shadow databases are named by (task, source database): every database of the source
    // may have one (the selection may have changed since).
    let mut src = Conn::new(config.source.opts()).map_err(|source| LifecycleError::Sql { server: "source", source })?;
    let src_dbs: Vec<String> = src
        .query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
        .map_err(|source| LifecycleError::Sql { server: "source", source })?;
    let shadows: Vec<String> = dst
        .query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'dts\\_shadow\\_%'")
        .map_err(dst_err)?;
    for db in src_dbs {
        let shadow = dts_schema::shadow_name(config.name(), &db);
        if shadows.contains(&shadow) {
            dst.query_drop(format!("DROP DATABASE {}", dts_types::quote_ident(&shadow))).map_err(dst_err)?;
            report.shadow_databases.push(shadow);
        }
    }
    let hb: Option<u8> = src
        .exec_first(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (meta, crate::heartbeat::TABLE),
        )
        .map_err(|source| LifecycleError::Sql { server: "source", source })?;
    if hb.is_some() {
        src.exec_drop(
            format!("DELETE FROM {}.`{}` WHERE task = ?", config.meta_db.quoted(), crate::heartbeat::TABLE),
            (config.name(),),
        )
        .map_err(|source| LifecycleError::Sql { server: "source", source })?;
        report.heartbeat_row = src.affected_rows() > 0;
    }
    Ok(report)
}

/// The effective task: the task file with every default filled in, as JSON; secrets (the
/// alert webhook's URL, which may carry a token) redacted. Passwords are never in a task file.
pub fn effective(config: &Config) -> serde_json::Value {
    let mut v = serde_json::to_value(&config.raw).expect("the task file serializes");
    if let Some(w) = v.pointer_mut("/monitor/alert_webhook")
        && !w.is_null()
    {
        *w = serde_json::Value::String("<redacted>".into());
    }
    v
}

/// The effective task as TOML text (the task file's own format).
pub fn effective_toml(config: &Config) -> String {
    let mut v = effective(config);
    // TOML has no null: an unset optional key is left out, as in a task file.
    fn strip_nulls(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|_, x| !x.is_null());
                m.values_mut().for_each(strip_nulls);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip_nulls),
            _ => {}
        }
    }
    strip_nulls(&mut v);
    toml::to_string(&v).unwrap_or_else(|e| format!("# cannot render as TOML: {e}\n{v:#}\n"))
}

/// Sets the running task's rate limits from `config` (`[full] qps, rows_per_sec, mb_per_sec`,
/// `[incremental] rows_per_sec, mb_per_sec`).
pub fn set_rate_limits(config: &Config, limits: &crate::run::RateLimits) {
    let (f, i) = (&config.raw.full, &config.raw.incremental);
    limits.copy.set(f.qps, f.rows_per_sec, f.mb_per_sec << 20);
    limits.apply.set(i.rows_per_sec, i.mb_per_sec << 20);
}

/// The keys a running task takes from its file again (SIGHUP): the rate limits.
pub const RELOADABLE: &[&str] =
    &["full.qps", "full.rows_per_sec", "full.mb_per_sec", "incremental.rows_per_sec", "incremental.mb_per_sec"];

/// Re-reads the task file of `running` and applies its rate limits to `limits`. Returns the
/// reloadable keys that changed, and the other keys that changed but cannot be reloaded (they
/// take effect at the next `run`).
pub fn reload(
    running: &Config,
    limits: &crate::run::RateLimits,
) -> Result<(Vec<String>, Vec<String>), crate::ConfigError> {
    let new = Config::load(&running.path)?;
    let (mut was, mut now) = (BTreeMap::new(), BTreeMap::new());
    flatten("", &serde_json::to_value(&running.raw).expect("serializes"), &mut was);
    flatten("", &serde_json::to_value(&new.raw).expect("serializes"), &mut now);
    let keys: std::collections::BTreeSet<&String> = was.keys().chain(now.keys()).collect();
    let changed: Vec<String> = keys.into_iter().filter(|k| was.get(*k) != now.get(*k)).cloned().collect();
    let (reloaded, fixed): (Vec<String>, Vec<String>) =
        changed.into_iter().partition(|k| RELOADABLE.contains(&k.as_str()));
    set_rate_limits(&new, limits);
    Ok((reloaded, fixed))
}

/// `{"a": {"b": 1}}` as `a.b = 1` (arrays whole: a changed list is one changed key).
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, x, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}
