//! Throttling of the source reads: queries per second, rows per second and bytes per second,
//! each changeable while the copy runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Limits; 0 means unlimited. Shared (`Arc`) and adjustable at any time.
#[derive(Debug, Default)]
pub struct Throttle {
    qps: AtomicU64,
    rows_per_sec: AtomicU64,
    bytes_per_sec: AtomicU64,
    state: Mutex<Buckets>,
}

#[derive(Debug)]
struct Buckets {
    since: Instant,
    queries: f64,
    rows: f64,
    bytes: f64,
}

impl Default for Buckets {
    fn default() -> Self {
        Buckets { since: Instant::now(), queries: 0.0, rows: 0.0, bytes: 0.0 }
    }
}

impl Throttle {
    /// Limits per second on queries, rows and bytes (0: none).
    pub fn new(qps: u64, rows_per_sec: u64, bytes_per_sec: u64) -> Self {
        let t = Throttle::default();
        t.set(qps, rows_per_sec, bytes_per_sec);
        t
    }

    /// Changes the limits; takes effect for the next request.
    pub fn set(&self, qps: u64, rows_per_sec: u64, bytes_per_sec: u64) {
        self.qps.store(qps, Ordering::Relaxed);
        self.rows_per_sec.store(rows_per_sec, Ordering::Relaxed);
        self.bytes_per_sec.store(bytes_per_sec, Ordering::Relaxed);
    }

    /// The limits: (queries, rows, bytes) per second.
    pub fn limits(&self) -> (u64, u64, u64) {
        (
            self.qps.load(Ordering::Relaxed),
            self.rows_per_sec.load(Ordering::Relaxed),
            self.bytes_per_sec.load(Ordering::Relaxed),
        )
    }

    /// Accounts for work done and sleeps as long as the limits require.
    pub fn charge(&self, queries: u64, rows: u64, bytes: u64) {
        let (q, r, b) = self.limits();
        if q == 0 && r == 0 && b == 0 {
            return;
        }
        let wait = {
            let mut s = self.state.lock();
            // Leaky buckets: what was allowed since the last charge drains the debt.
            let dt = s.since.elapsed().as_secs_f64();
            s.since = Instant::now();
            let drain = |debt: f64, rate: u64| if rate == 0 { 0.0 } else { (debt - dt * rate as f64).max(0.0) };
            s.queries = drain(s.queries, q) + if q > 0 { queries as f64 } else { 0.0 };
            s.rows = drain(s.rows, r) + if r > 0 { rows as f64 } else { 0.0 };
            s.bytes = drain(s.bytes, b) + if b > 0 { bytes as f64 } else { 0.0 };
            let secs = |debt: f64, rate: u64| if rate == 0 { 0.0 } else { debt / rate as f64 };
            secs(s.queries, q).max(secs(s.rows, r)).max(secs(s.bytes, b))
        };
        if wait > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(wait.min(5.0)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_slow_down_and_can_change() {
        let t = Throttle::new(0, 10_000, 0);
        let start = Instant::now();
        for _ in 0..5 {
            t.charge(1, 1000, 0);
        }
        let el = start.elapsed();
        assert!(el >= Duration::from_millis(350), "5000 rows at 10k/s took {el:?}");
        t.set(0, 0, 0);
        let start = Instant::now();
        t.charge(1, 1_000_000, 1 << 30);
        assert!(start.elapsed() < Duration::from_millis(50), "unlimited after the change");
    }
}
