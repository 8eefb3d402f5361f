//! The program's edge: reads the spec, runs the pipeline, writes or checks files, and
//! turns the result into text for stdout/stderr and an exit code.

use std::path::Path;

use crate::cli::{Cli, Command, SpecArg};
use crate::diag::{self, Diagnostic, Format};
use crate::pipeline::{self, Failure};
use crate::source::Sources;
use crate::spec::{self, MAX_SPEC_BYTES, SpecSource};
use crate::write::{self, Mode};

/// Exit codes.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_INPUT: u8 = 2;

/// What a run prints and returns.
#[derive(Debug, Default)]
pub struct Report {
    pub stdout: String,
    pub stderr: String,
    pub code: u8,
}

const READ: diag::Code = diag::Code {
    code: "PW000",
    name: "unreadable-input",
};
const OUTPUT: diag::Code = diag::Code {
    code: "PW090",
    name: "output-error",
};

/// Reads a spec file, refusing what cannot be a spec (missing, too large, not UTF-8).
pub fn read_spec(arg: &SpecArg) -> Result<SpecSource, Diagnostic> {
    let Some(path) = &arg.spec else {
        return Ok(SpecSource::builtin());
    };
    let name = path.display().to_string();
    let fail = |msg: String| Diagnostic::error(READ, msg).object(format!("spec {name}"));
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read {name}: {e}")))?;
    if meta.is_dir() {
        return Err(fail(format!("{name} is a folder, not a spec file")));
    }
    if meta.len() > MAX_SPEC_BYTES as u64 {
        return Err(fail(format!(
            "{name} is {} bytes; a spec may be at most {MAX_SPEC_BYTES} bytes",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read {name}: {e}")))?;
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

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Report {
    match cli.command {
        Command::Emit(args) => emit(&args.spec, &args.out, args.check, args.format),
        Command::Check(args) => check(&args.spec, args.format),
    }
}

fn failure_report(sources: &Sources, diags: &[Diagnostic], format: Format, code: u8) -> Report {
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

fn load_and_generate(
    spec_arg: &SpecArg,
    format: Format,
) -> Result<(Sources, pipeline::Generated), Report> {
    let mut sources = Sources::default();
    let source = match read_spec(spec_arg) {
        Ok(s) => s,
        Err(d) => return Err(failure_report(&sources, &[d], format, EXIT_INPUT)),
    };
    match pipeline::generate(&mut sources, &source) {
        Ok(g) => Ok((sources, g)),
        Err(f) => {
            let code = match f {
                Failure::Input(_) => EXIT_INPUT,
                Failure::Findings(_) => EXIT_FINDINGS,
            };
            Err(failure_report(&sources, f.diagnostics(), format, code))
        }
    }
}

fn emit(spec_arg: &SpecArg, out: &Path, check_only: bool, format: Format) -> Report {
    let (sources, generated) = match load_and_generate(spec_arg, format) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mode = if check_only { Mode::Check } else { Mode::Write };
    let mut report = Report::default();
    if !generated.warnings.is_empty() {
        report.stderr = diag::render(&generated.warnings, &sources, format);
    }
    match write::apply(out, &generated.files, mode) {
        Err(e) => {
            let d = Diagnostic::error(OUTPUT, e.to_string());
            let mut r = failure_report(&sources, &[d], format, EXIT_INPUT);
            if !e.replaced().is_empty() {
                r.stderr = r
                    .stderr
                    .replace("nothing was written", "the files named above were replaced");
            }
            r.stderr.insert_str(0, &report.stderr);
            r
        }
        Ok(outcome) => {
            let dir = out.display();
            if check_only {
                for (_, diff) in &outcome.stale {
                    report.stdout.push_str(diff);
                }
                if outcome.stale.is_empty() {
                    report.stderr.push_str(&format!(
                        "poolwatch: {} files in {dir} are up to date\n",
                        outcome.unchanged.len()
                    ));
                } else {
                    report.code = EXIT_FINDINGS;
                    let names: Vec<&str> = outcome.stale.iter().map(|(p, _)| p.as_str()).collect();
                    report.stderr.push_str(&format!(
                        "poolwatch: stale in {dir}: {}; run `poolwatch emit` and commit the result\n",
                        names.join(", ")
                    ));
                }
            } else {
                for p in &outcome.written {
                    report.stderr.push_str(&format!("wrote {dir}/{p}\n"));
                }
                report.stderr.push_str(&format!(
                    "poolwatch: {} written, {} unchanged in {dir} (spec {})\n",
                    outcome.written.len(),
                    outcome.unchanged.len(),
                    generated.model.source_name
                ));
            }
            report
        }
    }
}

fn check(spec_arg: &SpecArg, format: Format) -> Report {
    match load_and_generate(spec_arg, format) {
        Err(r) => r,
        Ok((sources, generated)) => {
            let diags = &generated.warnings;
            let mut report = Report::default();
            let text = diag::render(diags, &sources, format);
            if format == Format::Human {
                report.stderr = text;
                report.stderr.push_str(&format!(
                    "poolwatch: {} checked: {}\n",
                    generated.model.source_name,
                    diag::summary(diags)
                ));
            } else {
                report.stdout = text;
            }
            report
        }
    }
}

/// The K2 spec's name, for messages.
pub fn builtin_name() -> &'static str {
    spec::BUILTIN_K2_NAME
}
