"""The batch builder: parsed files into staged tables, facts and dimensions built a chunk at a
time. Dimension attributes merge to the smallest value any row gives, whatever the order of
the files; facts keep their file's spelling of a model and refer to its lower-case key."""

from __future__ import annotations

import json

from benchdb_pipeline.ingest.batch import build_batch
from benchdb_pipeline.ingest.parse import parse_bytes


def _file(name: str, rows: list[dict]) -> object:
    return parse_bytes(json.dumps(rows).encode(), name)


FIRST = [
    {
        "model_name": "BERT-Base",
        "model_family": "encoder",
        "hardware_type": "cuda",
        "device_name": "NVIDIA A100",
        "driver_version": "550.1",
        "batch_size": 1,
        "throughput": 10.0,
        "samples": [2.0, 1.0],
    },
    {"model_name": "gpt2", "hardware_type": "cpu", "batch_size": 2, "throughput": 20.0},
]
SECOND = [
    {
        "model_name": "bert-base",
        "model_family": "bert",
        "hardware_type": "cuda",
        "device_name": "NVIDIA A100",
        "driver_version": "535.0",
        "batch_size": 4,
        "throughput": 40.0,
    },
    {"model_name": "bert-base", "hardware_type": "cuda", "device_name": "NVIDIA A100", "throughput": 5.0},
]


def _tables(files: list) -> dict[str, list[dict]]:
    return {name: table.to_pylist() for name, table in build_batch(files).tables.items()}


def test_dimensions_merge_to_the_smallest_value_whatever_the_order_of_files():
    forward = _tables([_file("a.json", FIRST), _file("b.json", SECOND)])
    backward = _tables([_file("b.json", SECOND), _file("a.json", FIRST)])
    for tables in (forward, backward):
        models = {m["model_name"]: m for m in tables["models"]}
        assert set(models) == {"bert-base", "gpt2"}
        assert models["bert-base"]["model_family"] == "bert"  # "bert" < "encoder"
        assert models["bert-base"]["display_name"] == "BERT-Base"  # "BERT-Base" < "bert-base"
        [a100] = [p for p in tables["hardware_platforms"] if p["hardware_type"] == "cuda"]
        assert a100["platform_key"] == "cuda|NVIDIA A100" and a100["driver_version"] == "535.0"
        assert len(a100["fingerprint"]) == 12
    assert sorted(forward["models"], key=str) == sorted(backward["models"], key=str)


def test_facts_refer_to_their_file_run_model_and_platform_and_samples_to_their_row():
    tables = _tables([_file("a.json", FIRST), _file("b.json", SECOND)])
    files = {f["file_key"]: f["path"] for f in tables["files"]}
    runs = {r["run_key_local"]: files[r["file_key"]] for r in tables["test_runs"]}
    facts = tables["performance_results"]
    assert [(files[f["file_key"]], runs[f["run_key_local"]]) for f in facts] == [
        ("a.json", "a.json"),
        ("a.json", "a.json"),
        ("b.json", "b.json"),
        ("b.json", "b.json"),
    ]
    assert [f["model_name"] for f in facts] == ["bert-base", "gpt2", "bert-base", "bert-base"]
    assert [f["platform_key"] for f in facts] == [
        "cuda|NVIDIA A100",
        "cpu|",
        "cuda|NVIDIA A100",
        "cuda|NVIDIA A100",
    ]
    assert len({f["row_key"] for f in facts}) == 4
    samples = tables["performance_samples"]
    assert [(s["row_key"], s["iteration"], s["latency_ms"]) for s in samples] == [
        (facts[0]["row_key"], 0, 2.0),
        (facts[0]["row_key"], 1, 1.0),
    ]
    assert facts[0]["average_latency_ms"] == 1.5  # derived from the samples
