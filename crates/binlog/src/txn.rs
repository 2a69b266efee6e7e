//! Transaction boundaries: turns decoded events into [`Item`]s — `Begin`, rows and statements,
//! `Commit` with the position to resume from — and keeps the GTID state reached.
//!
//! Boundaries by flavour: MariaDB opens a transaction with a GTID event (standalone ones hold a
//! single statement, DDL); MySQL with a GTID or anonymous GTID event; older streams with a
//! `BEGIN` query. A transaction ends at XID, at a `COMMIT`/`ROLLBACK` query, or after the one
//! statement of a standalone/DDL transaction.
//!
//! A MariaDB group that is neither standalone nor DDL ends with XID or COMMIT, so a statement in it
//! (a write logged in statement format, `binlog_format=STATEMENT` or `MIXED` in its session)
//! is part of the transaction, not one of its own. An XA transaction comes in two groups: its
//! changes, ended by XA_PREPARE (its [`Begin::xa`] names it), and later its `XA COMMIT` or
//! `XA ROLLBACK` statement, a transaction of its own.

use dts_types::{BinlogPosition, GtidPosition, MariaGtid, MysqlGtid, MysqlGtidSet, SourcePosition, TableChange};

use crate::decode::Decoded;
use crate::decode::control::Statement;
use crate::error::{BinlogError, EventAt};
use crate::event::EventHeader;

/// The GTID of a transaction, in its source's flavour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnGtid {
    /// A MariaDB GTID (domain-server-sequence).
    MariaDb(MariaGtid),
    /// A MySQL GTID (source UUID, tag, transaction number).
    MySql(MysqlGtid),
}

/// The start of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Begin {
    /// The transaction's GTID, if the source logs GTIDs.
    pub gtid: Option<TxnGtid>,
    /// The source's commit timestamp (seconds).
    pub timestamp: u32,
    /// The server that originally ran the transaction.
    pub server_id: u32,
    /// For the prepared part of an XA transaction (its changes, ended by XA PREPARE; its
    /// outcome comes later): its xid as an XA statement writes it, `'gtrid','bqual',format`
    /// (a part that is not printable ASCII in hex, `X'..'`).
    pub xa: Option<String>,
    /// Where the event opening the transaction starts: every transaction committed before
    /// this position ends at or before it.
    pub start: BinlogPosition,
}

/// What the reader yields, in source commit order.
#[derive(Debug, Clone)]
pub enum Item {
    /// A transaction starts.
    Begin(Begin),
    /// One row change with its table's schema.
    Row(TableChange),
    /// A statement (DDL, or DML logged as a statement) with its session context.
    Statement(Statement),
    /// The end of the transaction; `position` is where to resume to read what follows it.
    Commit(SourcePosition),
    /// The source is alive and has nothing new past `position` (the last event it sent).
    Heartbeat(BinlogPosition),
}

#[derive(Debug, Default)]
enum State {
    #[default]
    Idle,
    /// After a GTID event, before its first statement or BEGIN. `closed_by_commit`: a COMMIT
    /// or XID ends it (a MariaDB group that is neither standalone nor DDL), so a statement
    /// does not.
    Opened { standalone: bool, closed_by_commit: bool },
    /// Inside BEGIN ... COMMIT/XID.
    Explicit,
}

/// Tracks transaction state and positions over the decoded event stream.
#[derive(Debug, Default)]
pub struct Assembler {
    state: State,
    gtid: Option<TxnGtid>,
    gtid_state: Option<GtidPosition>,
    /// INTVAR, RAND or USER_VAR came since the last statement: the next one reads them.
    logged_values: bool,
}

impl Assembler {
    /// An assembler at a transaction boundary, with the GTID state the stream starts from.
    pub fn new(start_gtid: Option<GtidPosition>) -> Self {
        Assembler { gtid_state: start_gtid, ..Default::default() }
    }

    /// The GTID state after the last transaction committed.
    pub fn gtid_state(&self) -> Option<&GtidPosition> {
        self.gtid_state.as_ref()
    }

