//! The source's binary log: on, in ROW format with full images and metadata, a checksum the
//! reader verifies, GTIDs, retention long enough for the task's phases, the checkpoint's file
//! still present on resume, and a replica server id nobody else uses.

use dts_types::{GtidHistory, GtidPosition, MariaGtidList, SourcePosition};
use mysql::Conn;
use mysql::prelude::Queryable;

use crate::SyncTypes;
use crate::report::Item;
use crate::server::{Flavour, ServerInfo};

/// What the source says about its binlog beyond variables.
#[derive(Debug, Clone)]
pub struct BinlogFacts {
    /// `SHOW BINARY LOGS` file names and sizes (empty when the binlog is off or not readable).
    pub files: Vec<(String, u64)>,
    /// Server ids of connected replicas, or why they could not be listed.
    pub replicas: Result<Vec<u32>, String>,
    /// What a MariaDB source's binlog holds by GTID (`None` on MySQL, or when unreadable).
    pub gtid: Option<GtidHistory>,
}

impl Default for BinlogFacts {
    fn default() -> Self {
        BinlogFacts { files: Vec::new(), replicas: Ok(Vec::new()), gtid: None }
    }
}

impl BinlogFacts {
    pub fn read(conn: &mut Conn) -> BinlogFacts {
        let Ok(dialect) = dts_types::dialect::Dialect::of(conn) else { return BinlogFacts::default() };
        let files = conn
            .query_map(dialect.binary_logs(), |row: mysql::Row| {
                // A row without a name or size matches no checkpoint file: the item fails, naming it.
                (row.get::<String, _>(0).unwrap_or_default(), row.get::<u64, _>(1).unwrap_or(0))
            })
            .unwrap_or_default();
        let replicas = conn
            .query_map(dialect.replicas(), |row: mysql::Row| row.get::<u32, _>(0).unwrap_or(0))
            .map_err(|e| e.to_string());
        let gtid = gtid_history(conn).ok().flatten();
        BinlogFacts { files, replicas, gtid }
    }
}

/// What a MariaDB server's binlog holds by GTID: where it ends (`@@gtid_binlog_pos`) and the
/// state its oldest binlog file begins at. `None` on MySQL (its GTID sets are not followed
/// across servers yet). The task asks the same before it reads a new source from its
/// checkpoint's GTID state, so the precheck and the run judge alike.
pub fn gtid_history(conn: &mut Conn) -> Result<Option<GtidHistory>, mysql::Error> {
    let dialect = dts_types::dialect::Dialect::of(conn)?;
    if dialect.flavour != dts_types::dialect::Flavour::MariaDb {
        return Ok(None);
    }
    // A list the server gives that does not parse (or none) counts as empty: the conservative
    // side, since an empty history serves no checkpoint and the task stops naming the GTIDs.
    let parse = |t: Option<String>| t.unwrap_or_default().parse::<MariaGtidList>().unwrap_or_default();
    let end = parse(conn.query_first(dialect.gtid_state())?);
    let oldest_file: Option<String> =
        conn.query_first::<mysql::Row, _>(dialect.binary_logs())?.and_then(|r| r.get::<String, _>(0));
    let oldest = match oldest_file {
        Some(f) => parse(conn.exec_first::<Option<String>, _, _>("SELECT BINLOG_GTID_POS(?, 4)", (f,))?.flatten()),
        None => MariaGtidList::new(),
    };
    Ok(Some(GtidHistory { end, oldest }))
}

fn set_global(var: &str, value: &str) -> String {
    format!(
        "SET GLOBAL {var} = {value}; and {var} = {value} under [mysqld] in the server's config so a restart keeps it"
    )
}

