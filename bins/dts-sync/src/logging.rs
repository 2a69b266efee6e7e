//! Logs on stderr: text or JSON (`--log-format`, `DTS_LOG_FORMAT`), at a level (`--log-level`,
//! `DTS_LOG_LEVEL`), with `DTS_LOG` adding per-module filters that win over the level
//! (`DTS_LOG=info,dts_applier=debug`). While the terminal shows the live progress display,
//! every log line is written with the display taken off the screen and drawn again after it,
//! so that no line is painted over or garbled.

use std::io::Write;
use std::sync::{Mutex, MutexGuard};

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// How each log line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `message` and the event's
    /// fields, all at the top level.
    Json,
}

/// The most detailed level logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// What the task does, its progress, warnings and errors.
    Info,
    /// More detail, for a bug report.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// The filter: `level` for everything, then each directive of `dts_log` (the `DTS_LOG`
/// variable) on top, so a module named there (or a bare level there) wins.
fn filter(level: LogLevel, dts_log: Option<&str>) -> EnvFilter {
    let mut f = EnvFilter::new(level.as_str());
    for d in dts_log.unwrap_or_default().split(',').map(str::trim).filter(|d| !d.is_empty()) {
        match d.parse() {
            Ok(d) => f = f.add_directive(d),
            Err(e) => eprintln!("dts-sync: DTS_LOG: {d:?} is not a filter directive, left out: {e}"),
        }
    }
    f
}

/// Sets up logging for the process.
pub fn init(format: LogFormat, level: LogLevel) {
    let filter = filter(level, std::env::var("DTS_LOG").ok().as_deref());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(|| DisplayAwareStderr);
    // A second init (tests call it more than once per process) keeps the first subscriber.
    let _ = match format {
        // Colours only on a terminal: logs captured to files stay plain text.
        LogFormat::Text => {
            builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).with_target(false).try_init()
        }
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_target(true)
            .try_init(),
    };
    if format == LogFormat::Json {
        JSON.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

static JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Prints a message of the binary's own (a failure, why it exits): `dts-sync: MESSAGE` on
/// stderr, or with `--log-format json` an ERROR line like every other.
pub fn say(message: impl std::fmt::Display) {
    if JSON.load(std::sync::atomic::Ordering::Relaxed) {
        tracing::error!("{message}");
    } else {
        // Nowhere left to report a failed write to stderr.
        let _ = DisplayAwareStderr.write_all(format!("dts-sync: {message}\n").as_bytes());
    }
}

/// The live display on the terminal, while there is one: log lines are written around it.
static DISPLAY: Mutex<Option<indicatif::MultiProgress>> = Mutex::new(None);

fn display() -> MutexGuard<'static, Option<indicatif::MultiProgress>> {
    DISPLAY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Log lines go around `multi` from now on (`None`: straight to stderr again).
pub fn set_display(multi: Option<indicatif::MultiProgress>) {
    *display() = multi;
}

/// Stderr, with the live display (if any) taken off while a line is written. Each log line
/// is one `write` (tracing-subscriber formats a line, then writes it whole).
struct DisplayAwareStderr;

impl Write for DisplayAwareStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let multi = display().clone();
        match multi {
            Some(m) => m.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::{Level, enabled};
    use tracing_subscriber::layer::SubscriberExt;

    /// What `f` lets through: dts_sync at WARN, INFO, DEBUG; dts_applier at DEBUG.
    fn decisions(f: EnvFilter) -> [bool; 4] {
        tracing::subscriber::with_default(tracing_subscriber::registry().with(f), || {
            [
                enabled!(target: "dts_sync", Level::WARN),
                enabled!(target: "dts_sync", Level::INFO),
                enabled!(target: "dts_sync", Level::DEBUG),
                enabled!(target: "dts_applier", Level::DEBUG),
            ]
        })
    }

    #[test]
    fn the_level_applies_and_dts_log_wins_for_what_it_names() {
        assert_eq!(decisions(filter(LogLevel::Info, None)), [true, true, false, false]);
        assert_eq!(decisions(filter(LogLevel::Warn, None)), [true, false, false, false]);
        assert_eq!(decisions(filter(LogLevel::Error, None)), [false, false, false, false]);
        assert_eq!(decisions(filter(LogLevel::Warn, Some("dts_applier=debug"))), [true, false, false, true]);
        // A bare level in DTS_LOG wins over the flag too (DTS_LOG keeps working as before).
        assert_eq!(decisions(filter(LogLevel::Warn, Some("debug"))), [true, true, true, true]);
        assert_eq!(decisions(filter(LogLevel::Info, Some(" , "))), [true, true, false, false]);
    }
}
