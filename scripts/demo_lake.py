"""`make demo-lake`: the demo on DuckLake, with Dagster's instance on PostgreSQL.

Starts a throwaway PostgreSQL on a free loopback port (one database for the lake's catalog,
one for Dagster), creates the lake, runs the main job on the bundled samples with the
multiprocess executor, shows what `benchdb` sees, then stops the server and removes
everything it made. Each command is printed before it runs, so it can be run by hand
against a real server.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchdb_pipeline.warehouse import local_postgres

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
QUIET = "ignore:Function `job_execute_command` is superseded,ignore:Parameter `owners` of initializer"


def run(env: dict[str, str], *command: str) -> None:
    print(f"\n$ {shlex.join(command)}", flush=True)
    code = subprocess.run(command, env=env, cwd=REPO).returncode
    if code:
        raise SystemExit(f"demo-lake: `{shlex.join(command)}` exited with {code}")


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="benchdb-demo-lake-"))
    try:
        with local_postgres.start() as server:
            catalog = server.create_database("benchdb")
            server.create_database("dagster")
            dagster_home = work / "dagster_home"
            dagster_home.mkdir()
            shutil.copy(REPO / "deploy" / "lake" / "dagster.yaml", dagster_home / "dagster.yaml")
            env = {
                **os.environ,
                "BENCHDB_BACKEND": "ducklake",
                "BENCHDB_LAKE_CATALOG": f"postgres:{catalog}",
                "BENCHDB_LAKE_DATA": str(work / "lake_data"),
                "BENCHDB_REPORTS": str(work / "reports"),
                "DAGSTER_HOME": str(dagster_home),
                "DAGSTER_PG_URL": f"postgresql+psycopg2://{local_postgres.USER}@127.0.0.1:{server.port}/dagster",
                "PYTHONWARNINGS": QUIET,
            }
            for name in ("BENCHDB_BACKEND", "BENCHDB_LAKE_CATALOG", "BENCHDB_LAKE_DATA", "DAGSTER_PG_URL"):
                print(f"{name}={env[name]}")
            run(env, str(BIN / "benchdb"), "lake", "init")
            run(
                env,
                str(BIN / "dagster"),
                "job",
                "execute",
                "-m",
                "benchdb_pipeline.definitions",
                "-j",
                "ingest_job",
                "-c",
                "data/demo_run.yaml",
            )
            run(env, str(BIN / "benchdb"), "status")
            run(env, str(BIN / "benchdb"), "quarantine")
            run(env, str(BIN / "benchdb"), "regressions", "list", "--status", "untriaged")
            print_runs(env)
            print(
                "\nThe lake's catalog and Dagster's runs were in PostgreSQL on port "
                f"{server.port}; its data files in {work / 'lake_data'}. Both are removed now."
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def print_runs(env: dict[str, str]) -> None:
    """Dagster's runs as its PostgreSQL instance recorded them."""
    run(
        env,
        sys.executable,
        "-c",
        "from dagster import DagsterInstance\n"
        "for r in DagsterInstance.get().get_runs():\n"
        "    print(r.run_id, r.job_name, r.status.value)",
    )


if __name__ == "__main__":
    sys.exit(main())
