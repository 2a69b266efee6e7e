//! MySQL GTIDs: `uuid[:tag]:gno` and GTID sets `uuid:1-5:7[:tag:1-3],uuid2:...` (tags from 8.3).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::GtidParseError;

/// A server UUID, the source id of MySQL GTIDs.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Uuid(pub [u8; 16]);

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

impl FromStr for Uuid {
    type Err = GtidParseError;
    /// Accepts the dashed 8-4-4-4-12 form and the 32-digit form, in either case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || GtidParseError::new("UUID", s, "expected 8-4-4-4-12 hexadecimal digits");
        let hex: Vec<u8> = if s.len() == 36 {
            let dashes_ok = s.bytes().enumerate().all(|(i, b)| (b == b'-') == matches!(i, 8 | 13 | 18 | 23));
            if !dashes_ok {
                return Err(err());
            }
            s.bytes().filter(|&b| b != b'-').collect()
        } else if s.len() == 32 {
            s.bytes().collect()
        } else {
            return Err(err());
        };
        let mut out = [0u8; 16];
        for (i, pair) in hex.chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16).ok_or_else(err)?;
            let lo = (pair[1] as char).to_digit(16).ok_or_else(err)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Ok(Uuid(out))
    }
}

impl TryFrom<String> for Uuid {
    type Error = GtidParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Uuid> for String {
    fn from(u: Uuid) -> String {
        u.to_string()
    }
}

/// A GTID tag (MySQL 8.3+): 1 to 32 characters of `[a-z0-9_]`, not starting with a digit.
/// Tags compare case-insensitively, so they are kept in lower case.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GtidTag(String);

impl GtidTag {
    /// Checks and lower-cases a tag.
    pub fn new(s: &str) -> Result<Self, GtidParseError> {
        let err = |r: &str| GtidParseError::new("GTID tag", s, r);
        if s.is_empty() || s.len() > 32 {
            return Err(err("a tag has 1 to 32 characters"));
        }
        if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(err("a tag holds only letters, digits and underscores"));
        }
        if s.as_bytes()[0].is_ascii_digit() {
            return Err(err("a tag must not start with a digit"));
        }
        Ok(GtidTag(s.to_ascii_lowercase()))
    }

    /// The tag, lower-case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GtidTag {
    type Error = GtidParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        GtidTag::new(&s)
    }
}

impl From<GtidTag> for String {
    fn from(t: GtidTag) -> String {
        t.0
    }
}

/// Largest transaction number MySQL assigns (2^63 - 1).
pub const MAX_GNO: u64 = i64::MAX as u64;

/// One MySQL GTID: `uuid:gno` or, tagged, `uuid:tag:gno`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct MysqlGtid {
    /// The server's UUID.
    pub uuid: Uuid,
    /// The tag, if any.
    pub tag: Option<GtidTag>,
    /// The transaction number, 1..=2^63-1.
    pub gno: u64,
}

impl fmt::Display for MysqlGtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tag {
            Some(t) => write!(f, "{}:{}:{}", self.uuid, t.as_str(), self.gno),
            None => write!(f, "{}:{}", self.uuid, self.gno),
        }
    }
}

impl FromStr for MysqlGtid {
    type Err = GtidParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let set: MysqlGtidSet = s.parse()?;
        let mut all = set.iter_gtid_ranges();
        match (all.next(), all.next()) {
            (Some((uuid, tag, start, end)), None) if start == end => {
                Ok(MysqlGtid { uuid: *uuid, tag: tag.cloned(), gno: start })
            }
            _ => Err(GtidParseError::new("MySQL GTID", s, "expected exactly one UUID[:TAG]:NUMBER")),
        }
    }
}

type Tsid = (Uuid, Option<GtidTag>);

/// A MySQL GTID set: for each source (UUID and optional tag), a sorted list of disjoint,
/// non-adjacent, inclusive intervals of transaction numbers.
#[derive(Clone, PartialEq, Eq, Default, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MysqlGtidSet {
    sets: BTreeMap<Tsid, Vec<(u64, u64)>>,
}

