//! Schema sync: the destination DDL for the selected objects, with mapped names and selected
//! columns, in an order that works: databases, tables (without foreign keys), sequences, views
//! (dependencies first), routines, triggers (per policy), then foreign keys.

use dts_types::quote_ident;

use crate::definer::DefinerPolicy;
use crate::lexer::{Kind, Token, lex, splice};
use crate::reader::DatabaseSchema;
use crate::selection::{MappedTable, NameCase, Selection};
use crate::trigger::TriggerPolicy;

/// The destination statements of a schema sync, and what the operator must know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaPlan {
    /// The statements, in the order to run them.
    pub statements: Vec<String>,
    /// What the operator must know.
    pub warnings: Vec<String>,
    /// (object, why) of every object of a selected database that is not created.
    pub left_out: Vec<(String, String)>,
}

/// How views, routines, triggers and events reach the destination (the task file's
/// `[task] triggers` and `definer`), the same in schema sync and incremental DDL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectRules {
    /// When and how triggers are created.
    pub triggers: TriggerPolicy,
    /// Whose account defines views, routines, triggers and events.
    pub definer: DefinerPolicy,
}

/// Why a source definition could not be turned into destination DDL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot translate the definition of {object}: {reason}")]
pub struct SyncError {
    /// The object, `db.name`.
    pub object: String,
    /// What cannot be translated.
    pub reason: String,
}

/// Builds the destination DDL for `databases` (as read by [`crate::reader::read_database`]).
pub fn plan(selection: &Selection, databases: &[DatabaseSchema], rules: &ObjectRules) -> Result<SchemaPlan, SyncError> {
    let mut p = SchemaPlan::default();
    for db in databases {
        p.left_out.extend(db.left_out.iter().cloned());
    }
    let definer = &rules.definer;
    let mut fks = Vec::new();
    let mut views = Vec::new();
    let mut later = Vec::new();
    // Databases, then sequences (a table's DEFAULT NEXTVAL needs its sequence), then tables.
    for db in databases {
        let Some(tdb) = selection.database(&db.name) else { continue };
        p.statements.push(create_database(&db.create, &tdb));
        for (name, create, state) in &db.sequences {
            let object = format!("sequence {}.{name}", db.name);
            p.statements.push(qualify_object(selection, &DefinerPolicy::Keep, &db.name, &tdb, create, name, &object)?);
            let target = selection.table(&db.name, name).ok_or_else(|| err(&object, "not selected"))?.target;
            if !state.is_empty() {
                p.statements.push(sequence_state_sql(&target, state));
            }
        }
    }
    for db in databases {
        let Some(tdb) = selection.database(&db.name) else { continue };
        for (table, cols, create) in &db.tables {
            let Some(m) = selection.table_with_columns(&db.name, table, cols) else { continue };
            let (sql, table_fks) = create_table(selection, &db.name, &m, create, &mut p.warnings)?;
            p.statements.push(sql);
            fks.extend(table_fks);
        }
        // Views, routines and triggers name objects of their own database unqualified: they
        // are created with it as the default database.
        let use_db = format!("USE {}", quote_ident(&tdb));
        for (kind, name, create) in &db.routines {
            let object = format!("{} {}.{name}", kind.to_lowercase(), db.name);
            later.push(use_db.clone());
            later.push(qualify_object(selection, definer, &db.name, &tdb, create, name, &object)?);
        }
        for (name, create) in &db.views {
            let sql =
                qualify_object(selection, definer, &db.name, &tdb, create, name, &format!("view {}.{name}", db.name))?;
            views.push((quote_ident(&selection.name_case.apply(name)), use_db.clone(), sql));
        }
        for e in &db.events {
            let object = format!("event {}.{}", db.name, e.name);
            let sql = qualify_object(selection, definer, &db.name, &tdb, &e.create, &e.name, &object)?;
            let sql = rewrite(&sql, &object, |_, t| crate::event::disabled_on_destination(t, true))?;
            later.push(use_db.clone());
            // The schedule is written in the event's time zone.
            later.push(format!("SET SESSION time_zone = {}", string_literal(&e.time_zone)));
            later.push(sql);
            later.push("SET SESSION time_zone = '+00:00'".into());
        }
        for (name, _table, create) in &db.triggers {
            let object = format!("trigger {}.{name}", db.name);
            match rules.triggers {
                TriggerPolicy::None => {
                    p.left_out.push((object, "triggers are not synced (`[task] triggers`)".into()));
                }
                TriggerPolicy::AtCutover => {
                    p.left_out.push((object, "created by `dts-sync cutover` (`triggers = \"at_cutover\"`)".into()));
                }
                TriggerPolicy::Guarded => {
                    let sql = qualify_object(selection, definer, &db.name, &tdb, create, name, &object)?;
                    let sql = rewrite(&sql, &object, |sql, t| crate::trigger::guard(sql, t).unwrap_or_default())?;
                    later.push(use_db.clone());
                    later.push(sql);
                }
            }
        }
    }
    p.statements.extend(order_views(views));
    p.statements.extend(later);
    p.statements.extend(fks);
    Ok(p)
}

