//! What the progress display shows of each phase, as text: the live lines of a terminal
//! (each cut to the terminal's width, so nothing wraps), the progress line logged off a
//! terminal, and the closing summary of a phase. Pure functions of a [`View`], so the layout
//! is tested without a terminal.

use crate::human::{bytes, bytes_rate, count, duration, fit, fit_middle, pad, rate};

/// Schema sync so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaView {
    /// Statements run.
    pub done: u64,
    /// Statements planned (0 while the plan is being made).
    pub total: u64,
    /// Seconds since the phase began.
    pub elapsed: f64,
}

/// One table of the full copy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableView {
    /// `db.table`, unquoted.
    pub name: String,
    /// Rows copied in this run.
    pub rows_done: u64,
    /// Rows to copy: the server's estimate until the table is finished, then exact.
    pub rows_total: u64,
    /// Every chunk is copied.
    pub finished: bool,
}

/// The full copy so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CopyView {
    /// Every table the copy planned (empty while it plans).
    pub tables: Vec<TableView>,
    /// Bytes copied in this run.
    pub bytes_done: u64,
    /// Seconds since the phase began.
    pub elapsed: f64,
    /// Rows and bytes per second over the last few seconds, once measured (the phase's
    /// average includes planning the chunks).
    pub recent: Option<(f64, f64)>,
}

impl CopyView {
    /// Rows copied.
    pub fn rows_done(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_done).sum()
    }

    /// Rows to copy: exact once every table is finished (an estimate before).
    pub fn rows_total(&self) -> u64 {
        self.tables.iter().map(|t| if t.finished { t.rows_done } else { t.rows_total.max(t.rows_done) }).sum()
    }

    /// Tables finished.
    pub fn tables_done(&self) -> usize {
        self.tables.iter().filter(|t| t.finished).count()
    }

    /// Whether [`CopyView::rows_total`] is exact.
    pub fn total_exact(&self) -> bool {
        !self.tables.is_empty() && self.tables.iter().all(|t| t.finished)
    }

    /// Rows and bytes per second now: over the last few seconds, else since the phase began.
    fn rates(&self) -> (f64, f64) {
        self.recent
            .unwrap_or((per_sec(self.rows_done() as f64, self.elapsed), per_sec(self.bytes_done as f64, self.elapsed)))
    }

    /// Seconds left at the rate now, once there is a rate.
    pub fn eta(&self) -> Option<f64> {
        let r = self.rates().0;
        (r > 0.0).then(|| self.rows_total().saturating_sub(self.rows_done()) as f64 / r)
    }
}

/// Incremental sync so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncrementalView {
    /// Seconds behind the source (`status`'s lag), once known.
    pub lag_seconds: Option<f64>,
    /// Source transactions per second, over the last few seconds.
    pub transactions_per_sec: f64,
    /// Row changes per second, over the last few seconds.
    pub rows_per_sec: f64,
    /// Source transactions applied in this run.
    pub transactions: u64,
    /// Row changes applied in this run.
    pub rows: u64,
    /// Bytes of binlog read in this run.
    pub binlog_bytes: u64,
    /// The last DDL statement, with its outcome (`applied: ALTER TABLE ...`).
    pub last_ddl: Option<String>,
    /// Seconds since the phase began.
    pub elapsed: f64,
}

/// The running phase.
#[derive(Debug, Clone, PartialEq)]
pub enum View {
    /// Before the first phase: the precheck, taking the lease.
    Starting,
    /// Schema sync.
    Schema(SchemaView),
    /// The full copy.
    Copy(CopyView),
    /// Incremental sync.
    Incremental(IncrementalView),
}

/// Table lines shown at most on a terminal; the rest are counted in one line.
pub const MAX_TABLE_LINES: usize = 8;

fn per_sec(n: f64, secs: f64) -> f64 {
    if secs > 0.0 { n / secs } else { 0.0 }
}

fn percent(done: u64, total: u64) -> String {
    (done.min(total) as u128 * 100).checked_div(total as u128).map_or("0%".into(), |p| format!("{p}%"))
}

