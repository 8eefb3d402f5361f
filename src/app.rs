//! The program's edge: reads the spec, runs the pipeline, writes or checks files, and
//! turns the result into text for stdout/stderr and an exit code.

use std::path::Path;

use crate::check::{self, registry};
use crate::cli::{CheckArgs, Cli, Command, InitArgs, SpecArg};
use crate::diag::{self, Diagnostic, Format};
use crate::pipeline::{self, Failure, Variants};
use crate::render::OutputFile;
use crate::render::Target;
use crate::source::{FileId, Sources};
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
const PRESET: diag::Code = diag::Code {
    code: "PW013",
    name: "unknown-preset",
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
    read_text(path, "spec")
}

/// Reads a text file given on the command line (a spec, rule file or dashboard), refusing
/// what cannot be one (missing, a folder, too large, not UTF-8).
fn read_text(path: &Path, what: &str) -> Result<SpecSource, Diagnostic> {
    let name = path.display().to_string();
    let fail = |msg: String| Diagnostic::error(READ, msg).object(format!("{what} {name}"));
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read {name}: {e}")))?;
    if meta.is_dir() {
        return Err(fail(format!("{name} is a folder, not a {what} file")));
    }
    if meta.len() > MAX_SPEC_BYTES as u64 {
        return Err(fail(format!(
            "{name} is {} bytes; a {what} may be at most {MAX_SPEC_BYTES} bytes",
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
        Command::Emit(args) => {
            let variants = args.env.as_deref().map_or(Variants::All, Variants::Env);
            emit(
                &args.spec,
                &args.out,
                args.check,
                args.target,
                variants,
                args.format,
            )
        }
        Command::Check(args) if args.explain.is_some() || args.list => explain(&args),
        Command::Check(args) if !args.rules.is_empty() || !args.dashboards.is_empty() => {
            check_files(&args)
        }
        Command::Check(args) => check(&args.spec, args.format),
        Command::Init(args) => init(&args),
    }
}

/// `check --explain CODE` and `check --list`.
fn explain(args: &CheckArgs) -> Report {
    let mut report = Report::default();
    match args.explain.as_deref().map(registry::find) {
        None => report.stdout = registry::list(),
        Some(Some(c)) => report.stdout = registry::explain(c),
        Some(None) => {
            report.stderr = format!(
                "poolwatch: no check is called `{}`; `poolwatch check --list` lists them\n",
                args.explain.as_deref().unwrap_or("")
            );
            report.code = EXIT_INPUT;
        }
    }
    report
}

/// `check --rules FILE... --dashboards FILE...`: lints hand-written files against the
/// spec's catalog and severities. Every file is read and checked before anything is printed.
fn check_files(args: &CheckArgs) -> Report {
    // The base spec's catalog and severities judge the files (overlays change thresholds).
    let (mut sources, set) =
        match load_and_generate(&args.spec, Target::Prometheus, Variants::All, args.format) {
            Ok(v) => v,
            Err(r) => return r,
        };
    let model = &set[0].model;
    let mut input = Vec::new();
    let mut read = |paths: &[std::path::PathBuf], what: &str| -> Vec<FileId> {
        let mut ids = Vec::new();
        for path in paths {
            match read_text(path, what) {
                Ok(src) => ids.push(sources.add(src.name, src.text)),
                Err(d) => input.push(d),
            }
        }
        ids
    };
    let rule_files = read(&args.rules, "rule file");
    let dashboards = read(&args.dashboards, "dashboard");
    let linted = check::run::files(model, &sources, &rule_files, &dashboards);
    input.extend(linted.unusable);
    let mut diags = linted.findings;
    diag::sort(&mut diags);
    let code = if !input.is_empty() {
        EXIT_INPUT
    } else if diag::has_errors(&diags) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    };
    input.append(&mut diags);
    let text = diag::render(&input, &sources, args.format);
    let mut report = Report {
        code,
        ..Report::default()
    };
    if args.format == Format::Human {
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let mut checked = Vec::new();
        if !args.rules.is_empty() {
            checked.push(format!(
                "{} ({})",
                plural(args.rules.len(), "rule file"),
                plural(linted.rules, "rule")
            ));
        }
        if !args.dashboards.is_empty() {
            checked.push(plural(args.dashboards.len(), "dashboard"));
        }
        report.stderr = text;
        report.stderr.push_str(&format!(
            "poolwatch: {} checked against {}: {}\n",
            checked.join(" and "),
            model.source_name,
            diag::summary(&input)
        ));
    } else {
        report.stdout = text;
    }
    report
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
    target: Target,
    variants: Variants<'_>,
    format: Format,
) -> Result<(Sources, Vec<pipeline::Generated>), Report> {
    let mut sources = Sources::default();
    let source = match read_spec(spec_arg) {
        Ok(s) => s,
        Err(d) => return Err(failure_report(&sources, &[d], format, EXIT_INPUT)),
    };
    let file = sources.add(source.name, source.text);
    match pipeline::generate(&sources, file, target, variants) {
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

fn emit(
    spec_arg: &SpecArg,
    out: &Path,
    check_only: bool,
    target: Target,
    variants: Variants<'_>,
    format: Format,
) -> Report {
    let (sources, mut set) = match load_and_generate(spec_arg, target, variants, format) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let files: Vec<OutputFile> = set
        .iter_mut()
        .flat_map(|g| std::mem::take(&mut g.files))
        .collect();
    let warnings: Vec<Diagnostic> = set
        .iter_mut()
        .flat_map(|g| std::mem::take(&mut g.warnings))
        .collect();
    let source_name = set
        .first()
        .map(|g| g.model.source_name.clone())
        .unwrap_or_default();
    let mode = if check_only { Mode::Check } else { Mode::Write };
    let mut report = Report::default();
    if !warnings.is_empty() {
        report.stderr = diag::render(&warnings, &sources, format);
    }
    push_coverage(&mut report, &set, format);
    drop(set);
    match write::apply(out, &files, mode) {
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
                    source_name
                ));
            }
            report
        }
    }
}

