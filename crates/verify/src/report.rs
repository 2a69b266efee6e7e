//! What a comparison found, per table, and its three renderings: a summary table, JSON, and
//! the SQL that repairs the destination.

use serde::Serialize;

/// One row that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowDiff {
    /// The key as SQL literals (`id=7`), or the whole row for a table without a key.
    pub key: String,
    /// For a row in both: the columns that differ (source names).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// The statement that makes the destination's row what the source's is.
    pub repair: String,
}

/// How a table's rows were settled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettledBy {
    /// Equal `CHECKSUM TABLE` on both servers (and equal row counts): nothing read row by row.
    TableChecksum,
    /// Key-range chunks' checksums; the chunks that differed were compared row by row.
    #[default]
    Chunks,
    /// A table without a usable key: compared whole as a multiset of rows.
    Multiset,
    /// Not compared: the table does not exist on the destination.
    NotCompared,
}

impl SettledBy {
    /// The words the summary table shows.
    pub fn as_str(self) -> &'static str {
        match self {
            SettledBy::TableChecksum => "checksum equal",
            SettledBy::Chunks => "chunks",
            SettledBy::Multiset => "multiset",
            SettledBy::NotCompared => "not compared",
        }
    }
}

/// The result for one table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TableResult {
    /// The source table, `db.table`.
    pub source: String,
    /// The destination table, `db.table`.
    pub target: String,
    /// Schema differences (missing table or columns, types, keys).
    pub schema: Vec<String>,
    /// The statements that make the destination's schema the source's (`ALTER TABLE`, quoted),
    /// run before the row repairs; a difference no ALTER can repair (a missing table) is named
    /// in `schema_unrepaired`.
    pub schema_repair: Vec<String>,
    /// Schema differences the repair does not cover, with what to do instead.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schema_unrepaired: Vec<String>,
    /// How the rows were settled.
    pub settled_by: SettledBy,
    /// Rows on the source (within the row filter); `None` only when it could not be counted.
    pub source_rows: Option<u64>,
    /// Rows on the destination (`None`: the table does not exist there).
    pub destination_rows: Option<u64>,
    /// Chunks compared.
    pub chunks: u64,
    /// Chunks whose checksums differed (compared row by row).
    pub chunks_differing: u64,
    /// Rows compared row by row (by key and row hash: the keys of the differing chunks, on
    /// either side; for a keyless table, its source rows): the rest were settled by checksums.
    pub rows_compared_by_row: u64,
    /// Rows on the source, not on the destination.
    pub missing: Vec<RowDiff>,
    /// Rows on the destination, not on the source (or outside the row filter).
    pub extra: Vec<RowDiff>,
    /// Rows on both whose columns differ.
    pub different: Vec<RowDiff>,
    /// Differences beyond the per-table limit: counted, not listed.
    pub unlisted: u64,
    /// Rows that kept changing on the source through every re-check while sync ran: neither
    /// proven equal nor different (not counted as differences; verify again later).
    pub unsettled: u64,
}

impl TableResult {
    /// Row differences, listed and unlisted.
    pub fn differences(&self) -> u64 {
        (self.missing.len() + self.extra.len() + self.different.len()) as u64 + self.unlisted
    }

    /// No difference and nothing unsettled.
    pub fn identical(&self) -> bool {
        self.schema.is_empty() && self.differences() == 0 && self.unsettled == 0
    }
}

/// Every table compared.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// One result per table.
    pub tables: Vec<TableResult>,
    /// How long the comparison took.
    pub seconds: f64,
    /// What `verify --apply` repaired and refused (`None`: it did not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply: Option<crate::repair::Applied>,
}

/// The report's totals, as the summary line and the JSON show them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Rows on the source, over every table counted.
    pub source_rows: u64,
    /// Rows on the destination, over every table counted.
    pub destination_rows: u64,
    /// Rows compared row by row (never the two sides added together).
    pub rows_compared_by_row: u64,
    /// Tables settled by equal `CHECKSUM TABLE`s.
    pub tables_settled_by_checksum: u64,
}

impl Report {
    /// Every table identical.
    pub fn identical(&self) -> bool {
        self.tables.iter().all(TableResult::identical)
    }

    /// Row differences plus schema differences.
    pub fn differences(&self) -> u64 {
        self.tables.iter().map(|t| t.differences() + t.schema.len() as u64).sum()
    }

    /// Rows unsettled, over all tables.
    pub fn unsettled(&self) -> u64 {
        self.tables.iter().map(|t| t.unsettled).sum()
    }

