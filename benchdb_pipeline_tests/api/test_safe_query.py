"""What `POST /query` accepts, checked by DuckDB's parser alone (no server, no file opened)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from benchdb_pipeline.api.safe_query import Refused, check

ALLOWED = [
    "SELECT 1",
    "FROM performance_results",
    "WITH a AS (SELECT 1 AS x) SELECT * FROM a",
    "SELECT table_name FROM duckdb_tables() ORDER BY 1",
    "SELECT * FROM duckdb_columns WHERE table_name = ?",
    "SELECT * FROM pragma_table_info('models')",
    "SUMMARIZE SELECT 1.5 AS x",
    "DESCRIBE models",
]

REVEALING = {
    "SELECT * FROM duckdb_settings()": "duckdb_settings",
    "SELECT value FROM duckdb_settings() WHERE name = 'temp_directory'": "duckdb_settings",
    "SELECT current_setting('temp_directory')": "current_setting",
    "SELECT path FROM duckdb_databases()": "duckdb_databases",
    "SELECT * FROM duckdb_databases": "duckdb_databases",  # the view
    "SELECT * FROM pg_catalog.pg_settings": "pg_settings",
    "SELECT * FROM pragma_database_list": "pragma_database_list",
    "SELECT * FROM duckdb_temporary_files()": "duckdb_temporary_files",
    "SELECT * FROM duckdb_extensions()": "duckdb_extensions",
    "SELECT 1 WHERE EXISTS (SELECT 1 FROM duckdb_secrets())": "duckdb_secrets",  # nested
    "SELECT upper(CURRENT_SETTING('home_directory'))": "current_setting",  # any case, inside a call
}


@pytest.mark.parametrize("sql", ALLOWED)
def test_selects_pass(sql):
    check(sql)  # no Refused


@pytest.mark.parametrize(("sql", "name"), REVEALING.items())
def test_what_reveals_the_server_is_refused_by_name(sql, name):
    with pytest.raises(Refused, match=f"uses {name}"):
        check(sql)


@pytest.mark.parametrize("sql", ["PRAGMA database_list", "PRAGMA enable_profiling", "SET threads = 1"])
def test_statements_that_are_not_select_are_refused_unexpanded(sql):
    """PRAGMA database_list expands to a SELECT when DuckDB's client prepares it; the parser
    alone sees a PRAGMA."""
    with pytest.raises(Refused, match="only a SELECT"):
        check(sql)


def test_import_database_never_reads_the_folder(tmp_path):
    """The client's statement extraction would open schema.sql and run the SELECT found there;
    the parser refuses without touching it: here schema.sql is a FIFO, which blocks whoever
    opens it. A folder that exists answers as one that does not (no path oracle)."""
    os.mkfifo(tmp_path / "schema.sql")
    (tmp_path / "load.sql").write_text("")
    answers: list[str] = []

    def ask() -> None:
        for folder in (tmp_path, Path("/no/such/folder")):
            try:
                check(f"IMPORT DATABASE '{folder}'")
            except Refused as refused:
                answers.append(str(refused))

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "checking the query opened the folder's schema.sql"
    assert answers == ["only a SELECT is allowed"] * 2


@pytest.mark.parametrize(
    ("sql", "message"),
    [("SELECT 1; SELECT 2", "exactly one statement"), ("SELEC 1", "does not parse"), ("", "exactly one")],
)
def test_other_refusals_say_why(sql, message):
    with pytest.raises(Refused, match=message):
        check(sql)
