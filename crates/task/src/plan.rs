//! What schema sync would do: the destination DDL for the task's selected objects and every
//! object of a selected database it leaves out, with the reason — read from the source only.
//! `schema_sync` runs exactly this plan; `dts-sync plan` prints it without writing anywhere.

use dts_schema::SchemaPlan;
use mysql::Conn;

use crate::config::Config;
use crate::run::TaskError;

/// Reads the selected databases' objects on the source and plans their destination DDL.
pub fn schema_plan(config: &Config, src: &mut Conn) -> Result<SchemaPlan, TaskError> {
    let catalog = dts_schema::catalog(src).map_err(TaskError::Source)?;
    let mut dbs = Vec::new();
    for db in catalog.keys() {
        if config.selection.database(db).is_some() {
            dbs.push(dts_schema::read_database(src, &config.selection, &catalog, db).map_err(TaskError::Source)?);
        }
    }
    Ok(dts_schema::plan(&config.selection, &dbs, &config.objects)?)
}

/// The plan as `dts-sync plan` prints it: the statements, each ending with `;`, then the
/// objects left out and the warnings, as SQL comments.
pub fn render(plan: &SchemaPlan) -> String {
    let mut out = String::new();
    out.push_str(&format!("-- schema sync would run {} statement(s):\n", plan.statements.len()));
    for s in &plan.statements {
        out.push_str(s);
        out.push_str(";\n");
    }
    out.push_str(&format!("-- {} object(s) of the selected databases left out:\n", plan.left_out.len()));
    for (object, why) in &plan.left_out {
        out.push_str(&format!("--   {object}: {why}\n"));
    }
    for w in &plan.warnings {
        out.push_str(&format!("-- warning: {w}\n"));
    }
    out
}

/// Plans schema sync for `config` without writing to either server.
pub fn plan(config: &Config) -> Result<SchemaPlan, TaskError> {
    let mut src = crate::run::connect(config.source.opts()).map_err(TaskError::Source)?;
    schema_plan(config, &mut src)
}
