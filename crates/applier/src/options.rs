//! How to apply: grouping, batching, parallelism, retries and rate limits.

use std::time::{Duration, Instant};

use dts_types::Ident;
use dts_types::retry::RetryWindows;

/// How to apply. [`ApplyOptions::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// The task's name: its rows in the checkpoint tables.
    pub task: String,
    /// The destination database holding the checkpoint tables.
    pub meta_db: Ident,
    /// Destination connections applying groups of transactions in parallel (1: in order on one
    /// connection). Groups sharing a key apply in source order.
    pub workers: usize,
    /// Most source transactions in one destination commit.
    pub group_transactions: usize,
    /// Most row changes in one destination commit (a larger source transaction commits alone).
    pub group_rows: usize,
    /// Longest a group waits for more transactions before it commits: under a steady trickle
    /// (no idle moment to flush on) this bounds the lag grouping adds.
    pub group_delay: Duration,
    /// Largest batch of statements sent in one round trip.
    pub batch_bytes: usize,
    /// How long to keep retrying after the destination connection is lost (`connection`), and
    /// after other transient errors: deadlocks, lock waits, a read-only server (`other`).
    pub retry: RetryWindows,
    /// What a DDL statement the destination refuses does (stop, by default).
    pub ddl_errors: crate::DdlErrors,
    /// Rows and bytes of statements per second (0: no limit), changeable while applying.
    pub limits: std::sync::Arc<crate::ApplyLimits>,
    /// The runner's lease epoch: every commit checks it inside its transaction, so an old
    /// runner never commits after another took the task over (`None`: unfenced).
    pub fence: Option<dts_types::fence::Fence>,
    /// A direction of a two-way task: every destination transaction is marked with its origin
    /// first, and rows are written with conflict detection instead of REPLACE
    /// (`crate::conflict`).
    pub two_way: Option<crate::conflict::TwoWay>,
}

impl ApplyOptions {
    /// The defaults for task `task`: one worker, groups of 5,000 transactions or 20,000 rows or
    /// 100 ms, batches of 1 MiB, the default retry windows, no rate limit, and a refused DDL stops.
    pub fn new(task: &str) -> Self {
        ApplyOptions {
            task: task.to_string(),
            meta_db: Ident::new("dts_meta").expect("valid"),
            workers: 1,
            group_transactions: 5000,
            group_rows: 20_000,
            group_delay: Duration::from_millis(100),
            batch_bytes: 1 << 20,
            retry: RetryWindows::default(),
            ddl_errors: crate::DdlErrors::Stop,
            limits: Default::default(),
            fence: None,
            two_way: None,
        }
    }

    /// Whether a group of `transactions` holding `rows` row changes, whose first transaction
    /// arrived at `started`, commits now.
    pub(crate) fn group_full(&self, transactions: usize, rows: usize, started: Instant) -> bool {
        transactions >= self.group_transactions || rows >= self.group_rows || started.elapsed() >= self.group_delay
    }
}
