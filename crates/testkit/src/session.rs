//! Connections that move values exactly.

use dts_types::session;
use mysql::{Conn, Opts, OptsBuilder};

/// Options for a session that moves values exactly: binary client charset, UTC, strict
/// sql_mode accepting zero dates (see `dts_types::session`), as the task's own sessions do.
pub fn exact_session(opts: Opts) -> OptsBuilder {
    OptsBuilder::from_opts(opts).init(session::init_statements().to_vec())
}

/// A connection with [`exact_session`] settings.
pub fn exact_conn(opts: Opts) -> Result<Conn, mysql::Error> {
    Conn::new(exact_session(opts))
}
