//! `dts-sync demo`: two throwaway servers on this machine, sample data on the source, a task
//! that syncs it (schema, full, incremental) while a writer keeps changing the source, and a
//! verification that ends it: the destination must be identical.

use std::error::Error;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dts_task::Config;
use dts_task::RunOptions;
use dts_testkit::{Sandbox, start_pair};
use mysql::prelude::Queryable;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Keep the servers running until interrupted (Ctrl-C) after the demo, instead of stopping
    /// them at once.
    #[arg(long)]
    keep: bool,
    /// Rows of sample data on the source.
    #[arg(long, default_value_t = 20_000)]
    rows: u32,
    /// Seconds the writer changes the source while the task runs.
    #[arg(long, default_value_t = 3)]
    write_seconds: u64,
}

/// Runs the demo; `Ok(false)` when the final verification found a difference.
pub fn run(args: &DemoArgs) -> Result<bool, Box<dyn Error>> {
    eprintln!("starting a source and a destination MariaDB (throwaway, on 127.0.0.1)...");
    let pair = start_pair()?;
    let (src, dst) = (&pair.source, &pair.destination);
    load_sample(src, args.rows)?;
    println!("source: {} rows in demo.accounts, {} in demo.orders", args.rows, args.rows * 2);
    let task = write_task(src, dst)?;
    println!("task file: {} (passwords in files next to it)", task.display());
    let config = Config::load(&task)?;

    // A writer changes the source while the task runs.
    let stop_writer = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, written, mut c, rows) = (stop_writer.clone(), written.clone(), src.conn()?, args.rows as u64);
        std::thread::spawn(move || -> Result<(), mysql::Error> {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let id = (i * 7919) % rows + 1;
                c.query_drop(format!("UPDATE demo.accounts SET balance = balance + 1.5 WHERE id = {id}"))?;
                c.query_drop(format!(
                    "INSERT INTO demo.orders (account, amount, note) VALUES ({id}, {}.25, 'live write {i}')",
                    i % 500
                ))?;
                if i.is_multiple_of(10) {
                    c.query_drop(format!("DELETE FROM demo.orders WHERE id = {}", i * 3))?;
                }
                written.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(())
        })
    };
    let started = Instant::now();
    let o = RunOptions { exit_when_caught_up: true, ..Default::default() };
    eprintln!("running the task (schema, full, incremental) while the writer changes the source...");
    let shown = crate::progress::Display::start(&config, crate::progress::Sources::of(&o));
    let r = dts_task::run(&config, &o);
    shown.finish(if r.is_ok() { "caught up" } else { "failed" });
    let r = r?;
    println!(
        "task caught up in {:.1} s: {} schema statements, {} rows copied, {} transactions applied",
        started.elapsed().as_secs_f64(),
        r.schema_statements,
        r.full_rows,
        r.apply.as_ref().map_or(0, |a| a.transactions)
    );
    let left = Duration::from_secs(args.write_seconds).saturating_sub(started.elapsed());
    std::thread::sleep(left);
    stop_writer.store(true, Ordering::Relaxed);
    writer.join().map_err(|_| "the writer panicked")??;
    println!("writer stopped after {} write transactions; catching up...", written.load(Ordering::Relaxed));
    let r = dts_task::run(&config, &o)?;
    println!("caught up: {} more transactions applied", r.apply.as_ref().map_or(0, |a| a.transactions));
    let status = dts_task::read_status(&config)?;
    print!("{}", status.to_text());
    println!("verifying source and destination...");
    let report = dts_task::verify(&config)?;
    print!("{}", report.to_table());
    let identical = report.identical();
    println!(
        "{}",
        if identical { "demo: the destination is identical to the source" } else { "demo: DIFFERENCES found" }
    );
    if args.keep {
        eprintln!("servers are up; press Ctrl-C to stop them and remove their data");
        loop {
            std::thread::park();
        }
    }
    eprintln!("stopping the servers and removing their data...");
    drop(pair);
    Ok(identical)
}

fn load_sample(src: &Sandbox, rows: u32) -> Result<(), Box<dyn Error>> {
    let mut c = src.conn()?;
    c.query_drop("CREATE DATABASE demo")?;
    c.query_drop(
        "CREATE TABLE demo.accounts (id BIGINT UNSIGNED PRIMARY KEY, owner VARCHAR(64) NOT NULL, \
         balance DECIMAL(20,4) NOT NULL, opened TIMESTAMP(6) NOT NULL, profile JSON NULL) DEFAULT CHARSET=utf8mb4",
    )?;
    c.query_drop(
        "CREATE TABLE demo.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, account BIGINT UNSIGNED NOT NULL, \
         amount DECIMAL(12,2) NOT NULL, note VARCHAR(200), KEY (account)) DEFAULT CHARSET=utf8mb4",
    )?;
    c.query_drop(format!(
        "INSERT INTO demo.accounts SELECT seq, CONCAT('owner-', seq, ' \u{2713}'), seq / 7, \
         FROM_UNIXTIME(1700000000 + seq), JSON_OBJECT('tier', seq % 3) FROM demo.seq_1_to_{rows}"
    ))?;
    c.query_drop(format!(
        "INSERT INTO demo.orders (account, amount, note) SELECT seq % {rows} + 1, seq % 1000 / 4, \
         CONCAT('order ', seq) FROM demo.seq_1_to_{}",
        rows * 2
    ))?;
    Ok(())
}

/// The task file and the password files, inside the source sandbox's directory (removed with
/// it), readable by their owner only.
fn write_task(src: &Sandbox, dst: &Sandbox) -> std::io::Result<PathBuf> {
    let dir = src.dir();
    let secret =
        |name: &str, sb: &Sandbox| -> std::io::Result<()> { private_file(&dir.join(name), sb.password().expose()) };
    secret("source.password", src)?;
    secret("destination.password", dst)?;
    let text = format!(
        r#"# The demo's task: everything in the demo database, synced whole.
[source]
host = "127.0.0.1"
port = {}
user = "{}"
password_file = "source.password"

[destination]
host = "127.0.0.1"
port = {}
user = "{}"
password_file = "destination.password"

[task]
name = "demo"
server_id = 4242

[[objects]]
database = "demo"

[full]
threads = 2
chunk_rows = 5000

[incremental]
workers = 2
"#,
        src.port(),
        src.user(),
        dst.port(),
        dst.user()
    );
    let path = dir.join("demo-task.toml");
    private_file(&path, &text)?;
    Ok(path)
}

fn private_file(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())
}
