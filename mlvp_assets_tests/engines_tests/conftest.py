"""Fixtures shared by the engine tests (``make test-engines``, marker ``engines``): one simulated
history, the test environment's counts for it, and a way to run a driver program in its own
process. Every test module here sets ``pytestmark = pytest.mark.engines``, which ``make test``
deselects."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from mlvp_assets_tests.engines_tests.history import land_history

REPO_ROOT = Path(__file__).resolve().parents[2]

# Variables of the developer's shell that would change what a driver does; every engine run
# states its environment explicitly instead.
_DROPPED = (
    "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "MLVP_ENV", "MLVP_DATA_ROOT", "MLVP_STORAGE_ROOT",
    "MLVP_SPARK_MASTER", "MLVP_SPARK_REMOTE", "MLFLOW_TRACKING_URI", "DAGSTER_HOME", "SPARK_HOME",
)  # fmt: skip


def driver_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if name not in _DROPPED}
    return {**environment, **overrides}


def run_process(
    argv: Sequence[str], env: Mapping[str, str], timeout: float, cwd: Path = REPO_ROOT
) -> subprocess.CompletedProcess:
    """Run ``argv`` in its own process group; on a timeout the whole group is killed."""
    process = subprocess.Popen(
        list(argv), env=dict(env), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise AssertionError(f"{argv} did not finish within {timeout} s\n{stderr[-5000:]}") from None
    return subprocess.CompletedProcess(list(argv), process.returncode, stdout, stderr)


def run_probe(command: str, env: Mapping[str, str], timeout: float = 900) -> dict:
    """``python -m mlvp_assets_tests.engines_tests.probe <command>``; its JSON answer."""
    done = run_process([sys.executable, "-m", "mlvp_assets_tests.engines_tests.probe", command], env, timeout)
    if done.returncode != 0:
        raise AssertionError(f"probe {command} exited with {done.returncode}:\n{done.stderr[-8000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def history(tmp_path_factory) -> Path:
    """A folder whose ``landing/`` holds the simulated history's files."""
    root = tmp_path_factory.mktemp("history")
    land_history(root)
    return root


@pytest.fixture(scope="session")
def local_reference(history, tmp_path_factory) -> dict:
    """The history's runs on local Spark in the test environment: ``{"counts", "seconds"}``."""
    root = tmp_path_factory.mktemp("reference_root")
    shutil.copytree(history / "landing", root / "landing")
    return run_probe("reference", driver_environment({"MLVP_ENV": "test", "MLVP_DATA_ROOT": str(root)}))
