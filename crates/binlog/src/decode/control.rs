//! Control events: FORMAT_DESCRIPTION, ROTATE, QUERY (with its session context), XID, GTIDs
//! of both flavours, GTID_LIST, PREVIOUS_GTIDS, and the compression wrappers.

use std::io::Read;

use bytes::Bytes;
use dts_types::{GtidTag, Uuid};
use dts_types::{MariaGtid, MariaGtidList, MysqlGtid, MysqlGtidSet};

use crate::cursor::Cursor;

/// The source's flavour, from the FORMAT_DESCRIPTION event's server version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    MariaDb,
    MySql,
}

/// What a FORMAT_DESCRIPTION event says about the events after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fde {
    pub server_version: String,
    pub flavor: Flavor,
    pub post_header_lens: Vec<u8>,
    /// binlog_checksum of the file: 0 none, 1 CRC32.
    pub checksum_alg: u8,
}

impl Fde {
    /// Post-header length of an event type, defaulting to the v4 lengths.
    pub fn post_header_len(&self, event_type: u8) -> usize {
        self.post_header_lens.get(event_type as usize - 1).map_or(0, |&l| l as usize)
    }

    /// Parses a FORMAT_DESCRIPTION body (after the header, up to the checksum algorithm byte).
    pub(crate) fn parse(body: &[u8]) -> Result<Fde, String> {
        let mut c = Cursor::new(body);
        let version = c.u16("binlog version").map_err(|e| e.to_string())?;
        if version != 4 {
            return Err(format!("binlog format version {version} (only 4 is supported)"));
        }
        let sv = c.take(50, "server version").map_err(|e| e.to_string())?;
        let server_version = String::from_utf8_lossy(sv.split(|&b| b == 0).next().unwrap_or(&[])).into_owned();
        c.skip(4, "create timestamp").map_err(|e| e.to_string())?;
        let header_len = c.u8("header length").map_err(|e| e.to_string())?;
        if header_len != 19 {
            return Err(format!("event header length {header_len} (only 19 is supported)"));
        }
        // The body ends with the checksum algorithm byte (the checksum itself is cut off).
        let rest = c.rest();
        let Some((&checksum_alg, lens)) = rest.split_last() else {
            return Err("FORMAT_DESCRIPTION ends before its checksum algorithm".into());
        };
        if checksum_alg > 1 {
            return Err(format!("unknown binlog checksum algorithm {checksum_alg}"));
        }
        let flavor = if server_version.contains("MariaDB") { Flavor::MariaDb } else { Flavor::MySql };
        Ok(Fde { server_version, flavor, post_header_lens: lens.to_vec(), checksum_alg })
    }
}

/// A ROTATE event: the next file and the position to read from in it.
pub(crate) fn rotate(body: &[u8]) -> Result<(String, u64), String> {
    let mut c = Cursor::new(body);
    let pos = c.u64("position").map_err(|e| e.to_string())?;
    Ok((String::from_utf8_lossy(c.rest()).into_owned(), pos))
}

/// The session context a statement ran in on the source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementContext {
    /// The default database (`USE db`), if any.
    pub database: Option<String>,
    /// sql_mode as the server's bit set (SET sql_mode accepts the number).
    pub sql_mode: Option<u64>,
    /// character_set_client, collation_connection and collation_server, as collation ids.
    pub charset: Option<(u16, u16, u16)>,
    /// The session time_zone, where it differs from the server's.
    pub time_zone: Option<String>,
    /// Seconds (and microseconds, where logged) of the statement's start: its NOW().
    pub timestamp: u32,
    /// The microseconds of `timestamp`, where the server logged them (MariaDB).
    pub microseconds: Option<u32>,
    /// auto_increment_increment and auto_increment_offset.
    pub auto_increment: Option<(u16, u16)>,
    /// lc_time_names, as the server's locale number.
    pub lc_time_names: Option<u16>,
    /// The default database's collation id.
    pub collation_database: Option<u16>,
    /// explicit_defaults_for_timestamp (MySQL).
    pub explicit_defaults_for_timestamp: Option<bool>,
    /// OPTION_AUTO_IS_NULL, OPTION_NOT_AUTOCOMMIT, OPTION_NO_FOREIGN_KEY_CHECKS, ...
    pub flags2: Option<u32>,
    /// The source connection that ran the statement.
    pub thread_id: u32,
    /// The error the statement ended with on the source (0: none).
    pub error_code: u16,
    /// The charset of `charset`'s character_set_client (the statement text's), where the
    /// collation id is known.
    pub client_charset: Option<dts_types::Charset>,
    /// INTVAR, RAND or USER_VAR events came before it: it reads values the source logged for
    /// it (LAST_INSERT_ID, RAND(), user variables), which only a statement-format write does.
    pub logged_values: bool,
}

