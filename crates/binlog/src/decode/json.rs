//! MySQL's binary JSON (the JSON column format in its binlog) to JSON text.
//!
//! Text is written as MySQL prints it (`{"a": 1, "b": [true, null]}`); opaque scalars are
//! written like MySQL does too: DECIMAL as a number, temporal values as quoted strings, others
//! as `"base64:typeN:..."`. Depth is capped as the server caps it, so hostile input cannot
//! exhaust the stack; and the text is capped at [`expansion_limit`] of the document's size, so
//! entries that all point at one child (which no server writes) cannot expand a small event
//! into gigabytes.

use std::fmt::Write as _;

use super::decimal;
use crate::cursor::Cursor;

const MAX_DEPTH: usize = 150;

/// The most text a binary document of `len` bytes becomes: every byte of a real document
/// yields at most six characters (a control character in a string, `\u0001`), so eight per
/// byte leaves room and only overlapping entries reach it.
pub(crate) fn expansion_limit(len: usize) -> usize {
    len.saturating_mul(8).saturating_add(1024)
}

/// Converts a binary JSON document to text. An empty document is JSON `null` (as MySQL stores
/// a NULL-less empty value).
pub(crate) fn to_text(bytes: &[u8]) -> Result<String, String> {
    let mut out = String::with_capacity(bytes.len() * 2);
    if bytes.is_empty() {
        out.push_str("null");
        return Ok(out);
    }
    let t = bytes[0];
    value(&mut out, t, &bytes[1..], 0, expansion_limit(bytes.len()))?;
    Ok(out)
}

fn short(what: &str) -> String {
    format!("binary JSON ends inside {what}")
}

fn value(out: &mut String, t: u8, data: &[u8], depth: usize, limit: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("binary JSON nests deeper than the server allows".into());
    }
    if out.len() > limit {
        return Err(format!(
            "binary JSON expands to more than {limit} bytes of text: its entries overlap, which no server writes"
        ));
    }
    let mut c = Cursor::new(data);
    let e = |w: &str| short(w);
    match t {
        0x00 | 0x01 => container(out, data, t == 0x01, true, depth, limit),
        0x02 | 0x03 => container(out, data, t == 0x03, false, depth, limit),
        0x04 => {
            out.push_str(match c.u8("literal").map_err(|_| e("a literal"))? {
                0 => "null",
                1 => "true",
                2 => "false",
                x => return Err(format!("unknown JSON literal {x}")),
            });
            Ok(())
        }
        0x05 => write_num(out, c.u16("int16").map_err(|_| e("an int16"))? as i16 as i64),
        0x06 => write_num(out, c.u16("uint16").map_err(|_| e("a uint16"))? as i64),
        0x07 => write_num(out, c.u32("int32").map_err(|_| e("an int32"))? as i32 as i64),
        0x08 => write_num(out, c.u32("uint32").map_err(|_| e("a uint32"))? as i64),
        0x09 => write_num(out, c.u64("int64").map_err(|_| e("an int64"))? as i64),
        0x0a => {
            write!(out, "{}", c.u64("uint64").map_err(|_| e("a uint64"))?).expect("String");
            Ok(())
        }
        0x0b => {
            let d = f64::from_bits(c.u64("double").map_err(|_| e("a double"))?);
            write_double(out, d);
            Ok(())
        }
        0x0c => {
            let n = varlen(&mut c)?;
            let s = c.take(n, "string").map_err(|_| e("a string"))?;
            write_string(out, s);
            Ok(())
        }
        0x0f => opaque(out, &mut c),
        x => Err(format!("unknown binary JSON type {x:#04x}")),
    }
}

fn write_num(out: &mut String, v: i64) -> Result<(), String> {
    write!(out, "{v}").expect("String");
    Ok(())
}

fn write_double(out: &mut String, d: f64) {
    let s = format!("{d}");
    out.push_str(&s);
    if !s.contains(['.', 'e', 'E', 'i', 'N']) {
        out.push_str(".0");
    }
}

