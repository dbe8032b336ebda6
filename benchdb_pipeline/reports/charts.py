"""Charts of warehouse data with seaborn, headless.

Every chart has a title, axis labels with units, a legend outside the plotting area, a log
scale where values span two orders of magnitude or more, and says so when any of its data
is simulated. Where latency percentiles exist (from raw samples) the chart shows p50 with
p90 and p99 whiskers, not just a mean.
"""

from __future__ import annotations

import base64
import io
import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from benchdb_pipeline.reports.filters import LOG_SPAN, Metric  # noqa: E402
from benchdb_pipeline.reports.queries import ResultSet  # noqa: E402

SIMULATED_NOTE = "includes SIMULATED data (not measurements)"
FORMATS = (".png", ".svg", ".pdf")
MAX_SERIES = 16

sns.set_theme(style="whitegrid", context="notebook")


class NoData(ValueError):
    """There is nothing to chart for the given selection."""


class TooManySeries(ValueError):
    """More series than a chart can show legibly; the selection must be narrowed."""


def _check_series(labels: pd.Series) -> list[str]:
    levels = sorted(labels.unique())
    if len(levels) > MAX_SERIES:
        raise TooManySeries(
            f"{len(levels)} series (at most {MAX_SERIES} stay legible); narrow the selection "
            "with --hardware, --precision, --test-case or --batch-size"
        )
    return levels


def _platform(frame: pd.DataFrame) -> pd.Series:
    """``type · device``, plus the machine's other identity (cores, host…) wherever two
    machines share a type and device, so that their results never draw as one line."""
    device = frame["device_name"].fillna("")
    label = frame["hardware_type"].where(device == "", frame["hardware_type"] + " · " + device)
    if "platform_key" not in frame:
        return label
    machines = frame.groupby(label)["platform_key"].transform("nunique")
    identity = frame["platform_key"].str.split("|").str[2:].str.join(" ")
    return label.where((machines <= 1) | (identity == ""), label + " · " + identity)


def _series(frame: pd.DataFrame, within: list[str | pd.Series]) -> pd.Series:
    """Platform, plus whichever of test case, precision and sequence length tell apart the
    results that would otherwise share a bar or a point, so nothing is averaged away."""
    label = _platform(frame)
    for column, name, prefix in (
        ("test_case", "test case", ""),
        ("precision", "precision", ""),
        ("sequence_length", "seq", "seq "),
    ):
        if frame.groupby(within, dropna=False)[column].nunique(dropna=False).max() > 1:
            value = frame[column].map(
                lambda v, name=name, prefix=prefix: (
                    f"{name} n/a" if pd.isna(v) else f"{prefix}{int(v) if isinstance(v, float) else v}"
                )
            )
            label = label + " · " + value
    return label


def _batch_labels(frame: pd.DataFrame) -> tuple[pd.Series, list[str]]:
    """Batch sizes as category labels in numeric order, 'n/a' last for results without one."""
    sizes = sorted(int(b) for b in frame["batch_size"].dropna().unique())
    labels = frame["batch_size"].map(lambda b: "n/a" if pd.isna(b) else str(int(b)))
    return labels, [str(b) for b in sizes] + (["n/a"] if frame["batch_size"].isna().any() else [])


def _palette(levels: list[str]) -> dict[str, tuple]:
    colours = sns.color_palette("tab10" if len(levels) <= 10 else "husl", len(levels))
    return dict(zip(levels, colours, strict=True))


def _finish(
    fig: plt.Figure, ax: plt.Axes, title: str, simulated: bool, values: pd.Series, axis: str = "y"
) -> plt.Figure:
    positive = values[values > 0]
    if len(positive) and positive.max() / positive.min() >= LOG_SPAN:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    ax.set_title(title + (f"\n[{SIMULATED_NOTE}]" if simulated else ""), color="black", fontsize=12)
    if simulated:
        fig.text(0.99, 0.01, "SIMULATED", ha="right", va="bottom", fontsize=9, color="#b00020", alpha=0.8)
    legend = ax.get_legend()
    if legend is not None:
        sns.move_legend(
            ax, "upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8, title_fontsize=9
        )
    fig.tight_layout()
    return fig


def _latency_bars(frame: pd.DataFrame) -> pd.Series:
    """p50 where raw samples gave one, else the average."""
    return frame["latency_p50_ms"].fillna(frame["value"])


