#!/usr/bin/env bash
# `make bench`: every benchmark of the project, one after the other, then one table.
#
#   bash scripts/bench.sh            # all of them (tens of minutes: each builds its own large data set)
#   BENCH_ONLY="load scoring" bash scripts/bench.sh
#
# Each benchmark uses its own PostgreSQL database and Redis DB (see each script's header) and writes
# its full output to artifacts/bench/<name>.log; the table shows its status, wall time and headline
# figures (the lines each script prints with timings). Each figure line says what it
# reads (rollups or raw rows), its sizes, its run-to-run range and its ratio to a baseline
# measured in the same run (a raw COPY, a bare SQL aggregate, GET /healthz under the same
# load, the same page for a small organization).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
OUT=artifacts/bench
mkdir -p "$OUT"

PM_DB="${BENCH_POSTMORTEMS_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/dm_bench_postmortems}"
declare -A COMMANDS=(
  [slos]="python scripts/bench_slos.py"
  [delivery]="python scripts/bench_delivery.py"
  [scoring]="python scripts/bench_scoring.py"
  [notifications]="python scripts/bench_notifications.py"
  [postmortems]="env DJANGO_SETTINGS_MODULE=config.settings.test DATABASE_URL=$PM_DB REDIS_URL=redis://127.0.0.1:6379/12 bash -c 'python scripts/load/ensure_db.py && python manage.py migrate -v0 --noinput && python manage.py benchmark_postmortems'"
  [load]="bash scripts/load/run.sh"
  [home]="python scripts/bench_home.py"
  [gate]="python scripts/bench_gate.py"
  [assessments]="python scripts/bench_assessments.py"
  [scale]="python scripts/bench_scale.py"
)
ORDER=(slos delivery gate scoring home assessments notifications postmortems load scale)
ONLY="${BENCH_ONLY:-${ORDER[*]}}"

declare -A STATUS TIME
for name in "${ORDER[@]}"; do
  [[ " $ONLY " == *" $name "* ]] || continue
  echo "== bench: $name (${COMMANDS[$name]})"
  start=$(date +%s)
  if bash -c "${COMMANDS[$name]}" >"$OUT/$name.log" 2>&1; then STATUS[$name]=ok; else STATUS[$name]=FAILED; fi
  TIME[$name]=$(( $(date +%s) - start ))
  tail -n 3 "$OUT/$name.log" | sed 's/^/   /'
done

echo
printf '%-12s %-7s %8s  %s\n' benchmark status "wall(s)" "headline figures (full output: $OUT/<name>.log)"
printf '%-12s %-7s %8s  %s\n' ------------ ------- -------- ----------------------------------------------
failed=0
for name in "${ORDER[@]}"; do
  [[ -n "${STATUS[$name]:-}" ]] || continue
  [[ "${STATUS[$name]}" == ok ]] || failed=1
  # Headline: the lines under a "Summary" heading when the script prints one, else the lines
  # with a unit of time or rate (ms, s, /s, p50/p95/p99); at most eight, squeezed.
  if grep -q '^Summary' "$OUT/$name.log"; then
    mapfile -t lines < <(sed -n '/^Summary/,$p' "$OUT/$name.log" | tail -n +2 | grep -v '^[[:space:]]*$' | head -n 8 | sed -E 's/[[:space:]]+/ /g')
  else
    mapfile -t lines < <(grep -E '([0-9] ?ms\b|[0-9] ?s\b|/s\b|p9[59]|p50|LOAD )' "$OUT/$name.log" | grep -vE 'Traceback|WARNING' | tail -n 8 | sed -E 's/[[:space:]]+/ /g')
  fi
  first=1
  for line in "${lines[@]:-}"; do
    if (( first )); then printf '%-12s %-7s %8s  %s\n' "$name" "${STATUS[$name]}" "${TIME[$name]}" "$line"; first=0
    else printf '%-12s %-7s %8s  %s\n' "" "" "" "$line"; fi
  done
  (( first )) && printf '%-12s %-7s %8s  %s\n' "$name" "${STATUS[$name]}" "${TIME[$name]}" "(no figures printed)"
done
exit $failed
