//! The shapes of names a spec may use: metric and label names, slugs, DNS and Kubernetes
//! label keys and values, Grafana colors.

/// Whether `s` is a valid Prometheus metric name.
pub(crate) fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Whether `s` can be a metric or label name in Prometheus 3, written quoted where it is
/// outside the classic set: any UTF-8 text but empty, reserved (`__`), control characters
/// (invisible in review), U+FFFD (read back as a decoding error) or white space (which
/// Prometheus 3 takes, but no exporter writes: in a spec it is a typo).
pub(crate) fn is_utf8_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with("__")
        && !s
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\u{FFFD}')
}

/// Whether `s` is a valid Prometheus label name (and not a reserved `__` name).
pub(crate) fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with("__")
}

/// Whether `s` is a name poolwatch can use in uids and as a label value: lower-case
/// letters, digits, `_` and `-`, starting with a letter.
pub(crate) fn is_slug(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && s.len() <= 63
}

/// A DNS-1123 label: what Kubernetes accepts as a namespace or object name.
pub(crate) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A Kubernetes label key: an optional DNS prefix and `/`, then a name of at most 63
/// characters of letters, digits, `-`, `_` and `.`, starting and ending alphanumeric.
pub(crate) fn is_k8s_label_key(s: &str) -> bool {
    let name = s.rsplit_once('/').map_or(s, |(prefix, name)| {
        if prefix.is_empty() || prefix.len() > 253 {
            ""
        } else {
            name
        }
    });
    !name.is_empty() && is_k8s_label_value(name)
}

/// A Kubernetes label value: empty, or at most 63 characters of letters, digits, `-`, `_`
/// and `.`, starting and ending alphanumeric.
pub(crate) fn is_k8s_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// Grafana's named colours (with the `dark-`, `semi-dark-`, `light-`, `super-light-` shades)
/// or a `#rrggbb` hex colour.
pub(crate) fn is_color(s: &str) -> bool {
    const BASE: [&str; 7] = ["green", "red", "yellow", "orange", "blue", "purple", "text"];
    if let Some(hex) = s.strip_prefix('#') {
        return (hex.len() == 6 || hex.len() == 3) && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    if s == "transparent" {
        return true;
    }
    let base = ["dark-", "semi-dark-", "light-", "super-light-"]
        .iter()
        .find_map(|p| s.strip_prefix(p))
        .unwrap_or(s);
    BASE.contains(&base)
}
