//! The task file (TOML): what it may hold, and its checks. Unknown keys and bad values are
//! errors naming the key and the line; passwords come from an environment variable or a file,
//! never from the task file or the command line. `examples/task.toml` shows every key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dts_schema::{DatabaseRule, NameCase, Selection, TableRule};
use dts_schema::{DefinerPolicy, ObjectRules, TriggerPolicy};
use dts_schema::{OnlineDdlMode, ShadowNames};
use dts_types::{Endpoint, Ident, Secret, TableId, TlsMode};
use serde::Deserialize;

use crate::filter::Filter;

/// Why a task file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the task file {path}: {source}")]
    Read {
        /// The task file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown key or a value of the wrong type.
    #[error("{path}: {message}")]
    Parse {
        /// The task file.
        path: PathBuf,
        /// The TOML parser's message, with the line.
        message: String,
    },
    /// A key's value cannot work (a bad name, a missing password, a filter that does not parse).
    #[error("{path}: {key}: {message}")]
    Invalid {
        /// The task file.
        path: PathBuf,
        /// The key, as written in the file.
        key: String,
        /// What is wrong, with the line where the key is.
        message: String,
    },
}

/// `[source]` or `[destination]`: how to reach a server. The password is never in the file.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Host name or IP address.
    pub host: String,
    /// TCP port (default 3306).
    #[serde(default = "default_port")]
    pub port: u16,
    /// The account the task logs in with.
    pub user: String,
    /// The name of an environment variable holding the password.
    pub password_env: Option<String>,
    /// A file whose first line is the password.
    pub password_file: Option<PathBuf>,
    /// Whether and how to use TLS.
    #[serde(default)]
    pub tls: TlsMode,
    /// The CA certificate `verify-ca` and `verify-identity` check the server against.
    pub ca_file: Option<PathBuf>,
}

fn default_port() -> u16 {
    3306
}

/// A phase a task runs (`[task] types`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncType {
    /// Create the selected objects on the destination.
    Schema,
    /// Copy the selected tables' rows.
    Full,
    /// Replay the source's binlog.
    Incremental,
}

/// `[task] conflicting_tables`: what existing target tables mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Conflicting {
    /// They fail the precheck.
    #[default]
    Precheck,
    /// The task writes into them.
    Ignore,
}

/// `[task] online_ddl`: what to do with gh-ost / pt-osc shadow tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnlineDdl {
    /// Copy the online schema change tool's shadow tables like any table.
    Copy,
    /// Apply the tool's ALTER to the real table when it swaps the tables.
    #[default]
    ApplyAtCutover,
}

/// `[task]`.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSection {
    /// Keys the task's state on the destination: letters, digits, `_ - .`.
    pub name: String,
    /// The phases to run, in order (default: all three).
    #[serde(default = "all_types")]
    pub types: Vec<SyncType>,
    /// The replica server_id the task reads the binlog with; unique among the source's replicas.
    pub server_id: u32,
    /// The destination database holding checkpoints, progress and state (default `dts_meta`).
    #[serde(default = "default_meta")]
    pub meta_database: String,
    /// What target tables that already exist mean.
    #[serde(default)]
    pub conflicting_tables: Conflicting,
    /// The letter case of target names.
    #[serde(default)]
    pub name_case: NameCase,
    /// When and how the source's triggers are created on the destination: `"none"` (default),
    /// `"at_cutover"` (by `dts-sync cutover`) or `"guarded"` (at schema sync, doing nothing for
    /// the task's own sessions). `false` and `true` are read as `"none"` and `"guarded"`.
    #[serde(default, deserialize_with = "trigger_policy")]
    pub triggers: TriggerPolicy,
    /// Whose account defines views, routines, triggers and events on the destination:
    /// `"destination"` (default: the task's destination account), `"keep"` (the source's
    /// DEFINER), or an account `"user@host"`.
    #[serde(default = "default_definer")]
    pub definer: String,
    /// How online schema change tools' tables are handled.
    #[serde(default)]
    pub online_ddl: OnlineDdl,
    /// Write the source's clock into `<meta_database>.heartbeat` on the source every 250 ms, so
    /// the lag is known even when the source is idle. Off for a read-only source.
    #[serde(default = "yes")]
    pub heartbeat: bool,
    /// How long the runner's lease on the task lasts without renewal (it renews every
    /// second): a runner paused or cut off this long loses the task, and another may take it
    /// over (default 30).
    #[serde(default = "default_lease_seconds")]
    pub lease_seconds: u64,
}

fn default_lease_seconds() -> u64 {
    30
}

fn yes() -> bool {
    true
}

fn default_definer() -> String {
    "destination".into()
}

/// `triggers`: one of the policy's names, or a boolean (as older task files have it).
fn trigger_policy<'de, D: serde::Deserializer<'de>>(d: D) -> Result<TriggerPolicy, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Value {
        Bool(bool),
        Name(String),
    }
    match Value::deserialize(d)? {
        Value::Bool(false) => Ok(TriggerPolicy::None),
        Value::Bool(true) => Ok(TriggerPolicy::Guarded),
        Value::Name(n) => match n.as_str() {
            "none" => Ok(TriggerPolicy::None),
            "at_cutover" => Ok(TriggerPolicy::AtCutover),
            "guarded" => Ok(TriggerPolicy::Guarded),
            other => Err(serde::de::Error::custom(format!(
                "triggers = {other:?}: expected \"none\", \"at_cutover\" or \"guarded\""
            ))),
        },
    }
}

fn all_types() -> Vec<SyncType> {
    vec![SyncType::Schema, SyncType::Full, SyncType::Incremental]
}

