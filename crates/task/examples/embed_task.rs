//! Runs a dts-sync task from a Rust program instead of the `dts-sync` binary: load the task
//! file, run the phases on a thread of its own, stop it cleanly when the service wants to, and
//! read what it did.
//!
//! cargo run -p dts-task --example embed_task -- TASK.toml [--follow]
//!
//! Without `--follow` the task stops once it has caught up with the source (after its full copy,
//! for a task without incremental sync). With `--follow` it keeps syncing until its standard
//! input closes (Ctrl-D): the service's own shutdown, standing in for a signal handler.

use std::error::Error;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::Ordering;

use dts_task::{Config, RunOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: embed_task TASK.toml [--follow]");
        std::process::exit(2);
    };
    let follow = args.iter().any(|a| a == "--follow");

    let config = Config::load(Path::new(path)).unwrap_or_else(|e| fail(&e));
    let options = RunOptions { exit_when_caught_up: !follow, ..Default::default() };
    if follow {
        // Setting `stop` ends the task at the next transaction boundary; it resumes from there
        // the next time it runs.
        let stop = options.stop.clone();
        std::thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            stop.store(true, Ordering::Relaxed);
        });
    }

    let task = std::thread::spawn(move || dts_task::run(&config, &options).map(|report| (config, report)));
    let (config, report) = task.join().expect("the task thread panicked").unwrap_or_else(|e| fail(&e));

    println!("phase {}", report.phase.map_or("none", |p| p.as_str()));
    println!("schema statements {}", report.schema_statements);
    println!("rows copied {}", report.full_rows);
    if let Some(applied) = &report.apply {
        println!("transactions applied {}, row changes {}", applied.transactions, applied.row_changes);
    }
    // The same status `dts-sync status` prints, read from the task's metadata.
    match dts_task::read_status(&config) {
        Ok(status) => print!("{}", status.to_text()),
        Err(e) => fail(&e),
    }
}

/// Prints the error with its whole cause chain and exits.
fn fail(e: &(dyn Error + 'static)) -> ! {
    eprintln!("embed_task: {}", dts_types::describe::chain(e));
    std::process::exit(1);
}
