//! Running the `poolwatch` binary from tests, with a guard that turns a hang into a failure.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// How long a single run may take before the test calls it a hang. Generous: this is not a
/// performance assertion, only a guard against looping forever.
const HANG: Duration = Duration::from_secs(120);

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_poolwatch")
}

/// Runs `poolwatch ARGS` in `cwd` and returns its output; panics if it does not finish.
pub fn poolwatch(args: &[&str], cwd: &Path) -> Output {
    let child = Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn poolwatch");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    // Reading both pipes to the end while waiting: a full pipe cannot stall the child.
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(HANG) {
        Ok(out) => out.expect("output"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("poolwatch {args:?} did not finish: hang");
        }
    }
}

/// Exit code, or -signal when killed by a signal.
pub fn code(out: &Output) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    out.status
        .code()
        .unwrap_or_else(|| -out.status.signal().unwrap_or(0))
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
