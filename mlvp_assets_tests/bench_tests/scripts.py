"""The scripts of ``bench/`` loaded as modules for their tests (``bench/`` is not a package)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from mlvp_assets_tests.conftest import REPO_ROOT


def load_bench_script(name: str) -> ModuleType:
    """``bench/<name>.py`` as the module ``name``."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module
