"""Charts at the size the issue asks for: 30 models × 8 platforms, readable, labelled."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from benchdb_pipeline.reports import charts, queries
from benchdb_pipeline.reports.filters import METRICS, Filters
from benchdb_pipeline.warehouse.store import session

MODEL = "synthetic-model-004"


def draw(db, which):
    throughput, latency = METRICS["throughput"], METRICS["latency"]
    with session(db, read_only=True) as con:
        return {
            "compare_hardware": lambda: charts.compare_hardware(
                queries.compare(con, latency, Filters(model=MODEL)), latency, MODEL
            ),
            "compare_models": lambda: charts.compare_models(
                queries.compare(con, throughput, Filters(hardware="cuda")), throughput, "cuda"
            ),
            "trend": lambda: charts.trend(
                queries.history(con, latency, Filters(model=MODEL, hardware="cuda", precision="fp32")),
                latency,
                MODEL,
                "cuda",
            ),
            "batch_scaling": lambda: charts.batch_scaling(
                queries.compare(con, throughput, Filters(model=MODEL)), throughput, MODEL
            ),
            "compatibility": lambda: charts.compatibility_matrix(queries.compatibility(con, Filters())),
        }[which]()


@pytest.mark.parametrize("which", ["compare_hardware", "compare_models", "trend", "batch_scaling"])
def test_every_chart_is_labelled_and_flags_simulated_data(large_db, which):
    figure = draw(large_db, which)
    ax = figure.axes[0]
    assert ax.get_title() and "SIMULATED" in ax.get_title()
    assert "(" in ax.get_xlabel() + ax.get_ylabel()  # a unit on the value axis
    legend = ax.get_legend()
    assert legend is not None
    anchor = legend.get_bbox_to_anchor().transformed(ax.transAxes.inverted())
    assert anchor.x0 >= 1.0  # the legend sits outside the plotting area
    plt.close(figure)


def test_log_scale_when_values_span_orders_of_magnitude(large_db):
    figure = draw(large_db, "compare_hardware")
    assert figure.axes[0].get_yscale() == "log"
    plt.close(figure)


def test_thirty_models_stay_readable(large_db):
    figure = draw(large_db, "compare_models")
    ax = figure.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 30 and all(labels)
    height_per_model = figure.get_size_inches()[1] * figure.dpi / 30
    assert height_per_model >= 20  # pixels per row: labels do not overlap
    plt.close(figure)


@pytest.mark.parametrize("suffix,magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_output_format_follows_the_suffix(large_db, tmp_path, suffix, magic):
    path = charts.save(draw(large_db, "batch_scaling"), tmp_path / f"scaling{suffix}")
    assert path.read_bytes().startswith(magic)


def test_no_data_is_an_error(large_db):
    with session(large_db, read_only=True) as con, pytest.raises(charts.NoData):
        charts.compare_hardware(
            queries.compare(con, METRICS["latency"], Filters(model="absent")), METRICS["latency"], "absent"
        )
