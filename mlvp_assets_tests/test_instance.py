"""The Dagster instance settings in the repository (``deploy/dagster.yaml``): Dagster accepts them,
they hold every Spark run to one at a time, every job carries the tag they limit, and ``make dev``
and ``make demo`` put them in ``DAGSTER_HOME``. That the daemon's queue honours them while a run
is in progress is shown through a real ``dagster dev`` (``test_dagster_dev.py``)."""

from __future__ import annotations

import os
import shutil
import subprocess

import dagster as dg
import yaml

from mlvp_assets.definitions import build_definitions
from mlvp_assets.jobs import SPARK_RUN_TAG
from mlvp_assets_tests.conftest import REPO_ROOT
from mlvp_assets_tests.dagster_server import INSTANCE_YAML

CODE_LOCATION_TAG = "dagster/code_location"


def code_location_name() -> str:
    """The name workspace.yaml gives the code location (Dagster's default: the module's name)."""
    (entry,) = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())["load_from"]
    module = entry["python_module"]
    return module.get("location_name", module["module_name"])


def test_the_instance_yaml_limits_spark_runs_to_one_at_a_time(tmp_path, monkeypatch):
    shutil.copy(REPO_ROOT / INSTANCE_YAML, tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:  # fails on a setting Dagster does not know
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {"key": SPARK_RUN_TAG, "limit": 1} in limits
    # Asset-graph runs carry no job tags, but every launched run carries its code location.
    assert {"key": CODE_LOCATION_TAG, "value": code_location_name(), "limit": 1} in limits


def test_every_job_carries_the_limited_tag(storage_root):
    defs = build_definitions("test")
    jobs = [job for job in defs.resolve_all_job_defs() if not job.name.startswith("__")]
    assert {job.name for job in jobs} >= {"medallion_job", "daily_job", "training_job"}
    untagged = [
        job.name for job in jobs if SPARK_RUN_TAG not in job.tags or SPARK_RUN_TAG not in job.run_tags
    ]
    assert untagged == []


def test_make_dev_and_demo_install_the_instance_yaml(tmp_path):
    for target in ("dev", "demo"):
        planned = subprocess.run(
            ["make", "-n", target, f"DAGSTER_HOME={tmp_path}"],
            cwd=REPO_ROOT,
            env={key: value for key, value in os.environ.items() if key != "MAKEFLAGS"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert planned.returncode == 0, planned.stderr
        assert f'cp {INSTANCE_YAML} "{tmp_path}/dagster.yaml"' in planned.stdout, planned.stdout
