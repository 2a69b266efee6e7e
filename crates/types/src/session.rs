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

/// [`SQL_MODE`] without strictness, for the one value strict mode cannot write: an ENUM's
/// index 0 (the `''` a non-strict source session stores for an invalid member). Only statements
/// writing such a value run under it (see [`allowing_enum_zero`]).
pub const SQL_MODE_ENUM_ZERO: &str = "ALLOW_INVALID_DATES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION";

/// `statement` run under [`SQL_MODE_ENUM_ZERO`] for itself only (MariaDB's `SET STATEMENT`).
///
/// The server then writes each ENUM index 0 with exactly one warning (1265): the caller must
/// check that the statement's warning count equals the number of index-0 values it wrote
/// ([`crate::Value::is_enum_zero`]), so any other value the non-strict mode would change
/// (it warns too) stops the write instead of passing silently.
pub fn allowing_enum_zero(statement: &str) -> String {
    set_statement(statement, true, false)
}

/// `statement` with session settings of its own (MariaDB's `SET STATEMENT`): non-strict for
/// ENUM index 0 (see [`allowing_enum_zero`]), and `foreign_key_checks = 1` for a parent's
/// UPDATE or DELETE whose cascades the destination must repeat (see [`crate::fk`]).
pub fn set_statement(statement: &str, enum_zero: bool, foreign_key_checks: bool) -> String {
    let mut vars = Vec::new();
    if enum_zero {
        vars.push(format!("sql_mode = '{SQL_MODE_ENUM_ZERO}'"));
    }
    if foreign_key_checks {
        vars.push("foreign_key_checks = 1".to_string());
    }
    if vars.is_empty() { statement.to_string() } else { format!("SET STATEMENT {} FOR {statement}", vars.join(", ")) }
}
