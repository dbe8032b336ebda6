"""Render a result set as a text table, CSV, JSON or Markdown."""

from __future__ import annotations

import csv
import html
import io
import math
from collections.abc import Sequence
from datetime import date, datetime

import orjson

from benchdb_pipeline.ingest.rules import CONTROL_CHARACTERS

FORMATS = ("table", "csv", "json", "markdown")
MAX_CELL = 60
# A CSV cell starting so is a formula to a spreadsheet (OWASP's list): written with a quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def printable(text: str) -> str:
    """Text with its control characters (NUL, ESC, …) shown as ``\\xNN``, never raw."""
    return CONTROL_CHARACTERS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def markdown_text(text: str) -> str:
    """Text for a Markdown table or line: printable, HTML and pipes escaped."""
    return html.escape(printable(text), quote=False).replace("|", "\\|")


def _csv_cell(value: object) -> object:
    if not isinstance(value, str):
        return value
    value = printable(value)
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def fmt(value: object) -> str:
    """A value as a page shows it: missing as a dash, numbers to four significant digits (whole
    past a thousand), times to the second."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


def _cell(value: object, max_cell: int | None = MAX_CELL) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (datetime, date)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    text = printable(str(value).replace("\n", " "))
    return text if max_cell is None or len(text) <= max_cell else text[: max_cell - 1] + "…"


def render(
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    fmt: str = "table",
    max_cell: int | None = MAX_CELL,
) -> str:
    """One result set in the requested format; NULL stays visible (never an empty string).

    Text cells are cut at ``max_cell`` characters in table and Markdown output (None: never).
    """
    if fmt == "json":
        records = [dict(zip(columns, row, strict=True)) for row in rows]
        return orjson.dumps(records, option=orjson.OPT_INDENT_2, default=str).decode()
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([_csv_cell(c) for c in columns])
        writer.writerows([_csv_cell(v) if type(v) is str else v for v in row] for row in rows)
        return buffer.getvalue().rstrip("\n")
    cells = [[_cell(v, max_cell) for v in row] for row in rows]
    if fmt == "markdown":

        def md_row(values: Sequence[str]) -> str:
            return "| " + " | ".join(markdown_text(v) for v in values) + " |"

        lines = [md_row(columns), md_row(["---"] * len(columns))]
        return "\n".join(lines + [md_row(row) for row in cells])
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    out = [line(columns), line(["-" * w for w in widths])] + [line(row) for row in cells]
    out.append(f"({len(rows)} row{'s' * (len(rows) != 1)})")
    return "\n".join(out)