/// The 7-bits-per-byte length of strings and opaque values.
fn varlen(c: &mut Cursor<'_>) -> Result<usize, String> {
    let mut n: usize = 0;
    for i in 0..5 {
        let b = c.u8("length").map_err(|_| short("a length"))?;
        n |= ((b & 0x7f) as usize) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(n);
        }
    }
    Err("binary JSON length longer than 5 bytes".into())
}

fn write_string(out: &mut String, s: &[u8]) {
    out.push('"');
    for ch in String::from_utf8_lossy(s).chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32).expect("String"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn container(
    out: &mut String,
    data: &[u8],
    large: bool,
    object: bool,
    depth: usize,
    limit: usize,
) -> Result<(), String> {
    let w = if large { 4 } else { 2 };
    let mut c = Cursor::new(data);
    let count = c.uint_le(w, "element count").map_err(|_| short("a container header"))? as usize;
    let size = c.uint_le(w, "size").map_err(|_| short("a container header"))? as usize;
    if size > data.len() {
        return Err(format!("binary JSON container claims {size} bytes, has {}", data.len()));
    }
    let data = &data[..size];
    if count > size {
        return Err("binary JSON container claims more elements than bytes".into());
    }
    let mut keys = Vec::new();
    if object {
        for _ in 0..count {
            let off = c.uint_le(w, "key offset").map_err(|_| short("a key entry"))? as usize;
            let len = c.u16("key length").map_err(|_| short("a key entry"))? as usize;
            let key = data.get(off..off + len).ok_or("binary JSON key outside its object")?;
            keys.push(key);
        }
    }
    out.push(if object { '{' } else { '[' });
    for i in 0..count {
        if i > 0 {
            out.push_str(", ");
        }
        if let Some(key) = keys.get(i) {
            write_string(out, key);
            out.push_str(": ");
        }
        let t = c.u8("value type").map_err(|_| short("a value entry"))?;
        let inlined = matches!(t, 0x04..=0x06) || (large && matches!(t, 0x07 | 0x08));
        if inlined {
            let raw = c.take(w, "inlined value").map_err(|_| short("a value entry"))?;
            value(out, t, raw, depth + 1, limit)?;
        } else {
            let off = c.uint_le(w, "value offset").map_err(|_| short("a value entry"))? as usize;
            let inner = data.get(off..).ok_or("binary JSON value outside its container")?;
            value(out, t, inner, depth + 1, limit)?;
        }
    }
    out.push(if object { '}' } else { ']' });
    Ok(())
}

fn opaque(out: &mut String, c: &mut Cursor<'_>) -> Result<(), String> {
    let field_type = c.u8("opaque type").map_err(|_| short("an opaque value"))?;
    let n = varlen(c)?;
    let data = c.take(n, "opaque data").map_err(|_| short("an opaque value"))?;
    let mut d = Cursor::new(data);
    match field_type {
        246 => {
            let p = d.u8("precision").map_err(|_| short("a DECIMAL"))?;
            let s = d.u8("scale").map_err(|_| short("a DECIMAL"))?;
            out.push_str(&decimal::decode(&mut d, p, s)?);
        }
        10 | 14 | 12 | 7 | 17 | 18 | 11 | 19 => {
            let packed = d.u64("packed temporal").map_err(|_| short("a temporal value"))? as i64;
            out.push('"');
            if matches!(field_type, 11 | 19) {
                out.push_str(&packed_time(packed));
            } else {
                let full = packed_datetime(packed);
                out.push_str(if matches!(field_type, 10 | 14) { &full[..10] } else { &full });
            }
            out.push('"');
        }
        _ => {
            write!(out, "\"base64:type{field_type}:{}\"", base64(data)).expect("String");
        }
    }
    Ok(())
}

/// `YYYY-MM-DD hh:mm:ss.ffffff` of MySQL's packed datetime integer.
pub(crate) fn packed_datetime(packed: i64) -> String {
    let p = packed.unsigned_abs();
    let frac = p % (1 << 24);
    let ymdhms = p >> 24;
    let ymd = ymdhms >> 17;
    let ym = ymd >> 5;
    let hms = ymdhms % (1 << 17);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{frac:06}",
        ym / 13,
        ym % 13,
        ymd % 32,
        hms >> 12,
        (hms >> 6) % 64,
        hms % 64
    )
}

