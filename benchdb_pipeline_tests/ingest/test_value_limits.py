"""Values that should never be stored are refused with the record and the field, and what
is printed never carries control characters raw."""

from __future__ import annotations

import json

import pytest

from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.warehouse.store import session
from benchdb_pipeline_tests.conftest import query
from benchdb_pipeline_tests.test_cli import benchdb

GOOD = {"model_name": "bert-base-uncased", "hardware_type": "cpu", "throughput": 10.0}


@pytest.mark.parametrize(
    ("record", "field", "says"),
    [
        ({**GOOD, "throughput": 1e308}, "throughput", "is not a measurement"),
        ({**GOOD, "latency_ms": 1e300}, "latency_ms", "is not a measurement"),
        ({**GOOD, "model_name": "m" * 10_000_000}, "model_name", "text of 10,000,000 characters"),
        ({**GOOD, "model_name": "bert\u0000base"}, "model_name", "control characters"),
        ({**GOOD, "device_name": "\u001b[31mRTX\u001b[0m"}, "device_name", "control characters"),
        ({**GOOD, "notes": "x" * 2_000_000}, "metrics", "MB of extra fields"),
    ],
    ids=["throughput-1e308", "latency-1e300", "name-10MB", "name-NUL", "device-ANSI", "extra-2MB"],
)
def test_implausible_values_are_refused_naming_record_and_field(tmp_path, db, record, field, says):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([GOOD, record]))
    report = ingest(db, [path], workers=1)
    [refused] = report.quarantined
    assert f"record $[1]: field '{field}'" in refused.error and says in refused.error, refused.error
    assert query(db, "SELECT count(*) FROM performance_results") == [(0,)]  # all or nothing


def test_tracebacks_keep_their_line_breaks(tmp_path, db):
    path = tmp_path / "compat.json"
    error = "Traceback (most recent call last):\n\tFile 'x.py', line 1\nRuntimeError: no kernel"
    path.write_text(
        json.dumps(
            {"model": "bert-base-uncased", "compatibility": {"cuda": {"compatible": False, "error": error}}}
        )
    )
    assert ingest(db, [path], workers=1).count("ingested") == 1
    assert query(db, "SELECT error_message FROM hardware_compatibility") == [(error,)]


def test_printed_text_never_carries_control_characters(tmp_path, db):
    (tmp_path / "rows.json").write_text(json.dumps([GOOD]))
    ingest(db, [tmp_path / "rows.json"], workers=1)
    with session(db) as con:  # as a warehouse written before these checks could hold it
        con.execute("UPDATE models SET display_name = 'bert\u001b[2Jbase=1+2'")
    for fmt in ("table", "csv", "markdown"):
        shown = benchdb("query", "--report", "performance", "--format", fmt, db=db)
        assert shown.returncode == 0, shown.stderr
        assert "\u001b" not in shown.stdout and "bert\\x1b[2Jbase" in shown.stdout, (fmt, shown.stdout)


def test_csv_cells_are_never_formulas_and_markdown_never_html(tmp_path, db):
    (tmp_path / "rows.json").write_text(
        json.dumps(
            [{**GOOD, "model_name": '=HYPERLINK("http://evil")', "test_case": "<img src=x onerror=alert(1)>"}]
        )
    )
    ingest(db, [tmp_path / "rows.json"], workers=1)
    csv_out = benchdb("query", "--report", "performance", "--format", "csv", db=db).stdout
    assert "'=HYPERLINK" in csv_out and "\n=HYPERLINK" not in csv_out
    markdown = benchdb("query", "--report", "performance", "--format", "markdown", db=db).stdout
    assert "&lt;img src=x onerror=alert(1)&gt;" in markdown and "<img" not in markdown


ROW = '{"model_name": "bert", "hardware_type": "cpu", "throughput": %s, "metrics": {"k": %s}}'


@pytest.mark.parametrize(
    ("text", "field", "locator"),
    [
        ("[" + ROW % ('10.0, "throughput": 20.0', "1") + "]", "throughput", "$[0]"),
        ("[" + ROW % ("10.0", '1, "k": 2') + "]", "k", "$[0].metrics"),  # nested
        (
            "[" + ROW % ("10.0", "1") + "," + ROW % ('5.0 , "throughput" : 6.0', "1") + "]",
            "throughput",
            "$[1]",
        ),
    ],
    ids=["top-level", "nested", "spaced-colons"],
)
def test_keys_given_twice_with_different_values_quarantine_the_file(tmp_path, db, text, field, locator):
    path = tmp_path / "rows.json"
    path.write_text(text)
    [refused] = ingest(db, [path], workers=1).quarantined
    assert f"record {locator}: field '{field}': given 2 times with different values" in refused.error
    assert query(db, "SELECT count(*) FROM performance_results") == [(0,)]


@pytest.mark.parametrize(
    "text",
    [
        "[" + ROW % ('10.0, "throughput": 10.0', "1") + "]",  # the same value twice: one value
        "[" + ROW % ("10.0", '"a\\":b\\u0022:"') + "]",  # quotes and colons inside strings
        '[{"model_name" : "bert", "hardware_type" :"cpu", "throughput":\n 10.0}]',  # spaced colons
    ],
    ids=["equal-values", "quoted-colons", "spaced"],
)
def test_files_without_conflicting_keys_go_in(tmp_path, db, text):
    path = tmp_path / "rows.json"
    path.write_text(text)
    report = ingest(db, [path], workers=1)
    assert not report.quarantined, report.quarantined
    assert query(db, "SELECT count(*) FROM performance_results") == [(1,)]