fn default_meta() -> String {
    "dts_meta".into()
}

/// `[[objects.tables]]`: one table (or pattern) of a database.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// The source table's name; `*` and `?` are wildcards.
    pub name: String,
    /// The destination table's name.
    pub rename: Option<String>,
    /// The columns to sync (default: every column).
    pub columns: Option<Vec<String>>,
    /// Columns not to sync.
    #[serde(default)]
    pub exclude_columns: Vec<String>,
    /// Source column name to destination column name.
    #[serde(default)]
    pub column_renames: BTreeMap<String, String>,
    /// A row filter (an SQL condition on the source's columns, see [`crate::Filter`]).
    pub filter: Option<String>,
}

/// `[[objects]]`: one database (or pattern) to sync.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectConfig {
    /// The source database's name; `*` and `?` are wildcards.
    pub database: String,
    /// The destination database's name (not for wildcards).
    pub rename: Option<String>,
    /// The tables to sync (default: every table, including ones created later).
    pub tables: Option<Vec<TableConfig>>,
    /// Tables (or patterns) not to sync.
    #[serde(default)]
    pub exclude_tables: Vec<String>,
    /// Whether a listed table renamed on the source (inside the database) to a name `tables`
    /// does not list keeps syncing under its new name. Default: off with `tables` listed (the
    /// rename is then a WARN, a `status` entry and `dts_ddl_warnings_total`); a database
    /// selected whole follows every rename inside it, so `false` is refused there.
    pub follow_renames: Option<bool>,
    /// In a database selected in part (`tables` or `exclude_tables`): the views (names or
    /// patterns) to sync. A whole database syncs all of its views, routines and events.
    #[serde(default)]
    pub views: Vec<String>,
    /// Likewise the procedures and functions.
    #[serde(default)]
    pub routines: Vec<String>,
    /// Likewise the events.
    #[serde(default)]
    pub events: Vec<String>,
}

/// `[full]`: the full copy's parallelism and limits.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FullConfig {
    /// Reader/writer pairs.
    #[serde(default = "two")]
    pub threads: usize,
    /// Most rows per chunk.
    #[serde(default = "default_chunk_rows")]
    pub chunk_rows: u64,
    /// Most queries per second on the source (0: no limit).
    #[serde(default)]
    pub qps: u64,
    /// Most rows per second (0: no limit).
    #[serde(default)]
    pub rows_per_sec: u64,
    /// Most megabytes per second (0: no limit).
    #[serde(default)]
    pub mb_per_sec: u64,
    /// Build a large table's plain secondary indexes after its rows are copied (faster than
    /// inserting every row into them; see `dts_fullcopy::indexes`).
    #[serde(default = "yes")]
    pub indexes_after_rows: bool,
}

fn two() -> usize {
    2
}

fn default_chunk_rows() -> u64 {
    50_000
}

impl Default for FullConfig {
    fn default() -> Self {
        FullConfig {
            threads: 2,
            chunk_rows: default_chunk_rows(),
            qps: 0,
            rows_per_sec: 0,
            mb_per_sec: 0,
            indexes_after_rows: true,
        }
    }
}

/// `[incremental]`: the applier's parallelism and limits.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct IncrementalConfig {
    /// Destination connections; transactions sharing a key stay in order.
    #[serde(default = "one")]
    pub workers: usize,
    /// Most row changes per second (0: no limit).
    #[serde(default)]
    pub rows_per_sec: u64,
    /// Most megabytes per second (0: no limit).
    #[serde(default)]
    pub mb_per_sec: u64,
    /// What a DDL statement the destination refuses does: `stop` the task (the default) or
    /// `skip` it (recorded as failed, logged at WARN).
    #[serde(default)]
    pub ddl_errors: DdlErrorsConfig,
    /// Statements to skip, by the source position they end at (`file:offset`, as a DDL stop
    /// and `status` show it): the one-off way past a statement the destination refuses.
    #[serde(default)]
    pub skip_ddl: Vec<String>,
}

/// `[incremental] ddl_errors`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DdlErrorsConfig {
    /// Stop the task, naming the statement.
    #[default]
    Stop,
    /// Record it as failed, warn, go on.
    Skip,
}

fn one() -> usize {
    1
}

impl Default for IncrementalConfig {
    fn default() -> Self {
        IncrementalConfig {
            workers: 1,
            rows_per_sec: 0,
            mb_per_sec: 0,
            ddl_errors: DdlErrorsConfig::Stop,
            skip_ddl: Vec::new(),
        }
    }
}

/// `[retry]`: how long transient errors are retried before the task stops.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// After a lost connection.
    #[serde(default = "default_connection_minutes")]
    pub connection_minutes: u64,
    /// After other transient errors (deadlocks, lock waits, a read-only destination).
    #[serde(default = "default_other_minutes")]
    pub other_minutes: u64,
}

fn default_connection_minutes() -> u64 {
    720
}

fn default_other_minutes() -> u64 {
    10
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig { connection_minutes: 720, other_minutes: 10 }
    }
}

