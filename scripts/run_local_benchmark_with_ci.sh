#!/usr/bin/env bash
# The local twin of .github/workflows/benchmark_db_ci.yml: the same stages, on this machine.
#
#   scripts/run_local_benchmark_with_ci.sh [WORK_DIR]      (default: data/local_ci)
#
# Stages: set-up -> three "matrix jobs", each leaving its artifacts in its own folder, the
# way CI downloads them (result files; a per-job warehouse; a Parquet export) -> consolidate
# with `dagster job execute -j ci_consolidate_job` -> regression gate against the previous
# consolidated warehouse (every run of this build) -> HTML and Markdown reports -> the consolidated warehouse archived
# with a timestamp. The jobs use the bundled sample data (simulated, and flagged so), unless
# BENCHDB_LOCAL_RUN=1, which adds a real `benchdb run` job on this CPU.
#
# Exit status: 0 ok, 1 the regression gate failed, 2 a stage failed.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${BENCHDB_BIN:-$ROOT/.venv/bin}"
WORK="$(mkdir -p "${1:-$ROOT/data/local_ci}" && cd "${1:-$ROOT/data/local_ci}" && pwd)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RUN="$WORK/runs/$STAMP"
ARTIFACTS="$RUN/artifacts"
CONSOLIDATED="$RUN/consolidated.duckdb"
REPORTS="$RUN/reports"
ARCHIVE="$WORK/archive"
export DAGSTER_HOME="$RUN/dagster_home"

stage() { printf '\n== %s\n' "$*"; }
fail() { echo "error: $*" >&2; exit 2; }
trap 'echo "error: stage failed at line $LINENO" >&2; exit 2' ERR

stage "set-up: $RUN"
[ -x "$BIN/benchdb" ] || fail "no benchdb in $BIN (run make install, or set BENCHDB_BIN)"
mkdir -p "$ARTIFACTS" "$REPORTS" "$ARCHIVE" "$DAGSTER_HOME"
previous="$(find "$ARCHIVE" -maxdepth 1 -name 'benchmarks-*.duckdb' | sort | tail -n 1)"
"$BIN/benchdb" samples --output-dir "$RUN/samples" >/dev/null

stage "job cpu-results: result files"
mkdir -p "$ARTIFACTS/cpu-results"
cp -r "$RUN/samples/nightly" "$RUN/samples/performance_rows" "$RUN/samples/direct_benchmark" \
      "$RUN/samples/harnesses" "$ARTIFACTS/cpu-results/"

stage "job cpu-warehouse: a per-job warehouse"
mkdir -p "$ARTIFACTS/cpu-warehouse"
"$BIN/benchdb" ingest -q --db "$ARTIFACTS/cpu-warehouse/job.duckdb" \
    "$RUN/samples/model_benchmarks" "$RUN/samples/web_platform"

stage "job cuda-export: a Parquet export"
"$BIN/benchdb" ingest -q --db "$RUN/cuda-job.duckdb" \
    "$RUN/samples/compatibility" "$RUN/samples/critical_tests" "$RUN/samples/skill_tests"
"$BIN/benchdb" export --db "$RUN/cuda-job.duckdb" --parquet-dir "$ARTIFACTS/cuda-export/export" \
    --partition-by hardware_id >/dev/null

if [ "${BENCHDB_LOCAL_RUN:-0}" = 1 ]; then
    stage "job cpu-run: benchdb run"
    "$BIN/benchdb" run -q --models bert-tiny --hardware cpu --batch-sizes 1,2 --iterations 5 \
        --output-dir "$ARTIFACTS/cpu-run" || [ $? -eq 1 ]
fi

commit="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo local)"
branch="$(git -C "$ROOT" rev-parse --abbrev-ref HEAD 2>/dev/null || echo local)"
cat > "$ARTIFACTS/ci_metadata.json" <<EOF
{"workflow_id": "local", "workflow_name": "benchmark_db_ci (local)", "run_id": "local-$STAMP",
 "ref": "refs/heads/$branch", "repository": "$(basename "$ROOT")", "actor": "${USER:-local}",
 "trigger": "manual", "sha": "$commit", "platform": "local"}
EOF

stage "consolidate: dagster job execute -j ci_consolidate_job"
cat > "$RUN/consolidate.yaml" <<EOF
ops:
  consolidate_artifacts:
    config:
      artifacts_dir: "$ARTIFACTS"
EOF
BENCHDB_DB="$CONSOLIDATED" "$BIN/dagster" job execute -m benchdb_pipeline.definitions \
    -j ci_consolidate_job -c "$RUN/consolidate.yaml" > "$RUN/consolidate.log" 2>&1 \
    || { tail -n 40 "$RUN/consolidate.log" >&2; fail "consolidation failed"; }
"$BIN/benchdb" status --db "$CONSOLIDATED"

stage "regression gate"
gate=0
if [ -n "$previous" ]; then
    "$BIN/benchdb" regression-check --db "$CONSOLIDATED" --build "local-$STAMP" \
        --reference-db "$previous" --format markdown --output "$REPORTS/regressions.md" || gate=$?
    [ "$gate" -le 1 ] || fail "the regression check could not run"
    cat "$REPORTS/regressions.md"
else
    echo "no previous consolidated warehouse in $ARCHIVE: nothing to compare against yet" \
        | tee "$REPORTS/regressions.md"
fi

stage "reports"
"$BIN/benchdb" query --db "$CONSOLIDATED" --report summary --format html \
    --output "$REPORTS/benchmark_report.html"
"$BIN/benchdb" query --db "$CONSOLIDATED" --report summary --format markdown \
    --output "$REPORTS/benchmark_summary.md"
echo "reports in $REPORTS"

stage "archive"
cp "$CONSOLIDATED" "$ARCHIVE/benchmarks-$STAMP.duckdb"
echo "archived $ARCHIVE/benchmarks-$STAMP.duckdb"

if [ "$gate" -eq 1 ]; then
    echo "regression gate: FAILED (see $REPORTS/regressions.md)" >&2
    exit 1
fi
echo "regression gate: passed"
