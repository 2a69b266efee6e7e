//! Cumulative counters of a task over all its runs, in `<meta_database>.metric_totals` on the
//! destination: what `/metrics` serves as Prometheus counters, so they never run backwards
//! across restarts.
//!
//! A row per `(task, name, part)`; a counter's total is the sum of its parts. Each connection
//! that commits work adds to a part of its own (an applier writer, a copy writer), so
//! concurrent commits never wait on one row lock. Counters of committed work
//! ([`ROWS_APPLIED`], [`FULL_ROWS_COPIED`]) are added by the very transaction that commits the
//! work with its checkpoint or done mark: a crash neither loses nor double-counts them.
//! Counters of the incremental input are written periodically as absolute values, a part per
//! runner ([`set_sql`], idempotent; [`fold_sql`] merges old parts; see `dts-task`).
//!
//! ```
//! use dts_types::{Ident, totals};
//!
//! let db = Ident::new("dts_meta").unwrap();
//! let sql = totals::add_sql(&db, "orders", 1, &[(totals::ROWS_APPLIED, 5), ("unused", 0)]).unwrap();
//! assert!(sql.contains("'rows_applied'") && !sql.contains("unused"));
//! assert!(totals::add_sql(&db, "orders", 1, &[(totals::ROWS_APPLIED, 0)]).is_none());
//! ```

use crate::Ident;

/// Row changes the applier committed to the destination (with their checkpoint).
pub const ROWS_APPLIED: &str = "rows_applied";
/// Source transactions the applier committed to the destination (with their checkpoint).
pub const TRANSACTIONS_APPLIED: &str = "transactions_applied";
/// Rows the full copy committed to the destination (with their chunk's done mark, or as a
/// piece of a snapshot copy).
pub const FULL_ROWS_COPIED: &str = "full_rows_copied";

/// The table, qualified and quoted.
pub fn table(db: &Ident) -> String {
    format!("{}.`metric_totals`", db.quoted())
}

/// Creates the table where missing.
pub fn create_sql(db: &Ident) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL, name VARCHAR(64) NOT NULL, \
         part INT UNSIGNED NOT NULL, value BIGINT UNSIGNED NOT NULL DEFAULT 0, PRIMARY KEY (task, name, part)) \
         DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        table(db)
    )
}

fn lit(s: &str) -> String {
    crate::Value::String(crate::Text::utf8mb4(s)).to_sql_literal().expect("a string renders")
}

/// The statement adding `deltas` to `part`'s rows (`None` when every delta is 0: nothing to
/// write).
pub fn add_sql(db: &Ident, task: &str, part: u32, deltas: &[(&str, u64)]) -> Option<String> {
    let rows: Vec<String> = deltas
        .iter()
        .filter(|(_, d)| *d > 0)
        .map(|(name, d)| format!("({}, {}, {part}, {d})", lit(task), lit(name)))
        .collect();
    (!rows.is_empty()).then(|| {
        format!(
            "INSERT INTO {} (task, name, part, value) VALUES {} ON DUPLICATE KEY UPDATE value = value + VALUES(value)",
            table(db),
            rows.join(", ")
        )
    })
}

/// The statement setting `part`'s rows to `values`, each an absolute count that only grows
/// (`GREATEST`): written again after a lost reply, it changes nothing (`None` when every value
/// is 0: nothing to write). For counters one writer keeps in a part of its own.
pub fn set_sql(db: &Ident, task: &str, part: u32, values: &[(&str, u64)]) -> Option<String> {
    let rows: Vec<String> = values
        .iter()
        .filter(|(_, v)| *v > 0)
        .map(|(name, v)| format!("({}, {}, {part}, {v})", lit(task), lit(name)))
        .collect();
    (!rows.is_empty()).then(|| {
        format!(
            "INSERT INTO {} (task, name, part, value) VALUES {} ON DUPLICATE KEY UPDATE value = GREATEST(value, VALUES(value))",
            table(db),
            rows.join(", ")
        )
    })
}

/// The statements (for one transaction) adding the rows of `names` in every part but 0 and
/// `keep` into part 0 and deleting them: totals unchanged, a row per counter fewer for each
/// part folded. Run again after a lost reply, it finds nothing left to fold.
pub fn fold_sql(db: &Ident, task: &str, names: &[&str], keep: u32) -> [String; 2] {
    let names = names.iter().map(|n| lit(n)).collect::<Vec<_>>().join(", ");
    let rows = format!("task = {} AND part NOT IN (0, {keep}) AND name IN ({names})", lit(task));
    [
        format!(
            "INSERT INTO {t} (task, name, part, value) SELECT task, name, 0, SUM(value) FROM {t} WHERE {rows} \
             GROUP BY task, name ON DUPLICATE KEY UPDATE value = {t}.value + VALUES(value)",
            t = table(db)
        ),
        format!("DELETE FROM {} WHERE {rows}", table(db)),
    ]
}

/// The query reading every counter's total: rows of `(name, total)`.
pub fn read_sql(db: &Ident, task: &str) -> String {
    format!("SELECT name, CAST(SUM(value) AS UNSIGNED) FROM {} WHERE task = {} GROUP BY name", table(db), lit(task))
}