/// `[monitor]`: metrics, the status page, probes, alerts and progress lines (served, sent and
/// printed by the binary).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorConfig {
    /// Off a terminal, a progress line of the running phase every this many seconds.
    #[serde(default = "default_progress_interval")]
    pub progress_interval: u64,
    /// `host:port` for HTTP: `/metrics`, `/status`, the status page `/`, `/history`,
    /// `/precheck`, `/healthz` and `/readyz`.
    pub listen: Option<String>,
    /// Alert once per episode when the checkpoint stalls this long behind the source.
    pub latency_alert_seconds: Option<u64>,
    /// A URL to POST `{"task", "kind", "message"}` to on failure or lag.
    pub alert_webhook: Option<String>,
    /// A program to run on failure or lag (with DTS_TASK, DTS_ALERT_KIND, DTS_ALERT_MESSAGE).
    pub alert_command: Option<String>,
    /// Whether the unauthenticated `/status` shows `last_error` as it is; by default its
    /// quoted literals, where row values appear, are replaced by `'?'`.
    #[serde(default)]
    pub status_shows_row_values: bool,
    /// `/readyz` answers 200 while the task is in incremental sync at most this many seconds
    /// behind the source, else 503 (default 10).
    #[serde(default = "default_ready_lag_seconds")]
    pub ready_lag_seconds: u64,
}

fn default_ready_lag_seconds() -> u64 {
    10
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            progress_interval: default_progress_interval(),
            listen: None,
            latency_alert_seconds: None,
            alert_webhook: None,
            alert_command: None,
            status_shows_row_values: false,
            ready_lag_seconds: default_ready_lag_seconds(),
        }
    }
}

fn default_progress_interval() -> u64 {
    10
}

/// The task file as written.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[source]`.
    pub source: ServerConfig,
    /// `[destination]`.
    pub destination: ServerConfig,
    /// `[task]`.
    pub task: TaskSection,
    /// `[[objects]]`: what to sync (none: every non-system database, whole).
    #[serde(default)]
    pub objects: Vec<ObjectConfig>,
    /// `[full]`.
    #[serde(default)]
    pub full: FullConfig,
    /// `[incremental]`.
    #[serde(default)]
    pub incremental: IncrementalConfig,
    /// `[retry]`.
    #[serde(default)]
    pub retry: RetryConfig,
    /// `[monitor]`.
    #[serde(default)]
    pub monitor: MonitorConfig,
    /// `[verify]`.
    #[serde(default)]
    pub verify: VerifySection,
    /// `[online_ddl_tables]`: the names of online schema change tools' tables.
    #[serde(default)]
    pub online_ddl_tables: OnlineDdlTables,
    /// `[precheck]`.
    #[serde(default)]
    pub precheck: PrecheckSection,
    /// `[two_way]`: sync both ways (see [`TwoWaySection`]).
    pub two_way: Option<TwoWaySection>,
}

/// `[two_way]`: the task also syncs `[destination]` back to `[source]`, in the same process.
///
/// The forward direction (`[source]` → `[destination]`) runs the task's `types`; the reverse
/// direction (`[destination]` → `[source]`) is incremental only, from the destination's
/// position taken before the forward direction's first write. Each direction marks its own
/// writes (`dts_types::origin`), and the other drops them, so nothing loops. Rows are written
/// with conflict detection (`dts_applier::conflict`); DDL flows forward only.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TwoWaySection {
    /// The replica server_id the reverse direction reads `[destination]`'s binlog with; unique
    /// among that server's replicas.
    pub reverse_server_id: u32,
    /// The conflict policy of every table without one of its own: `"fail"` (the default),
    /// `"ignore"`, `"overwrite"`, `"use_max(column)"`, `"use_min(column)"`, `"owner(source)"`,
    /// `"owner(destination)"`.
    #[serde(default = "default_policy")]
    pub conflicts: String,
    /// Policies by table, `"database.table"` (the same names on both nodes).
    #[serde(default)]
    pub tables: BTreeMap<String, String>,
}

fn default_policy() -> String {
    "fail".into()
}

/// `[two_way] tables`: conflict policies by (database, table).
pub type TablePolicies = BTreeMap<(String, String), dts_applier::conflict::Policy>;

/// Which way a task's [`Config`] syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `[source]` → `[destination]`, and nothing back.
    OneWay,
    /// The forward direction of a two-way task.
    Forward,
    /// The reverse direction of a two-way task ([`Config::reverse`]).
    Reverse,
}

/// `[precheck]`: warnings the task's owner has accepted, so a service definition need not
/// repeat `--ignore` on every run.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrecheckSection {
    /// Warning ids acknowledged on every `precheck` and `run` (as `--ignore ID` does).
    #[serde(default)]
    pub acknowledge: Vec<String>,
}

/// `[online_ddl_tables]`: how the shadow tables of online schema change tools are named, as
/// templates where `{table}` stands for the real table's name (each list replaces the default).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct OnlineDdlTables {
    /// The new table being built (default gh-ost's `_{table}_gho`, pt-osc's `_{table}_new`).
    #[serde(default = "default_ghost")]
    pub ghost: Vec<String>,
    /// gh-ost's changelog table (default `_{table}_ghc`).
    #[serde(default = "default_changelog")]
    pub changelog: Vec<String>,
    /// The old table after the swap (default `_{table}_del`, `_{table}_old`).
    #[serde(default = "default_old")]
    pub old: Vec<String>,
    /// The tools' trigger names, as wildcards (default `pt_osc_*`).
    #[serde(default = "default_triggers")]
    pub triggers: Vec<String>,
}

impl Default for OnlineDdlTables {
    fn default() -> Self {
        let d = ShadowNames::default();
        OnlineDdlTables { ghost: d.ghost, changelog: d.changelog, old: d.old, triggers: d.triggers }
    }
}

fn default_ghost() -> Vec<String> {
    ShadowNames::default().ghost
}
fn default_changelog() -> Vec<String> {
    ShadowNames::default().changelog
}
fn default_old() -> Vec<String> {
    ShadowNames::default().old
}
fn default_triggers() -> Vec<String> {
    ShadowNames::default().triggers
}

