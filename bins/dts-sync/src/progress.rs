//! Progress of the full copy: bars per table and in total on a terminal (indicatif), a log
//! line every ten seconds otherwise.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dts_fullcopy::Progress;
use dts_task::SchemaProgress;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Shows schema sync's and the full copy's progress until `done` or `incremental` (both are
/// over) is set.
pub fn show(schema: Arc<SchemaProgress>, progress: Arc<Progress>, done: Arc<AtomicBool>, incremental: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let over = || done.load(Ordering::Relaxed) || incremental.load(Ordering::Relaxed);
        if std::io::stderr().is_terminal() { bars(&schema, &progress, &over) } else { lines(&progress, &over) }
    });
}

fn bars(schema: &SchemaProgress, progress: &Progress, over: &dyn Fn() -> bool) {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let schema_bar = multi.add(
        ProgressBar::new(0)
            .with_style(
                ProgressStyle::with_template("{prefix:>32} [{bar:30}] {pos:>10}/{len:10} statements")
                    .expect("a valid template")
                    .progress_chars("=> "),
            )
            .with_prefix("schema"),
    );
    let style = ProgressStyle::with_template("{prefix:>32} [{bar:30}] {pos:>10}/{len:10} rows {per_sec:>12} {eta:>4}")
        .expect("a valid template")
        .progress_chars("=> ");
    let total = multi.add(ProgressBar::new(0).with_style(style.clone()).with_prefix("total"));
    let mut bars: Vec<(String, ProgressBar)> = Vec::new();
    while !over() {
        schema_bar.set_length(schema.total.load(Ordering::Relaxed));
        schema_bar.set_position(schema.done.load(Ordering::Relaxed));
        let snap = progress.snapshot();
        for t in &snap {
            let name = t.table.to_string().replace('`', "");
            let bar = match bars.iter().find(|(n, _)| *n == name) {
                Some((_, b)) => b.clone(),
                None => {
                    let b = multi
                        .insert_before(&total, ProgressBar::new(0).with_style(style.clone()).with_prefix(name.clone()));
                    bars.push((name, b.clone()));
                    b
                }
            };
            // A finished table's length is what was copied (the server's row estimate is rough).
            bar.set_length(if t.finished { t.rows_done } else { t.rows_estimate.max(t.rows_done) });
            bar.set_position(t.rows_done);
            if t.finished && !bar.is_finished() {
                bar.finish();
            }
        }
        total.set_length(snap.iter().map(|t| t.rows_estimate.max(t.rows_done)).sum());
        total.set_position(snap.iter().map(|t| t.rows_done).sum());
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = multi.clear();
}

fn lines(progress: &Progress, over: &dyn Fn() -> bool) {
    let mut last = Instant::now();
    while !over() {
        std::thread::sleep(Duration::from_millis(200));
        if last.elapsed() < Duration::from_secs(10) {
            continue;
        }
        last = Instant::now();
        let snap = progress.snapshot();
        if snap.is_empty() {
            continue;
        }
        let rows: u64 = snap.iter().map(|t| t.rows_done).sum();
        let estimate: u64 = snap.iter().map(|t| t.rows_estimate.max(t.rows_done)).sum();
        let finished = snap.iter().filter(|t| t.finished).count();
        tracing::info!(rows, estimate, tables_done = finished, tables = snap.len(), "full copy progress");
    }
}