impl MysqlGtidSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the set holds no transaction.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Adds one transaction.
    pub fn insert(&mut self, gtid: &MysqlGtid) {
        self.add_interval(gtid.uuid, gtid.tag.clone(), gtid.gno, gtid.gno);
    }

    /// Whether `gtid` is in the set.
    pub fn contains(&self, gtid: &MysqlGtid) -> bool {
        self.sets
            .get(&(gtid.uuid, gtid.tag.clone()))
            .is_some_and(|ivs| ivs.iter().any(|&(a, b)| a <= gtid.gno && gtid.gno <= b))
    }

    /// Adds the inclusive interval `start..=end` (`1 <= start <= end`) for a source.
    pub fn add_interval(&mut self, uuid: Uuid, tag: Option<GtidTag>, start: u64, end: u64) {
        debug_assert!(1 <= start && start <= end);
        let ivs = self.sets.entry((uuid, tag)).or_default();
        ivs.push((start, end));
        ivs.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ivs.len());
        for &(a, b) in ivs.iter() {
            match merged.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        *ivs = merged;
    }

    /// Adds every transaction of `other`.
    pub fn union(&mut self, other: &MysqlGtidSet) {
        for ((uuid, tag), ivs) in &other.sets {
            for &(a, b) in ivs {
                self.add_interval(*uuid, tag.clone(), a, b);
            }
        }
    }

    /// Every interval as (uuid, tag, start, end), in canonical order.
    pub fn iter_gtid_ranges(&self) -> impl Iterator<Item = (&Uuid, Option<&GtidTag>, u64, u64)> {
        self.sets.iter().flat_map(|((u, t), ivs)| ivs.iter().map(move |&(a, b)| (u, t.as_ref(), a, b)))
    }
}

impl fmt::Display for MysqlGtidSet {
    /// The canonical text MySQL prints: UUIDs in order, untagged intervals before tagged ones,
    /// `uuid:1-5:7:tag:1-3,uuid2:1-9`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut current: Option<&Uuid> = None;
        for ((uuid, tag), ivs) in &self.sets {
            if current != Some(uuid) {
                if current.is_some() {
                    f.write_str(",")?;
                }
                write!(f, "{uuid}")?;
                current = Some(uuid);
            }
            if let Some(t) = tag {
                write!(f, ":{}", t.as_str())?;
            }
            for &(a, b) in ivs {
                if a == b {
                    write!(f, ":{a}")?;
                } else {
                    write!(f, ":{a}-{b}")?;
                }
            }
        }
        Ok(())
    }
}

impl FromStr for MysqlGtidSet {
    type Err = GtidParseError;
    /// Reads the text form, also as MySQL prints it (with `,\n` between sources).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |r: String| GtidParseError::new("MySQL GTID set", s, r);
        let mut set = MysqlGtidSet::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let mut fields = part.split(':').map(str::trim);
            let uuid: Uuid = fields.next().unwrap_or_default().parse()?;
            let mut tag: Option<GtidTag> = None;
            let mut intervals_for_tag = 0usize;
            let mut any = false;
            for field in fields {
                if field.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                    let (a, b) = parse_interval(field).map_err(err)?;
                    set.add_interval(uuid, tag.clone(), a, b);
                    intervals_for_tag += 1;
                    any = true;
                } else {
                    if tag.is_some() && intervals_for_tag == 0 {
                        return Err(err(format!("tag {field:?} follows a tag with no interval")));
                    }
                    tag = Some(GtidTag::new(field)?);
                    intervals_for_tag = 0;
                }
            }
            if !any || intervals_for_tag == 0 {
                return Err(err(format!("{part:?} lacks a transaction interval after its UUID or tag")));
            }
        }
        Ok(set)
    }
}

