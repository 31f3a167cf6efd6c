"""Copies of the package's modules that run without the package: for a model folder's pipeline code and the
standalone `evaluate` metric.

The Hub loads code from one flat folder: transformers' `trust_remote_code` and `evaluate.load` both copy the files a
script imports by `from .name import ...` next to it and import them as siblings. `flat_module_sources` collects the
modules of this package that some root modules import (transitively; with `nested=False` only the imports run when a
module is imported, not those inside functions, which then fail in the copy), names each after its
file (`modeling_avs.data.schema` -> `schema`) and rewrites every import of a package module into an import of its
sibling copy (`from ..data.schema import X` -> `from .schema import X`). Nothing else of the source changes, so a
copy is always the package's current code.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

PACKAGE = __name__.rpartition(".")[0]
PACKAGE_DIR = Path(__file__).resolve().parent
_FROM_CLAUSE = re.compile(r"from\s+[\w.]+\s+import")


def module_file(module: str) -> Path:
    """The source file of the package module `module` (a dotted name under this package, not a package itself)."""
    if module != PACKAGE and not module.startswith(f"{PACKAGE}."):
        raise ValueError(f"{module} is not a module of {PACKAGE}")
    relative = Path(*module.split(".")[1:])
    if (PACKAGE_DIR / relative).is_dir():
        raise ValueError(f"{module} is a package: only modules can be copied into a flat folder")
    path = PACKAGE_DIR / relative.with_suffix(".py")
    if not path.is_file():
        raise ValueError(f"{module} has no source file {path}")
    return path


def _imported_module(module: str, node: ast.ImportFrom) -> str | None:
    """The package module that `node` (in `module`) imports from, or None for an import from another library."""
    if node.level == 0:
        if node.module is None or (node.module != PACKAGE and not node.module.startswith(f"{PACKAGE}.")):
            return None
        target = node.module
    else:
        parts = module.split(".")[: -node.level]
        if not parts:
            raise ValueError(f"{module}: a relative import goes above the package {PACKAGE}")
        target = ".".join(parts + ([node.module] if node.module else []))
    if node.module is None or (PACKAGE_DIR / Path(*target.split(".")[1:])).is_dir():
        names = ", ".join(alias.name for alias in node.names)
        raise ValueError(
            f"{module} imports {names} from the package {target} (line {node.lineno}): import from its modules "
            "instead, so that the code can be copied into a flat folder"
        )
    return target


def _statements(tree: ast.AST, nested: bool):
    """The nodes of `tree`; with `nested=False` without the bodies of functions."""
    for node in ast.iter_child_nodes(tree):
        yield node
        if nested or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _statements(node, nested)


def _package_imports(module: str, source: str, nested: bool = True) -> list[tuple[ast.ImportFrom, str]]:
    imports = []
    for node in _statements(ast.parse(source, filename=str(module_file(module))), nested):
        if isinstance(node, ast.Import) and any(alias.name.split(".")[0] == PACKAGE for alias in node.names):
            raise ValueError(f"{module} line {node.lineno}: write `from ... import` for package modules")
        if isinstance(node, ast.ImportFrom) and (target := _imported_module(module, node)) is not None:
            imports.append((node, target))
    return imports


def flat_name(module: str) -> str:
    """The name of the copy of `module` in a flat folder: its file name without `.py`."""
    return module.rpartition(".")[2]


def module_closure(roots: Iterable[str], nested: bool = True) -> list[str]:
    """`roots` and every package module they import, transitively, in order (with `nested=False`, without the imports
    inside functions)."""
    order: list[str] = []
    pending = list(roots)
    while pending:
        module = pending.pop(0)
        if module in order:
            continue
        module_file(module)  # checks it
        order.append(module)
        source = module_file(module).read_text("utf-8")
        pending += [target for _, target in _package_imports(module, source, nested)]
    return order


def _rewrite_imports(module: str, source: str) -> str:
    line_starts = [0]
    for line in source.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    edits = []
    for node, target in _package_imports(module, source):
        start = line_starts[node.lineno - 1] + node.col_offset  # an import statement starts after ASCII indentation
        clause = _FROM_CLAUSE.match(source, start)
        if clause is None:
            raise ValueError(f"{module} line {node.lineno}: cannot find the `from ... import` of this statement")
        edits.append((clause.start(), clause.end(), f"from .{flat_name(target)} import"))
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source


def flat_module_sources(roots: Iterable[str], nested: bool = True) -> dict[str, str]:
    """
    `{file name: source}` of the copies of `roots` and of every package module they import (`module_closure`), in
    that order, with every import of a package module rewritten to a sibling import. Two modules with the same file
    name are an error.
    """
    sources: dict[str, str] = {}
    owners: dict[str, str] = {}
    for module in module_closure(roots, nested):
        name = flat_name(module)
        if name in owners:
            raise ValueError(f"{module} and {owners[name]} would both be copied as {name}.py")
        owners[name] = module
        sources[f"{name}.py"] = _rewrite_imports(module, module_file(module).read_text("utf-8"))
    return sources


__all__ = ["PACKAGE", "flat_module_sources", "flat_name", "module_closure", "module_file"]
