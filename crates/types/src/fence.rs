//! Fencing: the epoch a runner holds on its task, checked by every commit of every phase.
//!
//! One runner at a time holds a task's lease (`<meta_database>.task_lease` on the destination,
//! kept by `dts-task`). Taking the lease over increments the row's `epoch`. Each commit that
//! changes the task's data or progress reads the row's epoch *inside its own transaction*, with
//! a shared lock held until the COMMIT ([`Fence::check_sql`]): a takeover (an UPDATE of that
//! row) cannot slip between the check and the commit, so an old runner — paused, partitioned,
//! resumed after another took over — never commits once a newer epoch exists.
//!
//! ```
//! use dts_types::{Ident, fence::Fence};
//!
//! let f = Fence { db: Ident::new("dts_meta").unwrap(), task: "orders".into(), epoch: 3 };
//! assert!(f.check_sql().ends_with("LOCK IN SHARE MODE"));
//! assert!(f.verify(Some(3)).is_ok());
//! assert!(f.verify(Some(4)).is_err());
//! ```

use crate::Ident;

/// A runner's claim on its task: the epoch it took the lease with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The metadata database holding `task_lease`.
    pub db: Ident,
    /// The task.
    pub task: String,
    /// The epoch this runner holds.
    pub epoch: u64,
}

/// Another runner took the task over: this one must not commit.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "another runner took over task {task} (lease epoch {found}, this runner holds {held}): this runner stops without committing"
)]
pub struct Fenced {
    /// The task.
    pub task: String,
    /// The epoch this runner held.
    pub held: u64,
    /// What the lease says now (`none` when its row is gone: the task was reset).
    pub found: String,
}

impl Fence {
    /// The table, qualified and quoted.
    pub fn table(&self) -> String {
        format!("{}.`task_lease`", self.db.quoted())
    }

    /// The check a commit runs inside its transaction, just before COMMIT: the lease's epoch,
    /// share-locked until the transaction ends.
    pub fn check_sql(&self) -> String {
        let task = crate::Value::String(crate::Text::utf8mb4(&self.task)).to_sql_literal().expect("a string renders");
        format!("SELECT epoch FROM {} WHERE task = {task} LOCK IN SHARE MODE", self.table())
    }

    /// Whether the epoch read by [`Fence::check_sql`] is still this runner's.
    pub fn verify(&self, found: Option<u64>) -> Result<(), Fenced> {
        match found {
            Some(e) if e == self.epoch => Ok(()),
            other => Err(Fenced {
                task: self.task.clone(),
                held: self.epoch,
                found: other.map_or("none".into(), |e| e.to_string()),
            }),
        }
    }
}