fn check(spec_arg: &SpecArg, format: Format) -> Report {
    match load_and_generate(spec_arg, Target::Prometheus, Variants::All, format) {
        Err(r) => r,
        Ok((sources, set)) => {
            let generated = &set[0];
            let diags: Vec<Diagnostic> = set
                .iter()
                .flat_map(|g| g.warnings.iter().cloned())
                .collect();
            let diags = &diags;
            let mut report = Report::default();
            let text = diag::render(diags, &sources, format);
            if format == Format::Human {
                report.stderr = text;
                report.stderr.push_str(&format!(
                    "poolwatch: {} checked: {}\n",
                    generated.model.source_name,
                    diag::summary(diags)
                ));
                push_coverage(&mut report, &set, format);
            } else {
                report.stdout = text;
            }
            report
        }
    }
}

/// `poolwatch init`: a preset's text to stdout or a new file.
fn init(args: &InitArgs) -> Report {
    let Some(text) = spec::preset(&args.preset) else {
        let names: Vec<&str> = spec::PRESETS.iter().map(|p| p.0).collect();
        let mut d = Diagnostic::error(PRESET, format!("there is no preset `{}`", args.preset))
            .help(format!("presets: {}", names.join(", ")));
        if let Some(m) = crate::model::did_you_mean(&args.preset, names.iter().copied()) {
            d = d.help(format!("did you mean `{m}`?"));
        }
        return failure_report(&Sources::default(), &[d], Format::Human, EXIT_INPUT);
    };
    let Some(path) = &args.out else {
        return Report {
            stdout: text.to_string(),
            ..Report::default()
        };
    };
    if path.exists() && !args.force {
        let d = Diagnostic::error(
            OUTPUT,
            format!("{} exists; pass --force to overwrite it", path.display()),
        );
        return failure_report(&Sources::default(), &[d], Format::Human, EXIT_INPUT);
    }
    let file = crate::render::OutputFile {
        path: path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
        contents: text.to_string(),
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match write::apply(dir, &[file], Mode::Write) {
        Ok(_) => Report {
            stderr: format!(
                "wrote {}: the {} preset; adapt it, then `poolwatch emit --spec {}`\n",
                path.display(),
                args.preset,
                path.display()
            ),
            ..Report::default()
        },
        Err(e) => failure_report(
            &Sources::default(),
            &[Diagnostic::error(OUTPUT, e.to_string())],
            Format::Human,
            EXIT_INPUT,
        ),
    }
}

/// Human format: how many alerts the generated promtool tests prove, for every variant.
fn push_coverage(report: &mut Report, set: &[pipeline::Generated], format: Format) {
    if format != Format::Human {
        return;
    }
    for g in set {
        let coverage = g.artifacts.coverage;
        match &g.model.environment {
            None => report.stderr.push_str(&format!("poolwatch: {coverage}\n")),
            Some(env) => report
                .stderr
                .push_str(&format!("poolwatch: {coverage} (environment {env})\n")),
        }
    }
}
