//! `dts-sync verify --repair-sql FILE` writes the repair script, which holds row data, readable
//! by its owner only (mode 0600), also over an existing file that others could read.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use dts_testkit::{replica_server_id, shared_pair};
use mysql::prelude::Queryable;

#[test]
fn the_repair_script_is_written_0600() {
    let pair = shared_pair();
    let db = pair.source.fresh_database("e2e_repair").unwrap();
    let q = db.quoted();
    for (server, rows) in [(&pair.source, "(1, 'a'), (2, 'secret row')"), (&pair.destination, "(1, 'a')")] {
        let mut c = server.conn().unwrap();
        c.query_drop(format!("CREATE DATABASE IF NOT EXISTS {q}")).unwrap();
        c.query_drop(format!("CREATE TABLE {q}.t (id INT PRIMARY KEY, v VARCHAR(20))")).unwrap();
        c.query_drop(format!("INSERT INTO {q}.t VALUES {rows}")).unwrap();
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("dts-repair-test-{db}"));
    std::fs::create_dir_all(&dir).unwrap();
    let task = dir.join("task.toml");
    std::fs::write(
        &task,
        format!(
            "[source]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"dts\"\npassword_env = \"DTS_TEST_SRC_PW\"\n\n\
             [destination]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"dts\"\npassword_env = \"DTS_TEST_DST_PW\"\n\n\
             [task]\nname = \"repair_{db}\"\nserver_id = {}\n\n[[objects]]\ndatabase = \"{db}\"\n",
            pair.source.port(),
            pair.destination.port(),
            replica_server_id()
        ),
    )
    .unwrap();
    let repair = dir.join("repair.sql");
    std::fs::write(&repair, "old").unwrap();
    std::fs::set_permissions(&repair, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dts-sync"))
        .env("DTS_TEST_SRC_PW", pair.source.password().expose())
        .env("DTS_TEST_DST_PW", pair.destination.password().expose())
        .args(["verify", "--config"])
        .arg(&task)
        .arg("--repair-sql")
        .arg(&repair)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "one difference: {}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&repair).unwrap();
    assert!(text.contains("secret row"), "{text}");
    assert_eq!(std::fs::metadata(&repair).unwrap().permissions().mode() & 0o777, 0o600);
    std::fs::remove_dir_all(&dir).unwrap();
}
