"""Lazy namespaces (PEP 562), the equivalent of transformers' `_LazyModule` without importing transformers.

A package's `__init__.py` declares which submodule defines each public name; a name is imported from its submodule on
first access and cached. Importing the package (for example to start the `avs-robust` command line) therefore
imports neither torch, transformers nor datasets.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence


def lazy_exports(
    package: str, exports: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """
    `(__getattr__, __dir__, __all__)` of a lazy package.

    Args:
        package: the package's `__name__`.
        exports: `{submodule (relative to the package): [public names it defines]}`.

    Usage at the end of an `__init__.py`: `__getattr__, __dir__, __all__ = lazy_exports(__name__, {...})`.
    """
    owners = {name: submodule for submodule, names in exports.items() for name in names}

    def __getattr__(name: str) -> object:
        if name not in owners:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{owners[name]}", package), name)
        setattr(sys.modules[package], name, value)  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(owners))

    return __getattr__, __dir__, sorted(owners)


__all__ = ["lazy_exports"]
