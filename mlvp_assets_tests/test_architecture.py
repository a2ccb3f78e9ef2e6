"""The layering ARCHITECTURE.md describes, checked on the source: imports only run down."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import mlvp_assets

PACKAGE = Path(mlvp_assets.__file__).parent

# Lowest first. A module may import from its own layer and the layers below it, never above.
LAYERS: tuple[tuple[str, ...], ...] = (
    # The foundation: names, settings, file and table access, resources and their choice per
    # environment, jobs (which select by group name and import no asset).
    (
        "names",
        "settings",
        "crash_points",
        "schema",
        "partitions",
        "files",
        "delta_tables",
        "resources",
        "environments",
        "jobs",
    ),
    ("quality",),
    ("bronze",),
    ("silver",),
    ("gold",),
    ("ml",),
    ("monitoring",),
    ("automation",),
    # What wires or drives the whole graph.
    ("definitions", "demo", "simulate"),
)
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def unit_of(module: str) -> str:
    """``mlvp_assets.bronze.ingest`` -> ``bronze``; ``mlvp_assets.files`` -> ``files``."""
    return module.split(".")[1]


def imported_units(path: Path) -> set[str]:
    units = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mlvp_assets"):
            if node.module == "mlvp_assets":
                units |= {alias.name for alias in node.names}
            else:
                units.add(unit_of(node.module))
        elif isinstance(node, ast.Import):
            units |= {unit_of(alias.name) for alias in node.names if alias.name.startswith("mlvp_assets.")}
    return units


def upward_imports() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts == ("__init__.py",):
            continue
        unit = relative.parts[0].removesuffix(".py")
        for imported in sorted(imported_units(path)):
            if RANK[imported] > RANK[unit]:
                found.append(f"{relative} ({unit}) imports {imported}")
    return found


def test_every_module_belongs_to_a_layer():
    units = {path.relative_to(PACKAGE).parts[0].removesuffix(".py") for path in PACKAGE.rglob("*.py")}
    assert units - {"__init__"} == set(RANK)


def test_imports_only_run_down_the_layers():
    assert upward_imports() == []


def test_an_upward_import_is_found(tmp_path, monkeypatch):
    (tmp_path / "quality").mkdir()
    (tmp_path / "quality" / "rules.py").write_text("from mlvp_assets.bronze.landing_csv import X\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path)

    assert upward_imports() == ["quality/rules.py (quality) imports bronze"]