def _whiskers(ax: plt.Axes, frame: pd.DataFrame, order: list[str], hue_order: list[str]) -> None:
    """p90 tick and p99 whisker over each bar whose result has percentiles.

    With explicit orders, seaborn draws one container per hue level and, in it, one bar per
    x level, so each bar is found by position.
    """
    spread: dict[tuple[Any, Any], tuple[Any, Any]] = {
        (row.platform, row.batch): (row.p90, row.p99)
        for row in frame.dropna(subset=["latency_p90_ms", "latency_p99_ms"])
        .rename(columns={"batch size": "batch", "latency_p90_ms": "p90", "latency_p99_ms": "p99"})
        .itertuples()
    }
    for container, hue in zip(ax.containers, hue_order, strict=False):
        for bar, x in zip(container, order, strict=False):
            if (hue, x) not in spread:
                continue
            p90, p99 = spread[(hue, x)]
            centre, width = bar.get_x() + bar.get_width() / 2, bar.get_width()
            ax.vlines(centre, bar.get_height(), p99, color="#222", lw=0.9)
            ax.hlines([p90, p99], centre - width / 4, centre + width / 4, color="#222", lw=0.9)


def compare_hardware(result: ResultSet, metric: Metric, model: str) -> plt.Figure:
    """One model's metric on every platform, by batch size."""
    frame = result.frame()
    if frame.empty:
        raise NoData(f"no {metric.name} results for model {model}")
    frame["batch size"], order = _batch_labels(frame)
    frame["platform"] = _series(frame, [_platform(frame), "batch size"])
    hue_order = _check_series(frame["platform"])
    latency = metric.name == "latency"
    frame["bar"] = _latency_bars(frame) if latency else frame["value"]
    fig, ax = plt.subplots(figsize=(max(7, 1.2 * len(order) + 4), 5))
    sns.barplot(
        frame,
        x="batch size",
        y="bar",
        hue="platform",
        order=order,
        hue_order=hue_order,
        palette=_palette(hue_order),
        ax=ax,
        errorbar=None,
    )
    if latency:
        _whiskers(ax, frame, order, hue_order)
    ax.set_xlabel("Batch size")
    ax.set_ylabel("Latency (ms)" if latency else metric.axis_label)
    if latency:
        fig.text(
            0.01,
            0.01,
            "Bars: p50 where raw samples exist, else the average. Whiskers: p90 and p99.",
            fontsize=8,
        )
    spread = frame["latency_p99_ms"].dropna() if latency else pd.Series([], dtype=float)
    title = "latency" if latency else metric.label.lower()
    return _finish(
        fig, ax, f"{model}: {title} by hardware", result.any_simulated, pd.concat([frame["bar"], spread])
    )


def compare_models(result: ResultSet, metric: Metric, hardware: str) -> plt.Figure:
    """Every model's metric on one platform type; one row per model, points per batch size."""
    frame = result.frame()
    if frame.empty:
        raise NoData(f"no {metric.name} results on hardware {hardware}")
    frame["batch size"], batches = _batch_labels(frame)
    models = frame["model_name"].nunique()
    fig, ax = plt.subplots(figsize=(9, max(4, 0.32 * models + 1.5)))
    order = (
        frame.groupby("model_name")["value"].max().sort_values(ascending=not metric.higher_is_better).index
    )
    sns.stripplot(
        frame,
        y="model_name",
        x="value",
        hue="batch size",
        hue_order=batches,
        order=order,
        ax=ax,
        jitter=False,
        size=6,
        linewidth=0.4,
        palette="viridis",
    )
    ax.set_ylabel("Model")
    ax.set_xlabel(metric.axis_label)
    return _finish(
        fig, ax, f"{metric.label} of models on {hardware}", result.any_simulated, frame["value"], axis="x"
    )


