//! The rate limit: rows and bytes per second, held over any window of a few seconds, and
//! changeable while applying ([`ApplyLimits::set`], e.g. on SIGHUP).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dts_types::{RowChange, Value};

/// The applier's limits (0: none), shared with whoever changes them while it runs.
#[derive(Debug, Default)]
pub struct ApplyLimits {
    rows_per_sec: AtomicU64,
    bytes_per_sec: AtomicU64,
}

impl ApplyLimits {
    /// Limits of `rows_per_sec` row changes and `bytes_per_sec` bytes of row images (0: none).
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

/// Work that costs this much at the limit ends the group it is in, so destination commits
/// stay about this far apart and the limit holds over any window of a few seconds (a group
/// held longer would commit in bursts the limit then pays for with long pauses).
const GROUP_COST: Duration = Duration::from_millis(250);

/// Sleeps when applying runs ahead of the limits. Work counted ([`Throttle::change`]) is
/// "paid for" on a virtual clock that advances by its cost at the limit (rows / rate,
/// bytes / rate, whichever is longer); the applier sleeps while that clock is ahead of real
/// time. Debt is never forgotten, so the rate holds over every window, not only on average.
/// Serial and parallel applying count the same thing: each row change and the bytes of its
/// row image (its after image, or the before image of a delete).
#[derive(Debug)]
pub(crate) struct Throttle {
    limits: Arc<ApplyLimits>,
    paid_until: Instant,
    rows: u64,
    bytes: u64,
}

impl Throttle {
    pub fn new(limits: Arc<ApplyLimits>) -> Self {
        Throttle { limits, paid_until: Instant::now(), rows: 0, bytes: 0 }
    }

    /// Counts one row change.
    pub fn change(&mut self, change: &RowChange) {
        self.rows += 1;
        let image = change.after().or(change.before()).map_or(0, |r| r.iter().map(Value::approx_size).sum::<usize>());
        self.bytes += image as u64;
    }

    /// How long the work counted and not yet paid for takes at the limits.
    fn unpaid(&self) -> Duration {
        let (r, b) = self.limits.get();
        let cost = |n: u64, rate: u64| if rate == 0 { 0.0 } else { n as f64 / rate as f64 };
        Duration::from_secs_f64(cost(self.rows, r).max(cost(self.bytes, b)))
    }

    /// Whether the group being formed should commit now: what it counted costs
    /// [`GROUP_COST`] at the limits (never under no limit).
    pub fn group_due(&self) -> bool {
        self.unpaid() >= GROUP_COST
    }

    /// Pays for the work counted since the last call, sleeping as long as the limits ask.
    pub fn pace(&mut self) {
        let secs = self.unpaid();
        (self.rows, self.bytes) = (0, 0);
        let now = Instant::now();
        if secs.is_zero() {
            self.paid_until = self.paid_until.max(now);
            return;
        }
        let earliest = now.checked_sub(BURST).unwrap_or(now);
        self.paid_until = self.paid_until.max(earliest) + secs;
        if self.paid_until > now {
            std::thread::sleep(self.paid_until - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(bytes: usize) -> RowChange {
        RowChange::Insert { after: vec![Value::Int(1), Value::Binary(vec![b'x'; bytes].into())] }
    }

    #[test]
    fn the_rate_holds_over_a_backlog_and_changes_live() {
        let limits = Arc::new(ApplyLimits::new(200, 0));
        let mut t = Throttle::new(limits.clone());
        let start = Instant::now();
        // A backlog: 100 rows at once, five times (500 rows at 200/s: 2.5 s minus the burst).
        for _ in 0..5 {
            (0..100).for_each(|_| t.change(&insert(10)));
            t.pace();
        }
        let el = start.elapsed().as_secs_f64();
        assert!((1.9..=2.8).contains(&el), "500 rows at 200/s took {el:.2} s");
        limits.set(0, 0);
        let start = Instant::now();
        (0..100_000).for_each(|_| t.change(&insert(10)));
        assert!(!t.group_due(), "no limit never ends a group");
        t.pace();
        assert!(start.elapsed() < Duration::from_millis(50), "unlimited after the change");
    }

    #[test]
    fn a_group_ends_once_its_bytes_cost_a_quarter_second() {
        let limits = Arc::new(ApplyLimits::new(0, 1 << 20));
        let mut t = Throttle::new(limits.clone());
        let mut rows = 0;
        while !t.group_due() {
            t.change(&insert(20_000));
            rows += 1;
        }
        // 256 KiB of 20,000-byte images: 14 rows.
        assert_eq!(rows, 14, "rows before a 1 MiB/s group is due");
        limits.set(0, 2 << 20);
        assert!(!t.group_due(), "a higher limit applies to what is counted already");
        let start = Instant::now();
        t.pace();
        // 280,000 bytes at 2 MiB/s: 134 ms, less the burst an idle applier keeps.
        assert!(start.elapsed() < Duration::from_millis(200));
    }
}
