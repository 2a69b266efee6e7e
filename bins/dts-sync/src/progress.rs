//! Progress of a running task, in every phase: on a terminal a live display (schema sync's
//! statements, the full copy's tables and total with its ETA, incremental sync's lag and
//! rates), off a terminal a log line every `[monitor] progress_interval` seconds; in both a
//! closing summary of each phase as it ends, and of the whole run when the task stops.
//!
//! The figures come from the task's shared counters ([`dts_task::SchemaProgress`],
//! [`dts_fullcopy::Progress`], [`dts_task::InputStats`], [`dts_task::CurrentPhase`]) and, for
//! the lag and the last DDL, from `status` (read on a thread of its own, every 2 s, so a slow
//! server never freezes the display). The text is [`crate::progress_view`]'s.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dts_task::{Config, CurrentPhase, InputStats, Phase, SchemaProgress};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::human::{count, duration};
use crate::progress_view::{self, CopyView, IncrementalView, SchemaView, TableView, View};

/// What the display reads.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Schema sync's statements.
    pub schema: Arc<SchemaProgress>,
    /// The full copy's tables.
    pub copy: Arc<dts_fullcopy::Progress>,
    /// Incremental sync's counters.
    pub input: Arc<InputStats>,
    /// The phase now.
    pub phase: Arc<CurrentPhase>,
}

impl Sources {
    /// The counters `run` fills with these options.
    pub fn of(o: &dts_task::RunOptions) -> Sources {
        Sources {
            schema: o.schema_progress.clone(),
            copy: o.copy_progress.clone(),
            input: o.input_stats.clone(),
            phase: o.phase.clone(),
        }
    }
}

/// The running display: [`Display::finish`] ends it with the summaries.
pub struct Display {
    shared: Arc<Shared>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

struct Shared {
    stop: AtomicBool,
    tracker: Mutex<Tracker>,
}

/// How often the phase is looked at and the display drawn again.
const TICK: Duration = Duration::from_millis(100);
/// How often the lag and the last DDL are read (`status`).
const STATUS_EVERY: Duration = Duration::from_secs(2);
/// The window of incremental sync's rates.
const RATE_WINDOW: Duration = Duration::from_secs(5);

impl Display {
    /// Starts showing the task's progress: the live display when stderr is a terminal, else
    /// a progress line every `[monitor] progress_interval` seconds.
    pub fn start(config: &Config, sources: Sources) -> Arc<Display> {
        let terminal = std::io::stderr().is_terminal();
        let tracker = Tracker::new(config, sources, terminal);
        let shared = Arc::new(Shared { stop: AtomicBool::new(false), tracker: Mutex::new(tracker) });
        let s = shared.clone();
        let thread = std::thread::spawn(move || {
            while !s.stop.load(Ordering::Relaxed) {
                s.tracker.lock().unwrap_or_else(|e| e.into_inner()).tick();
                std::thread::sleep(TICK);
            }
        });
        Arc::new(Display { shared, thread: Mutex::new(Some(thread)) })
    }

    /// Ends the display: the running phase's summary (it ended as `how`: `done`, `stopped`,
    /// `failed`), logged, and the whole run's, returned (for the line that says how the task
    /// stopped). A second call returns the same run summary and logs nothing.
    pub fn finish(&self, how: &str) -> String {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            // The thread only draws and logs; its end is all that matters here.
            let _ = t.join();
        }
        self.shared.tracker.lock().unwrap_or_else(|e| e.into_inner()).finish(how)
    }
}

/// What `status` said last (lag, last DDL), written by the status thread.
#[derive(Debug, Default)]
struct StatusSeen {
    lag_seconds: Option<f64>,
    last_ddl: Option<String>,
}

struct Tracker {
    config: Config,
    sources: Sources,
    interval: Duration,
    run_started: Instant,
    /// The phase shown, since when (until when, once it ended), and the counters when it began.
    phase: Option<Phase>,
    since: Instant,
    until: Option<Instant>,
    /// How many of the phases begun ([`CurrentPhase::began`]) were shown.
    seen: usize,
    input_base: (u64, u64),
    binlog_bytes_base: u64,
    /// The phase's two counters sampled (when, rows and bytes copied, or transactions and
    /// rows applied), for their rates now.
    samples: VecDeque<(Instant, u64, u64)>,
    status: Arc<Mutex<StatusSeen>>,
    status_stop: Arc<AtomicBool>,
    last_line: Instant,
    /// Each phase's figures as it ended, for the run's summary.
    ended: Vec<String>,
    finished: Option<String>,
    terminal: Option<Terminal>,
}

