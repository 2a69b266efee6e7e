//! A watchdog process per sandbox that stops the server if its owner dies without doing so.
//!
//! The owner holds the write end of a pipe whose read end is the watchdog's stdin. The kernel
//! closes that pipe whenever the owner exits, however it exits (return, panic, abort, kill -9),
//! so the watchdog wakes at once, kills the server by PID (after checking the PID is still that
//! server, by its command line) and removes the data dir. An owner that stopped the server itself
//! writes `stopped` first and the watchdog just exits.

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

const SCRIPT: &str = r#"
trap '' INT HUP TERM
IFS= read -r line
[ "$line" = stopped ] && exit 0
if tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"; then
  kill -KILL "$1" 2>/dev/null
  i=0
  while [ -d "/proc/$1" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
fi
rm -rf -- "$2"
"#;

#[derive(Debug)]
pub(crate) struct Watchdog {
    child: Child,
    pipe: Option<ChildStdin>,
}

impl Watchdog {
    /// Watches the server `pid` whose command line names `dir`, which is removed afterwards.
    pub(crate) fn spawn(pid: u32, dir: &Path) -> std::io::Result<Watchdog> {
        use std::os::unix::process::CommandExt;
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("dts-sandbox-watchdog")
            .arg(pid.to_string())
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let pipe = child.stdin.take();
        Ok(Watchdog { child, pipe })
    }

    /// Tells the watchdog the owner has stopped the server and cleaned up itself.
    pub(crate) fn dismiss(mut self) {
        if let Some(mut p) = self.pipe.take() {
            let _ = p.write_all(b"stopped\n");
        }
        let _ = self.child.wait();
    }
}
