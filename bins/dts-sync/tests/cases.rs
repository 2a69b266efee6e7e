//! The end-to-end cases of `tests/cases/`: one folder a case (its task file, the SQL run on the
//! source before and during sync, and what must hold afterwards), each run through the
//! `dts-sync` binary against the shared pair of real servers, in databases of its own.
//! The case format is in `tests/cases/README.md`.
//!
//! `CASE=name` (or `CASE=a,b`) runs only those cases; `CASE_JOBS=n` runs n cases at once
//! (default 3). Every failing case is reported by name with its reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dts_task::config::Config;
use dts_testkit::{RowDigest, Sandbox, replica_server_id, shared_pair};
use dts_types::{Ident, quote_ident};
use mysql::prelude::Queryable;
use serde::Deserialize;

/// A password no server has: the wrong-password cases use it, and no output may show it.
const WRONG_PASSWORD: &str = "wrong-password-xyz";

/// `case.toml`: how a case runs and what must hold afterwards.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    /// The dts-sync command of a stop case (`run`, `precheck`, `status`, ...).
    #[serde(default = "run_command")]
    command: String,
    /// Extra arguments to every `run` (identical cases) or to `command` (stop cases).
    #[serde(default)]
    run_args: Vec<String>,
    expect: Expect,
    /// When `during.sql` runs.
    during: Option<During>,
    #[serde(default)]
    kill_9: Kill9,
    /// The full copy's rate limit (`{rows_per_sec}` in task.toml) until the runner has stopped
    /// the copy; the resumed runs copy unthrottled.
    copy_rows_per_sec: Option<u64>,
    /// What `dts-sync status --json` says at the end.
    #[serde(default)]
    status: StatusExpect,
    /// Destination table => its columns, in order.
    #[serde(default)]
    columns: BTreeMap<String, Vec<String>>,
    /// Source table => more than this many of its rows are selected.
    #[serde(default)]
    min_rows: BTreeMap<String, u64>,
    /// mariadbd options of a source of the case's own (`binlog_row_metadata = "NO_LOG"`),
    /// started for it instead of the shared one.
    #[serde(default)]
    source_options: BTreeMap<String, String>,
    /// mariadbd options of a destination of the case's own (two-way cases: it is read too).
    #[serde(default)]
    destination_options: BTreeMap<String, String>,
    /// Precheck warnings acknowledged (`--ignore`) by every `precheck` and `run`.
    #[serde(default)]
    acknowledge: Vec<String>,
    /// Stop cases: after the stop, list the failed DDL's position (from `status`) in
    /// `[incremental] skip_ddl` and go on as an identical case.
    #[serde(default)]
    resume_skipping_the_failed_ddl: bool,
    /// Destination tables the task leaves behind on purpose (a table renamed out of the
    /// selection keeps its last copy, with a warning): exempt from "exactly the mapped tables".
    #[serde(default)]
    stale_destination_tables: Vec<String>,
    /// `dts-sync` commands (with `--config`) run after the last catch-up, before the checks,
    /// each of which must exit 0 (`["cutover"]`).
    #[serde(default)]
    after: Vec<String>,
    /// Queries that must give the same rows on the source (in the case's database) and on the
    /// destination (in its destination database): objects that are no table (a sequence's
    /// state, events, triggers).
    #[serde(default)]
    same: Vec<String>,
    /// Queries run on the destination at the end (no default database), with the rows they
    /// must return: each row's values joined by a tab, NULL as `NULL`, in the query's order.
    #[serde(default)]
    destination: Vec<DestinationQuery>,
    /// A source of the case's own even without `source_options` (for `restart` steps).
    #[serde(default)]
    own_source: bool,
    /// A destination of the case's own instead of the shared one (for `restart` steps).
    #[serde(default)]
    own_destination: bool,
    /// A source of the case's own and a native replica of it (GTID replication, its own
    /// server_id and gtid_domain_id), for `stop_replica` and `promote_replica` steps.
    #[serde(default)]
    replica: bool,
    /// Steps run in order once the writer started, before the first catch-up run (see
    /// tests/cases/README.md): background runners, signals, server restarts, commands with
    /// their exit codes.
    #[serde(default)]
    steps: Vec<Step>,
    /// Precheck warnings only a task that has not started gets (`destination.existing_tables`):
    /// acknowledged by `precheck` and `run` until the first `run`.
    #[serde(default)]
    acknowledge_first: Vec<String>,
}

/// `[[destination]]`: a query on the destination and its rows.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DestinationQuery {
    sql: String,
    rows: Vec<String>,
}

/// One step of `[[steps]]`: exactly one of the action keys, with its options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    /// Start `run` (run_args, then `args`) in the background under this name; with `command`,
    /// that command (with `args`), its stdout in the log too.
    spawn: Option<String>,
    /// Wait (up to 60 s) until `status --json` says this phase.
    wait_phase: Option<String>,
    /// Wait (up to 60 s) until the named background run's log holds `contains`.
    wait_log: Option<String>,
    /// Sleep this long.
    sleep_ms: Option<u64>,
    /// Run these statements on the source, in the case's database.
    sql: Option<String>,
    /// Run these statements on the destination (no default database).
    destination_sql: Option<String>,
    /// Wait (up to 60 s) until this query on the destination returns a row (for example a
    /// full-copy chunk of a table marked done in the metadata database).
    wait_destination: Option<String>,
    /// Run this dts-sync command in the foreground (with `args`): it must exit with `exit`
    /// within `within_secs`, its output holding every `contains`, and its stdout, read as JSON,
    /// holding at each dotted path of `json` exactly that text.
    command: Option<String>,
    #[serde(default)]
    json: BTreeMap<String, String>,
    /// Run this SQL file (placeholders filled in its name) on the destination, as one
    /// multi-statement script (a repair script that `verify --repair-sql` wrote).
    destination_script: Option<String>,
    /// Send this signal (`STOP`, `CONT`, `HUP`, `TERM`, `KILL`) to the run named `to`.
    signal: Option<String>,
    to: Option<String>,
    /// Wait (up to `within_secs`, default 60) for the named run to exit with `exit`, its log
    /// holding every `contains`.
    exits: Option<String>,
    /// Of these runs (started together), exactly one exits (with `exit`, its log holding every
    /// `contains`, within `within_secs`); the other keeps running and is named `survivor`.
    #[serde(default)]
    exits_one_of: Vec<String>,
    /// The named run must still be running.
    alive: Option<String>,
    /// Stop the case's own source, keep it down `down_ms`, start it again.
    restart: Option<String>,
    down_ms: Option<u64>,
    /// `true`: the replica (`replica = true`) stops replicating once it has everything so far.
    stop_replica: Option<bool>,
    /// `true`: the replica is promoted: once it has everything (unless it stopped
    /// replicating; writes on the source wait meanwhile), the source is killed, the replica forgets it, and from then on the
    /// replica is the case's source (writer, `sql` steps, the checks) and the task file's
    /// `[source]` (its port and password file).
    promote_replica: Option<bool>,
    /// Dotted paths into `status --json`: the first step naming a path notes the number
    /// there, every later one must find the same (`totals.full_rows_copied`: no second copy).
    #[serde(default)]
    status_same: Vec<String>,
    /// Rewrite task.toml with `{rows_per_sec}` set to this.
    set_rows_per_sec: Option<u64>,
    /// Append this text (placeholders filled) to the task file as it is now.
    append_task: Option<String>,
    /// Count the rows of this destination table (in the case's database) over `secs` seconds:
    /// their rate must be `rate` within ±`tolerance` (a fraction, default 0.2).
    measure_rows: Option<String>,
    secs: Option<u64>,
    rate: Option<f64>,
    tolerance: Option<f64>,
    #[serde(default)]
    args: Vec<String>,
    exit: Option<i32>,
    within_secs: Option<u64>,
    #[serde(default)]
    contains: Vec<String>,
}

