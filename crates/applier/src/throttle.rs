//! The rate limit: rows and bytes per second, measured over windows of about ten seconds.

use std::time::{Duration, Instant};

/// Sleeps when applying runs ahead of `rows_per_sec` or `bytes_per_sec` (0: no limit).
#[derive(Debug)]
pub(crate) struct Throttle {
    rows_per_sec: u64,
    bytes_per_sec: u64,
    since: Instant,
    rows: u64,
    bytes: u64,
}

impl Throttle {
    pub fn new(rows_per_sec: u64, bytes_per_sec: u64) -> Self {
        Throttle { rows_per_sec, bytes_per_sec, since: Instant::now(), rows: 0, bytes: 0 }
    }

    /// Counts one row change.
    pub fn row(&mut self) {
        self.rows += 1;
    }

    /// Counts `bytes` about to be (or just) sent and sleeps as long as the limits ask.
    pub fn pace(&mut self, bytes: usize) {
        self.bytes += bytes as u64;
        let (r, b) = (self.rows_per_sec, self.bytes_per_sec);
        if r == 0 && b == 0 {
            return;
        }
        let el = self.since.elapsed().as_secs_f64();
        let need = (if r > 0 { self.rows as f64 / r as f64 } else { 0.0 }).max(if b > 0 {
            self.bytes as f64 / b as f64
        } else {
            0.0
        });
        if need > el {
            std::thread::sleep(Duration::from_secs_f64((need - el).min(5.0)));
        }
        if el > 10.0 {
            self.since = Instant::now();
            self.rows = 0;
            self.bytes = 0;
        }
    }
}
