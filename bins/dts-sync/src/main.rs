//! `dts-sync`: keeps a destination MySQL/MariaDB server in sync with a source — schema, full
//! data, then incremental changes from the binlog.
//!
//! This binary only composes the workspace crates (the task pipeline is `dts-task`): it parses
//! the command line, sets up logging and signals, prints, and maps outcomes to exit codes:
//! 0 success, 1 a failed check, a difference or a failed task, 2 bad usage or config.

mod alert_command;
mod alert_webhook;
mod cli_docs;
#[cfg(feature = "demo")]
mod demo;
mod http;
mod human;
mod init;
mod logging;
mod metrics;
mod monitor;
mod private_file;
mod progress;
mod progress_view;
mod status_page;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use dts_task::Config;
use dts_types::describe;

#[derive(Parser, Debug)]
#[command(name = "dts-sync", version, about, long_about = None, after_help = AFTER_HELP)]
struct Cli {
    /// How log lines are written to stderr: text, or one JSON object per line (timestamp,
    /// level, target, message and the event's fields).
    #[arg(long, global = true, value_enum, default_value_t = logging::LogFormat::Text, env = "DTS_LOG_FORMAT")]
    log_format: logging::LogFormat,
    /// The most detailed level logged (DTS_LOG=module=level,... adds per-module filters that
    /// win over it).
    #[arg(long, global = true, value_enum, default_value_t = logging::LogLevel::Info, env = "DTS_LOG_LEVEL")]
    log_level: logging::LogLevel,
    #[command(subcommand)]
    command: Command,
}

/// The end of `dts-sync --help` (and the man page's notes): where to start, the exit status.
const AFTER_HELP: &str = "\
Start with `dts-sync init task.toml`: it writes a commented task file with every key, what it
means and its default. Fill in the servers, then `dts-sync precheck --config task.toml` and
`dts-sync run --config task.toml`. `dts-sync COMMAND --help` tells what each command does.

Exit status: 0 done (never after giving up); 1 a failed check, a difference or a failed task;
2 bad usage or a bad task file (the message names the key and the fix).";

