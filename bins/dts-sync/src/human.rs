//! Numbers as people read them: counts with thousands separators, rates and sizes in units
//! ("12,345 rows/s", "1.2 M rows/s", "12.3 MiB/s"), durations in hours, minutes and seconds,
//! and text cut to a width (terminal columns, one per character).

/// A count with thousands separators: `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate of `unit` per second: whole numbers with separators below a million
/// (`1,234 rows/s`), then with an SI prefix and one decimal (`98.4 M rows/s`).
pub fn rate(per_sec: f64, unit: &str) -> String {
    let v = if per_sec.is_finite() { per_sec.max(0.0) } else { 0.0 };
    if v < 1e6 {
        return format!("{} {unit}/s", count(v.round() as u64));
    }
    let (scaled, prefix) = if v < 1e9 { (v / 1e6, "M") } else { (v / 1e9, "G") };
    format!("{scaled:.1} {prefix} {unit}/s")
}

/// Bytes in binary units with one decimal: `512 B`, `12.3 MiB`, `1.5 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Bytes per second: `12.3 MiB/s`.
pub fn bytes_rate(per_sec: f64) -> String {
    let v = if per_sec.is_finite() { per_sec.max(0.0) } else { 0.0 };
    format!("{}/s", bytes(v.round() as u64))
}

/// A duration: `0.4 s` under ten seconds, then `45 s`, `3m 05s`, `2h 03m`, `3d 04h`.
pub fn duration(secs: f64) -> String {
    let s = if secs.is_finite() { secs.max(0.0) } else { 0.0 };
    if s < 10.0 {
        return format!("{s:.1} s");
    }
    let s = s.round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {:02}h", s / 86400, s % 86400 / 3600),
    }
}

/// `text` in at most `width` columns: cut with a trailing `…` when longer.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// `text` in at most `width` columns, cut in the middle (`shop.ord…_archive_2`): the end of
/// a `db.table` name tells tables apart more often than its start.
pub fn fit_middle(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    if width < 4 {
        return fit(text, width);
    }
    let head = (width - 1) / 3;
    let tail = width - 1 - head;
    let mut out: String = text.chars().take(head).collect();
    out.push('…');
    out.extend(text.chars().skip(n - tail));
    out
}

/// `text` in exactly `width` columns: cut as [`fit`] does, else padded with spaces.
pub fn pad(text: &str, width: usize) -> String {
    let t = fit(text, width);
    let n = t.chars().count();
    t + &" ".repeat(width - n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn rates_are_whole_or_have_one_decimal_and_a_unit() {
        assert_eq!(rate(1234.4, "rows"), "1,234 rows/s");
        assert_eq!(rate(0.2, "rows"), "0 rows/s");
        assert_eq!(rate(999_999.0, "rows"), "999,999 rows/s");
        // The "98,355,496.1051/s".
        assert_eq!(rate(98_355_496.105_1, "rows"), "98.4 M rows/s");
        assert_eq!(rate(2.5e9, "rows"), "2.5 G rows/s");
        assert_eq!(rate(f64::NAN, "rows"), "0 rows/s");
        assert_eq!(rate(-3.0, "txn"), "0 txn/s");
    }

    #[test]
    fn sizes_are_binary_units_with_one_decimal() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.0 KiB");
        assert_eq!(bytes(12_900_000), "12.3 MiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
        assert_eq!(bytes_rate(12_900_000.0), "12.3 MiB/s");
        assert_eq!(bytes(u64::MAX), "16384.0 PiB");
    }

    #[test]
    fn durations_read_as_hours_minutes_seconds() {
        assert_eq!(duration(0.4), "0.4 s");
        assert_eq!(duration(9.94), "9.9 s");
        assert_eq!(duration(45.2), "45 s");
        assert_eq!(duration(185.0), "3m 05s");
        assert_eq!(duration(7380.0), "2h 03m");
        assert_eq!(duration(3.0 * 86400.0 + 4.0 * 3600.0), "3d 04h");
        assert_eq!(duration(f64::INFINITY), "0.0 s");
    }

    #[test]
    fn text_is_cut_or_padded_to_its_width() {
        assert_eq!(fit("shop.orders", 20), "shop.orders");
        assert_eq!(fit("shop.order_lines_archive", 10), "shop.orde…");
        assert_eq!(fit("ab", 0), "");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad("abcdef", 4), "abc…");
        assert_eq!(fit("größentabelle", 5).chars().count(), 5);
        assert_eq!(fit_middle("shop.order_lines_archive_2", 16), "shop.…_archive_2");
        assert_eq!(fit_middle("shop.orders", 16), "shop.orders");
        assert_eq!(fit_middle("shop.orders", 3), "sh…");
    }
}
