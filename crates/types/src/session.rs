//! The session settings under which values move between servers exactly.
//!
//! Every connection that reads or writes row values runs these statements first:
//! - `SET NAMES binary`: string bytes travel unchanged in both directions (no conversion to or
//!   from a client charset); literals carry their own charset as an introducer.
//! - `time_zone = '+00:00'`: TIMESTAMP text is UTC, matching [`crate::Timestamp`].
//! - [`SQL_MODE`]: strict, so a value that does not fit is an error instead of a silent change,
//!   but accepting zero and partial-zero dates and invalid days, which a source may hold.

/// Strict, yet accepting every date a source can hold: no NO_ZERO_DATE / NO_ZERO_IN_DATE,
/// plus ALLOW_INVALID_DATES; NO_AUTO_VALUE_ON_ZERO keeps a 0 in an AUTO_INCREMENT column.
pub const SQL_MODE: &str = "STRICT_ALL_TABLES,ALLOW_INVALID_DATES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION";

/// Statements to run at the start of every value-moving session.
pub fn init_statements() -> [String; 3] {
    ["SET NAMES binary".to_string(), "SET time_zone = '+00:00'".to_string(), format!("SET sql_mode = '{SQL_MODE}'")]
}
