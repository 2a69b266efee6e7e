//! Two-way sync's origin mark: how a direction's own writes are told apart from the
//! application's in the binlog of the server it writes to.
//!
//! Every destination transaction a two-way direction writes (an applier group, a full-copy
//! chunk) begins with [`OriginMark::mark_sql`], right after its BEGIN and before any row: an
//! upsert of the writing connection's own row in `<meta>.origin_mark`. The binlog logs row
//! events in statement order, so in the binlog of the server written to, the transaction's
//! *first* row event is on that table, and the opposite direction's reader drops the whole
//! transaction there, at its first row, without buffering it (`dts-task`'s router). One row
//! per connection, so no row is hot; the mark commits or rolls back with the data it marks.
//!
//! ```
//! use dts_types::{Ident, origin::OriginMark};
//!
//! let mark = OriginMark { db: Ident::new("dts_meta").unwrap(), task: "orders".into() };
//! assert!(mark.mark_sql().starts_with("INSERT INTO `dts_meta`.`origin_mark`"));
//! assert_eq!(mark.table_id().to_string(), "`dts_meta`.`origin_mark`");
//! ```

use crate::{Ident, TableId};

/// The table's name in the metadata database.
pub const TABLE: &str = "origin_mark";

/// The mark of one direction: its task and the metadata database it writes on its destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginMark {
    /// The metadata database on the server written to.
    pub db: Ident,
    /// The direction's task name.
    pub task: String,
}

impl OriginMark {
    /// The mark table, as the binlog of the server written to names it.
    pub fn table_id(&self) -> TableId {
        TableId::new(self.db.clone(), Ident::new(TABLE).expect("a valid name"))
    }

    fn table(&self) -> String {
        format!("{}.{}", self.db.quoted(), crate::quote_ident(TABLE))
    }

    /// Creates the table where missing (run once, before any marked transaction).
    pub fn create_sql(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} (task VARCHAR(64) NOT NULL, conn BIGINT UNSIGNED NOT NULL, \
             marks BIGINT UNSIGNED NOT NULL, PRIMARY KEY (task, conn)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            self.table()
        )
    }

    /// The first statement of every marked transaction (after BEGIN): it always writes a row
    /// (an insert, or an update that changes `marks`), so a row event is always logged.
    pub fn mark_sql(&self) -> String {
        let task = crate::Value::String(crate::Text::utf8mb4(&self.task)).to_sql_literal().expect("a string renders");
        format!(
            "INSERT INTO {} (task, conn, marks) VALUES ({task}, CONNECTION_ID(), 1) ON DUPLICATE KEY UPDATE marks = marks + 1",
            self.table()
        )
    }
}