/// A statement from the binlog with its context. The text is bytes in the statement's
/// character_set_client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement text as logged.
    pub sql: Bytes,
    /// The session it ran in.
    pub context: StatementContext,
    /// The end of its event in the binlog: the position its effect (a DDL's new schema) holds
    /// from. Offset 0 inside a MySQL TRANSACTION_PAYLOAD, whose nested events have none.
    pub end: dts_types::BinlogPosition,
}

impl Statement {
    /// The statement text, decoded as UTF-8 where it is (replacement characters otherwise):
    /// for messages and logs only; [`Statement::text`] is the text to act on.
    pub fn sql_lossy(&self) -> String {
        String::from_utf8_lossy(&self.sql).into_owned()
    }

    /// The statement text as Unicode, decoded exactly from its character_set_client
    /// ([`dts_types::Charset::decode`]); without a logged charset it must be UTF-8.
    pub fn text(&self) -> Result<String, StatementTextError> {
        let charset = match (self.context.client_charset, self.context.charset) {
            (Some(cs), _) => cs,
            (None, None) => dts_types::Charset::UTF8MB4,
            (None, Some((id, _, _))) => return Err(StatementTextError::UnknownCollation { id }),
        };
        charset.decode(&self.sql).map_err(StatementTextError::Decode)
    }
}

/// Why a statement's text cannot be read exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementTextError {
    /// The session's character_set_client is a collation id the reader does not know.
    #[error("its character_set_client is collation id {id}, which the source did not list")]
    UnknownCollation {
        /// The collation id.
        id: u16,
    },
    /// The bytes are not text in that charset, or not text this reader can read exactly.
    #[error("its text cannot be read exactly in its session's character_set_client")]
    Decode(#[source] dts_types::value::DecodeError),
}

/// Parses a QUERY (or QUERY_COMPRESSED) body with the given post-header length.
pub(crate) fn query(
    body: &[u8],
    post_header_len: usize,
    timestamp: u32,
    compressed: bool,
) -> Result<Statement, String> {
    let e = |x: crate::cursor::Short| x.to_string();
    let mut c = Cursor::new(body);
    let thread_id = c.u32("thread id").map_err(e)?;
    c.skip(4, "exec time").map_err(e)?;
    let db_len = c.u8("database length").map_err(e)? as usize;
    let error_code = c.u16("error code").map_err(e)?;
    let status_len = if post_header_len >= 13 { c.u16("status variables length").map_err(e)? as usize } else { 0 };
    c.skip(post_header_len.saturating_sub(13), "post-header").map_err(e)?;
    let status = c.take(status_len, "status variables").map_err(e)?;
    let mut ctx = status_vars(status)?;
    ctx.thread_id = thread_id;
    ctx.error_code = error_code;
    ctx.timestamp = timestamp;
    let db = c.take(db_len, "database").map_err(e)?;
    c.skip(1, "NUL after database").map_err(e)?;
    if db_len > 0 {
        ctx.database = Some(String::from_utf8_lossy(db).into_owned());
    }
    let sql = if compressed { Bytes::from(mariadb_uncompress(c.rest())?) } else { Bytes::copy_from_slice(c.rest()) };
    Ok(Statement { sql, context: ctx, end: dts_types::BinlogPosition::new(String::new(), 0) })
}

