"""A self-contained Gradio Space folder of the demo app (`spaces_app/app.py`) for a model: `avs-robust export-space`.

The folder holds:

- `app.py`: a copy of `spaces_app/app.py`;
- `wheels/modeling_avs-<version>-py3-none-any.whl`: the package, built from this source tree (`pip wheel --no-deps`);
- `requirements.txt`: torch and torchvision pinned to the versions of this environment, and the wheel with its
  `space` extra (Gradio, PyAV). The wheel is named by its path in the folder, or, for a Space whose id is known
  (`space_id`), by its URL in that Space repository: the Spaces build installs `requirements.txt` before it copies
  the repository's files, and a URL is what it can reach then;
- `model/` (and `baseline_model/`): a model folder bundled as it is, or nothing for a Hub model, which the app
  downloads when it starts;
- `space_models.json`: where the app finds its models (`{"model": "model" | HUB_ID, "baseline_model": ...}`);
- `README.md`: the Space card (`space_card.md.jinja` of `modeling_avs.model_cards`) with its YAML header.

The export needs the source tree (it builds the wheel and copies the app): a checkout installed with `pip install -e`.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
APP_FILE = REPOSITORY_ROOT / "spaces_app" / "app.py"
# What `pip wheel` needs of the source tree (setup.py reads README.md and LICENSE).
SOURCE_ITEMS = ("setup.py", "pyproject.toml", "README.md", "LICENSE", "modeling_avs", "model_cards")
WHEELS_DIR = "wheels"
MODEL_FOLDERS = {"model": "model", "baseline_model": "baseline_model"}
SPACE_TITLE = "Robust Audio-Visual Segmentation"
SHORT_DESCRIPTION = "Segment the sounding object, then mute the sound"
MAX_SHORT_DESCRIPTION = 60  # the Hub refuses a longer `short_description`
# What a bundled model folder does not need (training leftovers, temporary files).
BUNDLE_IGNORE = shutil.ignore_patterns(".*", "__pycache__", "checkpoint-*", "runs", "synthetic-data")


class SpaceExportError(ValueError):
    """The Space folder cannot be written: a missing model or source tree, or a failed wheel build."""


def _load_app():
    """The app module (`spaces_app/app.py`), for the settings the card states (limits, queue, variables)."""
    if not APP_FILE.is_file() or not (REPOSITORY_ROOT / "setup.py").is_file():
        raise SpaceExportError(
            f"export-space needs the modeling-avs source tree (spaces_app/app.py and setup.py next to "
            f"{REPOSITORY_ROOT / 'modeling_avs'}): run it from a checkout installed with `pip install -e .`"
        )
    spec = importlib.util.spec_from_file_location("avs_space_app_settings", APP_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def build_wheel(output_dir: str | Path) -> Path:
    """Build the package's wheel into `output_dir` from a clean copy of the source tree; returns its path."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="avs_wheel_") as temporary:
        source = Path(temporary) / "source"
        source.mkdir()
        for item in SOURCE_ITEMS:
            path = REPOSITORY_ROOT / item
            if path.is_dir():
                shutil.copytree(path, source / item, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
            else:
                shutil.copy2(path, source / item)
        built = Path(temporary) / "wheels"
        # build isolation: pyproject.toml names the build requirements (setuptools, wheel), installed by pip
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", built]
        completed = subprocess.run([*map(str, command), str(source)], capture_output=True, text=True)
        wheels = sorted(built.glob("modeling_avs-*.whl"))
        if completed.returncode != 0 or len(wheels) != 1:
            raise SpaceExportError(f"building the modeling-avs wheel failed:\n{completed.stderr[-3000:]}")
        return Path(shutil.copy2(wheels[0], output_dir / wheels[0].name))


def wheel_requirement(wheel_name: str, space_id: str | None = None) -> str:
    """The requirement line of the wheel: its path in the folder, or its URL in the Space repository `space_id`."""
    if space_id is None:
        return f"./{WHEELS_DIR}/{wheel_name}[space]"
    from huggingface_hub import constants

    return f"modeling-avs[space] @ {constants.ENDPOINT}/spaces/{space_id}/resolve/main/{WHEELS_DIR}/{wheel_name}"


def space_requirements(wheel_name: str, space_id: str | None = None) -> str:
    """`requirements.txt` of the Space: torch and torchvision as in this environment, then the package's wheel."""
    pins = [f"{name}=={metadata.version(name).split('+')[0]}" for name in ("torch", "torchvision")]
    return "\n".join(
        [
            "# Written by `avs-robust export-space`. Gradio comes from `sdk_version` in README.md; torch and torchvision",
            "# are the versions modeling-avs was tested with; the package is the wheel in wheels/ (with Gradio and PyAV).",
            *pins,
            wheel_requirement(wheel_name, space_id),
            "",
        ]
    )


def _place_model(location: str | Path, folder_name: str, output: Path) -> tuple[str, str | None]:
    """Bundle a local model folder into `output/folder_name`, or keep a Hub id; returns (setting, Hub id or None)."""
    from .pipelines.model_location import model_location_problem

    problem = model_location_problem(location)
    if problem is not None:
        raise SpaceExportError(problem)
    if Path(location).expanduser().is_dir():
        shutil.copytree(Path(location).expanduser(), output / folder_name, ignore=BUNDLE_IGNORE)
        return folder_name, None
    return str(location), str(location)


def space_card(app, models: dict[str, str], hub_models: list[str], wheel_name: str) -> str:
    """The README.md of the Space: YAML header and the card `space_card.md.jinja`."""
    import gradio
    import yaml

    from .model_cards import render_card

    if len(SHORT_DESCRIPTION) > MAX_SHORT_DESCRIPTION:
        raise SpaceExportError(f"short_description has more than {MAX_SHORT_DESCRIPTION} characters")
    header = {
        "title": SPACE_TITLE,
        "emoji": "🔊",
        "colorFrom": "indigo",
        "colorTo": "pink",
        "sdk": "gradio",
        "sdk_version": gradio.__version__,
        "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
        "app_file": "app.py",
        "pinned": False,
        "license": "apache-2.0",
        "short_description": SHORT_DESCRIPTION,
    }
    if hub_models:
        header["models"] = hub_models
    limits = app.LIMITS
    return render_card(
        "space_card.md.jinja",
        card_data=yaml.safe_dump(header, sort_keys=False, allow_unicode=True),
        models=models,
        model_variable=app.MODEL_ENV,
        baseline_model_variable=app.BASELINE_MODEL_ENV,
        models_file=app.MODELS_FILE.name,
        max_seconds=limits.max_seconds,
        max_megapixels=f"{limits.max_pixels / 1e6:.2f}",
        max_upload=app.MAX_UPLOAD,
        concurrency=app.CONCURRENCY_LIMIT,
        queue_size=app.QUEUE_SIZE,
        wheel_name=wheel_name,
    )


def export_space(
    model: str | Path,
    output: str | Path,
    baseline_model: str | Path | None = None,
    space_id: str | None = None,
) -> Path:
    """
    Write the Space folder `output` (replaced atomically) for `model` (a model folder, bundled, or a Hub id) and an
    optional `baseline_model`; `space_id` (the Space's repository id) makes `requirements.txt` name the wheel by its
    URL in that repository. Returns `output`.
    """
    from .atomic_files import atomic_directory

    app = _load_app()
    output = Path(output)
    with atomic_directory(output) as temporary:
        settings, hub_models, models = {}, [], {}
        for key, location in (("model", model), ("baseline_model", baseline_model)):
            if location is None:
                continue
            settings[key], hub_id = _place_model(location, MODEL_FOLDERS[key], temporary)
            hub_models += [hub_id] if hub_id else []
            models[key] = f"the Hub model `{hub_id}`" if hub_id else f"the folder `{settings[key]}/` of this Space"
        wheel = build_wheel(temporary / WHEELS_DIR)
        shutil.copy2(APP_FILE, temporary / "app.py")
        (temporary / app.MODELS_FILE.name).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        (temporary / "requirements.txt").write_text(space_requirements(wheel.name, space_id), encoding="utf-8")
        (temporary / "README.md").write_text(space_card(app, models, hub_models, wheel.name), encoding="utf-8")
    return output


__all__ = [
    "SHORT_DESCRIPTION",
    "SpaceExportError",
    "build_wheel",
    "export_space",
    "space_card",
    "space_requirements",
    "wheel_requirement",
]
