//! From raw event bytes to decoded events: framing checks, checksums, and one decoder per
//! event type. Holds the state events depend on (the format description, table maps).

pub mod control;
pub mod decimal;
pub mod json;
pub mod rows;
pub mod table_map;

use std::collections::HashMap;
use std::sync::Arc;

use dts_types::{BinlogPosition, Ident, MariaGtid, MariaGtidList, MysqlGtid, MysqlGtidSet, TableChange, TableId};

use crate::collation::Collations;
use crate::cursor::Cursor;
use crate::error::{BinlogError, EventAt, MissingAt, ValueAt};
use crate::event::{CHECKSUM_LEN, EventHeader, HEADER_LEN, LOG_EVENT_IGNORABLE_F, crc32, types};
use crate::schema::SchemaProvider;
use control::{Fde, Statement};
use rows::{RowsKind, TablePlan};

/// One decoded event, as the transaction layer needs it.
#[derive(Debug)]
pub enum Decoded {
    FormatDescription(Fde),
    Rotate {
        file: String,
        position: u64,
    },
    MariaGtid {
        gtid: MariaGtid,
        standalone: bool,
        /// The server flagged the group as DDL (`CREATE TABLE ... SELECT` is DDL and not
        /// standalone: its rows and XID follow the statement).
        ddl: bool,
        /// The part of an XA transaction the group holds, with its xid.
        xa: Option<XaPart>,
    },
    /// A MySQL GTID; `None` for an anonymous transaction.
    MysqlGtid(Option<MysqlGtid>),
    Query(Statement),
    Xid,
    /// XA_PREPARE: the end of the prepared part of an XA transaction.
    XaPrepare,
    /// INTVAR, RAND or USER_VAR: values the next statement (a statement-format write) reads.
    StatementValues,
    Row(TableChange),
    GtidList(MariaGtidList),
    PreviousGtids(MysqlGtidSet),
    Heartbeat,
    /// Events that carry nothing to replicate (ANNOTATE_ROWS, ROWS_QUERY, BINLOG_CHECKPOINT,
    /// TRANSACTION_CONTEXT, STOP, events the server marks ignorable).
    Informational,
}

/// Which part of an XA transaction a MariaDB event group holds; the xid as XA statements write
/// it (`X'..',X'..',format`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XaPart {
    /// Its changes, ended by XA_PREPARE; its outcome comes later, in a group of its own.
    Prepared(String),
    /// Its `XA COMMIT` or `XA ROLLBACK`.
    Completed(String),
}

/// Whether a statement only opens or closes a transaction (and so cannot change a table).
fn is_transaction_control(sql: &[u8]) -> bool {
    let word: Vec<u8> = sql.iter().take_while(|b| b.is_ascii_alphabetic()).map(u8::to_ascii_uppercase).collect();
    matches!(word.as_slice(), b"BEGIN" | b"COMMIT" | b"ROLLBACK" | b"SAVEPOINT" | b"XA" | b"RELEASE")
}

/// Decides which tables' rows are decoded; rows of other tables are skipped on purpose.
pub type TableFilter = Box<dyn Fn(&TableId) -> bool + Send>;

enum TableEntry {
    Decode { raw: Vec<u8>, plan: Arc<TablePlan> },
    Skip { raw: Vec<u8> },
}

/// Decodes raw events. Feed it every event of a stream, in order.
pub struct Decoder {
    fde: Option<Fde>,
    file: String,
    tables: HashMap<u64, TableEntry>,
    pub(crate) collations: Collations,
    schema: Option<Box<dyn SchemaProvider>>,
    filter: Option<TableFilter>,
    /// Name columns `@1`, `@2`... when neither the table map nor the schema provider names them.
    pub positional_names: bool,
    /// Rows skipped because their table is not selected.
    pub skipped_rows_events: u64,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").field("file", &self.file).field("tables", &self.tables.len()).finish()
    }
}

