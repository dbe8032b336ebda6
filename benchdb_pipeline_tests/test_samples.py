"""The bundled sample data: generated, deterministic, complete, and flagged simulated."""

from __future__ import annotations

from benchdb_pipeline.ingest.formats import ADAPTERS
from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.samples import write_samples
from benchdb_pipeline_tests.conftest import REPO, query, scalar


def test_bundled_samples_are_what_the_generator_writes(tmp_path):
    written = write_samples(tmp_path / "a")
    write_samples(tmp_path / "b")
    bundled = REPO / "data" / "samples"
    for path in written:
        relative = path.relative_to(tmp_path / "a")
        assert path.read_bytes() == (tmp_path / "b" / relative).read_bytes(), relative
        assert path.read_bytes() == (bundled / relative).read_bytes(), (
            f"data/samples/{relative} differs from the generator; run `make samples`"
        )
    assert len(list(bundled.rglob("*.json"))) == len(written)


def test_samples_cover_every_format_and_are_simulated(tmp_path):
    db = tmp_path / "s.duckdb"
    report = ingest(db, [write_samples(tmp_path / "s")[0].parents[1]], workers=1)
    formats = {f for (f,) in query(db, "SELECT DISTINCT format FROM source_files")}
    assert formats == {a.name for a in ADAPTERS}
    assert report.count("quarantined") == 1  # the deliberate invalid sample
    assert scalar(db, "SELECT count(*) FROM test_runs WHERE NOT is_simulated") == 0
    assert scalar(db, "SELECT bool_and(is_simulated) FROM latest_performance_metrics") is True
