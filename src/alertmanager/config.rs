//! Reads a real Alertmanager configuration (`alertmanager.yml`) into its routing tree,
//! checking what routing depends on and reporting every mistake with its file:line:col:
//! unknown fields (of the document, `global`, routes, receivers, email settings and inhibit
//! rules), values of the wrong type, bad matchers and regexes, invalid label names and
//! durations, a root route with matchers, `continue` or no receiver, undefined receivers
//! and time intervals, duplicate receiver names. Other integrations' settings are not
//! checked field by field (`amtool check-config` does). Semantics of Alertmanager 0.25
//! (<https://prometheus.io/docs/alerting/0.25/configuration/>).

use serde_saphyr::Spanned;

use super::matcher::{self, Labels, MatchOp, Matcher, all_match};
use super::node::{Located, Node};
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::model::PromDuration;
use crate::source::{FileId, Sources, Span};

pub(crate) const INVALID: Code = Code {
    code: "PW040",
    name: "invalid-alertmanager-config",
};

const TOP: &[&str] = &[
    "global",
    "route",
    "receivers",
    "inhibit_rules",
    "templates",
    "mute_time_intervals",
    "time_intervals",
    "tracing",
];

/// `global:` settings of Alertmanager 0.22 to 0.28 (values are not checked).
const GLOBAL: &[&str] = &[
    "resolve_timeout",
    "http_config",
    "smtp_from",
    "smtp_hello",
    "smtp_smarthost",
    "smtp_auth_username",
    "smtp_auth_password",
    "smtp_auth_password_file",
    "smtp_auth_secret",
    "smtp_auth_secret_file",
    "smtp_auth_identity",
    "smtp_require_tls",
    "smtp_tls_config",
    "slack_api_url",
    "slack_api_url_file",
    "victorops_api_key",
    "victorops_api_key_file",
    "victorops_api_url",
    "pagerduty_url",
    "opsgenie_api_url",
    "opsgenie_api_key",
    "opsgenie_api_key_file",
    "wechat_api_url",
    "wechat_api_secret",
    "wechat_api_corp_id",
    "telegram_api_url",
    "telegram_bot_token",
    "telegram_bot_token_file",
    "webex_api_url",
    "rocketchat_api_url",
    "rocketchat_token",
    "rocketchat_token_file",
    "rocketchat_token_id",
    "rocketchat_token_id_file",
    "jira_api_url",
];

const ROUTE: &[&str] = &[
    "receiver",
    "group_by",
    "continue",
    "match",
    "match_re",
    "matchers",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "mute_time_intervals",
    "active_time_intervals",
    "routes",
];

const INTEGRATIONS: &[&str] = &[
    "discord_configs",
    "email_configs",
    "incidentio_configs",
    "jira_configs",
    "msteams_configs",
    "msteamsv2_configs",
    "opsgenie_configs",
    "pagerduty_configs",
    "pushover_configs",
    "rocketchat_configs",
    "slack_configs",
    "sns_configs",
    "telegram_configs",
    "victorops_configs",
    "webex_configs",
    "webhook_configs",
    "wechat_configs",
];

const EMAIL: &[&str] = &[
    "send_resolved",
    "to",
    "from",
    "hello",
    "smarthost",
    "auth_username",
    "auth_password",
    "auth_password_file",
    "auth_secret",
    "auth_secret_file",
    "auth_identity",
    "headers",
    "html",
    "text",
    "require_tls",
    "force_implicit_tls",
    "tls_config",
    "threading",
];

const INHIBIT: &[&str] = &[
    "source_match",
    "source_match_re",
    "source_matchers",
    "target_match",
    "target_match_re",
    "target_matchers",
    "equal",
];

/// A configuration's routing tree.
#[derive(Debug)]
pub struct Config {
    pub(crate) root: Route,
}

/// One node of the routing tree, its receiver inherited from its parent when unset.
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) receiver: String,
    matchers: Vec<Matcher>,
    continue_: bool,
    routes: Vec<Route>,
    /// Where the route is written.
    pub(crate) span: Option<Span>,
}

impl Route {
    /// The routes an alert ends at: the deepest matching ones, first match winning among
    /// siblings unless the matching sibling has `continue: true`; this route itself when
    /// it matches and none of its children does.
    fn matching(&self, labels: &Labels) -> Vec<&Route> {
        if !all_match(&self.matchers, labels) {
            return Vec::new();
        }
        let mut all = Vec::new();
        for child in &self.routes {
            let found = child.matching(labels);
            let hit = !found.is_empty();
            all.extend(found);
            if hit && !child.continue_ {
                break;
            }
        }
        if all.is_empty() {
            all.push(self);
        }
        all
    }
}

