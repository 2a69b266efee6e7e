//! `dts-sync demo`: a source and a destination on this machine, ready for a sync task.

use std::error::Error;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use dts_testkit::{Sandbox, start_pair};
use mysql::prelude::Queryable;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Keep the servers running until interrupted (Ctrl-C), instead of stopping them at once.
    #[arg(long)]
    keep: bool,
    /// Rows the demo writes on the source.
    #[arg(long, default_value_t = 1000)]
    rows: u32,
}

pub fn run(args: &DemoArgs) -> Result<(), Box<dyn Error>> {
    eprintln!("starting a source and a destination MariaDB (throwaway, on 127.0.0.1)...");
    let pair = start_pair()?;
    let (src, dst) = (&pair.source, &pair.destination);

    let mut c = src.conn()?;
    c.query_drop("CREATE DATABASE IF NOT EXISTS demo")?;
    c.query_drop(
        "CREATE TABLE IF NOT EXISTS demo.accounts (
            id BIGINT UNSIGNED PRIMARY KEY, owner VARCHAR(64) NOT NULL,
            balance DECIMAL(20,4) NOT NULL, opened TIMESTAMP(6) NOT NULL)",
    )?;
    c.exec_batch(
        "INSERT INTO demo.accounts VALUES (?, ?, ?, FROM_UNIXTIME(1700000000 + ?))",
        (1..=args.rows).map(|i| (i, format!("owner-{i}"), format!("{i}.{:04}", i % 10_000), i)),
    )?;
    let (rows, gtid): (u64, String) =
        c.query_first("SELECT (SELECT COUNT(*) FROM demo.accounts), @@gtid_binlog_pos")?.ok_or("no answer")?;

    println!("{:<12} {:<17} {:>10} {:<8} {:<50} binlog", "server", "address", "server_id", "user", "password file");
    for (role, sb) in [("source", src), ("destination", dst)] {
        let mut c = sb.conn()?;
        let (log_bin, format, image, meta): (String, String, String, String) = c
            .query_first("SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata")?
            .ok_or("no answer")?;
        let ready = log_bin == "1" && format == "ROW" && image == "FULL" && meta == "FULL";
        if !ready {
            return Err(format!("{role}: binlog settings are not ready for sync: log_bin={log_bin} format={format} row_image={image} row_metadata={meta}").into());
        }
        println!(
            "{role:<12} {:<17} {:>10} {:<8} {:<50} ROW/FULL/FULL",
            format!("{}:{}", sb.host(), sb.port()),
            sb.server_id(),
            sb.user(),
            password_file(sb)?.display().to_string(),
        );
    }
    println!("source: {rows} rows in demo.accounts, GTID position {gtid}");
    println!("ready: both servers accept TCP logins and write ROW binlogs with full metadata");

    if args.keep {
        eprintln!("servers are up; press Ctrl-C to stop them and remove their data");
        loop {
            std::thread::park();
        }
    }
    eprintln!("stopping the servers and removing their data...");
    drop(pair);
    Ok(())
}

/// Writes the sandbox password to a file only its owner can read (inside the sandbox dir, which
/// goes away with the server), so it never appears on a terminal or in a process list.
fn password_file(sb: &Sandbox) -> std::io::Result<PathBuf> {
    let path = sb.dir().join("password");
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path)?;
    f.write_all(sb.password().expose().as_bytes())?;
    Ok(path)
}
