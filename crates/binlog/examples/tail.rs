//! Reads a live source's binlog from FILE:OFFSET and prints the items: for inspection.
//!
//! DTS_PASSWORD=... cargo run -p dts-binlog --example tail -- HOST PORT USER FILE:OFFSET [--follow]

use dts_binlog::{BinlogReader, ReaderParts, ReplicaOptions, StartPosition};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 5 {
        eprintln!("usage: tail HOST PORT USER FILE:OFFSET [--follow]  (password in DTS_PASSWORD)");
        std::process::exit(2);
    }
    let opts = mysql::OptsBuilder::new()
        .ip_or_hostname(Some(a[1].clone()))
        .tcp_port(a[2].parse().expect("PORT"))
        .user(Some(a[3].clone()))
        .pass(std::env::var("DTS_PASSWORD").ok())
        .prefer_socket(false);
    let mut o = ReplicaOptions::new(4_000_000_001, StartPosition::File(a[4].parse().expect("FILE:OFFSET")));
    o.stop_at_end = !a.iter().any(|x| x == "--follow");
    match BinlogReader::connect(opts.into(), o, ReaderParts::default()) {
        Err(e) => eprintln!("error: {e}"),
        Ok(r) => {
            for item in r {
                match item {
                    Ok(i) => println!("{i:?}"),
                    Err(e) => {
                        eprintln!("error: {e}");
                        std::process::exit(1);
                    }
                }
            }
        }
    }
}
