//! Reads the source's binary log as a replica and yields its transactions in commit order:
//! row changes decoded into the exact value model of `dts-types` and statements with their
//! session context, each with the position to resume from after it.
//!
//! It never writes to any server and never skips an event it cannot decode: such an event is an
//! error naming the table, column and type.
//!
//! Status: the decoder arrives with issue #3; this crate holds its place in the workspace.
