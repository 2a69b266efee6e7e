//! The heartbeat: four times a second the running task writes the source's clock into
//! `<meta_database>.heartbeat` on the source. The row travels through the binlog like any
//! change and is applied to the same table on the destination, in the same transactions as the
//! data, so `now - applied time` on the destination is the true lag, even when the source is
//! otherwise idle. `[task] heartbeat = false` turns it off (for a read-only source).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dts_types::Ident;
use mysql::Conn;
use mysql::prelude::Queryable;

pub const TABLE: &str = "heartbeat";

fn create_sql(db: &Ident) -> [String; 2] {
    [
        format!("CREATE DATABASE IF NOT EXISTS {}", db.quoted()),
        format!(
            "CREATE TABLE IF NOT EXISTS {}.`{TABLE}` (task VARCHAR(64) NOT NULL PRIMARY KEY, ts TIMESTAMP(6) NOT NULL) \
             DEFAULT CHARSET=utf8mb4",
            db.quoted()
        ),
    ]
}

/// Creates the heartbeat table on a server where it is missing. Only then: on the source a
/// `CREATE ... IF NOT EXISTS` is binlogged even when it changes nothing, and the task would
/// record its own statements in its DDL log (and show them as the last DDL) at every start.
pub fn ensure(c: &mut Conn, db: &Ident) -> Result<(), mysql::Error> {
    let exists: Option<u8> = c.exec_first(
        "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
        (db.as_str(), TABLE),
    )?;
    if exists.is_some() {
        return Ok(());
    }
    for s in create_sql(db) {
        c.query_drop(s)?;
    }
    Ok(())
}

/// How often the heartbeat is written: the lag it shows is at most this much above the truth.
pub const INTERVAL: Duration = Duration::from_millis(250);

/// Writes the heartbeat every [`INTERVAL`] until `stop`; a failure is logged and retried.
pub fn start(source: mysql::Opts, db: Ident, task: String, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let mut conn: Option<Conn> = None;
        let mut warned = false;
        while !stop.load(Ordering::Relaxed) {
            let r = (|| -> Result<(), mysql::Error> {
                if conn.is_none() {
                    let mut c = crate::run::connect(source.clone())?;
                    ensure(&mut c, &db)?;
                    conn = Some(c);
                }
                let c = conn.as_mut().expect("connected");
                c.exec_drop(
                    format!(
                        "INSERT INTO {}.`{TABLE}` (task, ts) VALUES (?, UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE ts = VALUES(ts)",
                        db.quoted()
                    ),
                    (&task,),
                )
            })();
            if let Err(e) = r {
                conn = None;
                if !warned {
                    tracing::warn!(
                        "heartbeat on the source failed (lag is then measured by the checkpoint's age): {e}"
                    );
                    warned = true;
                }
            }
            std::thread::sleep(INTERVAL);
        }
    });
}

/// Seconds between now and the last source heartbeat applied on the destination.
pub fn applied_lag(dest: &mut Conn, db: &Ident, task: &str) -> Option<f64> {
    dest.exec_first::<Option<f64>, _, _>(
        format!(
            "SELECT TIMESTAMPDIFF(MICROSECOND, ts, UTC_TIMESTAMP(6)) / 1e6 FROM {}.`{TABLE}` WHERE task = ?",
            db.quoted()
        ),
        (task,),
    )
    .ok()
    .flatten()
    .flatten()
}
