//! Property test: mutated events never make the decoder panic.
//!
//! Every event of every fixture file is mutated many times (bytes flipped, cut short, grown,
//! sizes rewritten) and, so the mutation reaches the decoders behind the checksum, its CRC32 is
//! recomputed. The whole mutated stream is decoded and cut into transactions; any outcome but
//! a panic is fine.

mod common;

use dts_binlog::internals::Assembler;
use dts_binlog::internals::BinlogFile;
use dts_binlog::internals::Collations;
use dts_binlog::internals::Decoder;
use dts_binlog::internals::{self as event, HEADER_LEN};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn events_of(path: &std::path::Path) -> Vec<Vec<u8>> {
    let mut f = match BinlogFile::open(path) {
        Ok(f) => f,
        Err(_) => return Vec::new(),
    };
    let mut out = Vec::new();
    while let Ok(Some(ev)) = f.next_event() {
        out.push(ev.to_vec());
    }
    out
}

fn mutate(rng: &mut Rng, ev: &[u8]) -> Vec<u8> {
    let mut e = ev.to_vec();
    match rng.below(6) {
        0 => {
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(e.len());
                e[i] ^= 1 << rng.below(8);
            }
        }
        1 => e.truncate(rng.below(e.len())),
        2 => e.extend((0..rng.below(64)).map(|_| rng.next() as u8)),
        3 if e.len() > HEADER_LEN => {
            let i = HEADER_LEN + rng.below(e.len() - HEADER_LEN);
            e[i] = [0x00, 0xff, 0xfe, 0xfc, 0x80][rng.below(5)];
        }
        4 if e.len() >= HEADER_LEN => {
            let size = [0u32, 1, 19, 20, u32::MAX, e.len() as u32 + 1][rng.below(6)];
            e[9..13].copy_from_slice(&size.to_le_bytes());
        }
        _ => {
            let i = rng.below(e.len());
            e[i] = rng.next() as u8;
        }
    }
    // Keep the header's size and the CRC consistent most of the time, so decoding goes deep.
    if e.len() >= HEADER_LEN + 4 && rng.below(4) != 0 {
        let n = e.len() as u32;
        e[9..13].copy_from_slice(&n.to_le_bytes());
        let crc = event::crc32(&e[..e.len() - 4]);
        let l = e.len();
        e[l - 4..].copy_from_slice(&crc.to_le_bytes());
    }
    e
}

#[test]
fn mutated_events_never_panic_the_decoder() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let files = common::all_fixtures();
    assert!(files.len() >= 10, "fixtures found: {files:?}");
    let mut decoded_events = 0usize;
    for path in files {
        let events = events_of(&path);
        for round in 0..300 {
            let mut dec = Decoder::new(Collations::default(), None, None);
            dec.positional_names = true;
            let mut asm = Assembler::new(None);
            for (k, ev) in events.iter().enumerate() {
                // Mutate about one event in four; the FORMAT_DESCRIPTION too, now and then.
                let bytes = if (k + round) % 4 == 0 { mutate(&mut rng, ev) } else { ev.clone() };
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let mut pending = Vec::new();
                    let r = dec.decode(&bytes, false, &mut |h, d| {
                        pending.push((*h, d));
                        Ok(())
                    });
                    for (h, d) in pending {
                        let _ = asm.feed("f", &h, d, &mut |_| {});
                    }
                    r
                }));
                match result {
                    Ok(_) => decoded_events += 1,
                    Err(_) => panic!(
                        "decoder panicked on a mutation of event {k} of {} (round {round}): {bytes:02x?}",
                        path.display()
                    ),
                }
            }
        }
    }
    assert!(decoded_events > 10_000, "{decoded_events} events decoded");
}
