//! The in-process evaluator: integer filters only, exact in 128 bits, and undecided (`None`)
//! wherever the server could raise an out-of-range error instead of returning a value.

use std::cmp::Ordering;

use dts_types::{ColumnType, TableSchema, Value};

use super::{ArithOp, CmpOp, Expr};

/// An integer value (with MySQL's unsigned flag) or NULL.
#[derive(Clone, Copy)]
enum Int {
    Null,
    Val(i128, bool),
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

fn column<'a>(schema: &'a TableSchema, name: &str) -> Option<(usize, &'a ColumnType)> {
    schema.columns.iter().enumerate().find(|(_, c)| c.name.as_str().eq_ignore_ascii_case(name)).map(|(i, c)| (i, &c.ty))
}

/// Integer literals fit BIGINT UNSIGNED; larger ones are DECIMAL on the server.
fn literal(n: &str) -> Option<Int> {
    if !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: u64 = n.parse().ok()?;
    Some(Int::Val(v as i128, v > i64::MAX as u64))
}

/// Whether every node is one the in-process evaluator decides exactly.
pub(super) fn exact_in_process(e: &Expr, schema: &TableSchema) -> bool {
    let mut ok = true;
    super::walk(e, &mut |e| {
        ok &= match e {
            Expr::Col(c) => column(schema, c).is_some_and(|(_, ty)| is_integer(ty)),
            Expr::Num(n) => literal(n).is_some(),
            Expr::Str(_) | Expr::Temporal(..) | Expr::Like(..) => false,
            Expr::Arith(_, op, _) => *op != ArithOp::Div,
            _ => true,
        }
    });
    ok
}

/// The decision for one row, or `None` when only the server can decide it.
pub(super) fn decide(e: &Expr, schema: &TableSchema, row: &[Value]) -> Option<bool> {
    Some(truth(eval(e, schema, row)?) == Some(true))
}

fn truth(v: Int) -> Option<bool> {
    match v {
        Int::Null => None,
        Int::Val(n, _) => Some(n != 0),
    }
}

fn boolean(b: Option<bool>) -> Int {
    b.map_or(Int::Null, |b| Int::Val(b as i128, false))
}

fn cmp(a: Int, b: Int) -> Option<Ordering> {
    match (a, b) {
        (Int::Val(x, _), Int::Val(y, _)) => Some(x.cmp(&y)),
        _ => None,
    }
}

/// A result the server returns as a value: signed results within BIGINT, unsigned ones
/// within BIGINT UNSIGNED; anything else is an error there, so undecided here.
fn in_range(v: i128, unsigned: bool) -> Option<Int> {
    let ok =
        if unsigned { (0..=u64::MAX as i128).contains(&v) } else { (i64::MIN as i128..=i64::MAX as i128).contains(&v) };
    ok.then_some(Int::Val(v, unsigned))
}

fn eval(e: &Expr, schema: &TableSchema, row: &[Value]) -> Option<Int> {
    let ev = |x: &Expr| eval(x, schema, row);
    Some(match e {
        Expr::Null => Int::Null,
        Expr::Bool(b) => Int::Val(*b as i128, false),
        Expr::Num(n) => literal(n)?,
        Expr::Col(c) => {
            let (i, ty) = column(schema, c)?;
            let unsigned = matches!(
                ty,
                ColumnType::TinyInt { unsigned: true }
                    | ColumnType::SmallInt { unsigned: true }
                    | ColumnType::MediumInt { unsigned: true }
                    | ColumnType::Int { unsigned: true }
                    | ColumnType::BigInt { unsigned: true }
            );
            match row.get(i)? {
                Value::Null => Int::Null,
                Value::Int(v) => Int::Val(*v as i128, unsigned),
                Value::UInt(v) => Int::Val(*v as i128, unsigned),
                _ => return None,
            }
        }
        Expr::Not(a) => boolean(truth(ev(a)?).map(|b| !b)),
        Expr::Neg(a) => match ev(a)? {
            Int::Null => Int::Null,
            Int::Val(_, true) => return None,
            Int::Val(v, false) => in_range(-v, false)?,
        },
        Expr::And(a, b) => boolean(match (truth(ev(a)?), truth(ev(b)?)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        }),
        Expr::Or(a, b) => boolean(match (truth(ev(a)?), truth(ev(b)?)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        }),
        Expr::Xor(a, b) => boolean(truth(ev(a)?).zip(truth(ev(b)?)).map(|(x, y)| x != y)),
        Expr::Cmp(a, op, b) => {
            let (x, y) = (ev(a)?, ev(b)?);
            if *op == CmpOp::NullSafeEq {
                return Some(boolean(Some(match (x, y) {
                    (Int::Null, Int::Null) => true,
                    (Int::Null, _) | (_, Int::Null) => false,
                    _ => cmp(x, y) == Some(Ordering::Equal),
                })));
            }
            boolean(cmp(x, y).map(|o| match op {
                CmpOp::Eq | CmpOp::NullSafeEq => o == Ordering::Equal,
                CmpOp::Ne => o != Ordering::Equal,
                CmpOp::Lt => o == Ordering::Less,
                CmpOp::Le => o != Ordering::Greater,
                CmpOp::Gt => o == Ordering::Greater,
                CmpOp::Ge => o != Ordering::Less,
            }))
        }
        Expr::Arith(a, op, b) => {
            let (Int::Val(x, ux), Int::Val(y, uy)) = (ev(a)?, ev(b)?) else { return Some(Int::Null) };
            let unsigned = ux || uy;
            // Division and modulo with an unsigned operand and a negative one: leave to the server.
            if unsigned && matches!(op, ArithOp::IntDiv | ArithOp::Mod) && (x < 0 || y < 0) {
                return None;
            }
            match op {
                ArithOp::Add => in_range(x + y, unsigned)?,
                ArithOp::Sub => in_range(x - y, unsigned)?,
                ArithOp::Mul => in_range(x.checked_mul(y)?, unsigned)?,
                ArithOp::IntDiv | ArithOp::Mod if y == 0 => Int::Null,
                ArithOp::IntDiv => in_range(x / y, unsigned)?,
                // MOD's result has the dividend's sign (Rust's % truncates the same way) and is
                // signed unless the dividend is unsigned.
                ArithOp::Mod => in_range(x % y, ux)?,
                ArithOp::Div => return None,
            }
        }
        Expr::In(a, list, negated) => {
            let x = ev(a)?;
            let mut unknown = matches!(x, Int::Null);
            let mut found = false;
            for item in list {
                match cmp(x, ev(item)?) {
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
            let ge = cmp(x, ev(lo)?).map(|o| o != Ordering::Less);
            let le = cmp(x, ev(hi)?).map(|o| o != Ordering::Greater);
            let inside = match (ge, le) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            boolean(inside.map(|b| b != *negated))
        }
        Expr::IsNull(a, negated) => boolean(Some(matches!(ev(a)?, Int::Null) != *negated)),
        Expr::IsBool(a, want, negated) => boolean(Some((truth(ev(a)?) == Some(*want)) != *negated)),
        Expr::Str(_) | Expr::Temporal(..) | Expr::Like(..) => return None,
    })
}
