//! Walking parsed PromQL in tests: one visitor for every test that reads names or matchers
//! out of generated expressions.

use promql_parser::parser::Expr;

/// Calls `f` on every node, parents first; a range selector's vector selector is visited
/// as a node of its own.
pub fn visit(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match e {
        Expr::Aggregate(a) => {
            visit(&a.expr, f);
            if let Some(p) = &a.param {
                visit(p, f);
            }
        }
        Expr::Unary(u) => visit(&u.expr, f),
        Expr::Binary(b) => {
            visit(&b.lhs, f);
            visit(&b.rhs, f);
        }
        Expr::Paren(p) => visit(&p.expr, f),
        Expr::Subquery(s) => visit(&s.expr, f),
        Expr::MatrixSelector(m) => f(&Expr::VectorSelector(m.vs.clone())),
        Expr::Call(c) => c.args.args.iter().for_each(|a| visit(a, f)),
        _ => {}
    }
}

/// Every expression of generated artifacts: each rule's, then each panel target's with
/// Grafana's variables replaced so it parses.
pub fn all_exprs(a: &poolwatch::render::Artifacts) -> Vec<String> {
    let mut exprs: Vec<String> = a
        .rules
        .groups
        .iter()
        .flat_map(|gr| gr.rules.iter().map(|r| r.expr.clone()))
        .collect();
    exprs.extend(
        poolwatch::render::grafana::all_panels(&a.dashboard)
            .iter()
            .flat_map(|p| p.targets.iter())
            .map(|t| poolwatch::check::grafana_vars::substitute(&t.expr)),
    );
    exprs
}

/// The recorded names an expression reads, directly or through other recordings
/// (`records`: each recorded name's expression).
pub fn recordings_read(
    expr: &str,
    records: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut todo = vec![expr.to_string()];
    while let Some(expr) = todo.pop() {
        for token in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')) {
            if let Some(e) = records.get(token)
                && out.insert(token.to_string())
            {
                todo.push(e.clone());
            }
        }
    }
    out
}
