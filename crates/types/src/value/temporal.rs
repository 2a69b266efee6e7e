//! DATE, DATETIME, TIMESTAMP and TIME with microseconds, zero and partial-zero dates, and
//! negative or over-24-hour times, as the servers store them.
//!
//! The text forms are the servers' own: `YYYY-MM-DD`, `YYYY-MM-DD hh:mm:ss[.ffffff]` and
//! `[-]hhh:mm:ss[.ffffff]`. A TIMESTAMP is an instant (seconds since the Unix epoch, UTC); its
//! text is the UTC wall-clock time, so every session that reads or writes it must run at
//! `time_zone = '+00:00'` (see [`crate::session`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ValueError;

/// A calendar date; any part may be zero (`0000-00-00`, `2024-00-15`) and the day is only
/// checked against 31, as the servers allow with ALLOW_INVALID_DATES.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date {
    /// 0..=9999.
    pub year: u16,
    /// 0..=12.
    pub month: u8,
    /// 0..=31.
    pub day: u8,
}

impl Date {
    /// `0000-00-00`.
    pub const ZERO: Date = Date { year: 0, month: 0, day: 0 };

    /// Checks the parts' ranges.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Date, ValueError> {
        if year > 9999 || month > 12 || day > 31 {
            return Err(ValueError::OutOfRange { ty: "DATE", value: format!("{year:04}-{month:02}-{day:02}") });
        }
        Ok(Date { year, month, day })
    }

    /// Whether it is `0000-00-00`.
    pub fn is_zero(&self) -> bool {
        *self == Date::ZERO
    }

    /// Reads `YYYY-MM-DD`, as the servers write it.
    pub fn parse(text: &[u8]) -> Result<Date, ValueError> {
        let mut p = Cursor::new(text, "DATE");
        let d = p.date()?;
        p.end()?;
        Ok(d)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

/// A wall-clock date and time with microseconds, in no particular time zone (DATETIME).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DateTime {
    /// The date.
    pub date: Date,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=59.
    pub second: u8,
    /// Microseconds, 0..=999999.
    pub micro: u32,
}

impl DateTime {
    /// `0000-00-00 00:00:00`.
    pub const ZERO: DateTime = DateTime { date: Date::ZERO, hour: 0, minute: 0, second: 0, micro: 0 };

    /// Checks the parts' ranges.
    pub fn new(date: Date, hour: u8, minute: u8, second: u8, micro: u32) -> Result<DateTime, ValueError> {
        if hour > 23 || minute > 59 || second > 59 || micro > 999_999 {
            return Err(ValueError::OutOfRange {
                ty: "DATETIME",
                value: format!("{date} {hour:02}:{minute:02}:{second:02}.{micro:06}"),
            });
        }
        Ok(DateTime { date, hour, minute, second, micro })
    }

    /// Reads `YYYY-MM-DD hh:mm:ss[.ffffff]`, as the servers write it.
    pub fn parse(text: &[u8]) -> Result<DateTime, ValueError> {
        let mut p = Cursor::new(text, "DATETIME");
        let date = p.date()?;
        p.expect(b' ')?;
        let (hour, minute, second, micro) = p.clock(23)?;
        p.end()?;
        DateTime::new(date, hour as u8, minute, second, micro)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:02}:{:02}:{:02}", self.date, self.hour, self.minute, self.second)?;
        write_micro(f, self.micro)
    }
}

impl fmt::Debug for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DateTime({self})")
    }
}

/// A TIMESTAMP: an instant as seconds since 1970-01-01 00:00:00 UTC plus microseconds.
/// Second 0 with no fraction is the server's zero timestamp `0000-00-00 00:00:00` (the epoch
/// itself is outside the TIMESTAMP range); second 0 with a fraction is an instant MariaDB
/// stores (`1970-01-01 00:00:00.000001` UTC, from a literal in a session east of UTC).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp {
    /// Seconds since the epoch (0: the zero timestamp).
    pub secs: u32,
    /// Microseconds, 0..=999999 (0 for the zero timestamp).
    pub micro: u32,
}

impl Timestamp {
    /// The zero timestamp, `0000-00-00 00:00:00` (second 0, no fraction).
    pub const ZERO: Timestamp = Timestamp { secs: 0, micro: 0 };

    /// Checks the parts' ranges.
    pub fn new(secs: u32, micro: u32) -> Result<Timestamp, ValueError> {
        if micro > 999_999 {
            return Err(ValueError::OutOfRange { ty: "TIMESTAMP", value: format!("{secs}.{micro:06}") });
        }
        Ok(Timestamp { secs, micro })
    }

    /// Whether it is the zero timestamp.
    pub fn is_zero(&self) -> bool {
        self.secs == 0 && self.micro == 0
    }

