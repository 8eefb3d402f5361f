//! PromQL text for a pool's signals. Every expression poolwatch emits is built here, with
//! label values escaped, so rules and dashboards compute the same thing the same way.

use crate::conventions::number;
use crate::model::{Comparison, HistogramStorage, Model, Pool, PromDuration, Role, Targets};

/// Escapes a label value for a double-quoted PromQL string.
pub(crate) fn escape_label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    push_escaped(&mut out, v);
    out
}

/// Appends a label value escaped as [`escape_label_value`] does.
fn push_escaped(out: &mut String, v: &str) {
    use std::fmt::Write as _;
    // Most label values are printable ASCII with nothing to escape: copied whole.
    if v.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'\\' && b != b'"')
    {
        out.push_str(v);
        return;
    }
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Prometheus's lexer reads U+FFFD as a decoding error ("invalid UTF-8 rune"), and
            // control characters are invisible in review: write them as escapes.
            c if c.is_control() || c == '\u{FFFD}' => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

pub(crate) use crate::conventions::le_matcher;

/// Appends a label name: as it is in the classic set (`[a-zA-Z_][a-zA-Z0-9_]*`), else
/// quoted as Prometheus 3 reads it (`"a.label"`); the model admits such names only for a
/// 3.x target.
fn push_label_name(out: &mut String, name: &str) {
    if crate::model::is_label_name(name) {
        out.push_str(name);
    } else {
        out.push('"');
        push_escaped(out, name);
        out.push('"');
    }
}

/// A label name as PromQL reads it: as it is, or quoted ([`push_label_name`]).
pub(crate) fn label_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    push_label_name(&mut out, name);
    out
}

/// `metric{m1, m2}` of matchers already written (`job=~"$job"`), the metric quoted inside
/// the braces where it is outside the classic set.
pub(crate) fn selector_of(metric: &str, written: &[&str]) -> String {
    match (crate::model::is_metric_name(metric), written.is_empty()) {
        (true, true) => metric.to_string(),
        (true, false) => format!("{metric}{{{}}}", written.join(", ")),
        (false, _) => {
            let mut out = String::from("{\"");
            push_escaped(&mut out, metric);
            out.push('"');
            for m in written {
                out.push_str(", ");
                out.push_str(m);
            }
            out.push('}');
            out
        }
    }
}

/// `metric{a="x"}`; a metric name outside the classic set goes quoted inside the braces,
/// as Prometheus 3 requires: `{"my.metric", a="x"}`.
pub(crate) fn selector(metric: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(metric.len() + 16);
    push_selector(&mut out, metric, pairs);
    out
}

/// Appends [`selector`] of `metric` and `pairs` to `out`.
pub(crate) fn push_selector(out: &mut String, metric: &str, pairs: &[(&str, &str)]) {
    if crate::model::is_metric_name(metric) {
        out.push_str(metric);
        push_matchers(out, pairs);
        return;
    }
    out.push_str("{\"");
    push_escaped(out, metric);
    out.push('"');
    let mut rest = String::new();
    push_matchers(&mut rest, pairs);
    if let Some(inner) = rest.strip_prefix('{') {
        out.push_str(", ");
        out.push_str(inner);
    } else {
        out.push('}');
    }
}

/// `{a="x", b="y"}`, or nothing for no matchers.
pub(crate) fn matchers(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    push_matchers(&mut out, pairs);
    out
}

/// Appends [`matchers`] of `pairs` to `out` (no intermediate strings: a fleet writes
/// hundreds of thousands of them).
pub(crate) fn push_matchers(out: &mut String, pairs: &[(&str, &str)]) {
    if pairs.is_empty() {
        return;
    }
    out.reserve(
        pairs
            .iter()
            .map(|(k, v)| k.len() + v.len() + 5)
            .sum::<usize>()
            + 2,
    );
    out.push('{');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_label_name(out, k);
        out.push_str("=\"");
        push_escaped(out, v);
        out.push('"');
    }
    out.push('}');
}

/// A value scaled to percent for a panel: `100 * (expr)`.
pub(crate) fn percent(expr: &str) -> String {
    format!("100 * ({expr})")
}

