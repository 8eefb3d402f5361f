//! Types of PromQL expressions from what is known of the metrics (a catalog, an exposition,
//! metadata, or naming conventions: [`super::knowledge`]): for every subexpression, whether
//! it is a counter, a gauge, a per-second rate or a histogram's buckets, its unit, whether
//! it is a 0/1 state, which labels survive its aggregations, and whether its kind is known
//! exactly or only inferred. The checks ask these questions; the AST is parsed once.

use std::collections::{BTreeMap, BTreeSet};

use promql_parser::label::MatchOp;
use promql_parser::parser::token::{
    T_ADD, T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_DIV, T_GROUP, T_LIMIT_RATIO, T_LIMITK,
    T_LOR, T_MAX, T_MIN, T_MUL, T_QUANTILE, T_STDDEV, T_STDVAR, T_SUB, T_TOPK,
};
use promql_parser::parser::{
    AggregateExpr, BinaryExpr, Call, Expr, LabelModifier, VectorMatchCardinality, VectorSelector,
};

use super::expr::{calls, selector_name, unparen, visit};
use super::knowledge::{Knowledge, MetricType, SeriesInfo, strip_series_suffix, unit_of_name};
use crate::model::Unit;

/// Prometheus's own series every server has; not in any catalog, never "unknown".
pub(crate) const BUILTIN_SERIES: [&str; 8] = [
    "up",
    "ALERTS",
    "ALERTS_FOR_STATE",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
    "scrape_timeout_seconds",
];

/// Functions that take a counter's raw value on purpose.
pub(crate) const COUNTER_FUNCTIONS: [&str; 3] = ["rate", "irate", "increase"];

/// What a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A monotonically increasing series: only meaningful through rate/irate/increase.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// A per-second rate of a counter.
    Rate,
    /// A number (literal or scalar).
    Scalar,
    /// Unknown: a metric outside the catalog, or a function we do not model.
    Unknown,
}

/// The unit of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValUnit {
    Of(Unit),
    /// Per second of a unit (a counter's rate).
    PerSecond(Unit),
    /// A plain number without a unit (a literal, a count).
    Number,
    Unknown,
}

/// Which labels a vector's series carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LabelSet {
    /// Whatever the source series have.
    All,
    /// Only these (after `by (...)`, `on (...)`, or an aggregation without a clause).
    Only(BTreeSet<String>),
    /// Whatever the source series have, except these (after `without (...)`).
    Except(BTreeSet<String>),
}

impl LabelSet {
    fn none() -> Self {
        LabelSet::Only(BTreeSet::new())
    }

    /// True when `label` cannot be on the series any more.
    pub(crate) fn drops(&self, label: &str) -> bool {
        match self {
            LabelSet::All => false,
            LabelSet::Only(s) => !s.contains(label),
            LabelSet::Except(s) => s.contains(label),
        }
    }

    /// The labels of `keep` (a clause's list, as written) that are still on the series.
    fn keep_only(&self, keep: &[String]) -> Self {
        LabelSet::Only(keep.iter().filter(|l| !self.drops(l)).cloned().collect())
    }

    /// The labels left once those of `drop` (a clause's list, as written) are removed.
    fn without(&self, drop: &[String]) -> Self {
        match self {
            LabelSet::All => LabelSet::Except(drop.iter().cloned().collect()),
            LabelSet::Only(s) => {
                LabelSet::Only(s.iter().filter(|l| !drop.contains(l)).cloned().collect())
            }
            LabelSet::Except(s) => LabelSet::Except(s.iter().chain(drop).cloned().collect()),
        }
    }

    /// Adds labels (from `label_replace`, `group_left (...)` or a rule's `labels:`).
    pub(crate) fn with(&self, add: impl IntoIterator<Item = String>) -> Self {
        match self {
            LabelSet::All => LabelSet::All,
            LabelSet::Only(s) => {
                let mut s = s.clone();
                s.extend(add);
                LabelSet::Only(s)
            }
            LabelSet::Except(s) => {
                let mut s = s.clone();
                for l in add {
                    s.remove(&l);
                }
                LabelSet::Except(s)
            }
        }
    }

