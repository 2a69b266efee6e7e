//! Finding the MariaDB server programs on this machine.

use std::path::{Path, PathBuf};

use crate::SandboxError;

/// The programs a sandbox needs.
#[derive(Debug, Clone)]
pub struct MariaDbBinaries {
    /// The server.
    pub mariadbd: PathBuf,
    /// `mariadb-install-db`, which creates a data dir.
    pub install_db: PathBuf,
}

/// What a user should run when the programs are missing.
pub const INSTALL_HINT: &str = "install MariaDB with `sudo apt-get install -y mariadb-server` \
     (Debian/Ubuntu; the server need not run, tests start their own), \
     or point DTS_MARIADB_BINDIR at a directory holding mariadbd and mariadb-install-db";

/// Looks for `mariadbd` and `mariadb-install-db` in `$DTS_MARIADB_BINDIR` if it is set (and
/// only there), else in `$PATH` and the usual system directories.
pub fn find_binaries() -> Result<MariaDbBinaries, SandboxError> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(d) = std::env::var_os("DTS_MARIADB_BINDIR") {
        dirs.push(PathBuf::from(d));
        return find_in(&dirs);
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.extend(
        ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/usr/local/mysql/bin"].map(PathBuf::from),
    );
    find_in(&dirs)
}

fn find_in(dirs: &[PathBuf]) -> Result<MariaDbBinaries, SandboxError> {
    let find = |names: &[&str]| -> Option<PathBuf> {
        dirs.iter().flat_map(|d| names.iter().map(move |n| d.join(n))).find(|p| is_executable(p))
    };
    let mariadbd = find(&["mariadbd"]).ok_or(SandboxError::NotInstalled { program: "mariadbd", hint: INSTALL_HINT })?;
    let install_db = find(&["mariadb-install-db", "mysql_install_db"])
        .ok_or(SandboxError::NotInstalled { program: "mariadb-install-db", hint: INSTALL_HINT })?;
    Ok(MariaDbBinaries { mariadbd, install_db })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