/// A constant series: `vector(n)`.
pub(crate) fn constant(n: impl std::fmt::Display) -> String {
    format!("vector({n})")
}

/// `{pool="k2"}`: selects the series a pool's recording rules record (they carry the pool
/// label).
pub(crate) fn pool_matcher(pool_label: &str, pool: &str) -> String {
    matchers(&[(pool_label, pool)])
}

/// Expressions over a pool's recorded series (`name{pool="k2"}`), which carry the pool label.
#[derive(Debug)]
pub(crate) struct Recorded<'a> {
    pub(crate) pool_label: &'a str,
    pub(crate) pool: &'a str,
}

impl Recorded<'_> {
    /// `name{pool="k2"}`.
    pub(crate) fn select(&self, name: &str) -> String {
        selector(name, &[(self.pool_label, self.pool)])
    }

    /// `max_over_time(name{pool="k2"}[window])`: the peak of a recorded series.
    pub(crate) fn max_over_time(&self, name: &str, window: &str) -> String {
        format!("max_over_time({}[{window}])", self.select(name))
    }

    /// `ceil(headroom * quantile_over_time(q, name{pool="k2"}[window]))`: the recommended
    /// size, the peak of concurrent use plus headroom, in whole connections.
    pub(crate) fn recommended(&self, headroom: f64, q: f64, active: &str, window: &str) -> String {
        format!(
            "ceil({} * quantile_over_time({}, {}[{window}]))",
            number(headroom),
            number(q),
            self.select(active)
        )
    }

    /// The operator comparing a recorded per-instance series with a series that lacks the
    /// pool label (`> ignoring(pool)`), or that has fewer labels, the ones in `on`
    /// (`> on(job, instance, database) group_left`).
    pub(crate) fn above(&self, on: Option<&[&str]>) -> String {
        match on {
            None => format!("> ignoring({})", self.pool_label),
            Some(labels) => format!("> on({}) group_left", labels.join(", ")),
        }
    }
}

/// What a signal's expression may depend on besides the pool.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExprCx<'m> {
    /// The model (its pool label and capacity planning).
    pub(crate) model: &'m Model,
    /// The query-duration histogram's largest finite bucket, when declared.
    pub(crate) top_bucket: Option<f64>,
    /// The alert's `for`.
    pub(crate) for_: PromDuration,
    /// What the absence alert knows of the scrape targets.
    pub(crate) targets: Targets,
}

/// Builds the expressions of one pool for one rate window (`5m` in rules,
/// `$__rate_interval` in dashboards).
#[derive(Debug)]
pub(crate) struct PoolExprs<'a> {
    pub(crate) pool: &'a Pool,
    pub(crate) window: &'a str,
    /// Break long binary expressions over lines (rule files show them as block scalars).
    pub(crate) multiline: bool,
    /// Filter every series by the dashboard's identity variables (`instance=~"$instance"`).
    pub(crate) variables: bool,
}

/// Lines longer than this are broken at their top-level binary operator.
pub(crate) const WIDTH: usize = 80;

impl<'a> PoolExprs<'a> {
    /// Expressions for a rule file: long ones span several lines.
    pub(crate) fn rules(pool: &'a Pool, window: &'a str) -> Self {
        Self {
            pool,
            window,
            multiline: true,
            variables: false,
        }
    }

    /// Expressions for dashboard targets: always one line.
    pub(crate) fn panels(pool: &'a Pool, window: &'a str) -> Self {
        Self {
            pool,
            window,
            multiline: false,
            variables: true,
        }
    }

    /// `lhs op rhs`, or with the operator on a line of its own when too long.
    pub(crate) fn binary(&self, lhs: &str, op: &str, rhs: &str) -> String {
        let one_line = format!("{lhs} {op} {rhs}");
        if !self.multiline || (one_line.len() <= WIDTH && !one_line.contains('\n')) {
            one_line
        } else if rhs.len() <= 20 && !rhs.contains('\n') {
            format!("{lhs}\n{op} {rhs}")
        } else {
            format!("{lhs}\n{op}\n{rhs}")
        }
    }

    /// `metric{selector}`.
    pub(crate) fn select(&self, metric: &str) -> String {
        let pairs: Vec<(&str, &str)> = self
            .pool
            .selector
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        selector(metric, &pairs)
    }

