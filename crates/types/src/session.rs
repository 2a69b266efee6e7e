//! The session settings under which values move between servers exactly.
//!
//! Every connection that reads or writes row values runs these statements first:
//! - `SET NAMES binary`: string bytes travel unchanged in both directions (no conversion to or
//!   from a client charset); literals carry their own charset as an introducer.
//! - `time_zone = '+00:00'`: TIMESTAMP text is UTC, matching [`crate::Timestamp`].
//! - [`SQL_MODE`]: strict, so a value that does not fit is an error instead of a silent change,
//!   but accepting zero and partial-zero dates and invalid days, which a source may hold.
//! - [`TASK_SESSION_VARIABLE`] set: the destination's triggers created guarded (the task
//!   file's `triggers = "guarded"`) do nothing for the task's own sessions, whose rows already
//!   carry the triggers' effects from the source.

/// The user variable every task session sets (`SET @dts_sync = 1`); a guarded trigger's body
/// runs only where it is NULL.
pub const TASK_SESSION_VARIABLE: &str = "@dts_sync";

/// Strict, yet accepting every date a source can hold: no NO_ZERO_DATE / NO_ZERO_IN_DATE,
/// plus ALLOW_INVALID_DATES; NO_AUTO_VALUE_ON_ZERO keeps a 0 in an AUTO_INCREMENT column.
pub const SQL_MODE: &str = "STRICT_ALL_TABLES,ALLOW_INVALID_DATES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION";

/// Statements to run at the start of every value-moving session.
pub fn init_statements() -> [String; 4] {
    [
        "SET NAMES binary".to_string(),
        "SET time_zone = '+00:00'".to_string(),
        format!("SET sql_mode = '{SQL_MODE}'"),
        format!("SET {TASK_SESSION_VARIABLE} = 1"),
    ]
}
