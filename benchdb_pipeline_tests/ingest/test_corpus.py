"""Every file the old system wrote (../shared/corpus/original-system) ingests to the right rows."""

from __future__ import annotations

from datetime import datetime

import pytest

from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline_tests.conftest import query, scalar

# file name prefix → (format, status, rows per table)
EXPECTED = {
    "01_": ("performance_rows", "ingested", {"performance_results": 3}),
    "02_": ("performance_rows", "ingested", {"performance_results": 3}),
    "03_": ("direct_benchmark", "ingested", {"performance_results": 2, "performance_samples": 10}),
    "04_": ("web_platform_result", "ingested", {"web_platform_results": 1}),
    "05_": ("skill_test_results", "ingested", {"performance_results": 5, "hardware_compatibility": 3}),
    "06_": ("hardware_compatibility_matrix", "ingested", {"hardware_compatibility": 19}),
    "07_": ("critical_model_tests", "ingested", {"integration_test_results": 3}),
    "08_": ("benchmark_summary", "empty", {}),
    "11_": ("run_model_benchmarks", "ingested", {"performance_results": 2, "performance_samples": 40}),
}
PER_FILE = """
    SELECT regexp_extract(f.path, '/(\\d\\d_)[^/]*$', 1) AS prefix, f.format, f.status,
           (SELECT count(*) FROM performance_results p WHERE p.source_file_id = f.file_id),
           (SELECT count(*) FROM performance_samples s JOIN performance_results p USING (result_id)
             WHERE p.source_file_id = f.file_id),
           (SELECT count(*) FROM hardware_compatibility c WHERE c.source_file_id = f.file_id),
           (SELECT count(*) FROM integration_test_results t WHERE t.source_file_id = f.file_id),
           (SELECT count(*) FROM web_platform_results w WHERE w.source_file_id = f.file_id)
    FROM source_files f ORDER BY prefix
"""
TABLES = (
    "performance_results",
    "performance_samples",
    "hardware_compatibility",
    "integration_test_results",
    "web_platform_results",
)


@pytest.fixture
def corpus_db(corpus, db):
    report = ingest(db, [corpus], workers=1)
    assert report.quarantined == [], [o.error for o in report.quarantined]
    return db


def test_every_corpus_file_produces_its_rows(corpus_db, corpus):
    assert len(list(corpus.glob("*.json"))) == len(EXPECTED)
    for prefix, fmt, status, *counts in query(corpus_db, PER_FILE):
        want_fmt, want_status, want_rows = EXPECTED[prefix]
        assert (fmt, status) == (want_fmt, want_status), prefix
        assert dict(zip(TABLES, counts, strict=True)) == {t: want_rows.get(t, 0) for t in TABLES}, prefix


def test_corpus_values(corpus_db):
    db = corpus_db
    # starschema rows: device names in the vendor's spelling ("NVIDIA RTX 3090" gains GeForce),
    # no timestamp in the file → measured_at NULL
    assert query(
        db,
        """SELECT h.device_name, p.batch_size, p.precision, p.average_latency_ms,
                               p.throughput_items_per_second, p.memory_peak_mb, p.measured_at
                        FROM performance_results p JOIN hardware_platforms h USING (hardware_id)
                        WHERE h.hardware_type = 'cuda' AND p.batch_size = 32""",
    ) == [("NVIDIA GeForce RTX 3090", 32, "fp16", 1.18, 846.1, 5120.8, None)]
    # run_model_benchmarks: seconds → ms, sequence length from the config key
    assert query(
        db,
        """SELECT round(average_latency_ms, 2), sequence_length, iterations
                        FROM performance_results WHERE sequence_length IS NOT NULL
                        ORDER BY 1""",
    ) == [(53.66, 32, 20), (142.86, 128, 20)]
    # direct benchmark timestamps per batch
    assert query(
        db,
        """SELECT batch_size, measured_at FROM performance_results p
                        JOIN models m USING (model_id) WHERE m.model_name = 'prajjwal1/bert-tiny'
                        ORDER BY 1""",
    ) == [(1, datetime(2025, 3, 6, 17, 45, 26, 506441)), (2, datetime(2025, 3, 6, 17, 45, 26, 561616))]
    # the compact matrix timestamp 20250302_201142 on family-level rows
    assert (
        scalar(
            db,
            """SELECT count(*) FROM hardware_compatibility
                         WHERE model_id IS NULL AND measured_at = TIMESTAMP '2025-03-02 20:11:42'""",
        )
        == 13
    )
    # the web result says it was simulated, and its run is flagged
    assert query(db, "SELECT test_type, is_simulated FROM test_runs WHERE is_simulated") == [
        ("web_platform", True)
    ]
    # critical tests: the error is the traceback's last line
    assert (
        scalar(db, "SELECT DISTINCT error_message FROM integration_test_results")
        == "SyntaxError: unterminated string literal (detected at line 811)"
    )


def test_corpus_ingests_once(corpus_db, corpus):
    again = ingest(corpus_db, [corpus], workers=1)
    assert again.count("known") == len(EXPECTED) and again.load.files_loaded == 0
