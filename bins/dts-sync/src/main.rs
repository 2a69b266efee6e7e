//! `dts-sync`: keeps a destination MySQL/MariaDB server in sync with a source — schema, full
//! data, then incremental changes from the binlog.
//!
//! This binary only composes the workspace crates; the work happens in them. Commands arrive
//! with their issues: `demo` starts local throwaway servers today.

mod demo;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "dts-sync", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start a throwaway source and destination MariaDB on this machine and show they are ready
    /// for sync (binlog on, ROW format, FULL row image and metadata). Needs mariadb-server
    /// installed; the servers and their data are removed when the demo ends.
    Demo(demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dts-sync: error: {e}");
            ExitCode::from(1)
        }
    }
}
