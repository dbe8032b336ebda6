"""Finding result files: which paths are read, and why the others are not.

Only regular files are read. A symlink is resolved once, here, and the file it leads to is
read; a link that dangles, loops, or leads out of the folder being walked is refused (a
symlinked folder inside it is not followed: its files are found where it really is), as is
anything that is not a regular file (a FIFO would block a reader, ``/dev/zero`` never ends).
Folders that cannot be listed and files that cannot be read are reported with the reason,
never skipped silently; they do not stop the other files.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SKIPPED_SUFFIXES = (".tmp", ".part", ".partial", ".swp")


TEXT_SUFFIXES = (".txt", ".log", ".out", ".xml")


def is_result_file(name: str) -> bool:
    """A *.json file (any case) that is neither hidden nor still being written."""
    lower = name.lower()
    return lower.endswith(".json") and not name.startswith(".") and not lower.endswith(SKIPPED_SUFFIXES)


def is_text_candidate(name: str) -> bool:
    """A *.txt, *.log, *.out or *.xml file (not hidden): read when its start is a known text
    format (``go test -bench`` output, say), skipped and counted otherwise."""
    return name.lower().endswith(TEXT_SUFFIXES) and not name.startswith(".")


def is_text_result(path: str) -> bool:
    """Whether a text candidate's start is a known text format (reads its first 64 KB)."""
    from benchdb_pipeline.ingest.formats import TEXT_HEAD_BYTES, text_format_of

    try:
        with open(path, "rb") as handle:
            return text_format_of(handle.read(TEXT_HEAD_BYTES)) is not None
    except OSError:
        return False


def shown(path: str) -> str:
    """A path as text that can be stored and printed: bytes that are not UTF-8 (a file name
    from another system) appear as ``\\xNN`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class Unreadable:
    """A path that was not read, and why."""

    path: str
    reason: str


class Discovered(list):
    """The result files found (real paths, each once, sorted), how many other files the
    folders held (``skipped``; ``skipped_text`` of them text files in no known text format),
    and what could not be read (``unreadable``)."""

    skipped: int = 0
    skipped_text: int = 0
    unreadable: tuple[Unreadable, ...] = ()


def _why(error: OSError) -> str:
    return error.strerror or type(error).__name__


def _regular(path: str, within: str | None) -> tuple[str | None, str | None]:
    """(the real path to read, None) or (None, why it is refused)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if os.path.islink(path):
            return None, "a symlink that loops" if exc.errno == errno.ELOOP else "a dangling symlink"
        return None, f"cannot be read: {_why(exc)}"
    real = os.path.realpath(path)
    if within is not None and os.path.commonpath([real, within]) != within:
        return None, f"a symlink leading out of {shown(within)} (to {shown(real)})"
    if not stat.S_ISREG(mode):
        return None, "not a regular file (a FIFO, device or socket is never read)"
    return real, None


def _walk(root: str, found: set[str], refused: list[Unreadable]) -> tuple[int, int]:
    """Add the result files under ``root`` to ``found`` and what cannot be read to
    ``refused``; returns how many other files were skipped, and how many of those were text
    files of no known format. Entries' types come from the directory listing, so a regular
    file costs no extra system call; only symlinks are resolved."""
    skipped = skipped_text = 0
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            refused.append(Unreadable(shown(folder), f"folder cannot be listed: {_why(exc)}"))
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if not entry.name.startswith("."):
                    folders.append(entry.path)
            elif entry.is_symlink() and os.path.isdir(entry.path):
                # Not followed: inside the folder, its files are walked where they really are.
                if os.path.commonpath([os.path.realpath(entry.path), root]) != root:
                    refused.append(
                        Unreadable(shown(entry.path), f"a symlinked folder leading out of {shown(root)}")
                    )
            elif not is_result_file(entry.name) and not is_text_candidate(entry.name):
                skipped += 1
            elif is_text_candidate(entry.name) and entry.is_file() and not is_text_result(entry.path):
                skipped += 1
                skipped_text += 1
            elif entry.is_file(follow_symlinks=False):
                found.add(entry.path)
            else:
                real, why = _regular(entry.path, root)
                if real:
                    found.add(real)
                else:
                    refused.append(Unreadable(shown(entry.path), why or ""))
    return skipped, skipped_text


def discover(paths: Iterable[str | Path]) -> Discovered:
    """Result files under the given paths: folders recursively (``*.json``, any case, and
    text files whose start is a known text format), files as given. Hidden files and folders and files still being written (``*.tmp``,
    ``*.part``) are skipped and counted. A path that does not exist is a usage error
    (FileNotFoundError); one that exists but cannot be read is reported in ``unreadable``.
    """
    found: set[str] = set()
    refused: list[Unreadable] = []
    skipped = skipped_text = 0
    for raw in paths:
        path = str(Path(raw).expanduser())
        if not os.path.lexists(path):
            raise FileNotFoundError(f"no such file or folder: {raw}")
        if not os.path.isdir(path):
            real, why = _regular(path, None)
            if real:
                found.add(real)
            else:
                refused.append(Unreadable(shown(os.path.abspath(path)), why or ""))
            continue
        walked = _walk(os.path.realpath(path), found, refused)
        skipped, skipped_text = skipped + walked[0], skipped_text + walked[1]
    result = Discovered(sorted(found))
    result.skipped, result.skipped_text, result.unreadable = skipped, skipped_text, tuple(refused)
    return result
