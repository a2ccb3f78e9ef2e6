"""The prod environment over Spark Connect: the same three jobs, the same row counts.

The module starts a Spark Connect server with Delta (:mod:`.connect_server`) and an MLflow
tracking server on 127.0.0.1, and runs the history as a user runs it: ``dagster job execute`` in
its own process with ``MLVP_ENV=prod`` and ``MLVP_SPARK_REMOTE`` (no JVM in the job's process).
``medallion_job`` for days 1 and 2, ``training_job`` (the model is fitted, saved and loaded on the
server), ``daily_job`` for day 3 (scored by the champion trained over Connect); the row counts per
table and day must equal the test environment's for the same days (``local_reference``).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import sys
import time
from pathlib import Path

import pytest

from mlvp_assets.ml.features import LearnerFamily, families_supported_by
from mlvp_assets.resources.mlflow import airbnb_price_name
from mlvp_assets.resources.spark import delta_maven_coordinate
from mlvp_assets_tests.engines_tests.conftest import REPO_ROOT, driver_environment, run_probe, run_process
from mlvp_assets_tests.engines_tests.connect_server import connect_server_command, running_connect_server
from mlvp_assets_tests.engines_tests.history import (
    RUNS,
    Counts,
    assert_counts_equal_the_reference,
    run_label,
)
from mlvp_assets_tests.engines_tests.servers import shell_line
from mlvp_assets_tests.server_processes import BIN, LOOPBACK, running_members, running_mlflow_server

pytestmark = pytest.mark.engines

MODEL_NAME = airbnb_price_name("prod")


def connect_environment(remote: str, root: Path, tracking_uri: str, dagster_home: Path) -> dict[str, str]:
    """What a user exports to run the jobs against a Spark Connect server (README)."""
    return {
        "MLVP_ENV": "prod",
        "MLVP_SPARK_REMOTE": remote,
        "MLVP_STORAGE_ROOT": str(root),
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLVP_SHUFFLE_PARTITIONS": "2",  # as the test environment's local[2]
        "DAGSTER_HOME": str(dagster_home),
    }


def dagster_command(job: str, partition: str | None) -> list[str]:
    command = [str(BIN / "dagster"), "job", "execute", "-m", "mlvp_assets.definitions", "-j", job]
    if partition:
        command += ["--tags", json.dumps({"dagster/partition": partition})]
    return command


@dataclasses.dataclass
class ConnectHistory:
    seconds: dict[str, float]  # run -> wall time of its `dagster job execute`
    server_start_seconds: float
    counts: Counts
    sessions: set[str]  # Spark Connect sessions the server's log names
    champion: dict[str, str]
    model_flavors: list[str]
    leftover_staging: list[str]
    learner_families: dict[str, dict]  # family -> the probe's fit / save / load / predict outcome


def _champion(tracking_uri: str) -> tuple[dict[str, str], list[str]]:
    from mlflow.artifacts import download_artifacts
    from mlflow.models import Model
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    version = client.get_model_version_by_alias(MODEL_NAME, "champion")
    model_dir = download_artifacts(
        artifact_uri=client.get_model_version_download_uri(MODEL_NAME, version.version),
        tracking_uri=tracking_uri,
    )
    flavors = sorted(Model.load(model_dir).flavors)
    return {"version": str(version.version), "run_id": str(version.run_id)}, flavors


@pytest.fixture(scope="module")
def connect_history(history, tmp_path_factory) -> ConnectHistory:
    folder = tmp_path_factory.mktemp("connect")
    root = folder / "root"
    shutil.copytree(history / "landing", root / "landing")
    (folder / "dagster_home").mkdir()
    started = time.perf_counter()
    with running_connect_server(folder / "server") as server:
        server_start_seconds = round(time.perf_counter() - started, 1)
        with running_mlflow_server(folder / "mlflow", str(folder / "mlflow" / "artifacts")) as mlflow_server:
            environment = driver_environment(
                connect_environment(server.url, root, mlflow_server.tracking_uri, folder / "dagster_home")
            )
            seconds = {}
            for job, partition in RUNS:
                started = time.perf_counter()
                done = run_process(dagster_command(job, partition), environment, timeout=900)
                seconds[run_label(job, partition)] = round(time.perf_counter() - started, 1)
                assert done.returncode == 0, (
                    f"{run_label(job, partition)} failed over Spark Connect:\n"
                    f"{done.stdout[-3000:]}\n{done.stderr[-12000:]}\n"
                    f"--- server\n{server.started.log_tail(80)}"
                )
            probe = run_probe("prod", environment)
            champion, flavors = _champion(mlflow_server.tracking_uri)
        sessions = set(
            re.findall(r"sessionId: ([0-9a-f-]{36})", server.started.log.read_text(errors="replace"))
        )
    staging = root / "mlflow" / "dfs_tmp"
    print(
        f"\nSpark Connect: server start {server_start_seconds} s, seconds per run {seconds}",
        file=sys.stderr,
    )
    return ConnectHistory(
        seconds=seconds,
        server_start_seconds=server_start_seconds,
        counts=probe["counts"],
        sessions=sessions,
        champion=champion,
        model_flavors=flavors,
        leftover_staging=sorted(path.name for path in staging.iterdir()) if staging.exists() else [],
        learner_families=probe["learner_families"],
    )


def test_row_counts_equal_the_test_environment(connect_history, local_reference):
    print(
        f"\nlocal seconds {local_reference['seconds']}\nSpark Connect seconds {connect_history.seconds} "
        f"(server start {connect_history.server_start_seconds} s)",
        file=sys.stderr,
    )
    assert_counts_equal_the_reference(connect_history.counts, local_reference["counts"])


def test_every_run_was_a_session_of_the_connect_server(connect_history):
    # One Connect session per `dagster job execute` and one for the probe: no run fell back to a
    # Spark of its own.
    assert len(connect_history.sessions) >= len(RUNS) + 1, connect_history.sessions


def test_the_model_trained_over_connect_is_the_champion_in_the_spark_flavour(connect_history):
    assert connect_history.champion["version"] == "1"
    assert connect_history.model_flavors == ["python_function", "spark"]
    assert connect_history.leftover_staging == []  # staged copies are deleted after use


def test_the_families_offered_over_connect_are_exactly_those_that_work_there(connect_history):
    """What families_supported_by claims for Spark Connect, measured: the forest and GBT fit, save
    through MLflow, load and predict the same; XGBoost's Spark estimator fails (it drives the
    classic SparkContext)."""
    outcomes = connect_history.learner_families
    print(f"\nlearner families over Spark Connect: {json.dumps(outcomes)[:3000]}", file=sys.stderr)
    working = {family for family, outcome in outcomes.items() if outcome["ok"]}

    assert working == {family.value for family in families_supported_by(spark_connect=True)}
    assert all(outcomes[family]["max_abs_difference"] <= 1e-9 for family in working)
    assert outcomes[LearnerFamily.XGBOOST.value]["error"]


def test_a_failing_test_leaves_no_process_of_the_connect_server_behind(tmp_path):
    groups: list[int] = []
    with pytest.raises(RuntimeError, match="the test failed"), running_connect_server(tmp_path) as server:
        groups = [server.started.process.pid]
        assert running_members(groups[0])  # the server (java) runs in its group
        raise RuntimeError("the test failed")
    assert running_members(groups[0]) == []


def test_the_readme_starts_the_server_the_test_starts():
    readme = (REPO_ROOT / "README.md").read_text()
    command = shell_line(connect_server_command("$SPARK_HOME", 15002, delta_maven_coordinate()))
    assert f"SPARK_LOCAL_IP={LOOPBACK} PYSPARK_PYTHON=$PWD/.venv/bin/python {command} &" in readme
    section = readme.split("### Over Spark Connect", 1)[1]
    exported = connect_environment("sc://127.0.0.1:15002", Path("/x"), "http://x", Path("/x"))
    assert [name for name in exported if f"export {name}=" not in section] == []
