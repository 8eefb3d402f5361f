//! The program's edge: reads the spec, runs the pipeline, writes or checks files, and
//! turns the result into text for stdout/stderr and an exit code.

mod edge;
mod lint;

use std::path::{Path, PathBuf};

use crate::check::registry;

use crate::alertmanager;
use crate::cli::{CheckArgs, Cli, Command, EmitArgs, InitArgs, SpecArg};
use crate::diag::{self, Diagnostic, Format};
use crate::fleet::{self, Fleet, Layout};
use crate::pipeline::{self, Failure, Variants};
use crate::render::OutputFile;
use crate::render::Target;
use crate::render::promtool_tests::Coverage;
use crate::source::{FileId, Sources};
use crate::spec::{self, BUILTIN_K2, BUILTIN_K2_NAME, SpecSource};
use crate::write::{self, Mode};

pub use edge::{EXIT_FINDINGS, EXIT_INPUT, Report};
pub(crate) use edge::{EXIT_OK, OUTPUT, PRESET, READ, failure_report, read_text};

/// The specs of one run, read into `sources`, and where their files go.
#[derive(Debug)]
pub(crate) struct Specs {
    pub(crate) sources: Sources,
    pub(crate) files: Vec<FileId>,
    pub(crate) layout: Layout,
    /// Which spec is used when none was named and the working folder has its own copy of
    /// the built-in one that differs from it.
    pub(crate) note: Option<String>,
}