def trend(result: ResultSet, metric: Metric, model: str, hardware: str) -> plt.Figure:
    """A metric over time for one model on one platform type, one line per configuration."""
    frame = result.frame()
    if frame.empty:
        raise NoData(f"no {metric.name} history for {model} on {hardware}")
    frame["configuration"] = (
        "batch "
        + _batch_labels(frame)[0]
        + " · "
        + frame["precision"].fillna("n/a")
        + " · "
        + _platform(frame)
    )
    _check_series(frame["configuration"])
    palette = _palette(list(frame.sort_values(["batch_size", "precision"])["configuration"].unique()))
    fig, ax = plt.subplots(figsize=(10, 5))
    sns.lineplot(
        frame,
        x="measured_at",
        y="value",
        hue="configuration",
        palette=palette,
        hue_order=list(palette),
        marker="o",
        ax=ax,
        errorbar=None,
    )
    if metric.name == "latency":
        banded = frame.dropna(subset=["latency_p50_ms", "latency_p99_ms"])
        for configuration, rows in banded.groupby("configuration"):
            ax.fill_between(
                rows["measured_at"],
                rows["latency_p50_ms"],
                rows["latency_p99_ms"],
                color=palette[configuration],
                alpha=0.15,
                lw=0,
            )
    ax.set_xlabel("Measured at")
    ax.set_ylabel(metric.axis_label + (" (band: p50–p99)" if metric.name == "latency" else ""))
    fig.autofmt_xdate()
    return _finish(
        fig,
        ax,
        f"{model} on {hardware}: {metric.label.lower()} over time",
        result.any_simulated,
        frame["value"],
    )


def batch_scaling(result: ResultSet, metric: Metric, model: str) -> plt.Figure:
    """How a metric scales with batch size, per platform and precision."""
    frame = result.frame().dropna(subset=["batch_size"])
    if frame.empty:
        raise NoData(f"no {metric.name} results with a batch size for model {model}")
    frame["series"] = _series(frame, [_platform(frame), "batch_size"])
    fig, ax = plt.subplots(figsize=(9, 5))
    sns.lineplot(
        frame,
        x="batch_size",
        y="value",
        hue="series",
        palette=_palette(_check_series(frame["series"])),
        marker="o",
        ax=ax,
        errorbar=None,
    )
    ax.set_xscale("log", base=2)
    ticks = sorted(frame["batch_size"].unique())
    ax.set_xticks(ticks, [str(int(t)) for t in ticks])
    ax.set_xlabel("Batch size (log scale)")
    ax.set_ylabel(metric.axis_label)
    return _finish(
        fig, ax, f"{model}: {metric.label.lower()} vs batch size", result.any_simulated, frame["value"]
    )


def compatibility_matrix(result: ResultSet) -> plt.Figure:
    """Model × hardware: compatible, not compatible, or unknown."""
    frame = result.frame()
    if frame.empty:
        raise NoData("no compatibility results")
    frame["verdict"] = frame["is_compatible"].map({True: 1.0, False: 0.0}).astype(float)
    matrix = frame.pivot_table(index="model", columns="hardware_type", values="verdict", aggfunc="min")
    labels = matrix.map(lambda v: "" if np.isnan(v) else ("✓" if v == 1 else "✗"))
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * matrix.shape[1] + 3), max(3, 0.32 * matrix.shape[0] + 1.5)))
    sns.heatmap(
        matrix,
        annot=labels,
        fmt="",
        cmap=sns.color_palette(["#d9534f", "#5cb85c"]),
        vmin=0,
        vmax=1,
        cbar=False,
        linewidths=0.5,
        linecolor="white",
        ax=ax,
        annot_kws={"fontsize": 9},
    )
    ax.set_xlabel("Hardware type")
    ax.set_ylabel("Model (or family)")
    ax.set_facecolor("#eeeeee")
    fig.text(0.01, 0.01, "✓ compatible   ✗ not compatible   grey: not tested", fontsize=8)
    return _finish(fig, ax, "Hardware compatibility", result.any_simulated, pd.Series([], dtype=float))


def with_caption(fig: plt.Figure, text: str) -> plt.Figure:
    """A line under the chart saying what it shows and what it left out: a saved file has no
    page around it to say so."""
    if text:
        fig.text(0.01, 0.0, textwrap.fill(text, 130), ha="left", va="top", fontsize=8, color="#333333")
    return fig


def save(fig: plt.Figure, path: str | Path) -> Path:
    """Write a chart; the file's suffix decides the format (png, svg or pdf)."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"{path}: choose a .png, .svg or .pdf file")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def data_uri(fig: plt.Figure) -> str:
    """The chart as an embedded PNG (for self-contained HTML and Markdown previews)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
