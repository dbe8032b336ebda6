"""The HTML report: self-contained, complete, and what a browser shows of it."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from benchdb_pipeline.reports.filters import Filters
from benchdb_pipeline.reports.report import SECTIONS, build
from benchdb_pipeline.warehouse.store import session
from benchdb_pipeline_tests.conftest import debian_tool, write_mixed_results

BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PROBE = """<script>
window.addEventListener('load', () => {
  const images = [...document.images];
  document.body.dataset.images = images.length;
  document.body.dataset.broken = images.filter(i => !i.complete || i.naturalWidth === 0).length;
  document.body.dataset.requests = performance.getEntriesByType('resource').length;
});
</script></body>"""


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, installed by the test set-up when it is missing."""
    return shutil.which("chromium-browser") or debian_tool("chromium", "chromium")


@pytest.fixture(scope="module")
def report_html(fixture_db, tmp_path_factory):
    with session(fixture_db, read_only=True) as con:
        report = build(con, Filters(), source=str(fixture_db))
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(report.html())
    return report, path


def test_every_section_is_there(report_html):
    report, path = report_html
    html = path.read_text()
    for heading in (
        "Summary",
        "Data sources",
        "Latest throughput per model across hardware",
        "Hardware comparison",
        "Compatibility matrix",
        "Integration test status",
        "Data quality",
    ):
        assert f">{heading}</h" in html, heading
    assert "Simulated data shown" not in html  # the only simulated result (web) is not shown
    assert "bad_zero_batch.json" in html  # quarantined files with their reasons
    assert 'class="num best"' in html  # the best platform per model is highlighted
    assert set(report.sections) == set(SECTIONS)


def test_simulated_data_is_announced(large_db):
    with session(large_db, read_only=True) as con:
        report = build(con, Filters(), source="synthetic")
    assert report.simulated
    assert 'class="notice"' in report.html() and "Simulated data shown" in report.html()
    assert "Includes simulated data" in report.markdown()
    with session(large_db, read_only=True) as con:
        measured_only = build(con, Filters(include_simulated=False), source="synthetic", with_charts=False)
    assert not measured_only.simulated and measured_only.summary["configurations"] == 0


def test_the_page_needs_no_network(report_html):
    html = report_html[1].read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    images = re.findall(r'<img src="([^"]+)"', html)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_markdown_summary_links_to_the_html(report_html):
    markdown = report_html[0].markdown("report.html")
    assert markdown.startswith("## Benchmark report")
    assert "[Full report](report.html)" in markdown
    assert "integration tests not passing" in markdown


@pytest.mark.browser
def test_chromium_loads_every_image_and_makes_no_request(report_html, chromium, tmp_path):
    _, path = report_html
    probe = tmp_path / "probe.html"
    # Without the page's own Content-Security-Policy, a reference to anything outside the
    # file would really be requested, and counted.
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", path.read_text())
    probe.write_text(html.replace("</body>", PROBE))
    dom = subprocess.run(
        [chromium, *BROWSER_FLAGS, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    body = re.search(r"<body([^>]*)>", dom).group(1)
    counts = dict(re.findall(r'data-(\w+)="(\d+)"', body))
    assert int(counts["images"]) >= 3
    assert counts["broken"] == "0" and counts["requests"] == "0"
    screenshot = tmp_path / "report.png"
    subprocess.run(
        [
            chromium,
            *BROWSER_FLAGS,
            "--hide-scrollbars",
            "--window-size=1280,2000",
            f"--screenshot={screenshot}",
            path.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 20_000


def test_the_best_platform_is_measured_and_says_at_which_configuration(tmp_path):
    """A simulated GPU that outruns a real one is not the best platform; platforms are compared
    at one configuration, which the table names."""
    import json

    from benchdb_pipeline.ingest.pipeline import ingest

    def document(name: str, simulated: bool, results: list[tuple]) -> None:
        doc = {
            "test_run": {"test_name": name, "started_at": "2026-11-02T01:00:00"},
            "is_simulated": simulated,
            "performance_results": [
                {
                    "model_name": "bert-base-uncased",
                    "hardware_type": hardware,
                    "device_name": device,
                    "batch_size": batch,
                    "precision": "fp16",
                    "throughput": throughput,
                    "timestamp": "2026-11-02T01:05:00",
                }
                for hardware, device, batch, throughput in results
            ],
        }
        (tmp_path / f"{name}.json").write_text(json.dumps(doc))

    document(
        "measured",
        False,
        [("cuda", "A100", 8, 900.0), ("cpu", "i9-12900K", 8, 60.0), ("cuda", "A100", 64, 4000.0)],
    )
    document("simulated", True, [("cuda", "Sample GPU", 8, 5000.0)])
    db = tmp_path / "wh.duckdb"
    ingest(db, [tmp_path])
    with session(db, read_only=True) as con:
        report = build(con, Filters(), source=str(db))
    (row,) = report.best["rows"]
    assert not row["simulated"] and row["configuration"] == "batch 8 · fp16"
    assert row["best_platform"] == "cuda · NVIDIA A100" and row["best"] == 900.0  # not batch 64's 4000
    assert "cuda · Sample GPU" not in report.best["platforms"]
    assert "| bert-base-uncased | cuda · NVIDIA A100 | batch 8 · fp16 | 900 |" in report.markdown()
    assert "<th>Compared at</th>" in report.html()


def test_a_chart_shows_measured_data_first_and_says_what_it_left_out(tmp_path):
    """Where simulated results outnumber measured ones, the chart's choices follow the measured
    ones, simulated results are hidden, and the caption says so."""
    from benchdb_pipeline.ingest.pipeline import ingest
    from benchdb_pipeline.reports import queries
    from benchdb_pipeline.reports.filters import METRICS
    from benchdb_pipeline.reports.selection import narrowed

    write_mixed_results(tmp_path)
    db = tmp_path / "wh.duckdb"
    ingest(db, [tmp_path])
    with session(db, read_only=True) as con:
        report = build(con, Filters(), source=str(db))
        shows: list[str] = []
        chosen = narrowed(con, Filters(model="bert-base-uncased"), shows)
        drawn = queries.compare(con, METRICS["latency"], chosen)
    caption = report.charts["performance"][0].caption
    assert "model bert-base-uncased" in caption
    assert "precision fp16 (the most measured results, 1 other left out)" in caption
    assert "measured results only (3 simulated hidden; --include-simulated shows them)" in caption
    assert set(drawn.column("device_name")) == {"NVIDIA A100"} and not drawn.any_simulated
    assert "<figcaption>Shows model bert-base-uncased" in report.html()
    # Asked for, simulated results are drawn too, and the caption says so.
    with session(db, read_only=True) as con:
        shows = []
        chosen = narrowed(con, Filters(model="bert-base-uncased", include_simulated=True), shows)
        drawn = queries.compare(con, METRICS["latency"], chosen)
    assert "measured and simulated results (3 simulated)" in shows
    assert set(drawn.column("device_name")) == {"NVIDIA A100", "Sample GPU"}
