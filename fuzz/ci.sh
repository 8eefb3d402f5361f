#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZ_SECONDS each, default 60), seeded from
# committed files only: the specs, the lint fixtures, generated/ and the regressions the
# fuzzer found before (tests/fuzz_regressions/). A crash, timeout or out-of-memory fails.
# Called by .ci/run; needs cargo-fuzz (`cargo install --locked cargo-fuzz`).
set -euo pipefail
cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-60}"
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
mkdir -p "$seeds"/{load_check_render,lint_rules,lint_dashboards,manifest}
cp ../specs/*.yaml ../tests/specs/*.yaml ../tests/bad_specs/*.yaml "$seeds/load_check_render/"
i=0
while IFS= read -r f; do cp "$f" "$seeds/lint_rules/$((i += 1)).yml"; done < <(
  find ../tests/lint ../generated ../tests/fuzz_regressions/lint_rules -type f \( -name '*.yml' -o -name '*.yaml' \))
while IFS= read -r f; do cp "$f" "$seeds/lint_dashboards/$((i += 1)).json"; done < <(
  find ../tests/lint ../generated ../tests/fuzz_regressions/lint_dashboards -type f -name '*.json')
cp ../generated/.poolwatch-manifest "$seeds/manifest/generated"
cp ../tests/fuzz_regressions/manifest/* "$seeds/manifest/" 2>/dev/null || true
export RUSTC_BOOTSTRAP=1
cargo fuzz build -s none
log="$seeds/log"
for target in load_check_render lint_rules lint_dashboards manifest; do
  echo "--- fuzz $target (${seconds} s, $(ls "$seeds/$target" | wc -l) seeds)"
  if ! cargo fuzz run -s none "$target" "$seeds/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=262144 \
    -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz $target failed: the input is in fuzz/artifacts/$target/"
    exit 1
  fi
  grep -E '^stat::number_of_executed_units|^#[0-9]+ +DONE' "$log"
done