    /// The UTC wall-clock time of this instant (all zero for the zero timestamp).
    pub fn to_utc(&self) -> DateTime {
        if self.is_zero() {
            return DateTime::ZERO;
        }
        let days = (self.secs / 86_400) as i64;
        let rem = self.secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        DateTime {
            date: Date { year: y as u16, month: m, day: d },
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
            micro: self.micro,
        }
    }

    /// The instant whose UTC wall-clock time is `dt`; the zero datetime gives the zero timestamp.
    pub fn from_utc(dt: &DateTime) -> Result<Timestamp, ValueError> {
        if *dt == DateTime::ZERO {
            return Ok(Timestamp::ZERO);
        }
        let out_of_range = || ValueError::OutOfRange { ty: "TIMESTAMP", value: dt.to_string() };
        let d = dt.date;
        if d.month == 0 || d.day == 0 || d.day > days_in_month(d.year, d.month) {
            return Err(out_of_range());
        }
        let days = days_from_civil(d.year as i64, d.month, d.day);
        let secs = days * 86_400 + dt.hour as i64 * 3600 + dt.minute as i64 * 60 + dt.second as i64;
        match u32::try_from(secs) {
            // Second 0 is an instant only with a fraction (without one it is the zero timestamp).
            Ok(s) if s > 0 || dt.micro > 0 => Timestamp::new(s, dt.micro),
            _ => Err(out_of_range()),
        }
    }

    /// Reads the UTC text form `YYYY-MM-DD hh:mm:ss[.ffffff]`.
    pub fn parse_utc(text: &[u8]) -> Result<Timestamp, ValueError> {
        let dt = DateTime::parse(text).map_err(|e| e.retyped("TIMESTAMP"))?;
        Timestamp::from_utc(&dt)
    }
}

/// Shows the UTC wall-clock time.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_utc().fmt(f)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({}.{:06} = {self} UTC)", self.secs, self.micro)
    }
}

/// Largest hour count of a TIME value (`838:59:59`).
pub const MAX_TIME_HOURS: u16 = 838;

/// A TIME: a signed duration up to 838:59:59.999999, not only a time of day.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Time {
    /// Below zero (never for zero itself).
    pub negative: bool,
    /// 0..=838.
    pub hours: u16,
    /// 0..=59.
    pub minute: u8,
    /// 0..=59.
    pub second: u8,
    /// Microseconds, 0..=999999.
    pub micro: u32,
}

impl Time {
    /// Builds a TIME; a negative zero becomes zero, as on the server.
    pub fn new(negative: bool, hours: u16, minute: u8, second: u8, micro: u32) -> Result<Time, ValueError> {
        if hours > MAX_TIME_HOURS || minute > 59 || second > 59 || micro > 999_999 {
            return Err(ValueError::OutOfRange {
                ty: "TIME",
                value: format!("{hours}:{minute:02}:{second:02}.{micro:06}"),
            });
        }
        let zero = hours == 0 && minute == 0 && second == 0 && micro == 0;
        Ok(Time { negative: negative && !zero, hours, minute, second, micro })
    }

    /// Reads `[-]h..h:mm:ss[.ffffff]`, as the servers write it.
    pub fn parse(text: &[u8]) -> Result<Time, ValueError> {
        let mut p = Cursor::new(text, "TIME");
        let negative = p.eat(b'-');
        let (hours, minute, second, micro) = p.clock(MAX_TIME_HOURS as u32)?;
        p.end()?;
        Time::new(negative, hours as u16, minute, second, micro)
    }

    /// The signed length in microseconds.
    pub fn total_micros(&self) -> i64 {
        let m =
            ((self.hours as i64 * 60 + self.minute as i64) * 60 + self.second as i64) * 1_000_000 + self.micro as i64;
        if self.negative { -m } else { m }
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        write!(f, "{:02}:{:02}:{:02}", self.hours, self.minute, self.second)?;
        write_micro(f, self.micro)
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Time({self})")
    }
}

fn write_micro(f: &mut fmt::Formatter<'_>, micro: u32) -> fmt::Result {
    if micro != 0 { write!(f, ".{micro:06}") } else { Ok(()) }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u8, d: u8) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `days` after 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A strict reader of the servers' temporal text forms.
