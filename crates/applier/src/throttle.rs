//! The rate limit: rows and bytes per second, held over any window of a few seconds, and
//! changeable while applying ([`ApplyLimits::set`], e.g. on SIGHUP).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The applier's limits (0: none), shared with whoever changes them while it runs.
#[derive(Debug, Default)]
pub struct ApplyLimits {
    rows_per_sec: AtomicU64,
    bytes_per_sec: AtomicU64,
}

impl ApplyLimits {
    /// Limits of `rows_per_sec` row changes and `bytes_per_sec` bytes of statements (0: none).
    pub fn new(rows_per_sec: u64, bytes_per_sec: u64) -> Self {
        let l = ApplyLimits::default();
        l.set(rows_per_sec, bytes_per_sec);
        l
    }

    /// Changes the limits; the next batch is paced by them.
    pub fn set(&self, rows_per_sec: u64, bytes_per_sec: u64) {
        self.rows_per_sec.store(rows_per_sec, Ordering::Relaxed);
        self.bytes_per_sec.store(bytes_per_sec, Ordering::Relaxed);
    }

    /// (rows, bytes) per second.
    pub fn get(&self) -> (u64, u64) {
        (self.rows_per_sec.load(Ordering::Relaxed), self.bytes_per_sec.load(Ordering::Relaxed))
    }
}

/// At most this much unused allowance is kept (an idle applier may burst by this much).
const BURST: Duration = Duration::from_millis(500);

/// Sleeps when applying runs ahead of the limits. Work counted is "paid for" on a virtual
/// clock that advances by its cost at the limit (rows / rate, bytes / rate, whichever is
/// longer); the applier sleeps while that clock is ahead of real time. Debt is never
/// forgotten, so the rate holds over every window, not only on average.
#[derive(Debug)]
pub(crate) struct Throttle {
    limits: Arc<ApplyLimits>,
    paid_until: Instant,
    rows: u64,
}

impl Throttle {
    pub fn new(limits: Arc<ApplyLimits>) -> Self {
        Throttle { limits, paid_until: Instant::now(), rows: 0 }
    }

    /// The most rows a destination commit should hold so commits stay under ~250 ms apart
    /// at the limit (`None`: no row limit).
    pub fn group_rows(&self) -> Option<usize> {
        let (r, _) = self.limits.get();
        (r > 0).then(|| (r as usize / 4).max(1))
    }

    /// Counts one row change.
    pub fn row(&mut self) {
        self.rows += 1;
    }

    /// Counts `bytes` about to be (or just) sent and the rows counted since the last call,
    /// and sleeps as long as the limits ask.
    pub fn pace(&mut self, bytes: usize) {
        let rows = std::mem::take(&mut self.rows);
        let (r, b) = self.limits.get();
        let now = Instant::now();
        if r == 0 && b == 0 {
            self.paid_until = now;
            return;
        }
        let cost = |n: u64, rate: u64| if rate == 0 { 0.0 } else { n as f64 / rate as f64 };
        let secs = cost(rows, r).max(cost(bytes as u64, b));
        let earliest = now.checked_sub(BURST).unwrap_or(now);
        self.paid_until = self.paid_until.max(earliest) + Duration::from_secs_f64(secs);
        if self.paid_until > now {
            std::thread::sleep(self.paid_until - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_holds_over_a_backlog_and_changes_live() {
        let limits = Arc::new(ApplyLimits::new(200, 0));
        let mut t = Throttle::new(limits.clone());
        let start = Instant::now();
        // A backlog: 100 rows at once, five times (500 rows at 200/s: 2.5 s minus the burst).
        for _ in 0..5 {
            (0..100).for_each(|_| t.row());
            t.pace(0);
        }
        let el = start.elapsed().as_secs_f64();
        assert!((1.9..=2.8).contains(&el), "500 rows at 200/s took {el:.2} s");
        limits.set(0, 0);
        let start = Instant::now();
        (0..100_000).for_each(|_| t.row());
        t.pace(1 << 30);
        assert!(start.elapsed() < Duration::from_millis(50), "unlimited after the change");
    }
}