    /// A short description: "no labels", "only le, pool", "all but instance".
    pub(crate) fn describe(&self) -> String {
        let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
        match self {
            LabelSet::All => "all labels".into(),
            LabelSet::Only(s) if s.is_empty() => "no labels".into(),
            LabelSet::Only(s) => format!("only {}", join(s)),
            LabelSet::Except(s) => format!("all labels but {}", join(s)),
        }
    }
}

/// The type of an expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ty {
    pub(crate) kind: Kind,
    pub(crate) unit: ValUnit,
    pub(crate) labels: LabelSet,
    /// A histogram's buckets (raw `_bucket` counters or their rates), which carry `le`.
    pub(crate) buckets: bool,
    /// The value is a filter result of a comparison (an alert condition).
    pub(crate) scalar_value: Option<f64>,
    /// A constant factor the value was multiplied by (`100 * x` has 100): a ratio times 100
    /// is a percentage however the expression is bracketed.
    pub(crate) scale: f64,
    /// The kind is known exactly (catalog, exposition, metadata), not only from naming
    /// conventions: checks that rely on an inferred kind report a warning at most.
    pub(crate) exact: bool,
    /// The value is 0 or 1 (`up`, a state set, a `bool` comparison), or an info metric's 1.
    pub(crate) binary: bool,
}

impl Ty {
    fn unknown() -> Self {
        Ty {
            kind: Kind::Unknown,
            unit: ValUnit::Unknown,
            labels: LabelSet::All,
            buckets: false,
            scalar_value: None,
            scale: 1.0,
            exact: false,
            binary: false,
        }
    }

    fn scalar(v: Option<f64>) -> Self {
        Ty {
            kind: Kind::Scalar,
            unit: ValUnit::Number,
            labels: LabelSet::none(),
            buckets: false,
            scalar_value: v,
            scale: 1.0,
            exact: true,
            binary: false,
        }
    }

    fn gauge_of(&self, unit: ValUnit) -> Self {
        Ty::gauge(unit, self.labels.clone())
    }

    /// A plain gauge of `unit` with these labels.
    fn gauge(unit: ValUnit, labels: LabelSet) -> Self {
        Ty {
            kind: Kind::Gauge,
            unit,
            labels,
            buckets: false,
            scalar_value: None,
            scale: 1.0,
            exact: true,
            binary: false,
        }
    }

    /// The type of a series from what is known of its name.
    fn series(info: &SeriesInfo) -> Self {
        let kind = match info.kind {
            MetricType::Counter => Kind::Counter,
            MetricType::Gauge | MetricType::Info | MetricType::StateSet | MetricType::Summary => {
                Kind::Gauge
            }
            MetricType::Histogram | MetricType::Unknown => Kind::Unknown,
        };
        let unit = match (info.unit, info.kind) {
            (Some(u), _) => ValUnit::Of(u),
            (None, MetricType::Counter) => ValUnit::Of(Unit::Events),
            _ => ValUnit::Unknown,
        };
        Ty {
            kind,
            unit,
            labels: LabelSet::All,
            buckets: info.buckets,
            scalar_value: None,
            scale: 1.0,
            exact: info.exact,
            binary: matches!(info.kind, MetricType::Info | MetricType::StateSet),
        }
    }

    /// True for a 0..1 ratio.
    pub(crate) fn is_ratio(&self) -> bool {
        self.unit == ValUnit::Of(Unit::Ratio) && self.scale == 1.0
    }

    /// True for a 0..100 percentage.
    pub(crate) fn is_percent(&self) -> bool {
        self.unit == ValUnit::Of(Unit::Percent) && self.scale == 1.0
    }
}

/// What a metric name refers to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved {
    /// Known exactly: a catalog, exposition or metadata metric (or one of its series).
    Catalog(Ty),
    /// A series recorded by a recording rule of the same file set.
    Recorded(Ty),
    /// Prometheus's own series (`up`, `ALERTS`).
    Builtin(Ty),
    /// Known only by naming convention (or not at all: kind and unit unknown).
    Inferred(Ty),
}

impl Resolved {
    /// The type, whatever the name is.
    pub(crate) fn into_ty(self) -> Ty {
        match self {
            Resolved::Catalog(t)
            | Resolved::Recorded(t)
            | Resolved::Builtin(t)
            | Resolved::Inferred(t) => t,
        }
    }
}

