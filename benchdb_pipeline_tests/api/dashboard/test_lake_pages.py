"""The dashboard on a lake: the same pages from a pinned snapshot version, triage written to
the lake."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from benchdb_pipeline.api.dashboard.auth import SESSION_COOKIE, csrf_token
from benchdb_pipeline_tests.api.conftest import TOKEN, start_server
from benchdb_pipeline_tests.api.dashboard.conftest import demo_warehouse
from benchdb_pipeline_tests.conftest import query

pytestmark = pytest.mark.slow


def test_every_page_reads_the_lake_and_triage_writes_to_it(lake: str, tmp_path: Path):
    demo_warehouse(tmp_path, Path(lake))
    server = start_server(Path(lake), folder=tmp_path)
    try:
        with httpx.Client(base_url=server.url, timeout=60, cookies={SESSION_COOKIE: TOKEN}) as client:
            for path in (
                "/ui",
                "/ui?model=gpt2",
                "/ui/compare?model=gpt2",
                "/ui/regressions",
                "/ui/runs",
                "/ui/machines",
            ):
                assert client.get(path).status_code == 200, path
            (regression,) = query(server.db, "SELECT min(regression_id) FROM performance_regressions")[0]
            (model, platform) = query(
                server.db,
                "SELECT model_name, platform_key FROM performance_regressions WHERE regression_id = ?",
                [regression],
            )[0]
            series = client.get(
                "/ui/series",
                params={
                    "model": model,
                    "platform": platform,
                    "batch_size": 16,
                    "precision": "fp32",
                    "test_case": "inference",
                    "sequence_length": 128,
                },
            )
            assert series.status_code == 200 and "regressions found" in series.text
            answer = client.post(
                f"/ui/regressions/{regression}",
                data={"status": "expected", "note": "new driver", "csrf": csrf_token(TOKEN)},
            )
            assert answer.status_code == 303
            assert "new driver" in client.get("/ui/regressions?status=expected").text
    finally:
        server.stop()
    assert query(
        server.db, "SELECT status FROM performance_regressions WHERE regression_id = ?", [regression]
    ) == [("expected",)]
