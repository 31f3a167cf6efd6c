"""Checks of the commands' output arguments before any work is done, and the one message for a full disk."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .main import CLIError

DISK_FULL_ERRORS = (errno.ENOSPC, errno.EDQUOT)


def _writable_ancestor(path: Path, option: str) -> Path:
    """The nearest existing folder of `path` (itself included), after checking that a file can be created in it."""
    ancestor = path
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise CLIError(f"{option} {path}: {ancestor} is a file, not a folder")
    try:
        handle, probe = tempfile.mkstemp(prefix=".avs-robust-write-test-", dir=ancestor)
    except OSError as error:
        raise CLIError(f"{option} {path}: cannot write in {ancestor} ({error.strerror or error})") from error
    os.close(handle)
    os.unlink(probe)
    return ancestor


def check_output_folder(path: str | Path, option: str) -> Path:
    """`path` as a `Path` after checking that it is a folder, or can be created as one, that the user can write."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise CLIError(f"{option} {path} is a file; pass a folder")
    _writable_ancestor(path, option)
    return path


def check_output_file(path: str | Path, option: str, suffixes: Sequence[str] | None = None) -> Path:
    """`path` as a `Path` after checking that it names a file (of one of `suffixes`) in a folder the user can write."""
    path = Path(path)
    if path.is_dir():
        raise CLIError(f"{option} {path} is a folder; pass a file name")
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise CLIError(
            f"{option} {path}: unsupported file type {path.suffix or '(none)'}; use one of {', '.join(suffixes)}"
        )
    _writable_ancestor(path.parent, option)
    return path


@contextmanager
def reporting_full_disk(option: str, path: str | Path, consequence: str) -> Iterator[None]:
    """Turn a full disk (or quota) while the block writes `path` into one `CLIError` saying what was kept."""
    try:
        yield
    except OSError as error:
        if error.errno not in DISK_FULL_ERRORS:
            raise
        raise CLIError(
            f"no space left on the disk of {option} {path} ({error.strerror}): free some space and run the command "
            f"again; {consequence}"
        ) from error


__all__ = ["check_output_file", "check_output_folder", "reporting_full_disk"]