/// What the checks know: the metrics known exactly and the series recorded in the same
/// file set.
#[derive(Debug, Clone, Default)]
pub(crate) struct Env {
    pub(crate) knowledge: Knowledge,
    /// Recording rule name → the type of what it records.
    pub(crate) recorded: BTreeMap<String, Ty>,
}

impl Env {
    pub(crate) fn new(knowledge: Knowledge) -> Self {
        Self {
            knowledge,
            recorded: BTreeMap::new(),
        }
    }

    /// Every known series name, for "did you mean".
    pub(crate) fn known_names(&self) -> Vec<String> {
        let mut out = self.knowledge.series_names();
        out.extend(self.recorded.keys().cloned());
        out
    }

    /// True when something besides its name says what the series is: `resolve` would not
    /// infer it. Builds no type.
    pub(crate) fn knows(&self, name: &str) -> bool {
        self.knowledge.series(name).is_some()
            || self.recorded.contains_key(name)
            || BUILTIN_SERIES.contains(&name)
    }

    /// Resolves a metric name.
    pub(crate) fn resolve(&self, name: &str) -> Resolved {
        if let Some(info) = self.knowledge.series(name) {
            return Resolved::Catalog(Ty::series(&info));
        }
        if let Some(t) = self.recorded.get(name) {
            return Resolved::Recorded(t.clone());
        }
        if BUILTIN_SERIES.contains(&name) {
            let mut t = Ty::gauge(ValUnit::Number, LabelSet::All);
            t.binary = name == "up";
            if name.starts_with("scrape_") && name.ends_with("_seconds") {
                t.unit = ValUnit::Of(Unit::Seconds);
            }
            return Resolved::Builtin(t);
        }
        Resolved::Inferred(Ty::series(&Knowledge::infer(name)))
    }