    /// A role's series (with a suffix such as `_bucket`), its long-form `match` labels
    /// copied to the identity's names with `label_replace`.
    pub(crate) fn select_role(&self, role: Role, suffix: &str) -> String {
        self.select_role_with(role, suffix, None, &|s| s.to_string())
    }

    /// [`Self::select_role`] with one more matcher (`le="5"`), and `wrap` applied to the
    /// selector inside the `label_replace` (a range or an offset must follow the selector
    /// itself: `rate(x[5m])`, `x offset 5m`).
    fn select_role_with(
        &self,
        role: Role,
        suffix: &str,
        extra: Option<&str>,
        wrap: &dyn Fn(&str) -> String,
    ) -> String {
        let mut out = self.select(&format!("{}{suffix}", self.role(role)));
        let mut extras: Vec<String> = Vec::new();
        if self.variables {
            let matches = self.pool.roles.matches(role);
            for l in self.pool.covered(role) {
                if !self.pool.identity.iter().any(|i| i == l) {
                    continue;
                }
                let on = matches
                    .iter()
                    .find(|(i, _)| i == l)
                    .map_or(l, |(_, m)| m.as_str());
                let mut m = String::new();
                push_label_name(&mut m, on);
                extras.push(format!("{m}=~\"${l}\""));
            }
        }
        extras.extend(extra.map(str::to_string));
        let extra = (!extras.is_empty()).then(|| extras.join(", "));
        let extra = extra.as_deref();
        if let Some(e) = extra {
            out = match out.strip_suffix('}') {
                Some(head) => format!("{head}, {e}}}"),
                None => format!("{out}{{{e}}}"),
            };
        }
        out = wrap(&out);
        for (id_label, metric_label) in self.pool.roles.matches(role) {
            out = format!(
                "label_replace({out}, \"{}\", \"$1\", \"{}\", \"(.*)\")",
                escape_label_value(id_label),
                escape_label_value(metric_label)
            );
        }
        out
    }

    /// `sum by (labels) (inner)`, or `sum(inner)` with no labels.
    fn sum_by(labels: &[&str], inner: &str) -> String {
        if labels.is_empty() {
            format!("sum({inner})")
        } else {
            format!("sum by ({}) ({inner})", labels.join(", "))
        }
    }

    /// `inner` summed per pool instance: by the identity and kept labels (those a role's
    /// series carry), plus `extra`.
    pub(crate) fn sum(&self, role: Role, inner: &str, extra: &[&str]) -> String {
        let mut labels = self.pool.covered(role);
        labels.extend_from_slice(extra);
        Self::sum_by(&labels, inner)
    }

    /// `lhs op rhs` where the two sides may carry different grouping labels (a per-database
    /// size against per-(database, user) activity): matched on the shared ones, the side
    /// with more labels kept.
    pub(crate) fn join(&self, lhs: (&str, Role), op: &str, rhs: (&str, Role)) -> String {
        let (l, r) = (self.pool.covered(lhs.1), self.pool.covered(rhs.1));
        let op = if l.len() == r.len() {
            op.to_string()
        } else if r.len() < l.len() {
            format!("{op} on({}) group_left()", r.join(", "))
        } else {
            format!("{op} on({}) group_right()", l.join(", "))
        };
        self.binary(lhs.0, &op, rhs.0)
    }

    fn role_rate(&self, role: Role, suffix: &str) -> String {
        let w = self.window;
        self.select_role_with(role, suffix, None, &|s| format!("rate({s}[{w}])"))
    }

    /// Per-second rate of a counter role, per pool instance.
    pub(crate) fn counter_rate(&self, role: Role) -> String {
        self.sum(role, &self.role_rate(role, ""), &[])
    }

    /// The events of counter series born within the rate window, per second and pool
    /// instance: a labelled counter appears at its first increment, at a value rate() never
    /// sees, so the series' value over the window's seconds counts them as rate() would have
    /// had the series started at 0. Only a series new while its pool instance was already
    /// exporting counts: after a Prometheus restart every series looks new.
    pub(crate) fn counter_born(&self, role: Role) -> String {
        let w = self.window;
        let offset = |s: &str| format!("{s} offset {w}");
        let series = self.select_role(role, "");
        let before = self.select_role_with(role, "", None, &offset);
        let presence = self.pool.presence_role();
        let size = self.select_role_with(presence, "", None, &offset);
        format!(
            "{} / {}",
            self.sum(
                role,
                &format!(
                    "({series} unless {before}) and on({}) ({size})",
                    self.pool.covered(presence).join(", ")
                ),
                &[]
            ),
            crate::conventions::number(self.window_secs())
        )
    }

