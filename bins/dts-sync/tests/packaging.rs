//! Packaging as an operator meets it: `dts-sync init` and the task file it writes, the shell
//! completions and the man page generated from the CLI definition, `--help` without the
//! repository at hand, the systemd unit (checked by `systemd-analyze verify`) and the container
//! image definition's invariants.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dts_testkit::shared_pair;

fn dts_sync() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dts-sync"))
}

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fresh directory of this test's own under the target's tmp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("packaging-{name}-{}", std::process::id()));
    // A leftover from an earlier run may or may not be there.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The subcommands as `dts-sync --help` lists them (without clap's `help`).
fn subcommands() -> Vec<String> {
    let out = dts_sync().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout).to_string();
    let list = help.split("Commands:\n").nth(1).unwrap_or_else(|| panic!("{help}"));
    let names: Vec<String> = list
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect();
    assert!(names.len() >= 10 && names.iter().any(|n| n == "run"), "{help}");
    names
}

#[test]
fn init_writes_the_example_task_file_and_overwrites_only_with_force() {
    let dir = temp_dir("init");
    let path = dir.join("x.toml");
    let out = dts_sync().arg("init").arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("dts-sync precheck --config"), "{}", text(&out));
    // One source: the binary writes examples/task.toml as it is in the repository.
    assert_eq!(read(&path), read(&repo_file("examples/task.toml")));

    std::fs::write(&path, "# mine\n").unwrap();
    let out = dts_sync().arg("init").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists; add --force"), "{}", text(&out));
    assert_eq!(read(&path), "# mine\n", "an existing file stays as it was");

    let out = dts_sync().arg("init").arg("--force").arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(read(&path), read(&repo_file("examples/task.toml")));

    // Without PATH: task.toml in the current directory.
    let out = dts_sync().arg("init").current_dir(&dir).output().unwrap();
    assert!(out.status.success() && dir.join("task.toml").exists(), "{}", text(&out));

    // `-`: the template on stdout and no file named `-`.
    let out = dts_sync().args(["init", "-"]).current_dir(&dir).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), read(&repo_file("examples/task.toml")));
    assert!(!dir.join("-").exists(), "no file named -");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The file `init` writes with its servers filled in as an operator would: host, port, the
/// passwords in the variables it names. The test servers have no TLS, so `tls` becomes
/// "disabled" (loopback: the precheck does not warn) and the CA line goes.
fn fill_in(template: &str, source_port: u16, destination_port: u16) -> String {
    let (source, destination) = template.split_once("\n[destination]\n").expect("a [destination] section");
    let fill = |section: &str, host: &str, port: u16| {
        let mut out = String::new();
        for line in section.lines() {
            let line = if line.starts_with(&format!("host = \"{host}\"")) {
                "host = \"127.0.0.1\"".to_string()
            } else if line.starts_with("port = 3306") {
                format!("port = {port}")
            } else if line.starts_with("tls = \"verify-identity\"") {
                "tls = \"disabled\"".to_string()
            } else if line.starts_with("ca_file = ") {
                continue;
            } else {
                line.to_string()
            };
            out.push_str(&line);
            out.push('\n');
        }
        out
    };
    let filled = format!(
        "{}\n[destination]\n{}",
        fill(source, "10.0.0.1", source_port),
        fill(destination, "10.0.0.2", destination_port)
    );
    assert!(!filled.contains("10.0.0.") && !filled.contains("verify-identity\"\n"), "{filled}");
    filled
}