    /// Where a series' type comes from, for messages: "as declared", "as its recording
    /// rule computes it", "by its name alone".
    pub(crate) fn type_source(&self, name: &str) -> &'static str {
        match self.resolve(name) {
            Resolved::Catalog(_) => "as declared",
            Resolved::Recorded(_) => "as its recording rule computes it",
            Resolved::Builtin(_) => "as Prometheus writes it",
            Resolved::Inferred(_) => "by its name alone",
        }
    }

    /// The unit of a histogram's observations, from the name of one of its bucket series.
    fn histogram_unit(&self, e: &Expr) -> ValUnit {
        let mut unit = ValUnit::Unknown;
        let of_bucket = |name: &str| -> Option<Unit> {
            let base = name
                .strip_suffix("_bucket")
                .or_else(|| self.knowledge.is_native_histogram(name).then_some(name))?;
            self.knowledge
                .family(base)
                .and_then(|f| f.unit)
                .or_else(|| unit_of_name(base))
        };
        visit(e, None, &mut |node, _| {
            if let Some(name) = selector_name(node) {
                if let Some(u) = of_bucket(name) {
                    unit = ValUnit::Of(u);
                } else if let Some(t) = self.recorded.get(name)
                    && t.buckets
                {
                    // A recorded bucket rate: `level:<histogram>_bucket:rate5m`.
                    if let Some(u) = name.split(':').nth(1).and_then(of_bucket) {
                        unit = ValUnit::Of(u);
                    }
                }
            }
        });
        unit
    }

    /// The finite bucket bounds of the histogram an expression reads, when known.
    pub(crate) fn histogram_buckets(&self, e: &Expr) -> Option<(String, Vec<f64>)> {
        let mut found = None;
        visit(e, None, &mut |node, _| {
            if let Some(name) = selector_name(node) {
                let name = name.split(':').nth(1).unwrap_or(name);
                let (base, suffix) = strip_series_suffix(name);
                if suffix == "_bucket"
                    && let Some(f) = self.knowledge.family(base)
                    && !f.buckets.is_empty()
                {
                    found = Some((base.to_string(), f.buckets.clone()));
                }
            }
        });
        found
    }

    /// The type of an expression.
    pub(crate) fn type_of(&self, e: &Expr) -> Ty {
        match e {
            Expr::NumberLiteral(n) => Ty::scalar(Some(n.val)),
            Expr::StringLiteral(_) => Ty::unknown(),
            Expr::Paren(p) => self.type_of(&p.expr),
            Expr::Unary(u) => self.type_of(&u.expr),
            Expr::Subquery(s) => self.type_of(&s.expr),
            Expr::VectorSelector(vs) => self.selector(vs),
            Expr::MatrixSelector(ms) => self.selector(&ms.vs),
            Expr::Aggregate(a) => self.aggregate(a),
            Expr::Binary(b) => self.binary(b),
            Expr::Call(c) => self.call(c),
            _ => Ty::unknown(),
        }
    }

    /// The type of what a selector selects (its range, if any, changes nothing).
    fn selector(&self, vs: &VectorSelector) -> Ty {
        match vs.name.as_deref() {
            Some(n) => self.resolve(n).into_ty(),
            None => Ty::unknown(),
        }
    }

    fn aggregate(&self, a: &AggregateExpr) -> Ty {
        let inner = self.type_of(&a.expr);
        let mut labels = match &a.modifier {
            None => LabelSet::none(),
            Some(LabelModifier::Include(ls)) => inner.labels.keep_only(&ls.labels),
            Some(LabelModifier::Exclude(ls)) => inner.labels.without(&ls.labels),
        };
        match a.op.id() {
            // Filters: each series keeps its own labels.
            T_TOPK | T_BOTTOMK | T_LIMITK | T_LIMIT_RATIO => inner,
            T_COUNT | T_GROUP => Ty::gauge(ValUnit::Number, labels),
            T_COUNT_VALUES => {
                if let Some(Expr::StringLiteral(s)) = a.param.as_deref() {
                    labels = labels.with([s.val.clone()]);
                }
                Ty::gauge(ValUnit::Number, labels)
            }
            // The largest or smallest of counters still only grows (between resets), and
            // of bucket rates is still a bucket rate per `le` (when `le` survives).
            T_MIN | T_MAX => Ty {
                buckets: inner.buckets && !labels.drops("le"),
                labels,
                ..inner
            },
            T_STDDEV | T_STDVAR | T_QUANTILE | T_AVG => Ty {
                buckets: inner.buckets && inner.kind == Kind::Rate && !labels.drops("le"),
                labels,
                kind: if inner.kind == Kind::Counter {
                    Kind::Gauge
                } else {
                    inner.kind
                },
                ..inner
            },
            // sum keeps counters counters and buckets buckets (when `le` survives).
            _ => Ty {
                buckets: inner.buckets && !labels.drops("le"),
                labels,
                ..inner
            },
        }
    }

    fn binary(&self, b: &BinaryExpr) -> Ty {
        let l = self.type_of(&b.lhs);
        let r = self.type_of(&b.rhs);
        let op = b.op.id();
        let set_op = b.op.is_set_operator();
        let return_bool = b.return_bool();
        let l_vec = l.kind != Kind::Scalar;
        let r_vec = r.kind != Kind::Scalar;
        if !l_vec && !r_vec {
            return Ty::scalar(None);
        }
        let exact = l.exact && r.exact;
        // Labels of the result.
        let labels = if l_vec && r_vec {
            let m = b.modifier.as_ref();
            match m.map(|m| &m.card) {
                Some(VectorMatchCardinality::ManyToOne(ls)) => {
                    l.labels.with(ls.labels.iter().cloned())
                }
                Some(VectorMatchCardinality::OneToMany(ls)) => {
                    r.labels.with(ls.labels.iter().cloned())
                }
                Some(VectorMatchCardinality::ManyToMany) if op == T_LOR => {
                    if l.labels == LabelSet::All || r.labels == LabelSet::All {
                        LabelSet::All
                    } else {
                        l.labels.clone()
                    }
                }
                _ => match m.and_then(|m| m.matching.as_ref()) {
                    Some(LabelModifier::Include(ls)) if !set_op => l.labels.keep_only(&ls.labels),
                    Some(LabelModifier::Exclude(ls)) if !set_op => l.labels.without(&ls.labels),
                    _ => l.labels.clone(),
                },
            }
        } else if l_vec {
            l.labels.clone()
        } else {
            r.labels.clone()
        };
        if set_op {
            return Ty { labels, ..l };
        }
        if b.op.is_comparison_operator() {
            if return_bool {
                return Ty {
                    binary: true,
                    ..Ty::gauge(ValUnit::Number, labels)
                };
            }
            // A filter: the value is the vector side's.
            let v = if l_vec { l } else { r };
            return Ty { labels, ..v };
        }
        let vector_scale = if l_vec { l.scale } else { r.scale };
        let (unit, scale) = match op {
            T_DIV if r_vec && l_vec => normalize(divide(l.unit, r.unit), l.scale / r.scale),
            T_DIV if !r_vec => match r.scalar_value {
                Some(k) if k != 0.0 => normalize(l.unit, l.scale / k),
                _ => (ValUnit::Unknown, 1.0),
            },
            T_MUL => multiply(&l, &r),
            T_ADD | T_SUB if l.unit == r.unit && l.scale == r.scale => (l.unit, l.scale),
            T_ADD | T_SUB if r.unit == ValUnit::Number => (l.unit, l.scale),
            T_ADD | T_SUB if l.unit == ValUnit::Number => (r.unit, r.scale),
            _ => (ValUnit::Unknown, vector_scale),
        };
        let kind = match (l.kind, r.kind) {
            (Kind::Rate, Kind::Rate | Kind::Scalar) | (Kind::Scalar, Kind::Rate)
                if op != T_DIV || r.kind == Kind::Scalar =>
            {
                Kind::Rate
            }
            // A sum of counters, or one scaled by a positive constant, still only grows:
            // `a_total + b_total` recorded as `job:errors:sum` is a counter to rate.
            (Kind::Counter, Kind::Counter) if op == T_ADD => Kind::Counter,
            (Kind::Counter, Kind::Scalar) | (Kind::Scalar, Kind::Counter)
                if op == T_MUL && l.scalar_value.or(r.scalar_value).is_some_and(|k| k > 0.0) =>
            {
                Kind::Counter
            }
            // Nothing is known of one side: nor of the result.
            (Kind::Unknown, _) | (_, Kind::Unknown) => Kind::Unknown,
            _ => Kind::Gauge,
        };
        // The result's series are one side's (the left's, unless `group_right`): it keeps
        // that side's buckets when scaled or joined (`* on (...) group_left (node) ...`).
        let right_wins = matches!(
            b.modifier.as_ref().map(|m| &m.card),
            Some(VectorMatchCardinality::OneToMany(_))
        );
        let buckets = if !l_vec {
            r.buckets
        } else if !r_vec {
            l.buckets
        } else if right_wins {
            r.buckets
        } else {
            l.buckets && matches!(op, T_MUL | T_DIV)
        };
        Ty {
            kind,
            unit,
            labels,
            buckets,
            scalar_value: None,
            scale,
            exact,
            binary: false,
        }
    }

    fn call(&self, c: &Call) -> Ty {
        let name = c.func.name;
        let args: Vec<&Expr> = c.args.args.iter().map(|a| a.as_ref()).collect();
        // Each argument typed once: nested calls would otherwise type their innermost
        // arguments once per level and way of asking.
        let mut tys: Vec<Ty> = args.iter().map(|a| self.type_of(a)).collect();
        // Each branch reads one argument's type: it is moved out, not copied.
        let first_vec = tys.iter().position(|t| t.kind != Kind::Scalar);
        let mut take = |i: Option<usize>| {
            i.and_then(|i| tys.get_mut(i))
                .map_or_else(Ty::unknown, |t| std::mem::replace(t, Ty::unknown()))
        };
        match name {
            "rate" | "irate" => {
                let t = take(Some(0));
                let unit = match t.unit {
                    ValUnit::Of(u) => ValUnit::PerSecond(u),
                    _ => ValUnit::Unknown,
                };
                Ty {
                    kind: Kind::Rate,
                    unit,
                    labels: t.labels,
                    buckets: t.buckets,
                    scalar_value: None,
                    scale: 1.0,
                    exact: t.exact,
                    binary: false,
                }
            }
            "increase" | "delta" | "idelta" | "deriv" => {
                let t = take(Some(0));
                Ty {
                    kind: Kind::Gauge,
                    buckets: t.buckets && name == "increase",
                    ..t
                }
            }
            "histogram_quantile" | "histogram_fraction" => {
                // The histogram is the last argument: `histogram_fraction(lower, upper, h)`.
                let t = take(args.len().checked_sub(1));
                let unit = if name == "histogram_quantile" {
                    args.get(1)
                        .map_or(ValUnit::Unknown, |a| self.histogram_unit(a))
                } else {
                    ValUnit::Of(Unit::Ratio)
                };
                let labels = t.labels.without(&["le".to_string()]);
                Ty {
                    labels,
                    ..t.gauge_of(unit)
                }
            }
            // A native histogram's observations summed, or counted (events).
            "histogram_sum" | "histogram_count" => {
                let t = take(Some(0));
                let unit = match (name, t.unit) {
                    ("histogram_sum", u) => u,
                    (_, ValUnit::PerSecond(_)) => ValUnit::PerSecond(Unit::Events),
                    (_, ValUnit::Of(_)) => ValUnit::Of(Unit::Events),
                    _ => ValUnit::Unknown,
                };
                Ty {
                    unit,
                    buckets: false,
                    ..t
                }
            }
            "absent" | "absent_over_time" => {
                let mut keep = BTreeSet::new();
                if let Some(Expr::VectorSelector(vs)) = args.first() {
                    for m in &vs.matchers.matchers {
                        if matches!(m.op, MatchOp::Equal) && m.name != "__name__" {
                            keep.insert(m.name.clone());
                        }
                    }
                }
                Ty::gauge(ValUnit::Number, LabelSet::Only(keep))
            }
            "label_replace" | "label_join" => {
                let t = take(Some(0));
                match args.get(1) {
                    Some(Expr::StringLiteral(s)) => Ty {
                        labels: t.labels.with([s.val.clone()]),
                        ..t
                    },
                    _ => t,
                }
            }
            "scalar" | "time" | "pi" => Ty::scalar(None),
            "vector" => Ty {
                labels: LabelSet::none(),
                ..Ty::scalar(None)
            }
            .gauge_of(ValUnit::Number),
            "count_over_time" | "changes" | "resets" | "timestamp" | "present_over_time" => {
                take(Some(0)).gauge_of(ValUnit::Number)
            }
            "avg_over_time" | "min_over_time" | "max_over_time" | "quantile_over_time"
            | "last_over_time" | "stddev_over_time" | "stdvar_over_time" => {
                let t = take(args.len().checked_sub(1));
                let kind = if t.kind == Kind::Counter {
                    Kind::Gauge
                } else {
                    t.kind
                };
                Ty { kind, ..t }
            }
            "sum_over_time" => {
                let t = take(Some(0));
                Ty {
                    kind: Kind::Gauge,
                    ..t
                }
            }
            "abs" | "ceil" | "floor" | "round" | "clamp" | "clamp_min" | "clamp_max" | "sort"
            | "sort_desc" | "sort_by_label" | "sort_by_label_desc" => take(first_vec),
            _ => {
                let t = take(first_vec);
                Ty {
                    kind: Kind::Unknown,
                    unit: ValUnit::Unknown,
                    buckets: false,
                    ..t
                }
            }
        }
    }
}

