"""Formats declared in YAML, as a user declares and uses them: `benchdb formats add`, `list`,
`check`, then `benchdb ingest`; a mapping that cannot be used is refused naming its part."""

from __future__ import annotations

import json
import shutil

import pytest

from benchdb_pipeline.ingest.formats.declared import MappingError, load
from benchdb_pipeline_tests.conftest import FIXTURES, FORMAT_FIXTURES, query
from benchdb_pipeline_tests.test_cli import benchdb

DECLARED = FORMAT_FIXTURES / "declared"


def test_a_declared_format_is_added_listed_checked_and_ingested(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHDB_FORMATS", str(tmp_path / "formats"))
    checked = benchdb("formats", "check", str(DECLARED / "acme.yaml"), str(DECLARED / "acme_nightly.json"))
    assert checked.returncode == 0 and "2 records, 0 problems" in checked.stdout, (
        checked.stdout + checked.stderr
    )
    added = benchdb("formats", "add", str(DECLARED / "acme.yaml"))
    assert added.returncode == 0 and (tmp_path / "formats" / "acme_nightly.yaml").exists()
    assert benchdb("formats", "add", str(DECLARED / "acme.yaml")).returncode == 2  # declared already
    listed = benchdb("formats", "list", "--format", "json")
    formats = {row["format"]: row for row in json.loads(listed.stdout)}
    assert formats["acme_nightly"]["kind"] == "declared" and formats["go_test_bench"]["kind"] == "text"
    assert "ns/op" in formats["go_test_bench"]["looks like"] and formats["jmh"]["kind"] == "json"

    db = tmp_path / "w.duckdb"
    stored = benchdb("ingest", "--db", str(db), str(DECLARED / "acme_nightly.json"))
    assert stored.returncode == 0, stored.stdout + stored.stderr
    assert query(db, "SELECT format FROM source_files") == [("acme_nightly",)]
    rows = query(
        db,
        """SELECT m.model_name, h.platform_key, h.host_name, p.batch_size, p.precision,
                  p.average_latency_ms, p.throughput_items_per_second, p.memory_peak_mb,
                  p.metrics->'measures'->'energy'->>'unit', r.git_commit, r.is_simulated
           FROM performance_results p JOIN models m USING (model_id)
           JOIN hardware_platforms h USING (hardware_id) JOIN test_runs r USING (run_id) ORDER BY 1""",
    )
    assert rows == [
        (
            "bert-base-uncased",
            "cuda|NVIDIA A100-SXM4-80GB",
            "gpu-07",
            8,
            "fp16",
            1.5,
            5333.0,
            2560.0,
            "J",
            "abc123",
            True,
        ),
        ("gpt2", "cuda|NVIDIA A100-SXM4-80GB", "gpu-07", 1, "fp32", 2.1, 476.0, None, None, "abc123", True),
    ]  # microseconds to ms, GiB to MB, float16 to fp16
    samples = query(db, "SELECT list(latency_ms ORDER BY iteration) FROM performance_samples")
    assert samples[0][0] == pytest.approx([1.4, 1.5, 1.6])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["fields"].update(colour="x"), "fields.colour: no such column"),
        (lambda m: m["measurements"].update(memory_peak_mb={"path": "mem", "unit": "parsecs"}),
         "measurements.memory_peak_mb: unit 'parsecs' is not a memory unit"),
        (lambda m: m["fields"].update(batch_size="results[x"), "fields.batch_size: cannot read the path"),
        (lambda m: m["fields"].pop("model_name"), "fields.model_name is required"),
        (lambda m: m.update(name="Not A Name"), "name must be lower-case"),
        (lambda m: m.pop("records"), "records is required"),
        (lambda m: m.update(colour=1), "unknown parts ['colour']"),
        (lambda m: m["run"].update(commit="$.commit"), "run.commit: no such run field"),
    ],
)  # fmt: skip
def test_a_mapping_that_cannot_be_used_is_refused_naming_its_part(tmp_path, change, message):
    import yaml

    mapping = yaml.safe_load((DECLARED / "acme.yaml").read_text())
    change(mapping)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(mapping))
    with pytest.raises(MappingError, match="broken.yaml") as refused:
        load(path)
    assert message in str(refused.value)


def test_a_broken_declared_format_stops_an_ingest_before_any_file(tmp_path, monkeypatch):
    folder = tmp_path / "formats"
    folder.mkdir()
    (folder / "bad.yaml").write_text("name: bad\nmatch: [$.x]\nrecords: $.r[*]\nfields: {model_name: m}\n")
    monkeypatch.setenv("BENCHDB_FORMATS", str(folder))
    result = benchdb("ingest", "--db", str(tmp_path / "w.duckdb"), str(FIXTURES / "canonical_rows.json"))
    assert result.returncode == 2 and "fields.hardware_type is required" in result.stderr
    listed = benchdb("formats", "list")
    assert listed.returncode == 2 and "bad.yaml" in listed.stderr


def test_check_says_when_a_mapping_does_not_match(tmp_path):
    other = tmp_path / "other.json"
    shutil.copy(FIXTURES / "canonical_rows.json", other)
    result = benchdb("formats", "check", str(DECLARED / "acme.yaml"), str(other))
    assert result.returncode == 1 and "does not match" in result.stdout


def test_a_built_in_name_cannot_be_declared(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHDB_FORMATS", str(tmp_path / "formats"))
    mapping = (DECLARED / "acme.yaml").read_text().replace("name: acme_nightly", "name: jmh")
    (tmp_path / "jmh.yaml").write_text(mapping)
    result = benchdb("formats", "add", str(tmp_path / "jmh.yaml"))
    assert result.returncode == 2 and "jmh is a built-in format" in result.stderr
