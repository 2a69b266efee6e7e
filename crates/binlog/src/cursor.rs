//! A bounds-checked reader over event bytes: every read either succeeds or returns an error,
//! so no input, however corrupt, can make the decoder panic.

/// Why a read ran out of bytes or met a bad value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Short {
    pub wanted: usize,
    pub offset: usize,
    pub len: usize,
    pub what: &'static str,
}

impl std::fmt::Display for Short {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} needs {} bytes at offset {} of {}", self.what, self.wanted, self.offset, self.len)
    }
}

pub type Res<T> = Result<T, Short>;

#[derive(Debug, Clone, Copy)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    pub fn take(&mut self, n: usize, what: &'static str) -> Res<&'a [u8]> {
        if self.remaining() < n {
            return Err(Short { wanted: n, offset: self.pos, len: self.buf.len(), what });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn skip(&mut self, n: usize, what: &'static str) -> Res<()> {
        self.take(n, what).map(|_| ())
    }

    pub fn u8(&mut self, what: &'static str) -> Res<u8> {
        Ok(self.take(1, what)?[0])
    }

    /// A little-endian unsigned integer of `n` (1..=8) bytes.
    pub fn uint_le(&mut self, n: usize, what: &'static str) -> Res<u64> {
        let b = self.take(n, what)?;
        Ok(b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64))
    }

    pub fn u16(&mut self, what: &'static str) -> Res<u16> {
        Ok(self.uint_le(2, what)? as u16)
    }

    pub fn u32(&mut self, what: &'static str) -> Res<u32> {
        Ok(self.uint_le(4, what)? as u32)
    }

    pub fn u64(&mut self, what: &'static str) -> Res<u64> {
        self.uint_le(8, what)
    }

    /// A big-endian unsigned integer of `n` (1..=8) bytes.
    pub fn uint_be(&mut self, n: usize, what: &'static str) -> Res<u64> {
        let b = self.take(n, what)?;
        Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | x as u64))
    }

    /// The protocol's length-encoded integer.
    pub fn lenenc(&mut self, what: &'static str) -> Res<u64> {
        match self.u8(what)? {
            n @ 0..=0xfa => Ok(n as u64),
            0xfc => self.uint_le(2, what),
            0xfd => self.uint_le(3, what),
            0xfe => self.uint_le(8, what),
            _ => Err(Short { wanted: 0, offset: self.pos - 1, len: self.buf.len(), what }),
        }
    }

    /// A length-encoded byte string.
    pub fn lenenc_bytes(&mut self, what: &'static str) -> Res<&'a [u8]> {
        let n = self.lenenc(what)?;
        let n = usize::try_from(n).map_err(|_| Short {
            wanted: usize::MAX,
            offset: self.pos,
            len: self.buf.len(),
            what,
        })?;
        self.take(n, what)
    }

    /// MySQL serialization-library variable-length unsigned integer (tagged GTID events).
    pub fn varlen_uint(&mut self, what: &'static str) -> Res<u64> {
        let first = *self.buf.get(self.pos).ok_or(Short { wanted: 1, offset: self.pos, len: self.buf.len(), what })?;
        let ones = first.trailing_ones() as usize;
        if ones == 8 {
            self.skip(1, what)?;
            return self.uint_le(8, what);
        }
        let n = ones + 1;
        let v = self.uint_le(n, what)?;
        Ok(v >> n)
    }

    /// Signed variant: the sign in the lowest bit.
    pub fn varlen_int(&mut self, what: &'static str) -> Res<i64> {
        let u = self.varlen_uint(what)?;
        let mag = (u >> 1) as i64;
        Ok(if u & 1 != 0 { -mag - 1 } else { mag })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded() {
        let mut c = Cursor::new(&[1, 2, 3]);
        assert_eq!(c.u16("x").unwrap(), 0x0201);
        assert!(c.u16("y").is_err());
        assert_eq!(c.u8("z").unwrap(), 3);
        assert!(c.u8("w").is_err());
    }

    #[test]
    fn lenenc_and_varlen() {
        assert_eq!(Cursor::new(&[0xfc, 0x34, 0x12]).lenenc("x").unwrap(), 0x1234);
        assert!(Cursor::new(&[0xff]).lenenc("x").is_err());
        // varlen: value 5 in one byte is 5 << 1 = 10; 300 needs two bytes: 300 << 2 | 0b01.
        assert_eq!(Cursor::new(&[10]).varlen_uint("x").unwrap(), 5);
        let v = (300u16 << 2) | 1;
        assert_eq!(Cursor::new(&v.to_le_bytes()).varlen_uint("x").unwrap(), 300);
        assert_eq!(Cursor::new(&[6]).varlen_int("x").unwrap(), -2);
    }
}
