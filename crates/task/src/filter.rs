//! Row filters (`[[objects.tables]] filter`): one parsed condition with one meaning in both
//! phases.
//!
//! A filter is parsed once, when the task file loads, into an expression of the documented
//! subset, and everything else is refused there, naming the construct:
//!
//! - comparisons `= <> != < <= > >= <=>`, `AND OR NOT XOR` (`&&`, `||`), `IN (...)`,
//!   `BETWEEN ... AND ...`, `LIKE`, `IS [NOT] NULL`, `IS [NOT] TRUE/FALSE`;
//! - arithmetic `+ - * / % DIV MOD` and unary minus;
//! - literals: numbers, strings, `NULL`, `TRUE`, `FALSE`, `DATE '...'`, `TIME '...'`,
//!   `TIMESTAMP '...'`; columns by name (backquoted or bare).
//!
//! Comments are refused (the server would execute `/*! ... */`), so are functions, subqueries,
//! variables, `!` (its precedence differs from NOT's), introducers and hex literals.
//!
//! The source server decides, in both phases. The full copy (and verify) send [`Filter::sql`],
//! SQL rendered from the parsed expression (every sub-expression parenthesised, identifiers
//! quoted, strings with a `_utf8mb4` introducer), never the user's text. Incremental sync asks
//! the source to evaluate the same SQL over each row image put into a scratch temporary table
//! whose columns are the source table's own (type, charset, collation, ENUM members), see
//! [`Evaluator`]: collations, pad-space, ENUM/SET by index, binary strings, string-number
//! coercions, temporal literals and NULL logic are the server's by construction.
//!
//! What is exact in-process is decided in-process: filters that read only integer, DECIMAL,
//! DATE, DATETIME and TIMESTAMP columns, and compare them with integer or decimal literals and
//! canonical temporal literals (`DATE '2024-03-01'`, `'2024-03-01 10:00:00'`), with no `/`,
//! `LIKE` or other strings (`tenant_id = 7`, `id % 4 IN (0, 1)`, `created >= '2024-01-01'`).
//! Integers are exact in 128 bits, decimals as digit strings, temporal values field by field.
//! Where the server could raise an out-of-range error (a signed overflow, a negative unsigned
//! result), or a row's values are of kinds compared otherwise (a temporal column and a number),
//! that row goes to the server as well, so the in-process evaluator never decides otherwise
//! than the server would (`crates/task/tests/filters.rs` compares them on a real server).

mod eval;
mod server;

pub use server::{EvalError, Evaluator};

use dts_schema::lexer::{Kind, Token, lex, string_value};
use dts_types::{ColumnType, TableSchema, Text, Value, quote_ident};

/// Why a filter cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filter {filter:?}: {reason}")]
pub struct FilterError {
    /// The filter as written.
    pub filter: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    NullSafeEq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    IntDiv,
    Mod,
}

/// The parsed expression.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Null,
    Bool(bool),
    /// A number literal as written (validated: digits, a point, an exponent).
    Num(String),
    /// A string literal's bytes.
    Str(Vec<u8>),
    /// `DATE '...'`, `TIME '...'`, `TIMESTAMP '...'`: the keyword and the validated text.
    Temporal(&'static str, String),
    Col(String),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Xor(Box<Expr>, Box<Expr>),
    Cmp(Box<Expr>, CmpOp, Box<Expr>),
    Arith(Box<Expr>, ArithOp, Box<Expr>),
    In(Box<Expr>, Vec<Expr>, bool),
    Between(Box<Expr>, Box<Expr>, Box<Expr>, bool),
    Like(Box<Expr>, Box<Expr>, bool),
    IsNull(Box<Expr>, bool),
    IsBool(Box<Expr>, bool, bool),
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    text: String,
    sql: String,
    expr: Expr,
}

struct Parser<'a> {
    t: &'a [Token],
    i: usize,
    text: &'a str,
    /// Parentheses, NOT and signs open around the current token: capped at [`MAX_NESTING`].
    depth: usize,
}

