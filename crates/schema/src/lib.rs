//! Reads the source schema of the selected objects, applies object selection and name mapping,
//! writes destination DDL, and classifies and rewrites binlog statements for incremental sync.
//!
//! It never applies anything itself: it returns statements for the caller to run, and every
//! statement it drops is returned with the reason, never dropped silently.
//!
//! Status: arrives with issue #4; this crate holds its place in the workspace.
