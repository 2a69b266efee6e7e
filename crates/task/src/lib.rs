//! A dts-sync task: its configuration file, and the pipeline that runs it — precheck, schema
//! sync, full sync, then incremental sync from the binlog — resumable from its state in the
//! destination's metadata database after any stop or crash.
//!
//! This is the whole product without the binary: a service embeds a task by loading a
//! [`Config`] and calling [`run`] on a thread of its own. The task never prints, handles signals
//! or serves HTTP; the service stops it through [`RunOptions::stop`] (at the next transaction
//! boundary) and reads its progress from the shared counters in [`RunOptions`] or with
//! [`read_status`].
//!
//! # Example
//!
//! Run a task until it has caught up with its source (`crates/task/examples/embed_task.rs` is
//! the whole program):
//!
//! ```no_run
//! use std::path::Path;
//!
//! let config = dts_task::Config::load(Path::new("task.toml"))?;
//! let options = dts_task::RunOptions { exit_when_caught_up: true, ..Default::default() };
//! let report = dts_task::run(&config, &options)?;
//! println!("copied {} rows; now in phase {:?}", report.full_rows, report.phase);
//! print!("{}", dts_task::read_status(&config)?.to_text());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod config;
mod continuous;
mod cutover;
mod filter;
mod heartbeat;
mod history;
mod input;
mod input_totals;
mod late_tables;
pub mod lease;
pub mod lifecycle;
mod plan;
pub mod recopy;
mod router;
mod run;
mod sequences;
mod snapshots;
mod source_identity;
mod source_switch;
mod state;
mod statement_text;
mod statement_writes;
mod status;
mod translator_state;
mod two_way;
mod verify;
mod versioned;

pub use config::{Config, ConfigError};
pub use continuous::Counters as VerifyCounters;
pub use cutover::{CutoverReport, cutover};
pub use filter::{EvalError, Evaluator, Filter, FilterError};
pub use input::{BinlogInput, InputStats, SourceError};
pub use plan::{plan as schema_plan, render as render_plan};
pub use router::{Routed, RoutedStatement, Router};
pub use run::{CurrentPhase, RateLimits, RunOptions, RunReport, SchemaProgress, TaskError, precheck_now, run};
pub use state::{Counters as TaskCounters, Phase};
pub use status::{Status, TableStatus, read as read_status};
pub use verify::{verify, verify_apply};