/// The binlog items for a task of `types`; `server_id` is the task's replica id.
pub fn items(
    s: &ServerInfo,
    facts: &BinlogFacts,
    types: SyncTypes,
    server_id: u32,
    resume_from: Option<&SourcePosition>,
    resuming: bool,
) -> Vec<Item> {
    let mut out = Vec::new();
    if !(types.full || types.incremental) {
        return out;
    }
    let log_bin = s.on("log_bin");
    out.push(if log_bin {
        Item::pass("source.log_bin", "binary log on", "log_bin = ON")
    } else {
        Item::failure(
            "source.log_bin",
            "binary log on",
            "log_bin = OFF",
            "start the source with log_bin (log-bin = <basename> under [mysqld]) and restart it; full sync needs a binlog position and incremental sync reads the binlog",
        )
    });
    if !types.incremental || !log_bin {
        return out;
    }
    let var = |n: &str| s.var(n).unwrap_or("").to_ascii_uppercase();
    let exact = |id: &str, title: &str, name: &str, want: &str, why: &str| {
        let v = var(name);
        if v == want {
            Item::pass(id, title, format!("{name} = {v}"))
        } else {
            Item::failure(
                id,
                title,
                format!("{name} = {}: {why}", if v.is_empty() { "(not set)" } else { &v }),
                set_global(name, want),
            )
        }
    };
    out.push(exact(
        "source.binlog_format",
        "row-based binary log",
        "binlog_format",
        "ROW",
        "statements instead of rows cannot be replayed exactly",
    ));
    out.push(exact(
        "source.binlog_row_image",
        "full row images",
        "binlog_row_image",
        "FULL",
        "updates and deletes would lack the columns needed to find and rewrite rows",
    ));
    let meta = var("binlog_row_metadata");
    out.push(match meta.as_str() {
        "FULL" => Item::pass("source.binlog_row_metadata", "full row metadata", "binlog_row_metadata = FULL"),
        "" => Item::warning(
            "source.binlog_row_metadata",
            "full row metadata",
            "this server has no binlog_row_metadata (MySQL 5.7): row events carry no column names, and the task reads them from the binlog",
            "use MySQL 8.0+ or MariaDB 10.5+ with binlog_row_metadata = FULL; acknowledge only if no selected table changes shape",
        ),
        m => Item::warning(
            "source.binlog_row_metadata",
            "full row metadata",
            format!(
                "binlog_row_metadata = {m}: row events lack column names, signedness, charsets and ENUM/SET members; \
                 the task takes them from its schema history (the source's schema at the start, and every DDL replayed \
                 into row-less shadow databases on the destination)"
            ),
            format!(
                "acknowledge to sync with the schema history; or {} (MariaDB's default is NO_LOG), so every row event \
                 carries its own columns: no shadow databases, and events stay readable whatever DDL ran in between",
                set_global("binlog_row_metadata", "FULL")
            ),
        ),
    });
    let checksum = var("binlog_checksum");
    out.push(match checksum.as_str() {
        "CRC32" | "NONE" | "" => Item::pass(
            "source.binlog_checksum",
            "binlog checksum readable",
            format!(
                "binlog_checksum = {}{}",
                if checksum.is_empty() { "NONE" } else { &checksum },
                if checksum == "CRC32" { " (verified on every event)" } else { "" }
            ),
        ),
        other => Item::failure(
            "source.binlog_checksum",
            "binlog checksum readable",
            format!("binlog_checksum = {other}"),
            set_global("binlog_checksum", "CRC32"),
        ),
    });
    out.push(gtid_item(s));
    if s.flavour == Flavour::MySql {
        let opts = var("binlog_row_value_options");
        out.push(if opts.contains("PARTIAL_JSON") {
            Item::failure(
                "source.binlog_row_value_options",
                "whole JSON values in updates",
                "binlog_row_value_options = PARTIAL_JSON: updates of JSON columns log only a diff",
                set_global("binlog_row_value_options", "''"),
            )
        } else {
            Item::pass(
                "source.binlog_row_value_options",
                "whole JSON values in updates",
                "binlog_row_value_options is empty",
            )
        });
        let compression = s.on("binlog_transaction_compression");
        out.push(Item::pass(
            "source.binlog_transaction_compression",
            "transaction compression readable",
            if compression { "ON: compressed transaction payloads (zstd) are decoded" } else { "OFF" },
        ));
    } else {
        out.push(Item::pass(
            "source.log_bin_compress",
            "binlog compression readable",
            if s.on("log_bin_compress") { "ON: compressed events are decoded" } else { "OFF" },
        ));
    }
    out.push(retention_item(s, types));
    if let Some(p) = resume_from.filter(|p| by_gtid(p, facts).is_none()) {
        let p = &p.binlog;
        let file = facts.files.iter().find(|(f, _)| f == &p.file);
        out.push(if let Some((_, size)) = file.filter(|(_, size)| p.offset <= *size) {
            Item::pass(
                "source.checkpoint_binlog",
                "the checkpoint's binlog still exists",
                format!("{p} is present ({} is {size} bytes)", p.file),
            )
        } else if let Some((_, size)) = file {
            // A file of that name shorter than the checkpoint: another server's binlog (a
            // promoted replica after a failover) or a source whose binlog was reset.
            Item::failure(
                "source.checkpoint_binlog",
                "the checkpoint's binlog still exists",
                format!(
                    "the task resumes at {p}, but {} on this source is only {size} bytes: this is not the binlog the checkpoint was taken on (a failover to another server, or RESET MASTER)",
                    p.file
                ),
                "point [source] back at the server the task was reading, or restart the task with full sync after `dts-sync reset --yes`",
            )
        } else {
            Item::failure(
                "source.checkpoint_binlog",
                "the checkpoint's binlog still exists",
                format!(
                    "the task resumes at {p}, but {} is no longer on the source (oldest: {})",
                    p.file,
                    facts.files.first().map_or("none", |(f, _)| f.as_str())
                ),
                "the changes since the checkpoint are lost to the binlog: restart the task with full sync (types = [\"schema\", \"full\", \"incremental\"]) after clearing its metadata, and keep binlogs longer",
            )
        });
    }
    if let Some((g, h)) = resume_from.and_then(|p| by_gtid(p, facts)) {
        out.push(gtid_resume_item(g, h));
    }
    out.push(server_id_item(s, facts, server_id, resuming));
    out
}