/// `[verify]`.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySection {
    /// During incremental sync, compare every applied row again once the applier passed it.
    #[serde(default)]
    pub continuous: bool,
}

/// A checked task: endpoints with their passwords, the selection, parsed filters.
#[derive(Debug, Clone)]
pub struct Config {
    /// The task file.
    pub path: PathBuf,
    /// The file as written.
    pub raw: RawConfig,
    /// The source, with its password.
    pub source: Endpoint,
    /// The destination, with its password.
    pub destination: Endpoint,
    /// What is synced and under which names.
    pub selection: Selection,
    /// `[task] meta_database`.
    pub meta_db: Ident,
    /// Parsed filters by (source database, source table name or pattern).
    pub filters: BTreeMap<(String, String), Filter>,
    /// `[task] triggers` and `definer`: how views, routines, triggers and events reach the
    /// destination.
    pub objects: ObjectRules,
    /// Which way this config syncs (a two-way task file loads as its forward direction).
    pub direction: Direction,
    /// Two-way only: the conflict policies, checked when the file loaded.
    pub conflicts: Option<(dts_applier::conflict::Policy, TablePolicies)>,
}

impl Config {
    /// Whether the task runs schema sync.
    pub fn schema(&self) -> bool {
        self.raw.task.types.contains(&SyncType::Schema)
    }
    /// Whether the task runs the full copy.
    pub fn full(&self) -> bool {
        self.raw.task.types.contains(&SyncType::Full)
    }
    /// Whether the task runs incremental sync.
    pub fn incremental(&self) -> bool {
        self.raw.task.types.contains(&SyncType::Incremental)
    }
    /// The task's name.
    pub fn name(&self) -> &str {
        &self.raw.task.name
    }
    /// The statements `[incremental] skip_ddl` skips (checked when the file loaded).
    pub fn skip_ddl(&self) -> Vec<dts_types::BinlogPosition> {
        self.raw.incremental.skip_ddl.iter().filter_map(|p| p.parse().ok()).collect()
    }
    /// What a DDL the destination refuses does, as the applier takes it.
    pub fn ddl_errors(&self) -> dts_applier::DdlErrors {
        match self.raw.incremental.ddl_errors {
            DdlErrorsConfig::Stop => dts_applier::DdlErrors::Stop,
            DdlErrorsConfig::Skip => dts_applier::DdlErrors::Skip,
        }
    }
    /// How long a lost connection is retried.
    pub fn connection_retry(&self) -> Duration {
        Duration::from_secs(self.raw.retry.connection_minutes * 60)
    }
    /// How long other transient errors are retried.
    pub fn other_retry(&self) -> Duration {
        Duration::from_secs(self.raw.retry.other_minutes * 60)
    }
    /// Acknowledges on `report` the warnings of `[precheck] acknowledge` (those the report
    /// has: a resumed task's precheck leaves some items out) and of the command line's
    /// `--ignore` (each must be an item of the report).
    pub fn acknowledge(
        &self,
        report: &mut dts_precheck::Report,
        ignore: &[String],
    ) -> Result<(), dts_precheck::AckError> {
        let from_file: Vec<&String> =
            self.raw.precheck.acknowledge.iter().filter(|id| report.items.iter().any(|i| &i.id == *id)).collect();
        report.acknowledge(&from_file)?;
        report.acknowledge(ignore)
    }
    /// Both retry windows, as every phase takes them.
    pub fn retry_windows(&self) -> dts_types::retry::RetryWindows {
        dts_types::retry::RetryWindows { connection: self.connection_retry(), other: self.other_retry() }
    }
    /// How long the runner's lease lasts without renewal (`[task] lease_seconds`).
    pub fn lease_period(&self) -> Duration {
        Duration::from_secs(self.raw.task.lease_seconds)
    }
    /// How online schema change tools' tables are handled, as the translator takes it.
    pub fn online_ddl(&self) -> OnlineDdlMode {
        match self.raw.task.online_ddl {
            OnlineDdl::Copy => OnlineDdlMode::Copy,
            OnlineDdl::ApplyAtCutover => OnlineDdlMode::ApplyAtCutOver,
        }
    }

    /// The name templates of online schema change tools' tables and triggers.
    pub fn shadow_names(&self) -> ShadowNames {
        let t = &self.raw.online_ddl_tables;
        ShadowNames {
            ghost: t.ghost.clone(),
            changelog: t.changelog.clone(),
            old: t.old.clone(),
            triggers: t.triggers.clone(),
        }
    }

