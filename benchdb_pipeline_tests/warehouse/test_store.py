"""Connections to the warehouse: how many, and for how long."""

from __future__ import annotations

import duckdb
import pytest

from benchdb_pipeline.warehouse.store import sessions


def _open(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        con.execute("SELECT 1")
    except duckdb.ConnectionException:
        return False
    return True


@pytest.mark.parametrize("hold", [False, True])
def test_sessions_of_a_file_share_one_connection_only_when_held(db, hold):
    """Each session of a DuckDB file is a connection of its own, closed as its block ends (an
    open one keeps every other process out), unless the caller holds one for short work."""
    with sessions(db, hold=hold) as opened:
        with opened() as first:
            first.execute("CREATE TABLE t (x INTEGER)")
        still_open = _open(first)
        with opened() as second:
            second.execute("INSERT INTO t VALUES (1)")
        assert still_open is hold and (second is first) is hold
    assert not _open(second)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
