//! Where a server's binlog ends now.

use dts_types::BinlogPosition;
use mysql::Conn;
use mysql::prelude::Queryable;

/// Why the end of binlog could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PositionError {
    /// The statement failed.
    #[error("reading the binlog status: {0}")]
    Sql(#[from] mysql::Error),
    /// The server writes no binlog.
    #[error("the binlog status names no binlog file: the server's binlog is off")]
    BinlogOff,
}

/// The server's current end of binlog (`SHOW MASTER STATUS`, or its MySQL 8.4 name): where a
/// reader started now begins, and what everything written so far ends before.
pub fn binlog_position(conn: &mut Conn) -> Result<BinlogPosition, PositionError> {
    let status = dts_types::dialect::Dialect::of(conn)?.binlog_status();
    let row: mysql::Row = conn.query_first(status)?.ok_or(PositionError::BinlogOff)?;
    match (row.get::<String, _>(0), row.get::<u64, _>(1)) {
        (Some(file), Some(offset)) => Ok(BinlogPosition::new(file, offset)),
        _ => Err(PositionError::BinlogOff),
    }
}
