//! What the binary's whole-task tests share: the `dts-sync` command with the shared pair's
//! passwords in its environment, a task file for the shared pair, and SQL on its source.

#![allow(dead_code)] // each test binary uses a part

use std::path::{Path, PathBuf};
use std::process::Command;

use dts_testkit::{replica_server_id, shared_pair};
use mysql::prelude::Queryable;

/// `dts-sync` with the shared pair's passwords in `DTS_TEST_SRC_PW` / `DTS_TEST_DST_PW` (the
/// task files name those variables) and `DTS_LOG` at `log`.
pub fn dts_sync(log: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dts-sync"));
    let pair = shared_pair();
    c.env("DTS_TEST_SRC_PW", pair.source.password().expose());
    c.env("DTS_TEST_DST_PW", pair.destination.password().expose());
    c.env("DTS_LOG", log);
    c
}

/// A test's own directory under the target's tmp dir, named `<prefix>-<pid>`.
pub fn test_dir(prefix: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{prefix}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `<dir>/<name>.toml`: a task file for the shared pair (passwords from the environment, see
/// [`dts_sync`]); `body` adds objects and sections.
pub fn task_file(dir: &Path, name: &str, body: &str) -> PathBuf {
    let pair = shared_pair();
    let text = format!(
        r#"[source]
host = "127.0.0.1"
port = {}
user = "dts"
password_env = "DTS_TEST_SRC_PW"

[destination]
host = "127.0.0.1"
port = {}
user = "dts"
password_env = "DTS_TEST_DST_PW"

[task]
name = "{name}"
server_id = {}

{body}
"#,
        pair.source.port(),
        pair.destination.port(),
        replica_server_id(),
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs each statement on the shared source.
pub fn source_sql(stmts: &[String]) {
    let mut c = shared_pair().source.conn().unwrap();
    for s in stmts {
        c.query_drop(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}