fn run_command() -> String {
    "run".into()
}

#[derive(Debug, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum Expect {
    /// `"identical"`: every selected table ends with the source's rows, exactly.
    Identical(IdenticalWord),
    /// `command` exits with `exit`, its output naming every one of `stop_contains`, none of
    /// `not_contains` (placeholders filled: a secret that must not be shown) and each of `once`
    /// exactly once.
    Stop {
        stop_contains: Vec<String>,
        exit: i32,
        #[serde(default)]
        not_contains: Vec<String>,
        /// Strings the output holds exactly once.
        #[serde(default)]
        once: Vec<String>,
    },
    /// `precheck --json` exits 1 with the item `precheck_fails` a failure.
    PrecheckFails { precheck_fails: String, found_contains: Option<String> },
}

#[derive(Debug, Deserialize)]
enum IdenticalWord {
    #[serde(rename = "identical")]
    Identical,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum During {
    /// After precheck, before the task first runs (and so before its snapshot).
    BeforeSnapshot,
    /// In the middle of the full copy: the run is killed once status says `full`, the SQL runs,
    /// the task resumes.
    Copy,
    /// After the task has caught up once; the next run applies it from the binlog.
    Incremental,
    /// After the task has caught up once, with a `dts-sync run` connected throughout, which
    /// must still be running afterwards.
    WhileRunning,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kill9 {
    /// Runs killed with SIGKILL during the full copy (which must still be on afterwards).
    #[serde(default)]
    copy: u32,
    /// Runs killed with SIGKILL during incremental sync (under the writer, if any).
    #[serde(default)]
    incremental: u32,
}

#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusExpect {
    phase: Option<String>,
    /// Dotted paths into the status JSON that must be numbers above 0.
    #[serde(default)]
    nonzero: Vec<String>,
    /// Dotted paths (array items by index) => text the string there must contain.
    #[serde(default)]
    contains: BTreeMap<String, String>,
    /// Dotted paths => a bound the number there must be at or below (and at or above 0).
    #[serde(default)]
    at_most: BTreeMap<String, f64>,
    /// Dotted paths => another dotted path holding the same number.
    #[serde(default)]
    equal: BTreeMap<String, String>,
}

/// One case folder, read.
#[derive(Debug)]
struct Case {
    name: String,
    dir: PathBuf,
    spec: Spec,
}

/// The files a case folder may hold (see tests/cases/README.md).
const CASE_FILES: &[&str] = &[
    "README",
    "case.toml",
    "task.toml",
    "before.sql",
    "destination.sql",
    "during.sql",
    "during.sh",
    "after.sql",
    "writer.sql",
    "destination_writer.sql",
    "destination_check.sql",
];

/// Where this test binary's cases keep their filled-in task files (one folder a case).
fn runs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cases-{}", std::process::id()))
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/cases")
}

fn discover() -> Vec<Case> {
    let only: Option<Vec<String>> =
        std::env::var("CASE").ok().filter(|s| !s.is_empty()).map(|s| s.split(',').map(str::to_string).collect());
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(cases_dir()).expect("tests/cases") {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        // `_shared/` holds files several cases link to; it is no case.
        if !dir.is_dir() || name.starts_with('_') {
            continue;
        }
        if only.as_ref().is_some_and(|o| !o.contains(&name)) {
            continue;
        }
        let text = std::fs::read_to_string(dir.join("case.toml")).unwrap_or_else(|e| panic!("{name}/case.toml: {e}"));
        let spec: Spec = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}/case.toml: {e}"));
        for f in ["task.toml", "README"] {
            assert!(dir.join(f).is_file(), "case {name} has no {f}");
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().file_name().to_string_lossy().to_string();
            assert!(CASE_FILES.contains(&f.as_str()), "case {name}: {f} is none of {CASE_FILES:?}");
        }
        assert_eq!(
            spec.during.is_some(),
            dir.join("during.sql").is_file() || dir.join("during.sh").is_file(),
            "case {name}: `during` and during.sql (or during.sh) go together"
        );
        cases.push(Case { name, dir, spec });
    }
    if let Some(o) = &only {
        for n in o {
            assert!(cases.iter().any(|c| &c.name == n), "CASE={n}: no folder tests/cases/{n}");
        }
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

#[test]
fn every_case_in_tests_cases() {
    let cases = discover();
    assert!(!cases.is_empty(), "no case in {}", cases_dir().display());
    let jobs: usize = std::env::var("CASE_JOBS").ok().and_then(|j| j.parse().ok()).unwrap_or(3).max(1);
    shared_pair();
    let queue = Mutex::new(cases.into_iter());
    let results: Mutex<Vec<(String, Result<Duration, String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                loop {
                    let Some(case) = queue.lock().unwrap().next() else { break };
                    let t = Instant::now();
                    let name = case.name.clone();
                    let outcome = std::thread::Builder::new()
                        .name(name.clone())
                        .spawn(move || run_case(&case))
                        .unwrap()
                        .join()
                        .map(|()| t.elapsed())
                        .map_err(|p| {
                            p.downcast_ref::<String>()
                                .cloned()
                                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_default()
                        });
                    results.lock().unwrap().push((name, outcome));
                }
            });
        }
    });
    let results = results.into_inner().unwrap();
    // Empty unless a case failed.
    let _ = std::fs::remove_dir(runs_dir());
    let mut failed = Vec::new();
    for (name, r) in &results {
        match r {
            Ok(t) => eprintln!("case {name}: ok ({:.1} s)", t.as_secs_f64()),
            Err(why) => failed.push(format!("case {name} FAILED:\n{why}")),
        }
    }
    assert!(failed.is_empty(), "{} of {} cases failed:\n\n{}", failed.len(), results.len(), failed.join("\n\n"));
}

/// The case's source or destination: the shared one, or its own (which a `restart` step
/// restarts).
enum SourceBox<'a> {
    Shared(&'a Sandbox),
    Own(Box<Mutex<Sandbox>>),
}

enum SourceRef<'r> {
    Shared(&'r Sandbox),
    Own(std::sync::MutexGuard<'r, Sandbox>),
}

impl std::ops::Deref for SourceRef<'_> {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        match self {
            SourceRef::Shared(s) => s,
            SourceRef::Own(g) => g,
        }
    }
}