fn status_vars(bytes: &[u8]) -> Result<StatementContext, String> {
    let mut ctx = StatementContext::default();
    let mut c = Cursor::new(bytes);
    let e = |x: crate::cursor::Short| format!("status variables: {x}");
    while !c.is_empty() {
        let code = c.u8("status variable code").map_err(e)?;
        match code {
            0 => ctx.flags2 = Some(c.u32("flags2").map_err(e)?),
            1 => ctx.sql_mode = Some(c.u64("sql_mode").map_err(e)?),
            2 => {
                let n = c.u8("catalog length").map_err(e)? as usize;
                c.skip(n + 1, "catalog").map_err(e)?;
            }
            3 => ctx.auto_increment = Some((c.u16("increment").map_err(e)?, c.u16("offset").map_err(e)?)),
            4 => {
                ctx.charset =
                    Some((c.u16("client").map_err(e)?, c.u16("connection").map_err(e)?, c.u16("server").map_err(e)?))
            }
            5 => {
                let n = c.u8("time zone length").map_err(e)? as usize;
                ctx.time_zone = Some(String::from_utf8_lossy(c.take(n, "time zone").map_err(e)?).into_owned());
            }
            6 => {
                let n = c.u8("catalog length").map_err(e)? as usize;
                c.skip(n, "catalog").map_err(e)?;
            }
            7 => ctx.lc_time_names = Some(c.u16("lc_time_names").map_err(e)?),
            8 => ctx.collation_database = Some(c.u16("collation_database").map_err(e)?),
            9 => c.skip(8, "table map for update").map_err(e)?,
            10 => c.skip(4, "master data written").map_err(e)?,
            11 => {
                let n = c.u8("invoker user length").map_err(e)? as usize;
                c.skip(n, "invoker user").map_err(e)?;
                let n = c.u8("invoker host length").map_err(e)? as usize;
                c.skip(n, "invoker host").map_err(e)?;
            }
            12 => {
                let n = c.u8("updated db count").map_err(e)?;
                if n != 254 {
                    for _ in 0..n {
                        while c.u8("updated db name").map_err(e)? != 0 {}
                    }
                }
            }
            13 => ctx.microseconds = Some(c.uint_le(3, "microseconds").map_err(e)? as u32),
            14 => c.skip(8, "commit ts").map_err(e)?,
            15 => {
                let n = c.u8("commit ts2 length").map_err(e)? as usize;
                c.skip(n, "commit ts2").map_err(e)?;
            }
            16 => ctx.explicit_defaults_for_timestamp = Some(c.u8("explicit_defaults_for_timestamp").map_err(e)? != 0),
            17 => c.skip(8, "ddl logged with xid").map_err(e)?,
            18 => c.skip(2, "default collation for utf8mb4").map_err(e)?,
            19 => c.skip(1, "sql_require_primary_key").map_err(e)?,
            20 => c.skip(1, "default_table_encryption").map_err(e)?,
            // MariaDB: high-resolution NOW(), XID of a DDL, GTID flags.
            128 => ctx.microseconds = Some(c.uint_le(3, "hrnow").map_err(e)? as u32),
            129 => c.skip(8, "xid").map_err(e)?,
            130 => c.skip(1, "gtid flags3").map_err(e)?,
            other => {
                return Err(format!("unknown status variable code {other}; the statement's context cannot be read"));
            }
        }
    }
    Ok(ctx)
}