impl Decoder {
    /// A decoder for one stream; `schema` fills what table maps lack, `filter` picks the tables whose rows are decoded.
    pub fn new(collations: Collations, schema: Option<Box<dyn SchemaProvider>>, filter: Option<TableFilter>) -> Self {
        Decoder {
            fde: None,
            file: String::new(),
            tables: HashMap::new(),
            collations,
            schema,
            filter,
            positional_names: false,
            skipped_rows_events: 0,
        }
    }

    /// The binlog file being read (from the last ROTATE, or as set by the caller).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Sets the binlog file name positions are reported in (a file source has no ROTATE first).
    pub fn set_file(&mut self, file: &str) {
        self.file = file.to_string();
    }

    /// The stream's FORMAT_DESCRIPTION, once read.
    pub fn fde(&self) -> Option<&Fde> {
        self.fde.as_ref()
    }

    fn at(&self, h: &EventHeader) -> EventAt {
        EventAt { position: BinlogPosition::new(self.file.clone(), h.log_pos as u64), event_type: h.event_type }
    }

    /// Checks framing and checksum of one whole event (header, body, checksum) and decodes it,
    /// passing what it holds to `sink`. `nested` events (inside a TRANSACTION_PAYLOAD) carry
    /// no checksum.
    pub fn decode(
        &mut self,
        raw: &[u8],
        nested: bool,
        sink: &mut dyn FnMut(&EventHeader, Decoded) -> Result<(), BinlogError>,
    ) -> Result<(), BinlogError> {
        let Some(h) = EventHeader::parse(raw) else {
            return Err(BinlogError::Truncated {
                position: BinlogPosition::new(self.file.clone(), 0),
                reason: format!("{} bytes cannot hold an event header", raw.len()),
            });
        };
        let at = self.at(&h);
        let at2 = at.clone();
        let malformed = move |reason: String| BinlogError::Malformed { at: at2.clone(), reason };
        if h.event_size as usize != raw.len() {
            return Err(malformed(format!("header says {} bytes, the event has {}", h.event_size, raw.len())));
        }
        let body_end = self.checked_body_end(&h, raw, nested)?;
        let body = &raw[HEADER_LEN..body_end];
        let t = h.event_type;
        let fde = match (&self.fde, t) {
            (_, types::FORMAT_DESCRIPTION) => None,
            (Some(f), _) => Some(f),
            (None, types::ROTATE) => None,
            (None, _) => return Err(malformed("event before any FORMAT_DESCRIPTION".into())),
        };
        let ph = |t: u8| fde.map_or(0, |f| f.post_header_len(t));
        let decoded = match t {
            types::FORMAT_DESCRIPTION => {
                let f = Fde::parse(body).map_err(&malformed)?;
                self.fde = Some(f.clone());
                Decoded::FormatDescription(f)
            }
            types::ROTATE => {
                let (file, position) = control::rotate(body).map_err(&malformed)?;
                self.file = file.clone();
                Decoded::Rotate { file, position }
            }
            types::QUERY | types::QUERY_COMPRESSED => {
                let mut q = control::query(body, ph(types::QUERY), h.timestamp, t == types::QUERY_COMPRESSED)
                    .map_err(&malformed)?;
                q.end = at.position.clone();
                q.context.client_charset = q.context.charset.and_then(|(c, _, _)| self.collations.charset(c));
                if self.schema.is_some() && !is_transaction_control(&q.sql) {
                    // A DDL may change a table without changing its table map's bytes (INT to
                    // INT UNSIGNED under binlog_row_metadata=NO_LOG); MariaDB gives the altered
                    // table a new table id, but nothing promises it: plans made with the schema
                    // provider are made again, with the schema after the statement.
                    self.tables.clear();
                }
                Decoded::Query(q)
            }
            types::XID => Decoded::Xid,
            types::TABLE_MAP => {
                self.table_map(&h, body, ph(types::TABLE_MAP))?;
                return Ok(());
            }
            types::WRITE_ROWS_V1
            | types::UPDATE_ROWS_V1
            | types::DELETE_ROWS_V1
            | types::WRITE_ROWS_V2
            | types::UPDATE_ROWS_V2
            | types::DELETE_ROWS_V2
            | types::WRITE_ROWS_COMPRESSED_V1
            | types::UPDATE_ROWS_COMPRESSED_V1
            | types::DELETE_ROWS_COMPRESSED_V1
            | types::WRITE_ROWS_COMPRESSED_V2
            | types::UPDATE_ROWS_COMPRESSED_V2
            | types::DELETE_ROWS_COMPRESSED_V2 => return self.rows(&h, body, ph(t), sink),
            types::PARTIAL_UPDATE_ROWS => {
                return Err(BinlogError::Unsupported {
                    at,
                    reason: "partial JSON updates (PARTIAL_UPDATE_ROWS) are not decoded: set \
                             binlog_row_value_options='' on the source so updates log full JSON values"
                        .into(),
                });
            }
            types::MARIA_GTID => {
                let (gtid, standalone, flags, xid) = control::maria_gtid(body, h.server_id).map_err(&malformed)?;
                let xa = match xid {
                    Some(x) if flags & control::MARIA_GTID_PREPARED_XA != 0 => Some(XaPart::Prepared(x)),
                    Some(x) => Some(XaPart::Completed(x)),
                    None => None,
                };
                Decoded::MariaGtid { gtid, standalone, ddl: flags & control::MARIA_GTID_DDL != 0, xa }
            }
            types::GTID_LIST => Decoded::GtidList(control::gtid_list(body).map_err(&malformed)?),
            types::GTID | types::ANONYMOUS_GTID | types::GTID_TAGGED => {
                Decoded::MysqlGtid(control::mysql_gtid(body, t == types::GTID_TAGGED).map_err(&malformed)?)
            }
            types::PREVIOUS_GTIDS => Decoded::PreviousGtids(control::previous_gtids(body).map_err(&malformed)?),
            types::TRANSACTION_PAYLOAD => {
                if nested {
                    return Err(malformed("TRANSACTION_PAYLOAD nested in another".into()));
                }
                let inner = control::transaction_payload(body).map_err(&malformed)?;
                let mut c = Cursor::new(&inner);
                while !c.is_empty() {
                    let Some(ih) = EventHeader::parse(c.rest()) else {
                        return Err(malformed("payload ends inside an event header".into()));
                    };
                    let ev = c
                        .take(ih.event_size as usize, "payload event")
                        .map_err(|e| malformed(format!("payload event: {e}")))?;
                    // Nested events have no position of their own: report the payload's.
                    self.decode(ev, true, &mut |_, d| sink(&h, d))?;
                }
                return Ok(());
            }
            types::HEARTBEAT | types::HEARTBEAT_V2 => Decoded::Heartbeat,
            types::ANNOTATE_ROWS
            | types::ROWS_QUERY
            | types::BINLOG_CHECKPOINT
            | types::TRANSACTION_CONTEXT
            | types::STOP
            | types::IGNORABLE => Decoded::Informational,
            types::START_ENCRYPTION => {
                return Err(BinlogError::Unsupported {
                    at,
                    reason: "the binlog is encrypted (encrypt_binlog=ON); read it through the server".into(),
                });
            }
            types::INCIDENT => {
                return Err(BinlogError::Unsupported {
                    at,
                    reason: "INCIDENT: the source lost changes it could not log; the destination must be \
                             resynchronized (run a full sync again)"
                        .into(),
                });
            }
            // Statement-format writes: the values they read (and a LOAD DATA's file), logged
            // before them; the statement itself is judged by the consumer.
            types::INTVAR | types::RAND | types::USER_VAR | types::BEGIN_LOAD_QUERY => Decoded::StatementValues,
            types::EXECUTE_LOAD_QUERY => {
                // A QUERY event with a longer post-header: the LOAD DATA statement.
                let mut q = control::query(body, ph(t), h.timestamp, false).map_err(&malformed)?;
                q.end = at.position.clone();
                q.context.client_charset = q.context.charset.and_then(|(c, _, _)| self.collations.charset(c));
                q.context.logged_values = true;
                Decoded::Query(q)
            }
            types::XA_PREPARE => Decoded::XaPrepare,
            _ if h.flags & LOG_EVENT_IGNORABLE_F != 0 => Decoded::Informational,
            other => {
                return Err(BinlogError::Unsupported { at, reason: format!("event type {other} is not known") });
            }
        };
        sink(&h, decoded)
    }

