"""CI artifacts: every job's results in one warehouse, with the commit, branch and CI run,
the same whatever order the jobs arrive in, and nothing added when integrated again."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from benchdb_pipeline.ingest.artifacts import CIContext, find_artifacts, integrate
from benchdb_pipeline.samples import write_samples
from benchdb_pipeline.warehouse.export import EXPORT_MANIFEST
from benchdb_pipeline.warehouse.schema import ALL_TABLES, ensure_schema
from benchdb_pipeline.warehouse.store import session
from benchdb_pipeline_tests.conftest import FIXTURES, ingest_one, query, scalar
from benchdb_pipeline_tests.fingerprints import fingerprints
from benchdb_pipeline_tests.test_cli import benchdb

TABLES = tuple(t for t in ALL_TABLES if t != "archive_batches")
METADATA = {
    "workflow_id": 42,
    "workflow_name": "Benchmark DB CI",
    "run_id": 9001,
    "ref": "refs/heads/feature/faster-attention",
    "repository": "acme/models",
    "actor": "ci-bot",
    "trigger": "pull_request",
    "sha": "c0ffee1234",
    "platform": "github-actions",
}


def tables(db: Path, ignore: set[str] = frozenset()) -> dict:
    with session(db, read_only=True) as con:
        return fingerprints(con, TABLES, ignore)


@pytest.fixture(scope="module")
def jobs(tmp_path_factory) -> Path:
    """Four jobs' artifacts: result files (one without a commit), a per-job warehouse, a
    Parquet export, and a per-job warehouse of an older schema version."""
    root = tmp_path_factory.mktemp("jobs")
    samples = write_samples(root / "samples")[0].parent.parent
    (root / "cpu-files").mkdir()
    shutil.copytree(samples / "nightly", root / "cpu-files" / "nightly")
    shutil.copy(FIXTURES / "canonical_rows.json", root / "cpu-files" / "no_commit.json")
    ingest_one(root / "cpu-db" / "job.duckdb", samples / "model_benchmarks")
    ingest_one(root / "export.duckdb", samples / "compatibility")
    assert (
        benchdb(
            "export",
            "--db",
            str(root / "export.duckdb"),
            "--parquet-dir",
            str(root / "cuda-export" / "parquet"),
            "--partition-by",
            "hardware_id",
        ).returncode
        == 0
    )
    with session(root / "old-db" / "job.duckdb") as con:
        ensure_schema(con, up_to=3)
    ingest_one(root / "old-db" / "job.duckdb", samples / "critical_tests")
    shutil.rmtree(samples)
    (root / "export.duckdb").unlink()
    return root


def deliver(jobs: Path, names: list[str], artifacts: Path) -> Path:
    for name in names:
        shutil.copytree(jobs / name, artifacts / name)
    (artifacts / "ci_metadata.json").write_text(json.dumps(METADATA))
    return artifacts


JOBS = ["cpu-files", "cpu-db", "cuda-export", "old-db"]


def test_every_job_lands_with_its_commit_branch_and_ci_run(jobs, tmp_path, db):
    artifacts = deliver(jobs, JOBS, tmp_path / "artifacts")
    ci = CIContext.resolve(artifacts)
    assert (ci.commit, ci.branch, ci.build_id) == ("c0ffee1234", "feature/faster-attention", "9001")
    report = integrate(db, find_artifacts(artifacts), ci)
    assert report.jobs == sorted(JOBS)
    assert report.quarantined == 0 and report.unowned_rows == 0
    runs = query(
        db,
        "SELECT git_commit, git_branch, metadata->'ci'->>'job', metadata->'ci'->>'run_id', "
        "metadata->'ci'->>'repository' FROM test_runs",
    )
    assert {job for _, _, job, _, _ in runs} == set(JOBS)
    assert all(run_id == "9001" and repo == "acme/models" for *_, run_id, repo in runs)
    # A run without its own commit gets the CI's; one that has its own keeps it.
    assert ("c0ffee1234", "feature/faster-attention") in {(c, b) for c, b, *_ in runs}
    assert len({c for c, *_ in runs}) > 1
    paths = [p for (p,) in query(db, "SELECT path FROM source_files")]
    assert all(p.startswith("ci/github-actions/9001/") for p in paths)
    assert scalar(db, "SELECT count(*) FROM performance_results") > 0
    assert scalar(db, "SELECT count(*) FROM hardware_compatibility") > 0
    assert scalar(db, "SELECT count(*) FROM integration_test_results") > 0


def test_integrating_the_same_artifacts_again_adds_nothing(jobs, tmp_path, db):
    artifacts = deliver(jobs, JOBS, tmp_path / "artifacts")
    first = benchdb("ci-integrate", "--artifacts-dir", str(artifacts), "--db", str(db), "-q")
    assert first.returncode == 0, first.stderr
    before = tables(db)
    again = benchdb("ci-integrate", "--artifacts-dir", str(artifacts), "--db", str(db), "-q")
    assert again.returncode == 0, again.stderr
    assert tables(db) == before
    record = json.loads(again.stdout)
    assert record["result_files"]["by_status"] == {}
    assert all(r["files_loaded"] == 0 for r in record["warehouses_and_exports"].values())


def test_jobs_in_any_order_give_identical_tables(jobs, tmp_path):
    """As a sensor sees them: jobs arrive one by one, each arrival integrated; two shuffled
    orders and all at once must give the same tables."""
    results = []
    for n, order in enumerate([JOBS, random.Random(7).sample(JOBS, len(JOBS)), JOBS[::-1]]):
        artifacts, db = tmp_path / f"order{n}" / "artifacts", tmp_path / f"order{n}" / "ci.duckdb"
        arrivals = [order] if n == 0 else [[job] for job in order]
        for arrived in arrivals:
            deliver(jobs, arrived, artifacts)
            integrate(db, find_artifacts(artifacts), CIContext.resolve(artifacts))
        results.append(tables(db))
    assert results[0] == results[1] == results[2]
    assert results[0]["performance_results"][0] > 0


def test_the_parquet_export_reads_back_anywhere_and_merges_exactly(tmp_path, db):
    ingest_one(db, write_samples(tmp_path / "samples")[0].parent.parent)
    export = tmp_path / "artifacts" / "job" / "export"
    result = benchdb("export", "--db", str(db), "--parquet-dir", str(export), "--partition-by", "hardware_id")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((export / EXPORT_MANIFEST).read_text())
    for table, rows in manifest["rows"].items():
        assert pq.read_table(export / table).num_rows == rows  # any Parquet reader
    assert list((export / "performance_results").glob("hardware_id=*/*.parquet"))
    merged = tmp_path / "merged.duckdb"
    assert (
        benchdb(
            "ci-integrate", "--artifacts-dir", str(tmp_path / "artifacts"), "--db", str(merged), "-q"
        ).returncode
        == 1
    )  # the samples' invalid file stays quarantined
    # Equal but for the ledger paths and the CI metadata integration adds to each run.
    assert tables(merged, {"path"}) | {"test_runs": None} == tables(db, {"path"}) | {"test_runs": None}
    assert tables(merged, {"metadata"})["test_runs"] == tables(db, {"metadata"})["test_runs"]


def test_archive_artifacts_moves_them_by_date(jobs, tmp_path, db):
    artifacts = deliver(jobs, ["cpu-files"], tmp_path / "artifacts")
    result = benchdb(
        "ci-integrate",
        "--artifacts-dir",
        str(artifacts),
        "--db",
        str(db),
        "-q",
        "--archive-artifacts",
        "--archive-dir",
        str(tmp_path / "archive"),
    )
    assert result.returncode == 0, result.stderr
    archived = Path(json.loads(result.stdout)["archived_to"])
    assert archived.parent.parent == tmp_path / "archive" and archived.name == "artifacts"
    assert (archived / "cpu-files" / "no_commit.json").exists()
    assert list(artifacts.iterdir()) == []


def test_what_cannot_be_integrated_is_named(tmp_path, db):
    artifacts = tmp_path / "artifacts"
    (artifacts / "job").mkdir(parents=True)
    duckdb.connect().execute(f"COPY (SELECT 1 AS x) TO '{artifacts / 'job' / 'loose.parquet'}'")
    (artifacts / "job" / "build.log").write_text("compiling...\n")
    (artifacts / "job" / "bench.txt").write_text("pkg: x\nBenchmarkParse-2  1000  52.5 ns/op\n")
    found = find_artifacts(artifacts)
    assert artifacts / "job" / "bench.txt" in found.result_files  # go test -bench output, read by content
    ignored = integrate(db, found, CIContext()).ignored
    assert ignored[str(artifacts / "job" / "loose.parquet")].startswith("Parquet outside a benchdb export")
    assert ignored[str(artifacts / "job" / "build.log")] == "a text file in no known text format"
    duckdb.connect(str(artifacts / "job" / "other.duckdb")).close()
    result = benchdb("ci-integrate", "--artifacts-dir", str(artifacts), "--db", str(db))
    assert result.returncode == 2
    assert "DB007" in result.stderr and "other.duckdb: not a benchdb warehouse" in result.stderr


def test_the_gate_checks_every_run_of_a_build(jobs, tmp_path, db):
    artifacts = deliver(jobs, JOBS, tmp_path / "artifacts")
    integrate(db, find_artifacts(artifacts), CIContext.resolve(artifacts))
    result = benchdb("regression-check", "--db", str(db), "--build", "9001", "--format", "json", "--no-store")
    assert result.returncode in (0, 1), result.stderr
    checked = {report["run_id"] for report in json.loads(result.stdout)}
    with_results = {r for (r,) in query(db, "SELECT DISTINCT run_id FROM performance_results")}
    assert checked == with_results and len(checked) > 1
    unknown = benchdb("regression-check", "--db", str(db), "--build", "404", "--no-store")
    assert unknown.returncode == 2 and "no performance results for CI build 404" in unknown.stderr
