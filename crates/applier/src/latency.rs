//! How long the destination takes to commit: a histogram of every `DestTxn` COMMIT (`txn.rs`)
//! in this process (incremental sync's only commits), served by `/metrics` as
//! `dts_destination_commit_seconds`.
//!
//! Process-wide, as the process runs one task; like every Prometheus histogram it starts at zero
//! with the process (`rate()` and `histogram_quantile()` handle that reset).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The upper bounds of the buckets, in seconds (a `+Inf` bucket follows them).
pub const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A fixed-bucket latency histogram, safe to observe from every worker at once.
#[derive(Debug)]
pub struct Histogram {
    /// Observations at or under each bound of [`BUCKETS`] (not cumulative).
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// A histogram read at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// Per bound of [`BUCKETS`], the observations at or under it (cumulative, as Prometheus
    /// counts them).
    pub cumulative: Vec<u64>,
    /// Every observation (the `+Inf` bucket).
    pub count: u64,
    /// Their sum, in seconds.
    pub sum_seconds: f64,
}

impl Histogram {
    const fn new() -> Self {
        Histogram {
            buckets: [const { AtomicU64::new(0) }; BUCKETS.len()],
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| s <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micros.fetch_add(d.as_micros() as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// The histogram now.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut running = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|b| {
                running += b.load(Ordering::Relaxed);
                running
            })
            .collect();
        let count = self.count.load(Ordering::Relaxed).max(running);
        HistogramSnapshot { cumulative, count, sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6 }
    }
}

/// Every destination COMMIT of incremental sync in this process.
pub static DESTINATION_COMMIT: Histogram = Histogram::new();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_the_sum_is_in_seconds() {
        let h = Histogram::new();
        h.observe(Duration::from_micros(800));
        h.observe(Duration::from_millis(30));
        h.observe(Duration::from_secs(20));
        let s = h.snapshot();
        assert_eq!(s.cumulative[0], 0); // 0.5 ms
        assert_eq!(s.cumulative[1], 1); // 1 ms
        assert_eq!(s.cumulative[5], 1); // 25 ms
        assert_eq!(s.cumulative[6], 2); // 50 ms
        assert_eq!(*s.cumulative.last().unwrap(), 2); // 10 s: the 20 s one is only in +Inf
        assert_eq!(s.count, 3);
        assert!((s.sum_seconds - 20.0308).abs() < 1e-9, "{}", s.sum_seconds);
    }
}
