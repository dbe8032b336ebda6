"""The GitHub Actions workflow and its local twin: the workflow is well-formed and every
command it runs exists with the options it passes; the local script runs end to end."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess

import click
import duckdb
import pytest
import yaml

from benchdb_pipeline.cli import main
from benchdb_pipeline.runner.model_sets import resolve
from benchdb_pipeline_tests.conftest import REPO, debian_tool

WORKFLOW = REPO / ".github" / "workflows" / "benchmark_db_ci.yml"
SCRIPT = REPO / "scripts" / "run_local_benchmark_with_ci.sh"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def commands(workflow: dict) -> list[list[str]]:
    """Every benchdb and dagster command line of every run step, as words."""
    found = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            script = re.sub(r"\$\{\{[^}]*\}\}", "X", step.get("run", "")).replace("\\\n", " ")
            for line in script.splitlines():
                line = line.strip().split(" || ")[0]
                if line.startswith(("benchdb ", "dagster ")):
                    found.append(shlex.split(line))
    return found


def test_actionlint_finds_nothing_where_it_is_installed():
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed (no PyPI wheel or Debian package reachable here)")
    result = subprocess.run([actionlint, str(WORKFLOW)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_local_script_passes_shellcheck():
    result = subprocess.run(
        [debian_tool("shellcheck", "shellcheck"), str(SCRIPT)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_the_stages_run_in_order(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request", "workflow_dispatch"} <= set(triggers)
    assert "batch_sizes" in triggers["workflow_dispatch"]["inputs"]
    jobs = workflow["jobs"]
    assert jobs["benchmark"]["needs"] == "setup"
    assert set(jobs["consolidate"]["needs"]) == {"setup", "benchmark"}
    matrix = jobs["benchmark"]["strategy"]["matrix"]
    assert matrix["runner"] == ["ubuntu-latest"] and matrix["hardware"] == ["cpu"]
    assert {tuple(i["runner"]) for i in matrix["include"] if i["hardware"] == "cuda"} == {
        ("self-hosted", "linux", "gpu")
    }
    for job in jobs.values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w-]+/[\w/-]+@v\d+", step["uses"]), step["uses"]
    names = [step.get("name", "") for step in jobs["consolidate"]["steps"]]
    order = [
        "Consolidate (ci_consolidate_job)",
        "Reports",
        "Regression gate",
        "Archive the consolidated warehouse",
    ]
    assert [names.index(n) for n in order] == sorted(names.index(n) for n in order)


def test_every_command_exists_with_the_options_it_is_given(workflow):
    from benchdb_pipeline.definitions import defs

    lines = commands(workflow)
    assert {words[1] for words in lines if words[0] == "benchdb"} >= {
        "run",
        "query",
        "regression-check",
        "status",
    }
    for words in lines:
        if words[0] == "dagster":
            assert words[1:3] == ["job", "execute"]
            defs.resolve_job_def(words[words.index("-j") + 1])
            continue
        if words[1:] == ["--version"]:
            continue
        command = main.commands[words[1]]
        options = {
            opt
            for param in command.params
            if isinstance(param, click.Option)
            for opt in (*param.opts, *param.secondary_opts)
        }
        assert {w for w in words[2:] if w.startswith("-")} <= options, words


def test_the_matrix_models_are_ones_the_runner_knows(workflow):
    matrix = workflow["jobs"]["benchmark"]["strategy"]["matrix"]
    models = matrix["model"] + [i["model"] for i in matrix["include"]]
    assert len(resolve(models)) == len(models)


def test_the_local_twin_runs_every_stage_and_its_gate_fails_on_a_regression(tmp_path):
    """First run: nothing to compare with. Second run: the sample data's newest nightly run
    is slower than the ones before it, so the gate fails the pipeline (exit 1)."""
    first = subprocess.run([str(SCRIPT), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert "nothing to compare against yet" in first.stdout
    second = subprocess.run([str(SCRIPT), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert second.returncode == 1, second.stdout[-2000:] + second.stderr[-2000:]
    assert "regression gate: FAILED" in second.stderr
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2 and len(list((tmp_path / "archive").glob("benchmarks-*.duckdb"))) == 2
    reports = runs[-1] / "reports"
    assert "regressions found" in (reports / "regressions.md").read_text()
    assert (reports / "benchmark_report.html").stat().st_size > 10_000
    con = duckdb.connect(str(runs[-1] / "consolidated.duckdb"), read_only=True)
    jobs = {j for (j,) in con.execute("SELECT DISTINCT metadata->'ci'->>'job' FROM test_runs").fetchall()}
    assert jobs == {"cpu-results", "cpu-warehouse", "cuda-export"}
    assert con.execute(
        "SELECT count(*) FROM source_files WHERE path NOT LIKE 'ci/local/local-%'"
    ).fetchone() == (0,)
