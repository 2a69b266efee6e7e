//! The cut-over (`dts-sync cutover`): once the application writes to the destination and the
//! task is stopped, the destination gets what was held back while the task wrote to it — the
//! source's enabled events are enabled (they were created `DISABLE ON SLAVE`), and its
//! triggers are created (`triggers = "at_cutover"`) or replace their guarded copies
//! (`triggers = "guarded"`) with the source's bodies.
//!
//! It refuses while the task runs (its heartbeat on the source is less than 2 s old): an event
//! or trigger firing on the destination while the task still applies the source's changes
//! would apply them twice. With `heartbeat = false` it cannot tell: stop the task first.

use mysql::prelude::Queryable;

use crate::config::Config;
use crate::run::{TaskError, connect};

/// What the cut-over ran on the destination, in order.
#[derive(Debug, Default)]
pub struct CutoverReport {
    /// The statements.
    pub statements: Vec<String>,
}

/// Runs the cut-over of `config`'s task.
pub fn cutover(config: &Config) -> Result<CutoverReport, TaskError> {
    let mut src = connect(config.source.opts()).map_err(TaskError::Source)?;
    // A running task writes its heartbeat on the source four times a second: it is running
    // when its heartbeat moves.
    if config.raw.task.heartbeat {
        let sql = format!(
            "SELECT CAST(ts AS CHAR) FROM {}.`{}` WHERE task = ?",
            config.meta_db.quoted(),
            crate::heartbeat::TABLE
        );
        let read = |src: &mut mysql::Conn| -> Result<Option<String>, TaskError> {
            src.exec_first(&sql, (config.name(),))
                .or_else(|e| match &e {
                    // No heartbeat table: the task never ran incremental sync.
                    mysql::Error::MySqlError(m) if m.code == 1146 || m.code == 1049 => Ok(None),
                    _ => Err(e),
                })
                .map_err(TaskError::Source)
        };
        let before = read(&mut src)?;
        if before.is_some() {
            std::thread::sleep(crate::heartbeat::INTERVAL * 3);
            if read(&mut src)? != before {
                return Err(TaskError::StillRunning);
            }
        }
    }
    let catalog = dts_schema::catalog(&mut src).map_err(TaskError::Source)?;
    let mut dbs = Vec::new();
    for db in catalog.keys().filter(|d| config.selection.database(d).is_some()) {
        dbs.push(dts_schema::read_database(&mut src, &config.selection, &catalog, db).map_err(TaskError::Source)?);
    }
    let statements = dts_schema::cutover(&config.selection, &dbs, &config.objects)?;
    let mut dst = connect(config.destination.opts()).map_err(TaskError::Destination)?;
    for s in &statements {
        dst.query_drop(s).map_err(|source| TaskError::SchemaStatement { statement: s.clone(), source })?;
    }
    Ok(CutoverReport { statements })
}
