//! Row filters (`[[objects.tables]] filter`): a WHERE condition the full copy hands to the
//! source as SQL, and incremental sync evaluates here, in-process, on each row image, with the
//! same meaning for the documented subset:
//!
//! - comparisons `= <> != < <= > >= <=>`, `AND OR NOT XOR`, `IN (...)`, `BETWEEN ... AND ...`,
//!   `LIKE` (with `%`, `_` and `\` escapes), `IS [NOT] NULL`, `IS [NOT] TRUE/FALSE`;
//! - arithmetic `+ - * / % DIV MOD` and unary minus;
//! - literals: numbers, strings, `NULL`, `TRUE`, `FALSE`, `DATE '...'`, `TIME '...'`,
//!   `TIMESTAMP '...'`; columns by name (backquoted or bare).
//!
//! SQL's three-valued logic holds (a comparison with NULL is unknown; unknown filters a row
//! out). Strings of non-binary columns compare case-insensitively with trailing spaces ignored,
//! as the `_ci` PAD SPACE collations do; binary strings compare by bytes; numbers compare as
//! numbers (in double precision); temporal columns compare with string literals as temporal
//! values (TIMESTAMP in UTC, as the sync's sessions see them). Anything else (functions,
//! subqueries, variables) is refused when the config is loaded.

use std::cmp::Ordering;

use dts_schema::lexer::{Kind, Token, lex, string_value};
use dts_types::{ColumnType, TableSchema, Value};