    /// The totals over every table.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for r in &self.tables {
            t.source_rows += r.source_rows.unwrap_or(0);
            t.destination_rows += r.destination_rows.unwrap_or(0);
            t.rows_compared_by_row += r.rows_compared_by_row;
            t.tables_settled_by_checksum += (r.settled_by == SettledBy::TableChecksum) as u64;
        }
        t
    }

    /// The result of a source table (`db.table`).
    pub fn table(&self, source: &str) -> Option<&TableResult> {
        self.tables.iter().find(|t| t.source == source)
    }

    /// The report as JSON for programs (fields documented in docs/verify.md; `version` changes
    /// only when a field changes meaning or goes away).
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Out<'a> {
            version: u32,
            identical: bool,
            differences: u64,
            unsettled: u64,
            #[serde(flatten)]
            totals: Totals,
            #[serde(flatten)]
            report: &'a Report,
        }
        serde_json::to_string_pretty(&Out {
            version: JSON_VERSION,
            identical: self.identical(),
            differences: self.differences(),
            unsettled: self.unsettled(),
            totals: self.totals(),
            report: self,
        })
        .expect("a report serializes")
    }

    /// One line per table, then each difference.
    pub fn to_table(&self) -> String {
        let w = self.tables.iter().map(|t| t.source.len()).max().unwrap_or(5).max(5);
        let count = |n: Option<u64>| n.map_or("-".to_string(), |n| n.to_string());
        let mut out = format!(
            "{:<w$}  {:>10}  {:>10}  {:<17}  {:>8}  {:>8}  {:>8}  {:>9}  SCHEMA\n",
            "TABLE", "SOURCE", "DEST", "SETTLED BY", "BY ROW", "MISSING", "EXTRA", "DIFFERENT"
        );
        for t in &self.tables {
            let settled = match t.settled_by {
                SettledBy::Chunks if t.chunks_differing > 0 => {
                    format!("{}/{} chunks differ", t.chunks_differing, t.chunks)
                }
                SettledBy::Chunks => format!("{} chunk(s)", t.chunks),
                other => other.as_str().to_string(),
            };
            out.push_str(&format!(
                "{:<w$}  {:>10}  {:>10}  {:<17}  {:>8}  {:>8}  {:>8}  {:>9}  {}\n",
                t.source,
                count(t.source_rows),
                count(t.destination_rows),
                settled,
                t.rows_compared_by_row,
                t.missing.len(),
                t.extra.len(),
                t.different.len(),
                if t.schema.is_empty() { "same".to_string() } else { format!("{} difference(s)", t.schema.len()) }
            ));
        }
        for t in self.tables.iter().filter(|t| !t.identical()) {
            out.push_str(&format!("\n{} -> {}\n", t.source, t.target));
            for s in &t.schema {
                out.push_str(&format!("  schema: {s}\n"));
            }
            for d in &t.missing {
                out.push_str(&format!("  missing in destination: {}\n", d.key));
            }
            for d in &t.extra {
                out.push_str(&format!("  extra in destination: {}\n", d.key));
            }
            for d in &t.different {
                out.push_str(&format!("  different: {} (columns {})\n", d.key, d.columns.join(", ")));
            }
            if t.unlisted > 0 {
                out.push_str(&format!("  ... and {} more differences not listed\n", t.unlisted));
            }
            if t.unsettled > 0 {
                out.push_str(&format!(
                    "  {} row(s) kept changing on the source while compared: not settled, verify again later\n",
                    t.unsettled
                ));
            }
        }
        let tot = self.totals();
        out.push_str(&format!(
            "{} table(s): {} row(s) on the source, {} on the destination; {} table(s) settled by equal checksums, \
             {} row(s) compared row by row; {:.2} s: {}\n",
            self.tables.len(),
            tot.source_rows,
            tot.destination_rows,
            tot.tables_settled_by_checksum,
            tot.rows_compared_by_row,
            self.seconds,
            if self.identical() { "identical".to_string() } else { format!("{} difference(s)", self.differences()) }
        ));
        if let Some(a) = &self.apply {
            out.push_str(&a.to_text());
        }
        out
    }

    /// A SQL script that makes the destination equal to the source: the schema's ALTERs first
    /// (each its own statement: DDL commits by itself), then, in one transaction, deletions of
    /// extra rows, then the missing and different rows written whole.
    pub fn repair_sql(&self) -> String {
        let mut out = String::from("-- dts-sync verify: repair of the destination\n");
        for s in dts_types::session::init_statements() {
            out.push_str(&s);
            out.push_str(";\n");
        }
        for t in &self.tables {
            for a in &t.schema_repair {
                out.push_str(a);
                out.push_str(";\n");
            }
            for u in &t.schema_unrepaired {
                out.push_str(&format!("-- {}: {u}\n", t.target));
            }
        }
        out.push_str("SET foreign_key_checks = 0;\nSTART TRANSACTION;\n");
        for t in &self.tables {
            for d in t.extra.iter().chain(&t.missing).chain(&t.different) {
                out.push_str(&d.repair);
                out.push_str(";\n");
            }
            if t.unlisted > 0 {
                out.push_str(&format!(
                    "-- {}: {} more differences are not listed; sync this table again\n",
                    t.target, t.unlisted
                ));
            }
        }
        out.push_str("COMMIT;\n");
        out
    }
}

/// The JSON report's `version`.
pub const JSON_VERSION: u32 = 1;
