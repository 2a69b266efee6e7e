//! One runner per task: a lease in the destination's metadata database (`task_lease`), so it
//! holds across machines.
//!
//! A runner takes the lease before anything else (`run` refuses at once, naming the holder,
//! while another runner's lease is live), renews it every second or so, and releases it when
//! it ends. A runner that stops renewing (paused, partitioned, its machine gone) loses the task
//! once the lease period (`[task] lease_seconds`) has passed, and another may take it over.
//! Taking over increments the lease's epoch; every commit of every phase checks that epoch
//! inside its transaction ([`dts_types::fence`]), so an old runner never commits after a
//! takeover. The renewal also carries `dts-sync stop`'s request to the runner. All times are
//! the destination's UTC clock, so runners on machines whose clocks differ agree.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dts_types::fence::{Fence, Fenced};
use dts_types::{Ident, Value};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts};
use serde::Serialize;

/// Why the lease could not be taken or kept.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Another runner holds a live lease on the task.
    #[error(
        "task {task} is already running: held by host {}, pid {}, since {} (the lease expires at {} unless renewed; `dts-sync stop` stops it)",
        .holder.host, .holder.pid, .holder.since, .holder.expires
    )]
    AlreadyRunning {
        /// The task.
        task: String,
        /// The runner holding it.
        holder: Box<Holder>,
    },
    /// Another runner took the task over.
    #[error(transparent)]
    Fenced(#[from] Fenced),
    /// The destination failed or refused a query of the lease.
    #[error("the task's lease on the destination")]
    Sql(#[from] mysql::Error),
}

/// Who holds (or last held) a task's lease, as `status` shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Holder {
    /// The holder's host name.
    pub host: String,
    /// The holder's process id.
    pub pid: u32,
    /// When it took the lease (UTC, ISO 8601 with `Z`).
    pub since: String,
    /// When the lease ends (or ended) unless renewed (UTC, ISO 8601 with `Z`).
    pub expires: String,
    /// The lease's epoch (each takeover increments it).
    pub epoch: u64,
    /// Whether the lease is live now: the holder is running.
    pub running: bool,
}

/// The lease rows of one task.
#[derive(Debug, Clone)]
pub struct LeaseTable {
    /// The task.
    pub task: String,
    /// The metadata database.
    pub db: Ident,
}

/// Times as ISO 8601 UTC text (`2026-12-01T18:00:00.123456Z`), rendered by the server.
const ISO: &str = "'%Y-%m-%dT%H:%i:%s.%fZ'";

fn lit(s: &str) -> String {
    Value::String(dts_types::Text::utf8mb4(s)).to_sql_literal().expect("a string renders")
}

/// This machine's name, for the holder.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// Whether a live lease's holder is provably gone: it ran on this host and its process no
/// longer exists (a kill -9 or crash; a supervisor restarting the task need not wait for the
/// lease to expire). Safe even if the judgement were wrong: the old runner's commits are fenced.
fn holder_gone(h: &Holder) -> bool {
    h.host == host_name() && h.pid != std::process::id() && !std::path::Path::new(&format!("/proc/{}", h.pid)).exists()
}

impl LeaseTable {
    fn table(&self) -> String {
        format!("{}.`task_lease`", self.db.quoted())
    }

