//! The crate map in ARCHITECTURE.md is the law for which of our crates may depend on which:
//! this test reads its "Allowed dependencies" table and `cargo metadata`, and fails when a crate
//! depends on one of ours that the table does not list, or when the table lists a dependency
//! the crate no longer has (so the map stays true in both directions).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// One allowed dependency: the crate, and whether it must be optional (behind a feature).
type Allowed = BTreeMap<String, BTreeSet<(String, bool)>>;

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace root")
}

/// The table between the `crate-deps` markers: `| `crate` | `dep`, `dep` (optional: ...) |`.
fn allowed_from_map() -> Allowed {
    let text = std::fs::read_to_string(workspace_root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let start = text.find("<!-- crate-deps:begin -->").expect("ARCHITECTURE.md has a crate-deps:begin marker");
    let end = text.find("<!-- crate-deps:end -->").expect("ARCHITECTURE.md has a crate-deps:end marker");
    let mut allowed = Allowed::new();
    for line in text[start..end].lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`').to_string();
        let deps = cells[2]
            .split(',')
            .map(str::trim)
            .filter(|d| d.starts_with('`'))
            .map(|d| {
                let dep = d.split('`').nth(1).expect("a dependency in backticks").to_string();
                (dep, d.contains("(optional"))
            })
            .collect();
        allowed.insert(name, deps);
    }
    assert!(!allowed.is_empty(), "the crate-deps table in ARCHITECTURE.md has no rows");
    allowed
}

/// Every workspace crate's normal (not dev, not build) dependencies on workspace crates.
fn actual_from_metadata() -> Allowed {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let ours: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut actual = Allowed::new();
    for p in packages {
        let name = p["name"].as_str().expect("name").to_string();
        let deps = p["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .filter(|d| d["kind"].is_null() && ours.contains(d["name"].as_str().unwrap_or("")))
            .map(|d| (d["name"].as_str().expect("name").to_string(), d["optional"].as_bool().unwrap_or(false)))
            .collect();
        actual.insert(name, deps);
    }
    actual
}

#[test]
fn crates_depend_only_as_the_map_allows() {
    let allowed = allowed_from_map();
    let actual = actual_from_metadata();
    let mut wrong = Vec::new();
    for (name, deps) in &actual {
        let Some(ok) = allowed.get(name) else {
            wrong.push(format!("{name} is not in ARCHITECTURE.md's crate-deps table"));
            continue;
        };
        for d in deps.difference(ok) {
            let how = if d.1 { " (optional)" } else { "" };
            wrong.push(format!("{name} depends on {}{how}, which the map does not allow", d.0));
        }
        for d in ok.difference(deps) {
            wrong.push(format!("the map lists {name} -> {}, but {name} does not depend on it that way", d.0));
        }
    }
    for name in allowed.keys().filter(|n| !actual.contains_key(*n)) {
        wrong.push(format!("the map lists {name}, which is not a workspace crate"));
    }
    assert!(wrong.is_empty(), "ARCHITECTURE.md's crate map and Cargo.toml disagree:\n{}", wrong.join("\n"));
}

#[test]
fn the_map_parser_reads_optional_entries() {
    // The product binary links the test kit only through its `demo` feature: the table must
    // say so, and the parser must read it, or the check above could not catch a change.
    let allowed = allowed_from_map();
    let bin = allowed.get("dts-sync").expect("the binary is in the map");
    assert!(bin.contains(&("dts-testkit".to_string(), true)), "dts-sync -> dts-testkit must be listed as optional");
    assert!(bin.contains(&("dts-task".to_string(), false)));
}
