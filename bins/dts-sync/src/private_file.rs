//! Files that hold row data (verify's repair script) are readable by their owner only.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Writes `text` to `path` with mode 0600, also when the file already existed with a looser mode.
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(text.as_bytes())?;
    f.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_existing_files_end_up_0600() {
        let dir = std::env::temp_dir().join(format!("dts-private-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (new, old) = (dir.join("new.sql"), dir.join("old.sql"));
        std::fs::write(&old, "x").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        for p in [&new, &old] {
            write(p, "INSERT ...;\n").unwrap();
            assert_eq!(std::fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o600, "{}", p.display());
            assert_eq!(std::fs::read_to_string(p).unwrap(), "INSERT ...;\n");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
