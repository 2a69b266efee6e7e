//! Throwaway MariaDB servers for tests, benchmarks and the demo.
//!
//! A [`Sandbox`] is a real `mariadbd` with its own temporary data dir, a free loopback port,
//! the binlog on (ROW format, FULL row image, FULL row metadata, GTIDs) and a user holding every
//! grant a sync task needs. It stops by its own PID and removes its data dir when dropped; a
//! watchdog process does the same if the owning process dies first (a panic, an abort, kill -9),
//! so no server or data dir outlives the test binary. [`shared_pair`] gives the tests of one
//! binary a source and a destination started once; each test takes its own databases with
//! [`Sandbox::fresh_database`].
//!
//! It never touches a server it did not start, and it is for tests, benchmarks and demos only:
//! its servers trade durability for speed (`innodb_flush_log_at_trx_commit=2`, `sync_binlog=0`).
//!
//! # Example
//!
//! ```no_run
//! use mysql::prelude::Queryable;
//!
//! let sandbox = dts_testkit::Sandbox::start("example")?;
//! let db = sandbox.fresh_database("orders")?;
//! let mut conn = sandbox.conn()?;
//! conn.query_drop(format!("CREATE TABLE `{db}`.t (id INT PRIMARY KEY)"))?;
//! // The server stops and its data dir goes when `sandbox` is dropped.
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod binaries;
mod sandbox;
mod shared;
mod watchdog;

pub use binaries::{MariaDbBinaries, find_binaries};
pub use sandbox::{Sandbox, SandboxBuilder, SandboxError};
pub use shared::{SandboxPair, shared_pair, start_pair};
