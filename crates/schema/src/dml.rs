//! Writes the binlog carries as statements: a session with `binlog_format=STATEMENT` (or `MIXED`)
//! logs INSERT, UPDATE, DELETE, REPLACE, LOAD DATA and `CREATE TABLE ... SELECT` as their text,
//! not as rows. The task
//! cannot replay such a statement exactly, so it needs to know which objects it may write:
//! the one table of a single-table statement, and every database the statement names.

use crate::lexer::{Kind, Token, lex};
use crate::statement::ParseError;

/// A statement-format write: what it may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementWrite {
    /// Its verb, upper-cased (`INSERT`, `UPDATE`, `DELETE`, `REPLACE`, `LOAD`, `SELECT`, `DO`,
    /// `CREATE TABLE ... SELECT`).
    pub verb: String,
    /// The table it writes, `(database as written, table)`, when it writes exactly one
    /// (`INSERT INTO t ...`, `UPDATE t SET ...`, `DELETE FROM t WHERE ...`, `LOAD DATA ...
    /// INTO TABLE t`); `None` for multi-table forms and for functions called by SELECT or DO,
    /// which may write anywhere.
    pub table: Option<(Option<String>, String)>,
    /// Every name written as a qualifier (`x` of `x.y`): each may be a database it reads or
    /// writes (or a table alias, which only makes the list longer).
    pub qualifiers: Vec<String>,
}

/// Verbs of statements that write rows. SELECT and DO are logged only when they call a
/// function that wrote something.
const WRITE_VERBS: &[&str] = &["INSERT", "REPLACE", "UPDATE", "DELETE", "LOAD", "SELECT", "DO"];