    /// Forgets a transaction that was being read (the stream restarts at its start).
    pub fn reset_to_boundary(&mut self) {
        self.state = State::Idle;
        self.gtid = None;
        self.logged_values = false;
    }

    /// Whether the stream is between transactions.
    pub fn at_boundary(&self) -> bool {
        matches!(self.state, State::Idle)
    }

    fn begin(
        &mut self,
        file: &str,
        h: &EventHeader,
        gtid: Option<TxnGtid>,
        xa: Option<String>,
        out: &mut dyn FnMut(Item),
    ) {
        self.gtid = gtid.clone();
        let start = BinlogPosition::new(file, (h.log_pos as u64).saturating_sub(h.event_size as u64));
        out(Item::Begin(Begin { gtid, timestamp: h.timestamp, server_id: h.server_id, xa, start }));
    }

    fn commit(&mut self, file: &str, h: &EventHeader, out: &mut dyn FnMut(Item)) {
        match (self.gtid.take(), &mut self.gtid_state) {
            (Some(TxnGtid::MariaDb(g)), Some(GtidPosition::MariaDb(list))) => list.update(g),
            (Some(TxnGtid::MariaDb(g)), state @ None) => {
                let mut list = dts_types::MariaGtidList::new();
                list.update(g);
                *state = Some(GtidPosition::MariaDb(list));
            }
            (Some(TxnGtid::MySql(g)), Some(GtidPosition::MySql(set))) => set.insert(&g),
            (Some(TxnGtid::MySql(g)), state @ None) => {
                let mut set = MysqlGtidSet::new();
                set.insert(&g);
                *state = Some(GtidPosition::MySql(set));
            }
            _ => {}
        }
        self.state = State::Idle;
        out(Item::Commit(SourcePosition {
            binlog: BinlogPosition::new(file, h.log_pos as u64),
            gtid: self.gtid_state.clone(),
        }));
    }

