//! Command-line arguments, and their lowering into a validated run configuration.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::check::policy::FailOn;
use crate::diag::Format;
use crate::render::Target;

#[derive(Debug, Parser)]
#[command(
    name = "poolwatch",
    version,
    about = "Typed connection-pool monitoring: Prometheus rules and Grafana dashboards from one spec",
    after_help = "Exit codes: 0 success, 1 findings at error level or stale output, 2 unusable input or usage."
)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Generate the rule file and dashboard (into generated/ unless --out is given).
    Emit(EmitArgs),
    /// Check the spec and everything it would generate, without writing.
    Check(CheckArgs),
    /// Write a starter spec for a pool library (k2, hikaricp, pgbouncer, go-sql).
    Init(InitArgs),
    /// Say what a change of the specs does for on-call since a git ref: alerts,
    /// thresholds, severities, routing, recorded series, panels, runbook sections.
    Diff(DiffArgs),
    /// Replay a change's alerts over a past range on a Prometheus server (read-only
    /// HTTP API): how often and how long each would have fired, before and after.
    Backtest(BacktestArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct BacktestArgs {
    #[command(flatten)]
    pub(crate) spec: SpecArg,
    /// The alerts before the change: the spec at this git ref. Without it, every alert of
    /// the spec is replayed as it is now.
    #[command(flatten)]
    pub(crate) base: BaseArg,
    /// The Prometheus server to ask (its query_range and series APIs; nothing is written
    /// to it), e.g. http://127.0.0.1:9090.
    #[arg(long, value_name = "URL")]
    pub(crate) prometheus: String,
    /// How far back to replay, up to now, evaluated every minute.
    #[arg(long, value_name = "DURATION", default_value = "7d")]
    pub(crate) range: String,
    /// The environment whose alerts to replay [default: the base spec].
    #[arg(long, value_name = "NAME")]
    pub(crate) env: Option<String>,
    #[command(flatten)]
    pub(crate) output: OutputArg,
}

/// `--format`, declared once for every command that prints a report.
#[derive(Debug, clap::Args)]
pub(crate) struct OutputArg {
    /// How to print: diagnostics in any format (github: one annotation each); `emit
    /// --check`'s summary of the change, `diff` and `backtest` as human text, markdown (a
    /// pull request comment, $GITHUB_STEP_SUMMARY) or json.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(crate) format: Format,
}

#[derive(Debug, clap::Args)]
pub(crate) struct BaseArg {
    /// The git ref the change is summarized against: each spec file is read as it was
    /// there (`git show REF:./FILE`, in the spec's folder). A spec not in that commit is
    /// new: all it generates is added. `emit --check` defaults to HEAD.
    #[arg(long, value_name = "REF")]
    pub(crate) base: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DiffArgs {
    #[command(flatten)]
    pub(crate) spec: SpecArg,
    #[command(flatten)]
    pub(crate) base: BaseArg,
    #[command(flatten)]
    pub(crate) output: OutputArg,
}

#[derive(Debug, clap::Args)]
pub(crate) struct InitArgs {
    /// The preset: k2, hikaricp, pgbouncer or go-sql.
    #[arg(long, value_name = "NAME")]
    pub(crate) preset: String,
    /// Where to write the spec (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SpecArg {
    /// The spec to read; repeat it, or give a folder (its *.yaml and *.yml files), for
    /// several specs, each written to `<out>/<spec name>/`. Default: specs/k2.yaml in the
    /// working folder if there is one, else the built-in K2 spec.
    #[arg(long, value_name = "FILE|DIR")]
    pub(crate) spec: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct EmitArgs {
    #[command(flatten)]
    pub(crate) spec: SpecArg,
    /// Output folder [default: generated].
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Write nothing; print a unified diff of stale files (and of files emit would remove)
    /// and exit 1 if any.
    #[arg(long)]
    pub(crate) check: bool,
    /// Where the rules are deployed: a plain rule file, a prometheus-operator
    /// PrometheusRule, or a Mimir/Cortex ruler namespace file [default: prometheus].
    #[arg(long, value_enum)]
    pub(crate) target: Option<Target>,
    /// Generate one environment's overlay into --out. Without it, emit writes the base
    /// spec and every environment under env/<name>/.
    #[arg(long, value_name = "NAME")]
    pub(crate) env: Option<String>,
    #[command(flatten)]
    pub(crate) output: OutputArg,
    /// With --check: what the summary of stale output compares with [default: HEAD].
    #[command(flatten)]
    pub(crate) base: BaseArg,
}

impl EmitArgs {
    /// The output folder when `--out` is not given.
    pub(crate) const DEFAULT_OUT: &'static str = "generated";

    pub(crate) fn out(&self) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| PathBuf::from(Self::DEFAULT_OUT))
    }

    /// The `emit` command that writes what these arguments check, with the spec, output,
    /// target and environment as given, for a shell.
    pub(crate) fn write_command(&self) -> String {
        let mut words = vec!["poolwatch".to_string(), "emit".to_string()];
        let mut push = |flag: &str, value: String| {
            words.push(flag.to_string());
            words.push(shell_quote(&value));
        };
        for spec in &self.spec.spec {
            push("--spec", spec.display().to_string());
        }
        if let Some(out) = &self.out {
            push("--out", out.display().to_string());
        }
        if let Some(target) = self.target {
            push("--target", target.name().to_string());
        }
        if let Some(env) = &self.env {
            push("--env", env.clone());
        }
        words.join(" ")
    }
}

/// A word as a POSIX shell reads it back: as is when it is plain, else single-quoted.
pub(crate) fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=:,@+%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) spec: SpecArg,
    #[command(flatten)]
    pub(crate) output: OutputArg,
    /// Lint hand-written Prometheus rule files (plain, PrometheusRule manifests, Mimir/Cortex
    /// namespace files) instead of checking what a spec generates. A folder is searched
    /// for *.yml and *.yaml files holding rule groups. No spec is needed: types come from
    /// metric names unless --spec, --metrics or --metadata say more.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub(crate) rules: Vec<PathBuf>,
    /// Route every alert the specs generate through a real Alertmanager configuration
    /// (alertmanager.yml) and report each one only the root route's default receiver gets,
    /// or that misses the receiver the spec names for its severity.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["rules", "dashboards"])]
    pub(crate) alertmanager: Option<PathBuf>,
    /// Lint hand-written Grafana dashboard JSON files (a folder: every *.json in it).
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub(crate) dashboards: Vec<PathBuf>,
    /// Also write a picture of each --dashboards file into DIR (`<file name>.svg`): its
    /// layout, panels, thresholds, legends and variables, as emit writes beside the
    /// dashboards it generates. Nothing is written when a file cannot be read.
    #[arg(long, value_name = "DIR", requires = "dashboards")]
    pub(crate) svg: Option<PathBuf>,
    /// A saved /metrics exposition (`curl target/metrics > FILE`): exact metric types,
    /// units (# TYPE, # UNIT) and histogram buckets (le) for --rules/--dashboards.
    #[arg(long, value_name = "FILE")]
    pub(crate) metrics: Vec<PathBuf>,
    /// A saved /api/v1/metadata response of a Prometheus server: exact metric types and
    /// units for --rules/--dashboards.
    #[arg(long, value_name = "FILE")]
    pub(crate) metadata: Vec<PathBuf>,
    /// The Prometheus major version --rules/--dashboards run on, 2 or 3: what it breaks is
    /// reported (integer `le` matchers and `holt_winters` on 3, quoted UTF-8 names on 2).
    /// Default: 3 is assumed, and what only 3 breaks is a warning.
    #[arg(long, value_name = "VERSION", value_parser = clap::value_parser!(u8).range(2..=3))]
    pub(crate) prometheus: Option<u8>,
    /// The lowest level that fails the run (exit 1): error (default), warning, info, or
    /// never.
    #[arg(long, value_enum, value_name = "LEVEL", default_value_t = FailOn::Error)]
    pub(crate) fail_on: FailOn,
    /// Change a check's level: `--level PW207=off`, `--level record-name-convention=error`
    /// (levels: error, warning, info, off). Repeatable.
    #[arg(long, value_name = "CODE=LEVEL")]
    pub(crate) level: Vec<String>,
    /// Findings recorded in this file (by --write-baseline) are counted, not reported:
    /// only new findings fail the run.
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: Option<PathBuf>,
    /// Write every current finding to FILE as the baseline, and exit 0.
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    pub(crate) write_baseline: Option<PathBuf>,
    /// Print one check's documentation (by code or name, e.g. PW205 or unit-mismatch).
    #[arg(long, value_name = "CODE", conflicts_with_all = ["rules", "dashboards", "list"])]
    pub(crate) explain: Option<String>,
    /// List every check: code, name, severity, summary.
    #[arg(long)]
    pub(crate) list: bool,
}