/// The statement-format write `sql` is, or `None` when it is no row-writing statement.
pub fn statement_write(sql: &str, ansi_quotes: bool) -> Result<Option<StatementWrite>, ParseError> {
    let tokens = lex(sql, ansi_quotes)?;
    // `/* comment */` and `(` before the verb (a parenthesised SELECT) do not count.
    let Some(first) = tokens.iter().position(|t| !t.is_punct("(")) else { return Ok(None) };
    let t = &tokens[first..];
    let Some(verb) = t.first().filter(|v| v.kind == Kind::Word).map(|v| v.text.to_ascii_uppercase()) else {
        return Ok(None);
    };
    let qualifiers = qualifiers(&tokens);
    if verb == "CREATE" {
        // `CREATE TABLE t ... SELECT`: in row format the server logs the CREATE without its
        // SELECT, and the rows after it; with the SELECT, the rows are not in the binlog.
        // A temporary table is never replicated (a write from it to a synced table is judged).
        let i = skip_words(t, 1, &["OR", "REPLACE"]);
        if !t.get(i).is_some_and(|x| x.is_kw("TABLE")) || !t.iter().any(|x| x.is_kw("SELECT")) {
            return Ok(None);
        }
        let i = skip_words(t, i + 1, &["IF", "NOT", "EXISTS"]);
        let table = name_at(t, i).map(|(n, _)| n);
        return Ok(Some(StatementWrite { verb: "CREATE TABLE ... SELECT".into(), table, qualifiers }));
    }
    if !WRITE_VERBS.contains(&verb.as_str()) {
        return Ok(None);
    }
    let table = match verb.as_str() {
        "INSERT" | "REPLACE" => {
            let i = skip_words(t, 1, &["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "INTO"]);
            name_at(t, i).map(|(n, _)| n)
        }
        "UPDATE" => {
            let i = skip_words(t, 1, &["LOW_PRIORITY", "IGNORE"]);
            // One table, then SET: a join or a list is several.
            name_at(t, i).filter(|&(_, next)| t.get(next).is_some_and(|x| x.is_kw("SET"))).map(|(n, _)| n)
        }
        "DELETE" => {
            let i = skip_words(t, 1, &["LOW_PRIORITY", "QUICK", "IGNORE"]);
            if t.get(i).is_some_and(|x| x.is_kw("FROM")) {
                name_at(t, i + 1)
                    .filter(|&(_, next)| {
                        t.get(next).is_none_or(|x| ["WHERE", "ORDER", "LIMIT", "RETURNING"].iter().any(|k| x.is_kw(k)))
                    })
                    .map(|(n, _)| n)
            } else {
                None
            }
        }
        "LOAD" => t
            .iter()
            .position(|x| x.is_kw("INTO"))
            .filter(|&i| t.get(i + 1).is_some_and(|x| x.is_kw("TABLE")))
            .and_then(|i| name_at(t, i + 2))
            .map(|(n, _)| n),
        _ => None,
    };
    Ok(Some(StatementWrite { verb, table, qualifiers }))
}

/// A temporary table a statement creates or drops: a session logging in statement format logs
/// them, and the writes to them (which touch no table the task syncs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemporaryTable {
    /// `CREATE TEMPORARY TABLE`: `(database as written, table)`.
    Created(Option<String>, String),
    /// `DROP TEMPORARY TABLE`: the tables.
    Dropped(Vec<(Option<String>, String)>),
}

/// The temporary table `sql` creates or drops, if it does.
pub fn temporary_table(sql: &str, ansi_quotes: bool) -> Result<Option<TemporaryTable>, ParseError> {
    let t = lex(sql, ansi_quotes)?;
    let Some(verb) = t.first() else { return Ok(None) };
    if verb.is_kw("CREATE") {
        let i = skip_words(&t, 1, &["OR", "REPLACE"]);
        if !(t.get(i).is_some_and(|x| x.is_kw("TEMPORARY")) && t.get(i + 1).is_some_and(|x| x.is_kw("TABLE"))) {
            return Ok(None);
        }
        let i = skip_words(&t, i + 2, &["IF", "NOT", "EXISTS"]);
        return Ok(name_at(&t, i).map(|((db, name), _)| TemporaryTable::Created(db, name)));
    }
    if verb.is_kw("DROP")
        && t.get(1).is_some_and(|x| x.is_kw("TEMPORARY"))
        && t.get(2).is_some_and(|x| x.is_kw("TABLE"))
    {
        let mut i = skip_words(&t, 3, &["IF", "EXISTS"]);
        let mut names = Vec::new();
        while let Some((n, next)) = name_at(&t, i) {
            names.push(n);
            if !t.get(next).is_some_and(|x| x.is_punct(",")) {
                break;
            }
            i = next + 1;
        }
        return Ok(Some(TemporaryTable::Dropped(names)));
    }
    Ok(None)
}

/// The index of the first token at or after `i` that is none of `words`.
fn skip_words(t: &[Token], mut i: usize, words: &[&str]) -> usize {
    while t.get(i).is_some_and(|x| words.iter().any(|w| x.is_kw(w))) {
        i += 1;
    }
    i
}

/// `name` or `db.name` at `i`, and the index after it.
fn name_at(t: &[Token], i: usize) -> Option<((Option<String>, String), usize)> {
    let first = t.get(i).filter(|x| x.is_ident())?;
    if t.get(i + 1).is_some_and(|x| x.is_punct(".")) && t.get(i + 2).is_some_and(Token::is_ident) {
        return Some(((Some(first.text.clone()), t[i + 2].text.clone()), i + 3));
    }
    Some(((None, first.text.clone()), i + 1))
}

fn qualifiers(t: &[Token]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in 0..t.len() {
        if t[i].is_ident()
            && t.get(i + 1).is_some_and(|x| x.is_punct("."))
            && t.get(i + 2).is_some_and(Token::is_ident)
            && !out.contains(&t[i].text)
        {
            out.push(t[i].text.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(sql: &str) -> Option<StatementWrite> {
        statement_write(sql, false).unwrap()
    }

    fn table(sql: &str) -> Option<(Option<String>, String)> {
        w(sql).unwrap_or_else(|| panic!("not a write: {sql}")).table
    }

    fn t(db: Option<&str>, name: &str) -> Option<(Option<String>, String)> {
        Some((db.map(str::to_string), name.to_string()))
    }

    #[test]
    fn single_table_writes_name_their_table() {
        assert_eq!(table("INSERT INTO t (v) VALUES ('a')"), t(None, "t"));
        assert_eq!(table("insert low_priority ignore `d`.`t` values (1)"), t(Some("d"), "t"));
        assert_eq!(table("REPLACE INTO d.t SELECT * FROM other.s"), t(Some("d"), "t"));
        assert_eq!(table("UPDATE t SET v = 'b' WHERE id = 1"), t(None, "t"));
        assert_eq!(table("DELETE FROM d.t WHERE id = 1"), t(Some("d"), "t"));
        assert_eq!(table("DELETE FROM t"), t(None, "t"));
        assert_eq!(table("LOAD DATA INFILE '/tmp/SQL_LOAD-1-2-3.data' IGNORE INTO TABLE `t` FIELDS"), t(None, "t"));
        let q = w("INSERT INTO a.t SELECT x.v FROM b.s AS x").unwrap().qualifiers;
        assert_eq!(q, ["a", "x", "b"]);
    }

    #[test]
    fn multi_table_writes_and_function_calls_name_no_table() {
        assert_eq!(table("UPDATE t JOIN u ON t.id = u.id SET t.v = u.v"), None);
        assert_eq!(table("UPDATE t, u SET t.v = 1"), None);
        assert_eq!(table("DELETE t FROM t JOIN u USING (id)"), None);
        assert_eq!(table("DELETE FROM t, u USING t JOIN u"), None);
        assert_eq!(table("SELECT f(1)"), None);
        assert_eq!(table("DO f(1)"), None);
    }

    #[test]
    fn create_table_select_logged_as_a_statement_writes_its_table() {
        assert_eq!(table("CREATE TABLE t SELECT * FROM u"), t(None, "t"));
        assert_eq!(table("create or replace table if not exists d.t (a INT) AS SELECT 1"), t(Some("d"), "t"));
        assert_eq!(w("CREATE TABLE t (a INT)"), None);
        assert_eq!(w("CREATE TABLE t (`select` INT)"), None);
        assert_eq!(w("CREATE VIEW v AS SELECT 1"), None);
        assert_eq!(w("CREATE TEMPORARY TABLE t SELECT 1"), None);
    }

    #[test]
    fn temporary_tables_are_named() {
        let tt = |sql: &str| temporary_table(sql, false).unwrap();
        assert_eq!(
            tt("CREATE TEMPORARY TABLE IF NOT EXISTS d.tmp (i INT)"),
            Some(TemporaryTable::Created(Some("d".into()), "tmp".into()))
        );
        assert_eq!(
            tt("DROP TEMPORARY TABLE IF EXISTS `tmp`, d.t2 /* generated by server */"),
            Some(TemporaryTable::Dropped(vec![(None, "tmp".into()), (Some("d".into()), "t2".into())]))
        );
        assert_eq!(tt("CREATE TABLE t (i INT)"), None);
        assert_eq!(tt("DROP TABLE t"), None);
    }

    #[test]
    fn other_statements_are_no_writes() {
        for sql in ["CREATE TABLE t (a INT)", "ALTER TABLE t ADD b INT", "SAVEPOINT a", "XA COMMIT X'31',X'',1"] {
            assert_eq!(w(sql), None, "{sql}");
        }
    }
}