/// `[-]hh:mm:ss.ffffff` of MySQL's packed time integer.
pub(crate) fn packed_time(packed: i64) -> String {
    let sign = if packed < 0 { "-" } else { "" };
    let p = packed.unsigned_abs();
    let frac = p % (1 << 24);
    let hms = p >> 24;
    format!("{sign}{:02}:{:02}:{:02}.{frac:06}", (hms >> 12) % (1 << 10), (hms >> 6) % 64, hms % 64)
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_documents() {
        // {"a": 1} : small object, 1 element, size 14, key entry (11, 1), value entry int16 inlined 1.
        let doc = [0x00, 1, 0, 14, 0, 11, 0, 1, 0, 0x05, 1, 0, b'a'];
        let mut d = doc.to_vec();
        d[3] = (d.len() - 1) as u8;
        assert_eq!(to_text(&d).unwrap(), r#"{"a": 1}"#);
        assert_eq!(to_text(&[0x04, 1]).unwrap(), "true");
        assert_eq!(to_text(&[0x0c, 3, b'a', b'"', b'b']).unwrap(), r#""a\"b""#);
        assert_eq!(base64(b"any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw==");
        assert!(to_text(&[0x00, 5, 0, 200, 0]).is_err());
        assert!(to_text(&[0x0c, 0x85]).is_err());
    }

    /// A small array whose `n` entries all point at the same child (offset 0 of the data,
    /// itself the array: or a string), nested: `n^depth` copies of the text if unchecked.
    fn overlapping(n: usize, depth: usize) -> Vec<u8> {
        // Innermost: a string of 100 bytes at a fixed offset, shared by every entry.
        let mut doc = Vec::new();
        let header = 4 + 3 * n;
        let mut inner = vec![0x0c, 100];
        inner.extend(std::iter::repeat_n(b'x', 100));
        // Level k: small array of n entries, each (type, offset) to the same child right after
        // the entries.
        let mut child = (0x0cu8, inner);
        for _ in 0..depth {
            let size = header + child.1.len() - 1;
            let mut arr = vec![n as u8, 0, (size & 0xff) as u8, (size >> 8) as u8];
            for _ in 0..n {
                arr.push(child.0);
                arr.extend_from_slice(&(header as u16).to_le_bytes());
            }
            arr.extend_from_slice(&child.1[1..]);
            child = (0x02, std::iter::once(0x02).chain(arr).collect());
        }
        doc.extend_from_slice(&child.1);
        doc
    }

    /// Any bytes: an error or text, never a panic, never more than the cap.
    #[test]
    fn random_documents_never_panic_nor_expand_past_the_cap() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        for round in 0..20_000 {
            let len = (next() % 64) as usize;
            let mut doc: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Mostly containers and small sizes, so the decoder gets past the first header.
            if let Some(first) = doc.first_mut() {
                *first = [0x00, 0x02, 0x0c, 0x01, 0x03, 0x04][(next() % 6) as usize];
            }
            if round % 2 == 0 && doc.len() > 4 {
                doc[1] = (next() % 8) as u8;
                doc[2] = 0;
                doc[3] = (len - 1) as u8;
                doc[4] = 0;
            }
            if let Ok(text) = to_text(&doc) {
                assert!(text.len() <= expansion_limit(doc.len()) + 64 * 6, "{doc:?}");
            }
        }
    }

    #[test]
    fn overlapping_entries_cannot_expand_without_bound() {
        let one = overlapping(2, 1);
        let text = to_text(&one).unwrap();
        assert_eq!(text, format!("[\"{x}\", \"{x}\"]", x = "x".repeat(100)));
        // 8 levels of 20 entries: 20^8 * 100 bytes if expanded; refused quickly instead.
        let hostile = overlapping(20, 8);
        assert!(hostile.len() < 2000, "{}", hostile.len());
        let t = std::time::Instant::now();
        let e = to_text(&hostile).unwrap_err();
        assert!(e.contains("overlap"), "{e}");
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
    }
}
