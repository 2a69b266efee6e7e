//! Prints the GTID state a binlog file reaches (PREVIOUS_GTIDS / GTID_LIST plus its GTIDs).
//!
//! cargo run -p dts-binlog --example gtid_state -- FILE

fn main() {
    let path = std::env::args().nth(1).expect("usage: gtid_state FILE");
    let mut r = dts_binlog::BinlogReader::open_file(
        &path,
        dts_binlog::ReaderParts { positional_names: true, ..Default::default() },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for item in r.by_ref() {
        if let Err(e) = item {
            eprintln!("stopped: {e}");
            break;
        }
    }
    match r.gtid_state() {
        Some(g) => println!("{g}"),
        None => println!("(no GTID state)"),
    }
}