/// The statements of the cut-over (`dts-sync cutover`): every event gets the source's status
/// (enabled, or disabled instead of disabled on the replica), and with a trigger policy other than `none` every trigger of a selected table is
/// (re)created with the source's body, unguarded (in the source's order per table and action).
pub fn cutover(
    selection: &Selection,
    databases: &[DatabaseSchema],
    rules: &ObjectRules,
) -> Result<Vec<String>, SyncError> {
    let mut out = Vec::new();
    for db in databases {
        let Some(tdb) = selection.database(&db.name) else { continue };
        for e in &db.events {
            let status = if e.enabled { "ENABLE" } else { "DISABLE" };
            // ALTER EVENT makes its runner the definer unless it names one.
            let definer = rules.definer.clause(&e.definer);
            out.push(format!("ALTER {definer}EVENT {}.{} {status}", quote_ident(&tdb), quote_ident(&e.name)));
        }
        if rules.triggers == TriggerPolicy::None {
            continue;
        }
        for (name, _table, create) in &db.triggers {
            let object = format!("trigger {}.{name}", db.name);
            out.push(format!("DROP TRIGGER IF EXISTS {}.{}", quote_ident(&tdb), quote_ident(name)));
            out.push(format!("USE {}", quote_ident(&tdb)));
            out.push(qualify_object(selection, &rules.definer, &db.name, &tdb, create, name, &object)?);
        }
    }
    Ok(out)
}

/// `sql` with the edits `f` finds in its tokens.
fn rewrite(
    sql: &str,
    object: &str,
    f: impl FnOnce(&str, &[Token]) -> Vec<(usize, usize, String)>,
) -> Result<String, SyncError> {
    let tokens = lex(sql, false).map_err(|e| err(object, &e.to_string()))?;
    Ok(splice(sql, f(sql, &tokens)))
}

/// A string literal of `s` that means the same under any sql_mode (no backslash escapes).
fn string_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The statement that gives sequence `target` the state `state` (an INSERT into a sequence
/// replaces its one row: the next value, the cache and the cycle count).
pub fn sequence_state_sql(target: &dts_types::TableId, state: &[String]) -> String {
    let cols = crate::reader::SEQUENCE_COLUMNS.join(", ");
    format!("INSERT INTO {} ({cols}) VALUES ({})", target.quoted(), state.join(", "))
}

fn create_database(create: &str, target: &str) -> String {
    // `CREATE DATABASE `d` /*!40100 DEFAULT CHARACTER SET ... */`: keep the options.
    let options = create.find("/*").map_or("", |i| &create[i..]);
    format!("CREATE DATABASE IF NOT EXISTS {} {options}", quote_ident(target)).trim_end().to_string()
}

fn err(object: &str, reason: &str) -> SyncError {
    SyncError { object: object.into(), reason: reason.into() }
}

/// The top-level items of the parenthesised definition list starting at token `open`:
/// (first token index, last token index) of each, and the index of the closing parenthesis.
fn items(tokens: &[Token], open: usize) -> Option<(Vec<(usize, usize)>, usize)> {
    let mut depth = 0;
    let mut start = open + 1;
    let mut out = Vec::new();
    for (i, t) in tokens.iter().enumerate().skip(open) {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth -= 1;
            if depth == 0 {
                out.push((start, i - 1));
                return Some((out, i));
            }
        } else if depth == 1 && t.is_punct(",") {
            out.push((start, i - 1));
            start = i + 1;
        }
    }
    None
}