    /// A counter's events per second: what rate() sees plus the series born within the
    /// window ([`Self::counter_born`]), either alone where the other has no series.
    pub(crate) fn counter_total(&self, seen: &str, born: &str) -> String {
        if self.multiline {
            format!("(\n  {seen}\n  + {born}\n)\nor {seen}\nor {born}")
        } else {
            format!("({seen} + {born}) or {seen} or {born}")
        }
    }

    fn window_secs(&self) -> f64 {
        crate::model::PromDuration::parse(self.window)
            .map(|d| d.millis() as f64 / 1000.0)
            .unwrap_or(300.0)
    }

    /// Matchers of a pool's recorded series: the pool label, and in dashboards the identity
    /// variables.
    pub(crate) fn recorded(&self, pool_label: &str) -> String {
        let mut out = format!("{{{pool_label}=\"{}\"", escape_label_value(&self.pool.name));
        if self.variables {
            for l in &self.pool.identity {
                out.push_str(&format!(", {l}=~\"${l}\""));
            }
        }
        out.push('}');
        out
    }

    /// A recorded series of the pool: `name{pool="k2", ...}` with [`Self::recorded`]'s
    /// matchers.
    pub(crate) fn select_recorded(&self, name: &str, pool_label: &str) -> String {
        format!("{name}{}", self.recorded(pool_label))
    }

    /// A gauge role summed per pool instance.
    pub(crate) fn gauge(&self, role: Role) -> String {
        self.sum(role, &self.select_role(role, ""), &[])
    }

    /// The largest value of a gauge role per pool instance (a longest wait: summing the
    /// longest waits of several series would invent a wait nobody had).
    pub(crate) fn gauge_max(&self, role: Role) -> String {
        let labels = self.pool.covered(role);
        let inner = self.select_role(role, "");
        if labels.is_empty() {
            format!("max({inner})")
        } else {
            format!("max by ({}) ({inner})", labels.join(", "))
        }
    }

    /// active / size, a 0..1 ratio, per pool instance. A size of 0 ("unlimited" in
    /// database/sql) gives no value rather than +Inf.
    pub(crate) fn utilization(&self) -> String {
        let size = format!("({} > 0)", self.gauge(Role::Size));
        self.join(
            (&self.gauge(Role::Active), Role::Active),
            "/",
            (&size, Role::Size),
        )
    }

    /// Connections not in use: the configured size minus the busy ones. Pools that create
    /// connections lazily report few idle ones while healthy, so the idle gauge cannot say
    /// the pool is exhausted.
    pub(crate) fn free(&self) -> String {
        let size = format!("({} > 0)", self.gauge(Role::Size));
        format!(
            "({})",
            self.join(
                (&size, Role::Size),
                "-",
                (&self.gauge(Role::Active), Role::Active)
            )
        )
    }

    /// A histogram's rates per pool instance, as its storage holds them: the native
    /// histogram summed by the pool instance (it has no `le`), the classic bucket rates by
    /// the pool instance and `le`, or, while both exist, native where an instance has it and
    /// classic for the others (`or on(...)` by the pool instance: the classic series carry
    /// `le`, so a plain `or` would keep both). A heatmap's target and a recorded rate.
    pub(crate) fn bucket_rate(&self, role: Role) -> String {
        let classic = || self.classic_bucket_rate(role);
        match self.pool.roles.storage(role) {
            HistogramStorage::Classic => classic(),
            HistogramStorage::Native => self.native_rate(role),
            HistogramStorage::Both => {
                let on = format!("or on({})", self.pool.covered(role).join(", "));
                format!(
                    "({})",
                    self.binary(&self.native_rate(role), &on, &classic())
                )
            }
        }
    }