#[test]
fn the_initialized_task_file_is_accepted_once_the_servers_are_filled_in_and_reaches_them() {
    let pair = shared_pair();
    let dir = temp_dir("filled");
    let path = dir.join("task.toml");
    let out = dts_sync().arg("init").arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    std::fs::write(&path, fill_in(&read(&path), pair.source.port(), pair.destination.port())).unwrap();
    let run = |args: &[&str]| run_with_passwords(&path, args);
    let out = run(&["config"]);
    assert!(out.status.success(), "{}", text(&out));
    let effective = String::from_utf8_lossy(&out.stdout);
    assert!(effective.contains(&format!("port = {}", pair.source.port())), "{effective}");
    assert!(!effective.contains(pair.source.password().expose()), "the password is redacted: {effective}");

    // As the systemd unit hands them over: credentials, files of mode 0400 (readable by the
    // service's user alone), named by absolute path.
    let credentials = dir.join("credentials");
    std::fs::create_dir_all(&credentials).unwrap();
    let mut with_files = read(&path);
    for (side, password) in [("source", pair.source.password()), ("destination", pair.destination.password())] {
        let file = credentials.join(format!("{side}.password"));
        std::fs::write(&file, format!("{}\n", password.expose())).unwrap();
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o400)).unwrap();
        let var = format!("password_env = \"DTS_{}_PASSWORD\"", side.to_uppercase());
        assert!(with_files.contains(&var), "{with_files}");
        with_files = with_files.replacen(&var, &format!("password_file = \"{}\"", file.display()), 1);
    }
    let credential_task = dir.join("credentials.toml");
    std::fs::write(&credential_task, with_files).unwrap();
    let out = dts_sync().args(["precheck", "--json", "--config"]).arg(&credential_task).output().unwrap();
    assert_logged_in_to_both(&out);

    // The precheck logs in to both servers and checks them: the example's database `shop`
    // does not exist here, so it fails on that (exit 1), not on the file (2).
    let out = run(&["precheck", "--json"]);
    let report = assert_logged_in_to_both(&out);
    assert!(report.to_string().contains("shop"), "the missing database is named: {report}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The example's selection as written — its renames, column subset and mapping, row filter,
/// view and routine patterns — runs a whole task once the servers and the database's name are
/// filled in: schema, full and incremental sync, then `verify` finds the destination identical.
#[test]
fn the_initialized_task_file_runs_a_whole_task_as_written() {
    let pair = shared_pair();
    let db = pair.source.fresh_database("pack_shop").unwrap();
    let dir = temp_dir("whole");
    let path = dir.join("task.toml");
    let out = dts_sync().arg("init").arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let task = fill_in(&read(&path), pair.source.port(), pair.destination.port())
        .replacen("database = \"shop\"", &format!("database = \"{db}\""), 1)
        .replacen("rename = \"shop_replica\"", &format!("rename = \"{db}_replica\""), 1)
        .replacen("name = \"shop-sync\"", &format!("name = \"{db}\""), 1)
        .replacen("server_id = 4242", &format!("server_id = {}", dts_testkit::replica_server_id()), 1);
    std::fs::write(&path, task).unwrap();
    let mut src = pair.source.conn().unwrap();
    let q = db.quoted();
    for sql in [
        format!("CREATE DATABASE IF NOT EXISTS {q}"),
        format!(
            "CREATE TABLE {q}.orders (id INT PRIMARY KEY, customer_id INT, total DECIMAL(10,2), created_at DATE, note TEXT)"
        ),
        format!("CREATE TABLE {q}.customers (id INT PRIMARY KEY, name VARCHAR(40))"),
        format!("CREATE TABLE {q}.tmp_scratch (id INT PRIMARY KEY)"),
        // Over a table the example does not rename: a view over `orders` (renamed orders_2024,
        // `total` renamed amount) is not rewritten, and schema sync stops naming it.
        format!("CREATE VIEW {q}.orders_customers AS SELECT id, name FROM {q}.customers"),
        format!("CREATE PROCEDURE {q}.refresh_totals() SELECT COUNT(*) FROM {q}.orders"),
        format!(
            "INSERT INTO {q}.orders VALUES (1, 1, 10.00, '2024-02-01', 'a'), (2, 1, 0.00, '2024-03-01', 'zero'), \
             (3, 2, 99.50, '2023-12-31', 'old'), (4, 2, 250.00, '2025-01-05', 'b')"
        ),
        format!("INSERT INTO {q}.customers VALUES (1, 'Ada'), (2, 'Grace')"),
        format!("INSERT INTO {q}.tmp_scratch VALUES (1)"),
    ] {
        mysql::prelude::Queryable::query_drop(&mut src, &sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let run = |args: &[&str]| run_with_passwords(&path, args);
    let out = run(&["run", "--exit-when-caught-up"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&["verify"]);
    assert!(out.status.success(), "verify finds the destination identical: {}", text(&out));

    let mut dst = pair.destination.conn().unwrap();
    let target = format!("`{db}_replica`");
    let rows: Vec<(i32, String)> = mysql::prelude::Queryable::query(
        &mut dst,
        format!("SELECT id, CAST(amount AS CHAR) FROM {target}.orders_2024 ORDER BY id"),
    )
    .unwrap();
    assert_eq!(rows, vec![(1, "10.00".to_string()), (4, "250.00".to_string())], "the filter and the column rename");
    let columns: Vec<String> = mysql::prelude::Queryable::query(
        &mut dst,
        format!(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{db}_replica' \
             AND TABLE_NAME = 'orders_2024' ORDER BY ORDINAL_POSITION"
        ),
    )
    .unwrap();
    assert_eq!(columns, ["id", "customer_id", "amount", "created_at"], "the column subset");
    let tables: Vec<String> = mysql::prelude::Queryable::query(
        &mut dst,
        format!("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{db}_replica' ORDER BY 1"),
    )
    .unwrap();
    assert_eq!(tables, ["customers", "orders_2024", "orders_customers"], "tmp_* excluded, the view synced");
    let routines: Vec<String> = mysql::prelude::Queryable::query(
        &mut dst,
        format!("SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '{db}_replica'"),
    )
    .unwrap();
    assert_eq!(routines, ["refresh_totals"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A `precheck --json` that logged in to both servers and read their settings (items only a
/// session can check pass), failing (exit 1) only on what the example selects.
fn assert_logged_in_to_both(out: &Output) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(1), "{}", text(out));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)));
    let items = report["items"].as_array().unwrap_or_else(|| panic!("{report}"));
    for id in ["source.binlog_format", "source.log_bin", "destination.read_only"] {
        assert!(items.iter().any(|i| i["id"] == id && i["status"] == "pass"), "{id} passes: {report}");
    }
    report
}

/// Every key `dts-sync config` shows (every key the task file accepts, defaults filled in)
/// is written in the template, set or commented out, so `init` explains each one.
#[test]
fn the_template_names_every_key_of_the_task_file() {
    let dir = temp_dir("keys");
    let path = dir.join("task.toml");
    std::fs::write(&path, fill_in(&read(&repo_file("examples/task.toml")), 3306, 3306)).unwrap();
    let out = dts_sync()
        .args(["config", "--json", "--config"])
        .arg(&path)
        .env("DTS_SOURCE_PASSWORD", "x")
        .env("DTS_DESTINATION_PASSWORD", "y")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let effective: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let template = read(&repo_file("examples/task.toml"));
    let mut keys = Vec::new();
    collect_keys(&effective, &mut keys);
    assert!(keys.len() > 40, "{keys:?}");
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| {
            ![format!("{k} ="), format!("[{k}]"), format!(".{k}]"), format!("[[{k}]]")]
                .iter()
                .any(|f| template.contains(f))
        })
        .collect();
    assert!(missing.is_empty(), "keys examples/task.toml does not show: {missing:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn collect_keys(v: &serde_json::Value, keys: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
                collect_keys(v, keys);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_keys(i, keys)),
        _ => {}
    }
}

#[test]
fn the_bash_completion_script_loads_and_completes_subcommands() {
    let dir = temp_dir("completions");
    let script = dir.join("dts-sync.bash");
    let out = dts_sync().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    std::fs::write(&script, &out.stdout).unwrap();
    let out = Command::new("bash").arg("-n").arg(&script).output().unwrap();
    assert!(out.status.success(), "bash -n: {}", text(&out));
    // Sourced, it registers itself; its function completes "ini" to "init" and lists --force.
    let probe = r#"source "$1" || exit 9
complete -p dts-sync || exit 8
f=$(complete -p dts-sync | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
COMP_WORDS=(dts-sync ini); COMP_CWORD=1; COMP_LINE="dts-sync ini"; COMP_POINT=${#COMP_LINE}
"$f" dts-sync ini dts-sync; echo "first: ${COMPREPLY[*]}"
COMP_WORDS=(dts-sync init --f); COMP_CWORD=2; COMP_LINE="dts-sync init --f"; COMP_POINT=${#COMP_LINE}
"$f" dts-sync --f init; echo "init: ${COMPREPLY[*]}""#;
    let out = Command::new("bash").args(["-c", probe, "probe"]).arg(&script).output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}", text(&out));
    assert!(shown.contains("complete ") && shown.contains(" dts-sync\n"), "{shown}");
    assert!(shown.lines().any(|l| l.starts_with("first: ") && l.split_whitespace().any(|w| w == "init")), "{shown}");
    assert!(shown.lines().any(|l| l.starts_with("init: ") && l.contains("--force")), "{shown}");

    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = dts_sync().args(["completions", shell]).output().unwrap();
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && script.contains("recopy") && script.contains("exit-when-caught-up"),
            "{shell}: {}",
            text(&out)
        );
    }
    let out = dts_sync().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_man_page_renders_and_has_a_section_for_every_subcommand() {
    let dir = temp_dir("man");
    let page = dir.join("dts-sync.1");
    let out = dts_sync().arg("man").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    std::fs::write(&page, &out.stdout).unwrap();
    // groff with every warning on: the roff is well formed.
    let out = Command::new("groff")
        .args(["-man", "-ww", "-z"])
        .arg(&page)
        .output()
        .expect("groff (apt-get install groff-base)");
    assert!(out.status.success() && out.stderr.is_empty(), "groff warns: {}", text(&out));
    // As `man` shows it.
    let out = Command::new("man").arg("-l").arg(&page).env("MANWIDTH", "100").env("MANPAGER", "cat").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // man-db writes plain text when its output is not a terminal; overstrike (c\bc) removed anyway.
    let shown = without_overstrike(&String::from_utf8_lossy(&out.stdout));
    // Justified text: runs of spaces are one.
    let shown = shown.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
    for heading in ["NAME", "SYNOPSIS", "COMMANDS", "NOTES", "Exit status"] {
        assert!(shown.contains(heading), "{heading}: {shown}");
    }
    assert!(shown.contains("dts-sync init"), "{shown}");
    for sub in subcommands() {
        assert!(shown.contains(&format!("DTS-SYNC {}", sub.to_uppercase())), "no section for {sub}: {shown}");
        assert!(shown.contains(&format!("dts-sync {sub}")), "{sub} missing in the list: {shown}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn without_overstrike(text: &str) -> String {
    let mut out: Vec<char> = Vec::with_capacity(text.len());
    for c in text.chars() {
        if c == '\u{8}' {
            out.pop();
        } else {
            out.push(c);
        }
    }
    out.into_iter().collect()
}

#[test]
fn help_stands_on_its_own() {
    let out = dts_sync().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{help}");
    assert!(help.contains("dts-sync init") && help.contains("Exit status: 0"), "{help}");
    for sub in subcommands() {
        let out = dts_sync().arg(&sub).arg("--help").output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "{sub}: {}", text(&out));
        for repo in ["examples/", "docs/", "README", "ARCHITECTURE"] {
            assert!(!help.contains(repo), "{sub} points into the repository ({repo}): {help}");
        }
        let what = help.split("Usage:").next().unwrap_or("").trim();
        assert!(what.len() > 20, "{sub} says what it does: {help}");
        if ["precheck", "run", "verify", "init", "stop"].contains(&sub.as_str()) {
            assert!(what.contains("xit"), "{sub} names its exit codes: {help}");
        }
    }
}

#[test]
fn the_systemd_unit_verifies() {
    let unit = read(&repo_file("packaging/systemd/dts-sync@.service"));
    let dir = temp_dir("systemd");
    // The unit as installed, pointing at this build's binary (verify checks it is executable)
    // and its man page (verify runs `man` for Documentation=).
    let man1 = dir.join("man/man1");
    std::fs::create_dir_all(&man1).unwrap();
    std::fs::write(man1.join("dts-sync.1"), dts_sync().arg("man").output().unwrap().stdout).unwrap();
    let instance = dir.join("dts-sync@shop.service");
    std::fs::write(&instance, unit.replace("/usr/local/bin/dts-sync", env!("CARGO_BIN_EXE_dts-sync"))).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&instance)
        .env("MANPATH", dir.join("man"))
        .output()
        .expect("systemd-analyze (apt-get install systemd)");
    // Unknown keys and other mistakes are only printed, with exit 0: nothing may be printed.
    assert!(out.status.success() && out.stderr.is_empty() && out.stdout.is_empty(), "{}", text(&out));

    // Its exposure as `systemd-analyze security` scores it (0 to 10, 10 the worst; the
    // threshold is in tenths): 1.5 today, "OK"; at most 2.0.
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--threshold=20"])
        .arg(&instance)
        .env("MANPATH", dir.join("man"))
        .output()
        .unwrap();
    assert!(out.status.success(), "exposure above 2.0: {}", text(&out));

    let service = unit.split("[Service]").nth(1).expect("a [Service] section");
    let settings: Vec<&str> = service.lines().filter(|l| !l.starts_with('#') && l.contains('=')).collect();
    for required in [
        "Restart=on-failure",
        "RestartPreventExitStatus=2",
        "DynamicUser=yes",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(settings.contains(&required), "{required} missing: {service}");
    }
    assert!(settings.iter().filter(|l| l.starts_with("LoadCredential=")).count() == 2, "{service}");
    // Passwords never on a command line nor in the environment.
    for line in settings.iter().filter(|l| l.starts_with("Exec") || l.starts_with("Environment")) {
        assert!(!line.to_lowercase().contains("password"), "{line}");
    }
    assert!(unit.contains("lease"), "the unit says why doubles are harmless");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_container_image_is_multi_stage_and_runs_the_binary_alone_as_non_root() {
    let file = read(&repo_file("packaging/Containerfile"));
    let lines: Vec<&str> = file.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let froms: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].starts_with("FROM ")).collect();
    assert!(froms.len() >= 2, "multi-stage: {file}");
    assert!(lines[froms[0]].contains("rust") && lines[froms[0]].ends_with(" AS build"), "{file}");
    assert!(file.contains("cargo build --release --locked -p dts-sync --no-default-features"), "{file}");
    let run_stage = &lines[*froms.last().unwrap()..];
    assert!(!run_stage[0].contains("rust"), "the run stage is not the build image: {file}");
    let copies: Vec<&&str> = run_stage.iter().filter(|l| l.starts_with("COPY ") || l.starts_with("ADD ")).collect();
    assert!(
        copies.len() == 1 && copies[0].starts_with("COPY --from=build ") && copies[0].contains("dts-sync"),
        "the binary only: {file}"
    );
    let user = run_stage.iter().rev().find_map(|l| l.strip_prefix("USER ")).expect("a USER in the run stage");
    let name = user.split(':').next().unwrap();
    assert!(name != "root" && name != "0", "USER {user}");
    assert!(run_stage.contains(&"EXPOSE 9105"), "{file}");
    assert!(run_stage.iter().any(|l| l.starts_with("ENTRYPOINT [\"") && l.contains("dts-sync\"]")), "{file}");
    // The build context leaves the build output out.
    assert!(read(&repo_file(".dockerignore")).lines().any(|l| l.trim() == "target"));
}

/// `dts-sync ARGS --config PATH` with the shared pair's passwords in the variables the
/// template names.
fn run_with_passwords(path: &std::path::Path, args: &[&str]) -> std::process::Output {
    let pair = shared_pair();
    dts_sync()
        .args(args)
        .arg("--config")
        .arg(path)
        .env("DTS_SOURCE_PASSWORD", pair.source.password().expose())
        .env("DTS_DESTINATION_PASSWORD", pair.destination.password().expose())
        .output()
        .unwrap()
}
