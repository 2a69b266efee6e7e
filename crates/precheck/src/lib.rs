//! Checks a task's source, destination and object selection before it starts, returning each
//! item with a stable id, a status (pass, warning, failure), what was found and how to fix it.
//!
//! It never changes either server: every check only reads.
//!
//! Status: arrives with issue #7; this crate holds its place in the workspace.