    /// Reads and checks a task file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| ConfigError::Read { path: path.to_path_buf(), source: e })?;
        Config::parse(&text, path)
    }

    /// Checks a task file's text (`path` for messages and relative password files).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            message: format!("{message}{}", line_of(text, key).map(|l| format!(" (line {l})")).unwrap_or_default()),
        };
        if raw.task.name.is_empty()
            || raw.task.name.len() > 64
            || !raw.task.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        {
            return Err(invalid("task.name", "must be 1 to 64 characters of letters, digits, '_', '-' and '.'".into()));
        }
        if raw.task.types.is_empty() {
            return Err(invalid(
                "task.types",
                "must name at least one of \"schema\", \"full\", \"incremental\"".into(),
            ));
        }
        if raw.task.server_id == 0 {
            return Err(invalid(
                "task.server_id",
                "must be a positive number unique among the source's replicas".into(),
            ));
        }
        if raw.full.threads == 0 || raw.full.chunk_rows == 0 {
            return Err(invalid("full.threads", "threads and chunk_rows must be at least 1".into()));
        }
        if raw.incremental.workers == 0 || raw.incremental.workers > 64 {
            return Err(invalid("incremental.workers", "must be between 1 and 64".into()));
        }
        if let Some(bad) = raw.incremental.skip_ddl.iter().find(|p| p.parse::<dts_types::BinlogPosition>().is_err()) {
            return Err(invalid(
                "incremental.skip_ddl",
                format!("{bad:?} is not a source position: write FILE:OFFSET as the DDL stop names it"),
            ));
        }
        if raw.monitor.progress_interval == 0 {
            return Err(invalid("monitor.progress_interval", "must be at least 1 (seconds)".into()));
        }
        if raw.task.lease_seconds < 2 {
            return Err(invalid("task.lease_seconds", "must be at least 2 (the lease is renewed every second)".into()));
        }
        if raw.retry.other_minutes > raw.retry.connection_minutes {
            return Err(invalid(
                "retry.other_minutes",
                format!("must not exceed retry.connection_minutes ({})", raw.retry.connection_minutes),
            ));
        }
        let t = &raw.online_ddl_tables;
        for (key, templates) in [
            ("online_ddl_tables.ghost", &t.ghost),
            ("online_ddl_tables.changelog", &t.changelog),
            ("online_ddl_tables.old", &t.old),
        ] {
            if let Some(bad) = templates.iter().find(|t| t.matches("{table}").count() != 1) {
                return Err(invalid(key, format!("{bad:?} must hold {{table}} exactly once")));
            }
        }
        let meta_db = Ident::new(&raw.task.meta_database)
            .map_err(|e| invalid("task.meta_database", format!("is not a valid database name: {e}")))?;
        let source = endpoint(&raw.source, "source", path, &invalid)?;
        let destination = endpoint(&raw.destination, "destination", path, &invalid)?;
        let mut filters = BTreeMap::new();
        let mut databases = Vec::new();
        for o in &raw.objects {
            let mut tables = None;
            if let Some(ts) = &o.tables {
                let mut rules = Vec::new();
                for t in ts {
                    // The full copy and verify send the SQL rendered from the parsed filter, never
                    // the text as written.
                    let mut rendered = None;
                    if let Some(f) = &t.filter {
                        let parsed = Filter::parse(f).map_err(|e| invalid("objects.tables.filter", e.to_string()))?;
                        rendered = Some(parsed.sql().to_string());
                        filters.insert((o.database.clone(), t.name.clone()), parsed);
                    }
                    rules.push(TableRule {
                        name: t.name.clone(),
                        rename: t.rename.clone(),
                        columns: t.columns.clone(),
                        exclude_columns: t.exclude_columns.clone(),
                        column_renames: t.column_renames.clone(),
                        filter: rendered,
                    });
                }
                tables = Some(rules);
            }
            if o.tables.is_none() && o.follow_renames == Some(false) {
                return Err(invalid(
                    "objects.follow_renames",
                    format!(
                        "is false for {}, which is selected whole: renames inside it are always followed; \
                         list its tables ([[objects.tables]]) to choose",
                        o.database
                    ),
                ));
            }
            databases.push(DatabaseRule {
                database: o.database.clone(),
                rename: o.rename.clone(),
                follow_renames: o.tables.is_some() && o.follow_renames.unwrap_or(false),
                tables,
                exclude_tables: o.exclude_tables.clone(),
                views: o.views.clone(),
                routines: o.routines.clone(),
                events: o.events.clone(),
            });
        }
        let mut selection =
            if databases.is_empty() { Selection::everything() } else { Selection { databases, ..Default::default() } };
        selection.name_case = raw.task.name_case;
        // The metadata database is never synced.
        selection.exclude_databases.push(raw.task.meta_database.clone());
        selection.exclude_databases.push("dts_shadow_*".into());
        let definer = DefinerPolicy::parse(&raw.task.definer).map_err(|e| invalid("task.definer", e))?;
        let objects = ObjectRules { triggers: raw.task.triggers, definer };
        let (direction, conflicts) = match &raw.two_way {
            None => (Direction::OneWay, None),
            Some(t) => (Direction::Forward, Some(two_way_checks(&raw, t, &invalid)?)),
        };
        Ok(Config {
            path: path.to_path_buf(),
            raw,
            source,
            destination,
            selection,
            meta_db,
            filters,
            objects,
            direction,
            conflicts,
        })
    }

    /// The reverse direction of a two-way task: `[destination]` → `[source]`, incremental
    /// only, read with `reverse_server_id`, its state in the metadata database on `[source]`
    /// under the task's name with `.reverse` added. Tables that exist already are the point.
    pub fn reverse(&self) -> Config {
        let mut r = self.clone();
        std::mem::swap(&mut r.source, &mut r.destination);
        std::mem::swap(&mut r.raw.source, &mut r.raw.destination);
        r.raw.task.name = format!("{}.reverse", self.raw.task.name);
        r.raw.task.types = vec![SyncType::Incremental];
        r.raw.task.conflicting_tables = Conflicting::Ignore;
        if let Some(t) = &self.raw.two_way {
            r.raw.task.server_id = t.reverse_server_id;
        }
        r.raw.verify.continuous = false;
        r.direction = Direction::Reverse;
        r
    }

    /// The name of the reverse direction's task, which keys its state on `[source]`.
    pub fn reverse_name(&self) -> String {
        format!("{}.reverse", self.raw.task.name)
    }

    /// How a two-way direction writes (`None` one-way): its origin mark and conflict policies.
    pub fn two_way_writes(&self) -> Option<dts_applier::conflict::TwoWay> {
        let (default, tables) = self.conflicts.clone()?;
        Some(dts_applier::conflict::TwoWay {
            mark: self.origin_mark(),
            default,
            tables: tables
                .into_iter()
                .filter_map(|((d, t), p)| Some((TableId::new(Ident::new(&d).ok()?, Ident::new(&t).ok()?), p)))
                .collect(),
            from_source: self.direction == Direction::Forward,
            catching_up: Default::default(),
        })
    }

    /// This direction's origin mark on its destination.
    pub fn origin_mark(&self) -> dts_types::origin::OriginMark {
        dts_types::origin::OriginMark { db: self.meta_db.clone(), task: self.name().to_string() }
    }

    /// The filter of a source table, if it has one.
    pub fn filter(&self, db: &str, table: &str) -> Option<&Filter> {
        find_filter(&self.filters, db, table)
    }
}