    /// Feeds one decoded event; `file` is the binlog file it came from.
    pub fn feed(
        &mut self,
        file: &str,
        h: &EventHeader,
        ev: Decoded,
        out: &mut dyn FnMut(Item),
    ) -> Result<(), BinlogError> {
        let at = || EventAt { position: BinlogPosition::new(file, h.log_pos as u64), event_type: h.event_type };
        match ev {
            Decoded::MariaGtid { gtid, standalone, ddl, xa } => {
                self.expect_idle(at)?;
                // A DDL group's statement is a transaction of its own even when rows follow it
                // (`CREATE TABLE ... SELECT`: the table exists before its rows are applied).
                self.state = State::Opened { standalone, closed_by_commit: !standalone && !ddl };
                let prepared = match xa {
                    Some(crate::decode::XaPart::Prepared(x)) => Some(x),
                    _ => None,
                };
                self.begin(file, h, Some(TxnGtid::MariaDb(gtid)), prepared, out);
            }
            Decoded::MysqlGtid(g) => {
                self.expect_idle(at)?;
                self.state = State::Opened { standalone: false, closed_by_commit: false };
                self.begin(file, h, g.map(TxnGtid::MySql), None, out);
            }
            Decoded::StatementValues => self.logged_values = true,
            Decoded::Query(mut q) => {
                q.context.logged_values |= std::mem::take(&mut self.logged_values);
                let verb = first_words(&q.sql);
                match (&self.state, verb.as_str()) {
                    (State::Idle, "BEGIN") => {
                        self.state = State::Explicit;
                        self.begin(file, h, None, None, out);
                    }
                    (State::Opened { standalone: false, .. }, "BEGIN") => self.state = State::Explicit,
                    (State::Explicit, "COMMIT" | "ROLLBACK") => self.commit(file, h, out),
                    // A non-transactional table's rows (MyISAM, a sequence) end with a COMMIT
                    // query; with those rows skipped (their table not selected), that COMMIT
                    // still ends the group.
                    (State::Opened { standalone: false, .. }, "COMMIT" | "ROLLBACK") => self.commit(file, h, out),
                    // The end of an XA transaction's changes (after none, where every row was
                    // of an unselected table); XA_PREPARE follows.
                    (State::Explicit | State::Opened { closed_by_commit: true, .. }, "XA END") => {
                        self.state = State::Explicit;
                    }
                    // An XA transaction's outcome (MariaDB: a group of its own, after its GTID).
                    (State::Opened { .. }, "XA COMMIT" | "XA ROLLBACK") => {
                        out(Item::Statement(q));
                        self.commit(file, h, out);
                    }
                    (_, v) if v == "XA" || v.starts_with("XA ") => {
                        return Err(BinlogError::Unsupported {
                            at: at(),
                            reason: format!(
                                "{v} outside a MariaDB XA event group: XA transactions of this server's binlog \
                                 format are not supported; write the task's tables with ordinary transactions"
                            ),
                        });
                    }
                    (State::Explicit, _) => out(Item::Statement(q)),
                    (State::Idle, _) => {
                        self.begin(file, h, None, None, out);
                        out(Item::Statement(q));
                        self.commit(file, h, out);
                    }
                    (State::Opened { closed_by_commit: true, .. }, _) => {
                        // A write logged in statement format: its XID or COMMIT follows.
                        self.state = State::Explicit;
                        out(Item::Statement(q));
                    }
                    (State::Opened { .. }, _) => {
                        out(Item::Statement(q));
                        self.commit(file, h, out);
                    }
                }
            }
            Decoded::Xid | Decoded::XaPrepare => match self.state {
                State::Explicit | State::Opened { standalone: false, .. } => self.commit(file, h, out),
                _ => return Err(BinlogError::Malformed { at: at(), reason: "XID outside a transaction".into() }),
            },
            Decoded::Row(change) => {
                match self.state {
                    State::Idle => {
                        self.state = State::Explicit;
                        self.begin(file, h, None, None, out);
                    }
                    State::Opened { .. } => self.state = State::Explicit,
                    State::Explicit => {}
                }
                out(Item::Row(change));
            }
            Decoded::GtidList(list) => {
                if self.gtid_state.is_none() && !list.is_empty() {
                    self.gtid_state = Some(GtidPosition::MariaDb(list));
                }
            }
            Decoded::PreviousGtids(set) => {
                if self.gtid_state.is_none() {
                    self.gtid_state = Some(GtidPosition::MySql(set));
                }
            }
            Decoded::Heartbeat => {
                if self.at_boundary() {
                    out(Item::Heartbeat(BinlogPosition::new(file, h.log_pos as u64)));
                }
            }
            Decoded::FormatDescription(_) | Decoded::Rotate { .. } | Decoded::Informational => {}
        }
        Ok(())
    }

    fn expect_idle(&self, at: impl Fn() -> EventAt) -> Result<(), BinlogError> {
        if self.at_boundary() {
            Ok(())
        } else {
            Err(BinlogError::Malformed {
                at: at(),
                reason: "a new transaction starts before the last one ended".into(),
            })
        }
    }
}

/// The statement's verb, upper-cased: its first word (`BEGIN`, `COMMIT`, `ALTER`...), or its
/// first two when the first is `ROLLBACK` or `XA` (`ROLLBACK TO` a savepoint is no boundary).
fn first_words(sql: &[u8]) -> String {
    let text = String::from_utf8_lossy(&sql[..sql.len().min(64)]).to_ascii_uppercase();
    let mut words = text.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| !w.is_empty());
    let first = words.next().unwrap_or("").to_string();
    match (first.as_str(), words.next()) {
        ("ROLLBACK", Some("TO")) => "ROLLBACK TO".into(),
        ("XA", Some(second)) => format!("XA {second}"),
        _ => first,
    }
}

#[cfg(test)]
mod tests {
    use super::first_words;

    #[test]
    fn verbs() {
        assert_eq!(first_words(b"  begin"), "BEGIN");
        assert_eq!(first_words(b"ROLLBACK TO SAVEPOINT a"), "ROLLBACK TO");
        assert_eq!(first_words(b"ROLLBACK"), "ROLLBACK");
        assert_eq!(first_words(b"XA END 'x'"), "XA END");
        assert_eq!(first_words(b"/* c */ COMMIT"), "C");
    }
}