/// Why a filter cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filter {filter:?}: {reason}")]
pub struct FilterError {
    /// The filter as written.
    pub filter: String,
    /// What is wrong with it.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Lit(Scalar),
    Col(String),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Xor(Box<Expr>, Box<Expr>),
    Cmp(Box<Expr>, &'static str, Box<Expr>),
    Arith(Box<Expr>, &'static str, Box<Expr>),
    In(Box<Expr>, Vec<Expr>, bool),
    Between(Box<Expr>, Box<Expr>, Box<Expr>, bool),
    Like(Box<Expr>, Box<Expr>, bool),
    IsNull(Box<Expr>, bool),
    IsBool(Box<Expr>, bool, bool),
}

/// A value as the filter compares it.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Null,
    Num(f64),
    /// Bytes, and whether they compare case-insensitively.
    Str(Vec<u8>, bool),
    /// `YYYY-MM-DD HH:MM:SS.ffffff` (DATE, DATETIME, TIMESTAMP).
    DateTime(String),
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    text: String,
    expr: Expr,
}

struct Parser<'a> {
    t: &'a [Token],
    i: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn err(&self, reason: impl Into<String>) -> FilterError {
        FilterError { filter: self.text.to_string(), reason: reason.into() }
    }
    fn peek(&self) -> Option<&Token> {
        self.t.get(self.i)
    }
    fn kw(&mut self, k: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_kw(k)) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn punct(&mut self, p: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_punct(p)) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, p: &str) -> Result<(), FilterError> {
        if self.punct(p) { Ok(()) } else { Err(self.err(format!("expected {p:?}"))) }
    }
    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.and()?;
        loop {
            if self.kw("OR") || self.punct("||") {
                e = Expr::Or(Box::new(e), Box::new(self.and()?));
            } else if self.kw("XOR") {
                e = Expr::Xor(Box::new(e), Box::new(self.and()?));
            } else {
                return Ok(e);
            }
        }
    }
    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.not()?;
        while self.kw("AND") || self.punct("&&") {
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }
    fn not(&mut self) -> Result<Expr, FilterError> {
        if self.kw("NOT") || self.punct("!") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.predicate()
    }
    fn predicate(&mut self) -> Result<Expr, FilterError> {
        let left = self.additive()?;
        for op in ["<=>", "<=", ">=", "<>", "!=", "=", "<", ">"] {
            if self.punct(op) {
                let op = if op == "!=" { "<>" } else { op };
                let op: &'static str = ["<=>", "<=", ">=", "<>", "=", "<", ">"].into_iter().find(|o| *o == op).unwrap();
                return Ok(Expr::Cmp(Box::new(left), op, Box::new(self.additive()?)));
            }
        }
        if self.kw("IS") {
            let negated = self.kw("NOT");
            if self.kw("NULL") {
                return Ok(Expr::IsNull(Box::new(left), negated));
            }
            if self.kw("TRUE") {
                return Ok(Expr::IsBool(Box::new(left), true, negated));
            }
            if self.kw("FALSE") {
                return Ok(Expr::IsBool(Box::new(left), false, negated));
            }
            return Err(self.err("IS must be followed by [NOT] NULL, TRUE or FALSE"));
        }
        let negated = self.kw("NOT");
        if self.kw("IN") {
            self.expect("(")?;
            let mut list = vec![self.additive()?];
            while self.punct(",") {
                list.push(self.additive()?);
            }
            self.expect(")")?;
            return Ok(Expr::In(Box::new(left), list, negated));
        }
        if self.kw("BETWEEN") {
            let lo = self.additive()?;
            if !self.kw("AND") {
                return Err(self.err("BETWEEN needs AND"));
            }
            let hi = self.additive()?;
            return Ok(Expr::Between(Box::new(left), Box::new(lo), Box::new(hi), negated));
        }
        if self.kw("LIKE") {
            return Ok(Expr::Like(Box::new(left), Box::new(self.additive()?), negated));
        }
        if negated {
            return Err(self.err("NOT here must be followed by IN, BETWEEN or LIKE"));
        }
        Ok(left)
    }
    fn additive(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.multiplicative()?;
        loop {
            let op = if self.punct("+") {
                "+"
            } else if self.punct("-") {
                "-"
            } else {
                return Ok(e);
            };
            e = Expr::Arith(Box::new(e), op, Box::new(self.multiplicative()?));
        }
    }
    fn multiplicative(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.unary()?;
        loop {
            let op = if self.punct("*") {
                "*"
            } else if self.punct("/") {
                "/"
            } else if self.punct("%") || self.kw("MOD") {
                "%"
            } else if self.kw("DIV") {
                "DIV"
            } else {
                return Ok(e);
            };
            e = Expr::Arith(Box::new(e), op, Box::new(self.unary()?));
        }
    }
    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.punct("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        if self.punct("+") {
            return self.unary();
        }
        self.primary()
    }
    fn primary(&mut self) -> Result<Expr, FilterError> {
        let Some(tok) = self.peek().cloned() else { return Err(self.err("the condition ends too early")) };
        self.i += 1;
        match tok.kind {
            Kind::Number => tok
                .text
                .parse::<f64>()
                .map(|n| Expr::Lit(Scalar::Num(n)))
                .map_err(|_| self.err(format!("bad number {}", tok.text))),
            Kind::Str => Ok(Expr::Lit(Scalar::Str(string_value(&tok.text), true))),
            Kind::Punct if tok.text == "(" => {
                let e = self.or()?;
                self.expect(")")?;
                Ok(e)
            }
            Kind::Quoted => Ok(Expr::Col(tok.text)),
            Kind::Word => {
                let up = tok.text.to_ascii_uppercase();
                match up.as_str() {
                    "NULL" => Ok(Expr::Lit(Scalar::Null)),
                    "TRUE" => Ok(Expr::Lit(Scalar::Num(1.0))),
                    "FALSE" => Ok(Expr::Lit(Scalar::Num(0.0))),
                    "DATE" | "TIMESTAMP" | "DATETIME" | "TIME" if self.peek().is_some_and(|t| t.kind == Kind::Str) => {
                        let s = String::from_utf8_lossy(&string_value(&self.peek().unwrap().text)).into_owned();
                        self.i += 1;
                        if up == "TIME" {
                            return time_seconds(&s)
                                .map(|n| Expr::Lit(Scalar::Num(n)))
                                .ok_or_else(|| self.err(format!("bad TIME {s:?}")));
                        }
                        normalize_datetime(&s)
                            .map(|d| Expr::Lit(Scalar::DateTime(d)))
                            .ok_or_else(|| self.err(format!("bad {up} {s:?}")))
                    }
                    _ if self.peek().is_some_and(|t| t.is_punct("(")) => {
                        Err(self.err(format!("function {}() is not supported in filters", tok.text)))
                    }
                    _ if ["SELECT", "EXISTS", "CASE", "INTERVAL", "BINARY", "COLLATE"].contains(&up.as_str()) => {
                        Err(self.err(format!("{up} is not supported in filters")))
                    }
                    _ => Ok(Expr::Col(tok.text)),
                }
            }
            Kind::Variable => Err(self.err(format!("variables ({}) are not supported in filters", tok.text))),
            _ => Err(self.err(format!("unexpected {:?}", tok.text))),
        }
    }
}

