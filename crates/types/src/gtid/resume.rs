//! Whether a MariaDB server can resume a reader from a GTID position: the test a task makes
//! before it reads a new source (a promoted replica) from its checkpoint's GTID state.
//!
//! A server can serve a reader from position `C` (one GTID per domain) when, in every domain of
//! `C`, it has logged at least up to `C`'s sequence number (else the transactions between are
//! missing: the destination holds changes the server never had), and its oldest binlog still
//! begins at or before `C` (else the transactions after `C` were purged). The server's own
//! check (`ERROR 1236` on the dump) stays the last word: this one names the GTIDs in words
//! before the dump is tried.

use std::fmt;

use super::{MariaGtid, MariaGtidList};

/// What a server's binlog holds: where it ends (`@@gtid_binlog_pos`) and the GTID state its
/// oldest binlog file begins at (`BINLOG_GTID_POS(<oldest file>, 4)`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GtidHistory {
    /// The last GTID logged per domain.
    pub end: MariaGtidList,
    /// The state at the start of the oldest binlog file still on the server.
    pub oldest: MariaGtidList,
}

/// A domain whose transactions between two GTIDs the server cannot send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GtidGap {
    /// The domain.
    pub domain: u32,
    /// The last transaction on the side that is behind (`None`: none at all in the domain).
    pub after: Option<MariaGtid>,
    /// The last transaction of the gap.
    pub up_to: MariaGtid,
}

impl GtidGap {
    /// How many transactions the gap holds.
    pub fn len(&self) -> u64 {
        self.up_to.seq - self.after.map_or(0, |a| a.seq)
    }

    /// Whether the gap holds none (never for a gap in a [`GtidShortfall`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for GtidGap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.after.map_or(1, |a| a.seq + 1);
        let n = self.len();
        let what = if n == 1 { "transaction" } else { "transactions" };
        match self.after {
            Some(a) => write!(f, "domain {}: {n} {what} after {a}, ", self.domain)?,
            None => write!(f, "domain {}: {n} {what} from its first, ", self.domain)?,
        }
        if n == 1 { write!(f, "{}", self.up_to) } else { write!(f, "seq_no {first} to {}", self.up_to) }
    }
}

/// Why a server cannot resume a reader from a GTID position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GtidShortfall {
    /// The position holds transactions the server never logged (it was behind when it was
    /// promoted): these gaps, in domain order.
    Missing(Vec<GtidGap>),
    /// The server logged the transactions after the position, but purged them from its binlog.
    Purged(Vec<GtidGap>),
}

impl GtidHistory {
    /// `Ok` when a reader at `position` can be served from this binlog; otherwise which
    /// transactions are missing (checked first: they can never come back) or purged.
    pub fn serves(&self, position: &MariaGtidList) -> Result<(), GtidShortfall> {
        let missing: Vec<GtidGap> = position
            .iter()
            .filter_map(|p| {
                let have = self.end.get(p.domain);
                (have.map_or(0, |h| h.seq) < p.seq).then_some(GtidGap { domain: p.domain, after: have, up_to: *p })
            })
            .collect();
        if !missing.is_empty() {
            return Err(GtidShortfall::Missing(missing));
        }
        let purged: Vec<GtidGap> = self
            .oldest
            .iter()
            .filter_map(|o| {
                let at = position.get(o.domain);
                (at.map_or(0, |a| a.seq) < o.seq).then_some(GtidGap { domain: o.domain, after: at, up_to: *o })
            })
            .collect();
        if !purged.is_empty() {
            return Err(GtidShortfall::Purged(purged));
        }
        Ok(())
    }
}

impl fmt::Display for GtidShortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, gaps) = match self {
            GtidShortfall::Missing(g) => ("the server never logged", g),
            GtidShortfall::Purged(g) => ("the server's binlog no longer holds (purged)", g),
        };
        write!(f, "{what} ")?;
        for (i, g) in gaps.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            g.fmt(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(s: &str) -> MariaGtidList {
        s.parse().unwrap()
    }

    fn history(end: &str, oldest: &str) -> GtidHistory {
        GtidHistory { end: list(end), oldest: list(oldest) }
    }

    #[test]
    fn a_server_at_or_past_the_position_in_every_domain_serves_it() {
        let h = history("0-2-120,1-3-9", "0-1-4");
        assert_eq!(h.serves(&list("0-1-100,1-3-9")), Ok(()));
        assert_eq!(h.serves(&list("0-1-120")), Ok(()), "a domain the position lacks comes whole");
        assert_eq!(history("0-1-5", "").serves(&list("0-1-5")), Ok(()));
    }

    #[test]
    fn transactions_the_server_never_logged_are_named() {
        let h = history("0-2-50,1-3-9", "");
        let Err(GtidShortfall::Missing(gaps)) = h.serves(&list("0-1-57,1-3-9,2-1-3")) else { panic!("missing") };
        assert_eq!(gaps.len(), 2);
        assert_eq!(gaps[0].len(), 7);
        assert_eq!(gaps[0].to_string(), "domain 0: 7 transactions after 0-2-50, seq_no 51 to 0-1-57");
        assert_eq!(gaps[1].to_string(), "domain 2: 3 transactions from its first, seq_no 1 to 2-1-3");
        let one = history("0-1-56", "").serves(&list("0-1-57")).unwrap_err();
        assert_eq!(one.to_string(), "the server never logged domain 0: 1 transaction after 0-1-56, 0-1-57");
    }

    #[test]
    fn transactions_purged_from_the_binlog_are_named() {
        let h = history("0-1-500,1-1-20", "0-1-300,1-1-2");
        let err = h.serves(&list("0-1-200,1-1-20")).unwrap_err();
        assert_eq!(
            err,
            GtidShortfall::Purged(vec![GtidGap {
                domain: 0,
                after: Some("0-1-200".parse().unwrap()),
                up_to: "0-1-300".parse().unwrap()
            }])
        );
        assert!(err.to_string().starts_with("the server's binlog no longer holds (purged) domain 0: 100 transactions"));
        // Missing wins: those can never come back.
        assert!(matches!(h.serves(&list("0-1-900")), Err(GtidShortfall::Missing(_))));
    }
}
