"""`modeling_avs.code_export`: flat copies of package modules (the code of a saved pipeline and of the standalone
metric) keep the source and rewrite only the imports of package modules."""

from __future__ import annotations

import ast

import pytest

from modeling_avs import code_export
from modeling_avs.code_export import flat_module_sources, module_closure, module_file

PIPELINE = "modeling_avs.pipelines.audio_visual_segmentation"


def package_imports(source: str) -> list[tuple[int, str | None]]:
    nodes = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)]
    return [(node.level, node.module) for node in nodes if node.level or (node.module or "").startswith("modeling")]


def test_closure_follows_relative_imports_across_subpackages():
    closure = module_closure([PIPELINE])
    assert closure[0] == PIPELINE
    assert {"modeling_avs.media", "modeling_avs.audio_conditions", "modeling_avs.data.schema"} <= set(closure)
    assert len(closure) == len(set(closure))


def test_imports_inside_functions_are_left_out_on_request():
    # `RobustAVSEvaluator.plot` imports the figures module inside the method
    assert "modeling_avs.figures" in module_closure(["modeling_avs.metrics.evaluator"])
    assert "modeling_avs.figures" not in module_closure(["modeling_avs.metrics.evaluator"], nested=False)


def test_copies_import_their_siblings_and_change_nothing_else():
    sources = flat_module_sources([PIPELINE])
    for name, source in sources.items():
        for level, module in package_imports(source):
            assert level == 1 and f"{module}.py" in sources, (name, level, module)
    original = module_file("modeling_avs.audio_conditions").read_text()
    copy = sources["audio_conditions.py"]
    assert "from .data.schema import NEGATIVE_CONDITIONS" in original
    assert copy == original.replace("from .data.schema import", "from .schema import")
    assert sources["media.py"] == module_file("modeling_avs.media").read_text()


def test_modules_with_the_same_file_name_and_package_imports_are_errors(tmp_path, monkeypatch):
    package = tmp_path / "modeling_avs"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "root.py").write_text("from .sub.util import x\nfrom .util import y\n")
    (package / "util.py").write_text("y = 1\n")
    (package / "sub" / "util.py").write_text("x = 1\n")
    (package / "lazy.py").write_text("def f():\n    from .sub import util\n")
    monkeypatch.setattr(code_export, "PACKAGE_DIR", package)
    with pytest.raises(ValueError, match="would both be copied as util.py"):
        flat_module_sources(["modeling_avs.root"])
    with pytest.raises(ValueError, match="imports util from the package modeling_avs.sub"):
        flat_module_sources(["modeling_avs.lazy"])
    with pytest.raises(ValueError, match="is a package"):
        module_file("modeling_avs.sub")