/// `YYYY-MM-DD[ HH:MM:SS[.ffffff]]` to the full form; `None` if it is not a date.
fn normalize_datetime(s: &str) -> Option<String> {
    let s = s.trim();
    let (date, time) = s.split_once([' ', 'T']).unwrap_or((s, "00:00:00"));
    let d: Vec<u32> = date.split('-').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    if d.len() != 3 {
        return None;
    }
    let (clock, frac) = time.split_once('.').unwrap_or((time, ""));
    let t: Vec<u32> = clock.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    if t.len() != 3 || frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:0<6}", d[0], d[1], d[2], t[0], t[1], t[2], frac))
}

fn time_seconds(s: &str) -> Option<f64> {
    let (neg, s) = match s.trim().strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.trim()),
    };
    let parts: Vec<f64> = s.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let secs = match parts[..] {
        [h, m, sec] => h * 3600.0 + m * 60.0 + sec,
        [h, m] => h * 3600.0 + m * 60.0,
        _ => return None,
    };
    Some(if neg { -secs } else { secs })
}

impl Filter {
    /// Parses a filter; anything outside the subset is an error naming it.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let tokens = lex(text, false).map_err(|e| FilterError { filter: text.into(), reason: e.to_string() })?;
        let mut p = Parser { t: &tokens, i: 0, text };
        let expr = p.or()?;
        if let Some(t) = p.peek() {
            return Err(p.err(format!("unexpected {:?} after the condition", t.text)));
        }
        Ok(Filter { text: text.to_string(), expr })
    }

    /// The filter as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The columns the filter reads.
    pub fn columns(&self) -> Vec<String> {
        fn walk(e: &Expr, out: &mut Vec<String>) {
            match e {
                Expr::Col(c) => out.push(c.clone()),
                Expr::Lit(_) => {}
                Expr::Not(a) | Expr::Neg(a) | Expr::IsNull(a, _) | Expr::IsBool(a, _, _) => walk(a, out),
                Expr::And(a, b)
                | Expr::Or(a, b)
                | Expr::Xor(a, b)
                | Expr::Cmp(a, _, b)
                | Expr::Arith(a, _, b)
                | Expr::Like(a, b, _) => {
                    walk(a, out);
                    walk(b, out);
                }
                Expr::In(a, l, _) => {
                    walk(a, out);
                    l.iter().for_each(|x| walk(x, out));
                }
                Expr::Between(a, b, c, _) => {
                    walk(a, out);
                    walk(b, out);
                    walk(c, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.expr, &mut out);
        out
    }

    /// Checks that every column the filter names exists in `schema`.
    pub fn check_columns(&self, schema: &TableSchema) -> Result<(), FilterError> {
        for c in self.columns() {
            if !schema.columns.iter().any(|d| d.name.as_str().eq_ignore_ascii_case(&c)) {
                return Err(FilterError {
                    filter: self.text.clone(),
                    reason: format!("column {c} does not exist in {}", schema.id),
                });
            }
        }
        Ok(())
    }

    /// Whether the row (in `schema`'s column order) passes: the condition is true (not false,
    /// not unknown).
    pub fn matches(&self, schema: &TableSchema, row: &[Value]) -> Result<bool, FilterError> {
        let v = eval(&self.expr, schema, row).map_err(|reason| FilterError { filter: self.text.clone(), reason })?;
        Ok(truth(&v) == Some(true))
    }
}

fn scalar(v: &Value, ty: &ColumnType) -> Scalar {
    match v {
        Value::Null => Scalar::Null,
        Value::Int(i) => Scalar::Num(*i as f64),
        Value::UInt(u) => Scalar::Num(*u as f64),
        Value::Float(f) => Scalar::Num(*f as f64),
        Value::Double(d) => Scalar::Num(*d),
        Value::Decimal(d) => Scalar::Num(d.as_str().parse().unwrap_or(0.0)),
        Value::Year(y) => Scalar::Num(*y as f64),
        Value::Bit(b) => Scalar::Num(b.value as f64),
        Value::Date(d) => Scalar::DateTime(format!("{d} 00:00:00.000000")),
        Value::DateTime(dt) => Scalar::DateTime(normalize_datetime(&dt.to_string()).unwrap_or_default()),
        Value::Timestamp(ts) => Scalar::DateTime(normalize_datetime(&ts.to_string()).unwrap_or_default()),
        Value::Time(t) => Scalar::Num(time_seconds(&t.to_string()).unwrap_or(0.0)),
        Value::Enum(i) => match ty {
            ColumnType::Enum { members, .. } => {
                Scalar::Str(members.get((*i as usize).wrapping_sub(1)).map(|m| m.to_vec()).unwrap_or_default(), true)
            }
            _ => Scalar::Num(*i as f64),
        },
        Value::Set(bits) => match ty {
            ColumnType::Set { members, .. } => {
                let labels: Vec<&[u8]> =
                    members.iter().enumerate().filter(|(i, _)| bits >> i & 1 == 1).map(|(_, m)| m.as_ref()).collect();
                Scalar::Str(labels.join(&b","[..]), true)
            }
            _ => Scalar::Num(*bits as f64),
        },
        Value::String(t) => Scalar::Str(t.bytes.to_vec(), !t.charset.is_binary()),
        Value::Json(b) => Scalar::Str(b.to_vec(), false),
        Value::Binary(b) => Scalar::Str(b.to_vec(), false),
        Value::Geometry(_) => Scalar::Null,
    }
}

fn truth(v: &Scalar) -> Option<bool> {
    match v {
        Scalar::Null => None,
        Scalar::Num(n) => Some(*n != 0.0),
        Scalar::Str(s, _) => Some(number_prefix(s) != 0.0),
        Scalar::DateTime(_) => Some(true),
    }
}

fn bool_scalar(b: Option<bool>) -> Scalar {
    match b {
        None => Scalar::Null,
        Some(b) => Scalar::Num(if b { 1.0 } else { 0.0 }),
    }
}

/// The number at the start of a string, as MySQL converts one (0 when none).
fn number_prefix(s: &[u8]) -> f64 {
    let t = String::from_utf8_lossy(s);
    let t = t.trim_start();
    let mut end = 0;
    for (i, c) in t.char_indices() {
        if c.is_ascii_digit() || ((c == '-' || c == '+') && i == 0) || c == '.' || c == 'e' || c == 'E' {
            if t[..i + c.len_utf8()].parse::<f64>().is_ok() {
                end = i + c.len_utf8();
            }
        } else {
            break;
        }
    }
    t[..end].parse().unwrap_or(0.0)
}

fn num(v: &Scalar) -> Option<f64> {
    match v {
        Scalar::Null => None,
        Scalar::Num(n) => Some(*n),
        Scalar::Str(s, _) => Some(number_prefix(s)),
        Scalar::DateTime(d) => d.chars().filter(char::is_ascii_digit).take(14).collect::<String>().parse().ok(),
    }
}

/// Folds a case-insensitive string for comparison: lower case, trailing spaces dropped.
fn fold(s: &[u8], ci: bool) -> Vec<u8> {
    let mut end = s.len();
    while end > 0 && s[end - 1] == b' ' {
        end -= 1;
    }
    if ci { String::from_utf8_lossy(&s[..end]).to_lowercase().into_bytes() } else { s[..end].to_vec() }
}

fn compare(a: &Scalar, b: &Scalar) -> Option<Ordering> {
    match (a, b) {
        (Scalar::Null, _) | (_, Scalar::Null) => None,
        (Scalar::Str(x, cx), Scalar::Str(y, cy)) => {
            let ci = *cx && *cy;
            Some(fold(x, ci).cmp(&fold(y, ci)))
        }
        (Scalar::DateTime(x), Scalar::DateTime(y)) => Some(x.cmp(y)),
        (Scalar::DateTime(x), Scalar::Str(y, _)) => normalize_datetime(&String::from_utf8_lossy(y)).map(|y| x.cmp(&y)),
        (Scalar::Str(x, _), Scalar::DateTime(y)) => normalize_datetime(&String::from_utf8_lossy(x)).map(|x| x.cmp(y)),
        _ => num(a)?.partial_cmp(&num(b)?),
    }
}

fn like(s: &[u8], p: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'%', rest)) => (0..=s.len()).any(|i| like(&s[i..], rest)),
        Some((b'_', rest)) => {
            let Some(&first) = s.first() else { return false };
            let len = if first < 0x80 { 1 } else { (first.leading_ones() as usize).clamp(1, 4) };
            s.len() >= len && like(&s[len..], rest)
        }
        Some((b'\\', rest)) if !rest.is_empty() => s.first() == rest.first() && like(&s[1..], &rest[1..]),
        Some((c, rest)) => s.first() == Some(c) && like(&s[1..], rest),
    }
}

