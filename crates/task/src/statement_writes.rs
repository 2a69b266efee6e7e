//! Writes the task cannot replay exactly: rows written by a session logging in statement format
//! (`binlog_format=STATEMENT` or `MIXED`: the binlog holds the statement, not its rows) and the
//! changes of XA transactions (logged at XA PREPARE, decided later by XA COMMIT or XA ROLLBACK).
//! On tables the task does not sync they are skipped and counted; on a synced table the task
//! stops, naming the statement and what to change.

use std::collections::HashSet;

use dts_schema::{StatementWrite, TemporaryTable, Translator};

use crate::input::SourceError;

/// The temporary tables sessions logging in statement format created, by session (thread id),
/// database and name: writes to them touch no synced table. The server logs a DROP TEMPORARY
/// TABLE for each when its session ends.
#[derive(Debug, Default)]
pub(crate) struct TemporaryTables(HashSet<(u32, String, String)>);

impl TemporaryTables {
    /// Follows a CREATE or DROP TEMPORARY TABLE of session `thread` (default database `db`).
    pub(crate) fn follow(&mut self, change: TemporaryTable, thread: u32, db: Option<&str>) {
        let key = |d: Option<String>, t: String| (thread, d.or(db.map(str::to_string)).unwrap_or_default(), t);
        match change {
            TemporaryTable::Created(d, t) => {
                self.0.insert(key(d, t));
            }
            TemporaryTable::Dropped(tables) => {
                for (d, t) in tables {
                    self.0.remove(&key(d, t));
                }
            }
        }
    }

    fn contains(&self, thread: u32, db: &str, table: &str) -> bool {
        self.0.contains(&(thread, db.to_string(), table.to_string()))
    }
}

/// The fix for a statement-format write, in the stop message.
const ROW_FORMAT_FIX: &str = "the rows it changed are not in the binlog, so the task cannot apply them. Fix: make \
     every session that writes the task's tables log rows (SET GLOBAL binlog_format='ROW' on the source, and no \
     SET SESSION binlog_format='STATEMENT' or 'MIXED' in the application), then run a full sync of the table";

/// Whether a statement-format write may touch what the task syncs: `Ok` when it cannot (it is
/// skipped), the stop naming it otherwise. `default_db` is the statement's default database.
pub(crate) fn judge_statement_write(
    translator: &Translator,
    temporary: &TemporaryTables,
    thread: u32,
    write: &StatementWrite,
    default_db: Option<&str>,
    sql: &str,
) -> Result<(), SourceError> {
    let selection = &translator.config().selection;
    let stop = |object: String| SourceError::StatementFormat {
        statement: sql.to_string(),
        object,
        reason: ROW_FORMAT_FIX.to_string(),
    };
    if let Some((db, table)) = &write.table {
        // One table written: its selection decides.
        let db = db.as_deref().or(default_db).unwrap_or_default();
        if temporary.contains(thread, db, table) {
            return Ok(());
        }
        return match translator.table_mapping(db, table) {
            Some(_) => Err(stop(format!("{db}.{table}"))),
            None => Ok(()),
        };
    }
    // Several tables, or functions that write: every database it names, and its default one.
    let named = write.qualifiers.iter().map(String::as_str).chain(default_db);
    for db in named {
        if selection.database(db).is_some() {
            return Err(stop(format!("tables of database {db}")));
        }
    }
    Ok(())
}

/// The stop for a row of a synced table inside the prepared part of XA transaction `xid`.
pub(crate) fn xa_on_synced_table(xid: &str, table: &str) -> SourceError {
    SourceError::Xa {
        xid: xid.to_string(),
        table: table.to_string(),
        reason: "an XA transaction's changes are logged at XA PREPARE and its outcome (XA COMMIT or XA ROLLBACK) \
                 later, and the task does not apply them. Fix: write the task's tables with ordinary transactions \
                 (an XA transaction ended by XA COMMIT ... ONE PHASE is one), or leave the table out of the task; \
                 then run a full sync of the table"
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use dts_schema::{TranslateConfig, statement_write};

    use super::*;
    use crate::config::Config;

    fn translator(objects: &str) -> Translator {
        let text = format!(
            "[source]\nhost = \"a\"\nuser = \"u\"\npassword_env = \"PATH\"\n\
             [destination]\nhost = \"b\"\nuser = \"u\"\npassword_env = \"PATH\"\n\
             [task]\nname = \"t\"\nserver_id = 7\n{objects}"
        );
        let c = Config::parse(&text, Path::new("task.toml")).unwrap();
        Translator::new(TranslateConfig { selection: c.selection.clone(), ..Default::default() })
    }

    fn judge(tr: &Translator, sql: &str, db: Option<&str>) -> Result<(), String> {
        judge_in(tr, &TemporaryTables::default(), sql, db)
    }

    fn judge_in(tr: &Translator, tmp: &TemporaryTables, sql: &str, db: Option<&str>) -> Result<(), String> {
        let w = statement_write(sql, false).unwrap().unwrap();
        judge_statement_write(tr, tmp, 7, &w, db, sql).map_err(|e| e.to_string())
    }

    #[test]
    fn writes_outside_the_selection_pass_and_inside_it_stop() {
        let tr = translator("[[objects]]\ndatabase = \"shop\"\nexclude_tables = [\"log\"]\n");
        assert!(judge(&tr, "INSERT INTO t VALUES (1)", Some("other")).is_ok());
        assert!(judge(&tr, "INSERT INTO other.t SELECT * FROM shop.items", Some("shop")).is_ok());
        assert!(judge(&tr, "UPDATE log SET v = 1", Some("shop")).is_ok());
        let e = judge(&tr, "UPDATE items SET v = 1", Some("shop")).unwrap_err();
        assert!(e.contains("shop.items") && e.contains("statement format") && e.contains("UPDATE items"), "{e}");
        // Several tables: any selected database named stops.
        assert!(judge(&tr, "UPDATE a JOIN b USING (id) SET a.v = 1", Some("other")).is_ok());
        let e = judge(&tr, "UPDATE a JOIN shop.b USING (id) SET a.v = 1", Some("other")).unwrap_err();
        assert!(e.contains("database shop"), "{e}");
        assert!(judge(&tr, "SELECT f()", Some("shop")).is_err());
    }

    #[test]
    fn writes_to_a_sessions_temporary_table_pass() {
        let tr = translator("[[objects]]\ndatabase = \"shop\"\n");
        let mut tmp = TemporaryTables::default();
        let created = dts_schema::temporary_table("CREATE TEMPORARY TABLE items (i INT)", false).unwrap().unwrap();
        tmp.follow(created, 7, Some("shop"));
        assert!(judge_in(&tr, &tmp, "INSERT INTO items VALUES (1)", Some("shop")).is_ok());
        assert!(judge_in(&tr, &tmp, "INSERT INTO shop.items VALUES (1)", None).is_ok());
        // Another session's table of that name is the real one.
        let w = statement_write("INSERT INTO items VALUES (1)", false).unwrap().unwrap();
        assert!(judge_statement_write(&tr, &tmp, 8, &w, Some("shop"), "INSERT INTO items VALUES (1)").is_err());
        let dropped = dts_schema::temporary_table("DROP TEMPORARY TABLE IF EXISTS `items`", false).unwrap().unwrap();
        tmp.follow(dropped, 7, Some("shop"));
        assert!(judge_in(&tr, &tmp, "INSERT INTO items VALUES (1)", Some("shop")).is_err());
    }
}
