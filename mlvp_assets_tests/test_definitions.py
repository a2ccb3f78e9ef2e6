"""The code location loads the way ``dagster dev`` loads it, and every asset is described."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from mlvp_assets.definitions import build_definitions

REPO_ROOT = Path(__file__).resolve().parents[1]
LAYER_GROUPS = {"bronze", "silver", "gold"}


def test_workspace_yaml_loads_the_code_location(tmp_path):
    dagster = Path(sys.executable).with_name("dagster")
    completed = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path), "MLVP_ENV": "dev"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "mlvp_assets.definitions" in completed.stdout + completed.stderr


def test_every_asset_has_description_group_and_kinds(storage_root):
    graph = build_definitions("test").resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description, key
        assert node.kinds >= {"spark", "delta"} or node.group_name not in LAYER_GROUPS, key
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups >= LAYER_GROUPS


def test_medallion_job_runs_in_one_process(storage_root):
    job = build_definitions("test").resolve_job_def("medallion_job")
    assert job.executor_def is dg.in_process_executor
