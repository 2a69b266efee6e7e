//! server_ids for the replicas that tests, benchmarks and tasks register with a source.

use std::sync::atomic::{AtomicU32, Ordering};

/// A replica server_id no other live process on this machine uses, and that this process has
/// not handed out before (up to 512 per process; after that they repeat).
///
/// A source drops a replica when another registers with its server_id, so every binlog reader
/// (a test's, a child process's, a task's) needs its own. The id is built from this process's
/// PID (unique among live processes, below 2^22 on Linux) and a counter, with the top bit set:
/// above every sandbox server's own id (its port) and never 0.
pub fn replica_server_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % 512;
    0x8000_0000 | (std::process::id() & 0x3F_FFFF) << 9 | n
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_differ_within_a_process_and_stay_above_sandbox_ports() {
        let a = super::replica_server_id();
        let b = super::replica_server_id();
        assert_ne!(a, b);
        assert!(a > u32::from(u16::MAX) && b > u32::from(u16::MAX));
    }
}
