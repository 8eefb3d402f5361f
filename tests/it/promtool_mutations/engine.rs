//! The mutation engine: parses a rendered alert expression (promql-parser) and returns every
//! edit of it that a plausible renderer bug would make, each named by its kind. It knows
//! nothing about signals or specs, so a new rule shape (a join with `up`, a new absence
//! form) is mutated as soon as it is rendered.

use std::fmt;
use std::time::Duration;

use crate::common::promql::visit;
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::token::{self, TokenType};
use promql_parser::parser::{self, Expr, LabelModifier};

/// What a mutant changes, for the report (kill counts per kind) and its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// The number the alert compares against, moved out of reach (`> 1e9`) or past its edge.
    ThresholdRaised,
    ThresholdLowered,
    /// A comparison against another vector (Undersized: recommended > configured): that
    /// vector doubled, or halved.
    ComparedVectorDoubled,
    ComparedVectorHalved,
    /// A label matcher removed from a selector, or its value changed.
    MatcherDropped(String),
    MatcherAltered(String),
    /// A label removed from every `by (...)` and `on(...)` list of the expression.
    GroupingLabelDropped(String),
    /// Every grouping and matching label but `le` removed: a fleet-wide aggregation.
    IdentityGroupingRemoved,
    /// `sum` replaced by another aggregation (only where an instance has several series).
    SumReplaced(&'static str),
    /// `a unless b` became `a`, or `a and b`.
    UnlessDropped,
    UnlessBecameAnd,
    /// `a or absent(...)` became `a`; `a or absent(...)` became `absent(...)`.
    AbsentDropped,
    AbsentOnly,
    /// A join with `up` (the scrape's own health series) removed: only its other side kept.
    UpJoinDropped,
    /// The range of a `*_over_time` look-back cut to half the rule's `for` (or a tenth).
    LookbackShortened,
    /// `(x > 0)` as a denominator became `x`.
    DenominatorGuardRemoved,
    /// A recording an alert reads moved after the alerts of its group, or into a group of
    /// its own: the alert reads the value of the previous evaluation, or none yet.
    RecordingMovedAfterAlerts,
    RecordingMovedToOwnGroup,
    /// Rule-level edits.
    ForRemoved,
    ForHalved,
    KeepFiringForRemoved,
    SeverityRenamed,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::ThresholdRaised => write!(f, "threshold raised"),
            Kind::ThresholdLowered => write!(f, "threshold lowered"),
            Kind::ComparedVectorDoubled => write!(f, "compared vector doubled"),
            Kind::ComparedVectorHalved => write!(f, "compared vector halved"),
            Kind::MatcherDropped(l) => write!(f, "matcher `{l}` dropped"),
            Kind::MatcherAltered(l) => write!(f, "matcher `{l}` altered"),
            Kind::GroupingLabelDropped(l) => write!(f, "`{l}` dropped from the grouping"),
            Kind::IdentityGroupingRemoved => write!(f, "identity grouping removed"),
            Kind::SumReplaced(op) => write!(f, "sum replaced by {op}"),
            Kind::UnlessDropped => write!(f, "`unless` part dropped"),
            Kind::UnlessBecameAnd => write!(f, "`unless` became `and`"),
            Kind::AbsentDropped => write!(f, "`or absent(...)` dropped"),
            Kind::AbsentOnly => write!(f, "only `absent(...)` kept"),
            Kind::UpJoinDropped => write!(f, "join with `up` dropped"),
            Kind::LookbackShortened => write!(f, "look-back range shortened"),
            Kind::DenominatorGuardRemoved => write!(f, "zero-denominator guard removed"),
            Kind::RecordingMovedAfterAlerts => write!(f, "recording moved after the alerts"),
            Kind::RecordingMovedToOwnGroup => write!(f, "recording moved into its own group"),
            Kind::ForRemoved => write!(f, "`for` removed"),
            Kind::ForHalved => write!(f, "`for` halved"),
            Kind::KeepFiringForRemoved => write!(f, "`keep_firing_for` removed"),
            Kind::SeverityRenamed => write!(f, "severity renamed"),
        }
    }
}

/// One mutated expression.
#[derive(Debug, Clone)]
pub(crate) struct Mutant {
    pub(crate) kind: Kind,
    /// Where in the expression, for the report: the edited node as printed.
    pub(crate) site: String,
    pub(crate) expr: String,
}

