//! Binlog event framing: the common header, event type codes, and checksums.

use crate::cursor::Cursor;

/// Length of the common v4 event header.
pub const HEADER_LEN: usize = 19;
/// Length of a CRC32 checksum at the end of an event.
pub const CHECKSUM_LEN: usize = 4;
/// The four bytes every binlog file starts with.
pub const MAGIC: [u8; 4] = [0xfe, b'b', b'i', b'n'];
/// Largest event accepted (the servers cap events at max_allowed_packet, at most 1 GiB).
pub const MAX_EVENT_SIZE: usize = 1 << 30;

/// The header flag telling a reader it may skip an event type it does not know.
pub const LOG_EVENT_IGNORABLE_F: u16 = 0x80;

/// Event type codes (MySQL and MariaDB), the whole table: some are only ever named here.
#[allow(dead_code)]
pub mod types {
    pub const START_V3: u8 = 1;
    pub const QUERY: u8 = 2;
    pub const STOP: u8 = 3;
    pub const ROTATE: u8 = 4;
    pub const INTVAR: u8 = 5;
    pub const SLAVE: u8 = 7;
    pub const APPEND_BLOCK: u8 = 9;
    pub const DELETE_FILE: u8 = 11;
    pub const RAND: u8 = 13;
    pub const USER_VAR: u8 = 14;
    pub const FORMAT_DESCRIPTION: u8 = 15;
    pub const XID: u8 = 16;
    pub const BEGIN_LOAD_QUERY: u8 = 17;
    pub const EXECUTE_LOAD_QUERY: u8 = 18;
    pub const TABLE_MAP: u8 = 19;
    pub const WRITE_ROWS_V0: u8 = 20;
    pub const UPDATE_ROWS_V0: u8 = 21;
    pub const DELETE_ROWS_V0: u8 = 22;
    pub const WRITE_ROWS_V1: u8 = 23;
    pub const UPDATE_ROWS_V1: u8 = 24;
    pub const DELETE_ROWS_V1: u8 = 25;
    pub const INCIDENT: u8 = 26;
    pub const HEARTBEAT: u8 = 27;
    pub const IGNORABLE: u8 = 28;
    pub const ROWS_QUERY: u8 = 29;
    pub const WRITE_ROWS_V2: u8 = 30;
    pub const UPDATE_ROWS_V2: u8 = 31;
    pub const DELETE_ROWS_V2: u8 = 32;
    pub const GTID: u8 = 33;
    pub const ANONYMOUS_GTID: u8 = 34;
    pub const PREVIOUS_GTIDS: u8 = 35;
    pub const TRANSACTION_CONTEXT: u8 = 36;
    pub const VIEW_CHANGE: u8 = 37;
    pub const XA_PREPARE: u8 = 38;
    pub const PARTIAL_UPDATE_ROWS: u8 = 39;
    pub const TRANSACTION_PAYLOAD: u8 = 40;
    pub const HEARTBEAT_V2: u8 = 41;
    pub const GTID_TAGGED: u8 = 42;
    pub const ANNOTATE_ROWS: u8 = 160;
    pub const BINLOG_CHECKPOINT: u8 = 161;
    pub const MARIA_GTID: u8 = 162;
    pub const GTID_LIST: u8 = 163;
    pub const START_ENCRYPTION: u8 = 164;
    pub const QUERY_COMPRESSED: u8 = 165;
    pub const WRITE_ROWS_COMPRESSED_V1: u8 = 166;
    pub const UPDATE_ROWS_COMPRESSED_V1: u8 = 167;
    pub const DELETE_ROWS_COMPRESSED_V1: u8 = 168;
    pub const WRITE_ROWS_COMPRESSED_V2: u8 = 169;
    pub const UPDATE_ROWS_COMPRESSED_V2: u8 = 170;
    pub const DELETE_ROWS_COMPRESSED_V2: u8 = 171;
}

