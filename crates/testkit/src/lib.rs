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
//! Beside the servers it holds the helpers every test and benchmark shares, so none keeps a
//! copy: [`binlog_position`] (where a binlog ends now), [`RowDigest`] (a table's rows as exact
//! bytes, in any order), [`replica_server_id`] (a replica id no other reader uses) and
//! [`exact_conn`] (a session that moves values exactly) and [`peak_rss_kib`] (this process's
//! peak memory).
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
mod examples;
mod memory;
mod position;
mod replication;
mod rows;
mod sandbox;
mod server_id;
mod session;
mod shared;
mod watchdog;

pub use binaries::{MariaDbBinaries, find_binaries};
pub use examples::example_program;
pub use memory::peak_rss_kib;
pub use position::{PositionError, binlog_position};
pub use rows::RowDigest;
pub use sandbox::{Sandbox, SandboxBuilder, SandboxError, password_file};
pub use server_id::replica_server_id;
pub use session::{exact_conn, exact_session};
pub use shared::{SandboxPair, shared_pair, start_pair};
