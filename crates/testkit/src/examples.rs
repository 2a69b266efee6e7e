//! Finding a crate's built example programs, for tests that run them as a user would.

use std::path::PathBuf;

/// The built example `name` of `package`, next to the calling test binary
/// (`target/<profile>/examples/`). Panics, saying how to build it, when it is not there:
/// `cargo test` builds a package's examples before its tests, but a single `--test` may not.
pub fn example_program(package: &str, name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps").join("examples");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build -p {package} --examples` first (`cargo test` does it)",
        path.display()
    );
    path
}
