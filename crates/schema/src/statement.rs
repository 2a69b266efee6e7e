//! Classifies a DDL statement and finds the objects it names, with the token positions of
//! each name so it can be rewritten in place.

use crate::lexer::{Kind, Token, lex};

/// A (possibly qualified) object name in a statement: where its parts sit in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRef {
    /// The database part, if written (`db`.`t`), with its token index.
    pub database: Option<(String, usize)>,
    pub name: String,
    /// Token index of the name part.
    pub token: usize,
}

impl NameRef {
    /// The database this name refers to, given the statement's default database.
    pub fn database_or<'a>(&'a self, default: Option<&'a str>) -> Option<&'a str> {
        self.database.as_ref().map(|(d, _)| d.as_str()).or(default)
    }
}

/// What a statement is, as far as sync decides what to do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementKind {
    CreateTable {
        table: NameRef,
        like: Option<NameRef>,
        temporary: bool,
    },
    AlterTable {
        table: NameRef,
        rename_to: Option<NameRef>,
    },
    DropTable {
        tables: Vec<NameRef>,
        temporary: bool,
        if_exists: bool,
    },
    RenameTable {
        pairs: Vec<(NameRef, NameRef)>,
    },
    TruncateTable {
        table: NameRef,
    },
    CreateIndex {
        table: NameRef,
    },
    DropIndex {
        table: NameRef,
    },
    CreateDatabase {
        database: NameRef,
    },
    AlterDatabase {
        database: Option<NameRef>,
    },
    DropDatabase {
        database: NameRef,
    },
    CreateView {
        view: NameRef,
    },
    AlterView {
        view: NameRef,
    },
    DropView {
        views: Vec<NameRef>,
        if_exists: bool,
    },
    /// CREATE PROCEDURE / FUNCTION / EVENT / SEQUENCE.
    CreateRoutine {
        kind: &'static str,
        name: NameRef,
    },
    DropRoutine {
        kind: &'static str,
        name: NameRef,
    },
    /// ALTER PROCEDURE / FUNCTION / EVENT / SEQUENCE.
    AlterRoutine {
        kind: &'static str,
        name: NameRef,
    },
    CreateTrigger {
        trigger: NameRef,
        table: NameRef,
    },
    DropTrigger {
        trigger: NameRef,
    },
    /// GRANT, REVOKE, user and role management, passwords: never replicated.
    AccountManagement,
    /// Anything else (transaction control, maintenance, DML in a QUERY event...).
    Other {
        verb: String,
    },
}

/// A lexed, classified statement.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    pub tokens: Vec<Token>,
    pub kind: StatementKind,
}

/// Why a statement could not be classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The statement cannot be cut into tokens.
    #[error(transparent)]
    Lex(#[from] crate::lexer::LexError),
    /// The statement does not have the shape its kind needs.
    #[error("{statement}: expected {expected} at token {at}")]
    Expected {
        /// The statement's first 80 characters.
        statement: String,
        /// What was expected.
        expected: String,
        /// The token index where.
        at: usize,
    },
}

struct P<'a> {
    t: &'a [Token],
    i: usize,
    sql: &'a str,
}

impl<'a> P<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.t.get(self.i)
    }
    fn kw(&mut self, kw: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_kw(kw)) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn kws(&mut self, kws: &[&str]) -> bool {
        let save = self.i;
        for k in kws {
            if !self.kw(k) {
                self.i = save;
                return false;
            }
        }
        true
    }
    fn punct(&mut self, p: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_punct(p)) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn fail<T>(&self, expected: &str) -> Result<T, ParseError> {
        let head: String = self.sql.chars().take(80).collect();
        Err(ParseError::Expected { statement: head, expected: expected.into(), at: self.i })
    }
    /// `name` or `db.name`.
    fn name(&mut self) -> Result<NameRef, ParseError> {
        let Some(first) = self.peek().filter(|t| t.is_ident()) else { return self.fail("a name") };
        let first_i = self.i;
        self.i += 1;
        if self.peek().is_some_and(|t| t.is_punct(".")) && self.t.get(self.i + 1).is_some_and(Token::is_ident) {
            self.i += 2;
            return Ok(NameRef {
                database: Some((first.text.clone(), first_i)),
                name: self.t[self.i - 1].text.clone(),
                token: self.i - 1,
            });
        }
        Ok(NameRef { database: None, name: first.text.clone(), token: first_i })
    }
    fn names(&mut self) -> Result<Vec<NameRef>, ParseError> {
        let mut v = vec![self.name()?];
        while self.punct(",") {
            v.push(self.name()?);
        }
        Ok(v)
    }
    /// Skips `DEFINER = user`, `ALGORITHM = x`, `SQL SECURITY x` and the like before a kind.
    fn skip_view_prefix(&mut self) {
        loop {
            if self.kw("ALGORITHM") || self.kw("DEFINER") {
                self.punct("=");
                // user@host, CURRENT_USER, CURRENT_USER()
                self.i += 1;
                if self.peek().is_some_and(|t| t.kind == Kind::Variable) {
                    self.i += 1;
                } else if self.punct("(") {
                    self.punct(")");
                }
            } else if self.kws(&["SQL", "SECURITY"]) {
                self.i += 1;
            } else {
                break;
            }
        }
    }
}

