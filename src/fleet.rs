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
use crate::render::promtool_tests::Coverage;
use crate::render::{OutputFile, Target, deploy};
use crate::source::{FileId, Sources, Span};
use crate::spec::{self, RawSpec};

pub(crate) const COLLISION: Code = Code {
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

/// What one variant of a spec generated, once its files went to the sink.
#[derive(Debug)]
pub(crate) struct VariantRun {
    /// The environment of the variant; none for the base spec.
    pub(crate) environment: Option<String>,
    pub(crate) coverage: Coverage,
    /// Warning-level findings (errors would have failed the run).
    pub(crate) warnings: Vec<Diagnostic>,
}

/// What one spec generated.
#[derive(Debug)]
pub struct SpecRun {
    pub(crate) file: FileId,
    /// The spec's `name:`, and where it is written.
    pub(crate) name: String,
    pub(crate) name_span: Option<Span>,
    /// The variants, base (or the `--env` one) first.
    pub(crate) variants: Vec<VariantRun>,
    /// What the spec's output claims in a shared Prometheus and Grafana.
    claims: Claims,
}

/// What every spec of a run generated, in the order the specs were given.
#[derive(Debug)]
pub struct Fleet {
    pub specs: Vec<SpecRun>,
}

impl Fleet {
    pub(crate) fn variants(&self) -> impl Iterator<Item = &VariantRun> {
        self.specs.iter().flat_map(|s| &s.variants)
    }

    /// Warning-level findings of every spec.
    pub(crate) fn warnings(&self) -> Vec<Diagnostic> {
        self.variants()
            .flat_map(|g| g.warnings.iter().cloned())
            .collect()
    }
}

/// Takes each variant's files as soon as they are generated (in any order: variants run
/// side by side): writes them aside, compares them, or drops them. So a fleet's output is
/// never all in memory.
pub(crate) type Sink<'a> = &'a (dyn Fn(Vec<OutputFile>) -> Result<(), Failure> + Sync);

/// What one variant left once its files went to the sink.
struct Done {
    run: VariantRun,
    rules: Vec<(RuleKey, String, Option<Span>)>,
    grafana: GrafanaClaim,
}

/// Runs the pipeline for every spec (already in `sources`), hands each variant's files to
/// `sink`, and checks the specs against each other. Each spec goes through the same entry
/// point as a spec alone (`pipeline::generate_loaded`, its variants in order), all specs
/// side by side (one level of parallelism). Every spec's findings are reported, not only
/// the first failing spec's; within a spec, those of its first failing variant (the others
/// would repeat them).
pub fn generate(
    sources: &Sources,
    files: &[FileId],
    target: Target,
    variants: Variants<'_>,
    layout: Layout,
    sink: Sink<'_>,
) -> Result<Fleet, Failure> {
    let specs: Vec<Result<SpecRun, Failure>> = files
        .par_iter()
        .map(|&file| {
            let raw = pipeline::load(sources, file)?;
            let generated = pipeline::generate_loaded(&raw, sources, file, target, variants)?;
            spec_run(sources, file, raw, layout, generated, sink)
        })
        .collect();
    let mut runs = Vec::with_capacity(specs.len());
    let (mut input, mut findings) = (Vec::new(), Vec::new());
    for spec in specs {
        match spec {
            Ok(s) => runs.push(s),
            Err(Failure::Input(d)) => input.extend(d),
            Err(Failure::Findings(d)) => findings.extend(d),
        }
    }
    input.extend(collisions(&runs));
    if !input.is_empty() {
        input.extend(findings);
        return Err(Failure::Input(input));
    }
    if !findings.is_empty() {
        return Err(Failure::Findings(findings));
    }
    Ok(Fleet { specs: runs })
}

/// What one spec generated, once each variant's files went to `sink` (into the spec's own
/// folder with [`Layout::PerSpec`]).
fn spec_run(
    sources: &Sources,
    file: FileId,
    raw: RawSpec,
    layout: Layout,
    generated: Vec<Generated>,
    sink: Sink<'_>,
) -> Result<SpecRun, Failure> {
    let dir = match layout {
        Layout::Root => String::new(),
        // Spec names are validated slugs: the folder stays inside the output.
        Layout::PerSpec => format!("{}/", raw.name.value),
    };
    let mut run = SpecRun {
        file,
        name_span: spec::span(sources, file, &raw.name),
        name: raw.name.value,
        variants: Vec::with_capacity(generated.len()),
        claims: Claims::default(),
    };
    for (j, g) in generated.into_iter().enumerate() {
        let (done, mut files) = Done::of(&run.name, j == 0, g);
        for f in &mut files {
            f.path.insert_str(0, &dir);
        }
        sink(files)?;
        run.variants.push(done.run);
        run.claims.rules.extend(done.rules);
        run.claims.grafana.push(done.grafana);
    }
    Ok(run)
}

/// The alert or recorded series a rule writes, as far as it is known before any data: its
/// kind and name, its static labels, and the selector of the pool it reads (two pools with
/// the same metrics and selector read the same series, so they write the same ones).
type RuleKey = (bool, String, Vec<(String, String)>, Vec<(String, String)>);

/// What a spec's output takes in a Prometheus and a Grafana it shares with other specs.
#[derive(Debug, Default)]
struct Claims {
    /// Every rule of the first variant (environments change thresholds, not names or
    /// labels): what it writes, its pool, and where the pool is in the spec.
    rules: Vec<(RuleKey, String, Option<Span>)>,
    /// Per variant: who (spec, environment), dashboard uid, provider names and folders.
    grafana: Vec<GrafanaClaim>,
}

#[derive(Debug)]
struct GrafanaClaim {
    who: String,
    uid: String,
    providers: Vec<(String, String)>,
}

impl Done {
    /// What a generated variant leaves: its environment, coverage and warnings, and its claims
    /// (the rules only for the first variant: environments change thresholds, not names
    /// or labels).
    fn of(name: &str, first: bool, g: Generated) -> (Self, Vec<OutputFile>) {
        let mut rules = Vec::new();
        if first {
            for rule in g.artifacts.rules.groups.iter().flat_map(|g| &g.rules) {
                let pool = &rule.origin.pool;
                let Some(p) = g.model.pools.iter().find(|p| &p.name == pool) else {
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
                    p.selector.clone(),
                );
                rules.push((key, pool.clone(), p.span.clone()));
            }
        }
        let who = match &g.model.environment {
            None => format!("spec `{name}`"),
            Some(env) => format!("spec `{name}`, environment `{env}`"),
        };
        let providers = deploy::provisioning(&g.model)
            .providers
            .into_iter()
            .map(|p| (p.name, p.options.path.trim_end_matches('/').to_string()))
            .collect();
        let done = Done {
            grafana: GrafanaClaim {
                who,
                uid: g.artifacts.dashboard.uid.clone(),
                providers,
            },
            run: VariantRun {
                environment: g.model.environment,
                coverage: g.artifacts.coverage,
                warnings: g.warnings,
            },
            rules,
        };
        (done, g.files)
    }
}

/// A pool of one spec (by index), and the pool of another spec it collides with.
type PoolPair = (usize, String, String);

/// What two pools share: how many rules, one of them, and where the later pool is.
struct Shared {
    count: usize,
    example: String,
    span: Option<Span>,
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
            Entry::Occupied(_) => diags.push(
                Diagnostic::error(COLLISION, format!("two specs are named `{}`", s.name))
                    .at(s.name_span.clone())
                    .label("also the name of another spec")
                    .help(
                        "a spec's name picks its output folder, dashboard uids and Grafana \
                         provider, so each spec needs its own",
                    ),
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

/// Two specs writing the same alert or recorded series: one finding per pair of pools.
fn rule_collisions(specs: &[SpecRun]) -> Vec<Diagnostic> {
    // Who first wrote each: (spec index, pool).
    let mut seen: BTreeMap<&RuleKey, (usize, &str)> = BTreeMap::new();
    let mut pairs: BTreeMap<PoolPair, Shared> = BTreeMap::new();
    for (i, s) in specs.iter().enumerate() {
        for (key, pool, span) in &s.claims.rules {
            match seen.entry(key) {
                Entry::Vacant(e) => {
                    e.insert((i, pool));
                }
                // Two rules of one spec alike are the duplicate-rule check's finding.
                Entry::Occupied(e) if e.get().0 == i => {}
                Entry::Occupied(e) => {
                    let (j, other_pool) = *e.get();
                    let other = format!("pool `{other_pool}` of spec `{}`", specs[j].name);
                    let kind = if key.0 { "alert" } else { "recorded series" };
                    let shared = pairs.entry((i, pool.clone(), other)).or_insert(Shared {
                        count: 0,
                        example: format!("{kind} `{}`", key.1),
                        span: span.clone(),
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
    let mut uids: BTreeMap<&str, &str> = BTreeMap::new();
    let mut providers: BTreeMap<&str, &str> = BTreeMap::new();
    let mut folders: BTreeMap<&str, &str> = BTreeMap::new();
    for s in specs {
        for c in &s.claims.grafana {
            let who = c.who.as_str();
            let clash = |what: String, other: &str| {
                Diagnostic::error(COLLISION, format!("{who}: {what}"))
                    .at(s.name_span.clone())
                    .help(format!(
                        "also used by {other}; the spec's name and the environment's name make \
                         these names: rename one"
                    ))
            };
            if let Some(other) = uids.insert(&c.uid, who) {
                diags.push(clash(format!("dashboard uid `{}` is taken", c.uid), other));
            }
            for (name, path) in &c.providers {
                if let Some(other) = providers.insert(name, who) {
                    diags.push(clash(
                        format!("Grafana provider name `{name}` is taken"),
                        other,
                    ));
                }
                let inside = format!("{path}/");
                let overlap = folders
                    .get_key_value(path.as_str())
                    .or_else(|| ancestors(path).find_map(|a| folders.get_key_value(a)))
                    .or_else(|| {
                        let mut below = folders.range(inside.as_str()..);
                        below.next().filter(|(f, _)| f.starts_with(&inside))
                    });
                if let Some((taken, other)) = overlap {
                    diags.push(clash(
                        format!("Grafana dashboard folder `{path}` overlaps `{taken}`"),
                        other,
                    ));
                }
                folders.entry(path).or_insert(who);
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
