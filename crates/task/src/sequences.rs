//! Sequences in the full phase. MariaDB logs every change of a sequence's state (a NEXTVAL that
//! refills the cache, SETVAL, ALTER SEQUENCE's new values) as a row event of the sequence's one
//! row, which incremental sync applies like any row. The full copy gives each selected
//! sequence its state read after the low watermark, the way it copies a table's chunk: the
//! replay from the watermark then ends with the source's state.

use mysql::Conn;
use mysql::prelude::Queryable;

use crate::config::Config;
use crate::run::TaskError;

/// Copies the state of every selected sequence that exists on the destination; returns how
/// many it copied. A selected sequence missing on the destination is named at WARN (its rows
/// in incremental sync would fail: create it, or run schema sync).
pub(crate) fn copy_states(config: &Config, src: &mut Conn, dst: &mut Conn) -> Result<usize, TaskError> {
    let mut copied = 0;
    let dbs: Vec<String> = dts_schema::catalog(src).map_err(TaskError::Source)?.into_keys().collect();
    for db in dbs.iter().filter(|d| config.selection.database(d).is_some()) {
        for seq in dts_schema::sequences(src, &config.selection, db).map_err(TaskError::Source)? {
            let Some(m) = config.selection.table(db, &seq) else { continue };
            let exists: Option<u8> = dst
                .exec_first(
                    "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
                     AND TABLE_TYPE = 'SEQUENCE'",
                    (m.target.database.as_str(), m.target.table.as_str()),
                )
                .map_err(TaskError::Destination)?;
            if exists.is_none() {
                tracing::warn!(sequence = %m.target, "the selected sequence {db}.{seq} is not on the destination: its state is not copied");
                continue;
            }
            let state = dts_schema::sequence_state(src, db, &seq).map_err(TaskError::Source)?;
            if state.is_empty() {
                continue;
            }
            dst.query_drop(dts_schema::sequence_state_sql(&m.target, &state)).map_err(TaskError::Destination)?;
            copied += 1;
        }
    }
    Ok(copied)
}
