//! DECIMAL values as exact decimal digits, never through a float.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ValueError;

/// Most digits a MySQL/MariaDB DECIMAL holds.
pub const MAX_DECIMAL_DIGITS: usize = 65;

/// An exact decimal number kept as its canonical text: an optional `-`, the integer digits
/// without leading zeros (a lone `0` when there are none) and, if the value has a scale, a `.`
/// and exactly that many fraction digits. `1.50` and `1.5` are different values here, as they
/// are different DECIMAL(p,2) and DECIMAL(p,1) contents; negative zero is written `0`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Decimal(Box<str>);

impl Decimal {
    /// Reads `[-+]digits[.digits]` (at least one digit on some side of the point).
    pub fn parse(text: &str) -> Result<Decimal, ValueError> {
        let err = |reason: &str| ValueError::invalid("DECIMAL", text.as_bytes(), reason);
        let (negative, body) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (body, None),
        };
        let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !digits_ok(int) || !frac.is_none_or(digits_ok) {
            return Err(err("expected digits with an optional sign and decimal point"));
        }
        if int.is_empty() && frac.is_none_or(str::is_empty) {
            return Err(err("no digits"));
        }
        let int = int.trim_start_matches('0');
        let frac = frac.unwrap_or("");
        if int.len() + frac.len() > MAX_DECIMAL_DIGITS {
            return Err(err("more than 65 digits"));
        }
        let is_zero = int.is_empty() && frac.bytes().all(|b| b == b'0');
        let mut out = String::with_capacity(text.len() + 1);
        if negative && !is_zero {
            out.push('-');
        }
        out.push_str(if int.is_empty() { "0" } else { int });
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        Ok(Decimal(out.into_boxed_str()))
    }

    /// The canonical text, also a valid SQL exact-value literal.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Digits after the decimal point.
    pub fn scale(&self) -> usize {
        self.0.split_once('.').map_or(0, |(_, f)| f.len())
    }

    /// Whether it has a minus sign.
    pub fn is_negative(&self) -> bool {
        self.0.starts_with('-')
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({})", self.0)
    }
}

impl FromStr for Decimal {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decimal::parse(s)
    }
}

impl TryFrom<String> for Decimal {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Decimal::parse(&s)
    }
}

impl From<Decimal> for String {
    fn from(d: Decimal) -> String {
        d.0.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_keeps_scale_and_drops_leading_zeros() {
        let c = |s: &str| Decimal::parse(s).unwrap().to_string();
        assert_eq!(c("007.500"), "7.500");
        assert_eq!(c("-0.000"), "0.000");
        assert_eq!(c("-0"), "0");
        assert_eq!(c(".5"), "0.5");
        assert_eq!(c("+12"), "12");
        assert_eq!(c("5."), "5");
        let max = "9".repeat(65);
        assert_eq!(c(&max), max);
        let tiny = format!("-0.{}1", "0".repeat(29));
        assert_eq!(c(&tiny), tiny);
        assert_eq!(Decimal::parse("1.50").unwrap().scale(), 2);
    }

    #[test]
    fn non_numbers_are_rejected() {
        for bad in ["", "-", ".", "1e5", "1.2.3", "12a", " 1", "--1", &"9".repeat(66)] {
            assert!(Decimal::parse(bad).is_err(), "{bad:?}");
        }
    }
}