fn divide(l: ValUnit, r: ValUnit) -> ValUnit {
    match (l, r) {
        (a, ValUnit::Number) => a,
        (ValUnit::Of(a), ValUnit::Of(b)) | (ValUnit::PerSecond(a), ValUnit::PerSecond(b))
            if a == b =>
        {
            ValUnit::Of(Unit::Ratio)
        }
        _ => ValUnit::Unknown,
    }
}

/// A unit with a constant factor: a ratio times 100 is a percentage, a percentage over
/// 100 a ratio.
fn normalize(unit: ValUnit, scale: f64) -> (ValUnit, f64) {
    match unit {
        ValUnit::Of(Unit::Ratio) if scale == 100.0 => (ValUnit::Of(Unit::Percent), 1.0),
        ValUnit::Of(Unit::Percent) if scale == 0.01 => (ValUnit::Of(Unit::Ratio), 1.0),
        u => (u, scale),
    }
}

fn multiply(l: &Ty, r: &Ty) -> (ValUnit, f64) {
    let (vector, scalar) = match (l.kind, r.kind) {
        (_, Kind::Scalar) => (l, r),
        (Kind::Scalar, _) => (r, l),
        _ => return (ValUnit::Unknown, 1.0),
    };
    match scalar.scalar_value {
        Some(k) => normalize(vector.unit, vector.scale * k),
        None => (ValUnit::Unknown, 1.0),
    }
}

