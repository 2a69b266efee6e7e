//! Checks a task's source, destination and object selection before it starts, returning each
//! item with a stable id, a status (pass, warning, failure), what was found and how to fix it.
//!
//! It never changes either server: every check only reads. Items, in order:
//!
//! | ids | what |
//! | --- | --- |
//! | `source.network`, `source.tls`, `source.login` (and `destination.*`) | reaching and logging in |
//! | `source.version`, `destination.version`, `pair.versions` | supported versions and pair |
//! | `source.privileges`, `destination.privileges` | `SHOW GRANTS`, roles included |
//! | `source.log_bin`, `source.binlog_*`, `source.gtid_mode`, `source.log_bin_compress`, `source.binlog_retention`, `source.checkpoint_binlog`, `source.server_id` | the binlog, for full and incremental sync |
//! | `objects.*`, `source.foreign_key_cascades` | the selection |
//! | `destination.read_only`, `destination.existing_tables` / `destination.missing_tables`, `destination.existing_keys`, `destination.triggers`, `destination.local_infile`, `destination.utf8mb4`, `destination.max_allowed_packet` | the destination |
//!
//! Facts are read with a few queries per server, both servers at once, so a task of hundreds
//! of tables is checked in about a second.

//!
//! # Example
//!
//! ```no_run
//! use dts_precheck::{ConflictingTables, SyncTypes, Task};
//! use dts_schema::{DatabaseRule, Selection};
//! use dts_types::{Endpoint, Secret};
//!
//! let shop = DatabaseRule { database: "shop".into(), ..Default::default() };
//! let task = Task {
//!     name: "shop-sync".into(),
//!     source: Endpoint::new("10.0.0.1", 3306, "dts", Secret::new(std::env::var("SOURCE_PASSWORD")?)),
//!     destination: Endpoint::new("10.0.0.2", 3306, "dts", Secret::new(std::env::var("DESTINATION_PASSWORD")?)),
//!     types: SyncTypes { schema: true, full: true, incremental: true },
//!     server_id: 4242,
//!     meta_database: "dts_meta".into(),
//!     conflicting_tables: ConflictingTables::Precheck,
//!     selection: Selection { databases: vec![shop], ..Default::default() },
//!     resume_from: None,
//!     resuming: false,
//!     heartbeat: true,
//! };
//! let report = dts_precheck::run(&task);
//! print!("{}", report.to_table());
//! if !report.passed() {
//!     std::process::exit(1);
//! }
//! # Ok::<(), std::env::VarError>(())
//! ```
#![warn(missing_docs)]

mod binlog;
mod connect;
mod grants;
mod keys;
mod objects;
mod privileges;
mod report;
mod server;

use dts_schema::{MappedTable, Selection};
use dts_types::{Endpoint, SourcePosition};
use mysql::Conn;

use crate::binlog::BinlogFacts;
pub use crate::binlog::gtid_history;
use crate::objects::{DestObjects, SourceObjects};
use crate::privileges::{Account, Need};
pub use crate::report::{AckError, Item, Report, Status};
use crate::server::ServerInfo;

/// Which phases a task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncTypes {
    /// Schema sync.
    pub schema: bool,
    /// The full copy.
    pub full: bool,
    /// Incremental sync from the binlog.
    pub incremental: bool,
}

/// What to do about target tables that already exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConflictingTables {
    /// They are a failure: the task must not write into tables it did not create.
    #[default]
    Precheck,
    /// They are a warning: the task writes into them.
    Ignore,
}

/// Everything the checks need to know about a task.
#[derive(Debug, Clone)]
pub struct Task {
    /// The task's name.
    pub name: String,
    /// The source server.
    pub source: Endpoint,
    /// The destination server.
    pub destination: Endpoint,
    /// The phases it runs.
    pub types: SyncTypes,
    /// The replica server id the task reads the binlog with.
    pub server_id: u32,
    /// The destination database holding the task's state.
    pub meta_database: String,
    /// What existing target tables mean.
    pub conflicting_tables: ConflictingTables,
    /// What it syncs, under which names.
    pub selection: Selection,
    /// On resume: the source position the task continues from (with its GTID state, by
    /// which a source with GTIDs is judged).
    pub resume_from: Option<SourcePosition>,
    /// The task ran before: its tables on the destination are its own, and tables still
    /// missing there come with the DDL incremental sync replays, so neither is checked.
    pub resuming: bool,
    /// The task writes a heartbeat into the metadata database on the source.
    pub heartbeat: bool,
}

