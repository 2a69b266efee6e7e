//! MariaDB GTIDs: `domain-server-seq`, and positions as one GTID per replication domain.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::GtidParseError;

/// One MariaDB GTID: `domain_id-server_id-seq_no`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct MariaGtid {
    /// The replication domain.
    pub domain: u32,
    /// The server that ran the transaction.
    pub server: u32,
    /// The sequence number within the domain.
    pub seq: u64,
}

impl fmt::Display for MariaGtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server, self.seq)
    }
}

impl FromStr for MariaGtid {
    type Err = GtidParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |r: &str| GtidParseError::new("MariaDB GTID", s, r);
        let mut parts = s.trim().split('-');
        let (Some(d), Some(sv), Some(q), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(err("expected DOMAIN-SERVER-SEQ, for example 0-1-42"));
        };
        let num = |t: &str| -> Result<u64, GtidParseError> {
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("each part must be a decimal number"));
            }
            t.parse().map_err(|_| err("number out of range"))
        };
        let domain = u32::try_from(num(d)?).map_err(|_| err("domain id exceeds 32 bits"))?;
        let server = u32::try_from(num(sv)?).map_err(|_| err("server id exceeds 32 bits"))?;
        Ok(MariaGtid { domain, server, seq: num(q)? })
    }
}

/// A MariaDB replication position (as in `gtid_slave_pos`): the last GTID per domain.
///
/// Displayed in domain order, e.g. `0-1-100,1-2-7`; the empty list is the empty string.
#[derive(Clone, PartialEq, Eq, Default, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MariaGtidList {
    by_domain: BTreeMap<u32, MariaGtid>,
}

impl MariaGtidList {
    /// The empty position.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `gtid` as the last one applied in its domain.
    pub fn update(&mut self, gtid: MariaGtid) {
        self.by_domain.insert(gtid.domain, gtid);
    }

    /// The last GTID applied in `domain`.
    pub fn get(&self, domain: u32) -> Option<MariaGtid> {
        self.by_domain.get(&domain).copied()
    }

    /// Whether no domain has a GTID.
    pub fn is_empty(&self) -> bool {
        self.by_domain.is_empty()
    }

    /// The GTIDs, one per domain, in domain order.
    pub fn iter(&self) -> impl Iterator<Item = &MariaGtid> {
        self.by_domain.values()
    }

    /// Whether the transaction `gtid` is at or before this position in its domain.
    ///
    /// Sequence numbers grow within a domain (gtid_strict_mode), so a GTID whose seq_no is
    /// not above the domain's last one has been passed.
    pub fn has_passed(&self, gtid: &MariaGtid) -> bool {
        self.get(gtid.domain).is_some_and(|last| gtid.seq <= last.seq)
    }
}

impl fmt::Display for MariaGtidList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, g) in self.by_domain.values().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            g.fmt(f)?;
        }
        Ok(())
    }
}

impl FromStr for MariaGtidList {
    type Err = GtidParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut list = MariaGtidList::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let g: MariaGtid = part.parse()?;
            if list.by_domain.contains_key(&g.domain) {
                return Err(GtidParseError::new(
                    "MariaDB GTID position",
                    s,
                    format!("domain {} appears twice", g.domain),
                ));
            }
            list.update(g);
        }
        Ok(list)
    }
}

impl TryFrom<String> for MariaGtidList {
    type Error = GtidParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<MariaGtidList> for String {
    fn from(l: MariaGtidList) -> String {
        l.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtid_round_trips_including_extremes() {
        let g: MariaGtid = "4294967295-4294967295-18446744073709551615".parse().unwrap();
        assert_eq!(g, MariaGtid { domain: u32::MAX, server: u32::MAX, seq: u64::MAX });
        assert_eq!(g.to_string(), "4294967295-4294967295-18446744073709551615");
        for bad in ["", "0-1", "0-1-2-3", "a-1-2", "-1-2", "4294967296-1-2", "0-1-+2", "0--1"] {
            assert!(bad.parse::<MariaGtid>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn list_keeps_one_gtid_per_domain_in_domain_order() {
        let mut l: MariaGtidList = " 1-2-7 , 0-1-100 ".parse().unwrap();
        assert_eq!(l.to_string(), "0-1-100,1-2-7");
        l.update(MariaGtid { domain: 1, server: 3, seq: 8 });
        assert_eq!(l.to_string(), "0-1-100,1-3-8");
        assert!(l.has_passed(&MariaGtid { domain: 0, server: 9, seq: 100 }));
        assert!(!l.has_passed(&MariaGtid { domain: 0, server: 1, seq: 101 }));
        assert!(!l.has_passed(&MariaGtid { domain: 5, server: 1, seq: 1 }));
        assert!("0-1-1,0-2-2".parse::<MariaGtidList>().is_err());
        assert!("".parse::<MariaGtidList>().unwrap().is_empty());
    }
}
