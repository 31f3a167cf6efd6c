import subprocess
import sys

from modeling_avs.cli.main import main


def test_help_lists_commands(capsys):
    assert main([]) == 1
    assert "convert" in capsys.readouterr().out


def test_env_reports_versions(capsys):
    assert main(["env"]) == 0
    output = capsys.readouterr().out
    assert "- torch: " in output and "- transformers: " in output


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "modeling_avs.cli.main", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "avs-robust" in result.stdout