/// The expression as promql-parser prints it: the control the mutants are compared with
/// (a mutant identical to it is no mutant) and run against (the printer must not change
/// what the rule means: the unmutated, reprinted rule must pass its tests).
pub(crate) fn reprint(expr: &str) -> String {
    parse(expr).to_string()
}

fn parse(expr: &str) -> Expr {
    parser::parse(expr)
        .unwrap_or_else(|e| panic!("generated expression does not parse: {e}\n{expr}"))
}

/// Every mutant of an alert expression. `several` says whether the worlds give one pool
/// instance several series of a summed counter (only there `sum`, `max` and `avg` differ).
/// `hold` is the rule's `for`: a look-back is cut to half of it, so that a series gone for
/// `for` has left the look-back before the alert could fire.
pub(crate) fn mutants(expr: &str, several: bool, hold: Option<Duration>) -> Vec<Mutant> {
    let root = parse(expr);
    let mut out = Vec::new();
    threshold_mutants(&root, &mut out);
    out.extend(node_mutants(&root, hold));
    label_list_mutants(&root, &mut out);
    matcher_mutants(&root, &mut out);
    if several {
        for (op, id) in [("max", token::T_MAX), ("avg", token::T_AVG)] {
            let mutated = map(&root, &mut |e| match e {
                Expr::Aggregate(a) if a.op.id() == token::T_SUM => {
                    let mut a = a.clone();
                    a.op = TokenType::new(id);
                    Some(Expr::Aggregate(a))
                }
                _ => None,
            });
            push(
                &mut out,
                &root,
                Kind::SumReplaced(op),
                "every sum".into(),
                mutated,
            );
        }
    }
    // One node printed alike in several places yields one mutant per place; keep one.
    let mut seen = std::collections::HashSet::new();
    out.retain(|m| seen.insert(m.expr.clone()));
    out
}

fn push(out: &mut Vec<Mutant>, root: &Expr, kind: Kind, site: String, mutated: Expr) {
    let expr = mutated.to_string();
    if expr != root.to_string() {
        out.push(Mutant { kind, site, expr });
    }
}

fn unparen(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unparen(&p.expr),
        e => e,
    }
}

/// The comparison that decides whether the alert fires: the outermost one.
fn threshold_mutants(root: &Expr, out: &mut Vec<Mutant>) {
    let Expr::Binary(b) = unparen(root) else {
        return;
    };
    if !b.op.is_comparison_operator() || b.modifier.as_ref().is_some_and(|m| m.return_bool) {
        return;
    }
    let above = matches!(b.op.id(), token::T_GTR | token::T_GTE);
    let site = format!("{} ...", b.op);
    match unparen(&b.rhs) {
        Expr::NumberLiteral(n) => {
            let t = n.val;
            let (raised, lowered) = if above {
                (1e9, if t > 0.0 { t * 0.9 } else { -1.0 })
            } else {
                (t + 1.0, t - 1.0)
            };
            // "Raised" moves the threshold so the alert fires less, whichever the direction.
            let (less, more) = if above {
                (raised, lowered)
            } else {
                (lowered, raised)
            };
            for (kind, v) in [
                (Kind::ThresholdRaised, less),
                (Kind::ThresholdLowered, more),
            ] {
                let mut m = b.clone();
                m.rhs = Box::new(Expr::from(v));
                push(
                    out,
                    root,
                    kind,
                    format!("{site}{t} -> {v}"),
                    Expr::Binary(m),
                );
            }
        }
        rhs => {
            let (less, more) = if above { (2.0, 0.5) } else { (0.5, 2.0) };
            for (kind, f) in [
                (Kind::ComparedVectorDoubled, less),
                (Kind::ComparedVectorHalved, more),
            ] {
                let mut m = b.clone();
                let scaled = format!("{f} * ({rhs})");
                m.rhs = Box::new(parse(&scaled));
                push(out, root, kind, format!("{site}{scaled}"), Expr::Binary(m));
            }
        }
    }
}

