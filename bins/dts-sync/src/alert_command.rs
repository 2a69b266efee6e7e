//! `[monitor] alert_command`: run with `sh -c` in its own process group, without the
//! variables that hold the database passwords (the ones `password_env` names), and killed
//! with its whole group when it outlives its timeout.

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Why an alert command did not finish.
#[derive(Debug, thiserror::Error)]
pub enum AlertCommandError {
    /// It could not be started.
    #[error("cannot start sh: {0}")]
    Start(std::io::Error),
    /// It ran longer than allowed and was killed.
    #[error("still running after {0:?}: killed")]
    TimedOut(Duration),
    /// Waiting for it failed.
    #[error("cannot wait for it: {0}")]
    Wait(std::io::Error),
}

/// Runs `cmd` with `env` added and `secret_vars` removed from the environment, for at most
/// `timeout`.
pub fn run(
    cmd: &str,
    env: &[(&str, &str)],
    secret_vars: &[String],
    timeout: Duration,
) -> Result<ExitStatus, AlertCommandError> {
    let mut c = Command::new("sh");
    c.arg("-c").arg(cmd).stdin(Stdio::null()).process_group(0);
    for var in secret_vars {
        c.env_remove(var);
    }
    c.envs(env.iter().copied());
    let mut child = c.spawn().map_err(AlertCommandError::Start)?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(st) = child.try_wait().map_err(AlertCommandError::Wait)? {
            return Ok(st);
        }
        if Instant::now() >= deadline {
            // The whole group: `sh -c` may have children of its own (a `sleep`, a `curl`).
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            // Past its timeout: killed and reaped; it may have exited just now (nothing to report).
            let _ = child.kill();
            // Reaped so no zombie stays; its status is not needed after a kill.
            let _ = child.wait();
            return Err(AlertCommandError::TimedOut(timeout));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // That the password variables are left out is shown by tests/monitor.rs, which runs the
    // binary with them set (setting a variable here would need `unsafe`).

    #[test]
    fn a_hung_command_is_killed_with_its_children_at_the_timeout() {
        let marker = std::env::temp_dir().join(format!("dts-alert-hung-{}", std::process::id()));
        let t = Instant::now();
        let cmd = format!("sleep 2; touch {}", marker.display());
        let r = run(&cmd, &[], &[], Duration::from_millis(300));
        assert!(matches!(r, Err(AlertCommandError::TimedOut(_))), "{r:?}");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        std::thread::sleep(Duration::from_millis(2500));
        assert!(!marker.exists(), "the script went on after the kill");
    }
}
