"""A user walks the dashboard in a real browser: find the planted regression, triage it,
compare the runs, download a series. Screenshots of every page go to the test's folder."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from benchdb_pipeline_tests.api.conftest import TOKEN
from benchdb_pipeline_tests.conftest import query

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CUDA = "cuda|Sample GPU (simulated CUDA)|mem_gb=24"


def test_a_user_finds_triages_and_compares_the_planted_regression(browser, demo_server, tmp_path: Path):
    shots = tmp_path / "screenshots"
    problems: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    base = demo_server.url

    # Overview, filtered to one model: its latest results, the regressed ones marked.
    page.goto(f"{base}/")
    assert page.url == f"{base}/ui"
    page.screenshot(path=shots / "overview.png", full_page=True)
    page.fill("input[name=model]", "gpt2")
    page.click("form#filters button[type=submit]")
    assert "model=gpt2" in page.url
    models = page.locator("#latest tbody tr td:first-child").all_inner_texts()
    assert models and all(name.lower() == "gpt2" for name in models)
    flagged = page.locator("#latest tbody tr", has=page.locator(".badge.regression"))
    assert flagged.count() == 3  # batch 1, 4 and 16 on the simulated CUDA platform
    page.screenshot(path=shots / "overview-gpt2.png", full_page=True)

    # Its series: the chart drawn, the regression marked on it and listed under it.
    flagged.first.locator("a").first.click()
    page.wait_for_selector("#series-chart[data-drawn=true]")
    traces = page.evaluate("Array.from(document.getElementById('series-chart').data, t => t.name)")
    assert "regressions found" in traces
    assert "untriaged" in page.inner_text("#series-regressions")
    page.screenshot(path=shots / "series.png", full_page=True)

    # The CSV holds every result of the series, as the page counts them.
    with page.expect_download() as download:
        page.click("a[download]")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    link_text = page.inner_text("a[download]")
    assert f"({len(rows)} results)" in link_text and len(rows) >= 6
    assert all(float(row["value"]) > 0 for row in rows) and rows[0]["run_id"]

    # Sign in, and acknowledge the regression with a note.
    page.goto(f"{base}/ui/regressions")
    page.screenshot(path=shots / "regressions.png", full_page=True)
    page.click("text=sign in to triage")
    page.fill("input[name=token]", TOKEN)
    page.click("form button[type=submit]")
    assert page.url.startswith(f"{base}/ui/regressions")
    first = page.locator("tr[id^=regression-]").first
    regression_id = int(first.get_attribute("id").removeprefix("regression-"))
    first.locator("select[name=status]").select_option("acknowledged")
    first.locator("input[name=note]").fill("known: the sample driver update")
    first.locator("button").click()
    assert page.inner_text("#done") == f"Regression {regression_id} triaged."
    page.goto(f"{base}/ui/regressions?status=acknowledged")
    row = page.inner_text(f"#regression-{regression_id}")
    assert "acknowledged" in row and "known: the sample driver update" in row
    page.reload()
    assert "acknowledged" in page.inner_text(f"#regression-{regression_id}")
    page.screenshot(path=shots / "regressions-acknowledged.png", full_page=True)
    assert query(
        demo_server.db,
        "SELECT status, note FROM performance_regressions WHERE regression_id = ?",
        [regression_id],
    ) == [("acknowledged", "known: the sample driver update")]

    # Compare the regressed run with the nightly before it: the slowdown is worse.
    runs = [
        r
        for (r,) in query(
            demo_server.db,
            "SELECT p.run_id FROM performance_results p JOIN models USING (model_id) "
            "JOIN hardware_platforms h USING (hardware_id) WHERE model_name = 'gpt2' AND platform_key = ? "
            "GROUP BY p.run_id ORDER BY max(p.measured_at)",
            [CUDA],
        )
    ]
    page.goto(f"{base}/ui/compare?kind=run&a={runs[-2]}&b={runs[-1]}&metric=latency&model=gpt2")
    verdicts = page.locator("#comparison tbody tr td:last-child").all_inner_texts()
    assert "worse" in verdicts
    page.wait_for_selector("#scaling-chart[data-drawn=true]")
    assert page.locator("#matrix tbody tr").count() >= 3
    page.screenshot(path=shots / "compare.png", full_page=True)

    # Runs with their provenance, quarantined files with reasons, machines, a prediction.
    page.goto(f"{base}/ui/runs")
    assert page.locator("#runs tbody tr").count() >= 10
    assert page.locator("#quarantined tbody tr").count() >= 1
    page.screenshot(path=shots / "runs.png", full_page=True)
    page.click(f"#runs a[href='/ui/runs/{runs[-1]}']")
    assert "05a3f20" in page.inner_text("#provenance") or page.locator("#run-results tbody tr").count() > 0
    page.screenshot(path=shots / "run.png", full_page=True)
    page.goto(f"{base}/ui/machines")
    assert "Sample GPU (simulated CUDA)" in page.inner_text("#machines")
    page.screenshot(path=shots / "machines.png", full_page=True)
    page.goto(  # the first prediction fits its model: seconds, many more beside a busy CI
        f"{base}/ui/predict?model=gpt2&hardware=cuda&batch_size=64&precision=fp32&metric=throughput&simulated=1",
        timeout=180_000,
    )
    assert "PREDICTION" in page.inner_text("#prediction")
    assert page.locator("#neighbours tbody tr").count() >= 1
    page.screenshot(path=shots / "predict.png", full_page=True)

    assert not problems, problems  # no script error, nothing the page's policy refused
    page.close()