/// Local edits of one node, anywhere in the tree: each is the whole expression with that
/// one node replaced.
fn node_mutants(root: &Expr, hold: Option<Duration>) -> Vec<Mutant> {
    let mut out = Vec::new();
    let mut sites: Vec<(Kind, String, Expr, Expr)> = Vec::new();
    visit(root, &mut |e| local_edits(e, hold, &mut sites));
    for (kind, site, from, to) in sites {
        let mut done = false;
        let mutated = map(root, &mut |e| {
            if !done && *e == from {
                done = true;
                Some(to.clone())
            } else {
                None
            }
        });
        push(&mut out, root, kind, site, mutated);
    }
    out
}

fn local_edits(e: &Expr, hold: Option<Duration>, sites: &mut Vec<(Kind, String, Expr, Expr)>) {
    match e {
        Expr::Binary(b) => {
            let op = b.op.id();
            let site = short(e);
            if op == token::T_LUNLESS {
                sites.push((
                    Kind::UnlessDropped,
                    site.clone(),
                    e.clone(),
                    (*b.lhs).clone(),
                ));
                let mut and = b.clone();
                and.op = TokenType::new(token::T_LAND);
                sites.push((
                    Kind::UnlessBecameAnd,
                    site.clone(),
                    e.clone(),
                    Expr::Binary(and),
                ));
            }
            if op == token::T_LOR && is_absent(&b.rhs) {
                sites.push((
                    Kind::AbsentDropped,
                    site.clone(),
                    e.clone(),
                    (*b.lhs).clone(),
                ));
                sites.push((Kind::AbsentOnly, site.clone(), e.clone(), (*b.rhs).clone()));
            }
            // A join with `up` (vector with vector; `up == 1` is a filter, no join): the side
            // that reads `up` goes, the other stays.
            let vector = |e: &Expr| !matches!(unparen(e), Expr::NumberLiteral(_));
            let kept = match (reads_up(&b.lhs), reads_up(&b.rhs)) {
                _ if !(vector(&b.lhs) && vector(&b.rhs)) => None,
                (false, true) => Some(&b.lhs),
                (true, false) => Some(&b.rhs),
                _ => None,
            };
            if let Some(kept) = kept {
                sites.push((
                    Kind::UpJoinDropped,
                    site.clone(),
                    e.clone(),
                    (**kept).clone(),
                ));
            }
            // The guard matters only where the numerator can grow while the denominator
            // stays at zero: seconds waited (`_sum`) over acquisitions (`_count`). Elsewhere
            // (busy over size, slow over all queries) removing it changes nothing a pool
            // can produce, and the mutant could not die.
            if op == token::T_DIV
                && reads(&b.lhs, &|name| name.ends_with("_sum"))
                && let Expr::Paren(p) = &*b.rhs
                && let Expr::Binary(guard) = &*p.expr
                && guard.op.id() == token::T_GTR
                && matches!(&*guard.rhs, Expr::NumberLiteral(n) if n.val == 0.0)
            {
                let mut unguarded = b.clone();
                unguarded.rhs = guard.lhs.clone();
                sites.push((
                    Kind::DenominatorGuardRemoved,
                    site,
                    e.clone(),
                    Expr::Binary(unguarded),
                ));
            }
        }
        Expr::Call(c) if c.func.name.ends_with("_over_time") => {
            for (i, arg) in c.args.args.iter().enumerate() {
                if let Expr::MatrixSelector(ms) = &**arg {
                    let mut shorter = c.clone();
                    let mut m = ms.clone();
                    m.range = hold.map_or(m.range / 10, |h| (h / 2).min(m.range / 10));
                    *shorter.args.args[i] = Expr::MatrixSelector(m);
                    sites.push((
                        Kind::LookbackShortened,
                        e.to_string(),
                        e.clone(),
                        Expr::Call(shorter),
                    ));
                }
            }
        }
        _ => {}
    }
}

