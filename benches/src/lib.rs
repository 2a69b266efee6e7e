//! Library-level benchmarks of dts-sync. Each benchmark is a binary in `src/bin/` that measures
//! our code and a named baseline in the same run, interleaved, and reports the ratio of medians
//! (these machines are noisy; a ratio survives that, an absolute figure does not).
//!
//! Nothing here is a test: benchmarks never run in the test suite.

use std::time::{Duration, Instant};

/// Runs `f` `runs` times and returns each run's duration.
pub fn time_runs(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

/// The median of some durations.
pub fn median(mut d: Vec<Duration>) -> Duration {
    assert!(!d.is_empty(), "median of no runs");
    d.sort();
    d[d.len() / 2]
}
