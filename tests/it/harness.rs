//! The test runner: every integration test in one binary (libtest-mimic), with the
//! external tools and reference files a test needs declared beside it, so a missing one is
//! reported as *ignored* in the summary, and fails the run when `CI` is set.

use std::path::PathBuf;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// Something a test needs from outside the repository.
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)] // every kind is used once the end-to-end and corpus modules register
pub(crate) enum Need {
    /// An executable on `PATH` (promtool, prometheus, pgbouncer, go, ...).
    Tool(&'static str),
    /// An executable at an absolute path (e.g. Debian's PostgreSQL server binaries).
    Program(&'static str),
    /// A file in the reference folder: `$POOLWATCH_SHARED`, or `../shared` beside the
    /// repository (Grafana schemas, the PrometheusRule CRD, the K2 runbook).
    Shared(&'static str),
    /// A file named by an environment variable that `.ci/run` sets (e.g. the K2 scenario's
    /// Python in a virtual environment): required under CI like a tool.
    EnvFile(&'static str),
    /// A folder named by an environment variable, for opt-in data that cannot ship with
    /// the repository (public rule corpora). Without it the test is ignored, in CI too.
    OptIn(&'static str),
}

pub(crate) const PROMTOOL: Need = Need::Tool("promtool");
pub(crate) const PROMETHEUS: Need = Need::Tool("prometheus");
/// git reads a spec as it was at a ref (`poolwatch diff --base`).
pub(crate) const GIT: Need = Need::Tool("git");
/// Debian's headless-capable browser opens the dashboards' pictures.
pub(crate) const CHROMIUM: Need = Need::Program("/usr/bin/chromium");
pub(crate) const GRAFANA_SCHEMA: Need = Need::Shared("grafana-schema/dashboard.jsonschema.json");
pub(crate) const CRD: Need =
    Need::Shared("prometheus-operator/monitoring.coreos.com_prometheusrules.yaml");
pub(crate) const RUNBOOK_RULES: Need = Need::Shared("k2-runbook/connection_pool.yml");

impl Need {
    /// Whether the need is met, and if not, what is missing in words.
    fn missing(self) -> Option<String> {
        match self {
            Need::Tool(name) => tool(name)
                .is_none()
                .then(|| format!("`{name}` is not on PATH")),
            Need::Program(path) => {
                (!std::path::Path::new(path).is_file()).then(|| format!("{path} is not installed"))
            }
            Need::Shared(file) => (!shared().join(file).exists()).then(|| {
                format!(
                    "{} is missing (set POOLWATCH_SHARED to the reference folder)",
                    shared().join(file).display()
                )
            }),
            Need::EnvFile(var) => match std::env::var_os(var) {
                None => Some(format!("{var} is not set (.ci/run sets it)")),
                Some(p) => (!std::path::Path::new(&p).is_file())
                    .then(|| format!("{var}={} is not a file", p.to_string_lossy())),
            },
            Need::OptIn(var) => std::env::var_os(var)
                .is_none()
                .then(|| format!("opt-in: set {var}")),
        }
    }

    fn opt_in(self) -> bool {
        matches!(self, Need::OptIn(_))
    }
}

/// The reference folder: `$POOLWATCH_SHARED`, else `../shared` beside the repository.
pub(crate) fn shared() -> PathBuf {
    match std::env::var_os("POOLWATCH_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("shared"),
    }
}

/// An executable on `PATH`.
pub(crate) fn tool(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// One registered test: a module's function and what it needs.
#[derive(Debug)]
pub(crate) struct Test {
    pub(crate) name: &'static str,
    pub(crate) needs: &'static [Need],
    pub(crate) run: fn(),
}

/// Registers a module's tests: `tests![plain, [PROMTOOL] needs_promtool, ...]`.
#[macro_export]
macro_rules! tests {
    ($( $([$($need:expr),* $(,)?])? $name:ident ),* $(,)?) => {
        vec![$(
            $crate::harness::Test {
                name: stringify!($name),
                needs: &[$($($need),*)?],
                run: $name,
            }
        ),*]
    };
}

fn ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Whether a rewrite switch (`POOLWATCH_E2E_CAPTURE`, `POOLWATCH_UPDATE_DOCS`) is set, so the
/// test should rewrite its checked-in file instead of comparing with it. Refused (the test
/// fails) when `CI` is set: there a rewrite would make the check pass whatever the product
/// did.
pub(crate) fn rewrite_switch(var: &str) -> bool {
    rewrite_allowed(var, std::env::var_os(var).is_some(), ci()).unwrap_or_else(|e| panic!("{e}"))
}

fn rewrite_allowed(var: &str, set: bool, ci: bool) -> Result<bool, String> {
    if set && ci {
        return Err(format!(
            "{var} turns this check into a rewrite of a checked-in file; it is refused when CI \
             is set (unset {var}, or run the rewrite outside CI and commit the diff)"
        ));
    }
    Ok(set)
}

fn rewrite_switches_are_refused_under_ci() {
    assert_eq!(rewrite_allowed("X", false, false), Ok(false));
    assert_eq!(rewrite_allowed("X", true, false), Ok(true));
    assert_eq!(rewrite_allowed("X", false, true), Ok(false));
    let refused = rewrite_allowed("POOLWATCH_UPDATE_DOCS", true, true).unwrap_err();
    assert!(refused.contains("POOLWATCH_UPDATE_DOCS") && refused.contains("refused when CI"));
}

/// The harness's own tests.
pub(crate) fn tests() -> Vec<Test> {
    crate::tests![rewrite_switches_are_refused_under_ci]
}

/// A module of the test crate: its name and its `tests()`.
pub(crate) type Module = (&'static str, fn() -> Vec<Test>);

/// Runs every module's tests and exits with libtest's code.
pub(crate) fn main(modules: &[Module]) {
    let args = Arguments::from_args();
    let ci = ci();
    let mut trials = Vec::new();
    for (module, tests) in modules {
        for test in tests() {
            let name = format!("{module}::{}", test.name);
            let missing: Vec<(Need, String)> = test
                .needs
                .iter()
                .filter_map(|n| n.missing().map(|m| (*n, m)))
                .collect();
            let run = test.run;
            let trial = if missing.is_empty() {
                Trial::test(name, move || {
                    run();
                    Ok(())
                })
            } else {
                let reason = missing
                    .iter()
                    .map(|(_, m)| m.as_str())
                    .collect::<Vec<_>>()
                    .join("; ");
                let required = ci && missing.iter().any(|(n, _)| !n.opt_in());
                Trial::ignorable_test(name, move || {
                    if required {
                        Err(Failed::from(format!("CI is set and {reason}")))
                    } else {
                        Ok(Completion::ignored_with(reason))
                    }
                })
            };
            trials.push(trial);
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
