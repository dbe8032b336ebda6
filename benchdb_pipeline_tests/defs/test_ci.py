"""The CI sensor and ci_consolidate_job: complete artifacts folders only, each state once,
and the job merges what the sensor asked for."""

from __future__ import annotations

import json
import os
import time

import dagster as dg
import pytest

from benchdb_pipeline.defs.ci import ci_artifacts_sensor
from benchdb_pipeline.defs.resources import WarehouseResource
from benchdb_pipeline.ingest.incoming import COMPLETE_MARKER
from benchdb_pipeline_tests.conftest import FIXTURES, query


@pytest.fixture
def artifacts(tmp_path, monkeypatch):
    folder = tmp_path / "artifacts"
    folder.mkdir()
    monkeypatch.setenv("BENCHDB_ARTIFACTS", str(folder))
    monkeypatch.setenv("BENCHDB_DB", str(tmp_path / "never-opened" / "ci.duckdb"))
    monkeypatch.setenv("BENCHDB_ARTIFACTS_QUIET", "60")
    return folder


def download(root, name, age=0.0):
    """An artifacts folder as CI downloads it: a job folder and the CI metadata."""
    job = root / name / "cpu-job"
    job.mkdir(parents=True)
    (job / "rows.json").write_text((FIXTURES / "canonical_rows.json").read_text())
    (root / name / "ci_metadata.json").write_text(
        json.dumps({"run_id": name, "sha": f"sha-{name}", "ref": "refs/heads/main"})
    )
    past = time.time() - age
    for path in (job / "rows.json", root / name / "ci_metadata.json"):
        os.utime(path, (past, past))


def tick(instance) -> list[dg.RunRequest]:
    from benchdb_pipeline.definitions import defs

    result = ci_artifacts_sensor(dg.build_sensor_context(instance=instance, definitions=defs))
    return result if isinstance(result, list) else []


def test_only_complete_folders_start_a_run_and_the_sensor_never_opens_the_database(artifacts, tmp_path):
    with dg.instance_for_test() as instance:
        download(artifacts, "run-1")  # still arriving
        assert tick(instance) == []
        (artifacts / "run-1" / COMPLETE_MARKER).touch()  # the uploader is done
        download(artifacts, "run-2", age=120)  # quiet for two minutes
        requests = tick(instance)
    assert [r.tags["benchdb/artifacts"] for r in requests] == ["run-1", "run-2"]
    assert requests[0].run_config["ops"]["consolidate_artifacts"]["config"]["artifacts_dir"] == str(
        artifacts / "run-1"
    )
    assert len({r.run_key for r in requests}) == 2
    assert not (tmp_path / "never-opened").exists()


def test_a_changed_folder_gets_a_new_run_key(artifacts):
    download(artifacts, "run-1", age=120)
    with dg.instance_for_test() as instance:
        (first,) = tick(instance)
        (artifacts / "run-1" / "late-job").mkdir()
        (artifacts / "run-1" / "late-job" / "more.json").write_text("[]")
        os.utime(artifacts / "run-1" / "late-job" / "more.json", (time.time() - 100,) * 2)
        (second,) = tick(instance)
    assert first.run_key != second.run_key


def test_the_job_consolidates_what_the_sensor_requested(artifacts, tmp_path):
    from benchdb_pipeline.definitions import defs

    download(artifacts, "run-7", age=120)
    with dg.instance_for_test() as instance:
        (request,) = tick(instance)
    db = tmp_path / "ci.duckdb"
    result = defs.resolve_job_def("ci_consolidate_job").execute_in_process(
        run_config=request.run_config, resources={"warehouse": WarehouseResource(database=str(db))}
    )
    assert result.success
    ((commit, branch, build),) = set(
        query(db, "SELECT git_commit, git_branch, metadata->'ci'->>'build_id' FROM test_runs")
    )
    assert (commit, branch, build) == ("sha-run-7", "main", "run-7")
    assert query(db, "SELECT count(*) FROM performance_results")[0][0] > 0
