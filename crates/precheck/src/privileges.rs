//! The privileges a task needs on each server, read from `SHOW GRANTS` of the login user and
//! of its active roles (nested roles included). Roles granted but not active are read too, to
//! say "activate this role" instead of "grant this privilege".

use std::collections::BTreeSet;

use dts_types::quote_ident;
use mysql::Conn;
use mysql::prelude::Queryable;

use crate::grants::Privileges;
use crate::report::Item;

/// What the login user may do: with its active roles, and what inactive roles would add.
#[derive(Debug, Clone, Default)]
pub struct Account {
    pub active: Privileges,
    /// Roles granted but not active in a new session, with their privileges.
    pub inactive: Vec<(String, Privileges)>,
    /// Grants that could not be read (a role's, for instance).
    pub unreadable: Vec<String>,
}

fn grants_of(conn: &mut Conn, whom: &str) -> Result<Privileges, mysql::Error> {
    let lines: Vec<String> = conn.query(format!("SHOW GRANTS FOR {whom}"))?;
    Ok(Privileges::parse(&lines))
}

/// The session's grants: the user's and those of the role active now (MariaDB prints both for
/// a plain `SHOW GRANTS`; MySQL needs `USING`).
fn session_grants(conn: &mut Conn, mysql_roles: Option<&str>) -> Result<Privileges, mysql::Error> {
    let sql = match mysql_roles {
        Some(r) => format!("SHOW GRANTS FOR CURRENT_USER() USING {r}"),
        None => "SHOW GRANTS".to_string(),
    };
    let lines: Vec<String> = conn.query(sql)?;
    Ok(Privileges::parse(&lines))
}

fn role_sql(r: &str) -> String {
    if r.starts_with('`') { r.to_string() } else { quote_ident(r) }
}

impl Account {
    /// Reads the account's privileges. Roles granted but not active are tried one by one with
    /// `SET ROLE` (a user may always read its own roles that way, while `SHOW GRANTS FOR role`
    /// needs SELECT on the mysql schema); the session's role is restored afterwards.
    pub fn read(conn: &mut Conn) -> Result<Account, mysql::Error> {
        let mut account = Account::default();
        let own = grants_of(conn, "CURRENT_USER()")?;
        // MariaDB: the default role's name or NULL; MySQL: `r`@`h`,... or NONE.
        let current: Option<String> = conn
            .query_first::<Option<String>, _>("SELECT CURRENT_ROLE()")
            .ok()
            .flatten()
            .flatten()
            .filter(|c| !c.eq_ignore_ascii_case("NONE") && !c.is_empty());
        let mysql_style = current.as_deref().is_some_and(|c| c.contains('@'));
        account.active = session_grants(conn, current.as_deref().filter(|_| mysql_style))?;
        let bare = |r: &str| r.split('@').next().unwrap_or(r).trim_matches('`').to_string();
        let active: Vec<String> = current.iter().flat_map(|c| c.split(',').map(bare)).collect();
        for r in &own.roles {
            if active.contains(&bare(r)) {
                continue;
            }
            let tried = conn
                .query_drop(format!("SET ROLE {}", role_sql(r)))
                .and_then(|_| session_grants(conn, mysql_style.then_some(role_sql(r)).as_deref()));
            match tried {
                Ok(p) => account.inactive.push((r.clone(), p)),
                Err(e) => account.unreadable.push(format!("role {r}: {e}")),
            }
        }
        if !own.roles.is_empty() {
            let restore = match &current {
                Some(c) if mysql_style => format!("SET ROLE {c}"),
                Some(c) => format!("SET ROLE {}", quote_ident(c)),
                None => "SET ROLE NONE".into(),
            };
            conn.query_drop(restore)?;
        }
        Ok(account)
    }

    /// The inactive role that would grant what `check` asks, if any.
    fn role_with(&self, check: impl Fn(&Privileges) -> bool) -> Option<&str> {
        self.inactive.iter().find(|(_, p)| check(p)).map(|(r, _)| r.as_str())
    }
}

/// One privilege a task needs, where, and the check that tells.
pub struct Need {
    pub privilege: String,
    /// `*.*`, `` `db`.* `` or `` `db`.`t` `` (with columns).
    pub on: String,
    pub check: Box<dyn Fn(&Privileges) -> bool>,
}

impl std::fmt::Debug for Need {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ON {}", self.privilege, self.on)
    }
}

