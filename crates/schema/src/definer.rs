//! The `DEFINER` of views, routines, triggers and events on the destination (the task file's
//! `[task] definer`), one rule for schema sync and for incremental DDL.
//!
//! The source's definer account may not exist on the destination, and naming another account
//! than one's own needs SUPER (MySQL: SET_USER_ID), which a managed destination rarely grants.
//! `SQL SECURITY` is kept as written: an `SQL SECURITY DEFINER` object runs with the privileges
//! of the definer this policy chooses.

use serde::{Deserialize, Serialize};

use crate::lexer::{Kind, Token};

/// Whose account the destination's views, routines, triggers and events are defined by.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DefinerPolicy {
    /// The source's `DEFINER` as written (the account must exist on the destination, and the
    /// task's account needs SUPER or SET USER unless it is that account).
    Keep,
    /// The task's destination account (`DEFINER` removed: the server uses CURRENT_USER).
    #[default]
    Destination,
    /// A named account, rendered `` `user`@`host` ``.
    Account(String),
}

impl DefinerPolicy {
    /// Reads the task file's value: `keep`, `destination`, or an account `user@host`.
    pub fn parse(value: &str) -> Result<DefinerPolicy, String> {
        match value {
            "keep" => Ok(DefinerPolicy::Keep),
            "destination" => Ok(DefinerPolicy::Destination),
            account => {
                let (user, host) = account.rsplit_once('@').ok_or_else(|| {
                    format!("{account:?} is neither \"keep\", \"destination\" nor an account user@host")
                })?;
                let unquote = |s: &str| {
                    let s = s.trim();
                    for q in ['`', '\'', '"'] {
                        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
                            return s[1..s.len() - 1].to_string();
                        }
                    }
                    s.to_string()
                };
                let (user, host) = (unquote(user), unquote(host));
                if user.is_empty() || host.is_empty() {
                    return Err(format!("{account:?}: the account needs a user and a host (user@host)"));
                }
                Ok(DefinerPolicy::Account(format!(
                    "{}@{}",
                    dts_types::quote_ident(&user),
                    dts_types::quote_ident(&host)
                )))
            }
        }
    }

    /// The `DEFINER=...` clause for an `ALTER ... EVENT` the task itself runs, given the
    /// source's definer `user@host` (information_schema's spelling); empty for the destination
    /// account.
    pub fn clause(&self, source_definer: &str) -> String {
        match self {
            DefinerPolicy::Destination => String::new(),
            DefinerPolicy::Account(a) => format!("DEFINER={a} "),
            DefinerPolicy::Keep => match source_definer.rsplit_once('@') {
                Some((u, h)) => format!("DEFINER={}@{} ", dts_types::quote_ident(u), dts_types::quote_ident(h)),
                None => String::new(),
            },
        }
    }

    /// The edits (byte range, replacement) that give the statement in `tokens` this policy's
    /// definer. Only the statement's head is looked at: the `DEFINER = ...` clause before the
    /// object kind (VIEW, PROCEDURE, FUNCTION, TRIGGER, EVENT).
    pub fn edits(&self, tokens: &[Token]) -> Vec<(usize, usize, String)> {
        if *self == DefinerPolicy::Keep {
            return Vec::new();
        }
        let head_end = tokens
            .iter()
            .position(|t| {
                ["VIEW", "PROCEDURE", "FUNCTION", "TRIGGER", "EVENT", "AGGREGATE", "SEQUENCE"]
                    .iter()
                    .any(|k| t.is_kw(k))
            })
            .unwrap_or(tokens.len());
        let head = &tokens[..head_end];
        let Some(i) = head.iter().position(|t| t.is_kw("DEFINER")) else {
            return match self {
                // No clause: the server uses CURRENT_USER; a named account goes in front of the
                // kind of a CREATE, an ALTER EVENT or ALTER VIEW (which would make the task's
                // account the definer); ALTER PROCEDURE / FUNCTION take none and keep theirs.
                DefinerPolicy::Account(a)
                    if head_end < tokens.len()
                        && head_end > 0
                        && (tokens[0].is_kw("CREATE")
                            || tokens[head_end].is_kw("EVENT")
                            || tokens[head_end].is_kw("VIEW")) =>
                {
                    // Before the kind (and before ALGORITHM / SQL SECURITY, which may come first
                    // only for views, where DEFINER may stand after them too).
                    vec![(tokens[head_end].start, tokens[head_end].start, format!("DEFINER={a} "))]
                }
                _ => Vec::new(),
            };
        };
        // DEFINER = `u`@`h` (lexed as the user, then the variable @`h`), CURRENT_USER[()],
        // or 'u'@'h'.
        let mut end = i + 1;
        if head.get(end).is_some_and(|t| t.is_punct("=")) {
            end += 1;
        }
        if end >= head.len() {
            return Vec::new();
        }
        if head.get(end + 1).is_some_and(|t| t.kind == Kind::Variable) {
            end += 1;
        } else if head.get(end + 1).is_some_and(|t| t.is_punct("("))
            && head.get(end + 2).is_some_and(|t| t.is_punct(")"))
        {
            end += 2;
        }
        let replacement = match self {
            DefinerPolicy::Keep => unreachable!("returned above"),
            DefinerPolicy::Destination => String::new(),
            DefinerPolicy::Account(a) => format!("DEFINER={a}"),
        };
        // Removing: take the space after it too.
        vec![(tokens[i].start, tokens[end].end, replacement)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::{lex, splice};

    fn run(p: &DefinerPolicy, sql: &str) -> String {
        splice(sql, p.edits(&lex(sql, false).unwrap()))
    }

    #[test]
    fn each_policy() {
        let v = "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v` AS select 1";
        assert_eq!(run(&DefinerPolicy::Keep, v), v);
        assert_eq!(
            run(&DefinerPolicy::Destination, v),
            "CREATE ALGORITHM=UNDEFINED  SQL SECURITY DEFINER VIEW `v` AS select 1"
        );
        let app = DefinerPolicy::parse("app@%").unwrap();
        assert_eq!(
            run(&app, v),
            "CREATE ALGORITHM=UNDEFINED DEFINER=`app`@`%` SQL SECURITY DEFINER VIEW `v` AS select 1"
        );
        assert_eq!(
            run(&app, "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET NEW.definer = 1"),
            "CREATE DEFINER=`app`@`%` TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET NEW.definer = 1"
        );
        assert_eq!(
            run(&DefinerPolicy::Destination, "CREATE DEFINER=CURRENT_USER() PROCEDURE p() SELECT 1"),
            "CREATE  PROCEDURE p() SELECT 1"
        );
        assert_eq!(
            run(
                &DefinerPolicy::parse("'ops'@'10.%'").unwrap(),
                "CREATE DEFINER='a'@'b' EVENT e ON SCHEDULE EVERY 1 DAY DO SELECT 1"
            ),
            "CREATE DEFINER=`ops`@`10.%` EVENT e ON SCHEDULE EVERY 1 DAY DO SELECT 1"
        );
        assert!(DefinerPolicy::parse("nobody").is_err());
        assert!(DefinerPolicy::parse("@h").is_err());
    }
}