/// MariaDB's compressed payload (log_bin_compress): one header byte `0x80 | n`, the
/// uncompressed length in `n` big-endian bytes, then zlib data.
pub(crate) fn mariadb_uncompress(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut c = Cursor::new(data);
    let head = c.u8("compression header").map_err(|e| e.to_string())?;
    let n = (head & 0x07) as usize;
    if head & 0x80 == 0 || !(1..=4).contains(&n) {
        return Err(format!("unknown compression header byte {head:#04x}"));
    }
    let len = c.uint_be(n, "uncompressed length").map_err(|e| e.to_string())? as usize;
    if len > crate::event::MAX_EVENT_SIZE {
        return Err(format!("compressed data claims {len} bytes"));
    }
    // Reserved from what the data can give (zlib expands at most about 1032 times), not from
    // the header's claim alone: a hostile header cannot reserve a gigabyte.
    let mut out = Vec::with_capacity(len.min(c.rest().len().saturating_mul(1032).saturating_add(64)));
    flate2::read::ZlibDecoder::new(c.rest())
        .take(len as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("zlib: {e}"))?;
    if out.len() != len {
        return Err(format!("compressed data gives {} bytes, its header says {len}", out.len()));
    }
    Ok(out)
}

/// A MariaDB GTID event: the GTID (server id from the header), whether it is standalone (a
/// single statement with no COMMIT or XID after it), its flags, and for the two parts of an XA
/// transaction (flags `FL_PREPARED_XA`, `FL_COMPLETED_XA`) its xid as XA statements write it.
pub(crate) fn maria_gtid(body: &[u8], server_id: u32) -> Result<(MariaGtid, bool, u8, Option<String>), String> {
    let e = |x: crate::cursor::Short| x.to_string();
    let mut c = Cursor::new(body);
    let seq = c.u64("seq_no").map_err(e)?;
    let domain = c.u32("domain id").map_err(e)?;
    let flags = c.u8("flags").map_err(e)?;
    let mut xid = None;
    if flags & (MARIA_GTID_PREPARED_XA | MARIA_GTID_COMPLETED_XA) != 0 {
        if flags & 0x02 != 0 {
            c.skip(8, "commit id").map_err(e)?;
        }
        let format = c.u32("xid format id").map_err(e)?;
        let gtrid = c.u8("xid gtrid length").map_err(e)? as usize;
        let bqual = c.u8("xid bqual length").map_err(e)? as usize;
        let data = c.take(gtrid + bqual, "xid").map_err(e)?;
        xid = Some(format!("{},{},{format}", xid_part(&data[..gtrid]), xid_part(&data[gtrid..])));
    }
    Ok((MariaGtid { domain, server: server_id, seq }, flags & 0x01 != 0, flags, xid))
}

/// One part of an xid as an XA statement writes it: `'text'` where it is printable ASCII,
/// `X'hex'` otherwise.
fn xid_part(b: &[u8]) -> String {
    if b.iter().all(|&c| (0x20..0x7f).contains(&c) && c != b'\'' && c != b'\\') {
        format!("'{}'", String::from_utf8_lossy(b))
    } else {
        format!("X'{}'", b.iter().map(|x| format!("{x:02X}")).collect::<String>())
    }
}

/// A MariaDB GTID flag: the event group is DDL.
pub(crate) const MARIA_GTID_DDL: u8 = 0x20;
/// A MariaDB GTID flag: the event group is the prepared part of an XA transaction (its rows,
/// ended by XA_PREPARE).
pub(crate) const MARIA_GTID_PREPARED_XA: u8 = 0x40;
/// A MariaDB GTID flag: the event group is the `XA COMMIT` or `XA ROLLBACK` of an XA transaction.
pub(crate) const MARIA_GTID_COMPLETED_XA: u8 = 0x80;

/// A MariaDB GTID_LIST event.
pub(crate) fn gtid_list(body: &[u8]) -> Result<MariaGtidList, String> {
    let mut c = Cursor::new(body);
    let e = |x: crate::cursor::Short| x.to_string();
    let n = c.u32("count").map_err(e)? & 0x0fff_ffff;
    let mut list = MariaGtidList::new();
    for _ in 0..n {
        let domain = c.u32("domain").map_err(e)?;
        let server = c.u32("server").map_err(e)?;
        let seq = c.u64("seq").map_err(e)?;
        list.update(MariaGtid { domain, server, seq });
    }
    Ok(list)
}

