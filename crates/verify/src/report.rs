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

/// The result for one table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TableResult {
    /// The source table, `db.table`.
    pub source: String,
    /// The destination table, `db.table`.
    pub target: String,
    /// Schema differences (missing table or columns, types, keys).
    pub schema: Vec<String>,
    /// Rows on each side (the source's within the filter); `None` when not counted: a table
    /// settled by equal `CHECKSUM TABLE`s is not scanned again just to count it.
    pub source_rows: Option<u64>,
    /// Rows on the destination (`None`: not counted, as above).
    pub destination_rows: Option<u64>,
    /// Chunks compared.
    pub chunks: u64,
    /// Chunks whose checksums differed (compared row by row).
    pub chunks_differing: u64,
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
    /// Rows read on the source and the destination.
    pub rows_compared: u64,
    /// How long the comparison took.
    pub seconds: f64,
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

    /// The result of a source table (`db.table`).
    pub fn table(&self, source: &str) -> Option<&TableResult> {
        self.tables.iter().find(|t| t.source == source)
    }

    /// The report as JSON for programs.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Out<'a> {
            identical: bool,
            differences: u64,
            unsettled: u64,
            #[serde(flatten)]
            report: &'a Report,
        }
        serde_json::to_string_pretty(&Out {
            identical: self.identical(),
            differences: self.differences(),
            unsettled: self.unsettled(),
            report: self,
        })
        .expect("a report serializes")
    }

    /// One line per table, then each difference.
    pub fn to_table(&self) -> String {
        let w = self.tables.iter().map(|t| t.source.len()).max().unwrap_or(5).max(5);
        let mut out = format!(
            "{:<w$}  {:>10}  {:>10}  {:>8}  {:>8}  {:>9}  SCHEMA\n",
            "TABLE", "SOURCE", "DEST", "MISSING", "EXTRA", "DIFFERENT"
        );
        for t in &self.tables {
            out.push_str(&format!(
                "{:<w$}  {:>10}  {:>10}  {:>8}  {:>8}  {:>9}  {}\n",
                t.source,
                t.source_rows.map_or("-".into(), |n| n.to_string()),
                t.destination_rows.map_or("-".into(), |n| n.to_string()),
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
        out.push_str(&format!(
            "{} table(s), {} row(s) compared in {:.2} s: {}\n",
            self.tables.len(),
            self.rows_compared,
            self.seconds,
            if self.identical() { "identical".to_string() } else { format!("{} difference(s)", self.differences()) }
        ));
        out
    }

    /// A SQL script that makes the destination's rows equal to the source's: deletions of
    /// extra rows first, then the missing and different rows written whole.
    pub fn repair_sql(&self) -> String {
        let mut out = String::from("-- dts-sync verify: repair of the destination\n");
        for s in dts_types::session::init_statements() {
            out.push_str(&s);
            out.push_str(";\n");
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