/// A checkpoint the task resumes by GTID (a MariaDB source with GTIDs, a checkpoint holding
/// its GTID state): judged by what the binlog holds by GTID, not by file and offset, which
/// after a failover name another server's binlog.
fn by_gtid<'a>(p: &'a SourcePosition, facts: &'a BinlogFacts) -> Option<(&'a MariaGtidList, &'a GtidHistory)> {
    match (&p.gtid, &facts.gtid) {
        (Some(GtidPosition::MariaDb(g)), Some(h)) if !g.is_empty() && !h.end.is_empty() => Some((g, h)),
        _ => None,
    }
}

fn gtid_resume_item(g: &MariaGtidList, h: &GtidHistory) -> Item {
    const TITLE: &str = "the checkpoint's transactions are in the binlog";
    match h.serves(g) {
        Ok(()) => Item::pass(
            "source.checkpoint_binlog",
            TITLE,
            format!("the task resumes by GTID after {g}; this source's binlog holds up to {}", h.end),
        ),
        Err(short @ dts_types::GtidShortfall::Missing(_)) => Item::failure(
            "source.checkpoint_binlog",
            TITLE,
            format!(
                "the task resumes by GTID after {g}, but {short}: the destination holds changes this source does not have"
            ),
            "point [source] at a server that has every transaction of the checkpoint (the old primary, or a replica that \
             received all of it), or start over from this one (`dts-sync reset --yes`, then `run` with schema and full sync)",
        ),
        Err(short) => Item::failure(
            "source.checkpoint_binlog",
            TITLE,
            format!("the task resumes by GTID after {g}, but {short}"),
            "the changes since the checkpoint are lost to the binlog: restart the task with full sync after \
             `dts-sync reset --yes`, and keep binlogs longer",
        ),
    }
}

fn gtid_item(s: &ServerInfo) -> Item {
    let (id, title) = ("source.gtid_mode", "GTIDs for positions that survive failover");
    match s.flavour {
        Flavour::MariaDb => Item::pass(
            id,
            title,
            format!(
                "MariaDB GTIDs (gtid_domain_id = {}, gtid_strict_mode = {})",
                s.var("gtid_domain_id").unwrap_or("0"),
                s.var("gtid_strict_mode").unwrap_or("OFF")
            ),
        ),
        Flavour::MySql => {
            let mode = s.var("gtid_mode").unwrap_or("OFF").to_ascii_uppercase();
            if mode == "ON" {
                Item::pass(id, title, "gtid_mode = ON")
            } else {
                Item::warning(
                    id,
                    title,
                    format!(
                        "gtid_mode = {mode}: positions are kept by file and offset, which do not carry over to another server after a failover"
                    ),
                    "enable GTIDs (gtid_mode = ON, enforce_gtid_consistency = ON, stepping through OFF_PERMISSIVE and ON_PERMISSIVE), or acknowledge",
                )
            }
        }
    }
}

/// Seconds binlogs are kept; `None` when they never expire.
pub fn retention_seconds(s: &ServerInfo) -> Option<f64> {
    let secs = s.num("binlog_expire_logs_seconds").unwrap_or(0.0);
    let days = s.num("expire_logs_days").unwrap_or(0.0);
    if s.flavour == Flavour::MySql
        && s.var("binlog_expire_logs_auto_purge").is_some()
        && !s.on("binlog_expire_logs_auto_purge")
    {
        return None;
    }
    match (secs > 0.0, days > 0.0) {
        (true, _) => Some(secs),
        (false, true) => Some(days * 86_400.0),
        (false, false) => None,
    }
}