    /// Creates the metadata database and the lease table where missing.
    pub fn ensure(&self, c: &mut Conn) -> Result<(), mysql::Error> {
        c.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", self.db.quoted()))?;
        c.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL PRIMARY KEY, \
             epoch BIGINT UNSIGNED NOT NULL, host VARCHAR(255) NOT NULL, pid INT UNSIGNED NOT NULL, \
             since DATETIME(6) NOT NULL, expires_at DATETIME(6) NOT NULL, \
             stop_requested TINYINT NOT NULL DEFAULT 0) DEFAULT CHARSET=utf8mb4",
            self.table()
        ))
    }

    fn holder_sql(&self, lock: &str) -> String {
        format!(
            "SELECT host, pid, DATE_FORMAT(since, {ISO}), DATE_FORMAT(expires_at, {ISO}), epoch, \
             expires_at > UTC_TIMESTAMP(6) FROM {} WHERE task = {}{lock}",
            self.table(),
            lit(&self.task)
        )
    }

    fn holder(row: (String, u32, String, String, u64, u8)) -> Holder {
        let (host, pid, since, expires, epoch, live) = row;
        Holder { host, pid, since, expires, epoch, running: live == 1 }
    }

    /// Who holds or last held the lease (`None`: never run, or reset). A holder known to be
    /// gone (it ran on this host and its process no longer exists) is not running.
    pub fn read(&self, c: &mut Conn) -> Result<Option<Holder>, mysql::Error> {
        let exists: Option<u8> = c.exec_first(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'task_lease'",
            (self.db.as_str(),),
        )?;
        if exists.is_none() {
            return Ok(None);
        }
        let mut h = c.query_first(self.holder_sql("")).map(|r| r.map(Self::holder))?;
        if let Some(h) = h.as_mut().filter(|h| h.running && holder_gone(h)) {
            h.running = false;
        }
        Ok(h)
    }

    /// Takes the lease for `period`, unless a live one is held: the fence every commit of
    /// this runner checks.
    pub fn acquire(&self, c: &mut Conn, period: Duration) -> Result<Fence, LeaseError> {
        self.ensure(c)?;
        // A runner committing holds the row's shared lock for an instant; a paused one may
        // hold it longer, which is the same as running.
        c.query_drop("SET SESSION innodb_lock_wait_timeout = 5")?;
        c.query_drop(format!(
            "INSERT IGNORE INTO {} (task, epoch, host, pid, since, expires_at) \
             VALUES ({}, 0, '', 0, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
            self.table(),
            lit(&self.task)
        ))?;
        c.query_drop("BEGIN")?;
        let result = (|| -> Result<Fence, LeaseError> {
            let row = c.query_first(self.holder_sql(" FOR UPDATE"))?;
            let h = row.map(Self::holder).expect("the row was just inserted");
            if h.running && !holder_gone(&h) {
                return Err(LeaseError::AlreadyRunning { task: self.task.clone(), holder: Box::new(h) });
            }
            if h.running {
                tracing::info!(
                    task = %self.task,
                    "the lease's holder, pid {} on this host, is gone (killed or crashed): taking the task over",
                    h.pid
                );
            }
            let epoch = h.epoch + 1;
            c.exec_drop(
                format!(
                    "UPDATE {} SET epoch = ?, host = ?, pid = ?, since = UTC_TIMESTAMP(6), \
                     expires_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND, stop_requested = 0 WHERE task = ?",
                    self.table()
                ),
                (epoch, host_name(), std::process::id(), period.as_micros() as u64, &self.task),
            )?;
            c.query_drop("COMMIT")?;
            Ok(Fence { db: self.db.clone(), task: self.task.clone(), epoch })
        })();
        if result.is_err() {
            // The error is returned; the transaction ends with the connection either way.
            let _ = c.query_drop("ROLLBACK");
        }
        result
    }

    /// Extends the lease by `period` from now; says whether `dts-sync stop` asked the runner
    /// to stop. Fails with [`LeaseError::Fenced`] once another runner holds the task.
    pub fn renew(&self, c: &mut Conn, fence: &Fence, period: Duration) -> Result<bool, LeaseError> {
        c.exec_drop(
            format!(
                "UPDATE {} SET expires_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND WHERE task = ? AND epoch = ?",
                self.table()
            ),
            (period.as_micros() as u64, &self.task, fence.epoch),
        )?;
        if c.affected_rows() == 0 {
            let found: Option<u64> = c.query_first(fence.check_sql())?;
            fence.verify(found)?;
        }
        let stop: Option<u8> =
            c.exec_first(format!("SELECT stop_requested FROM {} WHERE task = ?", self.table()), (&self.task,))?;
        Ok(stop == Some(1))
    }

    /// Ends the lease now (the holder stays recorded, for `status`).
    pub fn release(&self, c: &mut Conn, fence: &Fence) -> Result<(), mysql::Error> {
        c.exec_drop(
            format!("UPDATE {} SET expires_at = UTC_TIMESTAMP(6) WHERE task = ? AND epoch = ?", self.table()),
            (&self.task, fence.epoch),
        )
    }

    /// Asks the running holder to stop (at its next renewal); the holder, if one is running.
    pub fn request_stop(&self, c: &mut Conn) -> Result<Option<Holder>, mysql::Error> {
        let Some(h) = self.read(c)?.filter(|h| h.running) else { return Ok(None) };
        c.exec_drop(
            format!("UPDATE {} SET stop_requested = 1 WHERE task = ? AND epoch = ?", self.table()),
            (&self.task, h.epoch),
        )?;
        Ok(Some(h))
    }

    /// The statement that, run inside a destination transaction, holds every commit of every
    /// runner of the task until that transaction ends: the lease row locked exclusively, which
    /// each commit's fence check ([`dts_types::fence::Fence::check_sql`]) share-locks before its
    /// COMMIT. `verify --apply` repairs under it (`dts_verify::apply`). It returns the row only
    /// while it exists (not after a `reset`) and, given an `epoch` (the lease `verify --apply`
    /// holds itself), only while the lease still has it.
    pub fn hold_commits_sql(&self, epoch: Option<u64>) -> String {
        let at = epoch.map_or(String::new(), |e| format!(" AND epoch = {e}"));
        format!("SELECT epoch FROM {} WHERE task = {}{at} FOR UPDATE", self.table(), lit(&self.task))
    }

    /// Forgets the lease (`dts-sync reset`).
    pub fn remove(&self, c: &mut Conn) -> Result<(), mysql::Error> {
        if self.read(c)?.is_some() {
            c.exec_drop(format!("DELETE FROM {} WHERE task = ?", self.table()), (&self.task,))?;
        }
        Ok(())
    }
}

