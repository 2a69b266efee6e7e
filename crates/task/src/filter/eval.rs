//! The in-process evaluator, for what it decides exactly: integers (arithmetic in 128 bits),
//! DECIMAL columns and decimal literals compared as exact decimals, and DATE, DATETIME and
//! TIMESTAMP columns compared with canonical temporal literals (`DATE '2024-03-01'`,
//! `'2024-03-01 10:00:00'`) field by field. Anything else, and wherever the server could raise
//! an out-of-range error instead of returning a value, is undecided (`None`) and goes to the
//! server.

use std::cmp::Ordering;

use dts_types::{ColumnType, TableSchema, Value};

use super::{ArithOp, CmpOp, Expr};

/// A value as the in-process evaluator compares it.
#[derive(Clone, PartialEq)]
enum V {
    Null,
    /// An integer with MySQL's unsigned flag.
    Int(i128, bool),
    /// An exact decimal: negative, integer digits (no leading zeros), fraction digits (no
    /// trailing zeros); zero is never negative.
    Dec(bool, String, String),
    /// Year, month, day, hour, minute, second, microsecond.
    Time([u32; 7]),
}

fn is_integer(ty: &ColumnType) -> bool {
    matches!(
        ty,
        ColumnType::TinyInt { .. }
            | ColumnType::SmallInt { .. }
            | ColumnType::MediumInt { .. }
            | ColumnType::Int { .. }
            | ColumnType::BigInt { .. }
    )
}

fn is_unsigned(ty: &ColumnType) -> bool {
    matches!(
        ty,
        ColumnType::TinyInt { unsigned: true }
            | ColumnType::SmallInt { unsigned: true }
            | ColumnType::MediumInt { unsigned: true }
            | ColumnType::Int { unsigned: true }
            | ColumnType::BigInt { unsigned: true }
    )
}

fn exact_type(ty: &ColumnType) -> bool {
    is_integer(ty)
        || matches!(
            ty,
            ColumnType::Decimal { .. } | ColumnType::Date | ColumnType::DateTime { .. } | ColumnType::Timestamp { .. }
        )
}

fn column<'a>(schema: &'a TableSchema, name: &str) -> Option<(usize, &'a ColumnType)> {
    schema.columns.iter().enumerate().find(|(_, c)| c.name.as_str().eq_ignore_ascii_case(name)).map(|(i, c)| (i, &c.ty))
}

/// A number literal: an integer within BIGINT UNSIGNED, else an exact decimal (no exponent:
/// that is a DOUBLE on the server).
fn number(n: &str) -> Option<V> {
    if n.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(v) = n.parse::<u64>() {
            return Some(V::Int(v as i128, v > i64::MAX as u64));
        }
    }
    // Past 65 digits a literal is a DOUBLE on the server.
    let digits = n.bytes().filter(u8::is_ascii_digit).count();
    if digits > 65 {
        return None;
    }
    decimal(n)
}

/// `[-]digits[.digits]` as an exact decimal.
fn decimal(s: &str) -> Option<V> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int = int.trim_start_matches('0').to_string();
    let frac = frac.trim_end_matches('0').to_string();
    let neg = neg && !(int.is_empty() && frac.is_empty());
    Some(V::Dec(neg, int, frac))
}

/// `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS[.f...]` with exactly these digit counts: the form a
/// column value prints in, and the only literal form decided here.
fn canonical_time(s: &str, literal: bool) -> Option<[u32; 7]> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let mut t = [y, mo, d, 0, 0, 0, 0];
    if b.len() > 10 {
        if b.len() < 19 || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        t[3] = digits(11..13)?;
        t[4] = digits(14..16)?;
        t[5] = digits(17..19)?;
        if b.len() > 19 {
            let frac = s.get(20..)?;
            if b[19] != b'.' || frac.is_empty() || frac.len() > 6 || !frac.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            t[6] = format!("{frac:0<6}").parse().ok()?;
        }
    }
    // A literal must be a real date and time; a column may hold zero or invalid dates, which
    // the server compares field by field as well.
    if literal {
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
        let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        let real = (1..=12).contains(&mo) && d >= 1 && d <= days[mo as usize - 1];
        if !real || t[3] > 23 || t[4] > 59 || t[5] > 59 {
            return None;
        }
    }
    Some(t)
}