impl Tracker {
    fn new(config: &Config, sources: Sources, terminal: bool) -> Tracker {
        let now = Instant::now();
        Tracker {
            config: config.clone(),
            sources,
            interval: Duration::from_secs(config.raw.monitor.progress_interval.max(1)),
            run_started: now,
            phase: None,
            since: now,
            until: None,
            seen: 0,
            input_base: (0, 0),
            binlog_bytes_base: 0,
            samples: VecDeque::new(),
            status: Arc::default(),
            status_stop: Arc::new(AtomicBool::new(false)),
            last_line: now,
            ended: Vec::new(),
            finished: None,
            terminal: terminal.then(Terminal::new),
        }
    }

    fn binlog_bytes(&self) -> u64 {
        self.sources.input.binlog_bytes.load(Ordering::Relaxed)
    }

    fn input_now(&self) -> (u64, u64) {
        let i = &self.sources.input;
        (i.transactions.load(Ordering::Relaxed), i.rows.load(Ordering::Relaxed))
    }

    /// The running phase as a view.
    fn view(&mut self) -> View {
        let elapsed = self.until.unwrap_or_else(Instant::now).duration_since(self.since).as_secs_f64();
        match self.phase {
            None | Some(Phase::Done) => View::Starting,
            Some(Phase::Schema) => View::Schema(SchemaView {
                done: self.sources.schema.done.load(Ordering::Relaxed),
                total: self.sources.schema.total.load(Ordering::Relaxed),
                elapsed,
            }),
            Some(Phase::Full) => {
                let snap = self.sources.copy.snapshot();
                let (rows, bytes) = (snap.iter().map(|t| t.rows_done).sum(), snap.iter().map(|t| t.bytes_done).sum());
                let recent = self.recent(rows, bytes).filter(|_| rows > 0);
                View::Copy(CopyView {
                    bytes_done: bytes,
                    recent,
                    tables: snap
                        .into_iter()
                        .map(|t| TableView {
                            name: t.table.plain(),
                            rows_done: t.rows_done,
                            rows_total: t.rows_estimate,
                            finished: t.finished,
                        })
                        .collect(),
                    elapsed,
                })
            }
            Some(Phase::Incremental) => {
                let (txns, rows) = self.input_now();
                let (transactions_per_sec, rows_per_sec) = self.recent(txns, rows).unwrap_or_default();
                let seen = self.status.lock().unwrap_or_else(|e| e.into_inner());
                View::Incremental(IncrementalView {
                    lag_seconds: seen.lag_seconds,
                    transactions_per_sec,
                    rows_per_sec,
                    transactions: txns - self.input_base.0,
                    rows: rows - self.input_base.1,
                    binlog_bytes: self.binlog_bytes().saturating_sub(self.binlog_bytes_base),
                    last_ddl: seen.last_ddl.clone(),
                    elapsed,
                })
            }
        }
    }

    /// Two counters' rates over the last [`RATE_WINDOW`], from a sample taken now; `None`
    /// until a second sample.
    fn recent(&mut self, a: u64, b: u64) -> Option<(f64, f64)> {
        let now = Instant::now();
        self.samples.push_back((now, a, b));
        while self.samples.len() > 2 && now.duration_since(self.samples[1].0) >= RATE_WINDOW {
            self.samples.pop_front();
        }
        let (t0, a0, b0) = self.samples[0];
        let secs = now.duration_since(t0).as_secs_f64();
        (secs > 0.0).then(|| (a.saturating_sub(a0) as f64 / secs, b.saturating_sub(b0) as f64 / secs))
    }

    /// Follows the phase (summing up the one that ended), then draws or logs.
    fn tick(&mut self) {
        self.follow_phases();
        let view = self.view();
        match &mut self.terminal {
            Some(t) => t.draw(&view),
            None => {
                if self.last_line.elapsed() >= self.interval {
                    self.last_line = Instant::now();
                    if let Some(l) = progress_view::line(&view) {
                        tracing::info!(phase = self.phase.map(Phase::as_str), "{l}");
                    }
                }
            }
        }
    }

    /// Sums up each phase that ended since the last look (one may have begun and ended in
    /// between: it is summed up too) and shows the one running now.
    fn follow_phases(&mut self) {
        let began = self.sources.phase.began();
        for &(phase, at) in began.iter().skip(self.seen) {
            self.until = Some(at);
            self.end_phase("done");
            self.until = None;
            self.begin_phase(Some(phase), at);
        }
        self.seen = began.len();
    }

    fn begin_phase(&mut self, phase: Option<Phase>, at: Instant) {
        self.phase = phase;
        self.since = at;
        self.last_line = Instant::now();
        self.input_base = self.input_now();
        self.binlog_bytes_base = self.binlog_bytes();
        self.samples.clear();
        if phase == Some(Phase::Incremental) {
            self.watch_status();
        }
    }