    /// A classic histogram's bucket rates per pool instance and `le`.
    fn classic_bucket_rate(&self, role: Role) -> String {
        self.sum(role, &self.role_rate(role, "_bucket"), &["le"])
    }

    /// A native histogram's rate summed per pool instance: `sum by (...) (rate(m[5m]))`.
    fn native_rate(&self, role: Role) -> String {
        self.sum(role, &self.role_rate(role, ""), &[])
    }

    /// One value per pool instance from whichever form its histogram is stored in:
    /// `native(rate)` for native, `classic()` for classic, and while both exist the native
    /// value where an instance has one, the classic one for the others. Bracketed, so a
    /// comparison after it applies to both sides of the `or`.
    fn by_storage(
        &self,
        role: Role,
        native: &dyn Fn(&str) -> String,
        classic: &dyn Fn() -> String,
    ) -> String {
        match self.pool.roles.storage(role) {
            HistogramStorage::Classic => classic(),
            HistogramStorage::Native => native(&self.native_rate(role)),
            HistogramStorage::Both => format!(
                "({})",
                self.binary(
                    &format!("({})", native(&self.native_rate(role))),
                    "or",
                    &format!("({})", classic())
                )
            ),
        }
    }

    /// The `q` quantile of a histogram role per pool instance (`histogram_quantile`, which
    /// reads classic buckets and native histograms alike).
    pub(crate) fn quantile(&self, q: f64, role: Role) -> String {
        let q = number(q);
        self.by_storage(
            role,
            &|rate| format!("histogram_quantile({q}, {rate})"),
            &|| {
                format!(
                    "histogram_quantile({q}, {})",
                    self.classic_bucket_rate(role)
                )
            },
        )
    }

    /// Mean of a histogram's observations over the window (none without observations):
    /// rate(`_sum`) / rate(`_count`), or of a native histogram `histogram_sum` /
    /// `histogram_count` of its rate.
    pub(crate) fn mean(&self, role: Role) -> String {
        self.by_storage(
            role,
            &|rate| {
                self.binary(
                    &format!("histogram_sum({rate})"),
                    "/",
                    &format!("(histogram_count({rate}) > 0)"),
                )
            },
            &|| {
                self.binary(
                    &self.sum(role, &self.role_rate(role, "_sum"), &[]),
                    "/",
                    &format!(
                        "({} > 0)",
                        self.sum(role, &self.role_rate(role, "_count"), &[])
                    ),
                )
            },
        )
    }

    /// The per-second rate of one counter role over another's, per pool instance (seconds
    /// waited per wait): none where the denominator did not move in the window.
    pub(crate) fn ratio_of_rates(&self, num: Role, den: Role) -> String {
        self.join(
            (&self.counter_rate(num), num),
            "/",
            (&format!("({} > 0)", self.counter_rate(den)), den),
        )
    }

    /// The share of a histogram's observations above its largest finite bucket `top`:
    /// what a quantile cannot show, as histogram_quantile never exceeds that bound. Of a
    /// native histogram, `histogram_fraction(top, +Inf, ...)`, which interpolates within a
    /// bucket, so `top` need not be a bucket boundary there (a classic `le` must be one).
    pub(crate) fn share_above(&self, role: Role, top: f64) -> String {
        self.by_storage(
            role,
            &|rate| format!("histogram_fraction({}, +Inf, {rate})", number(top)),
            &|| {
                let le = le_matcher(top);
                let w = self.window;
                let bucket = self
                    .select_role_with(role, "_bucket", Some(&le), &|s| format!("rate({s}[{w}])"));
                let count = self.sum(role, &self.role_rate(role, "_count"), &[]);
                let above = format!("{count} - {}", self.sum(role, &bucket, &[]));
                self.binary(&format!("({above})"), "/", &format!("({count} > 0)"))
            },
        )
    }

    /// The metric of a role. The model drops every signal whose role a pool lacks, so this
    /// is only asked for roles that exist; an empty name would fail the PromQL check rather
    /// than pass silently.
    fn role(&self, role: Role) -> &str {
        self.pool.roles.get(role).unwrap_or_default()
    }