/// A lease held by this process: renewed on a thread of its own until dropped, then released.
#[derive(Debug)]
pub struct HeldLease {
    /// The fence every commit checks.
    pub fence: Fence,
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the renewing thread tells the run.
#[derive(Debug, Default)]
pub struct LeaseSignals {
    /// Set when the lease is lost (another runner took it over): the runner must stop and
    /// never commit again.
    pub lost: AtomicBool,
    /// The epoch held (0: none), for a caller that must release it on its own way out.
    pub epoch: AtomicU64,
}

impl HeldLease {
    /// Takes the lease of `table` on `dest` and keeps renewing it; `stop` is set when `dts-sync
    /// stop` asks or the lease is lost (`signals.lost` says which).
    pub fn take(
        dest: Opts,
        table: LeaseTable,
        period: Duration,
        stop: Arc<AtomicBool>,
        signals: Arc<LeaseSignals>,
    ) -> Result<HeldLease, LeaseError> {
        let mut c = Conn::new(dest.clone())?;
        let fence = table.acquire(&mut c, period)?;
        signals.epoch.store(fence.epoch, Ordering::SeqCst);
        signals.lost.store(false, Ordering::SeqCst);
        let done = Arc::new(AtomicBool::new(false));
        let (f, d) = (fence.clone(), done.clone());
        let tick = (period / 4).clamp(Duration::from_millis(200), Duration::from_secs(1));
        let thread = std::thread::spawn(move || {
            let mut conn = Some(c);
            let mut renewed = Instant::now();
            let mut warned = false;
            while !d.load(Ordering::SeqCst) {
                nap(tick, &d);
                if d.load(Ordering::SeqCst) {
                    break;
                }
                // A pause (SIGSTOP) longer than the period: another runner may hold the task.
                let outcome = match conn.as_mut() {
                    Some(c) => table.renew(c, &f, period),
                    None => Conn::new(dest.clone()).map_err(LeaseError::from).and_then(|mut c| {
                        let r = table.renew(&mut c, &f, period);
                        conn = Some(c);
                        r
                    }),
                };
                match outcome {
                    Ok(stop_requested) => {
                        renewed = Instant::now();
                        warned = false;
                        if stop_requested && !stop.swap(true, Ordering::SeqCst) {
                            tracing::info!(task = %f.task, "`dts-sync stop` asked this runner to stop");
                        }
                    }
                    Err(LeaseError::Fenced(e)) => {
                        tracing::error!("{e}");
                        signals.lost.store(true, Ordering::SeqCst);
                        stop.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(e) => {
                        // The destination is out of reach: nobody can take the lease over
                        // meanwhile but through it, and every commit is fenced, so this runner
                        // keeps trying (within its [retry] windows elsewhere) and stops only
                        // if, once back, the lease has another epoch.
                        conn = None;
                        if renewed.elapsed() >= period && !warned {
                            warned = true;
                            tracing::warn!(
                                task = %f.task,
                                "could not renew the task's lease for {} s ({}): another runner may take the task over, and then this one stops",
                                period.as_secs(),
                                dts_types::describe::chain(&e)
                            );
                        }
                    }
                }
            }
            let released = match conn.as_mut() {
                Some(c) => table.release(c, &f),
                None => Conn::new(dest).and_then(|mut c| table.release(&mut c, &f)),
            };
            if let Err(e) = released {
                tracing::warn!("could not release the task's lease ({e}); it expires by itself");
            }
        });
        Ok(HeldLease { fence, done, thread: Some(thread) })
    }
}

/// Sleeps for `total`, in short slices, waking early once `done` is set: the runner's exit
/// joins this thread, and a whole tick (up to a second) added to every run's end.
fn nap(total: Duration, done: &AtomicBool) {
    let end = Instant::now() + total;
    while !done.load(Ordering::SeqCst) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            // The renewer only logs; its end is all that matters here.
            let _ = t.join();
        }
    }
}

/// Releases the lease held with `epoch` (for a process leaving without unwinding, such as the
/// binary's stop between the full copy's chunks).
pub fn release(dest: Opts, table: &LeaseTable, epoch: u64) -> Result<(), mysql::Error> {
    let mut c = Conn::new(dest)?;
    table.release(&mut c, &Fence { db: table.db.clone(), task: table.task.clone(), epoch })
}