/// A readable name for an event type code.
pub fn type_name(t: u8) -> &'static str {
    use types::*;
    match t {
        START_V3 => "START_V3",
        QUERY => "QUERY",
        STOP => "STOP",
        ROTATE => "ROTATE",
        INTVAR => "INTVAR",
        RAND => "RAND",
        USER_VAR => "USER_VAR",
        FORMAT_DESCRIPTION => "FORMAT_DESCRIPTION",
        XID => "XID",
        BEGIN_LOAD_QUERY => "BEGIN_LOAD_QUERY",
        EXECUTE_LOAD_QUERY => "EXECUTE_LOAD_QUERY",
        TABLE_MAP => "TABLE_MAP",
        WRITE_ROWS_V0 | WRITE_ROWS_V1 | WRITE_ROWS_V2 => "WRITE_ROWS",
        UPDATE_ROWS_V0 | UPDATE_ROWS_V1 | UPDATE_ROWS_V2 => "UPDATE_ROWS",
        DELETE_ROWS_V0 | DELETE_ROWS_V1 | DELETE_ROWS_V2 => "DELETE_ROWS",
        INCIDENT => "INCIDENT",
        HEARTBEAT => "HEARTBEAT",
        IGNORABLE => "IGNORABLE",
        ROWS_QUERY => "ROWS_QUERY",
        GTID => "GTID",
        ANONYMOUS_GTID => "ANONYMOUS_GTID",
        PREVIOUS_GTIDS => "PREVIOUS_GTIDS",
        TRANSACTION_CONTEXT => "TRANSACTION_CONTEXT",
        VIEW_CHANGE => "VIEW_CHANGE",
        XA_PREPARE => "XA_PREPARE",
        PARTIAL_UPDATE_ROWS => "PARTIAL_UPDATE_ROWS",
        TRANSACTION_PAYLOAD => "TRANSACTION_PAYLOAD",
        HEARTBEAT_V2 => "HEARTBEAT_V2",
        GTID_TAGGED => "GTID_TAGGED",
        ANNOTATE_ROWS => "ANNOTATE_ROWS",
        BINLOG_CHECKPOINT => "BINLOG_CHECKPOINT",
        MARIA_GTID => "GTID (MariaDB)",
        GTID_LIST => "GTID_LIST",
        START_ENCRYPTION => "START_ENCRYPTION",
        QUERY_COMPRESSED => "QUERY_COMPRESSED",
        WRITE_ROWS_COMPRESSED_V1 | WRITE_ROWS_COMPRESSED_V2 => "WRITE_ROWS_COMPRESSED",
        UPDATE_ROWS_COMPRESSED_V1 | UPDATE_ROWS_COMPRESSED_V2 => "UPDATE_ROWS_COMPRESSED",
        DELETE_ROWS_COMPRESSED_V1 | DELETE_ROWS_COMPRESSED_V2 => "DELETE_ROWS_COMPRESSED",
        _ => "unknown event type",
    }
}

/// The common header of every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventHeader {
    pub timestamp: u32,
    pub event_type: u8,
    pub server_id: u32,
    pub event_size: u32,
    /// Offset of the next event in the file (0 for artificial and nested events).
    pub log_pos: u32,
    pub flags: u16,
}

impl EventHeader {
    /// Reads the header; `None` if fewer than [`HEADER_LEN`] bytes are given.
    pub fn parse(bytes: &[u8]) -> Option<EventHeader> {
        let mut c = Cursor::new(bytes);
        Some(EventHeader {
            timestamp: c.u32("timestamp").ok()?,
            event_type: c.u8("type").ok()?,
            server_id: c.u32("server_id").ok()?,
            event_size: c.u32("event_size").ok()?,
            log_pos: c.u32("log_pos").ok()?,
            flags: c.u16("flags").ok()?,
        })
    }
}

/// CRC32 (the servers' binlog_checksum=CRC32) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}