/// A MySQL GTID, ANONYMOUS_GTID or GTID_TAGGED event: the GTID (`None` when anonymous).
pub(crate) fn mysql_gtid(body: &[u8], tagged: bool) -> Result<Option<MysqlGtid>, String> {
    let e = |x: crate::cursor::Short| x.to_string();
    let mut c = Cursor::new(body);
    if !tagged {
        c.skip(1, "flags").map_err(e)?;
        let uuid: [u8; 16] = c.take(16, "uuid").map_err(e)?.try_into().expect("16 bytes");
        let gno = c.u64("gno").map_err(e)?;
        if uuid == [0; 16] || gno == 0 {
            return Ok(None);
        }
        return Ok(Some(MysqlGtid { uuid: Uuid(uuid), tag: None, gno }));
    }
    let version = c.u8("serialization version").map_err(e)?;
    if version != 2 {
        return Err(format!("tagged GTID serialization version {version} (only 2 is known)"));
    }
    c.varlen_uint("payload size").map_err(e)?;
    c.varlen_uint("last non-ignorable field").map_err(e)?;
    let (mut uuid, mut gno, mut tag) = ([0u8; 16], 0u64, None);
    while !c.is_empty() {
        match c.varlen_uint("field id").map_err(e)? {
            0 | 6 | 7 | 8 | 9 | 10 | 11 => {
                c.varlen_uint("field").map_err(e)?;
            }
            1 => {
                for b in uuid.iter_mut() {
                    *b = c.varlen_uint("uuid byte").map_err(e)? as u8;
                }
            }
            2 => gno = c.varlen_int("gno").map_err(e)?.max(0) as u64,
            3 => {
                let n = c.varlen_uint("tag length").map_err(e)? as usize;
                let t = String::from_utf8_lossy(c.take(n, "tag").map_err(e)?).into_owned();
                tag = if t.is_empty() { None } else { Some(GtidTag::new(&t).map_err(|x| x.to_string())?) };
            }
            4 | 5 => {
                c.varlen_int("logical clock").map_err(e)?;
            }
            other => return Err(format!("unknown tagged GTID field {other}")),
        }
    }
    if gno == 0 {
        return Err("tagged GTID without a transaction number".into());
    }
    Ok(Some(MysqlGtid { uuid: Uuid(uuid), tag, gno }))
}

/// A MySQL PREVIOUS_GTIDS event (untagged or 8.4's tagged format).
pub(crate) fn previous_gtids(body: &[u8]) -> Result<MysqlGtidSet, String> {
    let e = |x: crate::cursor::Short| x.to_string();
    let mut c = Cursor::new(body);
    let head = c.u64("sid count").map_err(e)?;
    let tagged = head >> 56 != 0;
    let n = if tagged { (head >> 8) & ((1 << 48) - 1) } else { head & ((1 << 56) - 1) };
    let mut set = MysqlGtidSet::new();
    for _ in 0..n {
        let uuid: [u8; 16] = c.take(16, "uuid").map_err(e)?.try_into().expect("16 bytes");
        let tag = if tagged {
            let len = c.varlen_uint("tag length").map_err(e)? as usize;
            let t = String::from_utf8_lossy(c.take(len, "tag").map_err(e)?).into_owned();
            if t.is_empty() { None } else { Some(GtidTag::new(&t).map_err(|x| x.to_string())?) }
        } else {
            None
        };
        let k = c.u64("interval count").map_err(e)?;
        for _ in 0..k {
            let start = c.u64("interval start").map_err(e)?;
            let end = c.u64("interval end").map_err(e)?;
            if start == 0 || end <= start {
                return Err(format!("bad GTID interval {start}-{end}"));
            }
            set.add_interval(Uuid(uuid), tag.clone(), start, end - 1);
        }
    }
    Ok(set)
}

