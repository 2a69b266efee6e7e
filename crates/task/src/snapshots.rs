//! The keyless tables' snapshot positions, read from the full copy's metadata for incremental
//! sync's router (see `dts_fullcopy::Meta::snapshots` and [`crate::router::Router::set_snapshots`]).

use dts_types::{BinlogPosition, TableId};

use crate::config::Config;
use crate::input::SourceError;

/// Every table the task's full copy read from a snapshot of its own, with the snapshot's
/// binlog position (none for a task without a full copy).
pub fn read(config: &Config) -> Result<Vec<(TableId, BinlogPosition)>, SourceError> {
    let opts =
        mysql::OptsBuilder::from_opts(config.destination.opts()).init(dts_types::session::init_statements().to_vec());
    let mut dst = mysql::Conn::new(opts).map_err(|e| SourceError::Snapshots(e.into()))?;
    let meta = dts_fullcopy::Meta { task: config.name().to_string(), db: config.meta_db.clone() };
    meta.snapshots(&mut dst).map_err(SourceError::Snapshots)
}