    /// Verifies the checksum (when the stream has them) and returns where the body ends.
    fn checked_body_end(&self, h: &EventHeader, raw: &[u8], nested: bool) -> Result<usize, BinlogError> {
        let too_short = || BinlogError::Malformed { at: self.at(h), reason: "too short to hold its checksum".into() };
        if h.event_type == types::FORMAT_DESCRIPTION {
            // Every supported server ends it with the algorithm byte and 4 checksum bytes.
            if raw.len() < HEADER_LEN + 5 {
                return Err(too_short());
            }
            if raw[raw.len() - 5] == 1 {
                // The server computes it with LOG_EVENT_BINLOG_IN_USE_F (set while the file is
                // open) cleared.
                let mut copy = raw[..raw.len() - CHECKSUM_LEN].to_vec();
                copy[17] &= !0x01;
                self.verify(h, &copy, &raw[raw.len() - CHECKSUM_LEN..])?;
            }
            return Ok(raw.len() - CHECKSUM_LEN);
        }
        let has_crc = !nested
            && match &self.fde {
                Some(f) => f.checksum_alg == 1,
                // Before any FDE (the artificial first ROTATE) the algorithm is unknown: the
                // trailing 4 bytes are a checksum exactly when they are the event's CRC32.
                None => {
                    raw.len() >= HEADER_LEN + CHECKSUM_LEN && {
                        let (data, sum) = raw.split_at(raw.len() - CHECKSUM_LEN);
                        crc32(data) == u32::from_le_bytes(sum.try_into().expect("4 bytes"))
                    }
                }
            };
        if !has_crc {
            return Ok(raw.len());
        }
        if raw.len() < HEADER_LEN + CHECKSUM_LEN {
            return Err(too_short());
        }
        let (data, sum) = raw.split_at(raw.len() - CHECKSUM_LEN);
        self.verify(h, data, sum)?;
        Ok(raw.len() - CHECKSUM_LEN)
    }

