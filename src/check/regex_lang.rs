//! What a PromQL regex matcher can match, where that can be said exactly: a finite set of
//! strings (`a|b`, `(?i)ok`, `5[02]3`), or strings that start with one of a finite set of
//! prefixes (`api-.*`, `(eu|us)-.+`). Prometheus anchors every regex at both ends, so
//! these are the whole values matched. Anything else is "may match anything".

use regex_syntax::hir::{Class, Hir, HirKind};

/// At most this many strings or prefixes are enumerated; beyond, nothing is said.
const LIMIT: usize = 64;

/// One alternative of what a regex matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Alt {
    /// Exactly this string.
    Exact(String),
    /// Any string starting with this one (possibly only some of them).
    Prefix(String),
}

impl Alt {
    fn text(&self) -> &str {
        match self {
            Alt::Exact(s) | Alt::Prefix(s) => s,
        }
    }
}

/// The finite set of strings `h` matches, if it is finite and small.
fn finite(h: &Hir) -> Option<Vec<String>> {
    match h.kind() {
        HirKind::Empty => Some(vec![String::new()]),
        HirKind::Literal(l) => Some(vec![String::from_utf8(l.0.to_vec()).ok()?]),
        HirKind::Class(Class::Unicode(c)) => {
            let mut out = Vec::new();
            for r in c.iter() {
                for ch in r.start()..=r.end() {
                    out.push(ch.to_string());
                    if out.len() > LIMIT {
                        return None;
                    }
                }
            }
            Some(out)
        }
        HirKind::Capture(c) => finite(&c.sub),
        HirKind::Alternation(subs) => {
            let mut out = Vec::new();
            for s in subs {
                out.extend(finite(s)?);
            }
            (out.len() <= LIMIT).then_some(out)
        }
        HirKind::Concat(subs) => subs
            .iter()
            .try_fold(vec![String::new()], |acc, s| product(&acc, &finite(s)?)),
        HirKind::Repetition(r) if r.min == 0 && r.max == Some(1) => {
            let mut out = vec![String::new()];
            out.extend(finite(&r.sub)?);
            Some(out)
        }
        _ => None,
    }
}

fn product(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() * b.len() > LIMIT {
        return None;
    }
    Some(
        a.iter()
            .flat_map(|x| b.iter().map(move |y| format!("{x}{y}")))
            .collect(),
    )
}

/// What `h` matches, as exact strings and prefixes; `Prefix("")` when nothing is known.
fn alts(h: &Hir) -> Vec<Alt> {
    if let Some(set) = finite(h) {
        return set.into_iter().map(Alt::Exact).collect();
    }
    let anything = vec![Alt::Prefix(String::new())];
    match h.kind() {
        HirKind::Capture(c) => alts(&c.sub),
        HirKind::Alternation(subs) => {
            let out: Vec<Alt> = subs.iter().flat_map(alts).collect();
            if out.len() > LIMIT { anything } else { out }
        }
        HirKind::Concat(subs) => {
            // The finite parts in front make the prefixes; what follows them may be anything.
            let mut heads = vec![String::new()];
            for s in subs {
                match finite(s).and_then(|f| product(&heads, &f)) {
                    Some(next) => heads = next,
                    None => {
                        let tails = alts(s);
                        if heads.len() * tails.len() > LIMIT {
                            return anything;
                        }
                        return heads
                            .iter()
                            .flat_map(|h| {
                                tails
                                    .iter()
                                    .map(move |t| Alt::Prefix(format!("{h}{}", t.text())))
                            })
                            .collect();
                    }
                }
            }
            heads.into_iter().map(Alt::Exact).collect()
        }
        _ => anything,
    }
}

/// What the regex `pattern` (as Prometheus reads it: anchored) matches; `None` when it
/// does not parse.
pub(crate) fn language(pattern: &str) -> Option<Vec<Alt>> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    Some(alts(&hir))
}

/// True when two alternatives may share a value (prefixes that nest may).
fn overlap(a: &Alt, b: &Alt) -> bool {
    match (a, b) {
        (Alt::Exact(x), Alt::Exact(y)) => x == y,
        (Alt::Exact(x), Alt::Prefix(p)) | (Alt::Prefix(p), Alt::Exact(x)) => {
            x.starts_with(p.as_str())
        }
        (Alt::Prefix(p), Alt::Prefix(q)) => p.starts_with(q.as_str()) || q.starts_with(p.as_str()),
    }
}

/// True when no value can match both languages.
pub(crate) fn disjoint(a: &[Alt], b: &[Alt]) -> bool {
    !a.iter().any(|x| b.iter().any(|y| overlap(x, y)))
}

/// The strings of a language that is finite.
pub(crate) fn strings(a: &[Alt]) -> Option<Vec<&str>> {
    a.iter()
        .map(|x| match x {
            Alt::Exact(s) => Some(s.as_str()),
            Alt::Prefix(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dis(a: &str, b: &str) -> bool {
        disjoint(&language(a).unwrap(), &language(b).unwrap())
    }

    #[test]
    fn languages_are_said_only_where_exact() {
        assert_eq!(
            language("a|bc").unwrap(),
            vec![Alt::Exact("a".into()), Alt::Exact("bc".into())]
        );
        // `(?i)k` is also the Kelvin sign: [oO] x [kK\u{212A}].
        assert_eq!(language("(?i)ok").unwrap().len(), 6);
        assert_eq!(
            language("api-.*").unwrap(),
            vec![Alt::Prefix("api-".into())]
        );
        assert_eq!(
            language(".*-api").unwrap(),
            vec![Alt::Prefix(String::new())]
        );
        assert!(dis("a.*", "b.*"));
        assert!(dis("(eu|us)-.+", "ap-.*"));
        assert!(dis("foo|bar", "baz.*"));
        assert!(!dis("a.*", "ab.*"));
        assert!(!dis("a.*", ".*b"));
        assert!(!dis("foo|bar", "ba.*"));
        assert!(!dis("[a-z]+", "b.*"));
        assert!(!dis("prod.*", "(?i)PROD.*"));
    }
}