/// What one server told us.
struct Side {
    info: ServerInfo,
    account: Account,
}

fn read_side(conn: &mut Conn) -> Result<Side, mysql::Error> {
    Ok(Side { info: ServerInfo::read(conn)?, account: Account::read(conn)? })
}

fn unreadable(side: &str, e: &mysql::Error) -> Item {
    Item::failure(
        &format!("{side}.metadata"),
        "the server's settings and catalog are readable",
        format!("reading them failed: {e}"),
        "grant the user the privileges the task needs (SELECT on the selected objects at least) and run the precheck again",
    )
}

/// The binlog checks of `conn`'s server as the source of an incremental task reading it with
/// replica id `server_id` (`resuming`: its previous run's connection may linger) (binary log on, ROW format, FULL images, checksums, the id unique):
/// for a server that becomes a source only later, as a two-way task's `[destination]` does.
pub fn binlog_source_items(conn: &mut Conn, server_id: u32, resuming: bool) -> Result<Vec<Item>, mysql::Error> {
    let info = ServerInfo::read(conn)?;
    let facts = BinlogFacts::read(conn);
    let incremental = SyncTypes { incremental: true, ..SyncTypes::default() };
    Ok(binlog::items(&info, &facts, incremental, server_id, None, resuming))
}

/// Runs every check of `task`.
pub fn run(task: &Task) -> Report {
    let mut report = Report::default();
    // Both servers at once: connect, then read what the checks need.
    let (src, dst) = std::thread::scope(|s| {
        let a = s.spawn(|| {
            let (items, conn) = connect::connect("source", &task.source);
            let facts = conn.map(|mut c| {
                let r = read_side(&mut c).and_then(|side| {
                    let binlog = BinlogFacts::read(&mut c);
                    let objects = SourceObjects::read(&mut c, &task.selection)?;
                    Ok((side, binlog, objects))
                });
                (c, r)
            });
            (items, facts)
        });
        let b = s.spawn(|| {
            let (items, conn) = connect::connect("destination", &task.destination);
            let facts = conn.map(|mut c| {
                let r = read_side(&mut c);
                (c, r)
            });
            (items, facts)
        });
        (a.join().expect("source checks"), b.join().expect("destination checks"))
    });
    let (src_items, src) = src;
    let (dst_items, dst) = dst;
    report.items.extend(src_items);
    report.items.extend(dst_items);
    let mut src = match src {
        Some((c, Ok(x))) => Some((c, x)),
        Some((_, Err(e))) => {
            report.items.push(unreadable("source", &e));
            None
        }
        None => None,
    };
    let mut dst = match dst {
        Some((c, Ok(x))) => Some((c, x)),
        Some((_, Err(e))) => {
            report.items.push(unreadable("destination", &e));
            None
        }
        None => None,
    };
    if let Some((_, (side, _, _))) = &src {
        report.items.push(server::version_item("source", &side.info));
    }
    if let Some((_, side)) = &dst {
        report.items.push(server::version_item("destination", &side.info));
    }
    if let (Some((_, (s, _, _))), Some((_, d))) = (&src, &dst) {
        report.items.push(server::pair_item(&s.info, &d.info));
    }
    let mapped: Vec<MappedTable> = src.as_ref().map(|(_, (_, _, o))| o.mapped(&task.selection)).unwrap_or_default();
    if let Some((_, (side, _, objects))) = &src {
        let needs = source_needs(task, objects, &mapped);
        report.items.push(privileges::item("source", &side.account, &side.info.current_user, &needs));
    }
    if let (Some((_, (_, _, objects))), Some((_, d))) = (&src, &dst) {
        let needs = destination_needs(task, objects, &mapped);
        report.items.push(privileges::item("destination", &d.account, &d.info.current_user, &needs));
    }
    if let Some((_, (side, facts, _))) = &src {
        report.items.extend(binlog::items(
            &side.info,
            facts,
            task.types,
            task.server_id,
            task.resume_from.as_ref(),
            task.resuming,
        ));
    }
    let (Some((src_conn, (s, _, objects))), Some((dst_conn, d))) = (&mut src, &mut dst) else {
        return report;
    };
    report.items.extend(objects::selection_items(
        objects,
        &task.selection,
        &d.info,
        &mapped,
        task.resuming,
        task.types.schema || task.resuming,
    ));
    let mut target_dbs: Vec<String> = mapped.iter().map(|m| m.target.database.as_str().to_string()).collect();
    target_dbs.extend(objects.selected_databases(&task.selection).iter().filter_map(|db| task.selection.database(db)));
    target_dbs.sort();
    target_dbs.dedup();
    match DestObjects::read(dst_conn, &target_dbs) {
        Ok(dest_objects) => {
            report.items.extend(objects::destination_items(
                &d.info,
                &dest_objects,
                &mapped,
                task.types,
                task.conflicting_tables,
                task.resuming,
            ));
            report.items.push(objects::utf8mb4_item(src_conn, objects, &s.info, &dest_objects, &d.info, &mapped));
            if !task.resuming {
                let fold = d.info.num("lower_case_table_names").unwrap_or(0.0) as u8 != 0;
                let exists = |m: &MappedTable| {
                    dest_objects.find(m.target.database.as_str(), m.target.table.as_str(), fold).cloned()
                };
                report.items.extend(keys::existing_keys_item(src_conn, dst_conn, &mapped, fold, exists));
            }
        }
        Err(e) => report.items.push(unreadable("destination", &e)),
    }
    report.items.push(objects::packet_item(src_conn, objects, &s.info, &d.info, &mapped));
    report
}