fn create_table(
    selection: &Selection,
    db: &str,
    m: &MappedTable,
    create: &str,
    warnings: &mut Vec<String>,
) -> Result<(String, Vec<String>), SyncError> {
    let object = format!("table {db}.{}", m.source.table);
    let tokens = lex(create, false).map_err(|e| err(&object, &e.to_string()))?;
    let name_i = tokens.iter().position(|t| t.kind == Kind::Quoted).ok_or_else(|| err(&object, "no table name"))?;
    let open =
        (name_i..tokens.len()).find(|&i| tokens[i].is_punct("(")).ok_or_else(|| err(&object, "no column list"))?;
    let (list, close) = items(&tokens, open).ok_or_else(|| err(&object, "unbalanced parentheses"))?;
    let cols = m.columns.columns.clone().unwrap_or_default();
    let selected = |name: &str| cols.iter().any(|(c, _)| c.eq_ignore_ascii_case(name));
    let rename = |name: &str| cols.iter().find(|(c, _)| c.eq_ignore_ascii_case(name)).map(|(_, t)| t.clone());
    let all_columns: Vec<String> =
        list.iter().filter(|(s, _)| tokens[*s].kind == Kind::Quoted).map(|(s, _)| tokens[*s].text.clone()).collect();
    // Rewrites one span of the definition: column names, referenced tables.
    let rewrite = |from: usize, to: usize, warnings: &mut Vec<String>| -> Option<String> {
        let mut edits = Vec::new();
        let mut k = from;
        while k <= to {
            let t = &tokens[k];
            if t.is_kw("REFERENCES") {
                // REFERENCES `t` or `db`.`t`
                let (rdb, rt, span) = if tokens.get(k + 2).is_some_and(|x| x.is_punct(".")) {
                    (tokens[k + 1].text.clone(), tokens[k + 3].text.clone(), (tokens[k + 1].start, tokens[k + 3].end))
                } else {
                    (db.to_string(), tokens[k + 1].text.clone(), (tokens[k + 1].start, tokens[k + 1].end))
                };
                match selection.table(&rdb, &rt) {
                    Some(rm) => edits.push((span.0, span.1, rm.target.quoted())),
                    None => {
                        warnings.push(format!("{object}: foreign key to {rdb}.{rt}, which is not selected, left out"));
                        return None;
                    }
                }
                // The referenced columns keep their names unless that table maps them.
                let rm = selection.table(&rdb, &rt);
                let mut j = k + 1;
                while j <= to && !tokens[j].is_punct("(") {
                    j += 1;
                }
                while j <= to && !tokens[j].is_punct(")") {
                    if tokens[j].kind == Kind::Quoted
                        && let Some(rm) = &rm
                    {
                        edits.push((tokens[j].start, tokens[j].end, quote_ident(&rm.columns.target(&tokens[j].text))));
                    }
                    j += 1;
                }
                k = j + 1;
                continue;
            }
            // `db`.`seq` in DEFAULT NEXTVAL(...): the sequence's destination database.
            if t.kind == Kind::Quoted
                && tokens.get(k + 1).is_some_and(|x| x.is_punct("."))
                && let Some(tdb) = selection.database(&t.text)
            {
                if tdb != t.text {
                    edits.push((t.start, t.end, quote_ident(&tdb)));
                }
                k += 2;
                continue;
            }
            if t.kind == Kind::Quoted && all_columns.iter().any(|c| c.eq_ignore_ascii_case(&t.text)) {
                if !selected(&t.text) {
                    return None;
                }
                if let Some(n) = rename(&t.text).filter(|n| n != &t.text) {
                    edits.push((t.start, t.end, quote_ident(&n)));
                }
            }
            k += 1;
        }
        let text = &create[tokens[from].start..tokens[to].end];
        Some(splice(
            text,
            edits.into_iter().map(|(s, e, x)| (s - tokens[from].start, e - tokens[from].start, x)).collect(),
        ))
    };
    let mut kept = Vec::new();
    let mut fks = Vec::new();
    for &(s, e) in &list {
        let first = &tokens[s];
        let is_fk = (s..=e).any(|i| tokens[i].is_kw("FOREIGN"));
        let Some(text) = rewrite(s, e, warnings) else {
            if first.kind == Kind::Quoted && !is_fk {
                continue; // an unselected column
            }
            if !is_fk {
                warnings.push(format!("{object}: a key on a column that is not synced was left out"));
            }
            continue;
        };
        if is_fk {
            fks.push(format!("ALTER TABLE {} ADD {text}", m.target.quoted()));
        } else {
            kept.push(text);
        }
    }
    if kept.is_empty() {
        return Err(err(&object, "no column is selected"));
    }
    let head = &create[..tokens[name_i].start];
    let tail = rewrite_tail(create, &tokens, close, &all_columns, &selected, &rename);
    let sql = format!("{head}{} (\n  {}\n){tail}", m.target.quoted(), kept.join(",\n  "));
    Ok((sql, fks))
}

