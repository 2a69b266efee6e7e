//! Privileges as `SHOW GRANTS` prints them: parsing the statements (MariaDB and MySQL forms,
//! column lists, database wildcards, role grants) and asking whether a privilege holds on a
//! database, a table or a set of columns.

use dts_schema::lexer::{Kind, Token, lex};

/// Where a grant applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Level {
    Global,
    /// A database name or a LIKE pattern (`_`, `%`, `\` escapes) as the grant holds it.
    Database(String),
    Table(String, String),
    /// A function, procedure or package: never what a sync needs.
    Routine,
}

/// One privilege of a grant, with its columns when it is a column grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Privilege {
    /// Upper case, words single-spaced: `SELECT`, `REPLICATION SLAVE`, `ALL PRIVILEGES`.
    pub name: String,
    pub columns: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub privileges: Vec<Privilege>,
    pub level: Level,
}

/// What one account (with its active roles) may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Privileges {
    pub grants: Vec<Grant>,
    /// Roles granted to the account (or role) these grants belong to.
    pub roles: Vec<String>,
}

impl Privileges {
    /// Reads the lines of `SHOW GRANTS`; lines that grant nothing a sync uses (PROXY,
    /// `SET DEFAULT ROLE`, `REVOKE`) are skipped.
    pub fn parse<S: AsRef<str>>(lines: &[S]) -> Privileges {
        let mut p = Privileges::default();
        for l in lines {
            let Ok(tokens) = lex(l.as_ref(), false) else { continue };
            parse_line(&tokens, &mut p);
        }
        p
    }

    fn holds(&self, privilege: &str, applies: impl Fn(&Level) -> bool, columns: Option<&[String]>) -> bool {
        // Column grants may cover the columns between them.
        let mut covered: Vec<&str> = Vec::new();
        for g in &self.grants {
            if !applies(&g.level) {
                continue;
            }
            for p in &g.privileges {
                let all = p.name == "ALL PRIVILEGES" || p.name == "ALL";
                if !(all || p.name == privilege) {
                    continue;
                }
                match &p.columns {
                    None => return true,
                    Some(cols) => covered.extend(cols.iter().map(String::as_str)),
                }
            }
        }
        match columns {
            Some(want) if !want.is_empty() => {
                want.iter().all(|c| covered.iter().any(|have| have.eq_ignore_ascii_case(c)))
            }
            _ => false,
        }
    }

    /// The privilege on every database (`ON *.*`).
    pub fn global(&self, privilege: &str) -> bool {
        self.holds(privilege, |l| *l == Level::Global, None)
    }

    /// The privilege on database `db` (globally or on the database).
    pub fn on_database(&self, privilege: &str, db: &str) -> bool {
        self.holds(privilege, |l| db_level_covers(l, db), None)
    }

    /// The privilege on table `db`.`table`, or on all of `columns` of it.
    pub fn on_table(&self, privilege: &str, db: &str, table: &str, columns: &[String]) -> bool {
        self.holds(
            privilege,
            |l| db_level_covers(l, db) || matches!(l, Level::Table(d, t) if d == db && t.eq_ignore_ascii_case(table)),
            Some(columns),
        )
    }
}

fn db_level_covers(l: &Level, db: &str) -> bool {
    match l {
        Level::Global => true,
        Level::Database(pattern) => like(pattern.as_bytes(), db.as_bytes()),
        _ => false,
    }
}

/// SQL LIKE as database grants use it: `%` any run, `_` one character, `\` escapes.
pub fn like(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'%', rest)) => (0..=name.len()).any(|i| like(rest, &name[i..])),
        Some((b'_', rest)) => {
            // One character, which may be several UTF-8 bytes.
            let Some(&first) = name.first() else { return false };
            let len = if first < 0x80 { 1 } else { (first.leading_ones() as usize).clamp(1, 4) };
            name.len() >= len && like(rest, &name[len..])
        }
        Some((b'\\', rest)) if !rest.is_empty() => name.first() == rest.first() && like(&rest[1..], &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && like(rest, &name[1..]),
    }
}