/// The checks of `[two_way]`: each direction must decide every row the same way, so what makes
/// the two directions disagree is refused; and its policies must parse.
fn two_way_checks(
    raw: &RawConfig,
    t: &TwoWaySection,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<(dts_applier::conflict::Policy, TablePolicies), ConfigError> {
    use dts_applier::conflict::Policy;
    if t.reverse_server_id == 0 || t.reverse_server_id == raw.task.server_id {
        return Err(invalid(
            "two_way.reverse_server_id",
            "must be a positive number other than task.server_id, unique among [destination]'s replicas".into(),
        ));
    }
    if raw.incremental.workers != 1 {
        return Err(invalid(
            "incremental.workers",
            "a two-way task applies with one worker per direction (each row is checked for conflicts in order): remove the key or set 1".into(),
        ));
    }
    if format!("{}.reverse", raw.task.name).len() > 64 {
        return Err(invalid(
            "task.name",
            "a two-way task's name must be at most 56 characters (its reverse direction adds \".reverse\")".into(),
        ));
    }
    for o in &raw.objects {
        let refuse = |what: &str| {
            invalid(
                "objects",
                format!(
                    "{} has {what}: a two-way task syncs the same names and columns both ways, so that both directions decide every row alike; remove it, or use two one-way tasks",
                    o.database
                ),
            )
        };
        if o.rename.is_some() {
            return Err(refuse("a rename"));
        }
        for tc in o.tables.iter().flatten() {
            if tc.rename.is_some() || !tc.column_renames.is_empty() {
                return Err(refuse(&format!("a renamed table or column ({})", tc.name)));
            }
            if tc.columns.is_some() || !tc.exclude_columns.is_empty() {
                return Err(refuse(&format!("a column subset ({})", tc.name)));
            }
            if tc.filter.is_some() {
                return Err(refuse(&format!("a row filter ({})", tc.name)));
            }
        }
    }
    let default = Policy::parse(&t.conflicts).map_err(|e| invalid("two_way.conflicts", e))?;
    let mut tables = BTreeMap::new();
    for (name, p) in &t.tables {
        let Some((d, tb)) = name.split_once('.') else {
            return Err(invalid("two_way.tables", format!("{name:?}: write \"database.table\"")));
        };
        let p = Policy::parse(p).map_err(|e| invalid("two_way.tables", format!("{name}: {e}")))?;
        tables.insert((d.to_string(), tb.to_string()), p);
    }
    Ok((default, tables))
}

/// A source table's filter among parsed filters: by exact name, else by a table pattern.
pub fn find_filter<'a>(filters: &'a BTreeMap<(String, String), Filter>, db: &str, table: &str) -> Option<&'a Filter> {
    filters
        .get(&(db.to_string(), table.to_string()))
        .or_else(|| filters.iter().find(|((d, t), _)| d == db && dts_schema::wildcard_match(t, table)).map(|(_, f)| f))
}

/// The line a key first appears on (for messages about values serde accepted).
fn line_of(text: &str, key: &str) -> Option<usize> {
    let last = key.rsplit('.').next()?;
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with(last) && l[last.len()..].trim_start().starts_with('=')
        })
        .map(|i| i + 1)
}

