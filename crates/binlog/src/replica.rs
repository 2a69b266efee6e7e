//! A live source as an event source: connects as a replica (COM_REGISTER_SLAVE and a binlog
//! dump) through the `mysql` crate, and hands out whole events to the decoder.

use std::time::Duration;

use dts_types::{BinlogPosition, GtidPosition, MariaGtidList, MysqlGtidSet};
use mysql::prelude::Queryable;
use mysql::{BinlogDumpFlags, BinlogRequest, Conn, Opts, OptsBuilder};

use crate::collation::Collations;
use crate::decode::control::Flavor;
use crate::error::BinlogError;
use crate::event::{HEADER_LEN, types};

/// Where to start reading. Always a transaction boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartPosition {
    /// A binlog file and offset.
    File(BinlogPosition),
    /// After a MariaDB GTID state (`gtid_slave_pos` style: one GTID per domain).
    MariaDbGtid(MariaGtidList),
    /// After a MySQL GTID set (everything in it is skipped).
    MySqlGtid(MysqlGtidSet),
}

impl std::fmt::Display for StartPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartPosition::File(p) => write!(f, "{p}"),
            StartPosition::MariaDbGtid(g) => write!(f, "GTID {g}"),
            StartPosition::MySqlGtid(g) => write!(f, "GTID set {g}"),
        }
    }
}

/// How to read from a live source.
#[derive(Debug, Clone)]
pub struct ReplicaOptions {
    /// The replica server_id to register with; must differ from the source's and from every
    /// other replica of it.
    pub server_id: u32,
    /// Where to start reading.
    pub start: StartPosition,
    /// The source sends a heartbeat after this much idle time.
    pub heartbeat: Duration,
    /// No byte for this long (no event, no heartbeat) means the connection is dead.
    pub silence_timeout: Duration,
    /// How long to keep reconnecting after the connection is lost.
    pub retry_window: Duration,
    /// End the stream when it reaches the end of the source's binlog, instead of waiting for
    /// more (the dump's NON_BLOCK flag).
    pub stop_at_end: bool,
    /// For a start by file and offset: the GTID state there (MariaDB's `BINLOG_GTID_POS`), so
    /// the state each commit reports holds every domain from the first one on. Without it the
    /// state is built from the GTIDs read (and a file's GTID_LIST when reading from its start).
    pub gtid_at_start: Option<GtidPosition>,
    /// Set by the consumer to stop: the reader then gives up reconnecting at once
    /// ([`BinlogError::Stopped`]), so a source that is gone never holds a stop back.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl ReplicaOptions {
    /// Options with the defaults: heartbeat 5 s, silence timeout 20 s, retry window 12 h, follow the binlog.
    pub fn new(server_id: u32, start: StartPosition) -> Self {
        ReplicaOptions {
            server_id,
            start,
            heartbeat: Duration::from_secs(5),
            silence_timeout: Duration::from_secs(20),
            retry_window: Duration::from_secs(720 * 60),
            stop_at_end: false,
            gtid_at_start: None,
            stop: None,
        }
    }
}

/// A binlog dump connection.
pub struct ReplicaSource {
    opts: Opts,
    options: ReplicaOptions,
    stream: Option<mysql::BinlogStream>,
    pub(crate) flavor: Flavor,
    /// The source's statement and variable names.
    dialect: dts_types::dialect::Dialect,
    /// The source's server_id when first connected: a reconnect by file and offset must reach
    /// the same server.
    server_id: u64,
    buf: Vec<u8>,
}

impl std::fmt::Debug for ReplicaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaSource").field("options", &self.options).field("flavor", &self.flavor).finish()
    }
}

impl ReplicaSource {
    /// Connects and starts the dump at `start`; returns the source and its collations.
    pub fn connect(
        opts: Opts,
        options: ReplicaOptions,
        start: &StartPosition,
    ) -> Result<(ReplicaSource, Collations), BinlogError> {
        if options.server_id == 0 {
            return Err(BinlogError::Options("server_id 0 cannot register as a replica; choose another".into()));
        }
        let opts: Opts = OptsBuilder::from_opts(opts).read_timeout(Some(options.silence_timeout)).into();
        let mut conn = Conn::new(opts.clone())?;
        let dialect = dts_types::dialect::Dialect::of(&mut conn)?;
        let flavor = match dialect.flavour {
            dts_types::dialect::Flavour::MariaDb => Flavor::MariaDb,
            dts_types::dialect::Flavour::MySql => Flavor::MySql,
        };
        let mut collations = Collations::default();
        let pairs: Vec<(u16, String)> =
            conn.query("SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATIONS WHERE ID IS NOT NULL")?;
        collations.extend_from_server(pairs);
        let server_id: u64 = conn.query_first("SELECT @@GLOBAL.server_id")?.unwrap_or(0);
        let mut src = ReplicaSource { opts, options, stream: None, flavor, dialect, server_id, buf: Vec::new() };
        src.start_dump(conn, start)?;
        Ok((src, collations))
    }

