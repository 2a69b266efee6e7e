//! Secondary indexes built after a table's rows are copied, not row by row while they load.
//!
//! Loading rows into a table whose non-unique indexes are already there inserts every row into
//! each index in the rows' (random) order of that index; building the index once the rows are
//! in sorts them first. Measured on the destination with sysbench's table (250k rows, one INT
//! index): LOAD DATA 1.87 s with the index, 1.18 s + 0.24 s for ADD INDEX without it.
//!
//! So before the first chunk of an empty destination table is written, its plain non-unique
//! indexes are recorded in `<meta>.fullcopy_indexes` (their definitions as the destination's
//! SHOW CREATE TABLE prints them) and dropped; once its last chunk is committed they are added
//! back in one ALTER TABLE, and the record goes. A crash in between leaves the record: the next
//! copy adds whichever of them is missing (by name) once the table's chunks are done, so the
//! table ends with exactly its definition. Unique keys stay (the copy's REPLACE and the
//! incremental sync need them), as do FULLTEXT and SPATIAL indexes (adding a table's first
//! FULLTEXT index rebuilds it), and nothing is deferred on a table with foreign keys (either
//! side: an index may serve one) or system versioning (its ALTERs are refused).

use dts_types::{Ident, TableId};
use mysql::prelude::Queryable;

use crate::CopyError;

/// Tables smaller than this keep their indexes while loading: the two ALTERs cost more than
/// the index inserts they save.
pub const MIN_ROWS: u64 = 20_000;

/// A table's secondary indexes waiting to be built: the `KEY ...` clauses of its definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deferred {
    /// Each index's name and its clause as SHOW CREATE TABLE prints it (`KEY `k` (`c`)`).
    pub indexes: Vec<(String, String)>,
}

impl Deferred {
    fn to_text(&self) -> String {
        self.indexes.iter().map(|(_, clause)| clause.as_str()).collect::<Vec<_>>().join("\n")
    }

    fn from_text(text: &str) -> Deferred {
        Deferred { indexes: text.lines().filter_map(|l| Some((index_name(l)?, l.to_string()))).collect() }
    }
}

/// The plain non-unique indexes in a SHOW CREATE TABLE text, one per line (`  KEY `name` (...)`).
pub fn plain_indexes(create: &str) -> Vec<(String, String)> {
    create
        .lines()
        .filter_map(|l| {
            let clause = l.trim().trim_end_matches(',');
            clause.starts_with("KEY `").then(|| Some((index_name(clause)?, clause.to_string())))?
        })
        .collect()
}

/// The name in a `KEY `name` ...` clause (backquotes doubled inside it).
fn index_name(clause: &str) -> Option<String> {
    let rest = clause.strip_prefix("KEY `")?;
    let mut name = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '`' {
            if chars.peek() == Some(&'`') {
                chars.next();
            } else {
                return Some(name);
            }
        }
        name.push(c);
    }
    None
}

/// The deferred-index records of one task.
#[derive(Debug, Clone)]
pub struct DeferredIndexes {
    /// The task.
    pub task: String,
    /// The metadata database.
    pub db: Ident,
}

impl DeferredIndexes {
    fn t(&self) -> String {
        format!("{}.`fullcopy_indexes`", self.db.quoted())
    }

