"""Shapes the old converter read that the corpus does not show, as its code wrote them:
performance documents with parent-level fallbacks, four compatibility layouts, and hardware
detection documents."""

from __future__ import annotations

import json
from pathlib import Path

from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline_tests.conftest import query, scalar


def _write(folder: Path, name: str, doc: object) -> Path:
    path = folder / name
    path.write_text(json.dumps(doc))
    return path


def test_results_fall_back_to_the_documents_fields(tmp_path, db):
    path = _write(
        tmp_path,
        "perf.json",
        {
            "model": "bert-base-uncased",
            "hardware": "cuda",
            "device": "NVIDIA A100-SXM4-40GB",
            "timestamp": "2025-03-01T10:00:00",
            "batch_size": 4,
            "precision": "fp16",
            "results": [
                {"batch_size": 1, "throughput": 100.0, "latency_avg": 5.0},
                {"throughput": 300.0, "latency": 7.0, "memory_peak": 900},
                {"model": "t5-small", "hardware": "cpu", "precision": "fp32", "throughput": 10.0},
            ],
        },
    )
    report = ingest(db, [path], workers=1)
    assert report.count("ingested") == 1, report.outcomes
    rows = query(
        db,
        """
        SELECT m.model_name, h.hardware_type, h.device_name, p.batch_size, p.precision,
               p.throughput_items_per_second, p.measured_at::VARCHAR
        FROM performance_results p JOIN models m USING (model_id) JOIN hardware_platforms h USING (hardware_id)
        ORDER BY p.throughput_items_per_second""",
    )
    assert rows == [
        # The record names its own hardware: the document's GPU is not this CPU's name.
        ("t5-small", "cpu", None, 4, "fp32", 10.0, "2025-03-01 10:00:00"),
        ("bert-base-uncased", "cuda", "NVIDIA A100-SXM4-40GB", 1, "fp16", 100.0, "2025-03-01 10:00:00"),
        ("bert-base-uncased", "cuda", "NVIDIA A100-SXM4-40GB", 4, "fp16", 300.0, "2025-03-01 10:00:00"),
    ]


def _compatibility(db: Path) -> list[tuple]:
    return query(
        db,
        """
        SELECT m.model_name, h.hardware_type, c.is_compatible, c.error_message, c.error_type,
               c.metadata->>'level', (c.metadata->>'memory_required')::DOUBLE
        FROM hardware_compatibility c JOIN models m USING (model_id) JOIN hardware_platforms h USING (hardware_id)
        ORDER BY 1, 2""",
    )


def test_four_compatibility_layouts(tmp_path, db):
    _write(
        tmp_path,
        "tests.json",
        {
            "timestamp": "2025-03-01T10:00:00",
            "model": "bert-base-uncased",
            "tests": [
                {
                    "model": "vit-base",
                    "compatibility": {
                        "cuda": {
                            "is_compatible": True,
                            "level": "full",
                            "memory_required": 500,
                            "memory_available": 40000,
                        },
                        "webnn": {
                            "compatible": False,
                            "error": "op not supported",
                            "error_type": "unsupported_op",
                        },
                    },
                },
                {"compatibility": {"cpu": {"is_compatible": True, "level": "full"}}},
            ],
        },
    )
    _write(
        tmp_path,
        "one.json",
        {"model": "whisper-tiny", "compatibility": {"mps": {"compatible": False, "error": "no fp64"}}},
    )
    _write(
        tmp_path,
        "errors.json",
        {
            "model": "llama-7b",
            "errors": [
                {
                    "hardware_type": "cuda",
                    "message": "CUDA out of memory",
                    "error_type": "oom",
                    "memory_required": 80000,
                },
            ],
        },
    )
    _write(
        tmp_path,
        "flags.json",
        {"model": "clip-vit", "cuda": True, "rocm": False, "rocm_error": "no ROCm runtime"},
    )
    report = ingest(db, [tmp_path], workers=1)
    assert report.count("ingested") == 4, report.outcomes
    assert {o.format for o in report.outcomes} == {"compatibility_report"}
    assert _compatibility(db) == [
        ("bert-base-uncased", "cpu", True, None, None, "full", None),
        ("clip-vit", "cuda", True, None, None, None, None),
        ("clip-vit", "rocm", False, "no ROCm runtime", None, None, None),
        ("llama-7b", "cuda", False, "CUDA out of memory", "oom", None, 80000.0),
        ("vit-base", "cuda", True, None, None, "full", 500.0),
        ("vit-base", "webnn", False, "op not supported", "unsupported_op", None, None),
        ("whisper-tiny", "mps", False, "no fp64", None, None, None),
    ]


def test_hardware_detection_describes_platforms_without_results(tmp_path, db):
    path = _write(
        tmp_path,
        "hardware.json",
        {
            "timestamp": "2025-03-03T00:00:00",
            "cuda": True,
            "cuda_devices": [
                {"name": "NVIDIA GeForce RTX 3090", "total_memory": 25438126080, "compute_capability": "8.6"}
            ],
            "cuda_driver_version": "535.104.05",
            "rocm": False,
            "rocm_error": "no ROCm runtime",
            "mps": False,
            "openvino": True,
            "openvino_version": "2024.1.0",
            "webnn": False,
            "webgpu": False,
            "system": {
                "platform": "Linux",
                "cpu_info": "AMD Ryzen 9 5950X 16-Core Processor",
                "memory_total": 64.0,
            },
        },
    )
    report = ingest(db, [path], workers=1)
    assert report.count("ingested") == 1, report.outcomes
    assert report.outcomes[0].format == "hardware_detection" and report.outcomes[0].records == 3
    platforms = query(
        db,
        """
        SELECT hardware_type, device_name, round(memory_gb, 2), driver_version, platform,
               metadata->>'compute_capability'
        FROM hardware_platforms ORDER BY hardware_type""",
    )
    assert platforms == [
        ("cpu", "AMD Ryzen 9 5950X", 64.0, None, "Linux", None),
        ("cuda", "NVIDIA GeForce RTX 3090", 23.69, "535.104.05", "Linux", "8.6"),  # bytes → GB
        ("openvino", None, None, "2024.1.0", "Linux", None),
    ]
    run = json.loads(scalar(db, "SELECT metadata FROM test_runs WHERE test_type = 'hardware_detection'"))
    assert run["unavailable"] == {"rocm": "no ROCm runtime", "mps": None, "webnn": None, "webgpu": None}
    assert scalar(db, "SELECT category FROM source_files") == "hardware"
