//! The binlog's packed DECIMAL format, decoded to exact digits.
//!
//! A DECIMAL(p,s) is stored as its integer and fraction parts, each in groups of 9 digits
//! packed into 4 big-endian bytes, with a shorter leading (integer) or trailing (fraction)
//! group for the leftover digits. The first bit is inverted as a sign; negative numbers have
//! every bit inverted.

use crate::cursor::Cursor;

const DIG_PER_DEC: usize = 9;
const DIG_TO_BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/// Bytes a DECIMAL(precision, scale) takes in a row image.
pub fn packed_len(precision: u8, scale: u8) -> usize {
    let (p, s) = (precision as usize, scale as usize);
    let int = p.saturating_sub(s);
    int / DIG_PER_DEC * 4 + DIG_TO_BYTES[int % DIG_PER_DEC] + s / DIG_PER_DEC * 4 + DIG_TO_BYTES[s % DIG_PER_DEC]
}

/// Decodes a packed DECIMAL(precision, scale) into its text, e.g. `-12.340`.
pub(crate) fn decode(c: &mut Cursor<'_>, precision: u8, scale: u8) -> Result<String, String> {
    if precision == 0 || precision > 65 || scale > 30 || scale > precision {
        return Err(format!("invalid DECIMAL({precision},{scale})"));
    }
    let len = packed_len(precision, scale);
    let raw = c.take(len, "DECIMAL").map_err(|e| e.to_string())?;
    let mut bytes = raw.to_vec();
    let negative = bytes[0] & 0x80 == 0;
    bytes[0] ^= 0x80;
    if negative {
        for b in &mut bytes {
            *b = !*b;
        }
    }
    let int_digits = (precision - scale) as usize;
    let frac_digits = scale as usize;
    let mut r = Cursor::new(&bytes);
    let mut int = String::new();
    let lead = int_digits % DIG_PER_DEC;
    let group = |r: &mut Cursor<'_>, digits: usize| -> Result<u64, String> {
        let n = DIG_TO_BYTES[digits];
        let v = r.uint_be(n, "DECIMAL group").map_err(|e| e.to_string())?;
        if v >= 10u64.pow(digits as u32) {
            return Err(format!("DECIMAL group {v} has more than {digits} digits"));
        }
        Ok(v)
    };
    if lead > 0 {
        int.push_str(&group(&mut r, lead)?.to_string());
    }
    for _ in 0..int_digits / DIG_PER_DEC {
        let v = group(&mut r, DIG_PER_DEC)?;
        if int.is_empty() {
            int.push_str(&v.to_string());
        } else {
            int.push_str(&format!("{v:09}"));
        }
    }
    let int = int.trim_start_matches('0');
    let mut out = String::with_capacity(precision as usize + 3);
    if negative {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if frac_digits > 0 {
        out.push('.');
        for _ in 0..frac_digits / DIG_PER_DEC {
            out.push_str(&format!("{:09}", group(&mut r, DIG_PER_DEC)?));
        }
        let trail = frac_digits % DIG_PER_DEC;
        if trail > 0 {
            out.push_str(&format!("{:0w$}", group(&mut r, trail)?, w = trail));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_encodings() {
        // DECIMAL(14,4) 1234567890.1234 from the MySQL documentation of the format.
        let bytes = [0x81, 0x0D, 0xFB, 0x38, 0xD2, 0x04, 0xD2];
        assert_eq!(packed_len(14, 4), 7);
        assert_eq!(decode(&mut Cursor::new(&bytes), 14, 4).unwrap(), "1234567890.1234");
        let neg: Vec<u8> = bytes.iter().map(|b| !b).collect();
        assert_eq!(decode(&mut Cursor::new(&neg), 14, 4).unwrap(), "-1234567890.1234");
        assert!(decode(&mut Cursor::new(&bytes[..3]), 14, 4).is_err());
    }
}
