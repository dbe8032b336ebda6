"""What one chart shows, chosen so that it never misleads, and said in words.

A chart can show one model, one hardware type, one test case and one precision legibly; a
warehouse holds many. Where the caller has not chosen, the value with the most *measured*
results is taken (not the most rows, which simulated data can win), and simulated results are
hidden wherever measured ones exist unless asked for (``Filters.include_simulated=True``).
Every choice is appended to ``shows``, with how many values were left out, and becomes the
chart's caption: the report's ``<figcaption>``, a line under a saved chart, the asset's
preview.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb

from benchdb_pipeline.reports.filters import Filters


def most_measured(con: duckdb.DuckDBPyConnection, column: str, filters: Filters) -> tuple[object, int]:
    """The column's value with the most measured latest results (then the most results), and
    how many other values there are."""
    where, params = filters.where()
    rows = con.execute(
        f"SELECT {column} FROM latest_performance_metrics{where} GROUP BY ALL "
        f"ORDER BY count(*) FILTER (WHERE NOT is_simulated) DESC, count(*) DESC, 1 NULLS LAST",
        params,
    ).fetchall()
    return (rows[0][0], len(rows) - 1) if rows else (None, 0)


def choose(con: duckdb.DuckDBPyConnection, filters: Filters, column: str, label: str, shows: list[str]):
    """The value a chart shows for ``column``, the one with the most measured results, said in
    ``shows`` with how many were left out."""
    value, others = most_measured(con, column, filters)
    if value is not None:
        left = f", {others} other{'s' * (others > 1)} left out" if others else ""
        shows.append(f"{label} {value} (the most measured results{left})" if others else f"{label} {value}")
    return value


def narrowed(con: duckdb.DuckDBPyConnection, filters: Filters, shows: list[str]) -> Filters:
    """The filters of one chart: one test case and precision where none was chosen (those with
    the most measured results), so that it compares like with like and stays legible; measured
    results only where there are any (simulated ones hidden, and counted) unless simulated
    results were asked for. ``shows`` gets each choice in words."""
    chosen = filters
    if chosen.test_case is None:
        chosen = replace(chosen, test_case=choose(con, chosen, "test_case", "test case", shows))
    if chosen.precision is None:
        chosen = replace(chosen, precision=choose(con, chosen, "precision", "precision", shows))
    return measured_first(con, chosen, shows)


def measured_first(con: duckdb.DuckDBPyConnection, filters: Filters, shows: list[str]) -> Filters:
    """Measured results only where there are any, unless simulated ones were asked for;
    ``shows`` says which and how many simulated results are hidden."""
    chosen = filters
    where, params = chosen.where()
    measured, simulated = con.execute(
        "SELECT count(*) FILTER (WHERE NOT is_simulated), count(*) FILTER (WHERE is_simulated) "
        f"FROM latest_performance_metrics{where}",
        params,
    ).fetchone() or (0, 0)
    if measured and simulated and chosen.include_simulated is None:
        shows.append(f"measured results only ({simulated} simulated hidden; --include-simulated shows them)")
        chosen = replace(chosen, include_simulated=False)
    elif measured and simulated:
        shows.append(f"measured and simulated results ({simulated} simulated)")
    elif simulated:
        shows.append("simulated results only (nothing measured)")
    return chosen


def caption(shows: list[str]) -> str:
    """``shows`` as one sentence."""
    return f"Shows {'; '.join(shows)}." if shows else ""
