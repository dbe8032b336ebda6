"""Every line of the old guide, through its benchdb equivalent, as the README's table gives it.

The table in README.md ("Coming from the old scripts") is the one source: this test reads it,
prepares the old guide's inputs with the README's own shell block, and runs each benchdb line
in order as a subprocess from a project folder made like `make demo` makes it (the samples,
and the old system's corpus when ../shared has it, in the default warehouse). Each line must
exit as the table says and leave the files and print the words it names.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchdb_pipeline.warehouse.local_postgres import free_port
from benchdb_pipeline_tests.conftest import DEFAULT_FOLDERS, RUNNER_MISSING
from benchdb_pipeline_tests.test_cli import benchdb

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
SECTION = "## Coming from the old scripts"
SHARED = ROOT.parent / "shared"
# The one change the test makes to a line: measure 2 iterations rather than 20, the same
# configurations (the line as written takes minutes on two cores).
SHORTER = {"run": ["--iterations", "2", "--warmup", "0"]}


@dataclass(frozen=True)
class Line:
    old: str
    command: str
    exits: frozenset[int] | None  # None: a server, running until stopped
    files: tuple[str, ...]
    words: tuple[str, ...]

    def __str__(self) -> str:
        return self.command


def _cells(row: str) -> list[str]:
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def _section() -> str:
    text = README.read_text()
    start = text.index(SECTION)
    return text[start : text.index("\n## ", start + len(SECTION))]


def guide() -> tuple[str, list[Line]]:
    """The README's preparation block and the lines of its table."""
    section = _section()
    prepare = re.search(r"```sh\n(.*?)```", section, re.S)
    assert prepare, "the section's shell block that prepares the old guide's inputs is missing"
    table = section[section.index("| old command line |") :].splitlines()[2:]
    lines = []
    for row in (row for row in table if row.startswith("|")):
        old, command, exits, got = _cells(row)
        lines.append(
            Line(
                old=old,
                command=re.findall(r"`([^`]+)`", command)[0],
                exits=None if exits == "runs" else frozenset(int(n) for n in re.findall(r"\d+", exits)),
                files=tuple(re.findall(r"`([^`]+)`", got)),
                words=tuple(re.findall(r'"([^"]+)"', got)),
            )
        )
    return prepare.group(1), lines


PREPARE, LINES = guide()


def _python_block(starting: str) -> str:
    """The README's first Python block that starts with this line (an import)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    return next(block for block in blocks if block.startswith(starting))


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project folder as `make demo` leaves it: the samples in the default warehouse (and
    the old corpus, when ../shared has it), ../shared beside it."""
    root = tmp_path_factory.mktemp("guide")
    project = root / "project"
    shutil.copytree(ROOT / "data" / "samples", project / "data" / "samples")
    if SHARED.is_dir():
        (root / "shared").symlink_to(SHARED)
    for inputs in ("data/samples", *(["../shared/corpus/original-system"] if SHARED.is_dir() else [])):
        made = run_line(project, f"benchdb ingest {inputs} -q")
        assert made.returncode in (0, 1), made.stderr
    subprocess.run(["bash", "-euo", "pipefail", "-c", PREPARE], cwd=project, check=True)
    return project


def _environment() -> dict[str, str]:
    """The defaults a new user has: every benchdb folder relative to the project."""
    return {k: v for k, v in os.environ.items() if k not in DEFAULT_FOLDERS}


def run_line(project: Path, command: str, extra: list[str] | None = None) -> subprocess.CompletedProcess:
    words = shlex.split(command)
    assert words[0] == "benchdb", command
    script = Path(sys.executable).parent / "benchdb"
    return subprocess.run(
        [str(script), *words[1:], *(extra or [])],
        cwd=project,
        env={**_environment(), "BENCHDB_LOCK_TIMEOUT": "30"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _serves(project: Path, command: str) -> None:
    port = free_port()
    words = shlex.split(command)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "benchdb"), *words[1:], "--port", str(port)],
        cwd=project,
        env=_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
                    assert answer.status == 200
                    return
            except OSError:
                assert time.monotonic() < deadline, "benchdb serve did not answer /health in 60 s"
                time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(30)


def test_the_table_covers_the_old_guide():
    """Every old script of the guide, with the issue's lines, is in the table once or more."""
    scripts = {line.old.split()[0].strip("`") for line in LINES}
    assert {
        "create_benchmark_schema.py",
        "benchmark_db_converter.py",
        "benchmark_db_updater.py",
        "benchmark_db_migration.py",
        "benchmark_db_query.py",
        "benchmark_db_visualizer.py",
        "benchmark_db_maintenance.py",
        "benchmark_db_analytics.py",
        "ci_benchmark_integrator.py",
        "run_benchmark_with_db.py",
        "benchmark_db_api.py",
    } <= scripts
    assert len({line.command for line in LINES}) == len(LINES), "a benchdb line is listed twice"


@pytest.mark.parametrize("line", LINES, ids=[f"{n:02d}" for n in range(1, len(LINES) + 1)])
def test_line(project: Path, line: Line):
    if "../shared" in line.command and not SHARED.is_dir():
        pytest.skip("the old system's corpus (../shared) is not here")
    if line.command.startswith("from "):
        block = _python_block(line.command)
        ran = subprocess.run(
            [sys.executable, "-c", block], cwd=project, env=_environment(), capture_output=True, text=True
        )
        assert ran.returncode == 0, ran.stderr
        return
    if line.exits is None:
        _serves(project, line.command)
        return
    subcommand = shlex.split(line.command)[1]
    if subcommand == "run" and importlib.util.find_spec("torch") is None:
        pytest.skip(RUNNER_MISSING)
    ran = run_line(project, line.command, SHORTER.get(subcommand))
    said = ran.stdout + ran.stderr
    assert ran.returncode in line.exits, f"{line.command}: exit {ran.returncode}\n{said}"
    for path in line.files:
        target = project / path
        assert target.exists(), f"{line.command} left no {path}\n{said}"
        assert target.is_dir() and any(target.iterdir()) or target.stat().st_size > 0, path
    for words in line.words:
        assert words in said, f"{line.command} did not say {words!r}\n{said}"


def test_old_flags_are_listed_apart_and_moved_ones_say_where():
    """Old spellings stay out of the option list, are named at the end of --help, and a flag
    whose work moved is refused with the command to use."""
    help_text = benchdb("ingest", "--help").stdout
    options, old = help_text.split("Old spellings")
    assert "--output-db" not in options and "--output-db" in old and "the same as --db" in old
    moved = benchdb("ingest", "--migrate-ci", "--artifacts-dir", "x")
    assert moved.returncode == 2 and "benchdb ci-integrate --artifacts-dir DIR" in moved.stderr