/// Whether every node is one the in-process evaluator may decide (it may still leave single
/// rows undecided).
pub(super) fn exact_in_process(e: &Expr, schema: &TableSchema) -> bool {
    let mut ok = true;
    super::walk(e, &mut |e| {
        ok &= match e {
            Expr::Col(c) => column(schema, c).is_some_and(|(_, ty)| exact_type(ty)),
            Expr::Num(n) => number(n).is_some(),
            Expr::Temporal(k, _) => *k != "TIME",
            Expr::Like(..) => false,
            Expr::Arith(_, op, _) => *op != ArithOp::Div,
            _ => true,
        }
    });
    ok
}

/// The decision for one row, or `None` when only the server can decide it.
pub(super) fn decide(e: &Expr, schema: &TableSchema, row: &[Value]) -> Option<bool> {
    Some(truth(&eval(e, schema, row)?)? == Some(true))
}

/// The truth of a value: `Some(None)` is unknown (NULL), `None` undecided here.
fn truth(v: &V) -> Option<Option<bool>> {
    Some(match v {
        V::Null => None,
        V::Int(n, _) => Some(*n != 0),
        V::Dec(_, int, frac) => Some(!(int.is_empty() && frac.is_empty())),
        V::Time(_) => return None,
    })
}

fn boolean(b: Option<bool>) -> V {
    b.map_or(V::Null, |b| V::Int(b as i128, false))
}

fn as_decimal(v: &V) -> Option<(bool, String, String)> {
    match v {
        V::Int(n, _) => match decimal(&n.to_string())? {
            V::Dec(neg, i, f) => Some((neg, i, f)),
            _ => None,
        },
        V::Dec(neg, i, f) => Some((*neg, i.clone(), f.clone())),
        _ => None,
    }
}

fn cmp_decimal((na, ia, fa): (bool, String, String), (nb, ib, fb): (bool, String, String)) -> Ordering {
    let magnitude = ia.len().cmp(&ib.len()).then_with(|| ia.cmp(&ib)).then_with(|| {
        let width = fa.len().max(fb.len());
        format!("{fa:0<width$}").cmp(&format!("{fb:0<width$}"))
    });
    match (na, nb) {
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
    }
}

/// `Some(None)`: a NULL operand; `None`: undecided here (values of different kinds).
fn cmp(a: &V, b: &V) -> Option<Option<Ordering>> {
    Some(match (a, b) {
        (V::Null, _) | (_, V::Null) => None,
        (V::Int(x, _), V::Int(y, _)) => Some(x.cmp(y)),
        (V::Time(x), V::Time(y)) => Some(x.cmp(y)),
        (V::Time(_), _) | (_, V::Time(_)) => return None,
        _ => Some(cmp_decimal(as_decimal(a)?, as_decimal(b)?)),
    })
}

/// A result the server returns as a value: signed results within BIGINT, unsigned ones
/// within BIGINT UNSIGNED; anything else is an error there, so undecided here.
fn in_range(v: i128, unsigned: bool) -> Option<V> {
    let ok =
        if unsigned { (0..=u64::MAX as i128).contains(&v) } else { (i64::MIN as i128..=i64::MAX as i128).contains(&v) };
    ok.then_some(V::Int(v, unsigned))
}

