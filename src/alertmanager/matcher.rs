//! Alertmanager's label matchers (`name="value"`, `!=`, `=~`, `!~`): written into the
//! generated route and inhibit rules, read from real configurations, and applied to an
//! alert's labels the way Alertmanager applies them (regexes anchored at both ends, a
//! missing label matching as the empty value).

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;

/// An alert's labels; a label it does not carry reads as the empty value.
pub type Labels = BTreeMap<String, String>;

/// How a matcher compares a label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    fn text(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// One matcher on one label.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    /// The value as an anchored regex, for `=~` and `!~`.
    regex: Option<Regex>,
}

impl Matcher {
    /// A matcher; fails on a regex the engine refuses.
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Self, String> {
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| format!("invalid regular expression `{value}`: {e}"))?,
            ),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            regex,
        })
    }

    /// `name="value"`: an equality matcher, for values known to be plain text.
    pub(crate) fn equal(name: &str, value: &str) -> Self {
        Matcher {
            name: name.to_string(),
            op: MatchOp::Equal,
            value: value.to_string(),
            regex: None,
        }
    }

    /// `name=~"a|b"`: a label equal to one of `values` (each escaped as a literal).
    pub(crate) fn any_of(name: &str, values: &[&str]) -> Self {
        if let [one] = values {
            return Matcher::equal(name, one);
        }
        let alternatives: Vec<String> = values.iter().map(|v| regex::escape(v)).collect();
        Matcher::new(name, MatchOp::Regex, &alternatives.join("|"))
            .expect("escaped literals joined by `|` form a valid regex")
    }

    /// Whether a label value satisfies the matcher.
    pub fn matches_value(&self, value: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(value),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(value),
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }

    /// Whether an alert's labels satisfy the matcher (a missing label is empty).
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(labels.get(&self.name).map_or("", String::as_str))
    }
}

impl fmt::Display for Matcher {
    /// `name="value"`, the value escaped as OpenMetrics escapes it (`\\`, `\"`, `\n`), which
    /// is how Alertmanager reads it back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}\"", self.name, self.op.text())?;
        for c in self.value.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '"' => f.write_str("\\\"")?,
                '\n' => f.write_str("\\n")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

impl serde::Serialize for Matcher {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Whether every matcher accepts the labels.
pub fn all_match(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

pub(crate) fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Parses one entry of a `matchers:` list: one or more comma-separated matchers,
/// optionally in braces (`{a="b", c=~"d"}`); commas inside double quotes do not separate.
pub fn parse_matchers(text: &str) -> Result<Vec<Matcher>, String> {
    let inner = text.strip_prefix('{').unwrap_or(text);
    let inner = inner.strip_suffix('}').unwrap_or(inner);
    let mut tokens = Vec::new();
    let mut token = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in inner.chars() {
        match c {
            ',' if !quoted => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            '"' if escaped => escaped = false,
            '"' => quoted = !quoted,
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(c);
    }
    if !token.trim().is_empty() {
        tokens.push(token);
    }
    tokens.iter().map(|t| parse_matcher(t)).collect()
}

/// Parses one matcher: a label name, an operator, and a value that may be double-quoted
/// (with `\"`, `\\` and `\n` escapes; a lone backslash stays literal).
pub fn parse_matcher(text: &str) -> Result<Matcher, String> {
    let s = text.trim();
    let name_end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(s.len());
    let name = &s[..name_end];
    let rest = s[name_end..].trim_start();
    let op = [
        ("=~", MatchOp::Regex),
        ("!~", MatchOp::NotRegex),
        ("!=", MatchOp::NotEqual),
        ("=", MatchOp::Equal),
    ]
    .into_iter()
    .find(|(t, _)| rest.starts_with(t));
    let (Some((op_text, op)), true) = (op, is_label_name(name)) else {
        return Err(format!("bad matcher format: {s}"));
    };
    let raw = rest[op_text.len()..].trim();
    let (body, mut expect_quote) = match raw.strip_prefix('"') {
        Some(b) => (b, true),
        None => (raw, false),
    };
    let mut value = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let last = i + c.len_utf8() == body.len();
        match c {
            '\\' if !last => {
                let (_, next) = chars.next().expect("not the last character");
                match next {
                    'n' => value.push('\n'),
                    '"' | '\\' => value.push(next),
                    other => {
                        value.push('\\');
                        value.push(other);
                    }
                }
            }
            '"' if expect_quote && last => expect_quote = false,
            '"' => {
                return Err(format!(
                    "matcher value contains unescaped double quote: {raw}"
                ));
            }
            c => value.push(c),
        }
    }
    if expect_quote {
        return Err(format!(
            "matcher value contains unescaped double quote: {raw}"
        ));
    }
    Matcher::new(name, op, &value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn regexes_are_anchored_and_missing_labels_are_empty() {
        let m = parse_matcher(r#"severity=~"warn""#).unwrap();
        assert!(!m.matches(&labels(&[("severity", "warning")])));
        let m = parse_matcher("team!~.+").unwrap();
        assert!(m.matches(&labels(&[])));
        assert!(!m.matches(&labels(&[("team", "db")])));
        let m = parse_matcher(r#"team="""#).unwrap();
        assert!(m.matches(&labels(&[])));
    }

    #[test]
    fn lists_split_outside_quotes_and_values_unescape() {
        let ms = parse_matchers(r#"{a="x,y", b != "q\"r" , c=~d|e}"#).unwrap();
        assert_eq!(ms.len(), 3);
        assert_eq!(ms[0].value, "x,y");
        assert_eq!(ms[1].op, MatchOp::NotEqual);
        assert_eq!(ms[1].value, "q\"r");
        assert!(ms[2].matches(&labels(&[("c", "e")])));
        assert!(parse_matcher(r#"a="b"c""#).is_err());
        assert!(parse_matcher("1a=b").is_err());
        assert!(parse_matcher("a=~(").is_err());
    }

    #[test]
    fn display_reads_back_to_the_same_matcher() {
        for m in [
            Matcher::equal("service", "a \"b\" \\ c\nd"),
            Matcher::any_of("severity", &["warning", "info.x"]),
        ] {
            let back = parse_matcher(&m.to_string()).unwrap();
            assert_eq!((back.name, back.op, back.value), (m.name, m.op, m.value));
        }
        let any = Matcher::any_of("severity", &["warning", "info.x"]);
        assert!(!any.matches(&labels(&[("severity", "infoxx")])));
        assert!(any.matches(&labels(&[("severity", "info.x")])));
    }
}
