"""The `avs-robust` entry point: commands, and each command importing only its own dependencies."""

import subprocess
import sys

import pytest

from modeling_avs.cli.main import COMMANDS, main

IMPORTED_AFTER_PARSING = """
import sys
from modeling_avs.cli.main import build_parser
build_parser(sys.argv[1] or None).format_help()
print(" ".join(sorted(name for name in ("datasets", "numpy", "timm", "torch", "transformers") if name in sys.modules)))
"""


def test_help_lists_commands(capsys):
    assert main([]) == 1
    output = capsys.readouterr().out
    assert all(command in output for command in COMMANDS)


def test_env_reports_versions(capsys):
    assert main(["env"]) == 0
    output = capsys.readouterr().out
    assert "- torch: " in output and "- transformers: " in output


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "modeling_avs.cli.main", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "avs-robust" in result.stdout


@pytest.mark.parametrize(
    ("command", "imported"),
    [
        ("", ""),  # avs-robust --help: nothing heavy at all
        ("make-synthetic", ""),
        ("segment", "numpy"),
        ("evaluate-masks", "datasets numpy torch"),
    ],
)
def test_a_command_imports_only_its_own_dependencies(command, imported):
    result = subprocess.run([sys.executable, "-c", IMPORTED_AFTER_PARSING, command], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == imported


def test_make_synthetic_runs_without_torch_or_transformers(tmp_path):
    script = (
        "import sys\nfrom modeling_avs.cli.main import main\n"
        f"assert main(['make-synthetic', '--num-videos', '2', '--image-size', '32', '--output', {str(tmp_path)!r}]) == 0\n"
        "print(sorted(name for name in ('timm', 'torch', 'transformers') if name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]" and (tmp_path / "README.md").is_file()