fn dedup(needs: Vec<Need>) -> Vec<Need> {
    let mut out: Vec<Need> = Vec::new();
    for n in needs {
        if !out.iter().any(|o| o.privilege == n.privilege && o.on == n.on) {
            out.push(n);
        }
    }
    out
}

/// On the source: reading the binlog and its position, and SELECT on every selected column.
fn source_needs(task: &Task, objects: &SourceObjects, mapped: &[MappedTable]) -> Vec<Need> {
    let mut needs = Vec::new();
    if task.types.incremental {
        needs.push(privileges::global("REPLICATION SLAVE", &[]));
    }
    if task.types.incremental || task.types.full {
        needs.push(privileges::global("REPLICATION CLIENT", &["BINLOG MONITOR", "SUPER"]));
    }
    for m in mapped {
        let cols: Vec<String> = m.columns.columns.iter().flatten().map(|(c, _)| c.clone()).collect();
        needs.push(privileges::on_table("SELECT", m.source.database.as_str(), m.source.table.as_str(), cols));
        // Incremental sync asks the source to decide row filters over a scratch temporary
        // table in the filtered table's database (`dts_task::Evaluator`).
        if task.types.incremental && m.filter.is_some() {
            needs.push(privileges::on_database("CREATE TEMPORARY TABLES", m.source.database.as_str()));
        }
    }
    if task.heartbeat {
        for p in ["CREATE", "INSERT", "UPDATE"] {
            needs.push(privileges::on_database(p, &task.meta_database));
        }
    }
    if task.types.schema {
        for (db, n) in &objects.views {
            if *n > 0 && task.selection.whole_database(db) {
                needs.push(privileges::on_database("SHOW VIEW", db));
            }
        }
    }
    dedup(needs)
}

/// On the destination: creating and writing the target databases and the metadata database.
/// With incremental sync, also the schema history's shadow database of every selected
/// database (`dts_shadow_<hash>`, row-less copies the task replays DDL into).
fn destination_needs(task: &Task, objects: &SourceObjects, mapped: &[MappedTable]) -> Vec<Need> {
    const WRITE: &[&str] = &["CREATE", "ALTER", "DROP", "INDEX", "INSERT", "UPDATE", "DELETE", "SELECT"];
    let mut dbs: Vec<String> = mapped.iter().map(|m| m.target.database.as_str().to_string()).collect();
    dbs.extend(objects.selected_databases(&task.selection).iter().filter_map(|db| task.selection.database(db)));
    dbs.push(task.meta_database.clone());
    if task.types.incremental {
        dbs.extend(
            objects.selected_databases(&task.selection).iter().map(|db| dts_schema::shadow_name(&task.name, db)),
        );
    }
    let mut needs = Vec::new();
    for db in &dbs {
        for p in WRITE {
            needs.push(privileges::on_database(p, db));
        }
    }
    if task.types.schema {
        for (db, n) in &objects.views {
            if *n > 0
                && task.selection.whole_database(db)
                && let Some(t) = task.selection.database(db)
            {
                needs.push(privileges::on_database("CREATE VIEW", &t));
            }
        }
    }
    dedup(needs)
}