fn endpoint(
    s: &ServerConfig,
    side: &str,
    path: &Path,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<Endpoint, ConfigError> {
    let password = match (&s.password_env, &s.password_file) {
        (Some(_), Some(_)) => {
            return Err(invalid(&format!("{side}.password_env"), "set password_env or password_file, not both".into()));
        }
        (Some(var), None) => Secret::new(std::env::var(var).map_err(|_| {
            invalid(
                &format!("{side}.password_env"),
                format!("the environment variable {var} is not set (export it with the {side} password)"),
            )
        })?),
        (None, Some(file)) => {
            let file =
                if file.is_relative() { path.parent().unwrap_or(Path::new(".")).join(file) } else { file.clone() };
            let text = std::fs::read_to_string(&file).map_err(|e| {
                invalid(&format!("{side}.password_file"), format!("cannot read {}: {e}", file.display()))
            })?;
            {
                use std::os::unix::fs::PermissionsExt;
                if std::fs::metadata(&file).is_ok_and(|m| m.permissions().mode() & 0o077 != 0) {
                    return Err(invalid(
                        &format!("{side}.password_file"),
                        format!(
                            "{} can be read by other users than its owner: run `chmod 600 {}`",
                            file.display(),
                            file.display()
                        ),
                    ));
                }
            }
            Secret::new(text.lines().next().unwrap_or("").to_string())
        }
        // Never an empty password by omission (an account without one reads an empty file).
        (None, None) => {
            return Err(invalid(
                &format!("{side}.password_env"),
                format!(
                    "[{side}] names no password source: add password_env = \"VARIABLE\" (an environment variable holding the password) or password_file = \"FILE\" (a file whose first line is the password)"
                ),
            ));
        }
    };
    // verify-ca without a CA of one's own would accept any public certificate for any name.
    if s.tls == TlsMode::VerifyCa && s.ca_file.is_none() {
        return Err(invalid(&format!("{side}.ca_file"), format!("tls = \"{}\" needs ca_file", s.tls)));
    }
    let mut e = Endpoint::new(s.host.clone(), s.port, s.user.clone(), password);
    e.tls = s.tls;
    e.ca_file = s.ca_file.clone();
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[source]
host = "10.0.0.1"
user = "sync"
password_env = "PATH"

[destination]
host = "10.0.0.2"
port = 3307
user = "sync"
password_env = "PATH"

[task]
name = "orders"
server_id = 4242

[[objects]]
database = "shop"
rename = "shop_copy"

[[objects.tables]]
name = "orders"
columns = ["id", "amount"]
column_renames = { amount = "total" }
filter = "id > 100 AND amount >= 10"
"#;

    #[test]
    fn retry_windows_and_the_lease_are_validated() {
        let bad = format!("{GOOD}\n[retry]\nconnection_minutes = 5\nother_minutes = 10\n");
        let e = Config::parse(&bad, Path::new("t.toml")).unwrap_err().to_string();
        assert!(e.contains("retry.other_minutes") && e.contains("connection_minutes (5)"), "{e}");
        let bad = GOOD.replace("server_id = 4242", "server_id = 4242\nlease_seconds = 1");
        let e = Config::parse(&bad, Path::new("t.toml")).unwrap_err().to_string();
        assert!(e.contains("task.lease_seconds"), "{e}");
        let c = Config::parse(GOOD, Path::new("t.toml")).unwrap();
        assert_eq!((c.lease_period().as_secs(), c.retry_windows().connection.as_secs()), (30, 720 * 60));
    }

    #[test]
    fn the_progress_interval_defaults_to_ten_seconds_and_is_at_least_one() {
        let c = Config::parse(GOOD, Path::new("t.toml")).unwrap();
        assert_eq!(c.raw.monitor.progress_interval, 10);
        let c = Config::parse(&format!("{GOOD}\n[monitor]\nlisten = \"9105\"\n"), Path::new("t.toml")).unwrap();
        assert_eq!(c.raw.monitor.progress_interval, 10);
        let c = Config::parse(&format!("{GOOD}\n[monitor]\nprogress_interval = 1\n"), Path::new("t.toml")).unwrap();
        assert_eq!(c.raw.monitor.progress_interval, 1);
        let bad = format!("{GOOD}\n[monitor]\nprogress_interval = 0\n");
        let e = Config::parse(&bad, Path::new("t.toml")).unwrap_err().to_string();
        assert!(e.contains("monitor.progress_interval"), "{e}");
    }

    #[test]
    fn a_missing_password_source_names_the_keys_to_add() {
        let bad = GOOD.replacen("password_env = \"PATH\"\n", "", 1);
        let e = Config::parse(&bad, Path::new("t.toml")).unwrap_err().to_string();
        assert!(e.contains("source.password_env") && e.contains("password_file = \"FILE\""), "{e}");
    }

    #[test]
    fn a_good_file_loads() {
        let c = Config::parse(GOOD, Path::new("task.toml")).unwrap();
        assert!(c.schema() && c.full() && c.incremental());
        assert_eq!(c.destination.port, 3307);
        assert_eq!(c.selection.database("shop").as_deref(), Some("shop_copy"));
        assert!(c.filter("shop", "orders").is_some());
        // The full copy and verify get the SQL rendered from the parsed filter.
        let rule = &c.selection.databases[0].tables.as_ref().unwrap()[0];
        assert_eq!(rule.filter.as_deref(), Some("((`id` > 100) AND (`amount` >= 10))"));
        assert_eq!(c.meta_db.as_str(), "dts_meta");
    }

    #[test]
    fn bad_files_name_the_key_and_line() {
        let bad = GOOD.replace("server_id = 4242", "server_id = 4242\nbogus = 1");
        let e = Config::parse(&bad, Path::new("t.toml")).unwrap_err().to_string();
        assert!(e.contains("bogus") && e.contains("line"), "{e}");
        let bad = GOOD.replace("server_id = 4242", "server_id = \"x\"");
        let e = Config::parse(&bad, Path::new("t.toml")).unwrap_err().to_string();
        let line = bad.lines().position(|l| l.starts_with("server_id")).unwrap() + 1;
        assert!(e.contains("server_id") && e.contains(&format!("line {line}")), "{e}");
        let bad =
            GOOD.replace("name = \"orders\"\nserver_id", "name = \"orders\"\ntypes = [\"full\", \"nope\"]\nserver_id");
        let e = Config::parse(&bad, Path::new("t.toml")).unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains("line"), "{e}");
        let bad = GOOD.replace("id > 100 AND", "UPPER(id) > 100 AND");
        let e = Config::parse(&bad, Path::new("t.toml")).unwrap_err().to_string();
        let line = bad.lines().position(|l| l.starts_with("filter")).unwrap() + 1;
        assert!(
            e.contains("objects.tables.filter") && e.contains("UPPER") && e.contains(&format!("line {line}")),
            "{e}"
        );
        let bad = GOOD.replace(
            "[task]",
            "[task]
name_case = \"lower\"\ntriggers = true",
        );
        let c = Config::parse(&bad, Path::new("t.toml")).unwrap();
        assert_eq!(c.selection.name_case, NameCase::Lower);
        let bad = GOOD.replacen("password_env = \"PATH\"", "password_env = \"DTS_TEST_UNSET_PW\"", 1);
        let e = Config::parse(&bad, Path::new("t.toml")).unwrap_err().to_string();
        assert!(e.contains("DTS_TEST_UNSET_PW is not set") && e.contains("line 5"), "{e}");
    }

    #[test]
    fn verify_ca_needs_ca_file_verify_identity_does_not() {
        let with = |lines: &str| GOOD.replacen("user = \"sync\"\n", &format!("user = \"sync\"\n{lines}\n"), 1);
        let e = Config::parse(&with("tls = \"verify-ca\""), Path::new("t.toml")).unwrap_err().to_string();
        assert!(e.contains("source.ca_file") && e.contains("needs ca_file"), "{e}");
        let c = Config::parse(&with("tls = \"verify-identity\""), Path::new("t.toml")).unwrap();
        assert_eq!((c.source.tls, c.source.ca_file), (TlsMode::VerifyIdentity, None));
    }

    #[test]
    fn a_password_file_others_can_read_is_refused_with_the_chmod_to_run() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("dts-pwfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pw = dir.join("pw");
        std::fs::write(&pw, "secret\n").unwrap();
        let text = GOOD.replacen("password_env = \"PATH\"", "password_file = \"pw\"", 1);
        for mode in [0o640, 0o604] {
            std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = Config::parse(&text, &dir.join("t.toml")).unwrap_err().to_string();
            assert!(e.contains("source.password_file") && e.contains(&format!("chmod 600 {}", pw.display())), "{e}");
        }
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = Config::parse(&text, &dir.join("t.toml")).unwrap();
        assert_eq!(c.source.password.expose(), "secret");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn trigger_and_definer_policies() {
        let with = |lines: &str| GOOD.replace("[task]", &format!("[task]\n{lines}"));
        let c = Config::parse(GOOD, Path::new("t.toml")).unwrap();
        assert_eq!(c.objects, ObjectRules::default());
        for (v, p) in [
            ("false", TriggerPolicy::None),
            ("true", TriggerPolicy::Guarded),
            ("\"at_cutover\"", TriggerPolicy::AtCutover),
            ("\"guarded\"", TriggerPolicy::Guarded),
        ] {
            let c = Config::parse(&with(&format!("triggers = {v}")), Path::new("t.toml")).unwrap();
            assert_eq!(c.objects.triggers, p, "{v}");
        }
        let e = Config::parse(&with("triggers = \"always\""), Path::new("t.toml")).unwrap_err().to_string();
        assert!(e.contains("always") && e.contains("at_cutover") && e.contains("line"), "{e}");
        let c = Config::parse(&with("definer = \"app@10.%\""), Path::new("t.toml")).unwrap();
        assert_eq!(c.objects.definer, DefinerPolicy::Account("`app`@`10.%`".into()));
        let e = Config::parse(&with("definer = \"nobody\""), Path::new("t.toml")).unwrap_err().to_string();
        assert!(e.contains("task.definer") && e.contains("user@host") && e.contains("line"), "{e}");
    }

    #[test]
    fn online_ddl_table_names_replace_the_defaults_and_need_table_once() {
        let c = Config::parse(GOOD, Path::new("t.toml")).unwrap();
        assert_eq!(c.shadow_names(), ShadowNames::default());
        let custom = format!("{GOOD}\n[online_ddl_tables]\nghost = [\"{{table}}__new\"]\n");
        let names = Config::parse(&custom, Path::new("t.toml")).unwrap().shadow_names();
        assert_eq!(names.classify("orders__new"), Some((dts_schema::ShadowRole::Ghost, "orders".into())));
        assert_eq!(names.classify("_orders_gho"), None);
        assert_eq!(names.classify("_orders_ghc").map(|c| c.0), Some(dts_schema::ShadowRole::Changelog));
        let bad = format!("{GOOD}\n[online_ddl_tables]\nold = [\"_old\"]\n");
        let e = Config::parse(&bad, Path::new("t.toml")).unwrap_err().to_string();
        assert!(e.contains("online_ddl_tables.old") && e.contains("\"_old\"") && e.contains("{table}"), "{e}");
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    #[test]
    fn the_example_task_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/task.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        // The example names its password variables; here they come from files instead.
        let dir = std::env::temp_dir().join(format!("dts-example-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("pw"), "secret\n").unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.join("pw"), std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let text = text
            .replace("password_env = \"DTS_SOURCE_PASSWORD\"", "password_file = \"pw\"")
            .replace("password_env = \"DTS_DESTINATION_PASSWORD\"", "password_file = \"pw\"");
        let c = Config::parse(&text, &dir.join("task.toml")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(c.name(), "shop-sync");
        assert_eq!(c.source.password.expose(), "secret");
        assert_eq!(c.raw.incremental.workers, 4);
        assert_eq!(c.selection.database("shop").as_deref(), Some("shop_replica"));
        assert!(c.filter("shop", "orders").is_some());
        let m =
            c.selection.table_with_columns("shop", "orders", &["id".into(), "total".into(), "note".into()]).unwrap();
        assert_eq!(m.target.to_string(), "`shop_replica`.`orders_2024`");
        assert!(c.selection.table("shop", "tmp_1").is_none());
        assert_eq!(c.shadow_names(), ShadowNames::default());
    }
}