/// Reads the specs named on the command line: files, and the `*.yaml`/`*.yml` files of
/// folders. Several specs (or any folder) are laid out one folder per spec. Without
/// `--spec`: `specs/k2.yaml` in the working folder when there is one (it is the file a
/// user edits, even with an installed binary), else the built-in K2 spec.
pub(crate) fn read_specs(arg: &SpecArg) -> Result<Specs, Vec<Diagnostic>> {
    let mut sources = Sources::default();
    let mut note = None;
    let mut paths = Vec::new();
    let mut errors = Vec::new();
    let mut folder = false;
    for path in &arg.spec {
        if path.is_dir() {
            folder = true;
            match specs_in(path) {
                Ok(found) if found.is_empty() => errors.push(
                    Diagnostic::error(
                        READ,
                        format!("{} holds no spec (*.yaml or *.yml)", path.display()),
                    )
                    .object(format!("spec folder {}", path.display())),
                ),
                Ok(found) => paths.extend(found),
                Err(d) => errors.push(d),
            }
        } else {
            paths.push(path.clone());
        }
    }
    let mut files = Vec::new();
    if arg.spec.is_empty() {
        let local = Path::new(BUILTIN_K2_NAME);
        let source = if local.is_file() {
            let source = read_text(local, "spec").map_err(|d| vec![d])?;
            if source.text != BUILTIN_K2 {
                note = Some(format!(
                    "poolwatch: using {BUILTIN_K2_NAME} from the working folder, which differs \
                     from the built-in K2 spec (pass --spec to choose a spec)\n"
                ));
            }
            source
        } else {
            note = Some(format!(
                "poolwatch: no --spec given and no {BUILTIN_K2_NAME} in the working folder: using \
                 the built-in K2 example spec (pass --spec FILE, or start one with `poolwatch init \
                 --preset NAME`)\n"
            ));
            SpecSource::builtin()
        };
        files.push(sources.add(source.name, source.text));
    }
    for path in &paths {
        match read_text(path, "spec") {
            Ok(s) => files.push(sources.add(s.name, s.text)),
            Err(d) => errors.push(d),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let layout = if folder || paths.len() > 1 {
        Layout::PerSpec
    } else {
        Layout::Root
    };
    Ok(Specs {
        sources,
        files,
        layout,
        note,
    })
}

/// The spec files in a folder, sorted by name.
fn specs_in(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let fail = |e: std::io::Error| {
        Diagnostic::error(READ, format!("cannot read {}: {e}", dir.display()))
            .object(format!("spec folder {}", dir.display()))
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(fail)? {
        let path = entry.map_err(fail)?.path();
        let spec_like = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        if spec_like && path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Report {
    match cli.command {
        Command::Emit(args) => emit(&args),
        Command::Check(args) if args.explain.is_some() || args.list => explain(&args),
        Command::Check(args) if !args.rules.is_empty() || !args.dashboards.is_empty() => {
            lint::check_files(&args)
        }
        Command::Check(args) if args.alertmanager.is_some() => check_alertmanager(&args),
        Command::Check(args) => check(&args.spec, args.output.format),
        Command::Init(args) => init(&args),
        Command::Diff(args) => with_specs(&args.spec, args.output.format, |s| {
            crate::review::diff(&args, &s.sources, &s.files)
        }),
        Command::Backtest(args) => with_specs(&args.spec, args.output.format, |s| {
            crate::review::backtest(&args, &s.sources, &s.files)
        }),
    }
}

/// `diff` and `backtest`: the specs read, then the review's own run.
fn with_specs(
    spec: &SpecArg,
    format: Format,
    run: impl FnOnce(&Specs) -> (String, String, u8),
) -> Report {
    match read_specs(spec) {
        Ok(specs) => {
            let (stdout, stderr, code) = run(&specs);
            Report {
                stdout,
                stderr,
                code,
            }
        }
        Err(d) => failure_report(&Sources::default(), &d, format, EXIT_INPUT),
    }
}

/// `check --explain CODE` and `check --list`.
fn explain(args: &CheckArgs) -> Report {
    let mut report = Report::default();
    let Some(code) = args.explain.as_deref() else {
        report.stdout = registry::list();
        return report;
    };
    match registry::find(code).map(registry::explain) {
        Some(text) => report.stdout = text,
        None => match explain_error(code) {
            Some(text) => report.stdout = text,
            None => {
                report.stderr = format!(
                    "poolwatch: no check or error is called `{code}`; `poolwatch check --list` lists the checks, docs/errors.md the errors\n"
                );
                report.code = EXIT_INPUT;
            }
        },
    }
    report
}

/// docs/errors.md, whose table documents the codes that are not checks (the spec's own
/// errors, output errors); `check --explain` reads it so the page and the binary agree.
const ERRORS_DOC: &str = include_str!("../docs/errors.md");

/// `check --explain` of an error code (`PW001`) or name (`invalid-yaml`): its row of
/// docs/errors.md's table, as plain text.
fn explain_error(code_or_name: &str) -> Option<String> {
    ERRORS_DOC.lines().find_map(|line| {
        let cells: Vec<&str> = line
            .split(" | ")
            .map(|c| c.trim_matches(['|', ' ']))
            .collect();
        let [code, name, what, exit] = cells.as_slice() else {
            return None;
        };
        let hit = code.starts_with("PW")
            && (code.eq_ignore_ascii_case(code_or_name) || *name == code_or_name);
        hit.then(|| format!("{code} {name} (error, exit code {exit})\n\n{what}\n"))
    })
}

/// Reads the specs and runs the pipeline for each; a report of what failed otherwise.
fn load_and_generate(
    spec_arg: &SpecArg,
    target: Target,
    variants: Variants<'_>,
    format: Format,
    sink: fleet::Sink<'_>,
) -> Result<(Specs, Fleet), Report> {
    let specs = match read_specs(spec_arg) {
        Ok(s) => s,
        Err(d) => return Err(failure_report(&Sources::default(), &d, format, EXIT_INPUT)),
    };
    match fleet::generate(
        &specs.sources,
        &specs.files,
        target,
        variants,
        specs.layout,
        sink,
    ) {
        Ok(f) => Ok((specs, f)),
        Err(f) => {
            let code = match f {
                Failure::Input(_) => EXIT_INPUT,
                Failure::Findings(_) => EXIT_FINDINGS,
            };
            let mut diags = f.into_diagnostics();
            diag::sort(&mut diags);
            let mut report = failure_report(&specs.sources, &diags, format, code);
            if let Some(note) = specs.note {
                report.stderr.insert_str(0, &note);
            }
            Err(report)
        }
    }
}

/// `poolwatch emit`: generate every spec, then write the files (or, with `--check`,
/// compare them) in one step, with the folder's manifest.
fn emit(args: &EmitArgs) -> Report {
    let target = args.target.unwrap_or_default();
    let variants = args.env.as_deref().map_or(Variants::All, Variants::Env);
    let out = args.out();
    let mode = if args.check { Mode::Check } else { Mode::Write };
    let output_failure = |e: write::WriteError, earlier: &str| {
        let d = Diagnostic::error(OUTPUT, e.to_string());
        let mut r = failure_report(&Sources::default(), &[d], args.output.format, EXIT_INPUT);
        if !e.replaced().is_empty() {
            r.stderr = r
                .stderr
                .replace("nothing was written", "the files named above were replaced");
        }
        r.stderr.insert_str(0, earlier);
        r
    };
    // Each spec's files go aside as soon as they are generated; nothing is replaced
    // before every spec has passed and the specs are checked against each other.
    let session = match write::Session::begin(&out, mode, true) {
        Ok(s) => s,
        Err(e) => return output_failure(e, ""),
    };
    let sink = |files: Vec<OutputFile>| {
        session
            .add(&files)
            .map_err(|e| Failure::Input(vec![Diagnostic::error(OUTPUT, e.to_string())]))
    };
    let (specs, fleet) =
        match load_and_generate(&args.spec, target, variants, args.output.format, &sink) {
            Ok(v) => v,
            Err(r) => return r,
        };
    let mut report = Report::default();
    if let Some(note) = &specs.note {
        report.stderr.push_str(note);
    }
    let warnings = fleet.warnings();
    if !warnings.is_empty() {
        report
            .stderr
            .push_str(&diag::render(&warnings, &specs.sources, args.output.format));
    }
    push_coverage(&mut report, &fleet, args.output.format);
    let spec_names: Vec<&str> = specs
        .files
        .iter()
        .filter_map(|f| specs.sources.get(*f))
        .map(|f| f.name.as_str())
        .collect();
    let outcome = match session.finish() {
        Ok(o) => o,
        Err(e) => return output_failure(e, &report.stderr),
    };
    let dir = out.display();
    for (path, why) in &outcome.kept {
        report.stderr.push_str(&format!(
            "poolwatch: kept {dir}/{path}: no longer generated, but {why}; remove it by hand \
             if it is not needed\n"
        ));
    }
    for (line, why) in &outcome.ignored {
        report.stderr.push_str(&format!(
            "poolwatch: warning: ignored `{line}` in {dir}/{}: {why}; nothing outside the \
             output folder is removed\n",
            write::manifest::FILE_NAME
        ));
    }
    let source = match spec_names.as_slice() {
        [one] => format!("spec {one}"),
        many => format!("{} specs", many.len()),
    };
    if args.check {
        if !outcome.stale.is_empty() {
            // What the stale files change, as the spec at the base (HEAD: where CI keeps
            // generated/ current) against the working spec.
            let base = args.base.base.as_deref().unwrap_or("HEAD");
            let summary =
                crate::review::since(base, &specs.sources, &specs.files, target, variants)
                    .map_err(|e| e.render(&specs.sources, Format::Human));
            report.stdout = crate::review::format::stale_report(
                args.output.format,
                &dir.to_string(),
                &outcome.stale,
                summary.as_ref().map_err(String::as_str),
                &args.write_command(),
            );
        }
        if outcome.stale.is_empty() {
            report.stderr.push_str(&format!(
                "poolwatch: {} files in {dir} are up to date ({source})\n",
                outcome.unchanged.len()
            ));
        } else {
            report.code = EXIT_FINDINGS;
            let names: Vec<&str> = outcome.stale.iter().map(|(p, _)| p.as_str()).collect();
            report.stderr.push_str(&format!(
                "poolwatch: stale in {dir}: {}\nrun `{}` and commit the result\n",
                names.join(", "),
                args.write_command()
            ));
        }
    } else {
        for p in &outcome.written {
            report.stderr.push_str(&format!("wrote {dir}/{p}\n"));
        }
        for p in &outcome.removed {
            report
                .stderr
                .push_str(&format!("removed {dir}/{p} (no longer generated)\n"));
        }
        report.stderr.push_str(&format!(
            "poolwatch: {} written, {} unchanged, {} removed in {dir} ({source})\n",
            outcome.written.len(),
            outcome.unchanged.len(),
            outcome.removed.len(),
        ));
    }
    report
}

/// `poolwatch check` of specs: everything they generate, nothing written.
fn check(spec_arg: &SpecArg, format: Format) -> Report {
    let (specs, fleet) =
        match load_and_generate(spec_arg, Target::Prometheus, Variants::All, format, &|_| {
            Ok(())
        }) {
            Ok(v) => v,
            Err(r) => return r,
        };
    let diags = fleet.warnings();
    let mut report = Report::default();
    let text = diag::render(&diags, &specs.sources, format);
    if format == Format::Human {
        if let Some(note) = &specs.note {
            report.stderr.push_str(note);
        }
        report.stderr.push_str(&text);
        let checked = match fleet.specs.as_slice() {
            [one] => specs
                .sources
                .get(one.file)
                .map_or_else(String::new, |f| f.name.clone()),
            many => format!("{} specs", many.len()),
        };
        report.stderr.push_str(&format!(
            "poolwatch: {checked} checked: {}\n",
            diag::summary(&diags)
        ));
        push_coverage(&mut report, &fleet, format);
    } else {
        report.stdout = text;
    }
    report
}

/// `poolwatch check --alertmanager FILE`: every variant of the specs routed through a real
/// Alertmanager configuration. A configuration that cannot be read is unusable input.
fn check_alertmanager(args: &CheckArgs) -> Report {
    let format = args.output.format;
    let mut specs = match read_specs(&args.spec) {
        Ok(s) => s,
        Err(d) => return failure_report(&Sources::default(), &d, format, EXIT_INPUT),
    };
    let path = args.alertmanager.as_deref().unwrap_or(Path::new(""));
    let config = match read_text(path, "Alertmanager configuration") {
        Ok(text) => {
            let file = specs.sources.add(text.name, text.text);
            alertmanager::config::parse(&specs.sources, file)
        }
        Err(d) => Err(vec![d]),
    };
    let config = match config {
        Ok(c) => c,
        Err(d) => return failure_report(&specs.sources, &d, format, EXIT_INPUT),
    };
    let mut generated = Vec::new();
    for file in &specs.files {
        match pipeline::generate(&specs.sources, *file, Target::Prometheus, Variants::All) {
            Ok(g) => generated.extend(g),
            Err(f) => {
                let code = match f {
                    Failure::Input(_) => EXIT_INPUT,
                    Failure::Findings(_) => EXIT_FINDINGS,
                };
                return failure_report(&specs.sources, f.diagnostics(), format, code);
            }
        }
    }
    let (diags, routed) = alertmanager::routing::check(&config, &generated);
    let mut report = Report {
        code: if diag::has_errors(&diags) {
            EXIT_FINDINGS
        } else {
            EXIT_OK
        },
        ..Report::default()
    };
    let text = diag::render(&diags, &specs.sources, format);
    if format == Format::Human {
        report.stderr = format!(
            "{text}poolwatch: {routed} generated alerts routed through {}: {}\n",
            path.display(),
            diag::summary(&diags)
        );
    } else {
        report.stdout = text;
    }
    report
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

/// Human format: how many alerts the generated promtool tests prove: for every variant
/// of one spec, or in total for several.
fn push_coverage(report: &mut Report, fleet: &Fleet, format: Format) {
    if format != Format::Human {
        return;
    }
    if let [one] = fleet.specs.as_slice() {
        for g in &one.variants {
            let coverage = g.coverage;
            match &g.environment {
                None => report.stderr.push_str(&format!("poolwatch: {coverage}\n")),
                Some(env) => report
                    .stderr
                    .push_str(&format!("poolwatch: {coverage} (environment {env})\n")),
            }
        }
        return;
    }
    let mut total = Coverage::default();
    for g in fleet.variants() {
        total.alerts += g.coverage.alerts;
        total.firing_and_silent += g.coverage.firing_and_silent;
        total.native += g.coverage.native;
    }
    report.stderr.push_str(&format!(
        "poolwatch: {total} ({} specs, {} variants)\n",
        fleet.specs.len(),
        fleet.variants().count()
    ));
}