struct Cursor<'a> {
    text: &'a [u8],
    pos: usize,
    ty: &'static str,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a [u8], ty: &'static str) -> Self {
        Cursor { text, pos: 0, ty }
    }

    fn fail(&self) -> ValueError {
        let expected = match self.ty {
            "DATE" => "YYYY-MM-DD",
            "TIME" => "[-]hh:mm:ss[.ffffff]",
            _ => "YYYY-MM-DD hh:mm:ss[.ffffff]",
        };
        ValueError::invalid(self.ty, self.text, &format!("expected {expected}"))
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.text.get(self.pos) == Some(&b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), ValueError> {
        if self.eat(b) { Ok(()) } else { Err(self.fail()) }
    }

    /// Reads between `min` and `max` decimal digits.
    fn digits(&mut self, min: usize, max: usize) -> Result<(u32, usize), ValueError> {
        let start = self.pos;
        let mut v: u32 = 0;
        while self.pos - start < max {
            match self.text.get(self.pos) {
                Some(b) if b.is_ascii_digit() => {
                    v = v * 10 + (b - b'0') as u32;
                    self.pos += 1;
                }
                _ => break,
            }
        }
        let n = self.pos - start;
        if n < min { Err(self.fail()) } else { Ok((v, n)) }
    }

    fn date(&mut self) -> Result<Date, ValueError> {
        let (y, _) = self.digits(4, 4)?;
        self.expect(b'-')?;
        let (m, _) = self.digits(2, 2)?;
        self.expect(b'-')?;
        let (d, _) = self.digits(2, 2)?;
        Date::new(y as u16, m as u8, d as u8).map_err(|e| e.retyped(self.ty))
    }

    /// `h+:mm:ss[.f{1,6}]` with hours up to `max_hours`.
    fn clock(&mut self, max_hours: u32) -> Result<(u32, u8, u8, u32), ValueError> {
        let (h, _) = self.digits(2, 3)?;
        self.expect(b':')?;
        let (mi, _) = self.digits(2, 2)?;
        self.expect(b':')?;
        let (s, _) = self.digits(2, 2)?;
        let mut micro = 0;
        if self.eat(b'.') {
            let (f, n) = self.digits(1, 6)?;
            micro = f * 10u32.pow(6 - n as u32);
        }
        if h > max_hours || mi > 59 || s > 59 {
            return Err(ValueError::OutOfRange { ty: self.ty, value: String::from_utf8_lossy(self.text).into() });
        }
        Ok((h, mi as u8, s as u8, micro))
    }

    fn end(&self) -> Result<(), ValueError> {
        if self.pos == self.text.len() { Ok(()) } else { Err(self.fail()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_conversion_matches_known_instants() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for days in [-719_468, -1, 0, 59, 365 * 30 + 7, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        let max = Timestamp::new(u32::MAX, 999_999).unwrap();
        assert_eq!(max.to_string(), "2106-02-07 06:28:15.999999");
        let y2038 = Timestamp::new(i32::MAX as u32, 0).unwrap();
        assert_eq!(y2038.to_string(), "2038-01-19 03:14:07");
        assert_eq!(Timestamp::parse_utc(b"2038-01-19 03:14:07").unwrap(), y2038);
        assert_eq!(Timestamp::parse_utc(b"1970-01-01 00:00:01").unwrap().secs, 1);
        assert_eq!(Timestamp::parse_utc(b"0000-00-00 00:00:00").unwrap(), Timestamp::ZERO);
        assert!(Timestamp::parse_utc(b"1970-01-01 00:00:00").is_err());
        let first = Timestamp::parse_utc(b"1970-01-01 00:00:00.000001").unwrap();
        assert_eq!((first.secs, first.micro), (0, 1));
        assert!(!first.is_zero());
        assert_eq!(first.to_string(), "1970-01-01 00:00:00.000001");
        assert_eq!(Timestamp::new(0, 999_999).unwrap().to_string(), "1970-01-01 00:00:00.999999");
        assert!(Timestamp::parse_utc(b"2106-02-07 06:28:16").is_err());
        assert!(Timestamp::parse_utc(b"2024-02-30 00:00:00").is_err(), "no such instant");
        assert!(Timestamp::parse_utc(b"2024-02-29 00:00:00").is_ok());
    }

    #[test]
    fn text_forms_parse_exactly() {
        assert_eq!(Date::parse(b"2024-00-15").unwrap(), Date { year: 2024, month: 0, day: 15 });
        assert_eq!(Date::parse(b"0000-00-00").unwrap(), Date::ZERO);
        let dt = DateTime::parse(b"9999-12-31 23:59:59.5").unwrap();
        assert_eq!(dt.micro, 500_000);
        assert_eq!(dt.to_string(), "9999-12-31 23:59:59.500000");
        let t = Time::parse(b"-838:59:59.999999").unwrap();
        assert_eq!(t.total_micros(), -(838 * 3600 + 59 * 60 + 59) * 1_000_000 - 999_999);
        assert_eq!(Time::parse(b"-00:00:00").unwrap().to_string(), "00:00:00");
        assert_eq!(Time::parse(b"-00:00:00.000001").unwrap().to_string(), "-00:00:00.000001");
        assert_eq!(Time::parse(b"100:00:00").unwrap().to_string(), "100:00:00");
        for bad in [&b"2024-1-01"[..], b"2024-13-01", b"2024-01-32", b"10000-01-01", b"2024-01-01 "] {
            assert!(Date::parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        for bad in [&b"839:00:00"[..], b"10:60:00", b"10:00:00.1234567", b"1:00:00", b"10:00"] {
            assert!(Time::parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(DateTime::parse(b"2024-01-01 24:00:00").is_err());
    }
}
