//! Triggers never fire on the rows the task writes: the changes a trigger made on the source
//! reach the destination through the binlog (and the full copy) already. The task file's
//! `[task] triggers` chooses how the destination gets its triggers.

use serde::{Deserialize, Serialize};

use crate::lexer::Token;

/// When and how the source's triggers are created on the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerPolicy {
    /// Never (the default): the destination has no triggers of the source's.
    #[default]
    None,
    /// By `dts-sync cutover`, once writes have moved to the destination and the task is stopped.
    AtCutover,
    /// At schema sync and by incremental DDL, each body wrapped in
    /// `IF @dts_sync IS NULL THEN ... END IF`: the task's sessions set `@dts_sync`
    /// ([`dts_types::session::TASK_SESSION_VARIABLE`]), so the trigger does nothing for them and
    /// fires for every other session. `dts-sync cutover` replaces them with the source's bodies.
    Guarded,
}

/// The edits wrapping the body of the CREATE TRIGGER in `tokens` (text `sql`) in the guard on
/// the task's session variable; `None` when the statement has no `FOR EACH ROW`.
pub fn guard(sql: &str, tokens: &[Token]) -> Option<Vec<(usize, usize, String)>> {
    let each = (0..tokens.len().saturating_sub(2))
        .find(|&i| tokens[i].is_kw("FOR") && tokens[i + 1].is_kw("EACH") && tokens[i + 2].is_kw("ROW"))?;
    // FOR EACH ROW [{FOLLOWS | PRECEDES} other_trigger] body
    let mut body = each + 3;
    if tokens.get(body).is_some_and(|t| t.is_kw("FOLLOWS") || t.is_kw("PRECEDES")) {
        body += 2;
    }
    let start = tokens.get(body)?.start;
    let end = sql.trim_end().trim_end_matches(';').trim_end().len();
    let var = dts_types::session::TASK_SESSION_VARIABLE;
    Some(vec![(start, start, format!("IF {var} IS NULL THEN ")), (end, end, "; END IF".into())])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::{lex, splice};

    #[test]
    fn bodies_are_guarded() {
        let g = |sql: &str| splice(sql, guard(sql, &lex(sql, false).unwrap()).unwrap());
        assert_eq!(
            g("CREATE TRIGGER a AFTER INSERT ON t FOR EACH ROW INSERT INTO audit VALUES (NEW.id)"),
            "CREATE TRIGGER a AFTER INSERT ON t FOR EACH ROW IF @dts_sync IS NULL THEN INSERT INTO audit VALUES (NEW.id); END IF"
        );
        assert_eq!(
            g("CREATE TRIGGER b BEFORE UPDATE ON t FOR EACH ROW FOLLOWS a BEGIN SET NEW.n = 1; END;"),
            "CREATE TRIGGER b BEFORE UPDATE ON t FOR EACH ROW FOLLOWS a IF @dts_sync IS NULL THEN BEGIN SET NEW.n = 1; END; END IF;"
        );
    }
}
