//! Command-line arguments, and their lowering into a validated run configuration.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate the rule file and dashboard (into generated/ unless --out is given).
    Emit(EmitArgs),
    /// Check the spec and everything it would generate, without writing.
    Check(CheckArgs),
    /// Write a starter spec for a pool library (k2, hikaricp, pgbouncer, go-sql).
    Init(InitArgs),
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The preset: k2, hikaricp, pgbouncer or go-sql.
    #[arg(long, value_name = "NAME")]
    pub preset: String,
    /// Where to write the spec (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct SpecArg {
    /// The spec to read (default: the built-in K2 spec, specs/k2.yaml).
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct EmitArgs {
    #[command(flatten)]
    pub spec: SpecArg,
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "generated")]
    pub out: PathBuf,
    /// Write nothing; print a unified diff of stale files and exit 1 if any.
    #[arg(long)]
    pub check: bool,
    /// Where the rules are deployed: a plain rule file, a prometheus-operator
    /// PrometheusRule, or a Mimir/Cortex ruler namespace file.
    #[arg(long, value_enum, default_value_t = Target::Prometheus)]
    pub target: Target,
    /// Generate one environment's overlay into --out. Without it, emit writes the base
    /// spec and every environment under env/<name>/.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub spec: SpecArg,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Lint hand-written Prometheus rule files against the spec's metric catalog (instead of
    /// checking what the spec generates).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub rules: Vec<PathBuf>,
    /// Lint hand-written Grafana dashboard JSON files.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub dashboards: Vec<PathBuf>,
    /// Print one check's documentation (by code or name, e.g. PW205 or unit-mismatch).
    #[arg(long, value_name = "CODE", conflicts_with_all = ["rules", "dashboards", "list"])]
    pub explain: Option<String>,
    /// List every check: code, name, severity, summary.
    #[arg(long)]
    pub list: bool,
}