/// Table options and partitioning after the definition list, with renamed columns.
fn rewrite_tail(
    create: &str,
    tokens: &[Token],
    close: usize,
    all_columns: &[String],
    selected: &dyn Fn(&str) -> bool,
    rename: &dyn Fn(&str) -> Option<String>,
) -> String {
    let start = tokens[close].end;
    let mut edits = Vec::new();
    for t in &tokens[close + 1..] {
        if t.kind == Kind::Quoted && all_columns.iter().any(|c| c.eq_ignore_ascii_case(&t.text)) && selected(&t.text) {
            if let Some(n) = rename(&t.text).filter(|n| n != &t.text) {
                edits.push((t.start - start, t.end - start, quote_ident(&n)));
            }
        }
    }
    splice(&create[start..], edits)
}

/// A view, routine, trigger, event or sequence: name qualified with its destination database,
/// DEFINER as the policy says, qualified references to selected databases mapped.
fn qualify_object(
    selection: &Selection,
    definer: &DefinerPolicy,
    db: &str,
    tdb: &str,
    create: &str,
    name: &str,
    object: &str,
) -> Result<String, SyncError> {
    let tokens = lex(create, false).map_err(|e| err(object, &e.to_string()))?;
    let mut edits = definer.edits(&tokens);
    let mut named = false;
    for (i, t) in tokens.iter().enumerate() {
        if edits.iter().any(|e| e.0 <= t.start && t.end <= e.1 && e.0 < e.1) {
            continue;
        }
        if !named && t.kind == Kind::Quoted && t.text == name && !tokens.get(i + 1).is_some_and(|x| x.is_punct(".")) {
            let prev_dot = i > 0 && tokens[i - 1].is_punct(".");
            if !prev_dot {
                edits.push((
                    t.start,
                    t.end,
                    format!("{}.{}", quote_ident(tdb), quote_ident(&selection.name_case.apply(name))),
                ));
                named = true;
                continue;
            }
        }
        if t.kind == Kind::Quoted && tokens.get(i + 1).is_some_and(|x| x.is_punct(".")) {
            if t.text == db && !named && tokens.get(i + 2).is_some_and(|x| x.text == name) {
                edits.push((
                    t.start,
                    tokens[i + 2].end,
                    format!("{}.{}", quote_ident(tdb), quote_ident(&selection.name_case.apply(name))),
                ));
                named = true;
                continue;
            }
            if let Some(target) = selection.database(&t.text) {
                edits.push((t.start, t.end, quote_ident(&target)));
                continue;
            }
        }
        // Under a name-case policy, the tables and columns a body names change case too.
        if t.kind == Kind::Quoted && selection.name_case != NameCase::Source {
            edits.push((t.start, t.end, quote_ident(&selection.name_case.apply(&t.text))));
        }
    }
    let mut edits2: Vec<(usize, usize, String)> = Vec::new();
    for e in edits {
        if !edits2.iter().any(|x| x.0 < e.1 && e.0 < x.1) {
            edits2.push(e);
        }
    }
    Ok(splice(create, edits2))
}

/// Views (quoted name, USE statement, DDL) in an order where each comes after the views it
/// reads, each preceded by its USE.
fn order_views(mut views: Vec<(String, String, String)>) -> Vec<String> {
    let mut out = Vec::new();
    while !views.is_empty() {
        let names: Vec<String> = views.iter().map(|v| v.0.clone()).collect();
        // A view's own name appears once, after VIEW; any other quoted view name is a reference.
        let reads = |me: &str, sql: &str, n: &str| {
            let body = sql.find(" AS ").map_or(sql, |i| &sql[i..]);
            n != me && body.contains(n)
        };
        let ready = views.iter().position(|(me, _, sql)| !names.iter().any(|n| reads(me, sql, n)));
        let (_, use_db, sql) = views.remove(ready.unwrap_or(0));
        out.push(use_db);
        out.push(sql);
    }
    out
}