    /// Creates the record table if it does not exist.
    pub fn ensure(&self, dest: &mut mysql::Conn) -> Result<(), CopyError> {
        dest.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL, db VARCHAR(64) NOT NULL, tbl VARCHAR(64) NOT NULL, \
             target_db VARCHAR(64) NOT NULL, target_tbl VARCHAR(64) NOT NULL, indexes LONGTEXT NOT NULL, \
             PRIMARY KEY (task, db, tbl)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            self.t()
        ))?;
        Ok(())
    }

    /// The indexes recorded for `table` (the source table), if any wait.
    pub fn recorded(&self, dest: &mut mysql::Conn, table: &TableId) -> Result<Option<Deferred>, CopyError> {
        let text: Option<String> = dest.exec_first(
            format!("SELECT indexes FROM {} WHERE task = ? AND db = ? AND tbl = ?", self.t()),
            (&self.task, table.database.as_str(), table.table.as_str()),
        )?;
        Ok(text.map(|t| Deferred::from_text(&t)))
    }

    /// Defers the plain indexes of the empty destination table `target` (copied from `table`)
    /// when it qualifies (see the module's doc): records them, then drops them. `None` when it
    /// keeps its indexes.
    pub fn defer(
        &self,
        dest: &mut mysql::Conn,
        table: &TableId,
        target: &TableId,
    ) -> Result<Option<Deferred>, CopyError> {
        let (db, t) = (target.database.as_str(), target.table.as_str());
        let fks: Option<u64> = dest.exec_first(
            "SELECT COUNT(*) FROM information_schema.KEY_COLUMN_USAGE WHERE REFERENCED_TABLE_NAME IS NOT NULL \
             AND ((TABLE_SCHEMA = ? AND TABLE_NAME = ?) OR (REFERENCED_TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME = ?))",
            (db, t, db, t),
        )?;
        if fks.unwrap_or(0) > 0 {
            return Ok(None);
        }
        let quoted = target.quoted();
        let create: Option<(String, String)> = dest.query_first(format!("SHOW CREATE TABLE {quoted}"))?;
        let Some((_, create)) = create else { return Ok(None) };
        if create.contains("WITH SYSTEM VERSIONING") || !create.starts_with("CREATE TABLE") {
            return Ok(None);
        }
        let indexes = plain_indexes(&create);
        let empty = dest.query_first::<u8, _>(format!("SELECT 1 FROM {quoted} LIMIT 1"))?.is_none();
        if indexes.is_empty() || !empty {
            return Ok(None);
        }
        let deferred = Deferred { indexes };
        dest.exec_drop(
            format!(
                "REPLACE INTO {} (task, db, tbl, target_db, target_tbl, indexes) VALUES (?, ?, ?, ?, ?, ?)",
                self.t()
            ),
            (&self.task, table.database.as_str(), table.table.as_str(), db, t, deferred.to_text()),
        )?;
        let drops: Vec<String> =
            deferred.indexes.iter().map(|(name, _)| format!("DROP INDEX {}", quote(name))).collect();
        dest.query_drop(format!("ALTER TABLE {quoted} {}", drops.join(", ")))?;
        Ok(Some(deferred))
    }

    /// Adds back those of `deferred` that `target` lacks, in one ALTER TABLE, then forgets the
    /// record. Run once every chunk of the table is committed.
    pub fn restore(
        &self,
        dest: &mut mysql::Conn,
        table: &TableId,
        target: &TableId,
        deferred: &Deferred,
    ) -> Result<(), CopyError> {
        let (db, t) = (target.database.as_str(), target.table.as_str());
        // A second look after ERROR 1061 (duplicate key name): an ALTER of a killed runner that
        // the server finished meanwhile added them.
        for attempt in 0..2 {
            let present: Vec<String> = dest.exec(
                "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (db, t),
            )?;
            let adds: Vec<String> = deferred
                .indexes
                .iter()
                .filter(|(name, _)| !present.iter().any(|p| p.eq_ignore_ascii_case(name)))
                .map(|(_, clause)| format!("ADD {clause}"))
                .collect();
            if adds.is_empty() {
                break;
            }
            match dest.query_drop(format!("ALTER TABLE {} {}", target.quoted(), adds.join(", "))) {
                Ok(()) => break,
                Err(mysql::Error::MySqlError(ref m)) if m.code == 1061 && attempt == 0 => continue,
                Err(source) => return Err(CopyError::Indexes { table: target.to_string(), source }),
            }
        }
        self.forget(dest, table)
    }

    /// Builds the indexes still waiting for tables whose every chunk is done: a copy that
    /// committed a table's last chunk and then failed to build them (a `recopy` whose ALTER
    /// timed out), so the next phase finds each table whole. Run before incremental sync
    /// applies anything; a table whose copy is not done (it waits for `dts-sync recopy`) keeps
    /// its record. Returns the tables built.
    pub fn restore_waiting(
        &self,
        dest: &mut mysql::Conn,
        fence: Option<&dts_types::fence::Fence>,
    ) -> Result<Vec<TableId>, CopyError> {
        let exists: Option<u64> = dest.exec_first(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'fullcopy_indexes'",
            (self.db.as_str(),),
        )?;
        if exists.unwrap_or(0) == 0 {
            return Ok(Vec::new());
        }
        let waiting: Vec<(String, String, String, String, String)> = dest.exec(
            format!(
                "SELECT i.db, i.tbl, i.target_db, i.target_tbl, i.indexes FROM {} i WHERE i.task = ? AND NOT EXISTS \
                 (SELECT 1 FROM {}.`fullcopy_chunks` c WHERE c.task = i.task AND c.db = i.db AND c.tbl = i.tbl \
                 AND c.done = 0)",
                self.t(),
                self.db.quoted()
            ),
            (&self.task,),
        )?;
        let mut built = Vec::new();
        for (db, tbl, target_db, target_tbl, text) in waiting {
            let (Ok(table), Ok(target)) = (TableId::parse(&db, &tbl), TableId::parse(&target_db, &target_tbl)) else {
                continue;
            };
            if let Some(f) = fence {
                let found: Option<u64> = dest.query_first(f.check_sql())?;
                f.verify(found)?;
            }
            self.restore(dest, &table, &target, &Deferred::from_text(&text))?;
            built.push(table);
        }
        Ok(built)
    }

    /// Forgets `table`'s record (its destination table is created again: its own definition
    /// holds its indexes).
    pub fn forget(&self, dest: &mut mysql::Conn, table: &TableId) -> Result<(), CopyError> {
        dest.exec_drop(
            format!("DELETE FROM {} WHERE task = ? AND db = ? AND tbl = ?", self.t()),
            (&self.task, table.database.as_str(), table.table.as_str()),
        )?;
        Ok(())
    }
}

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_keys_are_taken_with_their_exact_clauses() {
        let create = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `k` int(11) NOT NULL,\n  `c` text,\n  \
                      PRIMARY KEY (`id`),\n  UNIQUE KEY `u` (`k`),\n  KEY `k_1` (`k`),\n  KEY `odd``name` (`c`(10)) COMMENT 'x',\n  \
                      FULLTEXT KEY `ft` (`c`),\n  KEY `last` (`k`,`id`) IGNORED\n) ENGINE=InnoDB";
        assert_eq!(
            plain_indexes(create),
            [
                ("k_1".to_string(), "KEY `k_1` (`k`)".to_string()),
                ("odd`name".to_string(), "KEY `odd``name` (`c`(10)) COMMENT 'x'".to_string()),
                ("last".to_string(), "KEY `last` (`k`,`id`) IGNORED".to_string()),
            ]
        );
        let d = Deferred { indexes: plain_indexes(create) };
        assert_eq!(Deferred::from_text(&d.to_text()), d, "the record reads back as written");
        assert_eq!(quote("odd`name"), "`odd``name`");
    }
}