fn eval(e: &Expr, schema: &TableSchema, row: &[Value]) -> Result<Scalar, String> {
    Ok(match e {
        Expr::Lit(s) => s.clone(),
        Expr::Col(name) => {
            let i = schema
                .columns
                .iter()
                .position(|c| c.name.as_str().eq_ignore_ascii_case(name))
                .ok_or_else(|| format!("column {name} does not exist in {}", schema.id))?;
            scalar(row.get(i).unwrap_or(&Value::Null), &schema.columns[i].ty)
        }
        Expr::Not(a) => bool_scalar(truth(&eval(a, schema, row)?).map(|b| !b)),
        Expr::Neg(a) => num(&eval(a, schema, row)?).map_or(Scalar::Null, |n| Scalar::Num(-n)),
        Expr::And(a, b) => {
            let (x, y) = (truth(&eval(a, schema, row)?), truth(&eval(b, schema, row)?));
            bool_scalar(match (x, y) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            })
        }
        Expr::Or(a, b) => {
            let (x, y) = (truth(&eval(a, schema, row)?), truth(&eval(b, schema, row)?));
            bool_scalar(match (x, y) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            })
        }
        Expr::Xor(a, b) => {
            let (x, y) = (truth(&eval(a, schema, row)?), truth(&eval(b, schema, row)?));
            bool_scalar(x.zip(y).map(|(x, y)| x != y))
        }
        Expr::Cmp(a, op, b) => {
            let (x, y) = (eval(a, schema, row)?, eval(b, schema, row)?);
            if *op == "<=>" {
                return Ok(bool_scalar(Some(match (&x, &y) {
                    (Scalar::Null, Scalar::Null) => true,
                    (Scalar::Null, _) | (_, Scalar::Null) => false,
                    _ => compare(&x, &y) == Some(Ordering::Equal),
                })));
            }
            bool_scalar(compare(&x, &y).map(|o| match *op {
                "=" => o == Ordering::Equal,
                "<>" => o != Ordering::Equal,
                "<" => o == Ordering::Less,
                "<=" => o != Ordering::Greater,
                ">" => o == Ordering::Greater,
                _ => o != Ordering::Less,
            }))
        }
        Expr::Arith(a, op, b) => {
            let (Some(x), Some(y)) = (num(&eval(a, schema, row)?), num(&eval(b, schema, row)?)) else {
                return Ok(Scalar::Null);
            };
            match *op {
                "+" => Scalar::Num(x + y),
                "-" => Scalar::Num(x - y),
                "*" => Scalar::Num(x * y),
                _ if y == 0.0 => Scalar::Null,
                "/" => Scalar::Num(x / y),
                "DIV" => Scalar::Num((x / y).trunc()),
                _ => Scalar::Num(x % y),
            }
        }
        Expr::In(a, list, negated) => {
            let x = eval(a, schema, row)?;
            let mut unknown = matches!(x, Scalar::Null);
            let mut found = false;
            for item in list {
                match compare(&x, &eval(item, schema, row)?) {
                    Some(Ordering::Equal) => found = true,
                    None => unknown = true,
                    _ => {}
                }
            }
            bool_scalar(if found {
                Some(!negated)
            } else if unknown {
                None
            } else {
                Some(*negated)
            })
        }
        Expr::Between(a, lo, hi, negated) => {
            let x = eval(a, schema, row)?;
            let ge = compare(&x, &eval(lo, schema, row)?).map(|o| o != Ordering::Less);
            let le = compare(&x, &eval(hi, schema, row)?).map(|o| o != Ordering::Greater);
            let inside = match (ge, le) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            bool_scalar(inside.map(|b| b != *negated))
        }
        Expr::Like(a, p, negated) => {
            let (x, p) = (eval(a, schema, row)?, eval(p, schema, row)?);
            let text = |s: &Scalar| match s {
                Scalar::Str(b, ci) => Some((b.clone(), *ci)),
                Scalar::Num(n) => Some((format_number(*n).into_bytes(), true)),
                Scalar::DateTime(d) => Some((d.clone().into_bytes(), true)),
                Scalar::Null => None,
            };
            bool_scalar(text(&x).zip(text(&p)).map(|((s, cs), (pat, cp))| {
                let ci = cs && cp;
                let (s, pat) = if ci {
                    (
                        String::from_utf8_lossy(&s).to_lowercase().into_bytes(),
                        String::from_utf8_lossy(&pat).to_lowercase().into_bytes(),
                    )
                } else {
                    (s, pat)
                };
                like(&s, &pat) != *negated
            }))
        }
        Expr::IsNull(a, negated) => bool_scalar(Some(matches!(eval(a, schema, row)?, Scalar::Null) != *negated)),
        Expr::IsBool(a, want, negated) => bool_scalar(Some((truth(&eval(a, schema, row)?) == Some(*want)) != *negated)),
    })
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { n.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dts_types::{ColumnDef, Ident, TableId, Text};

    fn schema() -> TableSchema {
        let col = |n: &str, t: &str, cs: Option<&str>| ColumnDef {
            name: Ident::new(n).unwrap(),
            ty: dts_schema::parse_column_type(t, cs).unwrap(),
            nullable: true,
        };
        TableSchema {
            id: TableId::new(Ident::new("d").unwrap(), Ident::new("t").unwrap()),
            columns: vec![
                col("id", "int(11)", None),
                col("name", "varchar(20)", Some("utf8mb4")),
                col("created", "datetime", None),
                col("state", "enum('new','done')", Some("utf8mb4")),
                col("n", "int(11)", None),
            ],
            primary_key: vec![0],
        }
    }

    fn row(id: i64, name: &str, created: &str, state: u16, n: Option<i64>) -> Vec<Value> {
        vec![
            Value::Int(id),
            Value::String(Text::utf8mb4(name)),
            Value::DateTime(dts_types::DateTime::parse(created.as_bytes()).unwrap()),
            Value::Enum(state),
            n.map_or(Value::Null, Value::Int),
        ]
    }

    fn eval_on(f: &str, r: &[Value]) -> bool {
        Filter::parse(f).unwrap().matches(&schema(), r).unwrap()
    }

    #[test]
    fn the_subset_evaluates_like_sql() {
        let r = row(7, "Alice ", "2024-03-01 10:00:00", 2, None);
        assert!(eval_on("id % 2 = 1", &r));
        assert!(eval_on("id BETWEEN 5 AND 7 AND name = 'alice'", &r), "case-insensitive, trailing spaces");
        assert!(eval_on("name LIKE 'a%'", &r));
        assert!(!eval_on("name NOT LIKE 'A_ice%'", &r));
        assert!(eval_on("state IN ('done', 'x')", &r));
        assert!(eval_on("created >= '2024-03-01' AND created < DATE '2024-03-02'", &r));
        assert!(eval_on("n IS NULL", &r));
        assert!(!eval_on("n = 1 OR n <> 1", &r), "unknown is not true");
        assert!(eval_on("NOT (n > 1) IS NULL", &r) || !eval_on("NOT (n > 1) IS NULL", &r));
        assert!(eval_on("n <=> NULL", &r));
        assert!(!eval_on("id NOT IN (1, 2, NULL)", &r), "NOT IN with a NULL is unknown");
        assert!(eval_on("-id + 10 * 2 DIV 3 = -1", &r));
        assert!(eval_on("`id` > 6 XOR id > 100", &r));
    }

    #[test]
    fn unsupported_expressions_are_refused() {
        for bad in ["UPPER(name) = 'A'", "id IN (SELECT 1)", "@x = 1", "id >", "id = 1 garbage", "name IS 3"] {
            let e = Filter::parse(bad).unwrap_err();
            assert_eq!(e.filter, bad);
        }
        let f = Filter::parse("missing = 1").unwrap();
        assert!(f.check_columns(&schema()).unwrap_err().reason.contains("missing"));
    }
}
