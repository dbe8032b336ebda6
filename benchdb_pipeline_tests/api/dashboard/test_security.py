"""Who may do what on the dashboard, over real HTTP: triage needs a signed-in token and the
form's CSRF token; reads follow the API's rule; pages load nothing from elsewhere."""

from __future__ import annotations

import re
import shutil

import httpx
import pytest

from benchdb_pipeline.api.dashboard.auth import SESSION_COOKIE, csrf_token
from benchdb_pipeline_tests.api.conftest import TOKEN, start_server
from benchdb_pipeline_tests.conftest import query

pytestmark = pytest.mark.slow


def untriaged(db) -> int:
    return query(db, "SELECT min(regression_id) FROM performance_regressions WHERE status = 'untriaged'")[0][
        0
    ]


def status_of(db, regression_id: int) -> str:
    return query(db, "SELECT status FROM performance_regressions WHERE regression_id = ?", [regression_id])[
        0
    ][0]


def test_triage_needs_a_valid_session_and_its_csrf_token(demo_server):
    regression = untriaged(demo_server.db)
    form = {"status": "invalid", "note": "noise", "csrf": csrf_token(TOKEN)}
    path = f"/ui/regressions/{regression}"

    def post(cookie: str | None, data: dict, **headers: str) -> httpx.Response:
        cookies = {SESSION_COOKIE: cookie} if cookie else None
        with httpx.Client(base_url=demo_server.url, timeout=30, cookies=cookies) as client:
            return client.post(path, data=data, headers=headers)

    assert post(None, form).status_code == 401  # not signed in
    assert post(None, form, Authorization=f"Bearer {TOKEN}").status_code == 401  # a form is no API call
    assert post("not-the-token", form).status_code == 401  # a forged cookie
    assert post(TOKEN, {**form, "csrf": ""}).status_code == 403
    assert post(TOKEN, {**form, "csrf": csrf_token("other")}).status_code == 403
    assert status_of(demo_server.db, regression) == "untriaged"
    done = post(TOKEN, form)
    assert done.status_code == 303 and done.headers["location"].startswith("/ui/regressions")
    assert status_of(demo_server.db, regression) == "invalid"


def test_signing_in_sets_a_strict_http_only_cookie_and_goes_nowhere_else(demo_server):
    with httpx.Client(base_url=demo_server.url, timeout=30) as client:
        assert client.post("/ui/signin", data={"token": "wrong", "next": "/ui/runs"}).status_code == 401
        answer = client.post("/ui/signin", data={"token": TOKEN, "next": "https://evil.example/"})
        assert answer.status_code == 303 and answer.headers["location"] == "/ui"
        cookie = answer.headers["set-cookie"]
        assert f"{SESSION_COOKIE}={TOKEN}" in cookie
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        page = client.get("/ui/regressions")
        assert page.status_code == 200 and csrf_token(TOKEN) in page.text


def test_pages_carry_a_strict_content_security_policy_and_browsers_land_on_the_dashboard(demo_server):
    with httpx.Client(base_url=demo_server.url, timeout=30) as client:
        for path in (
            "/ui",
            "/ui/series",
            "/ui/compare",
            "/ui/regressions",
            "/ui/runs",
            "/ui/machines",
            "/ui/predict",
        ):
            page = client.get(path)
            assert page.status_code == 200, (path, page.text[:500])
            policy = page.headers["content-security-policy"]
            assert "default-src 'none'" in policy and "script-src 'self'" in policy
            assert not re.search(r"<script(?![^>]*(src=\"/ui/static/|type=\"application/json\"))", page.text)
            assert "http://" not in page.text.replace(demo_server.url, "") and "https://" not in page.text
        assert client.get("/", headers={"Accept": "text/html"}).headers["location"] == "/ui"
        assert client.get("/").json()["name"] == "benchdb"  # API clients still get JSON
        assert client.get("/ui?batch_size=abc").status_code == 400
        assert client.get("/ui/static/../../app.py").status_code == 404


def test_with_auth_reads_the_pages_ask_for_a_token(demo_db, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copy(demo_db, db)
    server = start_server(db, "--auth-reads")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            answer = client.get("/ui/machines?x=1")
            assert answer.status_code == 303
            assert answer.headers["location"] == "/ui/signin?next=%2Fui%2Fmachines%3Fx%3D1"
            assert client.get("/ui/series.csv?model=gpt2&platform=cpu").status_code == 401
            assert client.get("/ui/machines", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
            client.post("/ui/signin", data={"token": TOKEN})
            assert client.get("/ui/machines").status_code == 200
    finally:
        server.stop()
