//! Errors in words for people: a whole cause chain on one line, and the `mysql` crate's errors
//! without its Debug-like wrapping (`MySqlError { ... }`).
//!
//! ```
//! #[derive(Debug, thiserror::Error)]
//! #[error("applying to `shop`.`items`")]
//! struct Apply(#[source] std::io::Error);
//!
//! let e = Apply(std::io::Error::other("connection reset"));
//! assert_eq!(dts_types::describe::chain(&e), "applying to `shop`.`items`: connection reset");
//! ```

use std::error::Error;

/// The error and every cause under it, joined with `": "`. A level whose message already
/// quotes its cause (`#[error("destination: {0}")]`) is not repeated; `mysql` errors anywhere
/// in the chain are written as [`server_error`] words.
pub fn chain(e: &(dyn Error + 'static)) -> String {
    let own = level(e);
    let Some(cause) = e.source() else { return own };
    let rendered = chain(cause);
    let quoted = cause.to_string();
    if !quoted.is_empty() && own.contains(&quoted) {
        own.replacen(&quoted, &rendered, 1)
    } else {
        format!("{own}: {rendered}")
    }
}

fn level(e: &(dyn Error + 'static)) -> String {
    match e.downcast_ref::<mysql::Error>() {
        Some(m) => server_error(m),
        None => e.to_string(),
    }
}

/// A `mysql` crate error as a person reads it: the server's `ERROR code (state): message`,
/// or what happened to the connection.
pub fn server_error(e: &mysql::Error) -> String {
    match e {
        mysql::Error::MySqlError(m) => format!("ERROR {} ({}): {}", m.code, m.state, m.message),
        mysql::Error::IoError(io) => format!("connection error: {io}"),
        mysql::Error::CodecError(c) => format!("protocol error on the connection: {c}"),
        mysql::Error::DriverError(d) => d.to_string(),
        mysql::Error::UrlError(u) => format!("bad connection URL: {u}"),
        mysql::Error::TlsError(t) => format!("TLS: {t}"),
        mysql::Error::FromRowError(_) | mysql::Error::FromValueError(_) => {
            format!("unexpected value from the server ({e})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("incremental sync")]
        Apply(#[source] Inner),
    }

    #[derive(Debug, thiserror::Error)]
    enum Inner {
        #[error("destination: {0}")]
        Sql(#[from] mysql::Error),
    }

    fn table_missing() -> mysql::Error {
        mysql::Error::MySqlError(mysql::MySqlError {
            state: "42S02".into(),
            message: "Table 'shop.items' doesn't exist".into(),
            code: 1146,
        })
    }

    #[test]
    fn a_quoted_server_error_is_written_in_words_once() {
        let e = Outer::Apply(Inner::Sql(table_missing()));
        assert_eq!(chain(&e), "incremental sync: destination: ERROR 1146 (42S02): Table 'shop.items' doesn't exist");
        assert!(!chain(&e).contains("MySqlError"));
    }

    #[test]
    fn a_bare_server_error_is_words_too() {
        assert_eq!(chain(&table_missing()), "ERROR 1146 (42S02): Table 'shop.items' doesn't exist");
    }
}