/// Lexes and classifies a statement. `ansi_quotes` follows the statement's sql_mode.
pub fn parse(sql: &str, ansi_quotes: bool) -> Result<Statement, ParseError> {
    let tokens = lex(sql, ansi_quotes)?;
    let kind = classify(&tokens, sql)?;
    Ok(Statement { sql: sql.to_string(), tokens, kind })
}

fn classify(tokens: &[Token], sql: &str) -> Result<StatementKind, ParseError> {
    use StatementKind as K;
    let mut p = P { t: tokens, i: 0, sql };
    let verb = p.peek().map(|t| t.text.to_ascii_uppercase()).unwrap_or_default();
    if p.kw("CREATE") {
        p.kws(&["OR", "REPLACE"]);
        let temporary = p.kw("TEMPORARY");
        if p.kw("TABLE") {
            p.kws(&["IF", "NOT", "EXISTS"]);
            let table = p.name()?;
            let like = if p.kw("LIKE") || (p.punct("(") && p.kw("LIKE")) { Some(p.name()?) } else { None };
            return Ok(K::CreateTable { table, like, temporary });
        }
        if p.kw("DATABASE") || p.kw("SCHEMA") {
            p.kws(&["IF", "NOT", "EXISTS"]);
            return Ok(K::CreateDatabase { database: p.name()? });
        }
        // Optional keyword: consumed when present.
        let _ = p.kw("ONLINE") || p.kw("OFFLINE");
        // Optional keywords: consumed when present.
        let _ = p.kw("UNIQUE") || p.kw("FULLTEXT") || p.kw("SPATIAL");
        if p.kw("INDEX") {
            p.kws(&["IF", "NOT", "EXISTS"]);
            p.name()?;
            while p.peek().is_some_and(|t| !t.is_kw("ON")) {
                p.i += 1;
            }
            if !p.kw("ON") {
                return p.fail("ON table");
            }
            return Ok(K::CreateIndex { table: p.name()? });
        }
        p.skip_view_prefix();
        if p.kw("VIEW") {
            p.kws(&["IF", "NOT", "EXISTS"]);
            return Ok(K::CreateView { view: p.name()? });
        }
        for kind in ["PROCEDURE", "FUNCTION", "EVENT", "SEQUENCE"] {
            if p.kw(kind) {
                p.kws(&["IF", "NOT", "EXISTS"]);
                return Ok(K::CreateRoutine { kind: leak(kind), name: p.name()? });
            }
        }
        if p.kw("AGGREGATE") && p.kw("FUNCTION") {
            p.kws(&["IF", "NOT", "EXISTS"]);
            return Ok(K::CreateRoutine { kind: "FUNCTION", name: p.name()? });
        }
        if p.kw("TRIGGER") {
            p.kws(&["IF", "NOT", "EXISTS"]);
            let trigger = p.name()?;
            while p.peek().is_some_and(|t| !t.is_kw("ON")) {
                p.i += 1;
            }
            if !p.kw("ON") {
                return p.fail("ON table");
            }
            return Ok(K::CreateTrigger { trigger, table: p.name()? });
        }
        if p.kw("USER") || p.kw("ROLE") {
            return Ok(K::AccountManagement);
        }
        return Ok(K::Other { verb: "CREATE".into() });
    }
    if p.kw("ALTER") {
        p.kw("ONLINE");
        p.kw("IGNORE");
        if p.kw("TABLE") {
            p.kws(&["IF", "EXISTS"]);
            let table = p.name()?;
            // ALTER TABLE t ..., RENAME [TO|AS] x
            let mut rename_to = None;
            let mut depth = 0i32;
            while let Some(t) = p.peek() {
                if t.is_punct("(") {
                    depth += 1;
                } else if t.is_punct(")") {
                    depth -= 1;
                } else if depth == 0 && t.is_kw("RENAME") {
                    let save = p.i;
                    p.i += 1;
                    if p.kw("COLUMN") || p.kw("INDEX") || p.kw("KEY") {
                        continue;
                    }
                    // Optional keyword: consumed when present.
                    let _ = p.kw("TO") || p.kw("AS");
                    match p.name() {
                        Ok(n) => {
                            rename_to = Some(n);
                            continue;
                        }
                        Err(_) => p.i = save + 1,
                    }
                    continue;
                }
                p.i += 1;
            }
            return Ok(K::AlterTable { table, rename_to });
        }
        if p.kw("DATABASE") || p.kw("SCHEMA") {
            let database = p.peek().filter(|t| t.is_ident() && !is_db_option(t)).map(|_| p.name()).transpose()?;
            return Ok(K::AlterDatabase { database });
        }
        p.skip_view_prefix();
        if p.kw("VIEW") {
            return Ok(K::AlterView { view: p.name()? });
        }
        for kind in ["PROCEDURE", "FUNCTION", "EVENT", "SEQUENCE"] {
            if p.kw(kind) {
                p.kws(&["IF", "EXISTS"]);
                return Ok(K::AlterRoutine { kind: leak(kind), name: p.name()? });
            }
        }
        if p.kw("USER") || p.kw("ROLE") {
            return Ok(K::AccountManagement);
        }
        return Ok(K::Other { verb: "ALTER".into() });
    }
    if p.kw("DROP") {
        let temporary = p.kw("TEMPORARY");
        if p.kw("TABLE") || p.kw("TABLES") {
            let if_exists = p.kws(&["IF", "EXISTS"]);
            return Ok(K::DropTable { tables: p.names()?, temporary, if_exists });
        }
        if p.kw("DATABASE") || p.kw("SCHEMA") {
            p.kws(&["IF", "EXISTS"]);
            return Ok(K::DropDatabase { database: p.name()? });
        }
        // Optional keyword: consumed when present.
        let _ = p.kw("ONLINE") || p.kw("OFFLINE");
        if p.kw("INDEX") {
            p.kws(&["IF", "EXISTS"]);
            p.name()?;
            if !p.kw("ON") {
                return p.fail("ON table");
            }
            return Ok(K::DropIndex { table: p.name()? });
        }
        if p.kw("VIEW") {
            let if_exists = p.kws(&["IF", "EXISTS"]);
            return Ok(K::DropView { views: p.names()?, if_exists });
        }
        for kind in ["PROCEDURE", "FUNCTION", "EVENT", "SEQUENCE"] {
            if p.kw(kind) {
                p.kws(&["IF", "EXISTS"]);
                return Ok(K::DropRoutine { kind: leak(kind), name: p.name()? });
            }
        }
        if p.kw("TRIGGER") {
            p.kws(&["IF", "EXISTS"]);
            return Ok(K::DropTrigger { trigger: p.name()? });
        }
        if p.kw("USER") || p.kw("ROLE") {
            return Ok(K::AccountManagement);
        }
        return Ok(K::Other { verb: "DROP".into() });
    }
    if p.kw("RENAME") {
        if p.kw("TABLE") || p.kw("TABLES") {
            let mut pairs = Vec::new();
            loop {
                let from = p.name()?;
                if !p.kw("TO") {
                    return p.fail("TO");
                }
                pairs.push((from, p.name()?));
                if !p.punct(",") {
                    break;
                }
            }
            return Ok(K::RenameTable { pairs });
        }
        if p.kw("USER") {
            return Ok(K::AccountManagement);
        }
    }
    if p.kw("TRUNCATE") {
        p.kw("TABLE");
        return Ok(K::TruncateTable { table: p.name()? });
    }
    if matches!(verb.as_str(), "GRANT" | "REVOKE") || (p.kw("SET") && (p.kw("PASSWORD") || p.kws(&["DEFAULT", "ROLE"])))
    {
        return Ok(K::AccountManagement);
    }
    Ok(K::Other { verb })
}

