"""Start-up time of the command line and of `import modeling_avs`, as ratios measured in one run.

Targets: `avs-robust --help` within 1.5× the start-up of a bare `python -c "import sys"` + 1 s, and
`import modeling_avs` within 1.2× `import torch, transformers`. Also reported: what the Auto registration costs when
transformers' `AutoModel` is imported after `import modeling_avs` (it imports the package's model classes), against
importing `AutoModel` and `PreTrainedModel` alone. Each command runs in a fresh interpreter `--repeats`
times, the commands interleaved so that a change of machine load hits all of them; the fastest run of each counts
(the median is printed too).

    python benchmarks/startup_speed.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def commands() -> dict[str, list[str]]:
    help_command = shutil.which("avs-robust")
    return {
        'python -c "import sys"': [sys.executable, "-c", "import sys"],
        "avs-robust --help": [help_command, "--help"]
        if help_command
        else [sys.executable, "-m", "modeling_avs.cli.main", "--help"],
        'python -c "import torch, transformers"': [sys.executable, "-c", "import torch, transformers"],
        'python -c "import modeling_avs"': [sys.executable, "-c", "import modeling_avs"],
        "AutoModel + PreTrainedModel": [sys.executable, "-c", "from transformers import AutoModel, PreTrainedModel"],
        "modeling_avs, then AutoModel": [
            sys.executable,
            "-c",
            "import modeling_avs; from transformers import AutoModel",
        ],
    }


def time_once(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    to_time = commands()
    for command in to_time.values():  # warm the file-system cache
        time_once(command)
    runs = {name: [] for name in to_time}
    for _ in range(args.repeats):
        for name, command in to_time.items():
            runs[name].append(time_once(command))
    best = {name: min(times) for name, times in runs.items()}
    for name, times in runs.items():
        print(f"{name:40s} fastest {best[name]:6.3f} s   median {statistics.median(times):6.3f} s")
    python, cli = best['python -c "import sys"'], best["avs-robust --help"]
    package, libraries = best['python -c "import modeling_avs"'], best['python -c "import torch, transformers"']
    help_limit = 1.5 * python + 1.0
    print(
        f"avs-robust --help / (1.5 × python + 1 s) = {cli:.3f} / {help_limit:.3f} = {cli / help_limit:.2f} "
        f"(target <= 1; {cli / python:.2f}× bare python)"
    )
    print(f"import modeling_avs / import torch, transformers = {package / libraries:.2f} (target <= 1.2)")
    registered, auto = best["modeling_avs, then AutoModel"], best["AutoModel + PreTrainedModel"]
    print(f"Auto registration: modeling_avs, then AutoModel / AutoModel + PreTrainedModel = {registered / auto:.2f}")


if __name__ == "__main__":
    main()
