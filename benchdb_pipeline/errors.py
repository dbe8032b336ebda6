"""Errors that reach users, each with the old system's code so scripts can match on it."""

from __future__ import annotations


class BenchdbError(Exception):
    """Base error; ``code`` is printed in front of the message (``DB001: ...``)."""

    code = "DB000"

    def __str__(self) -> str:
        return f"{self.code}: {super().__str__()}"


class DatabaseConnectionError(BenchdbError):
    """The database file could not be opened (missing folder, lock held too long, corrupt)."""

    code = "DB001"


class SchemaError(BenchdbError):
    """The schema could not be created or migrated, or is newer than this code."""

    code = "DB002"


class ConversionError(BenchdbError):
    """A batch of result files could not be converted and stored."""

    code = "DB003"


class QueryError(BenchdbError):
    """A query failed or was refused."""

    code = "DB004"