fn parse_line(t: &[Token], out: &mut Privileges) {
    if !t.first().is_some_and(|x| x.is_kw("GRANT")) {
        return;
    }
    // The first ON or TO outside parentheses says which form this is.
    let mut depth = 0i32;
    let mut split = None;
    for (i, x) in t.iter().enumerate().skip(1) {
        if x.is_punct("(") {
            depth += 1;
        } else if x.is_punct(")") {
            depth -= 1;
        } else if depth == 0 && (x.is_kw("ON") || x.is_kw("TO")) {
            split = Some(i);
            break;
        }
    }
    let Some(split) = split else { return };
    let entries = split_commas(&t[1..split]);
    if t[split].is_kw("TO") {
        // GRANT `role`[@`host`], ... TO grantee
        for e in entries {
            if let Some(name) = e.first().filter(|x| x.is_ident() || x.kind == Kind::Str) {
                out.roles.push(name.text.clone());
            }
        }
        return;
    }
    let privileges: Vec<Privilege> = entries
        .iter()
        .filter_map(|e| {
            let words: Vec<String> =
                e.iter().take_while(|x| !x.is_punct("(")).map(|x| x.text.to_ascii_uppercase()).collect();
            if words.is_empty() {
                return None;
            }
            let columns = e
                .iter()
                .position(|x| x.is_punct("("))
                .map(|open| e[open + 1..].iter().filter(|x| x.is_ident()).map(|x| x.text.clone()).collect::<Vec<_>>());
            Some(Privilege { name: words.join(" "), columns })
        })
        .collect();
    if privileges.iter().any(|p| p.name == "PROXY") {
        return;
    }
    let mut rest = &t[split + 1..];
    let mut routine = false;
    if let Some(first) = rest.first()
        && ["TABLE", "FUNCTION", "PROCEDURE", "PACKAGE"].iter().any(|k| first.is_kw(k))
        && rest.get(1).is_some_and(|x| !x.is_punct("."))
    {
        routine = !first.is_kw("TABLE");
        rest = &rest[1..];
    }
    let name = |x: &Token| if x.is_punct("*") { None } else { Some(x.text.clone()) };
    let level = match rest {
        _ if routine => Level::Routine,
        [a, dot, b, ..] if dot.is_punct(".") => match (name(a), name(b)) {
            (None, None) => Level::Global,
            (Some(db), None) => Level::Database(db),
            (Some(db), Some(table)) => Level::Table(db, table),
            (None, Some(_)) => return,
        },
        // `ON *` (the default database) or `ON t`: not attributable here.
        _ => return,
    };
    out.grants.push(Grant { privileges, level });
}

fn split_commas(t: &[Token]) -> Vec<&[Token]> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, x) in t.iter().enumerate() {
        if x.is_punct("(") {
            depth += 1;
        } else if x.is_punct(")") {
            depth -= 1;
        } else if depth == 0 && x.is_punct(",") {
            out.push(&t[start..i]);
            start = i + 1;
        }
    }
    if start < t.len() {
        out.push(&t[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_grants_parse() {
        let p = Privileges::parse(&[
            "GRANT USAGE ON *.* TO `dts`@`%` IDENTIFIED BY PASSWORD '*ABC'",
            "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `dts`@`%`",
            "GRANT SELECT, INSERT ON `shop`.* TO `dts`@`%`",
            "GRANT SELECT (`id`, `Name`), UPDATE (`id`) ON `crm`.`people` TO `dts`@`%`",
            "GRANT ALL PRIVILEGES ON `tmp\\_%`.* TO `dts`@`%` WITH GRANT OPTION",
            "GRANT `reader` TO `dts`@`%`",
            "GRANT EXECUTE ON PROCEDURE `shop`.`p` TO `dts`@`%`",
            "GRANT PROXY ON ''@'%' TO 'dts'@'%' WITH GRANT OPTION",
            "SET DEFAULT ROLE `reader` FOR `dts`@`%`",
        ]);
        assert_eq!(p.roles, vec!["reader".to_string()]);
        assert!(p.global("REPLICATION SLAVE") && p.global("BINLOG MONITOR") && !p.global("SELECT"));
        assert!(p.on_database("INSERT", "shop") && !p.on_database("DELETE", "shop"));
        assert!(p.on_table("SELECT", "shop", "orders", &["id".into()]));
        assert!(p.on_table("SELECT", "crm", "people", &["id".into(), "name".into()]));
        assert!(!p.on_table("SELECT", "crm", "people", &["id".into(), "email".into()]));
        assert!(!p.on_table("UPDATE", "crm", "people", &["Name".into()]));
        assert!(p.on_database("DROP", "tmp_1") && !p.on_database("DROP", "tmpx1"), "escaped _ is literal");
        assert_eq!(p.grants.iter().filter(|g| g.level == Level::Routine).count(), 1);
    }

    #[test]
    fn mysql_grants_parse() {
        let p = Privileges::parse(&[
            "GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `dts`@`%`",
            "GRANT BACKUP_ADMIN,REPLICATION_SLAVE_ADMIN ON *.* TO `dts`@`%`",
            "GRANT `r1`@`%`,`r2`@`localhost` TO `dts`@`%`",
        ]);
        assert_eq!(p.roles, vec!["r1".to_string(), "r2".to_string()]);
        assert!(p.global("REPLICATION CLIENT") && p.global("BACKUP_ADMIN"));
        assert!(p.on_table("SELECT", "any", "thing", &[]));
    }

    #[test]
    fn unescaped_underscore_is_a_wildcard() {
        let p = Privileges::parse(&["GRANT CREATE ON `a_b`.* TO `u`@`%`", "GRANT DROP ON `x%`.* TO `u`@`%`"]);
        assert!(p.on_database("CREATE", "a_b") && p.on_database("CREATE", "aXb") && !p.on_database("CREATE", "ab"));
        assert!(p.on_database("DROP", "x") && p.on_database("DROP", "xyz") && !p.on_database("DROP", "yx"));
        assert!(like("é_".as_bytes(), "éé".as_bytes()));
    }
}
