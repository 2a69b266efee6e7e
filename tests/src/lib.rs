//! End-to-end tests of dts-sync against real MariaDB servers (in `tests/`), and the helpers
//! they share.
//!
//! Nothing here is mocked: every test runs against throwaway servers from `dts-testkit`. This
//! crate is never a dependency of the product.

use dts_types::session;
use mysql::{Conn, Opts, OptsBuilder};

/// Options for a session that moves values exactly: binary client charset, UTC, strict sql_mode
/// accepting zero dates (see `dts_types::session`).
pub fn exact_session(opts: Opts) -> OptsBuilder {
    OptsBuilder::from_opts(opts).init(session::init_statements().to_vec())
}

/// A connection with [`exact_session`] settings.
pub fn exact_conn(opts: Opts) -> Conn {
    Conn::new(exact_session(opts)).expect("connect with exact session settings")
}
