#!/usr/bin/env bash
# Times `poolwatch emit` on a 1,000-pool fleet against `promtool check rules` on the rule
# file that emit wrote, and checks the issue-6 targets: >= 10x faster than promtool,
# linear growth (100 -> 1,000 pools costs <= 11x), peak RSS < 200 MB, K2 emit < 20 ms.
#
# Usage: scripts/bench-vs-promtool.sh [RUNS]   (default 7 runs; medians are reported)
# Needs: cargo, promtool (Debian: apt-get install prometheus), GNU time (apt-get install
# time). hyperfine is used when installed; otherwise a bash loop with `date +%s%N`.
# Exits 0 whatever the figures: it measures, it does not judge a noisy machine.
set -euo pipefail

RUNS="${1:-7}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/poolwatch-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

need() { command -v "$1" >/dev/null 2>&1 || { echo "error: $1 is not installed ($2)" >&2; exit 2; }; }
need cargo "install Rust"
need promtool "apt-get install -y prometheus"
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time missing (apt-get install -y time)" >&2; exit 2; }

echo "== building release binaries"
cargo build --release --quiet --bin poolwatch --example fleet
PW="$TARGET/release/poolwatch"
FLEET="$TARGET/release/examples/fleet"
"$FLEET" 100 >"$WORK/fleet100.yaml"
"$FLEET" 1000 >"$WORK/fleet1000.yaml"

# median_ms CMD...: runs CMD $RUNS times (after one warm-up), prints the median wall time
# in milliseconds with three decimals. With hyperfine, the mean CPU time of a run (user +
# system, all threads) goes to $WORK/cpu: on a shared machine it varies less than wall time.
median_ms() {
    echo "n/a" >"$WORK/cpu"
    if command -v hyperfine >/dev/null 2>&1; then
        local cmd
        cmd="$(printf '%q ' "$@")"
        hyperfine --style none --warmup 1 --runs "$RUNS" --export-csv "$WORK/h.csv" \
            "$cmd" >/dev/null 2>&1
        # CSV columns: command,mean,stddev,median,user,system,min,max (seconds); the
        # command may hold commas, so count from the end.
        awk -F, 'NR == 2 {printf "%.3f\n", $(NF-4) * 1000}' "$WORK/h.csv"
        awk -F, 'NR == 2 {printf "%.0f\n", ($(NF-3) + $(NF-2)) * 1000}' "$WORK/h.csv" >"$WORK/cpu"
        return
    fi
    "$@" >/dev/null 2>&1
    local times=() i t0 t1
    for ((i = 0; i < RUNS; i++)); do
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1
        t1=$(date +%s%N)
        times+=($(((t1 - t0) / 1000)))
    done
    printf '%s\n' "${times[@]}" | sort -n |
        awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.3f\n", m/1000}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $RUNS runs each, medians$(command -v hyperfine >/dev/null && echo ' (hyperfine)' || echo ' (bash loop)')"

"$PW" emit --spec "$WORK/fleet1000.yaml" --out "$WORK/out1000" >/dev/null 2>&1
RULES="$WORK/out1000/rules/connection_pool.yml"
NRULES=$(grep -cE '^  - (alert|record):' "$RULES")
promtool check rules "$RULES" >/dev/null

# Every timed emit writes into a fresh folder name, so each run writes both files.
EMIT1000=$(median_ms bash -c '"$1" emit --spec "$2" --out "$3/e$RANDOM$RANDOM"' _ "$PW" "$WORK/fleet1000.yaml" "$WORK")
EMIT1000_CPU=$(cat "$WORK/cpu")
EMIT100=$(median_ms bash -c '"$1" emit --spec "$2" --out "$3/e$RANDOM$RANDOM"' _ "$PW" "$WORK/fleet100.yaml" "$WORK")
CHECK1000=$(median_ms "$PW" check --spec "$WORK/fleet1000.yaml")
K2=$(median_ms bash -c '"$1" emit --out "$2/k2$RANDOM$RANDOM"' _ "$PW" "$WORK")
BASH0=$(median_ms bash -c 'true')
PROMTOOL=$(median_ms promtool check rules "$RULES")
PROMTOOL_CPU=$(cat "$WORK/cpu")

# Subtract the cost of the `bash -c` wrapper from the wrapped timings.
sub() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (a-b > 0) ? a-b : 0}'; }
EMIT1000=$(sub "$EMIT1000" "$BASH0")
EMIT100=$(sub "$EMIT100" "$BASH0")
K2=$(sub "$K2" "$BASH0")

RSS_KB=$(/usr/bin/time -f '%M' "$PW" emit --spec "$WORK/fleet1000.yaml" --out "$WORK/rss" 2>&1 >/dev/null | tail -1)
DASH_BYTES=$(wc -c <"$WORK/out1000/dashboards/connection_pool.json")
RULE_BYTES=$(wc -c <"$RULES")

SPEEDUP=$(ratio "$PROMTOOL" "$EMIT1000")
GROWTH=$(ratio "$EMIT1000" "$EMIT100")
# verdict A OP B: "met" when the comparison holds (OP is ge, le or lt).
verdict() {
    awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {
        ok = (op == "ge") ? (a + 0 >= b + 0) : (op == "le") ? (a + 0 <= b + 0) : (a + 0 < b + 0)
        print ok ? "met" : "NOT met"
    }'
}

echo
echo "1,000-pool fleet: $NRULES rules ($RULE_BYTES bytes), dashboard $DASH_BYTES bytes"
printf '%-46s %10s ms\n' "poolwatch emit, 1,000 pools (write + checks)" "$EMIT1000"
printf '%-46s %10s ms\n' "poolwatch check, 1,000 pools (no write)" "$CHECK1000"
printf '%-46s %10s ms\n' "promtool check rules, same rule file" "$PROMTOOL"
printf '%-46s %10s ms\n' "  CPU time (user + system), poolwatch emit" "$EMIT1000_CPU"
printf '%-46s %10s ms\n' "  CPU time (user + system), promtool" "$PROMTOOL_CPU"
printf '%-46s %10s ms\n' "poolwatch emit, 100 pools" "$EMIT100"
printf '%-46s %10s ms\n' "poolwatch emit, built-in K2 spec" "$K2"
printf '%-46s %10s MB\n' "peak RSS, emit 1,000 pools" "$(awk -v k="$RSS_KB" 'BEGIN {printf "%.1f", k/1024}')"
echo
echo "speed-up over promtool: ${SPEEDUP}x (target >= 10x: $(verdict "$SPEEDUP" ge 10))"
echo "growth 100 -> 1,000 pools: ${GROWTH}x (target <= 11x: $(verdict "$GROWTH" le 11))"
echo "peak RSS: $RSS_KB KB (target < 200 MB: $(verdict "$RSS_KB" lt 204800))"
echo "K2 emit: $K2 ms (target < 20 ms: $(verdict "$K2" lt 20))"
