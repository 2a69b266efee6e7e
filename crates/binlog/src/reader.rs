//! [`BinlogReader`]: events from a file or a live source, decoded and cut into transactions,
//! with reconnection that resumes exactly where the consumer is.

use std::collections::VecDeque;
use std::path::Path;
use std::time::{Duration, Instant};

use dts_types::{BinlogPosition, GtidPosition};
use mysql::Opts;

use crate::collation::Collations;
use crate::decode::{Decoder, TableFilter};
use crate::error::BinlogError;
use crate::file::BinlogFile;
use crate::replica::{ReplicaOptions, ReplicaSource, StartPosition};
use crate::schema::SchemaProvider;
use crate::txn::{Assembler, Item};

/// Optional parts of a reader.
#[derive(Default)]
pub struct ReaderParts {
    /// Where to take column names and types from when table maps lack them.
    pub schema: Option<Box<dyn SchemaProvider>>,
    /// Which tables' rows to decode; rows of the others are skipped on purpose (and counted).
    pub filter: Option<TableFilter>,
    /// Name columns `@1`, `@2`... where neither the table map nor `schema` names them (for
    /// inspecting binlogs written with binlog_row_metadata=MINIMAL); types must still be known.
    pub positional_names: bool,
}

impl std::fmt::Debug for ReaderParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderParts")
            .field("schema", &self.schema.is_some())
            .field("filter", &self.filter.is_some())
            .finish()
    }
}

#[derive(Debug)]
enum Source {
    File(BinlogFile),
    Replica(ReplicaSource),
}

/// Counters of what the reader saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReaderStats {
    /// Events read (nested events of a TRANSACTION_PAYLOAD included).
    pub events: u64,
    /// Bytes of those events.
    pub bytes: u64,
    /// Row changes delivered.
    pub row_changes: u64,
    /// Transactions delivered (commits).
    pub transactions: u64,
    /// Times the connection was re-established after a transient error.
    pub reconnects: u64,
    /// Row events skipped on purpose, their table not passing the [`TableFilter`](crate::TableFilter).
    pub skipped_rows_events: u64,
}

