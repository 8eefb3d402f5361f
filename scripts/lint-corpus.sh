#!/usr/bin/env bash
# Runs `poolwatch check` with no spec on every rule file and dashboard of a corpus of
# public monitoring repositories, one file per invocation (as a new user would), and
# prints: files read, exit codes, and findings per check and level.
#
# Usage: scripts/lint-corpus.sh [CORPUS]   (or POOLWATCH_RULE_CORPUS=CORPUS)
#   CORPUS/rules/**.{yml,yaml}   rule files (plain, PrometheusRule, Mimir namespace)
#   CORPUS/dash/**.json          Grafana dashboards
# POOLWATCH=path/to/poolwatch picks the binary (default: target/release/poolwatch, built).
# The corpus is third-party text: keep it outside the repository, never commit it.
set -euo pipefail
corpus=${1:-${POOLWATCH_RULE_CORPUS:-}}
[ -n "$corpus" ] && [ -d "$corpus" ] || { echo "usage: $0 CORPUS (folder with rules/ and dash/)" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${POOLWATCH:-}" ]; then
  (cd "$root" && cargo build --release --quiet --bin poolwatch)
  POOLWATCH=$root/target/release/poolwatch
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run() { # kind flag file
  local f=$3 code
  set +e
  "$POOLWATCH" check "$2" "$f" --format json >"$out/one.json" 2>"$out/one.err"
  code=$?
  set -e
  echo "$1 $code $f" >>"$out/codes"
  # One line per finding: kind level code (the JSON report's diagnostics).
  jq -r --arg k "$1" '.diagnostics[]? | select(.suppressed == null) | "\($k) \(.severity) \(.code)"' \
    "$out/one.json" 2>/dev/null >>"$out/findings" || true
}
: >"$out/codes"; : >"$out/findings"
while IFS= read -r -d '' f; do run rules --rules "$f"; done < <(find "$corpus/rules" -type f \( -name '*.yml' -o -name '*.yaml' \) -print0 2>/dev/null | sort -z)
while IFS= read -r -d '' f; do run dash --dashboards "$f"; done < <(find "$corpus/dash" -type f -name '*.json' -print0 2>/dev/null | sort -z)
for k in rules dash; do
  n=$(grep -c "^$k " "$out/codes" || true)
  echo "== $k: $n files; exit codes: $(awk -v k=$k '$1==k{c[$2]++} END{for(x in c) printf "%s:%d ", x, c[x]}' "$out/codes")"
  echo "   findings by level and check:"
  awk -v k=$k '$1==k{c[$2" "$3]++} END{for(x in c) printf "     %-8s %-6s %d\n", substr(x,1,index(x," ")-1), substr(x,index(x," ")+1), c[x]}' "$out/findings" | sort
  echo "   files exiting 2:"
  awk -v k=$k '$1==k && $2==2 {print "     " $3}' "$out/codes" | head -${SHOW:-10}
done