#[derive(Args, Debug)]
struct ConfigArg {
    /// The task file (TOML; `dts-sync init` writes a commented one).
    #[arg(long, short)]
    config: PathBuf,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check everything the task needs (connectivity, versions, privileges, binlog settings,
    /// objects, the destination) and print each item with its fix.
    ///
    /// Exits 0 when every check passes (warnings acknowledged with --ignore or
    /// `[precheck] acknowledge`), 1 when one fails or a warning is not acknowledged.
    Precheck {
        #[command(flatten)]
        config: ConfigArg,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Acknowledge a warning by its id (repeatable).
        #[arg(long = "ignore", value_name = "ID")]
        ignore: Vec<String>,
    },
    /// Run or resume the task: precheck, schema sync, full sync, then incremental sync until
    /// stopped (SIGINT/SIGTERM stop it cleanly at a transaction boundary).
    ///
    /// One runner per task: a second `run` of the same task (on any machine) exits 1 while the
    /// first holds the task's lease on the destination. SIGHUP re-reads the rate limits. Exits 0
    /// when stopped cleanly (or caught up, with --exit-when-caught-up), 1 when the task failed
    /// (the message names the object and the fix; an alert is sent if configured).
    Run {
        #[command(flatten)]
        config: ConfigArg,
        /// Exit 0 once everything the source had committed when incremental sync started is
        /// applied (for a task without incremental sync: once full sync is done).
        #[arg(long)]
        exit_when_caught_up: bool,
        /// Acknowledge a precheck warning by its id (repeatable).
        #[arg(long = "ignore", value_name = "ID")]
        ignore: Vec<String>,
    },
    /// Print the DDL schema sync would run and every object of the selected databases it would
    /// leave out, with the reason, without writing to either server.
    Plan {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// At cut-over, with the task stopped: enable the events the source has enabled (the task
    /// creates them disabled) and create the triggers (`triggers = "at_cutover"`) or replace
    /// their guarded copies (`triggers = "guarded"`) with the source's bodies.
    ///
    /// Prints each statement it ran. Exits 1 without changing anything while the task's
    /// heartbeat still moves (stop the task first).
    Cutover {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Show the task's phase, per-table progress, position, lag and last error.
    ///
    /// Read from the destination's meta database, so it works from any machine, running or not.
    Status {
        #[command(flatten)]
        config: ConfigArg,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Compare the task's objects on source and destination; exit 1 on any difference.
    ///
    /// Exits 0 when identical, 1 on any difference (each one printed) or when a server cannot
    /// be read.
    Verify {
        #[command(flatten)]
        config: ConfigArg,
        /// Print the report as JSON (its fields: --help).
        ///
        /// One JSON object: `version` (1), `identical`, `differences`,
        /// `unsettled`, the row totals, `tables` (per table its `source` and `target`, `schema`
        /// differences and `schema_repair` ALTERs, counts, and its `missing`, `extra` and
        /// `different` rows, each with its `key` and `repair` statement) and, with --apply,
        /// `apply` (`alters`, `repaired` per table, `refused` with the reasons).
        #[arg(long)]
        json: bool,
        /// Write the SQL that repairs the destination to this file (mode 0600: it holds row data).
        #[arg(long, value_name = "FILE")]
        repair_sql: Option<PathBuf>,
        /// Repair the destination now, also while the task runs (what is unsafe is refused and
        /// named); exit 0 when everything found was repaired.
        #[arg(long)]
        apply: bool,
    },
    /// Ask the running task to stop at its next transaction boundary; exits 0 once it stopped.
    Stop {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Forget everything the task keeps (its rows in the meta database, its heartbeat row on
    /// the source, its schema-history shadow databases), so the next `run` starts afresh.
    /// Refuses while the task runs. The synced data stays.
    ///
    /// Without --yes it does nothing and exits 2; while the task runs it refuses and exits 1.
    Reset {
        #[command(flatten)]
        config: ConfigArg,
        /// Confirm the reset.
        #[arg(long)]
        yes: bool,
    },
    /// Copy tables again from the source's current definition (the destination table is
    /// re-created) and hand them back to incremental sync exactly: the recovery when a table
    /// changed during its full copy. Refuses while the task runs.
    ///
    /// Exits 0 once every table named is copied and handed over, 1 if one could not be (the
    /// message names it), or while the task runs.
    Recopy {
        #[command(flatten)]
        config: ConfigArg,
        /// The tables, by their source names.
        #[arg(value_name = "DB.TABLE", required = true)]
        tables: Vec<String>,
    },
    /// Print the effective task: the task file with every default filled in, secrets redacted.
    #[command(name = "config")]
    ShowConfig {
        #[command(flatten)]
        config: ConfigArg,
        /// Print JSON instead of TOML.
        #[arg(long)]
        json: bool,
    },
    /// Start a throwaway source and destination MariaDB on this machine, load sample data, run
    /// a task under a live write workload and verify the result. Needs mariadb-server
    /// installed; the servers and their data are removed when the demo ends.
    #[cfg(feature = "demo")]
    Demo(demo::DemoArgs),
    /// Write a commented task file to start from (every section, what each key means, its
    /// default): fill in the servers and what to sync.
    ///
    /// Refuses to overwrite an existing file (exit 2) unless --force.
    Init {
        /// Where to write it (`-`: to stdout).
        #[arg(value_name = "PATH", default_value = "task.toml")]
        path: PathBuf,
        /// Overwrite the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Print the shell completion script for SHELL to stdout.
    ///
    /// bash: `dts-sync completions bash > /etc/bash_completion.d/dts-sync`;
    /// zsh: into a directory of $fpath as `_dts-sync`; fish: `~/.config/fish/completions/dts-sync.fish`.
    Completions {
        /// The shell.
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout.
    ///
    /// `dts-sync man > /usr/local/share/man/man1/dts-sync.1`, or read it now with
    /// `dts-sync man | man -l -`.
    Man,
}

fn load(c: &ConfigArg) -> Result<Config, ExitCode> {
    Config::load(&c.config).map_err(|e| {
        logging::say(describe::chain(&e));
        ExitCode::from(2)
    })
}

/// Prints a message and exits 1.
fn fail(message: impl std::fmt::Display) -> ExitCode {
    logging::say(message);
    ExitCode::from(1)
}

/// Prints an error with its whole cause chain, in words, and exits 1.
fn fail_with(context: &str, e: &(dyn std::error::Error + 'static)) -> ExitCode {
    let chain = describe::chain(e);
    if context.is_empty() { fail(chain) } else { fail(format!("{context}: {chain}")) }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format, cli.log_level);
    match cli.command {
        // `-`: the template on stdout (for a pipe or a config system), nothing else there.
        Command::Init { path, .. } if path.as_os_str() == "-" => {
            print!("{}", init::TEMPLATE);
            ExitCode::SUCCESS
        }
        Command::Init { path, force } => match init::write(&path, force) {
            Ok(()) => {
                print!("{}", init::next_steps(&path));
                ExitCode::SUCCESS
            }
            Err(e @ init::InitError::Exists(_)) => {
                eprintln!("dts-sync: {e}");
                ExitCode::from(2)
            }
            Err(e) => fail_with("init", &e),
        },
        Command::Completions { shell } => {
            match cli_docs::completions(shell, <Cli as clap::CommandFactory>::command(), &mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(format!("cannot write the completion script: {e}")),
            }
        }
        Command::Man => match cli_docs::man(<Cli as clap::CommandFactory>::command(), &mut std::io::stdout()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(format!("cannot write the manual page: {e}")),
        },
        #[cfg(feature = "demo")]
        Command::Demo(args) => match demo::run(&args) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => fail_with("demo", e.as_ref()),
        },
        Command::Precheck { config, json, ignore } => {
            let config = match load(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let mut report = dts_precheck::run(&dts_task::precheck_now(&config));
            if let Err(e) = config.acknowledge(&mut report, &ignore) {
                eprintln!("dts-sync: {e}");
                return ExitCode::from(2);
            }
            print!("{}", if json { report.to_json() + "\n" } else { report.to_table() });
            if report.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Command::Run { config, exit_when_caught_up, ignore } => {
            let config = match load(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let stop = Arc::new(AtomicBool::new(false));
            let in_incremental = Arc::new(AtomicBool::new(false));
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                if let Err(e) = signal_hook::flag::register(sig, stop.clone()) {
                    return fail(format!("cannot handle signals: {e}"));
                }
            }
            let lease = Arc::new(dts_task::lease::LeaseSignals::default());
            let limits = Arc::new(dts_task::RateLimits::default());
            if let Err(e) = reload_on_sighup(&config, limits.clone()) {
                return fail(format!("cannot handle signals: {e}"));
            }
            let copy_progress = Arc::new(dts_fullcopy::Progress::default());
            let input_stats = Arc::new(dts_task::InputStats::default());
            let verify_counters = Arc::new(dts_task::VerifyCounters::default());
            let precheck = Arc::new(std::sync::Mutex::new(None));
            if let Err(e) = monitor::start(&config, copy_progress.clone(), input_stats.clone(), precheck.clone()) {
                eprintln!("dts-sync: {e}");
                return ExitCode::from(2);
            }
            let schema_progress = Arc::new(dts_task::SchemaProgress::default());
            let phase = Arc::new(dts_task::CurrentPhase::default());
            let shown = progress::Display::start(
                &config,
                progress::Sources {
                    schema: schema_progress.clone(),
                    copy: copy_progress.clone(),
                    input: input_stats.clone(),
                    phase: phase.clone(),
                },
            );
            watch_stop_outside_incremental(&config, stop.clone(), in_incremental.clone(), lease.clone(), shown.clone());
            let o = dts_task::RunOptions {
                exit_when_caught_up,
                acknowledged: ignore,
                stop,
                in_incremental,
                copy_progress,
                input_stats,
                verify_counters,
                schema_progress,
                phase,
                lease,
                limits,
                precheck,
                echo_probe: Default::default(),
            };
            let result = dts_task::run(&config, &o);
            let how = match &result {
                Ok(r) if r.stopped_by_request => "stopped",
                Ok(_) => "done",
                Err(_) => "failed",
            };
            let summary = shown.finish(how);
            match result {
                Ok(r) => {
                    tracing::info!(
                        phase = r.phase.map(|p| p.as_str()).unwrap_or("?"),
                        stopped = r.stopped_by_request,
                        "task {} stopped cleanly {summary}",
                        config.name()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    tracing::info!("task {} ended {summary}", config.name());
                    let chain = describe::chain(&e);
                    // Not a failure to page for: warnings nobody acknowledged yet (a decision,
                    // printed once, here) or another runner holding the task.
                    let not_a_failure = matches!(
                        e,
                        dts_task::TaskError::PrecheckUnacknowledged(_)
                            | dts_task::TaskError::Lease(dts_task::lease::LeaseError::AlreadyRunning { .. })
                    );
                    if !not_a_failure {
                        // Printed below: the alert only sends it.
                        let sent = monitor::send_alert(
                            &config,
                            "failure",
                            &format!("task {} stopped: {chain}", config.name()),
                        );
                        // Waited for, or the process would exit before the alert is out.
                        if sent.join().is_err() {
                            tracing::error!("the alert thread panicked");
                        }
                    }
                    fail(chain)
                }
            }
        }
        Command::Plan { config } => {
            let config = match load(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match dts_task::schema_plan(&config) {
                Ok(plan) => {
                    print!("{}", dts_task::render_plan(&plan));
                    ExitCode::SUCCESS
                }
                Err(e) => fail_with("plan", &e),
            }
        }
        Command::Cutover { config } => {
            let config = match load(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match dts_task::cutover(&config) {
                Ok(r) => {
                    for s in &r.statements {
                        println!("{s};");
                    }
                    println!("-- cut-over done: {} statement(s) run on the destination", r.statements.len());
                    ExitCode::SUCCESS
                }
                Err(e) => fail_with("cutover", &e),
            }
        }
        Command::Stop { config } => {
            let config = match load(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            // Long enough for a transaction boundary and the lease's own end.
            let wait = config.lease_period() + Duration::from_secs(30);
            match dts_task::lifecycle::stop(&config, wait) {
                Ok(Some(h)) => {
                    println!(
                        "task {} stopped (it ran on host {}, pid {}, since {})",
                        config.name(),
                        h.host,
                        h.pid,
                        h.since
                    );
                    ExitCode::SUCCESS
                }
                Ok(None) => {
                    println!("task {} is not running", config.name());
                    ExitCode::SUCCESS
                }
                Err(e) => fail_with("stop", &e),
            }
        }
        Command::Reset { config, yes } => {
            let config = match load(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            if !yes {
                eprintln!(
                    "dts-sync: reset forgets everything task {} keeps (its checkpoints, copy progress and schema history); add --yes to confirm",
                    config.name()
                );
                return ExitCode::from(2);
            }
            match dts_task::lifecycle::reset(&config) {
                Ok(r) => {
                    for (t, n) in &r.meta_rows {
                        println!("removed {n} rows of {t}");
                    }
                    for d in &r.shadow_databases {
                        println!("dropped the schema-history shadow database {d}");
                    }
                    if r.heartbeat_row {
                        println!("removed the heartbeat row on the source");
                    }
                    println!("task {} is reset: the next `run` starts it afresh", config.name());
                    ExitCode::SUCCESS
                }
                Err(e) => fail_with("reset", &e),
            }
        }
        Command::Recopy { config, tables } => {
            let config = match load(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match dts_task::recopy::recopy(&config, &tables) {
                Ok(done) => {
                    for r in &done {
                        println!(
                            "copied {} again: {} rows; incremental sync takes it over from {}",
                            r.table, r.rows, r.from
                        );
                    }
                    println!("`dts-sync run` goes on with the task");
                    ExitCode::SUCCESS
                }
                Err(e) => fail_with("recopy", &e),
            }
        }
        Command::ShowConfig { config, json } => {
            let config = match load(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            if json {
                let v = dts_task::lifecycle::effective(&config);
                println!("{}", serde_json::to_string_pretty(&v).expect("JSON renders"));
            } else {
                print!("{}", dts_task::lifecycle::effective_toml(&config));
            }
            ExitCode::SUCCESS
        }
        Command::Status { config, json } => {
            let config = match load(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match dts_task::read_status(&config) {
                Ok(s) => {
                    if json {
                        println!("{}", serde_json::to_string_pretty(&s).expect("status serializes"));
                    } else {
                        print!("{}", s.to_text());
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail_with("reading the task's status from the destination", &e),
            }
        }
        Command::Verify { config, json, repair_sql, apply } => {
            let config = match load(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match if apply { dts_task::verify_apply(&config) } else { dts_task::verify(&config) } {
                Ok(report) => {
                    print!("{}", if json { report.to_json() + "\n" } else { report.to_table() });
                    if let Some(path) = repair_sql
                        && let Err(e) = private_file::write(&path, &report.repair_sql())
                    {
                        return fail(format!("cannot write {}: {e}", path.display()));
                    }
                    let repaired = report.apply.as_ref().is_some_and(|a| a.refused.is_empty());
                    if report.differences() == 0 || repaired { ExitCode::SUCCESS } else { ExitCode::from(1) }
                }
                Err(e) => fail_with("verify", &e),
            }
        }
    }
}

/// SIGHUP: the rate limits are read again from the task file and applied at once; any other
/// key that changed is named in a WARN (it takes effect at the next `run`).
fn reload_on_sighup(config: &Config, limits: Arc<dts_task::RateLimits>) -> std::io::Result<()> {
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, hup.clone())?;
    let config = config.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(100));
            if !hup.swap(false, Ordering::SeqCst) {
                continue;
            }
            match dts_task::lifecycle::reload(&config, &limits) {
                Ok((reloaded, fixed)) => {
                    let (f, i) = (limits.copy.limits(), limits.apply.get());
                    tracing::info!(
                        changed = %if reloaded.is_empty() { "none".to_string() } else { reloaded.join(", ") },
                        full_qps = f.0, full_rows_per_sec = f.1, full_bytes_per_sec = f.2,
                        incremental_rows_per_sec = i.0, incremental_bytes_per_sec = i.1,
                        "SIGHUP: rate limits reloaded from {}", config.path.display()
                    );
                    for key in fixed {
                        tracing::warn!(
                            "SIGHUP: {key} changed in {} but cannot change while the task runs; it takes effect at the next `run`",
                            config.path.display()
                        );
                    }
                }
                Err(e) => tracing::warn!(
                    "SIGHUP: cannot reload the task file, the limits stay as they are: {}",
                    describe::chain(&e)
                ),
            }
        }
    });
    Ok(())
}

/// Schema and full sync cannot stop between statements of a chunk, but every chunk commits
/// whole with its done mark: stopping the process there is clean, and `run` resumes after the
/// last chunk committed. Incremental sync stops itself at a transaction boundary.
fn watch_stop_outside_incremental(
    config: &Config,
    stop: Arc<AtomicBool>,
    in_incremental: Arc<AtomicBool>,
    lease: Arc<dts_task::lease::LeaseSignals>,
    shown: Arc<progress::Display>,
) {
    let dest = config.destination.opts();
    let table = dts_task::lease::LeaseTable { task: config.name().to_string(), db: config.meta_db.clone() };
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(100));
            if stop.load(Ordering::Relaxed) && !in_incremental.load(Ordering::Relaxed) {
                let summary = shown.finish("stopped");
                if lease.lost.load(Ordering::SeqCst) {
                    // Nothing was committed after the loss: every commit checks the lease.
                    logging::say("another runner took over this task; this one stops without committing");
                    std::process::exit(1);
                }
                let epoch = lease.epoch.load(Ordering::SeqCst);
                if epoch > 0 {
                    // The lease expires by itself if the release does not reach the destination.
                    let _ = dts_task::lease::release(dest.clone(), &table, epoch);
                }
                logging::say(format!(
                    "stopped before incremental sync {summary}; `run` resumes from the last committed chunk"
                ));
                std::process::exit(0);
            }
        }
    });
}
