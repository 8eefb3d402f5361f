//! What every command's edge shares: the report a run returns, its exit codes, the
//! codes of unusable input, and reading a file named on the command line.

use std::path::Path;

use crate::diag::{self, Diagnostic, Format};
use crate::source::Sources;
use crate::spec::{MAX_SPEC_BYTES, SpecSource};

/// Exit codes.
pub(crate) const EXIT_OK: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_INPUT: u8 = 2;

/// What a run prints and returns.
#[derive(Debug, Default)]
pub struct Report {
    pub stdout: String,
    pub stderr: String,
    pub code: u8,
}

pub(crate) const READ: diag::Code = diag::Code {
    code: "PW000",
    name: "unreadable-input",
};
pub(crate) const PRESET: diag::Code = diag::Code {
    code: "PW013",
    name: "unknown-preset",
};
pub(crate) const OUTPUT: diag::Code = diag::Code {
    code: "PW090",
    name: "output-error",
};

/// Reads a text file given on the command line (a spec, rule file or dashboard), refusing
/// what cannot be one (missing, a folder, too large, not UTF-8).
pub(crate) fn read_text(path: &Path, what: &str) -> Result<SpecSource, Diagnostic> {
    let name = path.display().to_string();
    let fail = |msg: String| Diagnostic::error(READ, msg).object(format!("{what} {name}"));
    // One open, and the size from the open file: a rule repository is hundreds of small
    // files, and each path lookup is a system call.
    let mut file =
        std::fs::File::open(path).map_err(|e| fail(format!("cannot read {name}: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| fail(format!("cannot read {name}: {e}")))?;
    if meta.is_dir() {
        return Err(fail(format!("{name} is a folder, not a {what} file")));
    }
    if meta.len() > MAX_SPEC_BYTES as u64 {
        return Err(fail(format!(
            "{name} is {} bytes; a {what} may be at most {MAX_SPEC_BYTES} bytes",
            meta.len()
        )));
    }
    // Sized from the stat above: reading through `take` skips the file's own size
    // lookups (another stat and a seek).
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    std::io::Read::read_to_end(&mut std::io::Read::take(&mut file, u64::MAX), &mut bytes)
        .map_err(|e| fail(format!("cannot read {name}: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        // The valid prefix is text: count lines and characters in it for a line:col.
        let before = String::from_utf8_lossy(&bytes[..at]);
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        fail(format!(
            "{name}:{line}:{col}: the spec is not UTF-8 text (byte 0x{:02X})",
            bytes.get(at).copied().unwrap_or_default()
        ))
        .help("save the spec as UTF-8")
    })?;
    Ok(SpecSource { name, text })
}

/// A run that failed: its findings rendered, and `nothing was written` said where a
/// person reads it.
pub(crate) fn failure_report(
    sources: &Sources,
    diags: &[Diagnostic],
    format: Format,
    code: u8,
) -> Report {
    let mut stderr = diag::render(diags, sources, format);
    if format == Format::Human {
        stderr.push_str(&format!(
            "poolwatch: {}; nothing was written\n",
            diag::summary(diags)
        ));
    }
    let (stdout, stderr) = if format == Format::Human {
        (String::new(), stderr)
    } else {
        (stderr, String::new())
    };
    Report {
        stdout,
        stderr,
        code,
    }
}
