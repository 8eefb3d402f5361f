//! The minijinja environment for annotation texts, with delimiters that leave Prometheus's
//! own `{{ $value }}` template text untouched.
//!
//! Our templates use `[[ var ]]`, `[% block %]` and `[# comment #]`. Strict undefined
//! behaviour makes a misspelt variable an error. Every interpolated string is escaped so
//! that text from the spec cannot open a Prometheus template action; values built by
//! poolwatch itself that must stay template text are passed as safe.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value;
use minijinja::{Environment, UndefinedBehavior};

/// The runbook's template, embedded at build time; the alerts' come with their signals.
const RUNBOOK: (&str, &str) = (
    "docs/runbook.md.j2",
    include_str!("../../templates/docs/runbook.md.j2"),
);

/// Name under which a spec's own template for an alert key is compiled.
pub(crate) fn override_template(key: &str) -> String {
    format!("wording/{key}.j2")
}

/// Escapes text so Prometheus's Go templates print it literally: `{{` becomes an action
/// that prints the two braces.
pub(crate) fn escape_prometheus_template(s: &str) -> String {
    if !s.contains("{{") {
        return s.to_string();
    }
    s.replace("{{", "{{ \"{{\" }}")
}

/// Builds the environment. Fails only if a built-in template does not compile, which the
/// test suite rules out.
pub(crate) fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_syntax(
        SyntaxConfig::builder()
            .block_delimiters("[%", "%]")
            .variable_delimiters("[[", "]]")
            .comment_delimiters("[#", "#]")
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()?,
    );
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_formatter(|out, _state, value| {
        let text = value.to_string();
        let text = if value.is_safe() {
            text
        } else {
            escape_prometheus_template(&text)
        };
        out.write_str(&text).map_err(|_| {
            minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "cannot write output")
        })
    });
    for def in crate::signals::ALL {
        env.add_template_owned(def.template_name(), def.template)?;
        env.add_template_owned(def.guide_name(), def.guide)?;
    }
    env.add_template(RUNBOOK.0, RUNBOOK.1)?;
    Ok(env)
}

/// Renders one block of a template.
pub(crate) fn render_block(
    env: &Environment<'static>,
    template: &str,
    block: &str,
    ctx: &Value,
) -> Result<String, minijinja::Error> {
    let [text] = render_blocks(env, template, [block], ctx)?;
    Ok(text)
}

/// Renders several blocks of a template with one context: the template is evaluated
/// once, not once per block.
pub(crate) fn render_blocks<const N: usize>(
    env: &Environment<'static>,
    template: &str,
    blocks: [&str; N],
    ctx: &Value,
) -> Result<[String; N], minijinja::Error> {
    let tmpl = env.get_template(template)?;
    let mut captured = tmpl.render_captured(ctx.clone())?;
    captured.with_state_mut(|state| {
        let mut texts = [const { String::new() }; N];
        for (text, block) in texts.iter_mut().zip(blocks) {
            *text = state.render_block(block)?;
        }
        Ok(texts)
    })
}

/// Marks poolwatch-built Prometheus template text as safe to pass through.
pub(crate) fn safe(s: String) -> Value {
    Value::from_safe_string(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_braces_in_user_text_are_escaped() {
        assert_eq!(escape_prometheus_template("a {{ b"), "a {{ \"{{\" }} b");
        assert_eq!(escape_prometheus_template("plain"), "plain");
    }

    #[test]
    fn every_template_compiles() {
        assert!(environment().is_ok());
    }
}
