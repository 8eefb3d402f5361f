#!/usr/bin/env bash
# Linting a rule repository: `poolwatch check --rules DIR` (no spec, one invocation)
# against `promtool check rules FILE...` on the same files, measured in one run, with
# ratios; then poolwatch alone at 1/4, 1/2, 1, 2 and 4 times the size, to show time grows
# linearly with the number of rules.
#
# Usage: scripts/bench-lint-vs-promtool.sh [RULES]   (default 3400 rules, 4 per file)
# Env: POOLWATCH (binary; default target/release/poolwatch, built), PROMTOOL (default
# promtool on PATH), RUNS (best of, default 5), CORPUS (optional: a folder of real rule
# files promtool reads, e.g. /work/corpus/rules/awesome, timed the same way).
#
# On a machine shared with other work, run the whole script at real-time priority
# (`chrt -f 50 scripts/bench-lint-vs-promtool.sh`, as root): both programs then run
# without being preempted, and the load printed first says how busy the machine was.
#
# The synthetic repository: one file per service, each a group with two recording rules
# (a rate and a p99 from histogram buckets) and two alerts (an error ratio with
# humanizePercentage, a latency threshold on the recorded p99), and every tenth file
# one misspelt metric. poolwatch also gets a saved /api/v1/metadata with every metric,
# so types are exact and each misspelling is looked up for "did you mean": the lookup
# that was quadratic.
set -euo pipefail
rules=${1:-3400}
runs=${RUNS:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${POOLWATCH:-}" ]; then
  (cd "$root" && cargo build --release --quiet --bin poolwatch)
  POOLWATCH=$root/target/release/poolwatch
fi
PROMTOOL=${PROMTOOL:-$(command -v promtool || true)}
[ -x "$PROMTOOL" ] || { echo "promtool not found (set PROMTOOL)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# make_repo DIR RULES: writes RULES/4 rule files and DIR.metadata.json.
make_repo() {
  local dir=$1 files=$(( $2 / 4 ))
  mkdir -p "$dir"
  awk -v n="$files" -v dir="$dir" 'BEGIN {
    meta = "{\"status\":\"success\",\"data\":{"
    for (i = 0; i < n; i++) {
      s = sprintf("svc%05d", i)
      f = sprintf("%s/%s.yml", dir, s)
      req = (i % 10 == 9) ? s "_request_total" : s "_requests_total"
      print "groups:" > f
      print "  - name: " s > f
      print "    rules:" > f
      print "      - record: job:" s "_requests:rate5m" > f
      print "        expr: sum by (job) (rate(" req "[5m]))" > f
      print "      - record: job:" s "_request_duration_seconds:p99" > f
      print "        expr: histogram_quantile(0.99, sum by (job, le) (rate(" s "_request_duration_seconds_bucket[5m])))" > f
      print "      - alert: " s "HighErrorRate" > f
      print "        expr: sum by (job) (rate(" s "_errors_total[5m])) / sum by (job) (rate(" s "_requests_total[5m])) > 0.05" > f
      print "        for: 5m" > f
      print "        labels: {severity: warning}" > f
      print "        annotations:" > f
      print "          summary: \"" s " fails requests\"" > f
      print "          description: \"{{ $labels.job }} fails {{ $value | humanizePercentage }} of requests\"" > f
      print "      - alert: " s "SlowRequests" > f
      print "        expr: job:" s "_request_duration_seconds:p99 > 2" > f
      print "        for: 10m" > f
      print "        labels: {severity: warning}" > f
      print "        annotations:" > f
      print "          summary: \"" s " is slow\"" > f
      print "          description: \"p99 of {{ $labels.job }} at {{ $value | humanizeDuration }}\"" > f
      close(f)
      meta = meta (i ? "," : "") "\"" s "_requests_total\":[{\"type\":\"counter\",\"help\":\"\",\"unit\":\"\"}]"
      meta = meta ",\"" s "_errors_total\":[{\"type\":\"counter\",\"help\":\"\",\"unit\":\"\"}]"
      meta = meta ",\"" s "_request_duration_seconds\":[{\"type\":\"histogram\",\"help\":\"\",\"unit\":\"seconds\"}]"
    }
    print meta "}}" > (dir ".metadata.json")
  }'
}

# "WALL CPU": the best wall-clock and the best CPU (user + sys, all threads) seconds of
# RUNS runs. CPU time is what a busy machine cannot inflate; wall time is what a user waits.
best() {
  local bw="" bc="" out w c
  for _ in $(seq "$runs"); do
    out=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1 | tail -1 ) || true
    w=$(echo "$out" | awk '{print $1}')
    c=$(echo "$out" | awk '{print $2 + $3}')
    if [ -z "$bw" ] || [ "$(echo "$w < $bw" | bc -l)" = 1 ]; then bw=$w; fi
    if [ -z "$bc" ] || [ "$(echo "$c < $bc" | bc -l)" = 1 ]; then bc=$c; fi
  done
  echo "$bw $bc"
}
w() { echo "$1" | awk '{print $1}'; }
c() { echo "$1" | awk '{print $2}'; }

