//! Tails a live source's binlog and prints its row changes, one line each, with the
//! transactions and statements around them: what a service embedding dts-binlog starts from.
//!
//! DTS_PASSWORD=... cargo run -p dts-binlog --example tail_binlog -- HOST PORT USER FILE:OFFSET [--follow]
//!
//! Without `--follow` it stops at the end of the source's binlog. The password comes from the
//! environment so it is never on a command line.

use dts_binlog::{BinlogReader, Item, ReaderParts, ReplicaOptions, StartPosition};
use dts_types::{RowChange, TableSchema, Value};

/// The replica server_id to register with: any id no other replica of the source uses.
const SERVER_ID: u32 = 4_000_000_001;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: tail_binlog HOST PORT USER FILE:OFFSET [--follow]  (password in DTS_PASSWORD)");
        std::process::exit(2);
    }
    let (Ok(port), Ok(start)) = (args[2].parse::<u16>(), args[4].parse()) else {
        eprintln!("tail_binlog: PORT must be a number and the start FILE:OFFSET");
        std::process::exit(2);
    };
    let source = mysql::OptsBuilder::new()
        .ip_or_hostname(Some(args[1].clone()))
        .tcp_port(port)
        .user(Some(args[3].clone()))
        .pass(std::env::var("DTS_PASSWORD").ok())
        .prefer_socket(false);
    let mut options = ReplicaOptions::new(SERVER_ID, StartPosition::File(start));
    options.stop_at_end = !args.iter().any(|a| a == "--follow");

    if let Err(e) = tail(source.into(), options) {
        eprintln!("tail_binlog: {e}");
        std::process::exit(1);
    }
}

fn tail(source: mysql::Opts, options: ReplicaOptions) -> Result<(), dts_binlog::BinlogError> {
    for item in BinlogReader::connect(source, options, ReaderParts::default())? {
        match item? {
            Item::Begin(_) => println!("BEGIN"),
            Item::Row(c) => match &c.change {
                RowChange::Insert { after } => println!("INSERT {} {}", c.table.id, row(&c.table, after)),
                RowChange::Update { before, after } => {
                    println!("UPDATE {} {} -> {}", c.table.id, row(&c.table, before), row(&c.table, after))
                }
                RowChange::Delete { before } => println!("DELETE {} {}", c.table.id, row(&c.table, before)),
            },
            Item::Statement(s) => println!("STATEMENT {}", s.sql_lossy()),
            Item::Commit(at) => println!("COMMIT {at}"),
            Item::Heartbeat(_) => {}
        }
    }
    Ok(())
}

/// `(id=1, name=_utf8mb4'a')`: every column with its value as the exact SQL literal.
fn row(table: &TableSchema, values: &[Value]) -> String {
    let cols = table.columns.iter().zip(values).map(|(c, v)| {
        let literal = v.to_sql_literal().unwrap_or_else(|e| format!("<{e}>"));
        format!("{}={literal}", c.name)
    });
    format!("({})", cols.collect::<Vec<_>>().join(", "))
}
