//! Schema sync and DDL translation: reads the source schema of the selected objects, applies
//! object selection and name mapping, writes destination DDL, and classifies and rewrites the
//! binlog's statements for incremental sync.
//!
//! It never applies anything itself: it returns statements for the caller to run, and every
//! statement it does not pass on comes back with the reason, never dropped silently. Statements
//! are rewritten token by token ([`lexer`]): every byte but the renamed identifiers passes
//! through unchanged.

//!
//! # Example
//!
//! Translate a source statement for a destination where database `shop` is called
//! `shop_replica`:
//!
//! ```
//! use dts_schema::{DatabaseRule, Decision, Selection, TranslateConfig, Translator};
//!
//! let shop = DatabaseRule { database: "shop".into(), rename: Some("shop_replica".into()), ..Default::default() };
//! let selection = Selection { databases: vec![shop], ..Default::default() };
//! let mut translator = Translator::new(TranslateConfig { selection, ..Default::default() });
//!
//! let decision = translator.translate("ALTER TABLE orders ADD note TEXT /* why */", Some("shop"), false)?;
//! let Decision::Apply { statements, .. } = decision else { panic!("{decision:?}") };
//! assert_eq!(statements, ["ALTER TABLE `shop_replica`.`orders` ADD note TEXT /* why */"]);
//!
//! // Statements of databases that are not selected are skipped, with the reason.
//! let decision = translator.translate("DROP TABLE other.t", None, false)?;
//! assert!(matches!(decision, Decision::Skip { .. }));
//! # Ok::<(), dts_schema::ParseError>(())
//! ```
#![warn(missing_docs)]

mod column_type;
mod definer;
mod dml;
mod drops;
mod event;
mod history;
pub mod lexer;
mod online_ddl;
mod reader;
mod selection;
mod statement;
mod sync;
mod translate;
mod trigger;

pub use column_type::{TypeError, parse_column_type};
pub use definer::DefinerPolicy;
pub use dml::{StatementWrite, TemporaryTable, statement_write, temporary_table};
pub use history::{HistoryEntry, HistoryError, SchemaHistory, SchemaTracker, shadow_name};
pub use online_ddl::{OnlineDdlMode, ShadowNames, ShadowRole};
pub use reader::{
    DatabaseSchema, Event, SEQUENCE_COLUMNS, SequenceState, catalog, read_database, sequence_state, sequences,
};
pub use selection::{
    Catalog, ColumnMap, DatabaseRule, MappedTable, MappingError, NameCase, ObjectKind, SYSTEM_DATABASES, Selection,
    TableRule, wildcard_match,
};
pub use statement::{ParseError, tables_changed};
pub use sync::{ObjectRules, SchemaPlan, SyncError, cutover, plan, sequence_state_sql};
pub use translate::{Decision, StateChange, TranslateConfig, Translator};
pub use trigger::TriggerPolicy;

/// The invisible period columns MariaDB adds to a table created `WITH SYSTEM VERSIONING`
/// without period columns of its own: information_schema does not list them, the binlog's row
/// images carry them (last), and they are the server's to write.
pub const IMPLICIT_PERIOD_COLUMNS: [&str; 2] = ["row_start", "row_end"];
