//! Rows read from the source rendered for the destination: LOAD DATA fields (from the text or
//! the binary protocol) or INSERT/REPLACE statements, charged to the throttle as they fill. One
//! renderer serves a whole chunk (keyed tables) or one bounded piece of a keyless table.

use dts_types::Value;

use crate::table::TableJob;
use crate::{CopyError, CopyOptions, ExistingRows, Throttle};

/// What a chunk or piece is written with.
pub(crate) enum Payload {
    /// Rows as LOAD DATA fields, and how many ENUM index-0 values they hold.
    Load(Vec<u8>, usize),
    /// INSERT statements, each under max_allowed_packet, with the ENUM index-0 values of each.
    Inserts(Vec<(String, usize)>),
}

impl Payload {
    /// Its size in bytes.
    pub fn bytes(&self) -> u64 {
        match self {
            Payload::Load(b, _) => b.len() as u64,
            Payload::Inserts(v) => v.iter().map(|s| s.0.len() as u64).sum(),
        }
    }
}

/// How the rows are read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Text protocol into LOAD DATA: the server's text form goes straight into the fields.
    TextLoad,
    /// Binary protocol into LOAD DATA.
    BinaryLoad,
    /// Binary protocol into statements of SQL literals.
    Statements,
}

impl Mode {
    /// The best exact mode for `job`.
    pub fn of(job: &TableJob, o: &CopyOptions) -> Mode {
        let load = o.load_data && job.loadable() && !job.statements_in_parallel;
        if load && job.text_exact() {
            Mode::TextLoad
        } else if load {
            Mode::BinaryLoad
        } else {
            Mode::Statements
        }
    }
}

/// Renders rows into a [`Payload`], one row at a time.
pub(crate) struct Render<'a> {
    job: &'a TableJob,
    pub mode: Mode,
    throttle: &'a Throttle,
    batch_bytes: usize,
    enum_zero: Vec<bool>,
    ncopied: usize,
    prefix: String,
    suffix: String,
    /// LOAD DATA fields.
    tsv: Vec<u8>,
    /// Rows and bytes already charged to the throttle (LOAD modes).
    charged: (u64, usize),
    /// Finished statements, and the one being filled with its rows and ENUM index-0 values.
    statements: Vec<(String, usize)>,
    sql: String,
    /// One row's literals, before it joins `sql` (reused).
    row_sql: String,
    batch_rows: u64,
    batch_zeros: usize,
    /// Rows rendered, and ENUM index-0 values among them (LOAD modes).
    pub rows: u64,
    zeros: usize,
}

impl<'a> Render<'a> {
    pub fn new(job: &'a TableJob, o: &'a CopyOptions, batch_bytes: usize) -> Self {
        let mode = Mode::of(job, o);
        // REPLACE: a row read again in a later chunk (its key moved during the copy) is the
        // newer state and replaces the row it collides with, as the applier does.
        let verb = match o.existing_rows {
            ExistingRows::Replace => "REPLACE",
            ExistingRows::Ignore => "INSERT",
        };
        let prefix = format!("{verb} INTO {} ({}) VALUES ", job.map.target.quoted(), job.insert_list());
        let suffix = match o.existing_rows {
            ExistingRows::Replace => String::new(),
            ExistingRows::Ignore => {
                let first = job.columns.iter().find(|c| c.copied).expect("a copied column");
                let c = dts_types::quote_ident(&first.target);
                format!(" ON DUPLICATE KEY UPDATE {c} = {c}")
            }
        };
        let mut r = Render {
            job,
            mode,
            throttle: &o.throttle,
            batch_bytes,
            enum_zero: job.enum_zero_columns(),
            ncopied: job.copied_count(),
            prefix,
            suffix,
            tsv: Vec::new(),
            charged: (0, 0),
            statements: Vec::new(),
            sql: String::new(),
            row_sql: String::new(),
            batch_rows: 0,
            batch_zeros: 0,
            rows: 0,
            zeros: 0,
        };
        r.reset();
        r
    }

    fn reset(&mut self) {
        if self.mode == Mode::Statements {
            self.sql = String::with_capacity(self.batch_bytes + 4096);
            self.sql.push_str(&self.prefix);
        } else {
            self.tsv = Vec::with_capacity(1 << 20);
        }
    }

