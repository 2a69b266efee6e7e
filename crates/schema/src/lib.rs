//! Schema sync and DDL translation: reads the source schema of the selected objects, applies
//! object selection and name mapping, writes destination DDL, and classifies and rewrites the
//! binlog's statements for incremental sync.
//!
//! It never applies anything itself: it returns statements for the caller to run, and every
//! statement it does not pass on comes back with the reason, never dropped silently. Statements
//! are rewritten token by token ([`lexer`]): every byte but the renamed identifiers passes
//! through unchanged.

pub mod column_type;
pub mod history;
pub mod lexer;
pub mod online_ddl;
pub mod reader;
pub mod selection;
pub mod statement;
pub mod sync;
pub mod translate;
