//! Several specs in one run: a fleet is many services, each with its own spec of one to a
//! few pools. Each spec goes through the [`pipeline`] on its own (side by side, one spec
//! per core), is laid out in its own folder, and then the specs are checked against each
//! other: two specs must not write the same recorded series or alert, nor the same
//! dashboard uid or Grafana provider, or they would overwrite each other where they meet
//! (one Prometheus, one Grafana).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use rayon::prelude::*;

use crate::diag::{Code, Diagnostic};
use crate::pipeline::{self, Failure, Generated, Variants};
use crate::render::{OutputFile, Target, deploy};
use crate::source::{FileId, Sources, Span};
use crate::spec;

pub const COLLISION: Code = Code {
    code: "PW030",
    name: "collision",
};

/// Where each spec's files go in the output folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One spec, its files at the output folder's root.
    Root,
    /// Each spec in a folder of its own, named after the spec: `<out>/<name>/...`.
    PerSpec,
}

/// What one spec generated.
#[derive(Debug)]
pub struct SpecRun {
    pub file: FileId,
    /// The spec's `name:`, and where it is written.
    pub name: String,
    pub name_span: Option<Span>,
    /// The variants, base (or the `--env` one) first; file paths include the spec's folder.
    pub variants: Vec<Generated>,
}

/// What every spec of a run generated, in the order the specs were given.
#[derive(Debug)]
pub struct Fleet {
    pub specs: Vec<SpecRun>,
}

impl Fleet {
    /// Every file, spec by spec, each spec's in its fixed order.
    pub fn files(&self) -> impl Iterator<Item = &OutputFile> {
        self.variants().flat_map(|g| &g.files)
    }

    pub fn variants(&self) -> impl Iterator<Item = &Generated> {
        self.specs.iter().flat_map(|s| &s.variants)
    }

    /// Warning-level findings of every spec.
    pub fn warnings(&self) -> Vec<Diagnostic> {
        self.variants()
            .flat_map(|g| g.warnings.iter().cloned())
            .collect()
    }
}

/// Runs the pipeline for every spec (already in `sources`), lays out their files, and
/// checks the specs against each other. Every spec's findings are reported, not only the
/// first failing spec's.
pub fn generate(
    sources: &Sources,
    files: &[FileId],
    target: Target,
    variants: Variants<'_>,
    layout: Layout,
) -> Result<Fleet, Failure> {
    let runs: Vec<Result<SpecRun, Failure>> = files
        .par_iter()
        .map(|&file| generate_one(sources, file, target, variants, layout))
        .collect();
    let mut specs = Vec::with_capacity(runs.len());
    let (mut input, mut findings) = (Vec::new(), Vec::new());
    for run in runs {
        match run {
            Ok(s) => specs.push(s),
            Err(Failure::Input(d)) => input.extend(d),
            Err(Failure::Findings(d)) => findings.extend(d),
        }
    }
    input.extend(collisions(&specs));
    if !input.is_empty() {
        input.extend(findings);
        return Err(Failure::Input(input));
    }
    if !findings.is_empty() {
        return Err(Failure::Findings(findings));
    }
    Ok(Fleet { specs })
}

fn generate_one(
    sources: &Sources,
    file: FileId,
    target: Target,
    variants: Variants<'_>,
    layout: Layout,
) -> Result<SpecRun, Failure> {
    let raw = pipeline::load(sources, file)?;
    let mut generated = pipeline::generate_loaded(&raw, sources, file, target, variants)?;
    let name = raw.name.value.clone();
    if layout == Layout::PerSpec {
        // Spec names are validated slugs, so the folder stays inside the output folder.
        let dir = format!("{name}/");
        for f in generated.iter_mut().flat_map(|g| &mut g.files) {
            f.path.insert_str(0, &dir);
        }
    }
    Ok(SpecRun {
        file,
        name,
        name_span: spec::span(sources, file, &raw.name),
        variants: generated,
    })
}

/// The alert or recorded series a rule writes, as far as it is known before any data: its
/// kind and name, its static labels, and the selector of the pool it reads (two pools with
/// the same metrics and selector read the same series, so they write the same ones).
type RuleKey = (bool, String, Vec<(String, String)>, Vec<(String, String)>);

/// A pool of one spec (by index) and the pool of another spec it collides with.
type PoolPair = (usize, String, String);

/// What two pools share: how many rules, one of them, and where the later pool is.
struct Shared {
    count: usize,
    example: String,
    span: Option<Span>,
}

/// Where a claimed name was first seen: the spec, and the pool or variant.
struct Claim<'a> {
    spec: &'a SpecRun,
    what: String,
}

/// Everything two specs of one run must not share, as located errors.
pub fn collisions(specs: &[SpecRun]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    // A shared name means a shared output folder, dashboard uid and provider: one finding
    // says it all.
    let mut names: BTreeMap<&str, &SpecRun> = BTreeMap::new();
    for s in specs {
        match names.entry(&s.name) {
            Entry::Vacant(e) => {
                e.insert(s);
            }
            Entry::Occupied(e) => diags.push(
                Diagnostic::error(COLLISION, format!("two specs are named `{}`", s.name))
                    .at(s.name_span.clone())
                    .label("also the name of another spec")
                    .help(format!(
                        "the other spec: {}; a spec's name picks its output folder, dashboard \
                     uids and Grafana provider, so each spec needs its own",
                        describe(e.get())
                    )),
            ),
        }
    }
    if !diags.is_empty() {
        return diags;
    }
    diags.extend(rule_collisions(specs));
    diags.extend(grafana_collisions(specs));
    diags
}