    /// Logs the summary of the phase shown, which ended as `how`.
    fn end_phase(&mut self, how: &str) {
        let view = self.view();
        if let Some(s) = progress_view::summary(&view, how) {
            tracing::info!(phase = self.phase.map(Phase::as_str), "{s}");
        }
        match &view {
            View::Starting => {}
            View::Schema(s) => self.ended.push(format!("{} schema statements", count(s.done))),
            View::Copy(c) => self.ended.push(format!("{} rows copied", count(c.rows_done()))),
            View::Incremental(i) => self.ended.push(format!(
                "{} transactions and {} row changes applied",
                count(i.transactions),
                count(i.rows)
            )),
        }
        self.status_stop.store(true, Ordering::Relaxed);
    }

    fn finish(&mut self, how: &str) -> String {
        if let Some(s) = &self.finished {
            return s.clone();
        }
        // Phases that began since the last tick are summed up as done first.
        self.follow_phases();
        self.end_phase(how);
        if let Some(t) = self.terminal.take() {
            t.clear();
        }
        let what = if self.ended.is_empty() { "nothing done".to_string() } else { self.ended.join(", ") };
        let s = format!("after {}: {what}", duration(self.run_started.elapsed().as_secs_f64()));
        self.finished = Some(s.clone());
        s
    }

    /// Reads the lag and the last DDL from `status` every 2 s until the phase ends.
    fn watch_status(&mut self) {
        let (config, seen) = (self.config.clone(), self.status.clone());
        let stop = Arc::new(AtomicBool::new(false));
        self.status_stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                // Not read this time (a server away): the last figures stay, the next try follows.
                if let Ok(s) = dts_task::read_status(&config) {
                    let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                    seen.lag_seconds = s.lag_seconds;
                    seen.last_ddl = s.ddl_recent.first().map(|d| {
                        let flat = d.statement.split_whitespace().collect::<Vec<_>>().join(" ");
                        format!("{}: {flat}", d.outcome.as_str())
                    });
                }
                let until = Instant::now() + STATUS_EVERY;
                while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
    }
}

/// Columns of the terminal the display leaves free on its right.
const SPARE_COLUMNS: u16 = 2;

/// The terminal as indicatif sees it: [`SPARE_COLUMNS`] narrower than it is. Indicatif pads the
/// display's last line to the width it is given, leaving the cursor in the last column; the
/// `^C` a terminal echoes for Ctrl-C (or a key typed) then wrapped onto a row the display did
/// not count, and clearing the display left its first line on the screen. With two columns
/// free the echo fits on the last line. (A line as wide as the terminal also wraps on some
/// terminals.)
#[derive(Debug)]
struct Narrowed(console::Term);

impl indicatif::TermLike for Narrowed {
    fn width(&self) -> u16 {
        self.0.size().1.saturating_sub(SPARE_COLUMNS).max(20)
    }

    fn height(&self) -> u16 {
        self.0.size().0
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_up(n)
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_down(n)
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_right(n)
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_left(n)
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.write_line(s)
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.0.write_str(s)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.0.clear_line()
    }

    fn flush(&self) -> std::io::Result<()> {
        std::io::Write::flush(&mut &self.0)
    }
}

/// The live lines on the terminal: one indicatif bar per line, each showing a line rendered
/// by [`progress_view::render`] as its message; log lines go around them ([`crate::logging`]).
struct Terminal {
    multi: MultiProgress,
    lines: Vec<ProgressBar>,
    style: ProgressStyle,
}

impl Terminal {
    fn new() -> Terminal {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::term_like_with_hz(
            Box::new(Narrowed(console::Term::buffered_stderr())),
            20,
        ));
        crate::logging::set_display(Some(multi.clone()));
        Terminal { multi, lines: Vec::new(), style: ProgressStyle::with_template("{msg}").expect("a valid template") }
    }

    fn draw(&mut self, view: &View) {
        // As wide as the display is drawn (`Narrowed`).
        let width = (console::Term::stderr().size().1.saturating_sub(SPARE_COLUMNS) as usize).max(20);
        let text = progress_view::render(view, width);
        while self.lines.len() < text.len() {
            self.lines.push(self.multi.add(ProgressBar::new(0).with_style(self.style.clone())));
        }
        while self.lines.len() > text.len() {
            let b = self.lines.pop().expect("a line");
            self.multi.remove(&b);
        }
        for (bar, line) in self.lines.iter().zip(text) {
            bar.set_message(line);
        }
    }

    fn clear(self) {
        crate::logging::set_display(None);
        for b in &self.lines {
            b.finish_and_clear();
        }
        // Clearing a terminal that went away: nothing to show it on.
        let _ = self.multi.clear();
    }
}