/// Most tokens in a filter, and most nesting: a filter is a short condition, and the parser,
/// the renderer and the evaluator recurse once per level.
const MAX_TOKENS: usize = 2000;
const MAX_NESTING: usize = 64;

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
    /// `OR` binds loosest, then `XOR`, then `AND`, as in MySQL.
    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.xor()?;
        while self.kw("OR") || self.punct("||") {
            e = Expr::Or(Box::new(e), Box::new(self.xor()?));
        }
        Ok(e)
    }
    fn xor(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.and()?;
        while self.kw("XOR") {
            e = Expr::Xor(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }
    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.not()?;
        while self.kw("AND") || self.punct("&&") {
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }
    /// Enters one more level of nesting (refused past [`MAX_NESTING`]).
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, FilterError>) -> Result<T, FilterError> {
        if self.depth >= MAX_NESTING {
            return Err(self.err(format!("the condition nests deeper than {MAX_NESTING} levels")));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }
    fn not(&mut self) -> Result<Expr, FilterError> {
        if self.kw("NOT") {
            return Ok(Expr::Not(Box::new(self.nested(|p| p.not())?)));
        }
        if self.peek().is_some_and(|t| t.is_punct("!")) {
            return Err(self.err("! is not supported in filters (it binds tighter than NOT); write NOT"));
        }
        self.predicate()
    }
    fn predicate(&mut self) -> Result<Expr, FilterError> {
        let left = self.additive()?;
        const OPS: [(&str, CmpOp); 8] = [
            ("<=>", CmpOp::NullSafeEq),
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("<>", CmpOp::Ne),
            ("!=", CmpOp::Ne),
            ("=", CmpOp::Eq),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ];
        for (text, op) in OPS {
            if self.punct(text) {
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
            let pattern = self.additive()?;
            if self.peek().is_some_and(|t| t.is_kw("ESCAPE")) {
                return Err(self.err("LIKE ... ESCAPE is not supported in filters"));
            }
            return Ok(Expr::Like(Box::new(left), Box::new(pattern), negated));
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
                ArithOp::Add
            } else if self.punct("-") {
                ArithOp::Sub
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
                ArithOp::Mul
            } else if self.punct("/") {
                ArithOp::Div
            } else if self.punct("%") || self.kw("MOD") {
                ArithOp::Mod
            } else if self.kw("DIV") {
                ArithOp::IntDiv
            } else {
                return Ok(e);
            };
            e = Expr::Arith(Box::new(e), op, Box::new(self.unary()?));
        }
    }
    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.punct("-") {
            return Ok(Expr::Neg(Box::new(self.nested(|p| p.unary())?)));
        }
        if self.punct("+") {
            return self.nested(|p| p.unary());
        }
        self.primary()
    }
    fn primary(&mut self) -> Result<Expr, FilterError> {
        let Some(tok) = self.peek().cloned() else { return Err(self.err("the condition ends too early")) };
        self.i += 1;
        match tok.kind {
            Kind::Number if is_decimal_number(&tok.text) => Ok(Expr::Num(tok.text)),
            Kind::Number => Err(self.err(format!("number {} is not supported in filters", tok.text))),
            Kind::Str if tok.text.starts_with(['\'', '"']) => Ok(Expr::Str(string_value(&tok.text))),
            Kind::Str => {
                Err(self.err(format!("{} (an introducer or a hex/bit literal) is not supported in filters", tok.text)))
            }
            Kind::Punct if tok.text == "(" => {
                let e = self.nested(|p| p.or())?;
                self.expect(")")?;
                Ok(e)
            }
            Kind::Quoted => self.column(tok.text),
            Kind::Word => {
                let up = tok.text.to_ascii_uppercase();
                if self.peek().is_some_and(|t| t.kind == Kind::Str) {
                    let keyword = match up.as_str() {
                        "DATE" => "DATE",
                        "TIME" => "TIME",
                        "TIMESTAMP" | "DATETIME" => "TIMESTAMP",
                        _ => {
                            return Err(self.err(format!(
                                "{} before a string (an introducer or a hex/bit literal) is not supported in filters",
                                tok.text
                            )));
                        }
                    };
                    let s = String::from_utf8_lossy(&string_value(&self.peek().expect("peeked").text)).into_owned();
                    self.i += 1;
                    let valid = if keyword == "TIME" { valid_time(&s) } else { valid_datetime(&s, keyword == "DATE") };
                    if !valid {
                        return Err(self.err(format!("bad {keyword} literal {s:?}")));
                    }
                    return Ok(Expr::Temporal(keyword, s.trim().to_string()));
                }
                match up.as_str() {
                    "NULL" => Ok(Expr::Null),
                    "TRUE" => Ok(Expr::Bool(true)),
                    "FALSE" => Ok(Expr::Bool(false)),
                    _ if self.peek().is_some_and(|t| t.is_punct("(")) => {
                        Err(self.err(format!("function {}() is not supported in filters", tok.text)))
                    }
                    _ if RESERVED.contains(&up.as_str()) => Err(self.err(format!("{up} is not supported in filters"))),
                    _ => self.column(tok.text),
                }
            }
            Kind::Variable => Err(self.err(format!("variables ({}) are not supported in filters", tok.text))),
            _ => Err(self.err(format!("unexpected {:?}", tok.text))),
        }
    }
    fn column(&self, name: String) -> Result<Expr, FilterError> {
        if name.is_empty() {
            return Err(self.err("an empty column name"));
        }
        Ok(Expr::Col(name))
    }
}

