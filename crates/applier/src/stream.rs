//! Streaming a source transaction of any size through an open destination transaction: each
//! row is pushed as it arrives and each batch sent as it fills, so memory stays bounded
//! whatever the transaction's size. The serial path streams every transaction this way; the
//! parallel path streams a transaction that outgrows a group.

use std::sync::Arc;

use dts_types::{RowChange, SourcePosition};

use crate::target::{Plans, TablePlan};
use crate::throttle::Throttle;
use crate::txn::DestTxn;
use crate::{ApplyError, ApplyStats, Ddl, Input, InputSource, RowTarget};

/// How a streamed transaction ended.
pub(crate) enum Streamed {
    /// Its Commit arrived: where it ends, how many row changes were streamed here (after any
    /// the caller pushed), and its DDL if any.
    Committed { at: SourcePosition, rows: usize, ddl: Option<Box<Ddl>> },
    /// The input ended inside it (what it sent is not committed).
    InputEnded,
}

/// Where rows stream: the open destination transaction, and what pushing a row needs.
pub(crate) struct Stream<'t, 'a, 's> {
    pub txn: &'t mut DestTxn<'a, 's>,
    pub plans: &'t mut Plans,
    pub stats: &'t mut ApplyStats,
    pub throttle: &'t mut Throttle,
}

impl Stream<'_, '_, '_> {
    /// Pushes one row change as it arrives.
    pub fn row(&mut self, target: &RowTarget, change: &RowChange) -> Result<(), ApplyError> {
        // The connection only for a table not seen yet: it waits for the batch in flight.
        let plan = match self.plans.cached(target) {
            Some(plan) => plan,
            None => self.plans.get(self.txn.conn()?, target)?,
        };
        self.throttle.change(change);
        self.push(&plan, change)
    }

    /// Pushes the row changes of a transaction read so far (counted by the rate limit as
    /// they were read).
    pub fn held(&mut self, changes: Vec<(Arc<TablePlan>, RowChange)>) -> Result<(), ApplyError> {
        for (plan, change) in changes {
            self.push(&plan, &change)?;
        }
        Ok(())
    }

    /// A batch goes out once full, paced by the rate limit.
    fn push(&mut self, plan: &Arc<TablePlan>, change: &RowChange) -> Result<(), ApplyError> {
        self.stats.row_changes += 1;
        let sent = self.txn.push(plan, change, self.stats)?;
        if sent > 0 {
            self.throttle.pace();
        }
        Ok(())
    }

    /// Streams the rest of a source transaction (after its Begin, and after any rows the
    /// caller pushed already) until its Commit.
    pub fn rest_of_transaction(&mut self, input: &mut dyn InputSource) -> Result<Streamed, ApplyError> {
        let mut rows = 0;
        let mut ddl = None;
        while let Some(item) = input.next_input() {
            match item.map_err(ApplyError::Input)? {
                Input::Row { target, change } => {
                    self.row(&target, &change)?;
                    rows += 1;
                }
                Input::Ddl(d) => ddl = Some(Box::new(d)),
                Input::Commit(at) => return Ok(Streamed::Committed { at, rows, ddl }),
                Input::Idle => {}
                Input::Begin => return Err(ApplyError::Protocol("a transaction began inside another".into())),
            }
        }
        Ok(Streamed::InputEnded)
    }
}
