//! The serial path (`workers = 1`): every source transaction streams into the destination
//! transaction open on the applier's connection, and whole source transactions are grouped
//! into one commit with the checkpoint of the last one.

use std::time::Instant;

use dts_types::SourcePosition;

use crate::checkpoint::Writer;
use crate::stream::{Stream, Streamed};
use crate::throttle::Throttle;
use crate::txn::DestTxn;
use crate::{Applier, ApplyError, ApplyStats, Input, InputSource};

/// The source transactions streamed into the open destination transaction, not committed yet.
struct Group {
    transactions: usize,
    /// Those with a row change (the others, on tables the task does not sync, only move the
    /// checkpoint): what the task's `transactions_applied` counts.
    applied: usize,
    rows: usize,
    started: Instant,
    /// Where the last of them ends: the checkpoint the group commits with.
    end: Option<SourcePosition>,
}

impl Group {
    fn new() -> Self {
        Group { transactions: 0, applied: 0, rows: 0, started: Instant::now(), end: None }
    }

    fn add(&mut self, end: SourcePosition, rows: usize) {
        if self.transactions == 0 {
            self.started = Instant::now();
        }
        self.transactions += 1;
        self.applied += usize::from(rows > 0);
        self.rows += rows;
        self.end = Some(end);
    }
}

/// Applies the input in source order on the applier's own connection until it ends.
///
/// The transaction is pipelined: each batch and group commit goes to the server from a thread
/// of its own while this one reads and builds the next, so the server is not left waiting
/// for the client between them.
pub(crate) fn run(app: &mut Applier, input: &mut dyn InputSource) -> Result<(), ApplyError> {
    let Applier { dest, o, conn, ck, plans, stats, throttle, ddl: ddl_ctx } = app;
    std::thread::scope(|scope| {
        let mut txn = DestTxn::new(conn, ck, o.batch_bytes).pipelined(scope);
        let result = apply(&mut txn, input, dest, o, plans, stats, throttle, ddl_ctx);
        // The last commit's outcome, or the job that failed before the error returned: a
        // definite error of the job wins over a transient one of the input (which would only
        // restart the run).
        let finished = txn.finish(stats);
        match (result, finished) {
            (Err(e), Err(job)) if e.class().is_transient() && !job.class().is_transient() => Err(job),
            (result, finished) => result.and(finished),
        }
    })
}

#[allow(clippy::too_many_arguments)]
fn apply(
    txn: &mut DestTxn,
    input: &mut dyn InputSource,
    dest: &mysql::Opts,
    o: &crate::ApplyOptions,
    plans: &mut crate::target::Plans,
    stats: &mut ApplyStats,
    throttle: &mut Throttle,
    ddl_ctx: &crate::ddl::DdlContext,
) -> Result<(), ApplyError> {
    let mut group = Group::new();
    while let Some(item) = input.next_input() {
        match item.map_err(ApplyError::Input)? {
            Input::Begin => {
                let mut stream = Stream { txn, plans, stats, throttle };
                let Streamed::Committed { at, rows, ddl } = stream.rest_of_transaction(input)? else {
                    // The input ended inside a transaction: nothing of it commits, nor do the
                    // whole transactions grouped with it (their rows are netted together); the
                    // checkpoint stays before them, so the next run applies them.
                    return txn.rollback();
                };
                stats.transactions += 1;
                if let Some(d) = ddl {
                    // A barrier: what is grouped commits first, then the DDL, then its checkpoint.
                    // Its own rows (a binlog has none, but a translation may) count it.
                    let counted = rows > 0;
                    if txn.is_open() {
                        txn.count_transactions(u64::from(counted));
                        commit(txn, &mut group, stats, throttle)?;
                    }
                    crate::ddl::barrier(txn, dest, plans, ddl_ctx, &d, &at, None, counted, stats)?;
                    group = Group::new();
                    continue;
                }
                group.add(at, rows);
                let paced = throttle.group_due();
                if paced || o.group_full(group.transactions, group.rows, group.started) {
                    commit(txn, &mut group, stats, throttle)?;
                }
            }
            Input::Idle => {
                if group.end.is_some() {
                    commit(txn, &mut group, stats, throttle)?;
                }
                // Nothing to build meanwhile: the commit's outcome is known now, not at the
                // next event, however long the source stays quiet.
                txn.finish(stats)?;
            }
            other => return Err(ApplyError::Protocol(format!("{} outside a transaction", other.name()))),
        }
    }
    if group.end.is_some() {
        commit(txn, &mut group, stats, throttle)?;
    }
    Ok(())
}

/// Commits the group with the checkpoint of its last transaction.
fn commit(
    txn: &mut DestTxn,
    group: &mut Group,
    stats: &mut ApplyStats,
    throttle: &mut Throttle,
) -> Result<(), ApplyError> {
    throttle.pace();
    txn.count_transactions(group.applied as u64);
    txn.commit_at(Writer::Main, group.end.as_ref(), &[], stats)?;
    *group = Group::new();
    Ok(())
}
