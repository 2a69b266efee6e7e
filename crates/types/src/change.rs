//! Row changes: what a transaction did to one row.

use std::sync::Arc;

use crate::column::TableSchema;
use crate::value::Value;

/// One row's values, in the table's column order.
pub type Row = Vec<Value>;

/// What happened to a row.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum RowChange {
    /// A row was inserted.
    Insert {
        /// The row inserted.
        after: Row,
    },
    /// A row was updated.
    Update {
        /// The row before the update.
        before: Row,
        /// The row after it.
        after: Row,
    },
    /// A row was deleted.
    Delete {
        /// The row deleted.
        before: Row,
    },
}

impl RowChange {
    /// The row image that identifies the row before the change (for update and delete).
    pub fn before(&self) -> Option<&Row> {
        match self {
            RowChange::Insert { .. } => None,
            RowChange::Update { before, .. } | RowChange::Delete { before } => Some(before),
        }
    }

    /// The row image after the change (for insert and update).
    pub fn after(&self) -> Option<&Row> {
        match self {
            RowChange::Delete { .. } => None,
            RowChange::Insert { after } | RowChange::Update { after, .. } => Some(after),
        }
    }
}

/// A row change with the shape of the table it applies to.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TableChange {
    /// The table, as it was when the change was made.
    pub table: Arc<TableSchema>,
    /// The change, with values in `table`'s column order.
    pub change: RowChange,
}