impl Config {
    /// The routes an alert with these labels ends at, in Alertmanager's order.
    pub(crate) fn routes(&self, labels: &Labels) -> Vec<&Route> {
        self.root.matching(labels)
    }

    /// The receivers an alert is delivered to, in order, as `amtool config routes test`
    /// prints them.
    pub fn receivers(&self, labels: &Labels) -> Vec<String> {
        self.routes(labels)
            .iter()
            .map(|r| r.receiver.clone())
            .collect()
    }

    /// Whether the alert ends at the root route alone: delivered only to its default.
    pub(crate) fn falls_to_root(&self, labels: &Labels) -> bool {
        self.routes(labels)
            .iter()
            .all(|r| std::ptr::eq(*r, &self.root))
    }
}

/// Reads the configuration in `file`: its routing tree, or every mistake found.
pub fn parse(sources: &Sources, file: FileId) -> Result<Config, Vec<Diagnostic>> {
    let doc: Located = crate::spec::parse_yaml(sources, file).map_err(|d| vec![d])?;
    let mut r = Reader {
        sources,
        file,
        diags: Vec::new(),
        receivers: Vec::new(),
        intervals: Vec::new(),
        used: Vec::new(),
        missing_receiver: false,
    };
    let root = r.document(&doc);
    match root {
        Some(root) if r.diags.is_empty() => Ok(Config { root }),
        _ => Err(r.diags),
    }
}

/// A name used by a route, checked once every definition has been read.
type Use = (Kind, String, Option<Span>);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Receiver,
    Interval,
}

struct Reader<'a> {
    sources: &'a Sources,
    file: FileId,
    diags: Vec<Diagnostic>,
    receivers: Vec<String>,
    intervals: Vec<String>,
    used: Vec<Use>,
    /// The root route names no receiver.
    missing_receiver: bool,
}

