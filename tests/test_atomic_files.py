"""Atomic writes: complete files or none, folders swapped whole, and the leftovers of killed writers removed."""

import os
import subprocess
import sys

import pytest

from modeling_avs.atomic_files import (
    atomic_directory,
    atomic_path,
    remove_stale_temporaries,
    temporary_path,
    write_json_atomic,
)


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    target = write_json_atomic(tmp_path / "results.json", {"score": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half a file")
        raise RuntimeError("killed")
    assert target.read_text() == '{\n  "score": 1\n}\n'
    assert [path.name for path in tmp_path.iterdir()] == ["results.json"]


def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path):
    target = tmp_path / "models" / "robust"
    with atomic_directory(target) as temporary:
        (temporary / "config.json").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(target) as temporary:
        (temporary / "config.json").write_text("new")
        raise RuntimeError("killed")
    assert (target / "config.json").read_text() == "old"
    with atomic_directory(target) as temporary:
        (temporary / "model.safetensors").write_text("new")
    assert sorted(path.name for path in target.iterdir()) == ["model.safetensors"]
    assert [path.name for path in target.parent.iterdir()] == ["robust"]


def test_only_the_temporaries_of_writers_that_are_gone_are_removed(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(finished.stdout)
    (tmp_path / "plots").mkdir()
    dead_file = tmp_path / "plots" / f".bars.png.{dead_pid}-0123abcd.tmp"
    dead_file.write_text("partial")
    dead_folder = tmp_path / f".robust.{dead_pid}-89abcdef.tmp"
    (dead_folder / "nested").mkdir(parents=True)
    alive = temporary_path(tmp_path / "results.json")  # this process is still writing it
    alive.write_text("in progress")
    kept = [tmp_path / ".hidden_user_file", tmp_path / "results.tmp"]
    for path in kept:
        path.write_text("not a temporary of ours")
    assert sorted(remove_stale_temporaries(tmp_path)) == sorted([dead_file, dead_folder])
    assert not dead_file.exists() and not dead_folder.exists()
    assert alive.exists() and all(path.exists() for path in kept)
    assert alive.name.startswith(f".results.json.{os.getpid()}-")
