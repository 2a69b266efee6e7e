//! Applies source transactions to the destination in parallel where their keys do not
//! conflict, in source order where they do, with the checkpoint committed in the same
//! destination transaction as the data it covers.
//!
//! It never leaves a source transaction half-applied and never applies one twice.
//!
//! Status: arrives with issue #6; this crate holds its place in the workspace.