/// `label [=====>    ] right` in at most `width` columns: the label cut to a third of the
/// width at most, `right` padded to `right_w` (so that the bars of a block line up), the bar
/// taking what is left (none when fewer than 8 columns are).
fn bar_line(width: usize, label: &str, fraction: f64, right: &str, right_w: usize) -> String {
    let label_w = label.chars().count().min(28).min(width / 3);
    let right = fit(&pad(right, right_w), width.saturating_sub(label_w + 1));
    let right_w = right.chars().count();
    let bar_w = width.saturating_sub(label_w + right_w + 4);
    if bar_w < 8 {
        return fit(&format!("{} {right}", pad(label, label_w)), width);
    }
    let filled = ((fraction.clamp(0.0, 1.0) * bar_w as f64) as usize).min(bar_w);
    let mut bar = "=".repeat(filled);
    if filled < bar_w {
        bar.push(if filled > 0 { '>' } else { ' ' });
        bar.push_str(&" ".repeat(bar_w - filled - 1));
    }
    format!("{} [{bar}] {right}", pad(label, label_w)).trim_end().to_string()
}

fn fraction(done: u64, total: u64) -> f64 {
    if total == 0 { 0.0 } else { done as f64 / total as f64 }
}

/// The terminal's lines for `view`, none longer than `width` columns.
pub fn render(view: &View, width: usize) -> Vec<String> {
    let label_w = 24.min(width / 3);
    let mut lines = Vec::new();
    match view {
        View::Starting => lines.push(fit("precheck ...", width)),
        View::Schema(s) => {
            let right = if s.total == 0 {
                "planning".to_string()
            } else {
                format!("{}/{} statements", count(s.done), count(s.total))
            };
            lines.push(bar_line(width, "schema sync", fraction(s.done, s.total), &right, 0));
        }
        View::Copy(c) if c.tables.is_empty() => lines.push(fit("full copy: planning the chunks ...", width)),
        View::Copy(c) => {
            let mut shown: Vec<&TableView> = c.tables.iter().collect();
            // Tables being copied first, then those waiting, then the finished ones.
            shown.sort_by_key(|t| (t.finished, t.rows_done == 0, t.name.clone()));
            // (label, fraction, right) of each bar, the total last.
            let mut bars: Vec<(String, f64, String)> = Vec::new();
            for t in shown.iter().take(MAX_TABLE_LINES) {
                let total = if t.finished { t.rows_done } else { t.rows_total.max(t.rows_done) };
                let right = if t.finished {
                    format!("{} rows, done", count(t.rows_done))
                } else {
                    format!("{}/{} rows {}", count(t.rows_done), count(total), percent(t.rows_done, total))
                };
                bars.push((pad(&fit_middle(&t.name, label_w), label_w), fraction(t.rows_done, total), right));
            }
            let (done, total) = (c.rows_done(), c.rows_total());
            let of = if c.total_exact() { "" } else { "~" };
            let label = format!("total {}/{} tables", c.tables_done(), c.tables.len());
            let right = format!("{}/{of}{} rows {}", count(done), count(total), percent(done, total));
            bars.push((pad(&label, label_w), fraction(done, total), right));
            let right_w = bars.iter().map(|b| b.2.chars().count()).max().unwrap_or(0);
            let last = bars.len() - 1;
            for (i, (label, f, right)) in bars.iter().enumerate() {
                if i == last && shown.len() > MAX_TABLE_LINES {
                    lines.push(fit(&format!("  ... and {} more tables", shown.len() - MAX_TABLE_LINES), width));
                }
                lines.push(bar_line(width, label, *f, right, right_w));
            }
            let eta = c.eta().map_or("ETA ?".to_string(), |s| format!("ETA {}", duration(s)));
            let (rows, bytes) = c.rates();
            lines.push(fit(
                &format!("  {}  {}  {eta}  elapsed {}", rate(rows, "rows"), bytes_rate(bytes), duration(c.elapsed)),
                width,
            ));
        }
        View::Incremental(i) => {
            let lag = i.lag_seconds.map_or("?".to_string(), duration);
            lines.push(fit(
                &format!(
                    "incremental  lag {lag}  {}  {}",
                    rate(i.transactions_per_sec, "txn"),
                    rate(i.rows_per_sec, "rows")
                ),
                width,
            ));
            lines.push(fit(
                &format!(
                    "  applied    {} transactions, {} row changes in {}",
                    count(i.transactions),
                    count(i.rows),
                    duration(i.elapsed)
                ),
                width,
            ));
            if let Some(d) = &i.last_ddl {
                lines.push(fit(&format!("  last DDL   {d}"), width));
            }
        }
    }
    lines
}