/// Words that are not column names here.
const RESERVED: [&str; 22] = [
    "SELECT", "EXISTS", "CASE", "WHEN", "THEN", "ELSE", "END", "INTERVAL", "BINARY", "COLLATE", "AND", "OR", "XOR",
    "NOT", "IS", "IN", "LIKE", "BETWEEN", "DIV", "MOD", "REGEXP", "RLIKE",
];

/// Digits with an optional point and exponent (no hex, no bit literals).
fn is_decimal_number(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = mantissa.bytes().filter(u8::is_ascii_digit).count();
    let points = mantissa.bytes().filter(|b| *b == b'.').count();
    let mantissa_ok = digits > 0 && points <= 1 && digits + points == mantissa.len();
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// `YYYY-MM-DD[ HH:MM:SS[.ffffff]]` (only the date when `date_only`).
fn valid_datetime(s: &str, date_only: bool) -> bool {
    let s = s.trim();
    let (date, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) if !date_only => (d, Some(t)),
        Some(_) => return false,
        None => (s, None),
    };
    let numbers = |text: &str, sep: char, n: usize| {
        let parts: Vec<&str> = text.split(sep).collect();
        parts.len() == n && parts.iter().all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
    };
    numbers(date, '-', 3)
        && time.is_none_or(|t| {
            let (clock, frac) = t.split_once('.').unwrap_or((t, "0"));
            numbers(clock, ':', 3) && frac.len() <= 6 && !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit())
        })
}