fn parse_interval(field: &str) -> Result<(u64, u64), String> {
    let num = |t: &str| -> Result<u64, String> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{field:?} is not an interval N or N-M"));
        }
        match t.parse::<u64>() {
            Ok(n) if (1..=MAX_GNO).contains(&n) => Ok(n),
            _ => Err(format!("{t} is outside 1..={MAX_GNO}")),
        }
    };
    let (a, b) = match field.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => {
            let n = num(field)?;
            (n, n)
        }
    };
    if a > b {
        return Err(format!("interval {field:?} ends before it starts"));
    }
    Ok((a, b))
}

impl TryFrom<String> for MysqlGtidSet {
    type Error = GtidParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<MysqlGtidSet> for String {
    fn from(s: MysqlGtidSet) -> String {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U1: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const U2: &str = "4e11fa47-71ca-11e1-9e33-c80aa9429562";

    #[test]
    fn uuid_forms() {
        let u: Uuid = "3E11FA47-71CA-11E1-9E33-C80AA9429562".parse().unwrap();
        assert_eq!(u.to_string(), U1);
        assert_eq!("3e11fa4771ca11e19e33c80aa9429562".parse::<Uuid>().unwrap(), u);
        for bad in [
            "",
            "3e11fa47-71ca-11e1-9e33-c80aa942956",
            "3e11fa4771ca-11e1-9e33-c80aa94295622",
            "ge11fa47-71ca-11e1-9e33-c80aa9429562",
        ] {
            assert!(bad.parse::<Uuid>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sets_normalise_merge_and_print_canonically() {
        let text = format!("{U2}:5, {U1}:7-9:1-3:4,\n{U1}:Domestic:2:1");
        let s: MysqlGtidSet = text.parse().unwrap();
        assert_eq!(s.to_string(), format!("{U1}:1-4:7-9:domestic:1-2,{U2}:5"));
        let again: MysqlGtidSet = s.to_string().parse().unwrap();
        assert_eq!(again, s);
    }

    #[test]
    fn tagged_gtids_are_distinct_from_untagged() {
        let s: MysqlGtidSet = format!("{U1}:1-3:blue:10").parse().unwrap();
        let g = |t: &str| -> MysqlGtid { t.parse().unwrap() };
        assert!(s.contains(&g(&format!("{U1}:2"))));
        assert!(!s.contains(&g(&format!("{U1}:10"))));
        assert!(s.contains(&g(&format!("{U1}:BLUE:10"))));
        assert!(!s.contains(&g(&format!("{U1}:blue:2"))));
        assert_eq!(g(&format!("{U1}:blue:10")).to_string(), format!("{U1}:blue:10"));
    }

    #[test]
    fn insert_and_union_extend_intervals() {
        let mut s = MysqlGtidSet::new();
        let u: Uuid = U1.parse().unwrap();
        for gno in [1, 2, 3, 5] {
            s.insert(&MysqlGtid { uuid: u, tag: None, gno });
        }
        assert_eq!(s.to_string(), format!("{U1}:1-3:5"));
        s.union(&format!("{U1}:4,{U2}:1").parse().unwrap());
        assert_eq!(s.to_string(), format!("{U1}:1-5,{U2}:1"));
        s.add_interval(u, None, MAX_GNO - 1, MAX_GNO);
        assert_eq!(s.to_string(), format!("{U1}:1-5:{}-{MAX_GNO},{U2}:1", MAX_GNO - 1));
    }

    #[test]
    fn malformed_sets_are_errors() {
        for bad in [
            U1.to_string(),
            format!("{U1}:"),
            format!("{U1}:0"),
            format!("{U1}:5-3"),
            format!("{U1}:1-x"),
            format!("{U1}:9223372036854775808"),
            format!("{U1}:tag"),
            format!("{U1}:1:tag"),
            format!("{U1}:t1:t2:1"),
            format!("{U1}:1:9bad:1"),
            format!("{U1}:1:{}:1", "a".repeat(33)),
            "nonsense:1".to_string(),
        ] {
            assert!(bad.parse::<MysqlGtidSet>().is_err(), "{bad:?} must not parse");
        }
        assert!("".parse::<MysqlGtidSet>().unwrap().is_empty());
    }
}
