//! `dts-sync init [PATH]`: writes the commented task file to start from (`-`: to stdout).
//!
//! The template is examples/task.toml itself, compiled in, so the file a binary user gets and
//! the one the repository documents are the same text.

use std::io::Write;
use std::path::Path;

/// The commented task file `init` writes: every section, what each key means, its default.
pub const TEMPLATE: &str = include_str!("../../../examples/task.toml");

/// Why `init` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The path exists and `--force` was not given.
    #[error("{0} exists; add --force to overwrite it")]
    Exists(String),
    /// Creating or writing the file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Writes [`TEMPLATE`] to `path`; an existing file is replaced only with `force`.
pub fn write(path: &Path, force: bool) -> Result<(), InitError> {
    let shown = path.display().to_string();
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        // Refused atomically: nothing that appears meanwhile is overwritten either.
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => InitError::Exists(shown.clone()),
        _ => InitError::Write { path: shown.clone(), source },
    })?;
    file.write_all(TEMPLATE.as_bytes()).map_err(|source| InitError::Write { path: shown, source })
}

/// What to do next, printed after the file is written.
pub fn next_steps(path: &Path) -> String {
    let p = path.display();
    format!(
        "wrote {p}\n\
         next: fill in [source] and [destination] (host, port, user, and password_env or password_file),\n\
         \x20     choose what to sync in [[objects]] (or remove them all to sync every database),\n\
         \x20     then: dts-sync config --config {p}     # the task with every default filled in\n\
         \x20           dts-sync precheck --config {p}   # every check against the servers, with its fix\n\
         \x20           dts-sync run --config {p}\n"
    )
}
