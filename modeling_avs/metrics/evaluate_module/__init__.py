"""The `robust_avs` metric for the `evaluate` library, as a standalone folder (an `evaluate` metric repository and
its Space) that needs no modeling-avs installation.

`export_metric_module(folder)` writes:

- `<folder name>.py`: the metric script (`robust_avs.py` of this package), which `evaluate.load(folder)` loads;
- copies of the package's metric core, `evaluator.py` and every module it imports when imported
  (`modeling_avs.code_export`): the metric is computed by the same code as `RobustAVSEvaluator` (whose `plot`, which
  imports the package's figures, is not part of the copy);
- `README.md`: the metric card (`metric_card.md.jinja` of `modeling_avs.model_cards`), with the Space header;
- `app.py` (the Space: `evaluate`'s Gradio widget) and `requirements.txt`.
"""

from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path

SCRIPT_SOURCE = Path(__file__).with_name("robust_avs.py")
CORE_MODULE = "modeling_avs.metrics.evaluator"
DEFAULT_NAME = "robust_avs"
# What the script and the core import at module level (checked by the tests); the Space gets Gradio from its SDK.
REQUIREMENTS = ("evaluate>=0.4.6,<0.5", "datasets>=5.2.0,<6", "torch>=2.4,<3", "numpy>=1.26")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
APP = '''"""Space entry point: the `evaluate` widget of the metric script next to this file."""

from pathlib import Path

import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load(str(Path(__file__).with_name("{script}")))
launch_gradio_widget(module)
'''


def metric_script(core_files: list[str]) -> str:
    """
    The metric script: `robust_avs.py` with, after its import of the evaluator, an import of each other file of
    `core_files` (`evaluate` copies into its module cache only the files that a metric script imports).
    """
    source = SCRIPT_SOURCE.read_text("utf-8")
    core = Path(core_files[0]).stem
    anchor = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module == core
    )
    lines = source.splitlines(keepends=True)
    # no trailing comment: evaluate reads the text after an import as the URL of the file to fetch
    imports = [f"from .{Path(name).stem} import __name__ as _\n" for name in core_files[1:]]
    return "".join(lines[: anchor.end_lineno] + imports + lines[anchor.end_lineno :])


def export_metric_module(folder: str | Path) -> Path:
    """
    Write the standalone metric folder `folder` (replaced atomically) and return the path of its script. The script is
    named after the folder (`evaluate.load(folder)` and the Hub repository name need that), so the folder name must be
    a Python identifier (hyphens allowed) that no core file uses.
    """
    from ...atomic_files import atomic_directory
    from ...code_export import flat_module_sources
    from ...model_cards import render_card

    folder = Path(folder)
    name = folder.name
    core = flat_module_sources([CORE_MODULE], nested=False)
    if not _NAME.match(name):
        raise ValueError(f"the metric folder name {name!r} must be letters, digits, '_' or '-' (it names the script)")
    if f"{name}.py" in core or name == "app":
        raise ValueError(f"the metric folder cannot be named {name!r}: {name}.py is another file of the metric")
    with atomic_directory(folder) as temporary:
        for file_name, source in core.items():
            (temporary / file_name).write_text(source, encoding="utf-8")
        (temporary / f"{name}.py").write_text(metric_script(list(core)), encoding="utf-8")
        (temporary / "app.py").write_text(APP.format(script=f"{name}.py"), encoding="utf-8")
        (temporary / "requirements.txt").write_text("\n".join(REQUIREMENTS) + "\n", encoding="utf-8")
        (temporary / "README.md").write_text(render_card("metric_card.md.jinja", metric_name=name), encoding="utf-8")
    return folder / f"{name}.py"


def evaluate_module_path() -> str:
    """
    Path of the metric script, for `evaluate.load(evaluate_module_path())` (works offline): the metric folder exported
    from the installed package's code into the Hugging Face cache, `$HF_HOME/modeling_avs/metrics/<hash>/robust_avs`,
    where `<hash>` identifies the code (installations with different code never share a folder).
    """
    from huggingface_hub import constants

    from ...code_export import flat_module_sources

    sources = [
        SCRIPT_SOURCE.read_bytes(),
        *(text.encode() for text in flat_module_sources([CORE_MODULE], False).values()),
    ]
    digest = hashlib.sha256(b"\0".join(sources)).hexdigest()[:16]
    folder = Path(constants.HF_HOME) / "modeling_avs" / "metrics" / digest / DEFAULT_NAME
    script = folder / f"{DEFAULT_NAME}.py"
    return str(script if script.is_file() else export_metric_module(folder))


__all__ = ["export_metric_module", "evaluate_module_path", "metric_script"]
