//! Parsers of text a user or a server controls — row filters, the DDL translator, task files —
//! never panic and answer quickly on any input: random token soups and byte strings, a few
//! thousand of each, from a fixed seed (a failure names the input to reproduce it).

use std::path::Path;
use std::time::{Duration, Instant};

use dts_schema::{Selection, TranslateConfig, Translator};
use dts_task::{Config, Filter};

/// xorshift64*: the same inputs on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Up to `max` pieces, each a token from `tokens` or a random byte as a char.
    fn soup(&mut self, tokens: &[&str], max: usize) -> String {
        let mut s = String::new();
        for _ in 0..self.below(max) {
            if self.below(8) == 0 {
                s.push(char::from_u32(self.below(0x250) as u32).unwrap_or('?'));
            } else {
                s.push_str(tokens[self.below(tokens.len())]);
            }
            if self.below(3) == 0 {
                s.push(' ');
            }
        }
        s
    }
}

/// Runs `f` on `n` inputs from `make`, each within `limit`.
fn each(n: usize, limit: Duration, mut make: impl FnMut(&mut Rng) -> String, mut f: impl FnMut(&str)) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..n {
        let input = make(&mut rng);
        let t = Instant::now();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&input)));
        assert!(caught.is_ok(), "panicked on {input:?}");
        assert!(t.elapsed() < limit, "{:?} on {input:?}", t.elapsed());
    }
}

const FILTER_TOKENS: &[&str] = &[
    "a",
    "`b`",
    "c1",
    "(",
    ")",
    "=",
    "<>",
    "<=>",
    "!=",
    "<",
    ">=",
    "AND",
    "OR",
    "NOT",
    "XOR",
    "IN",
    "BETWEEN",
    "LIKE",
    "IS",
    "NULL",
    "TRUE",
    "'x'",
    "'%a%a%'",
    "\"q\"",
    "1",
    "-2.5e3",
    "0x1F",
    "+",
    "-",
    "*",
    "/",
    "%",
    "DIV",
    ",",
    "/*",
    "*/",
    "--",
    "#",
    "\\",
    "'",
    "`",
    "_utf8mb4",
    "@v",
    "@@x",
    "N'z'",
    "DATE",
    "'2024-01-01'",
    "CASE",
    "?",
    ";",
];

#[test]
fn row_filters_parse_any_text_without_panic() {
    each(
        4000,
        Duration::from_millis(200),
        |r| r.soup(FILTER_TOKENS, 40),
        |s| {
            if let Ok(f) = Filter::parse(s) {
                // What parses renders SQL, every identifier quoted.
                assert!(!f.sql().is_empty(), "{s:?}");
            }
        },
    );
    // Deep nesting is refused or parsed, quickly, without exhausting the stack.
    for depth in [100, 10_000] {
        let s = format!("{}a = 1{}", "(".repeat(depth), ")".repeat(depth));
        let t = Instant::now();
        let _ = Filter::parse(&s);
        assert!(t.elapsed() < Duration::from_secs(1));
    }
}

const DDL_TOKENS: &[&str] = &[
    "CREATE",
    "ALTER",
    "DROP",
    "RENAME",
    "TABLE",
    "TABLES",
    "DATABASE",
    "VIEW",
    "TRIGGER",
    "EVENT",
    "PROCEDURE",
    "TO",
    "LIKE",
    "IF",
    "NOT",
    "EXISTS",
    "t",
    "`t``x`",
    "db.t",
    "`db`.`t`",
    "\"t\"",
    "(",
    ")",
    ",",
    ";",
    "INT",
    "ADD",
    "COLUMN",
    "INDEX",
    "ON",
    "FOR",
    "EACH",
    "ROW",
    "BEGIN",
    "END",
    "/*!50100",
    "*/",
    "/*",
    "--",
    "#",
    "'s'",
    "\\",
    "DEFINER=",
    "`root`@`%`",
    "AS",
    "SELECT",
    "TEMPORARY",
    "TRUNCATE",
    "SEQUENCE",
    "WITH",
    "SYSTEM",
    "VERSIONING",
];

#[test]
fn the_ddl_translator_takes_any_statement_without_panic() {
    let mut t = Translator::new(TranslateConfig { selection: Selection::everything(), ..Default::default() });
    each(
        4000,
        Duration::from_millis(200),
        |r| r.soup(DDL_TOKENS, 30),
        |s| {
            for ansi in [false, true] {
                let _ = t.translate(s, Some("db"), ansi);
                let _ = t.schema_change_target(s, Some("db"), ansi);
            }
        },
    );
}

const TOML_TOKENS: &[&str] = &[
    "[source]",
    "[destination]",
    "[task]",
    "[[objects]]",
    "[[objects.tables]]",
    "[incremental]",
    "[full]",
    "\n",
    "=",
    "host",
    "port",
    "user",
    "name",
    "server_id",
    "database",
    "filter",
    "\"x\"",
    "'y'",
    "\"\"\"",
    "1",
    "0",
    "-1",
    "99999999999999999999",
    "true",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    "password_file",
    "types",
    "[\"schema\"]",
    "#",
    "skip_ddl",
    "[\"f:1\"]",
    "follow_renames",
    "workers",
    "ddl_errors",
    "\"skip\"",
    "rename",
    "columns",
];

#[test]
fn task_files_parse_any_text_without_panic() {
    each(
        3000,
        Duration::from_millis(200),
        |r| r.soup(TOML_TOKENS, 60),
        |s| {
            let _ = Config::parse(s, Path::new("/nonexistent/task.toml"));
        },
    );
}
