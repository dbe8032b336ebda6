"""Every list option of every command takes its values in the three spellings, and the old
flags parse to the options they stand for."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from benchdb_pipeline.cli import main
from benchdb_pipeline.cli_options import Option

# What a command needs before it parses at all.
REQUIRED = {
    "ci-integrate": ["--artifacts-dir", "x"],
    "analyze": ["--analysis", "all"],
    "export": ["--parquet-dir", "x"],
}


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


LISTS = [
    (path, command, param)
    for path, command in _commands(main)
    for param in command.params
    if isinstance(param, Option) and param.listing is not None
]


def _parsed(command: click.Command, path: tuple[str, ...], args: list[str]) -> dict:
    with command.make_context(" ".join(path), [*REQUIRED.get(path[-1], []), *args]) as ctx:
        return ctx.params


def test_every_list_option_is_found():
    names = {(path[-1], param.opts[0]) for path, _, param in LISTS}
    assert {
        ("run", "--hardware"),
        ("run", "--batch-sizes"),
        ("run", "--models"),
        ("ingest", "--categories"),
        ("ingest", "--input-dir"),
        ("regression-check", "--check-metric"),
        ("analyze", "--prediction-features"),
        ("export", "--partition-by"),
        ("serve", "--allowed-host"),
    } <= names


@pytest.mark.parametrize("path, command, param", LISTS, ids=[f"{p[-1]} {o.opts[0]}" for p, _, o in LISTS])
def test_three_spellings_give_the_same_values(path, command, param):
    values = list(param.choices[:2]) if param.choices else ["1", "2"] if param.listing is int else ["a", "b"]
    flag = param.opts[0]
    expected = [param.listing(v) for v in values]
    spellings = ([flag, *values], [flag, ",".join(values)], [flag, values[0], flag, values[1]])
    for args in spellings:
        assert _parsed(command, path, args)[param.name] == expected, args


def test_a_list_stops_at_the_next_option_and_at_a_word_not_its_own():
    run = main.commands["run"]
    params = _parsed(
        run, ("run",), ["--hardware", "cuda", "cpu", "--batch-sizes", "1", "2", "--iterations", "3"]
    )
    assert (
        params["hardware"] == ["cuda", "cpu"]
        and params["batch_sizes"] == [1, 2]
        and params["iterations"] == 3
    )
    ingest = main.commands["ingest"]
    params = _parsed(ingest, ("ingest",), ["--categories", "performance", "hardware", "results/"])
    assert params["categories"] == ["performance", "hardware"] and params["paths"] == (Path("results/"),)
    with pytest.raises(click.BadParameter, match="'speed' is not one of"):
        _parsed(ingest, ("ingest",), ["--categories", "performance,speed"])
    with pytest.raises(click.BadParameter, match="expected comma-separated int values"):
        _parsed(run, ("run",), ["--batch-sizes", "1,two"])


def test_old_spellings_are_the_same_options():
    ingest = main.commands["ingest"]
    old = _parsed(
        ingest, ("ingest",), ["--output-db", "w.duckdb", "--input-dirs", "a,b", "--auto-store", "--validate"]
    )
    new = _parsed(
        ingest, ("ingest",), ["--db", "w.duckdb", "--input-dir", "a", "b", "--incoming", "--check-integrity"]
    )
    assert old == new
    schema = main.commands["schema"].commands["create"]
    assert _parsed(schema, ("schema", "create"), ["--output", "f.duckdb"])["db"] == Path("f.duckdb")
    maintenance = main.commands["maintenance"]
    assert _parsed(maintenance, ("maintenance",), ["--validate"])["check_integrity"] is True