fn retention_item(s: &ServerInfo, types: SyncTypes) -> Item {
    let (id, title) = ("source.binlog_retention", "binlogs kept long enough for the task");
    let (need, why) = if types.full {
        (
            7.0 * 86_400.0,
            "7 days for full + incremental sync: the binlog from the start of the full copy must outlive it",
        )
    } else {
        (86_400.0, "24 hours for incremental sync")
    };
    let human = |secs: f64| {
        if secs >= 86_400.0 { format!("{:.1} days", secs / 86_400.0) } else { format!("{:.1} hours", secs / 3600.0) }
    };
    match retention_seconds(s) {
        None => Item::pass(id, title, "binlogs never expire automatically"),
        Some(secs) if secs >= need => Item::pass(id, title, format!("binlogs kept {}", human(secs))),
        Some(secs) => Item::failure(
            id,
            title,
            format!("binlogs kept {}; the task needs at least {}", human(secs), why),
            format!(
                "SET GLOBAL binlog_expire_logs_seconds = {}; (and in the server's config), or keep binlogs elsewhere",
                need as u64
            ),
        ),
    }
}

fn server_id_item(s: &ServerInfo, facts: &BinlogFacts, server_id: u32, resuming: bool) -> Item {
    let (id, title) = ("source.server_id", "the task's replica server_id is unique");
    let source_id = s.num("server_id").unwrap_or(0.0) as u32;
    if server_id == 0 {
        return Item::failure(
            id,
            title,
            "server_id = 0: the source refuses to stream its binlog to replica id 0",
            "set [task] server_id to a number unique among the source's servers and replicas",
        );
    }
    if server_id == source_id {
        return Item::failure(
            id,
            title,
            format!("server_id {server_id} is the source's own server_id"),
            "set [task] server_id to another number: the source would skip its own events",
        );
    }
    match &facts.replicas {
        // A resumed task finds its previous run's connection (after a crash the source keeps
        // it until it times out); registering again with the same id replaces it.
        Ok(ids) if ids.contains(&server_id) && resuming => Item::pass(
            id,
            title,
            format!(
                "server_id {server_id} is connected: this task's previous run, which the source drops when the task registers again"
            ),
        ),
        Ok(ids) if ids.contains(&server_id) => Item::failure(
            id,
            title,
            format!("a replica with server_id {server_id} is already connected to the source (its list of replicas)"),
            "set [task] server_id to a number no other replica uses: the source drops one of two replicas with the same id",
        ),
        Ok(ids) => Item::pass(
            id,
            title,
            format!(
                "server_id {server_id}: not the source's ({source_id}) nor one of {} connected replica(s)",
                ids.len()
            ),
        ),
        Err(e) => Item::warning(
            id,
            title,
            format!(
                "server_id {server_id} differs from the source's ({source_id}); connected replicas could not be listed: {e}"
            ),
            "grant REPLICATION MASTER ADMIN (MariaDB) or REPLICATION SLAVE (MySQL) to list replicas, or make sure no replica uses this id, then acknowledge",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;
    use std::collections::BTreeMap;

    fn mysql8(vars: &[(&str, &str)]) -> ServerInfo {
        let mut v: BTreeMap<String, String> = [
            ("log_bin", "ON"),
            ("binlog_format", "ROW"),
            ("binlog_row_image", "FULL"),
            ("binlog_row_metadata", "FULL"),
            ("binlog_checksum", "CRC32"),
            ("gtid_mode", "ON"),
            ("binlog_row_value_options", ""),
            ("binlog_transaction_compression", "OFF"),
            ("binlog_expire_logs_seconds", "2592000"),
            ("server_id", "1"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        for (a, b) in vars {
            v.insert(a.to_string(), b.to_string());
        }
        ServerInfo {
            flavour: Flavour::MySql,
            version: (8, 0, 36),
            version_text: "8.0.36".into(),
            vars: v,
            current_user: "u@%".into(),
        }
    }

    fn status(items: &[Item], id: &str) -> Status {
        items.iter().find(|i| i.id == id).unwrap_or_else(|| panic!("no {id}")).status
    }

    const ALL: SyncTypes = SyncTypes { schema: true, full: true, incremental: true };

    fn at(file: &str, offset: u64, gtid: Option<&str>) -> SourcePosition {
        SourcePosition {
            binlog: dts_types::BinlogPosition::new(file, offset),
            gtid: gtid.map(|g| GtidPosition::MariaDb(g.parse().unwrap())),
        }
    }

    #[test]
    fn a_checkpoint_with_gtids_is_judged_by_what_the_binlog_holds_by_gtid() {
        let history =
            |end: &str, oldest: &str| GtidHistory { end: end.parse().unwrap(), oldest: oldest.parse().unwrap() };
        // A promoted replica: the same file name, shorter, but every transaction is there.
        let facts = BinlogFacts {
            files: vec![("binlog.000001".into(), 900)],
            replicas: Ok(vec![]),
            gtid: Some(history("0-7-120", "")),
        };
        let item = |p: &SourcePosition, f: &BinlogFacts| {
            let all = items(&mysql8(&[]), f, ALL, 99, Some(p), true);
            all.into_iter().find(|i| i.id == "source.checkpoint_binlog").expect("checkpoint item")
        };
        let ok = item(&at("binlog.000001", 5000, Some("0-1-100")), &facts);
        assert_eq!(ok.status, Status::Pass, "{ok:?}");
        assert!(ok.found.contains("by GTID after 0-1-100"), "{ok:?}");
        let behind = item(&at("binlog.000001", 5000, Some("0-1-130")), &facts);
        assert_eq!(behind.status, Status::Failure, "{behind:?}");
        assert!(behind.found.contains("10 transactions after 0-7-120, seq_no 121 to 0-1-130"), "{behind:?}");
        let purged = BinlogFacts { gtid: Some(history("0-7-120", "0-1-110")), ..facts.clone() };
        let gone = item(&at("binlog.000001", 5000, Some("0-1-100")), &purged);
        assert!(gone.status == Status::Failure && gone.found.contains("purged"), "{gone:?}");
        // Without a GTID state in the checkpoint: by file and offset, as before.
        let by_file = item(&at("binlog.000001", 5000, None), &facts);
        assert!(by_file.status == Status::Failure && by_file.found.contains("only 900 bytes"), "{by_file:?}");
    }

    #[test]
    fn mysql_settings_are_judged() {
        let facts = BinlogFacts { files: vec![("binlog.000007".into(), 4096)], replicas: Ok(vec![5]), gtid: None };
        let good = items(&mysql8(&[]), &facts, ALL, 99, Some(&at("binlog.000007", 4, None)), false);
        assert!(good.iter().all(|i| i.status == Status::Pass), "{good:#?}");
        let bad = items(
            &mysql8(&[
                ("binlog_row_value_options", "PARTIAL_JSON"),
                ("gtid_mode", "OFF_PERMISSIVE"),
                ("binlog_expire_logs_seconds", "86400"),
            ]),
            &facts,
            ALL,
            5,
            Some(&at("binlog.000003", 4, None)),
            false,
        );
        assert_eq!(status(&bad, "source.binlog_row_value_options"), Status::Failure);
        assert_eq!(status(&bad, "source.gtid_mode"), Status::Warning);
        assert_eq!(status(&bad, "source.binlog_retention"), Status::Failure);
        assert_eq!(status(&bad, "source.checkpoint_binlog"), Status::Failure);
        assert_eq!(status(&bad, "source.server_id"), Status::Failure);
        // A file of the checkpoint's name that ends before it: another server's binlog.
        let past = items(&mysql8(&[]), &facts, ALL, 99, Some(&at("binlog.000007", 5000, None)), false);
        let item = past.iter().find(|i| i.id == "source.checkpoint_binlog").expect("checkpoint item");
        assert_eq!(item.status, Status::Failure, "{item:?}");
        assert!(item.found.contains("only 4096 bytes") && item.fix.contains("reset"), "{item:?}");
        let incr_only = SyncTypes { schema: false, full: false, incremental: true };
        let one_day = items(&mysql8(&[("binlog_expire_logs_seconds", "86400")]), &facts, incr_only, 99, None, false);
        assert_eq!(status(&one_day, "source.binlog_retention"), Status::Pass);
        let no_purge = mysql8(&[("binlog_expire_logs_seconds", "60"), ("binlog_expire_logs_auto_purge", "OFF")]);
        assert_eq!(retention_seconds(&no_purge), None);
    }

    #[test]
    fn full_only_needs_just_the_binlog_position() {
        let s = mysql8(&[("binlog_format", "STATEMENT")]);
        let got = items(
            &s,
            &BinlogFacts::default(),
            SyncTypes { schema: true, full: true, incremental: false },
            9,
            None,
            false,
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, "source.log_bin");
        assert!(
            items(&s, &BinlogFacts::default(), SyncTypes { schema: true, ..Default::default() }, 9, None, false)
                .is_empty()
        );
    }
}
