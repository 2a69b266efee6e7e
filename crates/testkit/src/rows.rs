//! Row digests: what a table holds, every column as exact bytes, whatever the row order.

use std::fmt;
use std::hash::{DefaultHasher, Hasher};

use mysql::prelude::Queryable;
use mysql::{Conn, Value};

/// The multiset of rows a query returns, folded into a fixed-size digest: two digests are
/// equal when the rows are (every column's exact bytes, NULL apart from every value), in any
/// order. Read through the binary protocol, so floats keep every bit; read it on an
/// [`exact_conn`](crate::exact_conn) so strings arrive as their stored bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RowDigest {
    /// How many rows.
    pub rows: u64,
    /// The wrapping sum of each row's 128-bit hash (a sum: the order of rows does not count).
    sum: u128,
}

impl RowDigest {
    /// The digest of the rows `query` returns on `conn`.
    pub fn of_query(conn: &mut Conn, query: &str) -> Result<RowDigest, mysql::Error> {
        let mut digest = RowDigest::default();
        let result = conn.exec_iter(query, ())?;
        for row in result {
            digest.add(&row?.unwrap());
        }
        Ok(digest)
    }

    /// Adds one row.
    pub fn add(&mut self, row: &[Value]) {
        let mut bytes = Vec::new();
        for v in row {
            encode(v, &mut bytes);
        }
        let hash = |salt: u8| {
            let mut h = DefaultHasher::new();
            h.write_u8(salt);
            h.write(&bytes);
            h.finish()
        };
        self.rows += 1;
        self.sum = self.sum.wrapping_add((u128::from(hash(1)) << 64) | u128::from(hash(2)));
    }
}

impl fmt::Display for RowDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rows, digest {:032x}", self.rows, self.sum)
    }
}

/// One value as a tag and its exact bytes, length-prefixed where its length varies.
fn encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::NULL => out.push(0),
        Value::Bytes(b) => {
            out.push(1);
            out.extend_from_slice(&(b.len() as u64).to_le_bytes());
            out.extend_from_slice(b);
        }
        Value::Int(i) => {
            out.push(2);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::UInt(u) => {
            out.push(3);
            out.extend_from_slice(&u.to_le_bytes());
        }
        Value::Float(x) => {
            out.push(4);
            out.extend_from_slice(&x.to_bits().to_le_bytes());
        }
        Value::Double(x) => {
            out.push(5);
            out.extend_from_slice(&x.to_bits().to_le_bytes());
        }
        Value::Date(y, mo, d, h, mi, s, us) => {
            out.push(6);
            out.extend_from_slice(&y.to_le_bytes());
            out.extend_from_slice(&[*mo, *d, *h, *mi, *s]);
            out.extend_from_slice(&us.to_le_bytes());
        }
        Value::Time(neg, d, h, mi, s, us) => {
            out.push(7);
            out.push(u8::from(*neg));
            out.extend_from_slice(&d.to_le_bytes());
            out.extend_from_slice(&[*h, *mi, *s]);
            out.extend_from_slice(&us.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(rows: &[Vec<Value>]) -> RowDigest {
        let mut d = RowDigest::default();
        rows.iter().for_each(|r| d.add(r));
        d
    }

    #[test]
    fn the_order_of_rows_does_not_count_but_every_byte_and_duplicate_does() {
        let a = vec![Value::Int(1), Value::Bytes(b"x".to_vec())];
        let b = vec![Value::Int(2), Value::NULL];
        assert_eq!(digest(&[a.clone(), b.clone()]), digest(&[b.clone(), a.clone()]));
        assert_ne!(digest(&[a.clone(), b.clone()]), digest(&[a.clone(), a.clone(), b.clone()]));
        assert_ne!(digest(&[vec![Value::Bytes(b"x".to_vec())]]), digest(&[vec![Value::Bytes(b"X".to_vec())]]));
        assert_ne!(digest(&[vec![Value::NULL]]), digest(&[vec![Value::Bytes(Vec::new())]]));
        assert_ne!(digest(&[vec![Value::Double(0.0)]]), digest(&[vec![Value::Double(-0.0)]]));
        // Column boundaries count: ("ab", "") is not ("a", "b").
        let ab = vec![Value::Bytes(b"ab".to_vec()), Value::Bytes(Vec::new())];
        let a_b = vec![Value::Bytes(b"a".to_vec()), Value::Bytes(b"b".to_vec())];
        assert_ne!(digest(&[ab]), digest(&[a_b]));
    }
}
