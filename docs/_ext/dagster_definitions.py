"""``.. dagster-definitions:: <module>``: the Dagster definitions a module defines, documented.

autodoc documents functions and classes; an ``@dg.asset``, ``@dg.sensor`` or
``dg.define_asset_job(...)`` is an *instance* of a Dagster class, so autodoc skips it as if it
were imported. Those are what a reader of an ``assets.py`` looks for, so this directive lists
every one defined at the top level of the module, in source order, as a ``py:data`` entry (linkable
as ``:py:data:`mlvp_assets.silver.assets.silver_and_quarantined_listings```): the docstring of the
decorated function (reST, like any docstring), then what Dagster knows about it (asset keys,
groups, checks, jobs, cron, descriptions).

Dagster descriptions are shown as plain text with ````code```` spans kept, not parsed as reST:
Dagster's UI treats them as Markdown, and text like ``*.csv and *.csv.gz`` is not valid reST.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import dagster as dg
from docutils import nodes
from docutils.statemachine import StringList
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

try:  # what dg.define_asset_job returns; private, so optional
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
except ImportError:  # pragma: no cover
    UnresolvedAssetJobDefinition = dg.JobDefinition

_CODE = re.compile(r"``(.+?)``|`([^`]+)`")


def _text(text: str) -> list[nodes.Node]:
    """Plain text, with ``code`` and `code` spans as literals."""
    out: list[nodes.Node] = []
    position = 0
    for match in _CODE.finditer(text):
        out.append(nodes.Text(text[position : match.start()]))
        code = match.group(1) or match.group(2)
        out.append(nodes.literal(code, code))
        position = match.end()
    out.append(nodes.Text(text[position:]))
    return out


def _key(key: dg.AssetKey) -> str:
    return key.to_user_string()


def _check(spec: dg.AssetCheckSpec) -> str:
    blocking = ", blocking" if spec.blocking else ""
    return f"check ``{spec.name}`` on ``{_key(spec.asset_key)}``{blocking}"


def _facts(obj: object) -> tuple[str, list[tuple[str, str | None]]] | None:
    """(kind, [(label, description)]) of a Dagster definition, or None for anything else."""
    if isinstance(obj, dg.AssetChecksDefinition):
        return "asset check", [(_check(spec), spec.description) for spec in obj.check_specs]
    if isinstance(obj, dg.AssetsDefinition):
        specs = list(obj.specs)
        facts: list[tuple[str, str | None]] = []
        for spec in specs:
            label = f"asset ``{_key(spec.key)}``"
            if spec.group_name:
                label += f", group ``{spec.group_name}``"
            deps = ", ".join(f"``{_key(dep.asset_key)}``" for dep in spec.deps)
            if deps:
                label += f", after {deps}"
            facts.append((label, spec.description))
        facts += [(_check(spec), spec.description) for spec in obj.check_specs]
        return ("multi-asset" if len(specs) > 1 else "asset"), facts
    if isinstance(obj, dg.ScheduleDefinition):
        label = f"schedule ``{obj.cron_schedule}``"
        if obj.execution_timezone:
            label += f" ({obj.execution_timezone})"
        if obj.job_name:
            label += f", runs ``{obj.job_name}``"
        label += f", {obj.default_status.value.lower()} by default"
        return "schedule", [(label, obj.description)]
    if isinstance(obj, dg.SensorDefinition):
        label = "sensor"
        jobs = ", ".join(f"``{target.job_name}``" for target in obj.targets) if obj.targets else ""
        if jobs:
            label += f", runs {jobs}"
        if obj.minimum_interval_seconds:
            label += f", every {obj.minimum_interval_seconds} s"
        label += f", {obj.default_status.value.lower()} by default"
        return "sensor", [(label, obj.description)]
    if isinstance(obj, UnresolvedAssetJobDefinition | dg.JobDefinition):
        label = f"job ``{obj.name}``"
        selection = getattr(obj, "selection", None)
        if selection is not None:
            label += f", selects ``{selection}``"
        return "job", [(label, obj.description)]
    if isinstance(obj, dg.PartitionsDefinition):
        return "partitions", [(str(obj), None)]
    if isinstance(obj, dg.ResourceDefinition):
        return "resource", [("resource", obj.description)]
    if isinstance(obj, dg.Definitions):
        return "definitions", [
            (f"{label}: " + ", ".join(f"``{name}``" for name in sorted(names)), None)
            for label, names in (
                ("assets", [_key(key) for asset in obj.assets or [] for key in getattr(asset, "keys", [])]),
                (
                    "asset checks",
                    [spec.name for check in obj.asset_checks or [] for spec in check.check_specs],
                ),
                ("jobs", [job.name for job in obj.jobs or []]),
                ("schedules", [schedule.name for schedule in obj.schedules or []]),
                ("sensors", [sensor.name for sensor in obj.sensors or []]),
                ("resources", list(obj.resources or {})),
            )
            if names
        ]
    return None


def _top_level(source: str) -> list[tuple[str, str | None]]:
    """(name, docstring of the function it decorates) for each top-level definition, in source order."""
    found: list[tuple[str, str | None]] = []
    for statement in ast.parse(source).body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append((statement.name, ast.get_docstring(statement)))
        elif isinstance(statement, ast.Assign):
            found += [(target.id, None) for target in statement.targets if isinstance(target, ast.Name)]
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            found.append((statement.target.id, None))
    return found


def _same(one: str | None, other: str | None) -> bool:
    return " ".join((one or "").split()) == " ".join((other or "").split())


class DagsterDefinitions(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        modname = self.arguments[0]
        module = importlib.import_module(modname)
        source_file = inspect.getsourcefile(module)
        if source_file is None:
            return []
        self.env.note_dependency(source_file)
        out: list[nodes.Node] = []
        for name, docstring in _top_level(Path(source_file).read_text(encoding="utf-8")):
            if name.startswith("_"):
                continue
            described = _facts(getattr(module, name, None))
            if described is None:
                continue
            kind, facts = described
            rst = [f".. py:data:: {name}", f"   :module: {modname}", f"   :annotation: (Dagster {kind})", ""]
            rst += [f"   {line}" for line in (docstring or "").splitlines()]
            container = nodes.container()
            nested_parse_with_titles(self.state, StringList(rst, source=source_file), container)
            content = next(container.findall(addnodes.desc_content))
            items = nodes.bullet_list()
            for label, description in facts:
                paragraph = nodes.paragraph("", "", *_text(label))
                if description and not _same(description, docstring):
                    paragraph += [nodes.Text(": "), *_text(description)]
                items += nodes.list_item("", paragraph)
            content += items
            out += container.children
        if out:
            out.insert(0, nodes.rubric("", "Dagster definitions"))
        return out


def setup(app):
    app.add_directive("dagster-definitions", DagsterDefinitions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
