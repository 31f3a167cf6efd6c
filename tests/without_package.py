"""Run Python code in a subprocess where modeling_avs cannot be imported, as for a Hub user without the package."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

# Prepended to the script: any import of modeling_avs fails, whatever the environment has installed.
HIDE_PACKAGE = """
import sys

class _HiddenPackage:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "modeling_avs":
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by the test)")

sys.meta_path.insert(0, _HiddenPackage())
"""


def run_without_package(script: str, workdir: Path, *args: str, timeout: int = 600) -> str:
    """Run `script` (dedented) with `args` in `workdir` with modeling_avs hidden, offline, with its own module caches;
    returns its stdout and fails the test with its stderr when it fails."""
    environment = {
        **os.environ,
        "PYTHONPATH": "",
        "HF_HUB_OFFLINE": "1",
        "HF_MODULES_CACHE": str(workdir / "hf_modules"),
        "HF_EVALUATE_OFFLINE": "1",
    }
    completed = subprocess.run(
        [sys.executable, "-c", HIDE_PACKAGE + textwrap.dedent(script), *args],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return completed.stdout