lint() { "$POOLWATCH" check --rules "$1" --metadata "$1.metadata.json" --fail-on never; }
promtool_all() { "$PROMTOOL" check rules "$1"/*.yml; }

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(uptime | sed 's/.*load average/load average/'), $(nproc) cores"
make_repo "$work/repo" "$rules"
files=$(ls "$work/repo" | wc -l)
"$POOLWATCH" check --rules "$work/repo" --metadata "$work/repo.metadata.json" --fail-on never 2>&1 | tail -1
p=$(best lint "$work/repo")
t=$(best promtool_all "$work/repo")
echo "== $rules rules in $files files (best of $runs)            wall s    CPU s"
printf 'poolwatch check --rules DIR --metadata M   %8.3f %8.3f\n' "$(w "$p")" "$(c "$p")"
printf 'promtool check rules FILE...               %8.3f %8.3f\n' "$(w "$t")" "$(c "$t")"
printf 'promtool / poolwatch                       %7.1fx %7.1fx\n' \
  "$(echo "$(w "$t") / $(w "$p")" | bc -l)" "$(echo "$(c "$t") / $(c "$p")" | bc -l)"

if [ -n "${CORPUS:-}" ] && [ -d "$CORPUS" ]; then
  mapfile -t cf < <(find "$CORPUS" -type f \( -name '*.yml' -o -name '*.yaml' \) | sort)
  cp_=$(best "$POOLWATCH" check --rules "$CORPUS" --fail-on never)
  ct=$(best "$PROMTOOL" check rules "${cf[@]}")
  echo "== corpus $CORPUS: ${#cf[@]} files (wall s, CPU s)"
  printf 'poolwatch %6.3f %6.3f   promtool %6.3f %6.3f   promtool / poolwatch %5.1fx wall %5.1fx CPU\n' \
    "$(w "$cp_")" "$(c "$cp_")" "$(w "$ct")" "$(c "$ct")" \
    "$(echo "$(w "$ct") / $(w "$cp_")" | bc -l)" "$(echo "$(c "$ct") / $(c "$cp_")" | bc -l)"
fi

echo "== growth (poolwatch alone, best of $runs)"
base=""
for f in 0.25 0.5 1 2 4; do
  n=$(printf '%.0f' "$(echo "$rules * $f" | bc -l)")
  make_repo "$work/g$n" "$n"
  s=$(best lint "$work/g$n")
  [ -z "$base" ] && base=$s && base_n=$n
  printf '%6d rules  wall %7.3f s  CPU %7.3f s   CPU x%5.2f for rules x%5.2f\n' "$n" "$(w "$s")" "$(c "$s")" \
    "$(echo "$(c "$s") / $(c "$base")" | bc -l)" "$(echo "$n / $base_n" | bc -l)"
done