    /// The absence alert's condition, in up to three parts, each an incident:
    /// - a pool instance seen within `lookback` that no longer exports, whose target still
    ///   answers scrapes (`up == 1`): per identity. An instance whose target left service
    ///   discovery (a rolling deploy, a scale-in) took its `up` with it and is no incident;
    /// - a target of the pool's jobs that is down (`up == 0`): one alert per target, with
    ///   `job` and `instance` only, however many pool instances it serves;
    /// - no pool series at all (absent()), unless one of the first two parts fires: every
    ///   instance that stopped exporting, or its down target, already has its own alert
    ///   (one incident, one page each, not one more for the whole pool).
    ///
    /// With [`Targets::Unchecked`] (no `up` where the rules run), the first part without
    /// the target check, and absent().
    pub(crate) fn absent(&self, lookback: PromDuration, targets: Targets) -> String {
        let presence = self.pool.presence_role();
        let seen = self.select_role_with(presence, "", None, &|s| {
            format!("max_over_time({s}[{lookback}])")
        });
        let gone = self.binary(
            &self.sum(presence, &seen, &[]),
            "unless",
            &self.gauge(presence),
        );
        let none = format!("absent({})", self.select(self.role(presence)));
        if targets == Targets::Unchecked {
            return format!("(\n{gone}\n)\nor\n(\n{none}\nunless on()\n(\n{gone}\n)\n)");
        }
        // `up` carries the target's labels, not the exporter's: of the selector, only the
        // matchers on `job` and `instance` apply to it.
        let on_target: Vec<(&str, &str)> = self
            .pool
            .selector
            .iter()
            .filter(|(k, _)| crate::model::TARGET_LABELS.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let up = format!("up{}", matchers(&on_target));
        let on = crate::model::TARGET_LABELS.join(", ");
        let answering = format!("{gone}\nand on({on})\n({up} == 1)");
        let down = format!(
            "max by ({on}) ({up} == 0)\nand on(job)\n{}",
            Self::sum_by(&["job"], &seen)
        );
        format!(
            "(\n{answering}\n)\nor\n(\n{down}\n)\nor\n(\n{none}\nunless on()\n(\n(\n{answering}\n)\nor\n(\n{down}\n)\n)\n)"
        )
    }

    /// An alert condition: a signal's value compared with a threshold; with
    /// `needs_waiting`, only while someone waits for a connection ([`Self::while_waiting`]).
    pub(crate) fn condition(
        &self,
        value: &str,
        comparison: Comparison,
        threshold: f64,
        needs_waiting: bool,
    ) -> String {
        let cond = self.binary(value, comparison.operator(), &number(threshold));
        if needs_waiting {
            return self.while_waiting(&format!("({cond})"));
        }
        cond
    }

    /// `value` only where someone waits for a connection, where the library counts waiting
    /// clients (else `value` itself).
    pub(crate) fn while_waiting(&self, value: &str) -> String {
        if self.pool.roles.waiting.is_none() {
            return value.to_string();
        }
        let waiting = format!("{} > 0", self.gauge(Role::Waiting));
        let on = self.pool.covered(Role::Waiting).join(", ");
        format!("{value}\nand on({on})\n{waiting}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Policies, Roles};

    /// A pool by (job, instance) whose wait and query histograms are stored as `storage`.
    fn pool(storage: HistogramStorage) -> Pool {
        let mut roles = Roles::from_fn(
            |r| match r {
                Role::Size => Some("size".into()),
                Role::Active => Some("active".into()),
                Role::WaitTime => Some("wait_seconds".into()),
                Role::QueryDuration => Some("query_seconds".into()),
                _ => None,
            },
            Vec::new(),
        );
        roles.storage = vec![(Role::WaitTime, storage), (Role::QueryDuration, storage)];
        Pool {
            name: "p".into(),
            title: "p".into(),
            selector: Vec::new(),
            keep_labels: Vec::new(),
            identity: vec!["job".into(), "instance".into()],
            labels: Vec::new(),
            coverage: Vec::new(),
            roles,
            policies: Policies::default(),
            span: None,
        }
    }

    /// Expressions on one line, without dashboard variables.
    fn plain(p: &Pool) -> PoolExprs<'_> {
        PoolExprs {
            pool: p,
            window: "5m",
            multiline: false,
            variables: false,
        }
    }

    /// The four histogram expressions of `storage`, each checked to parse as PromQL.
    fn exprs(storage: HistogramStorage) -> [String; 4] {
        let p = pool(storage);
        let x = plain(&p);
        let out = [
            x.quantile(0.99, Role::WaitTime),
            x.mean(Role::WaitTime),
            x.share_above(Role::QueryDuration, 2.5),
            x.bucket_rate(Role::WaitTime),
        ];
        for e in &out {
            if let Err(err) = promql_parser::parser::parse(e) {
                panic!("{storage}: `{e}` does not parse: {err}");
            }
        }
        out
    }

    #[test]
    fn classic_histograms_read_the_bucket_sum_and_count_series() {
        let [q, mean, share, rate] = exprs(HistogramStorage::Classic);
        let rate_of = |s: &str| format!("sum by (job, instance) (rate(wait_seconds_{s}[5m]))");
        assert_eq!(
            q,
            "histogram_quantile(0.99, sum by (job, instance, le) (rate(wait_seconds_bucket[5m])))"
        );
        assert_eq!(
            mean,
            format!("{} / ({} > 0)", rate_of("sum"), rate_of("count"))
        );
        let count = "sum by (job, instance) (rate(query_seconds_count[5m]))";
        assert_eq!(
            share,
            format!(
                "({count} - sum by (job, instance) (rate(query_seconds_bucket{{le=\"2.5\"}}[5m]))) / ({count} > 0)"
            )
        );
        assert_eq!(
            rate,
            "sum by (job, instance, le) (rate(wait_seconds_bucket[5m]))"
        );
    }

    #[test]
    fn native_histograms_are_read_by_their_own_name_without_le() {
        let [q, mean, share, rate] = exprs(HistogramStorage::Native);
        let h = "sum by (job, instance) (rate(wait_seconds[5m]))";
        assert_eq!(q, format!("histogram_quantile(0.99, {h})"));
        assert_eq!(
            mean,
            format!("histogram_sum({h}) / (histogram_count({h}) > 0)")
        );
        assert_eq!(
            share,
            "histogram_fraction(2.5, +Inf, sum by (job, instance) (rate(query_seconds[5m])))"
        );
        assert_eq!(rate, h);
        for e in [&q, &mean, &share, &rate] {
            assert!(
                !e.contains("_bucket") && !e.contains("s_count") && !e.contains(", le"),
                "{e}"
            );
        }
    }

    #[test]
    fn both_forms_give_the_native_value_else_the_classic_one_per_identity() {
        let [nq, nmean, nshare, nrate] = exprs(HistogramStorage::Native);
        let [cq, cmean, cshare, crate_] = exprs(HistogramStorage::Classic);
        let [q, mean, share, rate] = exprs(HistogramStorage::Both);
        assert_eq!(q, format!("(({nq}) or ({cq}))"));
        assert_eq!(mean, format!("(({nmean}) or ({cmean}))"));
        assert_eq!(share, format!("(({nshare}) or ({cshare}))"));
        // Classic bucket rates carry `le`: a plain `or` would keep them beside the native
        // histogram of the same instance.
        assert_eq!(rate, format!("({nrate} or on(job, instance) {crate_})"));
    }

    #[test]
    fn a_comparison_after_both_forms_applies_to_each() {
        let p = pool(HistogramStorage::Both);
        let x = PoolExprs::rules(&p, "5m");
        let cond = x.condition(
            &x.quantile(0.99, Role::WaitTime),
            Comparison::Above,
            5.0,
            false,
        );
        let ast = promql_parser::parser::parse(&cond).unwrap();
        // The top node is the comparison, not the `or` (which would compare only the
        // classic side with the threshold).
        match ast {
            promql_parser::parser::Expr::Binary(b) => {
                assert!(b.op.is_comparison_operator(), "top operator of {cond}");
            }
            other => panic!("not a binary expression: {other:?}"),
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label_value(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label_value("x\ny"), r"x\ny");
        assert_eq!(matchers(&[("job", "a\"b")]), r#"{job="a\"b"}"#);
        assert_eq!(matchers(&[]), "");
        assert_eq!(escape_label_value("a\u{FFFD}\u{1}"), r"a\uFFFD\u0001");
    }
}