impl Reader<'_> {
    fn span<T>(&self, v: &Spanned<T>) -> Option<Span> {
        crate::spec::span_of(self.sources, self.file, &v.referenced)
    }

    fn error(&mut self, at: Option<Span>, message: impl Into<String>) {
        self.push(Diagnostic::error(INVALID, message).at(at));
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// An unknown name, with the closest known one as a suggestion.
    fn unknown(&mut self, at: Option<Span>, message: String, name: &str, known: &[&str]) {
        let mut d = Diagnostic::error(INVALID, message).at(at);
        if let Some(h) = did_you_mean(name, known.iter().copied()) {
            d = d.help(format!("did you mean `{h}`?"));
        }
        self.push(d);
    }

    /// The entries of a mapping whose keys are in `known`; every other key is reported.
    fn map<'n>(
        &mut self,
        node: &'n Located,
        what: &str,
        known: &[&str],
    ) -> Vec<(&'n Spanned<String>, &'n Located)> {
        let entries = match &node.value {
            Node::Map(entries) => entries,
            Node::Null => return Vec::new(),
            other => {
                let kind = other.kind();
                self.error(
                    self.span(node),
                    format!("{what} must be a mapping, not {kind}"),
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (key, value) in entries {
            if known.contains(&key.value.as_str()) {
                out.push((key, value));
                continue;
            }
            let span = self.span(key);
            let message = format!("unknown field `{}` in {what}", key.value);
            self.unknown(span, message, &key.value, known);
        }
        out
    }

    fn text(&mut self, node: &Located, what: &str) -> Option<String> {
        match &node.value {
            Node::Text(t) => Some(t.clone()),
            other => {
                let kind = other.kind();
                self.error(self.span(node), format!("{what} must be text, not {kind}"));
                None
            }
        }
    }

    fn list<'n>(&mut self, node: &'n Located, what: &str) -> &'n [Located] {
        match &node.value {
            Node::List(items) => items,
            Node::Null => &[],
            other => {
                let kind = other.kind();
                self.error(
                    self.span(node),
                    format!("{what} must be a list, not {kind}"),
                );
                &[]
            }
        }
    }

    fn texts(&mut self, node: &Located, what: &str) -> Vec<(String, Option<Span>)> {
        let items = self.list(node, what);
        items
            .iter()
            .filter_map(|i| self.text(i, what).map(|t| (t, self.span(i))))
            .collect()
    }

    fn label_name(&mut self, name: &str, at: Option<Span>) {
        if !matcher::is_label_name(name) {
            self.error(at, format!("`{name}` is not a valid label name"));
        }
    }

    fn document(&mut self, doc: &Located) -> Option<Route> {
        if matches!(doc.value, Node::Null) {
            self.error(
                self.span(doc),
                "the configuration is empty: no route provided",
            );
            return None;
        }
        let entries = self.map(doc, "the configuration", TOP);
        let get = |k: &str| entries.iter().find(|(key, _)| key.value == k).map(|e| e.1);
        if let Some(g) = get("global") {
            self.map(g, "`global`", GLOBAL);
        }
        for k in ["time_intervals", "mute_time_intervals"] {
            if let Some(list) = get(k) {
                for item in self.list(list, k) {
                    for (key, value) in
                        self.map(item, "a time interval", &["name", "time_intervals"])
                    {
                        if key.value == "name"
                            && let Some(n) = self.text(value, "a time interval's name")
                        {
                            self.intervals.push(n);
                        }
                    }
                }
            }
        }
        if let Some(t) = get("templates") {
            self.texts(t, "`templates`");
        }
        if let Some(list) = get("receivers") {
            for item in self.list(list, "`receivers`") {
                self.receiver(item);
            }
        }
        if let Some(list) = get("inhibit_rules") {
            for item in self.list(list, "`inhibit_rules`") {
                self.inhibit_rule(item);
            }
        }
        let root = match entries.iter().find(|(key, _)| key.value == "route") {
            Some((key, node)) => {
                let mut root = self.route(node, None);
                root.span = root.span.or_else(|| self.span(key));
                if self.missing_receiver {
                    self.error(
                        root.span.clone(),
                        "the root route must name a default `receiver`",
                    );
                }
                Some(root)
            }
            None => {
                self.error(self.span(doc), "no route provided in the configuration");
                None
            }
        };
        for (kind, name, at) in std::mem::take(&mut self.used) {
            let (known, what) = match kind {
                Kind::Receiver => (&self.receivers, "receiver"),
                Kind::Interval => (&self.intervals, "time interval"),
            };
            if !known.contains(&name) {
                let known: Vec<String> = known.clone();
                let known: Vec<&str> = known.iter().map(String::as_str).collect();
                let message = format!("undefined {what} `{name}` used in a route");
                self.unknown(at, message, &name, &known);
            }
        }
        root
    }

    fn receiver(&mut self, node: &Located) {
        let mut known: Vec<&str> = vec!["name"];
        known.extend_from_slice(INTEGRATIONS);
        let mut name = None;
        for (key, value) in self.map(node, "a receiver", &known) {
            if key.value == "name" {
                name = self
                    .text(value, "a receiver's name")
                    .map(|n| (n, self.span(value)));
                continue;
            }
            for config in self.list(value, &format!("`{}`", key.value)) {
                if key.value == "email_configs" {
                    self.map(config, "an email config", EMAIL);
                } else if !matches!(config.value, Node::Map(_)) {
                    let kind = config.value.kind();
                    self.error(
                        self.span(config),
                        format!("`{}` entries must be mappings, not {kind}", key.value),
                    );
                }
            }
        }
        match name {
            Some((n, at)) if self.receivers.contains(&n) => {
                self.error(at, format!("receiver name `{n}` is not unique"));
            }
            Some((n, _)) => self.receivers.push(n),
            None => {
                self.error(self.span(node), "a receiver without a `name`");
            }
        }
    }

    /// `match`, `match_re` and `matchers` of a route or one side of an inhibit rule.
    fn matchers(&mut self, node: &Located, op: Option<MatchOp>, what: &str) -> Vec<Matcher> {
        let mut out = Vec::new();
        let Some(op) = op else {
            for (text, at) in self.texts(node, what) {
                match matcher::parse_matchers(&text) {
                    Ok(ms) => out.extend(ms),
                    Err(e) => {
                        self.error(at, format!("bad matcher in {what}: {e}"));
                    }
                }
            }
            return out;
        };
        let Node::Map(entries) = &node.value else {
            let kind = node.value.kind();
            self.error(
                self.span(node),
                format!("{what} must be a mapping, not {kind}"),
            );
            return out;
        };
        for (key, value) in entries {
            let at = self.span(key);
            self.label_name(&key.value, at);
            let Some(v) = self.text(value, what) else {
                continue;
            };
            match Matcher::new(&key.value, op, &v) {
                Ok(m) => out.push(m),
                Err(e) => {
                    self.error(self.span(value), format!("{what}: {e}"));
                }
            }
        }
        out
    }

    fn duration(&mut self, node: &Located, what: &str) {
        let Some(t) = self.text(node, what) else {
            return;
        };
        match PromDuration::parse(&t) {
            Ok(d) if d.is_zero() && what != "`group_wait`" => {
                self.error(self.span(node), format!("{what} cannot be zero"));
            }
            Ok(_) => {}
            Err(e) => {
                self.error(
                    self.span(node),
                    format!("{what} `{t}` is not a duration: {e}"),
                );
            }
        }
    }

    fn route(&mut self, node: &Located, parent: Option<&str>) -> Route {
        let is_root = parent.is_none();
        let mut route = Route {
            receiver: parent.unwrap_or_default().to_string(),
            matchers: Vec::new(),
            continue_: false,
            routes: Vec::new(),
            // A route that names no receiver is shown where it is written; the root,
            // which must name one, at its `route:` key (set by the caller).
            span: (!is_root).then(|| self.span(node)).flatten(),
        };
        let mut children = Vec::new();
        let mut named = false;
        for (key, value) in self.map(node, "a route", ROUTE) {
            let at = self.span(key);
            match key.value.as_str() {
                "receiver" => {
                    if let Some(r) = self.text(value, "`receiver`") {
                        self.used
                            .push((Kind::Receiver, r.clone(), self.span(value)));
                        route.receiver = r;
                        named = true;
                        route.span = self.span(value);
                    }
                }
                "continue" => match value.value {
                    Node::Bool(b) => route.continue_ = b,
                    ref other => {
                        let kind = other.kind();
                        self.error(
                            self.span(value),
                            format!("`continue` must be true or false, not {kind}"),
                        );
                    }
                },
                "match" => {
                    route
                        .matchers
                        .extend(self.matchers(value, Some(MatchOp::Equal), "`match`"))
                }
                "match_re" => {
                    route
                        .matchers
                        .extend(self.matchers(value, Some(MatchOp::Regex), "`match_re`"))
                }
                "matchers" => route
                    .matchers
                    .extend(self.matchers(value, None, "`matchers`")),
                "group_by" => {
                    let mut seen: Vec<String> = Vec::new();
                    for (l, at) in self.texts(value, "`group_by`") {
                        if l != "..." {
                            self.label_name(&l, at.clone());
                        }
                        if seen.contains(&l) {
                            self.error(at, format!("duplicated label `{l}` in `group_by`"));
                        }
                        seen.push(l);
                    }
                }
                "group_wait" | "group_interval" | "repeat_interval" => {
                    self.duration(value, &format!("`{}`", key.value));
                }
                "mute_time_intervals" | "active_time_intervals" => {
                    for (name, at) in self.texts(value, &format!("`{}`", key.value)) {
                        self.used.push((Kind::Interval, name, at));
                    }
                }
                _ => children = self.list(value, "`routes`").iter().collect(),
            }
            if is_root && matches!(key.value.as_str(), "match" | "match_re" | "matchers") {
                self.error(at, "the root route must not have any matchers");
            } else if is_root && key.value == "continue" && route.continue_ {
                self.error(at, "the root route cannot have `continue`");
            }
        }
        if is_root && !named {
            self.missing_receiver = true;
        }
        let receiver = route.receiver.clone();
        route.routes = children
            .into_iter()
            .map(|c| self.route(c, Some(&receiver)))
            .collect();
        route
    }

    fn inhibit_rule(&mut self, node: &Located) {
        for (key, value) in self.map(node, "an inhibit rule", INHIBIT) {
            let what = format!("`{}`", key.value);
            match key.value.as_str() {
                "equal" => {
                    for (l, at) in self.texts(value, "`equal`") {
                        self.label_name(&l, at);
                    }
                }
                k if k.ends_with("_re") => {
                    self.matchers(value, Some(MatchOp::Regex), &what);
                }
                k if k.ends_with("_matchers") => {
                    self.matchers(value, None, &what);
                }
                _ => {
                    self.matchers(value, Some(MatchOp::Equal), &what);
                }
            }
        }
    }
}
