//! Copies the selected tables from source to destination chunk by chunk, in parallel and
//! resumably, recording binlog watermarks so the copy converges exactly with incremental sync.
//!
//! It never holds a long global lock on the source and never writes a value that differs from
//! the source's bytes.
//!
//! Status: arrives with issue #5; this crate holds its place in the workspace.
