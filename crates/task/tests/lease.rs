//! The task's lease against a real destination: one holder at a time, takeover after the
//! period with a new epoch, and fencing: a commit under the old epoch is refused and leaves
//! nothing behind.

use std::time::Duration;

use dts_fullcopy::{CopyError, CopyOptions};
use dts_schema::{DatabaseRule, Selection};
use dts_task::lease::{LeaseError, LeaseTable};
use dts_testkit::shared_pair;
use mysql::prelude::Queryable;

#[test]
fn one_holder_then_a_takeover_fences_the_old_one_out() {
    let pair = shared_pair();
    let (src, dst) = (&pair.source, &pair.destination);
    let meta = dst.fresh_database("lease_meta").unwrap();
    let table = LeaseTable { task: "fenced".into(), db: meta.clone() };
    let mut c = dst.conn().unwrap();
    let period = Duration::from_secs(2);

    let first = table.acquire(&mut c, period).unwrap();
    let refused = table.acquire(&mut c, period).unwrap_err();
    assert!(matches!(refused, LeaseError::AlreadyRunning { .. }), "{refused}");
    let text = refused.to_string();
    assert!(text.contains("already running") && text.contains("pid") && text.contains("since"), "{text}");
    assert!(!table.renew(&mut c, &first, period).unwrap(), "no stop was asked");

    // Not renewed for its period: another runner takes over with the next epoch.
    std::thread::sleep(period + Duration::from_millis(300));
    let second = table.acquire(&mut c, period).unwrap();
    assert_eq!(second.epoch, first.epoch + 1);
    let lost = table.renew(&mut c, &first, period).unwrap_err();
    assert!(matches!(lost, LeaseError::Fenced(_)), "{lost}");
    assert!(lost.to_string().contains("another runner took over"), "{lost}");

    // A full copy under the old epoch commits no chunk; under the new one it copies.
    let db = src.fresh_database("lease_src").unwrap();
    let mut s = src.conn().unwrap();
    s.query_drop(format!("CREATE TABLE {}.t (id INT PRIMARY KEY, v INT)", db.quoted())).unwrap();
    s.query_drop(format!("INSERT INTO {}.t SELECT seq, seq FROM mysql.seq_1_to_100", db.quoted())).unwrap();
    let target = format!("{}_d", db.as_str());
    c.query_drop(format!("CREATE DATABASE `{target}`")).unwrap();
    c.query_drop(format!("CREATE TABLE `{target}`.t (id INT PRIMARY KEY, v INT)")).unwrap();
    let sel = Selection {
        databases: vec![DatabaseRule { database: db.to_string(), rename: Some(target.clone()), ..Default::default() }],
        ..Default::default()
    };
    let tables = sel.mapped(&dts_schema::catalog(&mut s).unwrap());
    let options = |fence| {
        let mut o = CopyOptions::new("fenced");
        o.meta_db = meta.clone();
        o.chunk_rows = 10;
        o.fence = Some(fence);
        o
    };
    let e = dts_fullcopy::run(src.opts(), dst.opts(), tables.clone(), &options(first)).unwrap_err();
    assert!(matches!(e, CopyError::Fenced(_)), "{e}");
    let copied: Option<u64> = c.query_first(format!("SELECT COUNT(*) FROM `{target}`.t")).unwrap();
    assert_eq!(copied, Some(0), "the old runner committed a chunk");
    let report = dts_fullcopy::run(src.opts(), dst.opts(), tables, &options(second)).unwrap();
    assert_eq!(report.rows, 100);
}