impl SourceBox<'_> {
    fn get(&self) -> SourceRef<'_> {
        match self {
            SourceBox::Shared(s) => SourceRef::Shared(s),
            SourceBox::Own(m) => SourceRef::Own(m.lock().unwrap_or_else(|p| p.into_inner())),
        }
    }
}

/// Where a case runs: its database, task file and placeholders.
struct Run<'a> {
    case: &'a Case,
    /// The source: the shared one, or the case's own (`source_options`, `own_source`).
    source: SourceBox<'a>,
    /// The destination: the shared one, or the case's own (`own_destination`).
    destination: SourceBox<'a>,
    db: Ident,
    task_file: PathBuf,
    placeholders: Vec<(String, String)>,
    /// Every password a server or case uses: none may appear in any output.
    secrets: Vec<String>,
    /// Whether a `run` was started (`acknowledge_first` no longer applies).
    ran: std::sync::atomic::AtomicBool,
    /// The source's replica (`replica = true`), until it is promoted, and whether it still
    /// replicates.
    replica: Mutex<Option<(Sandbox, bool)>>,
    /// What `status_same` steps noted.
    noted: Mutex<BTreeMap<String, serde_json::Value>>,
}

fn run_case(case: &Case) {
    let pair = shared_pair();
    let own_source = (!case.spec.source_options.is_empty() || case.spec.own_source || case.spec.replica).then(|| {
        let b = case
            .spec
            .source_options
            .iter()
            .fold(Sandbox::builder("source").gtid_domain_id(1), |b, (k, v)| b.option(k, v));
        b.start().unwrap_or_else(|e| panic!("starting the case's own source: {e}"))
    });
    let source = own_source.as_ref().unwrap_or(&pair.source);
    let replica = case.spec.replica.then(|| {
        let r = Sandbox::builder("replica")
            .gtid_domain_id(2)
            .start()
            .unwrap_or_else(|e| panic!("starting the case's replica: {e}"));
        r.replicate_from(source).unwrap_or_else(|e| panic!("starting the replica: {e}"));
        r
    });
    let own_destination = (case.spec.own_destination || !case.spec.destination_options.is_empty()).then(|| {
        let b = case.spec.destination_options.iter().fold(Sandbox::builder("destination"), |b, (k, v)| b.option(k, v));
        b.start().unwrap_or_else(|e| panic!("starting the case's own destination: {e}"))
    });
    let destination = own_destination.as_ref().unwrap_or(&pair.destination);
    let db = source.fresh_database(&format!("case_{}", case.name)).unwrap();
    let dir = runs_dir().join(db.as_str());
    std::fs::create_dir_all(&dir).unwrap();
    let password_file = |name: &str, password: &str| {
        dts_testkit::password_file(&dir.join(name), password).unwrap().display().to_string()
    };
    let unused_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let placeholders = vec![
        ("{db}".into(), db.to_string()),
        ("{task}".into(), db.to_string()),
        ("{server_id}".into(), replica_server_id().to_string()),
        ("{reverse_server_id}".into(), replica_server_id().to_string()),
        ("{source.port}".into(), source.port().to_string()),
        ("{source.user}".into(), source.user().to_string()),
        ("{source.password_file}".into(), password_file("source.pw", source.password().expose())),
        ("{destination.port}".into(), destination.port().to_string()),
        ("{destination.user}".into(), destination.user().to_string()),
        ("{destination.password_file}".into(), password_file("destination.pw", destination.password().expose())),
        ("{wrong_password_file}".into(), password_file("wrong.pw", WRONG_PASSWORD)),
        ("{readable_source_password_file}".into(), {
            use std::os::unix::fs::PermissionsExt;
            let path = password_file("readable-source.pw", source.password().expose());
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            path
        }),
        ("{unused_port}".into(), unused_port.to_string()),
        ("{work}".into(), dir.display().to_string()),
    ];
    let mut secrets = vec![
        source.password().expose().to_string(),
        destination.password().expose().to_string(),
        WRONG_PASSWORD.to_string(),
    ];
    secrets.extend(replica.as_ref().map(|r| r.password().expose().to_string()));
    let run = Run {
        case,
        source: match own_source {
            Some(own) => SourceBox::Own(Box::new(Mutex::new(own))),
            None => SourceBox::Shared(&pair.source),
        },
        destination: match own_destination {
            Some(own) => SourceBox::Own(Box::new(Mutex::new(own))),
            None => SourceBox::Shared(&pair.destination),
        },
        db,
        task_file: dir.join("task.toml"),
        placeholders,
        secrets,
        ran: std::sync::atomic::AtomicBool::new(false),
        replica: Mutex::new(replica.map(|r| (r, true))),
        noted: Mutex::new(BTreeMap::new()),
    };
    run.write_task_file(case.spec.copy_rows_per_sec.unwrap_or(0));
    run.source_sql("before.sql");
    run.sql_file(&run.destination.get(), None, "destination.sql");
    match &case.spec.expect {
        Expect::Identical(_) => run.identical(),
        Expect::Stop { stop_contains, exit, not_contains, once } => {
            if case.spec.during == Some(During::Incremental) {
                // The stop comes from the binlog: a task in incremental sync first, then the SQL.
                run.run_until_caught_up();
                run.during();
            }
            run.steps();
            let out = run.dts_sync(&case.spec.command, &case.spec.run_args);
            let all = run.output_text(&out);
            assert_eq!(out.status.code(), Some(*exit), "{} exit code\n{all}", case.spec.command);
            for s in stop_contains {
                let s = run.fill(s);
                assert!(all.contains(s.as_str()), "the output does not name {s:?}:\n{all}");
            }
            for s in not_contains {
                let s = run.fill(s);
                assert!(!all.contains(s.as_str()), "the output names {s:?}:\n{all}");
            }
            for s in once {
                assert_eq!(all.matches(s.as_str()).count(), 1, "the output names {s:?} not exactly once:\n{all}");
            }
            if case.spec.resume_skipping_the_failed_ddl {
                run.resume_skipping_the_failed_ddl();
            } else if case.spec.status != StatusExpect::default() {
                run.check_status();
            }
            run.check_destination_queries();
        }
        Expect::PrecheckFails { precheck_fails, found_contains } => {
            let out = run.dts_sync("precheck", &["--json".to_string()]);
            let all = run.output_text(&out);
            assert_eq!(out.status.code(), Some(1), "precheck exit code\n{all}");
            let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {all}"));
            let item = j["items"]
                .as_array()
                .and_then(|items| items.iter().find(|i| i["id"] == precheck_fails.as_str()))
                .unwrap_or_else(|| panic!("no precheck item {precheck_fails}: {all}"));
            assert_eq!(item["status"], "failure", "{item}");
            if let Some(f) = found_contains {
                let f = run.fill(f);
                assert!(item["found"].as_str().unwrap_or_default().contains(f.as_str()), "{item}");
            }
        }
    }
    // Kept when the case fails, to look at.
    std::fs::remove_dir_all(&dir).unwrap();
}

