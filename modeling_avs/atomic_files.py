"""Atomic writes of files and folders: the one way the package writes its outputs.

Everything is written under a temporary name in the target's folder and renamed into place, so a killed writer
leaves the previous content or the new one, never a partial file. Temporary names follow one scheme,
`.<name>.<pid>-<random>.tmp`, so that what killed writers left behind can be deleted: every atomic write first
deletes the stale temporaries of its own target (`remove_stale_temporaries_of`), and `remove_stale_temporaries`
cleans a whole output folder.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_TEMPORARY_NAME = re.compile(r"^\..+\.(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")


def temporary_path(path: str | Path) -> Path:
    """A fresh temporary name next to `path`: `.<name>.<pid>-<random>.tmp` (per process: concurrent writers, e.g.
    distributed ranks, never share one)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def is_temporary(name: str) -> bool:
    """Whether `name` is a temporary name of this module's scheme (see `temporary_path`)."""
    return _TEMPORARY_NAME.match(name) is not None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """
    Yield a temporary file path next to `path` (parent folders are created); when the block succeeds the file written
    there replaces `path`, otherwise it is deleted. The temporary name has no suffix of its own: tell writers the
    format (e.g. `figure.savefig(temporary, format="png")`). Stale temporaries of `path` are deleted first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries_of(path)
    temporary = temporary_path(path)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        _remove(temporary)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically; returns `path`."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically; returns `path`."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, payload: Any, indent: int | None = 2, **dumps_kwargs) -> Path:
    """Write `payload` as JSON (with a final newline) to `path` atomically; returns `path`."""
    return write_text_atomic(path, json.dumps(payload, indent=indent, **dumps_kwargs) + "\n")


@contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """
    Yield an empty temporary folder next to `path`; when the block succeeds it replaces `path` (an existing folder is
    renamed aside first and deleted after the swap), otherwise it is deleted. Stale temporaries of `path` are deleted
    first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries_of(path)
    temporary = temporary_path(path)
    temporary.mkdir()
    try:
        yield temporary
        previous = temporary_path(path) if path.exists() else None
        if previous is not None:
            os.replace(path, previous)
        os.replace(temporary, path)
        if previous is not None:
            _remove(previous)
    finally:
        _remove(temporary)


def _process_is_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temporaries_of(path: str | Path) -> list[Path]:
    """
    Delete the temporaries of `path` (`.<name>.<pid>-<random>.tmp` next to it, see `temporary_path`) whose writer is
    no longer running on this machine. Returns the deleted paths; a missing folder is fine.
    """
    path = Path(path)
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(?P<pid>\d+)-[0-9a-f]{{8}}\.tmp$")
    try:
        names = os.listdir(path.parent)
    except (FileNotFoundError, NotADirectoryError):
        return []
    removed = []
    for name in names:
        match = pattern.match(name)
        if match and not _process_is_running(int(match["pid"])):
            _remove(path.parent / name)
            removed.append(path.parent / name)
    return removed


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """
    Delete the temporary files and folders (see `temporary_path`) under `folder` whose writer is no longer running on
    this machine, e.g. killed in the middle of a write. Returns the deleted paths; a missing `folder` is fine.
    """
    removed = []
    for root, directories, files in os.walk(folder):
        for name in [*directories, *files]:
            match = _TEMPORARY_NAME.match(name)
            if match and not _process_is_running(int(match["pid"])):
                _remove(Path(root, name))
                removed.append(Path(root, name))
        directories[:] = [name for name in directories if Path(root, name) not in removed]
    return removed


__all__ = [
    "atomic_directory",
    "atomic_path",
    "is_temporary",
    "remove_stale_temporaries",
    "remove_stale_temporaries_of",
    "temporary_path",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_text_atomic",
]