/// Each call of a counter function (`rate`, `irate`, `increase`) in `e`, with its argument
/// (parentheses removed) and the argument's type: what the checks on counter functions
/// look at.
pub(crate) fn counter_calls<'a>(e: &'a Expr, env: &Env) -> Vec<(&'a Call, &'a Expr, Ty)> {
    calls(e, &COUNTER_FUNCTIONS)
        .into_iter()
        .filter_map(|c| {
            let arg = unparen(c.args.args.first()?);
            Some((c, arg, env.type_of(arg)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::expr::{find_word, thresholds};
    use crate::model::{Catalog, Metric, MetricKind};

    fn catalog() -> Catalog {
        let mut c = Catalog::default();
        for (name, kind, unit) in [
            ("active", MetricKind::Gauge, Unit::Connections),
            ("size", MetricKind::Gauge, Unit::Connections),
            ("errors_total", MetricKind::Counter, Unit::Events),
            ("wait_seconds", MetricKind::Histogram, Unit::Seconds),
        ] {
            c.insert(Metric {
                name: name.into(),
                kind,
                unit,
                help: String::new(),
                labels: Vec::new(),
                buckets: None,
                storage: crate::model::HistogramStorage::Classic,
            });
        }
        c
    }

    fn ty(src: &str) -> Ty {
        let env = Env::new(Knowledge::from_catalog(&catalog()));
        env.type_of(&promql_parser::parser::parse(src).unwrap())
    }

    #[test]
    fn gauge_over_gauge_of_one_unit_is_a_ratio() {
        assert!(ty("(active / size) > 0.9").is_ratio());
        assert!(ty("sum(active) / sum(size)").is_ratio());
        assert!(ty("100 * (active / size)").is_percent());
        assert!(ty("100 * active / size").is_percent());
        assert!(ty("active * 100 / size > 90").is_percent());
        assert!(ty("(100 * active / size) / 100").is_ratio());
        assert!(!ty("2 * active / size").is_ratio());
        assert!(!ty("2 * active / size").is_percent());
        assert!(!ty("active").is_ratio());
    }

    #[test]
    fn rates_and_buckets() {
        let t = ty("sum by (le) (rate(wait_seconds_bucket[5m]))");
        assert!(t.buckets);
        assert_eq!(t.kind, Kind::Rate);
        assert!(!t.labels.drops("le"));
        assert!(ty("sum(rate(wait_seconds_bucket[5m]))").labels.drops("le"));
        let q = ty("histogram_quantile(0.9, sum by (le) (rate(wait_seconds_bucket[5m])))");
        assert_eq!(q.unit, ValUnit::Of(Unit::Seconds));
        assert_eq!(ty("errors_total").kind, Kind::Counter);
    }

    #[test]
    fn labels_survive_aggregations() {
        assert!(ty("sum by (job) (active)").labels.drops("instance"));
        assert!(!ty("sum by (job) (active)").labels.drops("job"));
        assert!(
            ty("sum without (instance) (active)")
                .labels
                .drops("instance")
        );
        assert!(!ty("sum without (instance) (active)").labels.drops("job"));
        assert!(ty("sum(active) / sum(size)").labels.drops("job"));
        assert!(!ty("active / size").labels.drops("job"));
    }

    #[test]
    fn names_type_what_no_catalog_holds() {
        let t = ty("sum by (le, pod) (rate(shop_seconds_bucket[5m]))");
        assert!(t.buckets && !t.exact);
        assert_eq!(ty("rate(shop_orders_total[5m])").kind, Kind::Rate);
        let joined = ty(
            "sum by (instance, le) (rate(x_bucket[5m])) * on (instance) group_left (node) max by (instance, node) (node_info)",
        );
        assert!(joined.buckets);
        assert!(ty("x_up").binary);
        assert!(ty("up").exact && ty("up").binary);
    }

    #[test]
    fn thresholds_read_with_the_expression_on_the_left() {
        let e =
            promql_parser::parser::parse("2 < rate(x_total[5m]) and y > 1 and z > bool 3").unwrap();
        let t = thresholds(&e);
        let seen: Vec<(String, &str, f64)> = t
            .iter()
            .map(|t| (t.expr.to_string(), t.op, t.value))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("rate(x_total[5m])".to_string(), ">", 2.0),
                ("y".to_string(), ">", 1.0)
            ]
        );
    }

    #[test]
    fn words_are_found_whole() {
        assert_eq!(find_word("a_total + a", "a"), Some(10..11));
        assert_eq!(find_word("x:a:b", "a"), None);
    }
}