/// The progress line logged off a terminal (no width limit: a log line).
pub fn line(view: &View) -> Option<String> {
    Some(match view {
        View::Starting => return None,
        View::Schema(s) if s.total == 0 => format!("schema sync: planning ({} so far)", duration(s.elapsed)),
        View::Schema(s) => format!(
            "schema sync: {}/{} statements ({}), {} so far",
            count(s.done),
            count(s.total),
            percent(s.done, s.total),
            duration(s.elapsed)
        ),
        View::Copy(c) if c.tables.is_empty() => {
            format!("full copy: planning the chunks ({} so far)", duration(c.elapsed))
        }
        View::Copy(c) => {
            let (done, total) = (c.rows_done(), c.rows_total());
            let (rows, bytes) = c.rates();
            format!(
                "full copy: {}/{}{} rows ({}), {}/{} tables, {}, {}, ETA {}",
                count(done),
                if c.total_exact() { "" } else { "~" },
                count(total),
                percent(done, total),
                c.tables_done(),
                c.tables.len(),
                rate(rows, "rows"),
                bytes_rate(bytes),
                c.eta().map_or("?".to_string(), duration)
            )
        }
        View::Incremental(i) => {
            let mut s = format!(
                "incremental sync: lag {}, {}, {}, applied {} transactions and {} row changes in {}",
                i.lag_seconds.map_or("?".to_string(), duration),
                rate(i.transactions_per_sec, "txn"),
                rate(i.rows_per_sec, "rows"),
                count(i.transactions),
                count(i.rows),
                duration(i.elapsed)
            );
            if let Some(d) = &i.last_ddl {
                s.push_str(&format!(", last DDL {d}"));
            }
            s
        }
    })
}

