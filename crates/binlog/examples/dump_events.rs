//! Prints every event of a binlog file: type, size, position. For debugging and inspection.
//!
//! cargo run -p dts-binlog --example dump_events -- FILE

fn main() {
    let path = std::env::args().nth(1).expect("usage: dump_events FILE");
    let reader = dts_binlog::BinlogReader::open_file(
        &path,
        dts_binlog::ReaderParts { positional_names: true, ..Default::default() },
    );
    match reader {
        Err(e) => eprintln!("error: {e}"),
        Ok(r) => {
            for item in r {
                match item {
                    Ok(i) => println!("{i:?}"),
                    Err(e) => {
                        println!("error: {e}");
                        break;
                    }
                }
            }
        }
    }
}