/// Judges `needs` against the account: one item listing everything missing, with the GRANT
/// statements that fix it.
pub fn item(side: &str, account: &Account, user: &str, needs: &[Need]) -> Item {
    let id = format!("{side}.privileges");
    let title = "the privileges the task needs";
    let mut missing: Vec<&Need> = Vec::new();
    let mut via_role: BTreeSet<String> = BTreeSet::new();
    for n in needs {
        if (n.check)(&account.active) {
            continue;
        }
        if let Some(r) = account.role_with(|p| (n.check)(p)) {
            via_role.insert(r.to_string());
        }
        missing.push(n);
    }
    if missing.is_empty() {
        return Item::pass(&id, title, format!("{user} holds all {} needed privilege(s)", needs.len()));
    }
    // One GRANT per level, in the order first needed.
    let mut by_level: Vec<(String, Vec<String>)> = Vec::new();
    for n in &missing {
        match by_level.iter_mut().find(|(on, _)| *on == n.on) {
            Some((_, privs)) if !privs.contains(&n.privilege) => privs.push(n.privilege.clone()),
            Some(_) => {}
            None => by_level.push((n.on.clone(), vec![n.privilege.clone()])),
        }
    }
    let shown: Vec<String> = by_level.iter().map(|(on, p)| format!("{} ON {on}", p.join(", "))).collect();
    let mut found = format!("{user} lacks: {}", abbreviate(&shown, 8));
    if !account.unreadable.is_empty() {
        found.push_str(&format!(" (could not read: {})", account.unreadable.join("; ")));
    }
    let grantee = grantee(user);
    let mut fix: Vec<String> = Vec::new();
    for r in &via_role {
        fix.push(format!(
            "role {r} is granted but not active in new sessions: SET DEFAULT ROLE {} FOR {grantee}",
            if r.starts_with('`') { r.clone() } else { quote_ident(r) }
        ));
    }
    let grants: Vec<String> =
        by_level.iter().map(|(on, p)| format!("GRANT {} ON {on} TO {grantee};", p.join(", "))).collect();
    fix.extend(grants);
    Item::failure(&id, title, found, fix.join("\n"))
}

fn abbreviate(list: &[String], max: usize) -> String {
    if list.len() <= max {
        list.join("; ")
    } else {
        format!("{}; and {} more", list[..max].join("; "), list.len() - max)
    }
}

/// `user@host` as CURRENT_USER() gives it, quoted for a GRANT.
fn grantee(user: &str) -> String {
    match user.rsplit_once('@') {
        Some((u, h)) => format!("{}@{}", quote_ident(u), quote_ident(h)),
        None => quote_ident(user),
    }
}

/// Needs a global privilege; `alternatives` are names that count the same (MariaDB renamed
/// REPLICATION CLIENT to BINLOG MONITOR).
pub fn global(privilege: &str, alternatives: &[&str]) -> Need {
    let names: Vec<String> = std::iter::once(privilege).chain(alternatives.iter().copied()).map(String::from).collect();
    Need {
        privilege: privilege.into(),
        on: "*.*".into(),
        check: Box::new(move |p: &Privileges| names.iter().any(|n| p.global(n))),
    }
}

pub fn on_database(privilege: &str, db: &str) -> Need {
    let (pr, d) = (privilege.to_string(), db.to_string());
    Need {
        privilege: privilege.into(),
        on: format!("{}.*", quote_ident(db)),
        check: Box::new(move |p: &Privileges| p.on_database(&pr, &d)),
    }
}

pub fn on_table(privilege: &str, db: &str, table: &str, columns: Vec<String>) -> Need {
    let (pr, d, t) = (privilege.to_string(), db.to_string(), table.to_string());
    Need {
        privilege: privilege.into(),
        on: format!("{}.{}", quote_ident(db), quote_ident(table)),
        check: Box::new(move |p: &Privileges| p.on_table(&pr, &d, &t, &columns)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    #[test]
    fn missing_privileges_come_with_grants_and_roles() {
        let account = Account {
            active: Privileges::parse(&["GRANT SELECT ON `shop`.* TO `sync`@`%`"]),
            inactive: vec![("repl".into(), Privileges::parse(&["GRANT REPLICATION SLAVE ON *.* TO `repl`"]))],
            unreadable: vec![],
        };
        let needs = vec![
            global("REPLICATION SLAVE", &[]),
            global("REPLICATION CLIENT", &["BINLOG MONITOR"]),
            on_table("SELECT", "shop", "orders", vec!["id".into()]),
            on_table("SELECT", "crm", "people", vec![]),
        ];
        let it = item("source", &account, "sync@%", &needs);
        assert_eq!(it.status, Status::Failure);
        assert!(it.found.contains("REPLICATION SLAVE, REPLICATION CLIENT ON *.*"), "{}", it.found);
        assert!(it.found.contains("SELECT ON `crm`.`people`") && !it.found.contains("shop"), "{}", it.found);
        assert!(it.fix.contains("SET DEFAULT ROLE `repl` FOR `sync`@`%`"), "{}", it.fix);
        assert!(it.fix.contains("GRANT SELECT ON `crm`.`people` TO `sync`@`%`;"), "{}", it.fix);
        let ok = item("source", &account, "sync@%", &needs[2..3]);
        assert_eq!(ok.status, Status::Pass);
    }
}