/// Yields the source's transactions as [`Item`]s, in commit order.
#[derive(Debug)]
pub struct BinlogReader {
    source: Source,
    decoder: Decoder,
    asm: Assembler,
    queue: VecDeque<Item>,
    /// Where to reconnect: the start, then the end of the last transaction delivered.
    resume: StartPosition,
    /// End of the last event whose items were queued: after a reconnect, events up to here
    /// were already delivered and are decoded again (for their state) but not delivered again.
    delivered_to: Option<BinlogPosition>,
    suppress_to: Option<BinlogPosition>,
    retry_window: Duration,
    failing_since: Option<Instant>,
    done: bool,
    stats: ReaderStats,
    /// The consumer's stop request, checked while reconnecting.
    stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl BinlogReader {
    /// Reads a binlog file on disk from its start.
    pub fn open_file(path: impl AsRef<Path>, parts: ReaderParts) -> Result<BinlogReader, BinlogError> {
        let file = BinlogFile::open(path)?;
        let mut decoder = Decoder::new(Collations::default(), parts.schema, parts.filter);
        decoder.positional_names = parts.positional_names;
        decoder.set_file(file.name());
        let start = StartPosition::File(BinlogPosition::new(file.name(), 4));
        Ok(Self::with(Source::File(file), decoder, start, Duration::ZERO, None))
    }

    /// Connects to a live source as a replica and reads from `options.start`.
    pub fn connect(opts: Opts, options: ReplicaOptions, parts: ReaderParts) -> Result<BinlogReader, BinlogError> {
        let start = options.start.clone();
        let window = options.retry_window;
        let file_gtid = options.gtid_at_start.clone();
        let stop = options.stop.clone();
        let (src, collations) = ReplicaSource::connect(opts, options, &start)?;
        let mut decoder = Decoder::new(collations, parts.schema, parts.filter);
        decoder.positional_names = parts.positional_names;
        if let StartPosition::File(p) = &start {
            decoder.set_file(&p.file);
        }
        let gtid = match &start {
            StartPosition::MariaDbGtid(g) => Some(GtidPosition::MariaDb(g.clone())),
            StartPosition::MySqlGtid(g) => Some(GtidPosition::MySql(g.clone())),
            StartPosition::File(_) => file_gtid,
        };
        let mut r = Self::with(Source::Replica(src), decoder, start, window, gtid);
        r.stop = stop;
        Ok(r)
    }

    fn with(
        source: Source,
        decoder: Decoder,
        resume: StartPosition,
        retry_window: Duration,
        gtid: Option<GtidPosition>,
    ) -> BinlogReader {
        BinlogReader {
            source,
            decoder,
            asm: Assembler::new(gtid),
            queue: VecDeque::new(),
            resume,
            delivered_to: None,
            suppress_to: None,
            retry_window,
            failing_since: None,
            done: false,
            stats: ReaderStats::default(),
            stop: None,
        }
    }

    /// What the reader has seen so far.
    pub fn stats(&self) -> ReaderStats {
        ReaderStats { skipped_rows_events: self.decoder.skipped_rows_events, ..self.stats.clone() }
    }

    /// The GTID state after the last transaction delivered (where the source has GTIDs).
    pub fn gtid_state(&self) -> Option<&GtidPosition> {
        self.asm.gtid_state()
    }

    /// The position to resume from after everything delivered so far at a transaction boundary.
    pub fn resume_position(&self) -> &StartPosition {
        &self.resume
    }

    /// Reads one event and queues its items; `false` at the end of the input.
    fn step(&mut self) -> Result<bool, BinlogError> {
        let raw = match &mut self.source {
            Source::File(f) => f.next_event()?,
            Source::Replica(r) => r.next_event(&self.resume)?,
        };
        let Some(raw) = raw else { return Ok(false) };
        self.stats.events += 1;
        self.stats.bytes += raw.len() as u64;
        let (decoder, asm, queue, stats) = (&mut self.decoder, &mut self.asm, &mut self.queue, &mut self.stats);
        let suppress_to = &mut self.suppress_to;
        let delivered_to = &mut self.delivered_to;
        let resume = &mut self.resume;
        let mut pending: Vec<(crate::event::EventHeader, crate::decode::Decoded)> = Vec::new();
        decoder.decode(raw, false, &mut |h, d| {
            pending.push((*h, d));
            Ok(())
        })?;
        // Only a ROTATE changes the file, and it carries no items: positions of the other
        // events are in the decoder's current file.
        let file = decoder.file().to_string();
        for (h, d) in pending {
            let is_rotate = h.event_type == crate::event::types::ROTATE;
            let pos = BinlogPosition::new(file.clone(), h.log_pos as u64);
            let suppressed = match suppress_to {
                Some(limit) if h.log_pos != 0 && pos.file == limit.file && pos.offset <= limit.offset => true,
                Some(_) if h.log_pos == 0 => true,
                Some(_) => {
                    *suppress_to = None;
                    false
                }
                None => false,
            };
            asm.feed(&file, &h, d, &mut |item| {
                if suppressed {
                    return;
                }
                match &item {
                    Item::Row(_) => stats.row_changes += 1,
                    Item::Commit(p) => {
                        stats.transactions += 1;
                        *resume = StartPosition::File(p.binlog.clone());
                    }
                    _ => {}
                }
                queue.push_back(item);
            })?;
            if !suppressed && h.log_pos != 0 && !is_rotate {
                *delivered_to = Some(pos);
            }
        }
        Ok(true)
    }

    fn reconnect_after(&mut self, err: BinlogError) -> Result<(), BinlogError> {
        let Source::Replica(src) = &mut self.source else { return Err(err) };
        let since = *self.failing_since.get_or_insert_with(Instant::now);
        let mut attempt = 0u32;
        let mut last = err;
        loop {
            if since.elapsed() > self.retry_window {
                let minutes = self.retry_window.as_secs() / 60;
                return Err(BinlogError::RetryWindowExceeded { minutes, last: Box::new(last) });
            }
            // Slept in short steps, so a stop request ends the wait.
            let until = Instant::now() + backoff(attempt);
            while Instant::now() < until {
                if self.stop.as_ref().is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed)) {
                    return Err(BinlogError::Stopped);
                }
                std::thread::sleep(Duration::from_millis(50).min(until.saturating_duration_since(Instant::now())));
            }
            attempt += 1;
            match src.reconnect(&self.resume) {
                Ok(()) => break,
                Err(e) if e.is_transient() => last = e,
                Err(e) => return Err(e),
            }
        }
        self.stats.reconnects += 1;
        // Restart at the last transaction boundary: drop the half-read transaction's state and
        // do not deliver again what was delivered before the connection broke.
        self.asm.reset_to_boundary();
        if let StartPosition::File(p) = &self.resume {
            self.decoder.set_file(&p.file);
        }
        self.suppress_to = self.delivered_to.clone().filter(|d| match &self.resume {
            StartPosition::File(r) => d.file != r.file || d.offset > r.offset,
            _ => true,
        });
        Ok(())
    }
}

/// 0.25 s doubling to 30 s, with ±25 % jitter so many readers do not reconnect in step.
fn backoff(attempt: u32) -> Duration {
    let base = (250u64 << attempt.min(7)).min(30_000);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let jitter = (nanos as u64 % (base / 2 + 1)) as i64 - (base / 4) as i64;
    Duration::from_millis((base as i64 + jitter).max(50) as u64)
}

impl Iterator for BinlogReader {
    type Item = Result<Item, BinlogError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(Ok(item));
            }
            if self.done {
                return None;
            }
            match self.step() {
                Ok(true) => self.failing_since = None,
                Ok(false) => {
                    self.done = true;
                    if !self.asm.at_boundary() && matches!(self.source, Source::File(_)) {
                        // A file may end inside a transaction (the server was still writing).
                    }
                }
                Err(e) if e.is_transient() => {
                    if let Err(e) = self.reconnect_after(e) {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}
