//! A source and a destination server shared by all tests of one test binary.

use std::sync::OnceLock;

use crate::{Sandbox, SandboxError};

/// Two sandboxes: a source and a destination, in different GTID domains.
#[derive(Debug)]
pub struct SandboxPair {
    /// The source server (GTID domain 1).
    pub source: Sandbox,
    /// The destination server (GTID domain 2).
    pub destination: Sandbox,
}

/// Starts a source (GTID domain 1) and a destination (domain 2) side by side.
pub fn start_pair() -> Result<SandboxPair, SandboxError> {
    let src = std::thread::spawn(|| Sandbox::builder("source").gtid_domain_id(1).start());
    let destination = Sandbox::builder("destination").gtid_domain_id(2).start();
    let source = src.join().expect("source start thread panicked");
    Ok(SandboxPair { source: source?, destination: destination? })
}

static PAIR: OnceLock<Result<SandboxPair, String>> = OnceLock::new();

/// The pair of servers this test binary shares, started on first use.
///
/// Tests give themselves their own databases ([`Sandbox::fresh_database`]) rather than servers,
/// so a test binary starts servers once. The servers stop when the binary exits (see the
/// crate doc). Panics with what to install or fix when the servers cannot start.
pub fn shared_pair() -> &'static SandboxPair {
    match PAIR.get_or_init(|| start_pair().map_err(|e| e.to_string())) {
        Ok(pair) => pair,
        Err(e) => panic!("cannot start the test MariaDB servers: {e}"),
    }
}