    /// Whether the rows are read with the text protocol (`query_iter`, else `exec_iter`).
    pub fn text_protocol(&self) -> bool {
        self.mode == Mode::TextLoad
    }

    /// Bytes rendered so far.
    pub fn bytes(&self) -> usize {
        self.tsv.len() + self.sql.len() + self.statements.iter().map(|s| s.0.len()).sum::<usize>()
    }

    /// Renders one row as read from the source.
    pub fn push(&mut self, row: mysql::Row) -> Result<(), CopyError> {
        let mut values = row.unwrap();
        values.truncate(self.ncopied);
        let empty_enum =
            |i: usize, v: &mysql::Value| self.enum_zero[i] && matches!(v, mysql::Value::Bytes(b) if b.is_empty());
        match self.mode {
            Mode::TextLoad | Mode::BinaryLoad => {
                for (i, (v, col)) in values.into_iter().zip(&self.job.columns).enumerate() {
                    if i > 0 {
                        self.tsv.push(b'\t');
                    }
                    self.zeros += usize::from(empty_enum(i, &v));
                    if self.mode == Mode::TextLoad {
                        crate::tsv::push_text_field(&mut self.tsv, &v)?;
                    } else {
                        crate::tsv::push_field(&mut self.tsv, &col.ty, v)?;
                    }
                }
                self.tsv.push(b'\n');
                self.rows += 1;
                if self.tsv.len() - self.charged.1 >= self.batch_bytes {
                    self.charge();
                }
            }
            Mode::Statements => {
                // The row first on its own: a statement ends before a row that would take it
                // past `batch_bytes` (kept under the destination's max_allowed_packet), so only
                // a row larger than that by itself makes a larger statement.
                let mut row_sql = std::mem::take(&mut self.row_sql);
                row_sql.clear();
                row_sql.push('(');
                let mut zeros = 0;
                for (i, (v, col)) in values.into_iter().zip(&self.job.columns).enumerate() {
                    if i > 0 {
                        row_sql.push(',');
                    }
                    let v = Value::from_param(&col.ty, v)?;
                    zeros += usize::from(v.is_enum_zero());
                    v.write_sql_literal(&mut row_sql)?;
                }
                row_sql.push(')');
                if self.batch_rows > 0 && self.sql.len() + 1 + row_sql.len() + self.suffix.len() > self.batch_bytes {
                    self.end_statement();
                    self.sql.push_str(&self.prefix);
                }
                if self.batch_rows > 0 {
                    self.sql.push(',');
                }
                self.sql.push_str(&row_sql);
                self.row_sql = row_sql;
                self.batch_zeros += zeros;
                self.rows += 1;
                self.batch_rows += 1;
            }
        }
        Ok(())
    }

    fn end_statement(&mut self) {
        self.throttle.charge(0, self.batch_rows, self.sql.len() as u64);
        self.sql.push_str(&self.suffix);
        let full = std::mem::replace(&mut self.sql, String::with_capacity(self.batch_bytes + 4096));
        self.statements.push((full, std::mem::take(&mut self.batch_zeros)));
        self.batch_rows = 0;
    }

    fn charge(&mut self) {
        self.throttle.charge(0, self.rows - self.charged.0, (self.tsv.len() - self.charged.1) as u64);
        self.charged = (self.rows, self.tsv.len());
    }

    /// The payload of the rows pushed since the last `take`, and how many they are; the
    /// renderer starts afresh.
    pub fn take(&mut self) -> (Payload, u64) {
        let payload = match self.mode {
            Mode::TextLoad | Mode::BinaryLoad => {
                self.charge();
                self.charged = (0, 0);
                Payload::Load(std::mem::take(&mut self.tsv), std::mem::take(&mut self.zeros))
            }
            Mode::Statements => {
                if self.batch_rows > 0 {
                    self.end_statement();
                }
                Payload::Inserts(std::mem::take(&mut self.statements))
            }
        };
        let rows = std::mem::take(&mut self.rows);
        self.reset();
        (payload, rows)
    }
}