/// The closing summary of the phase `view` shows, which ended as `how` (`done`, `stopped`,
/// `failed`, `caught up`).
pub fn summary(view: &View, how: &str) -> Option<String> {
    Some(match view {
        View::Starting => return None,
        View::Schema(s) => {
            format!("schema sync {how}: {} of {} statements in {}", count(s.done), count(s.total), duration(s.elapsed))
        }
        View::Copy(c) => {
            let (rows, secs) = (c.rows_done(), c.elapsed);
            format!(
                "full copy {how}: {} rows ({}) of {}/{} tables in {}: {}, {}",
                count(rows),
                bytes(c.bytes_done),
                c.tables_done(),
                c.tables.len(),
                duration(secs),
                rate(per_sec(rows as f64, secs), "rows"),
                bytes_rate(per_sec(c.bytes_done as f64, secs))
            )
        }
        View::Incremental(i) => format!(
            "incremental sync {how}: {} transactions, {} row changes ({} of binlog) in {}: {}, {}",
            count(i.transactions),
            count(i.rows),
            bytes(i.binlog_bytes),
            duration(i.elapsed),
            rate(per_sec(i.transactions as f64, i.elapsed), "txn"),
            rate(per_sec(i.rows as f64, i.elapsed), "rows")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy() -> CopyView {
        let mut tables: Vec<TableView> = (0..12)
            .map(|i| TableView {
                name: format!("a_rather_long_database_name.order_lines_archive_{i}"),
                rows_done: i * 1_000_000,
                rows_total: 12_000_000,
                finished: i == 3,
            })
            .collect();
        tables[0].rows_done = 0;
        CopyView { tables, bytes_done: 9_876_543_210, elapsed: 654.3, recent: None }
    }

    fn views() -> Vec<View> {
        vec![
            View::Starting,
            View::Schema(SchemaView { done: 0, total: 0, elapsed: 0.2 }),
            View::Schema(SchemaView { done: 1234, total: 98_765, elapsed: 33.0 }),
            View::Copy(CopyView::default()),
            View::Copy(copy()),
            View::Incremental(IncrementalView {
                lag_seconds: Some(1234.5),
                transactions_per_sec: 98_355_496.105_1,
                rows_per_sec: 123_456_789.0,
                transactions: 9_876_543_210,
                rows: 98_765_432_109,
                binlog_bytes: 1 << 40,
                last_ddl: Some(format!("applied: ALTER TABLE `shop`.`orders` ADD COLUMN {}", "x".repeat(200))),
                elapsed: 86_400.0 * 3.0,
            }),
        ]
    }

    #[test]
    fn no_line_is_wider_than_the_terminal() {
        for width in [20, 40, 79, 80, 120, 200] {
            for v in views() {
                let text = render(&v, width).join("\n");
                for l in text.lines() {
                    assert!(l.chars().count() <= width, "{width} columns: {l:?} has {}", l.chars().count());
                }
            }
        }
    }

    #[test]
    fn at_80_columns_the_copy_shows_bars_names_rates_and_the_eta() {
        let text = render(&View::Copy(copy()), 80).join("\n");
        println!("{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), MAX_TABLE_LINES + 3, "{text}");
        // Tables being copied first; the one not started and the finished one after them.
        assert!(lines[0].starts_with("a_rathe…_lines_archive_1 [=>   "), "{text}");
        assert!(lines[0].ends_with("] 1,000,000/12,000,000 rows 8%"), "{text}");
        // Not started and finished tables come after the ones being copied: left out here.
        assert!(lines.iter().all(|l| !l.contains("archive_0 ") && !l.contains("archive_3 ")), "{text}");
        assert_eq!(lines[MAX_TABLE_LINES], "  ... and 4 more tables");
        assert!(lines[MAX_TABLE_LINES + 1].starts_with("total 1/12 tables        [=="), "{text}");
        assert!(lines[MAX_TABLE_LINES + 1].ends_with("] 66,000,000/~135,000,000 rows 48%"), "{text}");
        // The bars line up: every one ends in the same column.
        let ends: Vec<usize> =
            lines.iter().filter(|l| l.contains("] ")).map(|l| l.split("] ").next().unwrap().chars().count()).collect();
        assert_eq!(ends.len(), MAX_TABLE_LINES + 1, "{text}");
        assert!(ends.iter().all(|e| *e == ends[0]), "{text}");
        assert_eq!(lines[MAX_TABLE_LINES + 2], "  100,871 rows/s  14.4 MiB/s  ETA 11m 24s  elapsed 10m 54s");
    }

    #[test]
    fn the_rate_now_and_the_eta_come_from_the_last_seconds_once_measured() {
        let c = CopyView { recent: Some((1000.0, 2048.0)), ..copy() };
        assert_eq!(c.eta(), Some(69_000.0));
        let l = line(&View::Copy(c.clone())).unwrap();
        assert!(l.ends_with(", 1,000 rows/s, 2.0 KiB/s, ETA 19h 10m"), "{l}");
        // The summary is the phase's average.
        assert!(summary(&View::Copy(c), "done").unwrap().ends_with(": 100,871 rows/s, 14.4 MiB/s"));
    }

    #[test]
    fn the_total_is_exact_once_every_table_is_finished() {
        let mut c = copy();
        assert!(!c.total_exact());
        for t in &mut c.tables {
            t.finished = true;
        }
        // Finished tables count what was copied, not the server's estimate.
        assert_eq!(c.rows_total(), c.rows_done());
        assert!(c.total_exact());
        let total = render(&View::Copy(c), 80).into_iter().find(|l| l.starts_with("total")).unwrap();
        assert!(total.contains("66,000,000/66,000,000 rows") && total.contains("======]"), "{total}");
        assert_eq!(CopyView::default().rows_total(), 0);
    }

    #[test]
    fn incremental_shows_lag_rates_applied_and_the_last_ddl_in_human_units() {
        let v = &views()[5];
        let lines = render(v, 80);
        assert_eq!(lines[0], "incremental  lag 20m 35s  98.4 M txn/s  123.5 M rows/s");
        assert_eq!(lines[1], "  applied    9,876,543,210 transactions, 98,765,432,109 row changes in 3d 00h");
        assert!(lines[2].starts_with("  last DDL   applied: ALTER TABLE `shop`.`orders` ADD COLUMN xx"));
        assert_eq!(lines[2].chars().count(), 80);
        let l = line(v).unwrap();
        assert!(
            l.starts_with("incremental sync: lag 20m 35s, 98.4 M txn/s, 123.5 M rows/s, applied 9,876,543,210"),
            "{l}"
        );
        assert!(!l.contains(".1051"), "{l}");
    }

    #[test]
    fn lines_and_summaries_name_the_phase_and_its_figures() {
        let v = views();
        assert_eq!(line(&v[0]), None);
        assert_eq!(line(&v[2]).unwrap(), "schema sync: 1,234/98,765 statements (1%), 33 s so far");
        assert_eq!(summary(&v[2], "done").unwrap(), "schema sync done: 1,234 of 98,765 statements in 33 s");
        assert_eq!(
            line(&v[4]).unwrap(),
            "full copy: 66,000,000/~135,000,000 rows (48%), 1/12 tables, 100,871 rows/s, 14.4 MiB/s, ETA 11m 24s"
        );
        assert_eq!(
            summary(&v[4], "stopped").unwrap(),
            "full copy stopped: 66,000,000 rows (9.2 GiB) of 1/12 tables in 10m 54s: 100,871 rows/s, 14.4 MiB/s"
        );
        let i =
            IncrementalView { transactions: 30, rows: 300, binlog_bytes: 40_000, elapsed: 6.0, ..Default::default() };
        assert_eq!(
            summary(&View::Incremental(i), "stopped").unwrap(),
            "incremental sync stopped: 30 transactions, 300 row changes (39.1 KiB of binlog) in 6.0 s: 5 txn/s, 50 rows/s"
        );
    }
}