    /// Drops the connection and dumps again from `start`.
    pub fn reconnect(&mut self, start: &StartPosition) -> Result<(), BinlogError> {
        self.stream = None;
        let mut conn = Conn::new(self.opts.clone())?;
        // By GTID too: the consumer's state holds the first server's positions.
        let now: u64 = conn.query_first("SELECT @@GLOBAL.server_id")?.unwrap_or(0);
        if now != self.server_id {
            return Err(BinlogError::SourceChanged { was: self.server_id, now, start: start.to_string() });
        }
        self.start_dump(conn, start)
    }

    fn start_dump(&mut self, mut conn: Conn, start: &StartPosition) -> Result<(), BinlogError> {
        let hb_ns = self.options.heartbeat.as_nanos().max(1_000_000);
        conn.query_drop(format!("SET {} = {hb_ns}", self.dialect.heartbeat_variable()))?;
        // The driver says it reads checksums under the old name only; MySQL from 8.0.26 reads
        // the new one first.
        conn.query_drop(format!("SET {} = 'ALL'", self.dialect.checksum_variable()))?;
        let mut req = BinlogRequest::new(self.options.server_id);
        if self.options.stop_at_end {
            req = req.with_flags(BinlogDumpFlags::BINLOG_DUMP_NON_BLOCK);
        }
        let sids: Vec<mysql::mysql_common::packets::Sid<'static>>;
        match (self.flavor, start) {
            (Flavor::MariaDb, _) => {
                // Without capability 4 MariaDB rewrites GTID events into BEGIN queries.
                conn.query_drop("SET @mariadb_slave_capability = 4")?;
                match start {
                    StartPosition::File(p) => {
                        req = req.with_filename(p.file.as_bytes().to_vec()).with_pos(p.offset);
                    }
                    StartPosition::MariaDbGtid(g) => {
                        conn.exec_drop("SET @slave_connect_state = ?", (g.to_string(),))?;
                        conn.query_drop("SET @slave_gtid_strict_mode = 1")?;
                        conn.query_drop("SET @slave_gtid_ignore_duplicates = 0")?;
                        req = req.with_filename(Vec::new()).with_pos(4u64);
                    }
                    StartPosition::MySqlGtid(_) => {
                        return Err(BinlogError::Options(
                            "a MySQL GTID set cannot start a MariaDB source; give a MariaDB GTID position or file:offset"
                                .into(),
                        ));
                    }
                }
            }
            (Flavor::MySql, StartPosition::File(p)) => {
                req = req.with_filename(p.file.as_bytes().to_vec()).with_pos(p.offset);
            }
            (Flavor::MySql, StartPosition::MySqlGtid(set)) => {
                sids = mysql_sids(set)?;
                req = req.with_use_gtid(true).with_sids(sids).with_filename(Vec::new()).with_pos(4u64);
            }
            (Flavor::MySql, StartPosition::MariaDbGtid(_)) => {
                return Err(BinlogError::Options(
                    "a MariaDB GTID position cannot start a MySQL source; give a MySQL GTID set or file:offset".into(),
                ));
            }
        }
        let stream = conn.get_binlog_stream(req).map_err(|e| map_start_error(e, start))?;
        self.stream = Some(stream);
        Ok(())
    }