/// Matcher edits over the whole expression: one matcher (name, operator and value) dropped
/// from every selector that carries it, or changed in all of them, as a renderer that
/// built the pool's selector wrongly would do.
fn matcher_mutants(root: &Expr, out: &mut Vec<Mutant>) {
    let mut matchers: Vec<Matcher> = Vec::new();
    visit(root, &mut |e| {
        if let Expr::VectorSelector(vs) = e {
            for m in &vs.matchers.matchers {
                if !matchers.contains(m) {
                    matchers.push(m.clone());
                }
            }
        }
    });
    for m in matchers {
        let altered = altered_matcher(&m);
        for (kind, replacement) in [
            (Kind::MatcherDropped(m.name.clone()), None),
            (Kind::MatcherAltered(m.name.clone()), Some(&altered)),
        ] {
            let mutated = map(root, &mut |e| match e {
                Expr::VectorSelector(vs) if vs.matchers.matchers.contains(&m) => {
                    let mut vs = vs.clone();
                    vs.matchers.matchers = vs
                        .matchers
                        .matchers
                        .iter()
                        .filter_map(|x| {
                            if *x == m {
                                replacement.cloned()
                            } else {
                                Some(x.clone())
                            }
                        })
                        .collect();
                    Some(Expr::VectorSelector(vs))
                }
                _ => None,
            });
            push(out, root, kind, m.to_string(), mutated);
        }
    }
}

/// A matcher that selects other series: `="v"` becomes `="v_mutated"`, a regex gains a
/// prefix no value carries, a negative matcher flips to positive.
fn altered_matcher(m: &Matcher) -> Matcher {
    let text = match &m.op {
        MatchOp::Equal => format!("x{{{}=\"{}_mutated\"}}", m.name, m.value),
        MatchOp::NotEqual => format!("x{{{}=\"{}\"}}", m.name, m.value),
        MatchOp::Re(_) => format!(
            "x{{{}=~\"mutated_{}\"}}",
            m.name,
            m.value.replace('\\', "\\\\")
        ),
        MatchOp::NotRe(_) => format!("x{{{}=~\"{}\"}}", m.name, m.value.replace('\\', "\\\\")),
    };
    match parse(&text) {
        Expr::VectorSelector(vs) => vs
            .matchers
            .matchers
            .into_iter()
            .find(|x| x.name == m.name)
            .unwrap_or_else(|| panic!("{text}")),
        other => panic!("{text} parsed as {other}"),
    }
}

fn is_absent(e: &Expr) -> bool {
    matches!(unparen(e), Expr::Call(c) if c.func.name == "absent")
}

/// Whether an operand reads the `up` series.
fn reads_up(e: &Expr) -> bool {
    reads(e, &|name| name == "up")
}

/// Whether an operand reads a series whose name `pick` accepts.
fn reads(e: &Expr, pick: &dyn Fn(&str) -> bool) -> bool {
    let mut found = false;
    visit(e, &mut |n| {
        if let Expr::VectorSelector(vs) = n {
            found |= vs.name.as_deref().is_some_and(pick)
                || vs
                    .matchers
                    .matchers
                    .iter()
                    .any(|m| m.name == "__name__" && pick(&m.value));
        }
    });
    found
}

/// The first line of a node, for the report.
fn short(e: &Expr) -> String {
    let s = e.to_string();
    if s.len() > 80 {
        format!("{}...", s.chars().take(77).collect::<String>())
    } else {
        s
    }
}

/// Label-list edits over the whole expression: one label dropped from every `by` and `on`
/// list, and every identity label dropped (`le` is the histogram's, not the identity's).
fn label_list_mutants(root: &Expr, out: &mut Vec<Mutant>) {
    let mut labels: Vec<String> = Vec::new();
    visit(root, &mut |e| {
        for l in grouping(e) {
            if l != "le" && !labels.contains(&l) {
                labels.push(l);
            }
        }
    });
    for l in &labels {
        let mutated = drop_labels(root, &|x| x == l);
        push(
            out,
            root,
            Kind::GroupingLabelDropped(l.clone()),
            format!("by/on ({l})"),
            mutated,
        );
    }
    if !labels.is_empty() {
        let mutated = drop_labels(root, &|x| x != "le");
        push(
            out,
            root,
            Kind::IdentityGroupingRemoved,
            format!("by/on ({})", labels.join(", ")),
            mutated,
        );
    }
}

fn grouping(e: &Expr) -> Vec<String> {
    let modifier = match e {
        Expr::Aggregate(a) => a.modifier.as_ref(),
        Expr::Binary(b) => b.modifier.as_ref().and_then(|m| m.matching.as_ref()),
        _ => None,
    };
    match modifier {
        Some(LabelModifier::Include(ls)) => ls.labels.clone(),
        _ => Vec::new(),
    }
}

