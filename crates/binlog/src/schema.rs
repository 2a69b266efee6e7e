//! Where column names and types come from when a table map does not carry them.

use std::sync::Arc;

use dts_types::{BinlogPosition, TableId, TableSchema};

/// Why a [`SchemaProvider`] could not answer: its own error, kept whole so its cause chain
/// reaches the user.
pub type SchemaError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Supplies a table's schema as it was at a binlog position, for sources that log table maps
/// without full metadata (MariaDB's default binlog_row_metadata=NO_LOG, MySQL's MINIMAL), so
/// old events decode with the schema they were written under.
///
/// Metadata present in the table map always wins; the provider fills only what is missing
/// (column names, signedness, charsets, ENUM/SET members, primary key).
pub trait SchemaProvider: Send {
    /// The schema of `table` when the event at `at` was written, or `None` if unknown.
    fn table_schema(&mut self, table: &TableId, at: &BinlogPosition) -> Result<Option<Arc<TableSchema>>, SchemaError>;
}