/// `[-]H:MM[:SS[.ffffff]]`.
fn valid_time(s: &str) -> bool {
    let s = s.trim();
    let s = s.strip_prefix('-').unwrap_or(s);
    let (clock, frac) = s.split_once('.').unwrap_or((s, "0"));
    let parts: Vec<&str> = clock.split(':').collect();
    (2..=3).contains(&parts.len())
        && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
        && !frac.is_empty()
        && frac.len() <= 6
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Refuses comments: every byte between tokens must be whitespace.
fn refuse_comments(text: &str, tokens: &[Token]) -> Result<(), FilterError> {
    let mut at = 0;
    let gaps = tokens.iter().map(|t| (t.start, t.end)).chain([(text.len(), text.len())]);
    for (start, end) in gaps {
        let gap = text.get(at..start).unwrap_or("");
        if !gap.chars().all(char::is_whitespace) {
            return Err(FilterError {
                filter: text.to_string(),
                reason: format!("comments are not allowed in filters (found {:?})", gap.trim()),
            });
        }
        at = end;
    }
    Ok(())
}

fn render(e: &Expr, out: &mut String) {
    let bin = |out: &mut String, a: &Expr, op: &str, b: &Expr| {
        out.push('(');
        render(a, out);
        out.push(' ');
        out.push_str(op);
        out.push(' ');
        render(b, out);
        out.push(')');
    };
    match e {
        Expr::Null => out.push_str("NULL"),
        Expr::Bool(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
        Expr::Num(n) => out.push_str(n),
        Expr::Str(bytes) => {
            Value::String(Text::new(dts_types::Charset::UTF8MB4, bytes.clone()))
                .write_sql_literal(out)
                .expect("a string literal always renders");
        }
        Expr::Temporal(k, s) => {
            out.push_str(k);
            out.push('\'');
            out.push_str(s);
            out.push('\'');
        }
        Expr::Col(c) => out.push_str(&quote_ident(c)),
        Expr::Not(a) => {
            out.push_str("(NOT ");
            render(a, out);
            out.push(')');
        }
        Expr::Neg(a) => {
            out.push_str("(- ");
            render(a, out);
            out.push(')');
        }
        Expr::And(a, b) => bin(out, a, "AND", b),
        Expr::Or(a, b) => bin(out, a, "OR", b),
        Expr::Xor(a, b) => bin(out, a, "XOR", b),
        Expr::Cmp(a, op, b) => {
            let op = match op {
                CmpOp::Eq => "=",
                CmpOp::NullSafeEq => "<=>",
                CmpOp::Ne => "<>",
                CmpOp::Lt => "<",
                CmpOp::Le => "<=",
                CmpOp::Gt => ">",
                CmpOp::Ge => ">=",
            };
            bin(out, a, op, b)
        }
        Expr::Arith(a, op, b) => {
            let op = match op {
                ArithOp::Add => "+",
                ArithOp::Sub => "-",
                ArithOp::Mul => "*",
                ArithOp::Div => "/",
                ArithOp::IntDiv => "DIV",
                ArithOp::Mod => "MOD",
            };
            bin(out, a, op, b)
        }
        Expr::In(a, list, negated) => {
            out.push('(');
            render(a, out);
            out.push_str(if *negated { " NOT IN (" } else { " IN (" });
            for (i, x) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(x, out);
            }
            out.push_str("))");
        }
        Expr::Between(a, lo, hi, negated) => {
            out.push('(');
            render(a, out);
            out.push_str(if *negated { " NOT BETWEEN " } else { " BETWEEN " });
            render(lo, out);
            out.push_str(" AND ");
            render(hi, out);
            out.push(')');
        }
        Expr::Like(a, p, negated) => bin(out, a, if *negated { "NOT LIKE" } else { "LIKE" }, p),
        Expr::IsNull(a, negated) => {
            out.push('(');
            render(a, out);
            out.push_str(if *negated { " IS NOT NULL)" } else { " IS NULL)" });
        }
        Expr::IsBool(a, want, negated) => {
            out.push('(');
            render(a, out);
            out.push_str(match (negated, want) {
                (false, true) => " IS TRUE)",
                (false, false) => " IS FALSE)",
                (true, true) => " IS NOT TRUE)",
                (true, false) => " IS NOT FALSE)",
            });
        }
    }
}

fn walk<'a>(e: &'a Expr, f: &mut impl FnMut(&'a Expr)) {
    f(e);
    match e {
        Expr::Null | Expr::Bool(_) | Expr::Num(_) | Expr::Str(_) | Expr::Temporal(..) | Expr::Col(_) => {}
        Expr::Not(a) | Expr::Neg(a) | Expr::IsNull(a, _) | Expr::IsBool(a, _, _) => walk(a, f),
        Expr::And(a, b)
        | Expr::Or(a, b)
        | Expr::Xor(a, b)
        | Expr::Cmp(a, _, b)
        | Expr::Arith(a, _, b)
        | Expr::Like(a, b, _) => {
            walk(a, f);
            walk(b, f);
        }
        Expr::In(a, l, _) => {
            walk(a, f);
            l.iter().for_each(|x| walk(x, f));
        }
        Expr::Between(a, b, c, _) => {
            walk(a, f);
            walk(b, f);
            walk(c, f);
        }
    }
}

impl Filter {
    /// Parses a filter; anything outside the subset (and any comment) is an error naming it.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let tokens = lex(text, false).map_err(|e| FilterError { filter: text.into(), reason: e.to_string() })?;
        refuse_comments(text, &tokens)?;
        if tokens.len() > MAX_TOKENS {
            return Err(FilterError {
                filter: text.chars().take(80).collect(),
                reason: format!("the condition has more than {MAX_TOKENS} tokens"),
            });
        }
        let mut p = Parser { t: &tokens, i: 0, text, depth: 0 };
        let expr = p.or()?;
        if let Some(t) = p.peek() {
            return Err(p.err(format!("unexpected {:?} after the condition", t.text)));
        }
        let mut sql = String::new();
        render(&expr, &mut sql);
        Ok(Filter { text: text.to_string(), sql, expr })
    }

    /// The filter as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The filter as SQL rendered from the parsed expression: what the full copy and verify
    /// send to the source, and what the [`Evaluator`] asks the source to decide.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The columns the filter reads, each once, as written.
    pub fn columns(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        walk(&self.expr, &mut |e| {
            if let Expr::Col(c) = e
                && !out.iter().any(|o| o.eq_ignore_ascii_case(c))
            {
                out.push(c.clone());
            }
        });
        out
    }

    /// Checks that every column the filter names exists in `schema`, and that none is of a
    /// type a filter cannot read exactly (JSON, GEOMETRY).
    pub fn check_columns(&self, schema: &TableSchema) -> Result<(), FilterError> {
        for c in self.columns() {
            let Some(def) = schema.columns.iter().find(|d| d.name.as_str().eq_ignore_ascii_case(&c)) else {
                return Err(FilterError {
                    filter: self.text.clone(),
                    reason: format!("column {c} does not exist in {}", schema.id),
                });
            };
            if matches!(def.ty, ColumnType::Json | ColumnType::Geometry) {
                return Err(FilterError {
                    filter: self.text.clone(),
                    reason: format!("column {c} of {} is {}, which filters cannot read", schema.id, def.ty),
                });
            }
        }
        Ok(())
    }

    /// Whether the filter may be decided in-process on rows of `schema`: it reads only integer,
    /// DECIMAL, DATE, DATETIME and TIMESTAMP columns, with no `/`, `LIKE` or `TIME` literal
    /// (see the module documentation).
    pub fn decided_in_process(&self, schema: &TableSchema) -> bool {
        eval::exact_in_process(&self.expr, schema)
    }

    /// The in-process decision for one row (in `schema`'s column order): `Some(passes)` when it
    /// is exact, `None` when only the server can decide (the filter is not
    /// [`decided_in_process`](Self::decided_in_process), or the server could raise an error).
    pub fn decide_in_process(&self, schema: &TableSchema, row: &[Value]) -> Option<bool> {
        if !self.decided_in_process(schema) {
            return None;
        }
        eval::decide(&self.expr, schema, row)
    }
}

#[cfg(test)]
mod tests;