    /// The next whole event (header, body, checksum), or `None` when the stream ended
    /// (only with `stop_at_end`). Without it, a stream the source ends (it shuts down or
    /// restarts) is a lost connection: the reader reconnects within its retry window.
    pub fn next_event(&mut self, start: &StartPosition) -> Result<Option<&[u8]>, BinlogError> {
        let Some(stream) = self.stream.as_mut() else { return self.ended() };
        // The mysql crate's event framing trusts the server's sizes; never let a malformed
        // packet take the process down with it.
        let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| stream.next()));
        let ev = match next {
            Err(_) => {
                self.stream = None;
                return Err(BinlogError::Malformed {
                    at: crate::error::EventAt { position: BinlogPosition::new("?", 0), event_type: 0 },
                    reason: "the source sent a packet the event framing could not read".into(),
                });
            }
            Ok(None) => {
                self.stream = None;
                return self.ended();
            }
            Ok(Some(Err(e))) => {
                self.stream = None;
                return Err(map_stream_error(e, start, self.options.silence_timeout));
            }
            Ok(Some(Ok(ev))) => ev,
        };
        let h = ev.header();
        let data = ev.data();
        self.buf.clear();
        self.buf.extend_from_slice(&h.timestamp().to_le_bytes());
        self.buf.push(h.event_type_raw());
        self.buf.extend_from_slice(&h.server_id().to_le_bytes());
        self.buf.extend_from_slice(&h.event_size().to_le_bytes());
        self.buf.extend_from_slice(&h.log_pos().to_le_bytes());
        self.buf.extend_from_slice(&h.flags_raw().to_le_bytes());
        self.buf.extend_from_slice(data);
        // The crate split the checksum (and, for FORMAT_DESCRIPTION, the algorithm byte) off
        // the data: put them back so the decoder verifies the event as the server wrote it.
        let missing = (h.event_size() as usize).checked_sub(HEADER_LEN + data.len());
        let checksum = ev.checksum().unwrap_or_default();
        match missing {
            Some(0) => {}
            Some(4) => self.buf.extend_from_slice(&checksum),
            Some(5) if h.event_type_raw() == types::FORMAT_DESCRIPTION => {
                let alg = ev.footer().get_checksum_alg().ok().flatten().map_or(0, |a| a as u8);
                self.buf.push(alg);
                self.buf.extend_from_slice(&checksum);
            }
            _ => {
                return Err(BinlogError::Malformed {
                    at: crate::error::EventAt {
                        position: BinlogPosition::new("?", h.log_pos() as u64),
                        event_type: h.event_type_raw(),
                    },
                    reason: format!("event size {} does not match its {} data bytes", h.event_size(), data.len()),
                });
            }
        }
        Ok(Some(&self.buf))
    }
}

impl ReplicaSource {
    /// The stream has ended: the end of the input with `stop_at_end`, else a lost connection.
    fn ended<T>(&self) -> Result<Option<T>, BinlogError> {
        if self.options.stop_at_end {
            return Ok(None);
        }
        Err(BinlogError::Source(mysql::Error::IoError(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the source ended the binlog stream (it is shutting down or restarting)",
        ))))
    }
}

fn mysql_sids(set: &MysqlGtidSet) -> Result<Vec<mysql::mysql_common::packets::Sid<'static>>, BinlogError> {
    use mysql::mysql_common::packets::{GnoInterval, Sid, Tag};
    // The set iterates grouped by (uuid, tag): one Sid per group.
    let mut sids: Vec<Sid<'static>> = Vec::new();
    let mut last: Option<(dts_types::Uuid, Option<&dts_types::GtidTag>)> = None;
    for (uuid, tag, a, b) in set.iter_gtid_ranges() {
        let interval = GnoInterval::new(a, b + 1);
        match sids.last_mut() {
            Some(sid) if last == Some((*uuid, tag)) => *sid = sid.clone().with_interval(interval),
            _ => {
                let mut sid = Sid::new(uuid.0).with_interval(interval);
                if let Some(t) = tag {
                    let t =
                        Tag::new(t.as_str().to_string()).map_err(|e| BinlogError::Options(format!("GTID tag: {e}")))?;
                    sid = sid.with_tag(t);
                }
                sids.push(sid);
                last = Some((*uuid, tag));
            }
        }
    }
    Ok(sids)
}

fn is_purged_message(m: &str) -> bool {
    let m = m.to_ascii_lowercase();
    [
        "could not find first log file",
        "purged",
        "not found in binlog",
        "could not find gtid",
        "which is not in the master's binlog",
    ]
    .iter()
    .any(|k| m.contains(k))
        || (m.contains("gtid") && m.contains("not") && m.contains("binlog"))
}

fn map_start_error(e: mysql::Error, start: &StartPosition) -> BinlogError {
    match e {
        mysql::Error::MySqlError(ref m) if m.code == 1236 && is_purged_message(&m.message) => {
            BinlogError::Purged { start: start.to_string(), message: m.message.clone() }
        }
        other => BinlogError::Source(other),
    }
}

fn map_stream_error(e: mysql::Error, start: &StartPosition, silence: Duration) -> BinlogError {
    use mysql::mysql_common::proto::codec::error::PacketCodecError;
    let timed_out =
        |io: &std::io::Error| matches!(io.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut);
    match e {
        mysql::Error::IoError(ref io) if timed_out(io) => BinlogError::Silent { seconds: silence.as_secs() },
        mysql::Error::CodecError(PacketCodecError::Io(ref io)) if timed_out(io) => {
            BinlogError::Silent { seconds: silence.as_secs() }
        }
        other => map_start_error(other, start),
    }
}