    fn verify(&self, h: &EventHeader, data: &[u8], sum: &[u8]) -> Result<(), BinlogError> {
        let expected = u32::from_le_bytes(sum.try_into().expect("4 bytes"));
        let actual = crc32(data);
        if expected != actual {
            return Err(BinlogError::Checksum { at: self.at(h), expected, actual });
        }
        Ok(())
    }

    fn table_map(&mut self, h: &EventHeader, body: &[u8], post_header_len: usize) -> Result<(), BinlogError> {
        let id_len = if post_header_len == 6 { 4 } else { 6 };
        let table_id = Cursor::new(body).uint_le(id_len, "table id").unwrap_or(u64::MAX);
        if let Some(TableEntry::Decode { raw, .. } | TableEntry::Skip { raw }) = self.tables.get(&table_id)
            && raw.as_slice() == body
        {
            return Ok(());
        }
        let at = self.at(h);
        let mariadb = self.fde.as_ref().is_some_and(|f| f.flavor == control::Flavor::MariaDb);
        let tm = table_map::parse(body, id_len, mariadb)
            .map_err(|e| BinlogError::Malformed { at: at.clone(), reason: e.to_string() })?;
        let name = |b: &[u8], what: &str| -> Result<Ident, BinlogError> {
            Ident::new(String::from_utf8_lossy(b).into_owned())
                .map_err(|e| BinlogError::Malformed { at: at.clone(), reason: format!("{what} name: {e}") })
        };
        let table = TableId::new(name(&tm.database, "database")?, name(&tm.table, "table")?);
        if let Some(f) = &self.filter
            && !f(&table)
        {
            self.tables.insert(table_id, TableEntry::Skip { raw: body.to_vec() });
            return Ok(());
        }
        let md = &tm.metadata;
        let needs_fallback = md.names.is_none() || md.unsigned.is_none() || md.collations.is_none();
        let fallback = match (&mut self.schema, needs_fallback) {
            (Some(p), true) => p
                .table_schema(&table, &at.position)
                .map_err(|source| BinlogError::Schema { table: table.clone(), source })?,
            _ => None,
        };
        let plan = rows::plan(&tm, table.clone(), &self.collations, fallback.as_deref(), self.positional_names)
            .map_err(|e| match e {
                rows::PlanError::Missing { what } => BinlogError::MissingMetadata(Box::new(MissingAt {
                    at: at.clone(),
                    table: table.clone(),
                    what,
                    fix: "set binlog_row_metadata=FULL on the source, or supply the table's schema (SchemaProvider)"
                        .into(),
                })),
                rows::PlanError::Unsupported { column, reason } => BinlogError::Value(Box::new(ValueAt {
                    at: at.clone(),
                    table: table.clone(),
                    column,
                    column_type: "(table map)".into(),
                    reason,
                })),
            })?;
        self.tables.insert(table_id, TableEntry::Decode { raw: body.to_vec(), plan: Arc::new(plan) });
        Ok(())
    }