fn drop_labels(root: &Expr, drop: &dyn Fn(&str) -> bool) -> Expr {
    let edit = |m: &mut Option<LabelModifier>| {
        if let Some(LabelModifier::Include(ls)) = m {
            ls.labels.retain(|l| !drop(l));
        }
    };
    map(root, &mut |e| match e {
        Expr::Aggregate(a) if matches!(a.modifier, Some(LabelModifier::Include(_))) => {
            let mut a = a.clone();
            a.expr = Box::new(drop_labels(&a.expr, drop));
            edit(&mut a.modifier);
            if matches!(&a.modifier, Some(LabelModifier::Include(ls)) if ls.labels.is_empty()) {
                a.modifier = None;
            }
            Some(Expr::Aggregate(a))
        }
        Expr::Binary(b)
            if b.modifier
                .as_ref()
                .is_some_and(|m| matches!(m.matching, Some(LabelModifier::Include(_)))) =>
        {
            let mut b = b.clone();
            b.lhs = Box::new(drop_labels(&b.lhs, drop));
            b.rhs = Box::new(drop_labels(&b.rhs, drop));
            if let Some(m) = b.modifier.as_mut() {
                edit(&mut m.matching);
            }
            Some(Expr::Binary(b))
        }
        _ => None,
    })
}

/// The expression rebuilt with `f`'s replacement of the first nodes it answers for (a
/// replaced node's children are not visited).
fn map(e: &Expr, f: &mut dyn FnMut(&Expr) -> Option<Expr>) -> Expr {
    if let Some(new) = f(e) {
        return new;
    }
    match e {
        Expr::Aggregate(a) => {
            let mut a = a.clone();
            a.expr = Box::new(map(&a.expr, f));
            Expr::Aggregate(a)
        }
        Expr::Unary(u) => {
            let mut u = u.clone();
            u.expr = Box::new(map(&u.expr, f));
            Expr::Unary(u)
        }
        Expr::Binary(b) => {
            let mut b = b.clone();
            b.lhs = Box::new(map(&b.lhs, f));
            b.rhs = Box::new(map(&b.rhs, f));
            Expr::Binary(b)
        }
        Expr::Paren(p) => {
            let mut p = p.clone();
            p.expr = Box::new(map(&p.expr, f));
            Expr::Paren(p)
        }
        Expr::Subquery(s) => {
            let mut s = s.clone();
            s.expr = Box::new(map(&s.expr, f));
            Expr::Subquery(s)
        }
        Expr::MatrixSelector(m) => match map(&Expr::VectorSelector(m.vs.clone()), f) {
            Expr::VectorSelector(vs) => {
                let mut m = m.clone();
                m.vs = vs;
                Expr::MatrixSelector(m)
            }
            other => panic!("a matrix's selector became {other}"),
        },
        Expr::Call(c) => {
            let mut c = c.clone();
            c.args.args = c.args.args.iter().map(|a| Box::new(map(a, f))).collect();
            Expr::Call(c)
        }
        e => e.clone(),
    }
}

fn exprs_of(ms: &[Mutant], kind: &Kind) -> Vec<String> {
    ms.iter()
        .filter(|m| m.kind == *kind)
        .map(|m| m.expr.clone())
        .collect()
}

pub(crate) fn engine_drops_a_join_with_up_wherever_one_is_written() {
    let absence = "(sum by (job, instance) (max_over_time(x[1h])) unless sum by (job, instance) (x)) \
                   and on(job, instance) (up == 1)";
    let ms = mutants(absence, false, Some(Duration::from_secs(600)));
    assert_eq!(
        exprs_of(&ms, &Kind::UpJoinDropped),
        vec![reprint(
            "(sum by (job, instance) (max_over_time(x[1h])) unless sum by (job, instance) (x))"
        )]
    );
    // `up` on the left: the right side stays.
    let left = mutants("up == 0 unless on(job, instance) x", false, None);
    assert_eq!(exprs_of(&left, &Kind::UpJoinDropped), vec![reprint("x")]);
    // No `up`, no such mutant.
    let none = mutants("sum by (job) (x) unless sum by (job) (y)", false, None);
    assert!(exprs_of(&none, &Kind::UpJoinDropped).is_empty());
}

