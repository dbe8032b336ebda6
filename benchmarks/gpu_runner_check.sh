#!/usr/bin/env bash
# The runner on a CUDA GPU: bert-base-uncased at batch 1–32 in fp32, fp16 and bf16, stored
# in a fresh warehouse. Meant for a lent GPU machine (the device tool), where python3 has
# PyTorch and transformers; duckdb and orjson travel as wheels in .whl/ when missing.
# Writes the result file, the warehouse and a report under $OUT (default /tmp/gpu_check).
set -euo pipefail
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
benchdb() { python3 -m benchdb_pipeline.cli "$@"; }

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
rc=0
benchdb run --models bert-base-uncased --hardware cuda --batch-sizes 1,2,4,8,16,32 \
    --precision fp32,fp16,bf16 --iterations 50 --warmup 10 --sequence-length 128 \
    --output-dir "$OUT" --db "$OUT/gpu.duckdb" -q || rc=$?
echo "benchdb run exit status: $rc"
python3 - "$OUT/gpu.duckdb" <<'PY' | tee "$OUT/figures.txt"
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.sql("""
    SELECT h.device_name, r.precision, r.batch_size, r.iterations,
           round(r.latency_p50_ms, 3) AS p50_ms, round(r.latency_p99_ms, 3) AS p99_ms,
           round(r.throughput_items_per_second, 1) AS items_per_s, round(r.memory_peak_mb, 1) AS peak_mb
    FROM performance_results r JOIN hardware_platforms h USING (hardware_id)
    ORDER BY r.precision, r.batch_size""").fetchdf().to_string(index=False))
print(con.sql("SELECT count(*) AS samples FROM performance_samples").fetchone())
PY
exit $rc