/// MySQL's TRANSACTION_PAYLOAD: the zstd-compressed events of one transaction. The header
/// is a list of (type, length, value) fields, each part length-encoded, closed by type 0
/// (no length), after which the payload runs to the end of the event. The decompressed events
/// must be exactly the uncompressed size the header declares (at most `MAX_EVENT_SIZE`): more
/// or less is an error, never a silent cut.
pub(crate) fn transaction_payload(body: &[u8]) -> Result<Vec<u8>, String> {
    let e = |x: crate::cursor::Short| x.to_string();
    let mut c = Cursor::new(body);
    let (mut compression, mut size, mut uncompressed) = (None, None, None);
    loop {
        let field = c.lenenc("field type").map_err(e)?;
        if field == 0 {
            break;
        }
        let value = c.lenenc_bytes("field").map_err(e)?;
        let number = Cursor::new(value).lenenc("field value").map_err(e)?;
        match field {
            1 => size = Some(number as usize),
            2 => compression = Some(number),
            3 => uncompressed = Some(number),
            _ => {}
        }
    }
    let payload = c.rest();
    let payload = &payload[..size.unwrap_or(payload.len()).min(payload.len())];
    match compression {
        Some(0) => {
            let max = crate::event::MAX_EVENT_SIZE as u64;
            let declared = uncompressed.unwrap_or(max);
            if declared > max {
                return Err(format!("compressed transaction claims {declared} bytes, more than {max}"));
            }
            let mut out = Vec::new();
            ruzstd::decoding::StreamingDecoder::new(payload)
                .map_err(|x| format!("zstd: {x}"))?
                .take(declared + 1)
                .read_to_end(&mut out)
                .map_err(|x| format!("zstd: {x}"))?;
            let got = out.len() as u64;
            match uncompressed {
                Some(n) if got != n => {
                    Err(format!("compressed transaction gives {got} bytes or more, its header says {n}"))
                }
                None if got > max => Err(format!("compressed transaction expands past {max} bytes")),
                _ => Ok(out),
            }
        }
        Some(255) | None => Ok(payload.to_vec()),
        Some(other) => Err(format!("unknown transaction compression type {other}")),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    /// A TRANSACTION_PAYLOAD body: compression zstd, the declared uncompressed size (if any),
    /// then `events` compressed.
    fn payload(events: &[u8], declared: Option<u64>) -> Vec<u8> {
        let z = ruzstd::encoding::compress_to_vec(events, ruzstd::encoding::CompressionLevel::Fastest);
        let mut body = vec![2, 1, 0]; // compression type 0 (zstd)
        if let Some(n) = declared {
            assert!(n < 251);
            body.extend_from_slice(&[3, 1, n as u8]);
        }
        body.push(0);
        body.extend_from_slice(&z);
        body
    }

    #[test]
    fn a_transaction_payload_must_expand_to_exactly_its_declared_size() {
        let events = [7u8; 200];
        assert_eq!(transaction_payload(&payload(&events, Some(200))).unwrap(), events);
        assert_eq!(transaction_payload(&payload(&events, None)).unwrap(), events);
        let e = transaction_payload(&payload(&events, Some(150))).unwrap_err();
        assert!(e.contains("header says 150"), "{e}");
        let e = transaction_payload(&payload(&events, Some(250))).unwrap_err();
        assert!(e.contains("header says 250"), "{e}");
    }

    #[test]
    fn a_zlib_header_claiming_a_gigabyte_reserves_only_what_the_data_can_give() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(b"CREATE TABLE t (id INT)").unwrap();
        let data = z.finish().unwrap();
        let mut claim = vec![0x84];
        claim.extend_from_slice(&(1u32 << 29).to_be_bytes());
        claim.extend_from_slice(&data);
        let e = mariadb_uncompress(&claim).unwrap_err();
        assert!(e.contains("header says 536870912"), "{e}");
        let mut right = vec![0x81, 23];
        right.extend_from_slice(&data);
        assert_eq!(mariadb_uncompress(&right).unwrap(), b"CREATE TABLE t (id INT)");
    }
}
