"""How the ``benchdb`` command reads its options: lists in every spelling, and the old flags.

A list option takes its values repeated (``--hardware cuda --hardware cpu``), comma-separated
(``--hardware cuda,cpu``) or space-separated after one flag (``--hardware cuda cpu``, as the
old scripts' ``nargs='+'`` did): the values run up to the next option, or, for a list of
choices or numbers, up to the first word that is not one. An old spelling is the same option
under the old script's name: accepted with the same meaning, kept out of the option list and
named under "Old spellings" at the end of ``--help``. An old flag that has no meaning here
any more is refused with what to use instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click


def _parts(word: str) -> list[str]:
    return [part.strip() for part in word.split(",") if part.strip()]


class Option(click.Option):
    """A click option with old spellings (``old=``) and, with ``listing=`` (the item type),
    the three spellings of a list; ``choices=`` limits a list's items."""

    def __init__(
        self,
        param_decls: Sequence[str],
        *,
        old: Sequence[str] = (),
        listing: Callable[[str], Any] | None = None,
        choices: Sequence[str] | None = None,
        **attrs: Any,
    ) -> None:
        self.old = tuple(old)
        self.listing = listing
        self.choices = tuple(choices) if choices else None
        if listing is not None:
            attrs["multiple"] = True
            attrs["callback"] = self._split
            if self.choices and "metavar" not in attrs:
                attrs["metavar"] = f"[{'|'.join(self.choices)}]…"
        super().__init__([*param_decls, *old], **attrs)

    @property
    def current(self) -> list[str]:
        """The option's own names (its old spellings left out)."""
        return [name for name in self.opts if name not in self.old]

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        every, self.opts = self.opts, self.current
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = every

    def _item(self, part: str) -> Any:
        if self.choices and part not in self.choices:
            raise ValueError(f"{part!r} is not one of {', '.join(self.choices)}")
        assert self.listing is not None
        return self.listing(part)

    def _takes(self, word: str) -> bool:
        """Whether a word after this option's values is one more of them."""
        if word.startswith("-") or not _parts(word):
            return False
        try:
            [self._item(part) for part in _parts(word)]
        except ValueError:
            return False
        return True

    def _split(self, ctx: click.Context, param: click.Parameter, values: Sequence[str] | None) -> list:
        try:
            return [self._item(part) for value in values or () for part in _parts(str(value))]
        except ValueError as exc:
            kind = getattr(self.listing, "__name__", "text")
            raise click.BadParameter(
                f"{exc}" if self.choices else f"expected comma-separated {kind} values ({exc})", ctx, param
            ) from None

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        if self.listing is None:
            return
        # click's parser knows one value per flag; the words after it that are values too are
        # given to the same option, as if the flag had been repeated.
        target = next(parser._long_opt.get(o) or parser._short_opt.get(o) for o in self.opts)
        original = target.process

        def process(value: Any, state: Any) -> None:
            original(value, state)
            while state.rargs and self._takes(state.rargs[0]):
                original(state.rargs.pop(0), state)

        target.process = process


class Moved(click.Option):
    """An old flag whose meaning moved elsewhere: hidden, and refused with ``instead``."""

    def __init__(self, param_decls: Sequence[str], *, instead: str, **attrs: Any) -> None:
        self.instead = instead
        attrs.update(hidden=True, expose_value=False, callback=self._refuse)
        super().__init__(param_decls, **attrs)

    def _refuse(self, ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value not in (None, False, ()):
            raise click.UsageError(f"{self.opts[0]} is the old scripts' flag: {self.instead}", ctx)


class Command(click.Command):
    """A command whose ``--help`` ends with its old spellings and moved flags."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        old = [
            (", ".join(p.old), f"the same as {' / '.join(p.current)}")
            for p in self.params
            if isinstance(p, Option) and p.old
        ]
        moved = [(p.opts[0], p.instead) for p in self.params if isinstance(p, Moved)]
        if old or moved:
            with formatter.section("Old spellings (the old scripts' flags)"):
                formatter.write_dl(old + moved)


class Group(click.Group):
    """The ``benchdb`` group: its commands and sub-groups are of the classes above."""

    command_class = Command
    group_class = type


def option(*param_decls: str, **attrs: Any) -> Callable:
    """``click.option`` with this module's ``Option`` (``old=``, ``listing=``, ``choices=``)."""
    return click.option(*param_decls, cls=Option, **attrs)


def moved(*param_decls: str, instead: str, **attrs: Any) -> Callable:
    """An old flag refused with ``instead`` (a flag unless ``is_flag=False`` is given)."""
    attrs.setdefault("is_flag", True)
    return click.option(*param_decls, cls=Moved, instead=instead, **attrs)