fn is_db_option(t: &Token) -> bool {
    t.kind == Kind::Word
        && ["CHARACTER", "CHARSET", "COLLATE", "DEFAULT", "COMMENT", "ENCRYPTION", "READ", "UPGRADE"]
            .iter()
            .any(|k| t.text.eq_ignore_ascii_case(k))
}

fn leak(kind: &str) -> &'static str {
    match kind {
        "PROCEDURE" => "PROCEDURE",
        "FUNCTION" => "FUNCTION",
        "EVENT" => "EVENT",
        _ => "SEQUENCE",
    }
}

/// The tables a statement changes, as (database, table) — the database as written, else
/// `default_db` — for rules that are per table (a table copied again skips its DDL from
/// before the copy): ALTER, CREATE, DROP, TRUNCATE and RENAME TABLE, CREATE and DROP INDEX.
/// Empty for every other statement, and for a name without a database and no default.
pub fn tables_changed(
    sql: &str,
    default_db: Option<&str>,
    ansi_quotes: bool,
) -> Result<Vec<(String, String)>, ParseError> {
    let s = parse(sql, ansi_quotes)?;
    let names: Vec<&NameRef> = match &s.kind {
        StatementKind::CreateTable { table, temporary: false, .. }
        | StatementKind::TruncateTable { table }
        | StatementKind::CreateIndex { table }
        | StatementKind::DropIndex { table } => vec![table],
        StatementKind::AlterTable { table, rename_to } => {
            [Some(table), rename_to.as_ref()].into_iter().flatten().collect()
        }
        StatementKind::DropTable { tables, temporary: false, .. } => tables.iter().collect(),
        StatementKind::RenameTable { pairs } => pairs.iter().flat_map(|(a, b)| [a, b]).collect(),
        _ => Vec::new(),
    };
    Ok(names.into_iter().filter_map(|n| n.database_or(default_db).map(|d| (d.to_string(), n.name.clone()))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(sql: &str) -> StatementKind {
        parse(sql, false).unwrap_or_else(|e| panic!("{sql}: {e}")).kind
    }

    #[test]
    fn classifies_the_statements_sync_cares_about() {
        assert!(
            matches!(kind("create table if not exists `d`.`t` (a int)"), StatementKind::CreateTable { table, .. } if table.name == "t" && table.database.as_ref().unwrap().0 == "d")
        );
        assert!(
            matches!(kind("CREATE TABLE t2 LIKE t1"), StatementKind::CreateTable { like: Some(l), .. } if l.name == "t1")
        );
        assert!(
            matches!(kind("ALTER TABLE t ADD COLUMN c INT, RENAME TO u"), StatementKind::AlterTable { rename_to: Some(r), .. } if r.name == "u")
        );
        assert!(matches!(
            kind("ALTER TABLE t RENAME COLUMN a TO b"),
            StatementKind::AlterTable { rename_to: None, .. }
        ));
        assert!(
            matches!(kind("DROP TABLE IF EXISTS a, b.c /* generated by server */"), StatementKind::DropTable { tables, if_exists: true, .. } if tables.len() == 2)
        );
        assert!(
            matches!(kind("RENAME TABLE a TO b, c TO d"), StatementKind::RenameTable { pairs } if pairs.len() == 2)
        );
        assert!(matches!(kind("TRUNCATE t"), StatementKind::TruncateTable { .. }));
        assert!(
            matches!(kind("CREATE UNIQUE INDEX i USING BTREE ON t (a)"), StatementKind::CreateIndex { table } if table.name == "t")
        );
        assert!(matches!(kind("DROP INDEX i ON d.t"), StatementKind::DropIndex { .. }));
        assert!(
            matches!(kind("CREATE DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW v AS SELECT 1"), StatementKind::CreateView { view } if view.name == "v")
        );
        assert!(
            matches!(kind("CREATE DEFINER=`root`@`%` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1"), StatementKind::CreateTrigger { table, .. } if table.name == "t")
        );
        assert!(matches!(
            kind("CREATE DEFINER=CURRENT_USER PROCEDURE p() BEGIN END"),
            StatementKind::CreateRoutine { kind: "PROCEDURE", .. }
        ));
        assert!(matches!(
            kind("ALTER DATABASE d CHARACTER SET utf8mb4"),
            StatementKind::AlterDatabase { database: Some(_) }
        ));
        assert!(matches!(
            kind("ALTER DATABASE CHARACTER SET utf8mb4"),
            StatementKind::AlterDatabase { database: None }
        ));
        for s in [
            "GRANT ALL ON *.* TO x",
            "REVOKE ALL ON *.* FROM x",
            "CREATE USER x",
            "ALTER USER x IDENTIFIED BY 'p'",
            "DROP USER x",
            "SET PASSWORD FOR x = 'p'",
            "RENAME USER a TO b",
            "CREATE ROLE r",
        ] {
            assert_eq!(kind(s), StatementKind::AccountManagement, "{s}");
        }
        assert!(matches!(kind("SAVEPOINT a"), StatementKind::Other { .. }));
    }

    #[test]
    fn tables_changed_names_the_tables_of_table_ddl_only() {
        let t = |sql: &str| tables_changed(sql, Some("d"), false).unwrap();
        assert_eq!(t("ALTER TABLE items ADD COLUMN mid INT AFTER id"), [("d".into(), "items".into())]);
        assert_eq!(t("RENAME TABLE a TO x.b"), [("d".into(), "a".into()), ("x".into(), "b".into())]);
        assert_eq!(t("CREATE INDEX i ON o.t (c)"), [("o".into(), "t".into())]);
        assert!(t("CREATE VIEW v AS SELECT 1").is_empty());
        assert!(t("CREATE TEMPORARY TABLE tmp (a INT)").is_empty());
    }
}