fn eval(e: &Expr, schema: &TableSchema, row: &[Value]) -> Option<V> {
    let ev = |x: &Expr| eval(x, schema, row);
    Some(match e {
        Expr::Null => V::Null,
        Expr::Bool(b) => V::Int(*b as i128, false),
        Expr::Num(n) => number(n)?,
        // Only a string that reads as a canonical date or date and time; compared with a
        // temporal column (anything else is left to the server by `cmp`).
        Expr::Str(s) => V::Time(canonical_time(std::str::from_utf8(s).ok()?, true)?),
        Expr::Temporal(k, s) if *k != "TIME" => V::Time(canonical_time(s, true)?),
        Expr::Temporal(..) => return None,
        Expr::Col(c) => {
            let (i, ty) = column(schema, c)?;
            match (row.get(i)?, ty) {
                (Value::Null, _) => V::Null,
                (Value::Int(v), ty) if is_integer(ty) => V::Int(*v as i128, is_unsigned(ty)),
                (Value::UInt(v), ty) if is_integer(ty) => V::Int(*v as i128, is_unsigned(ty)),
                (Value::Decimal(d), _) => decimal(d.as_str())?,
                (Value::Date(d), _) => V::Time(canonical_time(&d.to_string(), false)?),
                (Value::DateTime(d), _) => V::Time(canonical_time(&d.to_string(), false)?),
                (Value::Timestamp(t), _) => V::Time(canonical_time(&t.to_string(), false)?),
                _ => return None,
            }
        }
        Expr::Not(a) => boolean(truth(&ev(a)?)?.map(|b| !b)),
        Expr::Neg(a) => match ev(a)? {
            V::Null => V::Null,
            V::Int(v, false) => in_range(-v, false)?,
            V::Dec(neg, int, frac) => {
                let zero = int.is_empty() && frac.is_empty();
                V::Dec(!neg && !zero, int, frac)
            }
            _ => return None,
        },
        Expr::And(a, b) => boolean(match (truth(&ev(a)?)?, truth(&ev(b)?)?) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        }),
        Expr::Or(a, b) => boolean(match (truth(&ev(a)?)?, truth(&ev(b)?)?) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        }),
        Expr::Xor(a, b) => boolean(truth(&ev(a)?)?.zip(truth(&ev(b)?)?).map(|(x, y)| x != y)),
        Expr::Cmp(a, op, b) => {
            let (x, y) = (ev(a)?, ev(b)?);
            let o = cmp(&x, &y)?;
            if *op == CmpOp::NullSafeEq {
                return Some(boolean(Some(match (&x, &y) {
                    (V::Null, V::Null) => true,
                    (V::Null, _) | (_, V::Null) => false,
                    _ => o == Some(Ordering::Equal),
                })));
            }
            boolean(o.map(|o| match op {
                CmpOp::Eq | CmpOp::NullSafeEq => o == Ordering::Equal,
                CmpOp::Ne => o != Ordering::Equal,
                CmpOp::Lt => o == Ordering::Less,
                CmpOp::Le => o != Ordering::Greater,
                CmpOp::Gt => o == Ordering::Greater,
                CmpOp::Ge => o != Ordering::Less,
            }))
        }
        Expr::Arith(a, op, b) => {
            let (x, y) = (ev(a)?, ev(b)?);
            let (x, ux, y, uy) = match (x, y) {
                (V::Int(x, ux), V::Int(y, uy)) => (x, ux, y, uy),
                (V::Null, V::Int(..) | V::Null) | (V::Int(..), V::Null) => return Some(V::Null),
                _ => return None,
            };
            let unsigned = ux || uy;
            // Division and modulo with an unsigned operand and a negative one: left to the server.
            if unsigned && matches!(op, ArithOp::IntDiv | ArithOp::Mod) && (x < 0 || y < 0) {
                return None;
            }
            match op {
                ArithOp::Add => in_range(x + y, unsigned)?,
                ArithOp::Sub => in_range(x - y, unsigned)?,
                ArithOp::Mul => in_range(x.checked_mul(y)?, unsigned)?,
                ArithOp::IntDiv | ArithOp::Mod if y == 0 => V::Null,
                ArithOp::IntDiv => in_range(x / y, unsigned)?,
                // MOD's result has the dividend's sign (Rust's % truncates the same way) and is
                // signed unless the dividend is unsigned.
                ArithOp::Mod => in_range(x % y, ux)?,
                ArithOp::Div => return None,
            }
        }
        Expr::In(a, list, negated) => {
            let x = ev(a)?;
            let mut unknown = matches!(x, V::Null);
            let mut found = false;
            for item in list {
                match cmp(&x, &ev(item)?)? {
                    Some(Ordering::Equal) => found = true,
                    None => unknown = true,
                    _ => {}
                }
            }
            boolean(if found {
                Some(!negated)
            } else if unknown {
                None
            } else {
                Some(*negated)
            })
        }
        Expr::Between(a, lo, hi, negated) => {
            let x = ev(a)?;
            let ge = cmp(&x, &ev(lo)?)?.map(|o| o != Ordering::Less);
            let le = cmp(&x, &ev(hi)?)?.map(|o| o != Ordering::Greater);
            let inside = match (ge, le) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            boolean(inside.map(|b| b != *negated))
        }
        Expr::IsNull(a, negated) => boolean(Some(matches!(ev(a)?, V::Null) != *negated)),
        Expr::IsBool(a, want, negated) => boolean(Some((truth(&ev(a)?)? == Some(*want)) != *negated)),
        Expr::Like(..) => return None,
    })
}