pub(crate) fn engine_mutates_each_part_of_an_absence_rule() {
    let rule = "(sum by (job, instance) (max_over_time(x{svc=\"a\"}[1h])) unless sum by (job, instance) (x{svc=\"a\"})) \
                or absent(x{svc=\"a\"})";
    let ms = mutants(rule, false, Some(Duration::from_secs(600)));
    let one = |k: Kind| one_expr(&ms, k);
    assert_eq!(
        one(Kind::UnlessDropped),
        reprint(
            "(sum by (job, instance) (max_over_time(x{svc=\"a\"}[1h]))) or absent(x{svc=\"a\"})"
        )
    );
    assert_eq!(
        one(Kind::UnlessBecameAnd),
        reprint(
            "(sum by (job, instance) (max_over_time(x{svc=\"a\"}[1h])) and sum by (job, instance) (x{svc=\"a\"})) or absent(x{svc=\"a\"})"
        )
    );
    assert_eq!(
        one(Kind::AbsentDropped),
        reprint(
            "(sum by (job, instance) (max_over_time(x{svc=\"a\"}[1h])) unless sum by (job, instance) (x{svc=\"a\"}))"
        )
    );
    assert_eq!(one(Kind::AbsentOnly), reprint("absent(x{svc=\"a\"})"));
    // Half the `for`: a series gone for `for` is forgotten before the alert can fire.
    assert!(one(Kind::LookbackShortened).contains("[5m]"));
    assert_eq!(
        one(Kind::MatcherDropped("svc".into())),
        reprint(
            "(sum by (job, instance) (max_over_time(x[1h])) unless sum by (job, instance) (x)) or absent(x)"
        )
    );
    assert!(one(Kind::MatcherAltered("svc".into())).contains("svc=\"a_mutated\""));
    assert_eq!(
        one(Kind::GroupingLabelDropped("instance".into())),
        reprint(
            "(sum by (job) (max_over_time(x{svc=\"a\"}[1h])) unless sum by (job) (x{svc=\"a\"})) or absent(x{svc=\"a\"})"
        )
    );
}

pub(crate) fn engine_moves_numeric_and_vector_thresholds_both_ways() {
    let ms = mutants("sum by (i) (a) / (sum by (i) (b) > 0) > 0.9", false, None);
    assert_eq!(
        one_expr(&ms, Kind::ThresholdRaised),
        reprint("sum by (i) (a) / (sum by (i) (b) > 0) > 1e9")
    );
    assert_eq!(
        one_expr(&ms, Kind::ThresholdLowered),
        reprint("sum by (i) (a) / (sum by (i) (b) > 0) > 0.81")
    );
    // `<=` fires at or below: raising the bar means a lower number.
    let at_most = mutants("free <= 0", false, None);
    assert_eq!(
        one_expr(&at_most, Kind::ThresholdRaised),
        reprint("free <= -1")
    );
    assert_eq!(
        one_expr(&at_most, Kind::ThresholdLowered),
        reprint("free <= 1")
    );
    let vs = mutants(
        "need{pool=\"p\"} > ignoring(pool) sum by (i) (size)",
        false,
        None,
    );
    assert_eq!(
        one_expr(&vs, Kind::ComparedVectorDoubled),
        reprint("need{pool=\"p\"} > ignoring(pool) 2 * (sum by (i) (size))")
    );
    assert_eq!(
        one_expr(&vs, Kind::ComparedVectorHalved),
        reprint("need{pool=\"p\"} > ignoring(pool) 0.5 * (sum by (i) (size))")
    );
    // A guard is removed only over a `_sum` numerator.
    let mean = mutants(
        "sum by (i) (rate(w_sum[5m])) / (sum by (i) (rate(w_count[5m])) > 0) > 1",
        false,
        None,
    );
    assert_eq!(
        one_expr(&mean, Kind::DenominatorGuardRemoved),
        reprint("sum by (i) (rate(w_sum[5m])) / sum by (i) (rate(w_count[5m])) > 1")
    );
    assert!(exprs_of(&ms, &Kind::DenominatorGuardRemoved).is_empty());
}

fn one_expr(ms: &[Mutant], k: Kind) -> String {
    let e = exprs_of(ms, &k);
    assert_eq!(e.len(), 1, "{k}: {e:?}");
    e[0].clone()
}