fn describe(spec: &SpecRun) -> String {
    format!("`{}`", spec.name)
}

/// Two specs writing the same alert or recorded series. Rules are compared in each spec's
/// first variant: environments change thresholds, not names or labels. One finding per
/// pair of pools.
fn rule_collisions(specs: &[SpecRun]) -> Vec<Diagnostic> {
    let mut seen: BTreeMap<RuleKey, Claim<'_>> = BTreeMap::new();
    let mut pairs: BTreeMap<PoolPair, Shared> = BTreeMap::new();
    for (i, s) in specs.iter().enumerate() {
        let Some(g) = s.variants.first() else {
            continue;
        };
        for rule in g.artifacts.rules.groups.iter().flat_map(|g| &g.rules) {
            let pool = &rule.origin.pool;
            let Some(model_pool) = g.model.pools.iter().find(|p| &p.name == pool) else {
                continue;
            };
            let labels = rule
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let key = (
                rule.alert.is_some(),
                rule.name().to_string(),
                labels,
                model_pool.selector.clone(),
            );
            match seen.entry(key) {
                Entry::Vacant(e) => {
                    e.insert(Claim {
                        spec: s,
                        what: pool.clone(),
                    });
                }
                // Two rules of one spec alike are the duplicate-rule check's finding.
                Entry::Occupied(e) if std::ptr::eq(e.get().spec, s) => {}
                Entry::Occupied(e) => {
                    let other =
                        format!("pool `{}` of spec {}", e.get().what, describe(e.get().spec));
                    let kind = if rule.alert.is_some() {
                        "alert"
                    } else {
                        "recorded series"
                    };
                    let shared = pairs.entry((i, pool.clone(), other)).or_insert(Shared {
                        count: 0,
                        example: format!("{kind} `{}`", rule.name()),
                        span: model_pool.span.clone(),
                    });
                    shared.count += 1;
                }
            }
        }
    }
    pairs
        .into_iter()
        .map(
            |(
                (_, pool, other),
                Shared {
                    count,
                    example,
                    span,
                },
            )| {
                Diagnostic::error(
                    COLLISION,
                    format!(
                        "pool `{pool}` writes {count} of the same alerts and recorded series as \
                     {other}, e.g. {example}"
                    ),
                )
                .at(span)
                .label("same name, metrics, selector and labels as a pool of another spec")
                .help(
                    "loaded into one Prometheus, the two would write the same series \
                 (\"duplicate sample for timestamp\"): rename one of the pools, or select \
                 each service's own series (`selector`)",
                )
            },
        )
        .collect()
}

/// Two variants (of any specs, or one spec's environments) sharing a dashboard uid, a
/// Grafana provider name, or a provider folder (a provider reads every dashboard below
/// its folder, so one folder inside another is shared too).
fn grafana_collisions(specs: &[SpecRun]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut uids: BTreeMap<String, String> = BTreeMap::new();
    let mut providers: BTreeMap<String, String> = BTreeMap::new();
    let mut folders: BTreeMap<String, String> = BTreeMap::new();
    for s in specs {
        for g in &s.variants {
            let who = match &g.model.environment {
                None => format!("spec `{}`", s.name),
                Some(env) => format!("spec `{}`, environment `{env}`", s.name),
            };
            let clash = |what: String, other: &str| {
                Diagnostic::error(COLLISION, format!("{who}: {what}"))
                    .at(s.name_span.clone())
                    .help(format!(
                        "also used by {other}; the spec's name and the environment's name make \
                         these names: rename one"
                    ))
            };
            let uid = &g.artifacts.dashboard.uid;
            match uids.get(uid) {
                Some(other) => diags.push(clash(format!("dashboard uid `{uid}` is taken"), other)),
                None => {
                    uids.insert(uid.clone(), who.clone());
                }
            }
            for p in deploy::provisioning(&g.model).providers {
                match providers.get(&p.name) {
                    Some(other) => diags.push(clash(
                        format!("Grafana provider name `{}` is taken", p.name),
                        other,
                    )),
                    None => {
                        providers.insert(p.name.clone(), who.clone());
                    }
                }
                let path = p.options.path.trim_end_matches('/').to_string();
                let inside = format!("{path}/");
                let overlap = folders
                    .get_key_value(&path)
                    .or_else(|| ancestors(&path).find_map(|a| folders.get_key_value(a)))
                    .or_else(|| {
                        let mut below = folders.range(inside.clone()..);
                        below.next().filter(|(f, _)| f.starts_with(&inside))
                    });
                if let Some((taken, other)) = overlap {
                    diags.push(clash(
                        format!("Grafana dashboard folder `{path}` overlaps `{taken}`"),
                        other,
                    ));
                }
                folders.entry(path).or_insert_with(|| who.clone());
            }
        }
    }
    diags
}

/// The folders `path` is inside of, nearest first: `/a/b/c` gives `/a/b`, `/a`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.char_indices()
        .rev()
        .filter(|(i, c)| *c == '/' && *i > 0)
        .map(|(i, _)| &path[..i])
}
