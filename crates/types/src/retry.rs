//! One classification of server errors for every crate: whether an error is worth a retry, and
//! under which retry window.
//!
//! A lost connection (the server restarted, the network broke, too many connections) is cured
//! by reconnecting, so it is retried within the long *connection* window. A deadlock, a lock
//! wait timeout or a read-only server is cured by trying the transaction again, within the
//! shorter *other* window. Everything else — a refused statement, a missing table, a type
//! error — is *definite*: retrying changes nothing, so it stops with the error.
//!
//! ```
//! use dts_types::retry::{ErrorClass, classify_code};
//!
//! assert_eq!(classify_code(2013), ErrorClass::TransientConnection); // lost connection
//! assert_eq!(classify_code(1213), ErrorClass::TransientOther); // deadlock
//! assert_eq!(classify_code(1146), ErrorClass::Definite); // no such table
//! ```

use std::time::Duration;

/// What retrying can do for an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The connection is gone or cannot be had now: reconnect and retry.
    TransientConnection,
    /// A deadlock, lock wait or read-only server: retry the transaction.
    TransientOther,
    /// Retrying changes nothing.
    Definite,
}

impl ErrorClass {
    /// Whether a retry may cure the error.
    pub fn is_transient(self) -> bool {
        self != ErrorClass::Definite
    }

    /// How the class is named in logs and messages.
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::TransientConnection => "connection",
            ErrorClass::TransientOther => "other",
            ErrorClass::Definite => "definite",
        }
    }
}

/// The class of a server error code (the `ER_*` / `CR_*` number).
pub fn classify_code(code: u16) -> ErrorClass {
    match code {
        // Too many connections, shutdown in progress, aborted connections, net read/write
        // errors and timeouts, connection killed, server gone away, lost connection.
        1040 | 1053 | 1152 | 1158..=1161 | 1927 | 2006 | 2013 => ErrorClass::TransientConnection,
        // Lock wait timeout, deadlock, read-only (server --read-only, InnoDB read-only modes).
        1205 | 1213 | 1290 | 1792 | 1836 => ErrorClass::TransientOther,
        _ => ErrorClass::Definite,
    }
}

/// The class of an error from the `mysql` crate: I/O, codec and driver errors are lost
/// connections; server errors are classified by their code; anything else is definite.
pub fn classify(e: &mysql::Error) -> ErrorClass {
    match e {
        mysql::Error::IoError(_) | mysql::Error::CodecError(_) | mysql::Error::DriverError(_) => {
            ErrorClass::TransientConnection
        }
        mysql::Error::MySqlError(m) => classify_code(m.code),
        _ => ErrorClass::Definite,
    }
}

/// Whether a server error says that a DDL statement's change is already there: the object
/// exists, or is already gone. After a stop between a DDL and its checkpoint, the statement
/// runs again and fails so; that is the earlier run's success (the applier's DDL log tells
/// such a re-run from a first run, where the same error is a real failure).
pub fn is_already_done(e: &mysql::Error) -> bool {
    const CODES: &[u16] = &[
        1007, // database exists
        1008, // database does not exist
        1050, // table exists
        1051, // unknown table (DROP)
        1054, // unknown column (a dropped or renamed column)
        1060, // duplicate column
        1022, // duplicate key (a constraint of that name)
        1061, // duplicate key name
        1068, // multiple primary key
        1091, // can't drop column or key: it does not exist
        1146, // table does not exist
        1304, // routine exists
        1305, // routine does not exist
        1359, // trigger exists
        1360, // trigger does not exist
        1537, // event exists
        1539, // unknown event
        1826, // duplicate foreign key
        4090, // sequence exists (MariaDB)
    ];
    matches!(e, mysql::Error::MySqlError(m) if CODES.contains(&m.code))
}

/// How long a failing operation keeps being retried, per class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryWindows {
    /// For lost connections.
    pub connection: Duration,
    /// For deadlocks, lock waits and read-only servers.
    pub other: Duration,
}

impl Default for RetryWindows {
    /// The managed service's defaults: 720 minutes for connections, 10 for the rest.
    fn default() -> Self {
        RetryWindows { connection: Duration::from_secs(720 * 60), other: Duration::from_secs(10 * 60) }
    }
}

impl RetryWindows {
    /// The window for a class (`None` for a definite error: no retry).
    pub fn for_class(&self, class: ErrorClass) -> Option<Duration> {
        match class {
            ErrorClass::TransientConnection => Some(self.connection),
            ErrorClass::TransientOther => Some(self.other),
            ErrorClass::Definite => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_lost_connections() {
        let e = mysql::Error::IoError(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset"));
        assert_eq!(classify(&e), ErrorClass::TransientConnection);
    }

    #[test]
    fn windows_follow_the_class() {
        let w = RetryWindows::default();
        assert_eq!(w.for_class(ErrorClass::TransientConnection), Some(Duration::from_secs(43_200)));
        assert_eq!(w.for_class(ErrorClass::TransientOther), Some(Duration::from_secs(600)));
        assert_eq!(w.for_class(ErrorClass::Definite), None);
        assert!(!ErrorClass::Definite.is_transient());
    }
}