    fn rows(
        &mut self,
        h: &EventHeader,
        body: &[u8],
        post_header_len: usize,
        sink: &mut dyn FnMut(&EventHeader, Decoded) -> Result<(), BinlogError>,
    ) -> Result<(), BinlogError> {
        use types::*;
        let at = self.at(h);
        let malformed = |reason: String| BinlogError::Malformed { at: at.clone(), reason };
        let t = h.event_type;
        let kind = match t {
            WRITE_ROWS_V1 | WRITE_ROWS_V2 | WRITE_ROWS_COMPRESSED_V1 | WRITE_ROWS_COMPRESSED_V2 => RowsKind::Write,
            UPDATE_ROWS_V1 | UPDATE_ROWS_V2 | UPDATE_ROWS_COMPRESSED_V1 | UPDATE_ROWS_COMPRESSED_V2 => RowsKind::Update,
            _ => RowsKind::Delete,
        };
        let v2 = matches!(
            t,
            WRITE_ROWS_V2
                | UPDATE_ROWS_V2
                | DELETE_ROWS_V2
                | WRITE_ROWS_COMPRESSED_V2
                | UPDATE_ROWS_COMPRESSED_V2
                | DELETE_ROWS_COMPRESSED_V2
        );
        let compressed = t >= WRITE_ROWS_COMPRESSED_V1;
        let id_len = if post_header_len == 6 { 4 } else { 6 };
        let mut c = Cursor::new(body);
        let table_id = c.uint_le(id_len, "table id").map_err(|e| malformed(e.to_string()))?;
        c.skip(2, "flags").map_err(|e| malformed(e.to_string()))?;
        if v2 {
            let extra = c.u16("extra data length").map_err(|e| malformed(e.to_string()))? as usize;
            c.skip(extra.saturating_sub(2), "extra data").map_err(|e| malformed(e.to_string()))?;
        }
        let plan = match self.tables.get(&table_id) {
            Some(TableEntry::Decode { plan, .. }) => plan.clone(),
            Some(TableEntry::Skip { .. }) => {
                self.skipped_rows_events += 1;
                return Ok(());
            }
            None => return Err(BinlogError::UnknownTable { at, table_id }),
        };
        let split = rows::split_body(body, c.pos(), kind == RowsKind::Update).map_err(&malformed)?;
        let uncompressed;
        let split = if compressed {
            uncompressed = control::mariadb_uncompress(split.rows).map_err(&malformed)?;
            rows::RowsBody { rows: &uncompressed, ..split }
        } else {
            split
        };
        let table = plan.schema.clone();
        let mut out = Vec::new();
        rows::decode_rows(kind, &split, &plan, |change| out.push(change)).map_err(|e| {
            let column = plan.schema.columns.get(e.column);
            BinlogError::Value(Box::new(ValueAt {
                at: at.clone(),
                table: table.id.clone(),
                column: column.map_or_else(|| format!("#{}", e.column), |c| c.name.to_string()),
                column_type: column.map_or_else(String::new, |c| c.ty.to_string()),
                reason: e.reason,
            }))
        })?;
        for change in out {
            sink(h, Decoded::Row(TableChange { table: table.clone(), change }))?;
        }
        Ok(())
    }
}
