//! Events on the destination are created disabled, as MariaDB's own replicas do (`DISABLE ON
//! SLAVE`): the rows they write on the source arrive through the binlog, so an event firing on
//! the destination too would apply its changes twice. `dts-sync cutover` enables the ones the
//! source has enabled.

use crate::lexer::Token;

/// The edits that make a CREATE EVENT or ALTER EVENT leave the event disabled on the
/// destination: an `ENABLE` / `DISABLE` / `DISABLE ON SLAVE` clause becomes `DISABLE ON SLAVE`;
/// a CREATE without one gets it before its `COMMENT` or `DO`. An ALTER without one keeps the
/// event's status, which is already disabled.
pub fn disabled_on_destination(tokens: &[Token], create: bool) -> Vec<(usize, usize, String)> {
    // The clauses come before the body: stop at the first DO.
    let body = tokens.iter().position(|t| t.is_kw("DO")).unwrap_or(tokens.len());
    let head = &tokens[..body];
    for (i, t) in head.iter().enumerate() {
        if t.is_kw("ENABLE") {
            return vec![(t.start, t.end, "DISABLE ON SLAVE".into())];
        }
        if t.is_kw("DISABLE") {
            // DISABLE [ON SLAVE]: already disabled; say it the replica's way.
            let end = if head.get(i + 1).is_some_and(|x| x.is_kw("ON"))
                && head.get(i + 2).is_some_and(|x| x.is_kw("SLAVE"))
            {
                head[i + 2].end
            } else {
                t.end
            };
            return vec![(t.start, end, "DISABLE ON SLAVE".into())];
        }
    }
    if !create || body >= tokens.len() {
        return Vec::new();
    }
    // ... [ON COMPLETION [NOT] PRESERVE] [COMMENT 'x'] DO: before COMMENT (a clause of the head
    // named COMMENT, not a word inside the schedule), else before DO.
    let at = head.iter().rposition(|t| t.is_kw("COMMENT")).unwrap_or(body);
    vec![(tokens[at].start, tokens[at].start, "DISABLE ON SLAVE ".into())]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::{lex, splice};

    fn run(sql: &str, create: bool) -> String {
        splice(sql, disabled_on_destination(&lex(sql, false).unwrap(), create))
    }

    #[test]
    fn events_stay_disabled() {
        assert_eq!(
            run("CREATE EVENT e ON SCHEDULE EVERY 1 SECOND DO INSERT INTO t VALUES (1)", true),
            "CREATE EVENT e ON SCHEDULE EVERY 1 SECOND DISABLE ON SLAVE DO INSERT INTO t VALUES (1)"
        );
        assert_eq!(
            run(
                "CREATE EVENT e ON SCHEDULE EVERY 1 SECOND ON COMPLETION PRESERVE ENABLE COMMENT 'x' DO SELECT 1",
                true
            ),
            "CREATE EVENT e ON SCHEDULE EVERY 1 SECOND ON COMPLETION PRESERVE DISABLE ON SLAVE COMMENT 'x' DO SELECT 1"
        );
        assert_eq!(
            run("CREATE EVENT e ON SCHEDULE EVERY 1 DAY COMMENT 'c' DO SELECT 'ENABLE'", true),
            "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DISABLE ON SLAVE COMMENT 'c' DO SELECT 'ENABLE'"
        );
        assert_eq!(run("ALTER EVENT e ENABLE", false), "ALTER EVENT e DISABLE ON SLAVE");
        assert_eq!(run("ALTER EVENT e RENAME TO f", false), "ALTER EVENT e RENAME TO f");
        assert_eq!(
            run("ALTER EVENT e ON SCHEDULE EVERY 2 SECOND DO BEGIN SET @x = 'enable'; END", false),
            "ALTER EVENT e ON SCHEDULE EVERY 2 SECOND DO BEGIN SET @x = 'enable'; END"
        );
    }
}