impl Run<'_> {
    /// `text` with every placeholder filled; a `{name}` that is no placeholder is a mistake in
    /// the case (`{i}` is the writer's round, `{rows_per_sec}` the task file's throttle).
    fn fill(&self, text: &str) -> String {
        let filled = self.placeholders.iter().fold(text.to_string(), |t, (k, v)| t.replace(k.as_str(), v));
        for word in filled.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(w, _)| w)) {
            let placeholder_like =
                !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.');
            assert!(
                !placeholder_like || word == "i" || word == "rows_per_sec",
                "case {}: {{{word}}} is no placeholder (see tests/cases/README.md)",
                self.case.name
            );
        }
        filled
    }

    fn write_task_file(&self, rows_per_sec: u64) {
        let text = std::fs::read_to_string(self.case.dir.join("task.toml")).unwrap();
        let text = self.fill(&text).replace("{rows_per_sec}", &rows_per_sec.to_string());
        std::fs::write(&self.task_file, text).unwrap();
    }

    /// Runs a case's SQL file on the source, in the case's database, if the case has it.
    fn source_sql(&self, file: &str) {
        self.sql_file(&self.source.get(), Some(&self.db), file);
    }

    /// Runs a case's SQL file on `sb` (in `database`, if given), if the case has it.
    fn sql_file(&self, sb: &Sandbox, database: Option<&Ident>, file: &str) {
        let Ok(text) = std::fs::read_to_string(self.case.dir.join(file)) else { return };
        let text = with_includes(&self.case.dir.join(file), &text);
        let mut c = sb.conn().unwrap();
        if let Some(db) = database {
            c.query_drop(format!("USE {}", db.quoted())).unwrap();
        }
        for stmt in statements(&self.fill(&text)) {
            c.query_drop(&stmt).unwrap_or_else(|e| panic!("{file}: {stmt}: {e}"));
        }
    }

    fn command(&self, cmd: &str, args: &[String]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dts-sync"));
        c.arg(cmd).args(args).arg("--config").arg(&self.task_file).env("DTS_LOG", "warn");
        if cmd == "run" || cmd == "precheck" {
            for id in &self.case.spec.acknowledge {
                c.arg("--ignore").arg(id);
            }
            if !self.ran.load(Ordering::Relaxed) {
                for id in &self.case.spec.acknowledge_first {
                    c.arg("--ignore").arg(id);
                }
            }
        }
        if cmd == "run" {
            self.ran.store(true, Ordering::Relaxed);
        }
        c
    }

    fn dts_sync(&self, cmd: &str, args: &[String]) -> Output {
        let out = self.command(cmd, args).output().unwrap();
        let all = self.output_text(&out);
        for s in &self.secrets {
            assert!(!all.contains(s.as_str()), "a password is in the output of {cmd}:\n{all}");
        }
        out
    }

    fn output_text(&self, out: &Output) -> String {
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    /// Runs `cmd`, which must succeed; returns its stdout.
    #[track_caller]
    fn ok(&self, cmd: &str, args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let out = self.dts_sync(cmd, &args);
        assert!(out.status.success(), "{cmd} {args:?}: exit {:?}\n{}", out.status.code(), self.output_text(&out));
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn run_until_caught_up(&self) {
        let mut args: Vec<&str> = self.case.spec.run_args.iter().map(String::as_str).collect();
        if !args.contains(&"--exit-when-caught-up") {
            args.insert(0, "--exit-when-caught-up");
        }
        self.ok("run", &args);
    }

    fn spawn_run(&self) -> Child {
        self.command("run", &self.case.spec.run_args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
    }

    fn status(&self) -> serde_json::Value {
        let text = self.ok("status", &["--json"]);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    /// The whole life of a task that must end identical: precheck, the interruptions and SQL
    /// the case asks for, catch-up runs, then every check.
    fn identical(&self) {
        let spec = &self.case.spec;
        let pre = self.ok("precheck", &[]);
        assert!(pre.contains("the task may start"), "{pre}");
        if spec.during == Some(During::BeforeSnapshot) {
            self.source_sql("during.sql");
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..spec.kill_9.copy {
            let mut child = self.spawn_run();
            std::thread::sleep(Duration::from_millis(200 + xorshift(&mut x) % 500));
            kill_9(&mut child);
        }
        if spec.kill_9.copy > 0 {
            let st = self.status();
            assert_eq!(st["phase"], "full", "still copying after {} kills: {st}", spec.kill_9.copy);
        }
        if spec.during == Some(During::Copy) {
            let mut child = self.spawn_run();
            let deadline = Instant::now() + Duration::from_secs(30);
            while self.status()["phase"] != "full" {
                assert!(Instant::now() < deadline, "never reached the full copy: {}", self.status());
                std::thread::sleep(Duration::from_millis(100));
            }
            kill_9(&mut child);
            self.source_sql("during.sql");
        }
        // The throttle is only for the interruptions above.
        self.write_task_file(0);
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            // A failure below must stop the writer too, or the scope would wait for it forever.
            let _stop_writer = StopOnDrop(&stop);
            let writer = self.case.dir.join("writer.sql").is_file();
            if writer {
                s.spawn(|| self.writer(&stop));
                std::thread::sleep(Duration::from_millis(300));
            }
            if !spec.steps.is_empty() {
                self.steps();
            }
            self.run_until_caught_up();
            // Two-way cases: the destination's own application, once the copy is done.
            if self.case.dir.join("destination_writer.sql").is_file() {
                s.spawn(|| self.writer_on(&stop, "destination_writer.sql", true));
                std::thread::sleep(Duration::from_millis(300));
            }
            for _ in 0..spec.kill_9.incremental {
                let mut child = self.spawn_run();
                std::thread::sleep(Duration::from_millis(300 + xorshift(&mut x) % 700));
                kill_9(&mut child);
            }
            if spec.during == Some(During::Incremental) {
                self.during();
            }
            if spec.during == Some(During::WhileRunning) {
                self.during_while_running();
            }
            // With no run connected: the next one starts from what the last one committed.
            self.source_sql("after.sql");
            if writer {
                std::thread::sleep(Duration::from_millis(700));
            }
            stop.store(true, Ordering::Relaxed);
        });
        self.run_until_caught_up();
        for cmd in &spec.after {
            self.ok(cmd, &[]);
        }
        self.compare_tables();
        self.compare_same_queries();
        self.check_verify();
        self.check_status();
        // Last: a query may write (a session of the application after the cut-over).
        self.check_destination_queries();
    }

    /// `same`: each query gives the same rows on the source and the destination.
    fn compare_same_queries(&self) {
        if self.case.spec.same.is_empty() {
            return;
        }
        let config = Config::load(&self.task_file).unwrap();
        let tdb = config.selection.database(self.db.as_str()).expect("the case's database is selected");
        let mut src = self.source.get().exact_conn().unwrap();
        let mut dst = self.destination.get().exact_conn().unwrap();
        src.query_drop(format!("USE {}", self.db.quoted())).unwrap();
        dst.query_drop(format!("USE {}", quote_ident(&tdb))).unwrap();
        for q in &self.case.spec.same {
            let q = self.fill(q);
            let s = RowDigest::of_query(&mut src, &q).unwrap_or_else(|e| panic!("source: {q}: {e}"));
            let d = RowDigest::of_query(&mut dst, &q).unwrap_or_else(|e| panic!("destination: {q}: {e}"));
            assert!(s.rows > 0, "same: {q} returns no row on the source");
            assert_eq!(s, d, "same: {q} differs (source: {s}, destination: {d})");
        }
    }

    /// `destination`: each query returns exactly its rows on the destination.
    fn check_destination_queries(&self) {
        if self.case.spec.destination.is_empty() {
            return;
        }
        let mut dst = self.destination.get().conn().unwrap();
        for q in &self.case.spec.destination {
            let sql = self.fill(&q.sql);
            let rows: Vec<mysql::Row> = dst.query(&sql).unwrap_or_else(|e| panic!("destination: {sql}: {e}"));
            let got: Vec<String> = rows
                .into_iter()
                .map(|r| {
                    r.unwrap()
                        .into_iter()
                        .map(|v| match v {
                            mysql::Value::NULL => "NULL".to_string(),
                            mysql::Value::Bytes(b) => String::from_utf8_lossy(&b).to_string(),
                            other => other.as_sql(true).trim_matches('\'').to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join("\t")
                })
                .collect();
            let want: Vec<String> = q.rows.iter().map(|r| self.fill(r)).collect();
            assert_eq!(got, want, "destination: {sql}");
        }
    }

    /// After a DDL stop: the statement's position from `status`, listed in `[incremental]
    /// skip_ddl` (the task file must have no `[incremental]` section of its own), then the rest
    /// of an identical case.
    fn resume_skipping_the_failed_ddl(&self) {
        let st = self.status();
        let failed = &st["ddl_attention"][0];
        assert_eq!(failed["outcome"], "failed", "{st}");
        let position = failed["position"].as_str().unwrap_or_else(|| panic!("no position: {st}"));
        let mut text = std::fs::read_to_string(&self.task_file).unwrap();
        text.push_str(&format!("\n[incremental]\nskip_ddl = [{position:?}]\n"));
        std::fs::write(&self.task_file, text).unwrap();
        self.run_until_caught_up();
        self.compare_tables();
        self.check_verify();
        self.check_status();
        self.check_destination();
    }

    /// `destination_check.sql`: each query, run on the destination, must answer 1 (true).
    fn check_destination(&self) {
        let Ok(text) = std::fs::read_to_string(self.case.dir.join("destination_check.sql")) else { return };
        let mut c = self.destination.get().conn().unwrap();
        for q in statements(&self.fill(&text)) {
            let got: Option<i64> = c.query_first(&q).unwrap_or_else(|e| panic!("destination_check.sql: {q}: {e}"));
            assert_eq!(got, Some(1), "destination_check.sql: {q}");
        }
    }

    /// `[[steps]]`, in order; background runs still alive at the end are killed (after a
    /// SIGCONT, in case a step paused them).
    fn steps(&self) {
        let mut bg = Background(BTreeMap::new());
        let name = &self.case.name;
        for (n, st) in self.case.spec.steps.iter().enumerate() {
            let at = format!("case {name}, step {}", n + 1);
            let filled: Vec<String> = st.contains.iter().map(|c| self.fill(c)).collect();
            let st = &Step { contains: filled, ..st.clone() };
            let log_of = |who: &str| self.task_file.with_file_name(format!("run-{who}.log"));
            let read_log = |who: &str| std::fs::read_to_string(log_of(who)).unwrap_or_default();
            if let Some(who) = &st.spawn {
                // `run` by default; another command (`command = "verify"`) with its output in the log.
                let cmd = st.command.as_deref().unwrap_or("run");
                let mut args = if cmd == "run" { self.case.spec.run_args.clone() } else { Vec::new() };
                args.extend(st.args.iter().map(|a| self.fill(a)));
                let log = std::fs::File::create(log_of(who)).unwrap();
                let stdout = if cmd == "run" { Stdio::null() } else { Stdio::from(log.try_clone().unwrap()) };
                let child = self.command(cmd, &args).env("DTS_LOG", "info").stdout(stdout).stderr(log).spawn().unwrap();
                bg.0.insert(who.clone(), child);
            } else if let Some(phase) = &st.wait_phase {
                let deadline = Instant::now() + Duration::from_secs(60);
                while self.status()["phase"] != phase.as_str() {
                    assert!(Instant::now() < deadline, "{at}: never reached phase {phase}: {}", self.status());
                    std::thread::sleep(Duration::from_millis(100));
                }
            } else if let Some(who) = &st.wait_log {
                let deadline = Instant::now() + Duration::from_secs(60);
                while !st.contains.iter().all(|c| read_log(who).contains(c.as_str())) {
                    assert!(
                        Instant::now() < deadline,
                        "{at}: the log of {who} never held {:?}:\n{}",
                        st.contains,
                        read_log(who)
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
            } else if let Some(text) = &st.sql {
                let mut c = self.source.get().conn().unwrap();
                c.query_drop(format!("USE {}", self.db.quoted())).unwrap();
                for stmt in statements(&self.fill(text)) {
                    c.query_drop(&stmt).unwrap_or_else(|e| panic!("{at}: {stmt}: {e}"));
                }
            } else if let Some(query) = &st.wait_destination {
                let query = self.fill(query);
                let deadline = Instant::now() + Duration::from_secs(60);
                let mut c = self.destination.get().conn().unwrap();
                // A query that fails (its table not created yet) counts as no row.
                while c.query_first::<mysql::Row, _>(&query).ok().flatten().is_none() {
                    assert!(Instant::now() < deadline, "{at}: the destination never returned a row for {query}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            } else if let Some(text) = &st.destination_sql {
                let mut c = self.destination.get().conn().unwrap();
                for stmt in statements(&self.fill(text)) {
                    c.query_drop(&stmt).unwrap_or_else(|e| panic!("{at}: {stmt}: {e}"));
                }
            } else if let Some(ms) = st.sleep_ms {
                std::thread::sleep(Duration::from_millis(ms));
            } else if let Some(cmd) = &st.command {
                let t = Instant::now();
                let args: Vec<String> = st.args.iter().map(|a| self.fill(a)).collect();
                let out = self.dts_sync(cmd, &args);
                let took = t.elapsed();
                let all = self.output_text(&out);
                assert_eq!(out.status.code(), Some(st.exit.unwrap_or(0)), "{at}: {cmd} {:?} exit code\n{all}", st.args);
                if let Some(w) = st.within_secs {
                    assert!(took <= Duration::from_secs(w), "{at}: {cmd} took {took:?}, more than {w} s\n{all}");
                }
                for c in &st.contains {
                    assert!(all.contains(c.as_str()), "{at}: the output of {cmd} does not name {c:?}:\n{all}");
                }
                if !st.json.is_empty() {
                    let j: serde_json::Value = serde_json::from_slice(&out.stdout)
                        .unwrap_or_else(|e| panic!("{at}: {cmd}'s JSON: {e}\n{all}"));
                    for (path, want) in &st.json {
                        let v = json_at(&j, path);
                        let got = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                        assert_eq!(got, self.fill(want), "{at}: {cmd}'s JSON at {path}\n{all}");
                    }
                }
            } else if let Some(file) = &st.destination_script {
                let path = self.fill(file);
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{at}: {path}: {e}"));
                let mut c = self.destination.get().conn().unwrap();
                let mut result = c.query_iter(&text).unwrap_or_else(|e| panic!("{at}: {path}: {e}"));
                while let Some(set) = result.iter() {
                    for row in set {
                        row.unwrap_or_else(|e| panic!("{at}: {path}: {e}"));
                    }
                }
            } else if let Some(sig) = &st.signal {
                let who = st.to.as_ref().unwrap_or_else(|| panic!("{at}: `signal` needs `to`"));
                let child = bg.0.get_mut(who).unwrap_or_else(|| panic!("{at}: no run named {who}"));
                let ok = Command::new("kill").arg(format!("-{sig}")).arg(child.id().to_string()).status().unwrap();
                assert!(ok.success(), "{at}: kill -{sig} {who}");
                if sig == "KILL" {
                    // Reaped at once, as a supervisor would: the run is gone.
                    child.wait().unwrap();
                    bg.0.remove(who);
                }
            } else if let Some(who) = &st.exits {
                let child = bg.0.get_mut(who).unwrap_or_else(|| panic!("{at}: no run named {who}"));
                let deadline = Instant::now() + Duration::from_secs(st.within_secs.unwrap_or(60));
                let status = loop {
                    if let Some(s) = child.try_wait().unwrap() {
                        break s;
                    }
                    assert!(Instant::now() < deadline, "{at}: {who} did not exit in time:\n{}", read_log(who));
                    std::thread::sleep(Duration::from_millis(50));
                };
                bg.0.remove(who);
                let log = read_log(who);
                for s in &self.secrets {
                    assert!(!log.contains(s.as_str()), "{at}: a password is in the log of {who}");
                }
                assert_eq!(status.code(), Some(st.exit.unwrap_or(0)), "{at}: {who}'s exit code\n{log}");
                for c in &st.contains {
                    assert!(log.contains(c.as_str()), "{at}: the log of {who} does not name {c:?}:\n{log}");
                }
            } else if !st.exits_one_of.is_empty() {
                let deadline = Instant::now() + Duration::from_secs(st.within_secs.unwrap_or(60));
                let (who, status) = 'wait: loop {
                    for who in &st.exits_one_of {
                        let child = bg.0.get_mut(who).unwrap_or_else(|| panic!("{at}: no run named {who}"));
                        if let Some(s) = child.try_wait().unwrap() {
                            break 'wait (who.clone(), s);
                        }
                    }
                    assert!(Instant::now() < deadline, "{at}: none of {:?} exited in time", st.exits_one_of);
                    std::thread::sleep(Duration::from_millis(50));
                };
                bg.0.remove(&who);
                let log = read_log(&who);
                assert_eq!(status.code(), Some(st.exit.unwrap_or(0)), "{at}: {who}'s exit code\n{log}");
                for c in &st.contains {
                    assert!(log.contains(c.as_str()), "{at}: the log of {who} does not name {c:?}:\n{log}");
                }
                std::thread::sleep(Duration::from_millis(500));
                let others: Vec<String> = st.exits_one_of.iter().filter(|w| **w != who).cloned().collect();
                assert_eq!(others.len(), 1, "{at}: exits_one_of names two runs");
                let mut survivor = bg.0.remove(&others[0]).unwrap();
                assert!(
                    survivor.try_wait().unwrap().is_none(),
                    "{at}: {} stopped too:\n{}",
                    others[0],
                    read_log(&others[0])
                );
                // The survivor's log goes on under its own name.
                let _ = std::fs::remove_file(log_of("survivor"));
                std::os::unix::fs::symlink(log_of(&others[0]), log_of("survivor")).unwrap();
                bg.0.insert("survivor".into(), survivor);
            } else if let Some(who) = &st.alive {
                let child = bg.0.get_mut(who).unwrap_or_else(|| panic!("{at}: no run named {who}"));
                assert!(child.try_wait().unwrap().is_none(), "{at}: {who} is no longer running:\n{}", read_log(who));
            } else if let Some(server) = &st.restart {
                let (which, key) = match server.as_str() {
                    "source" => (&self.source, "own_source"),
                    "destination" => (&self.destination, "own_destination"),
                    other => panic!("{at}: restart = {other:?} is neither \"source\" nor \"destination\""),
                };
                let SourceBox::Own(m) = which else { panic!("{at}: restarting the {server} needs {key} = true") };
                let down = Duration::from_millis(st.down_ms.unwrap_or(5000));
                m.lock().unwrap().restart_after(down).unwrap_or_else(|e| panic!("{at}: restarting the source: {e}"));
            } else if st.stop_replica == Some(true) {
                let mut guard = self.replica.lock().unwrap();
                let (r, replicating) =
                    guard.as_mut().unwrap_or_else(|| panic!("{at}: stop_replica needs replica = true"));
                r.wait_replicated(&self.source.get(), Duration::from_secs(60)).unwrap_or_else(|e| panic!("{at}: {e}"));
                r.stop_replicating().unwrap_or_else(|e| panic!("{at}: {e}"));
                *replicating = false;
            } else if st.promote_replica == Some(true) {
                self.promote_replica(&at);
            } else if !st.status_same.is_empty() {
                let status = self.status();
                let mut noted = self.noted.lock().unwrap();
                for path in &st.status_same {
                    let now = json_at(&status, path).clone();
                    assert!(now.is_number(), "{at}: no number at {path} in status --json: {status}");
                    let first = noted.entry(path.clone()).or_insert_with(|| now.clone());
                    assert_eq!(*first, now, "{at}: {path} in status --json changed");
                }
            } else if let Some(rate) = st.set_rows_per_sec {
                self.write_task_file(rate);
            } else if let Some(text) = &st.append_task {
                let mut now = std::fs::read_to_string(&self.task_file).unwrap();
                now.push_str(&self.fill(text));
                std::fs::write(&self.task_file, now).unwrap();
            } else if let Some(table) = &st.measure_rows {
                let secs = st.secs.unwrap_or(10);
                let want = st.rate.unwrap_or_else(|| panic!("{at}: `measure_rows` needs `rate`"));
                let tolerance = st.tolerance.unwrap_or(0.2);
                let mut dst = self.destination.get().conn().unwrap();
                let q = format!("SELECT COUNT(*) FROM {}.{}", self.db.quoted(), quote_ident(table));
                let count = |c: &mut mysql::Conn| -> f64 { c.query_first::<u64, _>(&q).unwrap().unwrap_or(0) as f64 };
                let (t0, n0) = (Instant::now(), count(&mut dst));
                std::thread::sleep(Duration::from_secs(secs));
                let got = (count(&mut dst) - n0) / t0.elapsed().as_secs_f64();
                eprintln!("{at}: {table} grew by {got:.1} rows/s (want {want} ±{:.0}%)", tolerance * 100.0);
                assert!(
                    (got - want).abs() <= want * tolerance,
                    "{at}: {table} grew by {got:.1} rows/s, want {want} ±{:.0}%",
                    tolerance * 100.0
                );
            } else {
                panic!("{at}: a step needs one action key (see tests/cases/README.md)");
            }
        }
    }

    /// The `promote_replica` step: the replica has everything (unless it stopped
    /// replicating), the source is killed, the replica is promoted and becomes the case's
    /// source and the task file's `[source]`.
    fn promote_replica(&self, at: &str) {
        let (r, replicating) =
            self.replica.lock().unwrap().take().unwrap_or_else(|| panic!("{at}: promote_replica needs replica = true"));
        let SourceBox::Own(m) = &self.source else { unreachable!("replica = true gives the case its own source") };
        let mut source = m.lock().unwrap_or_else(|p| p.into_inner());
        // A planned switchover: writes on the source wait from here until it is gone (then
        // the writer reconnects, to the replica), so the replica has all it ever logged.
        let _frozen = replicating.then(|| {
            let mut c = source.root_conn().unwrap_or_else(|e| panic!("{at}: {e}"));
            c.query_drop("FLUSH TABLES WITH READ LOCK").unwrap_or_else(|e| panic!("{at}: freezing the source: {e}"));
            c
        });
        if replicating {
            r.wait_replicated(&source, Duration::from_secs(60)).unwrap_or_else(|e| panic!("{at}: {e}"));
        }
        // The old primary is gone for good: killed while its writes are held (a clean shutdown
        // would let a held write commit first).
        source.crash();
        r.promote().unwrap_or_else(|e| panic!("{at}: {e}"));
        let (old_port, new_port) = (source.port(), r.port());
        drop(std::mem::replace(&mut *source, r));
        let text = std::fs::read_to_string(&self.task_file).unwrap();
        let moved = text.replace(&format!("port = {old_port}\n"), &format!("port = {new_port}\n"));
        assert_ne!(moved, text, "{at}: the task file names no `port = {old_port}` to point at the replica");
        std::fs::write(&self.task_file, moved).unwrap();
        dts_testkit::password_file(&self.task_file.with_file_name("source.pw"), source.password().expose()).unwrap();
    }

    /// `during.sql` on the source, then `during.sh` (placeholders filled) with bash.
    fn during(&self) {
        self.source_sql("during.sql");
        let Ok(text) = std::fs::read_to_string(self.case.dir.join("during.sh")) else { return };
        let script = self.task_file.with_file_name("during.sh");
        std::fs::write(&script, self.fill(&text)).unwrap();
        let out = Command::new("bash").arg(&script).output().unwrap();
        let all = self.output_text(&out);
        for s in &self.secrets {
            assert!(!all.contains(s.as_str()), "a password is in the output of during.sh:\n{all}");
        }
        assert!(out.status.success(), "during.sh: exit {:?}\n{all}", out.status.code());
    }

    /// [`Self::during`] with a `run` connected throughout; the run must not have stopped.
    fn during_while_running(&self) {
        let log = self.task_file.with_file_name("run-while-during.log");
        let mut child = self
            .command("run", &self.case.spec.run_args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(500));
        self.during();
        std::thread::sleep(Duration::from_millis(1000));
        let exited = child.try_wait().unwrap();
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if exited.is_none() {
            kill_9(&mut child);
        }
        assert!(exited.is_none(), "the run stopped during during.sql/during.sh ({exited:?}):\n{text}");
    }

    /// `writer.sql` on the source again and again until `stop`, `{i}` the round (1, 2, ...);
    /// a statement the source refuses (a key collision) is skipped, as a client would.
    fn writer(&self, stop: &AtomicBool) {
        self.writer_on(stop, "writer.sql", false)
    }

    /// A writer of `file` on the source, or on the destination (a two-way case: the database of
    /// the same name there).
    fn writer_on(&self, stop: &AtomicBool, file: &str, destination: bool) {
        let text = std::fs::read_to_string(self.case.dir.join(file)).unwrap();
        let stmts = statements(&self.fill(&text));
        let connect = || -> Option<mysql::Conn> {
            let server = if destination { self.destination.get() } else { self.source.get() };
            let mut c = server.conn().ok()?;
            c.query_drop(format!("USE {}", self.db.quoted())).ok()?;
            Some(c)
        };
        let mut c = connect();
        let mut i = 0u64;
        while !stop.load(Ordering::Relaxed) {
            // A `restart` step takes the source away: reconnect, as a client would.
            let Some(conn) = c.as_mut() else {
                std::thread::sleep(Duration::from_millis(100));
                c = connect();
                continue;
            };
            i += 1;
            for s in &stmts {
                if let Err(e) = conn.query_drop(s.replace("{i}", &i.to_string()))
                    && !matches!(e, mysql::Error::MySqlError(_))
                {
                    c = None;
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Independent of the tool: every selected source table against its destination table,
    /// by row digest (the selected columns, the filter's rows), the destination's tables and
    /// columns exactly the mapped ones.
    fn compare_tables(&self) {
        let mut src = self.source.get().exact_conn().unwrap();
        let mut dst = self.destination.get().exact_conn().unwrap();
        // The task as it stands: with the renames it followed.
        let config = Config::load(&self.task_file).unwrap().with_followed_renames(&mut dst).unwrap();
        let columns = |c: &mut mysql::Conn, db: &str| -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
            let rows: Vec<(String, String)> = c
                .exec(
                    "SELECT c.TABLE_NAME, c.COLUMN_NAME FROM information_schema.COLUMNS c \
                     JOIN information_schema.TABLES t USING (TABLE_SCHEMA, TABLE_NAME) \
                     WHERE c.TABLE_SCHEMA = ? AND t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') \
                     AND IFNULL(c.GENERATION_EXPRESSION, '') NOT IN ('ROW START', 'ROW END') \
                     ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION",
                    (db,),
                )
                .unwrap();
            let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (t, col) in rows {
                tables.entry(t).or_default().push(col);
            }
            [(db.to_string(), tables)].into()
        };
        let catalog = columns(&mut src, self.db.as_str());
        let mapped = config.selection.mapped(&catalog);
        let mut expected_tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut checked: Vec<String> = Vec::new();
        for m in &mapped {
            let (sdb, st) = (m.source.database.as_str(), m.source.table.as_str());
            let (tdb, tt) = (m.target.database.as_str(), m.target.table.as_str());
            expected_tables.entry(tdb.to_string()).or_default().push(tt.to_string());
            let pairs = m.columns.columns.clone().unwrap_or_default();
            let (scols, tcols): (Vec<String>, Vec<String>) = pairs.into_iter().unzip();
            let dest = columns(&mut dst, tdb);
            let got = dest.get(tdb).and_then(|t| t.get(tt)).cloned().unwrap_or_default();
            assert_eq!(got, tcols, "the columns of {tdb}.{tt}");
            let list = |cols: &[String]| cols.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ");
            // The filter as the case wrote it (the tool sends the SQL it renders from it).
            let written =
                config.raw.objects.iter().filter(|o| o.database == sdb).flat_map(|o| o.tables.iter().flatten());
            let written = written.filter(|t| t.name == st).find_map(|t| t.filter.clone());
            let filter = written.or(m.filter.clone()).map(|f| format!(" WHERE {f}")).unwrap_or_default();
            let sq = format!("SELECT {} FROM {}.{}{filter}", list(&scols), quote_ident(sdb), quote_ident(st));
            let dq = format!("SELECT {} FROM {}.{}", list(&tcols), quote_ident(tdb), quote_ident(tt));
            let s = RowDigest::of_query(&mut src, &sq).unwrap_or_else(|e| panic!("{sq}: {e}"));
            let d = RowDigest::of_query(&mut dst, &dq).unwrap_or_else(|e| panic!("{dq}: {e}"));
            assert_eq!(s, d, "{sdb}.{st} (source: {s}) and {tdb}.{tt} (destination: {d}) differ");
            if let Some(min) = self.case.spec.min_rows.get(st) {
                assert!(s.rows > *min, "{sdb}.{st}: {} rows selected, expected more than {min}", s.rows);
            }
            checked.push(st.to_string());
        }
        assert!(!checked.is_empty(), "the task selects no table of {}", self.db);
        let triggers = |c: &mut mysql::Conn, db: &str| -> Vec<String> {
            c.exec("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?", (db,)).unwrap()
        };
        let source_triggers = triggers(&mut src, self.db.as_str());
        for tdb in expected_tables.keys() {
            let extra: Vec<String> =
                triggers(&mut dst, tdb).into_iter().filter(|t| !source_triggers.contains(t)).collect();
            assert!(extra.is_empty(), "triggers on the destination's {tdb} the source does not have: {extra:?}");
        }
        for (tdb, mut want) in expected_tables {
            let mut have: Vec<String> = columns(&mut dst, &tdb).remove(&tdb).unwrap_or_default().into_keys().collect();
            have.retain(|t| !self.case.spec.stale_destination_tables.contains(t));
            want.sort();
            have.sort();
            assert_eq!(have, want, "the tables of {tdb} on the destination");
        }
        for (table, want) in &self.case.spec.columns {
            let m = mapped.iter().find(|m| m.target.table.as_str() == table.as_str());
            let m = m.unwrap_or_else(|| panic!("columns: no destination table {table} in the task"));
            let tdb = m.target.database.as_str();
            let have = columns(&mut dst, tdb).remove(tdb).and_then(|mut t| t.remove(table.as_str()));
            assert_eq!(have.as_ref(), Some(want), "the columns of {tdb}.{table}");
        }
        for t in self.case.spec.min_rows.keys() {
            assert!(checked.contains(t), "min_rows: the task selects no table {t}");
        }
    }

    /// The tool agrees: `dts-sync verify` finds no difference.
    fn check_verify(&self) {
        let out = self.dts_sync("verify", &["--json".to_string()]);
        let all = self.output_text(&out);
        assert_eq!(out.status.code(), Some(0), "verify\n{all}");
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {all}"));
        assert_eq!(j["differences"], 0, "{all}");
    }

    fn check_status(&self) {
        let st = self.status();
        let expect = &self.case.spec.status;
        if let Some(phase) = &expect.phase {
            assert_eq!(st["phase"], phase.as_str(), "{st}");
        }
        let at = |path: &str| {
            path.split('.').fold(&st, |v, k| match k.parse::<usize>() {
                Ok(i) => &v[i],
                Err(_) => &v[k],
            })
        };
        for path in &expect.nonzero {
            let v = at(path);
            assert!(v.as_u64().is_some_and(|n| n > 0), "{path} is {v}: {st}");
        }
        for (path, bound) in &expect.at_most {
            let v = at(path);
            assert!(v.as_f64().is_some_and(|n| (0.0..=*bound).contains(&n)), "{path} is {v}, not in 0..={bound}: {st}");
        }
        for (path, other) in &expect.equal {
            let (v, w) = (at(path), at(other));
            assert!(v.is_number() && v == w, "{path} is {v}, {other} is {w}: {st}");
        }
        for (path, text) in &expect.contains {
            let v = at(path);
            assert!(
                v.as_str().is_some_and(|s| s.contains(text.as_str())),
                "{path} is {v}, not containing {text:?}: {st}"
            );
        }
        if st["phase"] == "incremental" {
            // Other cases write on the shared source, so it may be ahead again: the lag is measured.
            assert!(st["checkpoint"].is_string() && st["lag_bytes"].is_u64(), "{st}");
            // Checked again after it ran, the task is a resumed one: its own tables are no conflict.
            let pre = self.ok("precheck", &["--json"]);
            assert!(pre.contains("\"passed\": true") && pre.contains("checkpoint_binlog"), "{pre}");
        }
    }
}

/// A SQL file's text with each `-- include: FILE` line replaced by that file's text (relative
/// to the including file's folder), so a shared sequence can be split without copying it.
fn with_includes(path: &Path, text: &str) -> String {
    let dir = std::fs::canonicalize(path).ok().and_then(|p| p.parent().map(Path::to_path_buf)).unwrap_or_default();
    text.lines()
        .map(|line| match line.trim().strip_prefix("-- include:") {
            Some(file) => {
                let included = dir.join(file.trim());
                let inner = std::fs::read_to_string(&included)
                    .unwrap_or_else(|e| panic!("{}: include {}: {e}", path.display(), included.display()));
                with_includes(&included, &inner)
            }
            None => format!("{line}\n"),
        })
        .collect()
}

/// The statements of a SQL file: each ends with `;` at the end of a line; `--` lines are
/// comments.
/// The value at a dotted path (array items by index) of a JSON document.
fn json_at<'a>(j: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    path.split('.').fold(j, |v, k| match k.parse::<usize>() {
        Ok(i) => &v[i],
        Err(_) => &v[k],
    })
}

fn statements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with("--") {
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
        if t.ends_with(';') {
            out.push(cur.trim().trim_end_matches(';').trim_end().to_string());
            cur.clear();
        }
    }
    assert!(cur.trim().is_empty(), "a statement without its closing `;`: {cur}");
    out
}

/// Sets its flag when dropped, also while unwinding from a failed assertion.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The background runs of `[[steps]]`: killed when the steps end (or fail).
struct Background(BTreeMap<String, Child>);

impl Drop for Background {
    fn drop(&mut self) {
        for child in self.0.values_mut() {
            let _ = Command::new("kill").arg("-CONT").arg(child.id().to_string()).status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn kill_9(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}
