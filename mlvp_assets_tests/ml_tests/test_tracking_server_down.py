"""The MLflow tracking server going away during training (issue 14): the run fails within seconds
with an error that names the server, no alias moves, nothing is half registered, and once the
server is back the next run trains and registers as usual.

A real ``mlflow server`` on 127.0.0.1 (SQLite and an artifacts folder under the test's folder)
serves prod's MLflow resources (the server named by ``MLFLOW_TRACKING_URI``); Spark and storage
are the test environment's, on the simulated gold of the other ML tests. The server is stopped to
close its port and started again on the same port and folder. MLflow's HTTP retries are turned
off: by default it retries a refused connection for minutes.

One test goes through both faults in turn, as starting the server and training are what take the
time: a champion is trained, the server dies while the next run trains, a run then starts while
its port is closed, and on the server started again the registry is as it was and the next run
trains and registers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._utils.error import SerializableErrorInfo
from mlflow.tracking import MlflowClient

from mlvp_assets.environments import resources_for
from mlvp_assets.ml.registry import CHALLENGER, CHAMPION
from mlvp_assets.resources.mlflow import (
    MLFLOW_RESOURCE_KEY,
    MODEL_REGISTRY_RESOURCE_KEY,
    TrackingServerUnreachable,
    airbnb_price_name,
    mlflow_resource_for,
    model_registry_for,
    tracking_server_errors,
)
from mlvp_assets.settings import MLFLOW_TRACKING_URI
from mlvp_assets_tests.ml_tests.conftest import write_simulated_gold
from mlvp_assets_tests.ml_tests.test_price_model import GOOD, materialized, train
from mlvp_assets_tests.server_processes import (
    LOOPBACK,
    MlflowServer,
    free_port,
    get_json,
    running_mlflow_server,
)

MODEL_NAME = airbnb_price_name("prod")
FAILS_WITHIN_SECONDS = 30  # with MLflow's defaults a refused connection is retried for minutes


def fail_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """No retries (MLflow's own variables); a request that hangs gives up after 30 s, which a
    healthy server answers well within even on a busy CI machine (a closed port refuses at once)."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")


def registry_state(tracking_uri: str) -> dict[str, list[str]]:
    """Every version of the model and its aliases (a searched version does not list its aliases)."""
    client = MlflowClient(tracking_uri=tracking_uri)
    versions = client.search_model_versions(f"name = '{MODEL_NAME}'")
    aliases = client.get_registered_model(MODEL_NAME).aliases if versions else {}
    return {
        str(version.version): sorted(
            alias for alias, number in aliases.items() if str(number) == str(version.version)
        )
        for version in versions
    }


@dataclasses.dataclass
class TrackedTraining:
    """prod's MLflow on a server that the test stops and starts again on one port and folder."""

    root: Path
    port: int
    resources: dict[str, object]

    @property
    def tracking_uri(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @contextlib.contextmanager
    def server(self) -> Iterator[MlflowServer]:
        """The server, running until the block ends or until the test stops it."""
        with running_mlflow_server(
            self.root / "mlflow-server", str(self.root / "mlflow-artifacts"), port=self.port, timeout=300
        ) as server:
            assert server.tracking_uri == self.tracking_uri
            yield server

    def train(self, snapshot: bool = True) -> dg.ExecuteInProcessResult:
        """training_set (if ``snapshot``), price_model and its promotion check, as training_job runs
        them, with one hyperopt evaluation of the other ML tests' good configuration."""
        return train(self.resources, {**GOOD, "max_evals": 1}, snapshot=snapshot)


@pytest.fixture
def tracked(spark, module_root: Path, monkeypatch) -> TrackedTraining:
    """The simulated gold, and prod's MLflow resources on a server that is not running yet."""
    write_simulated_gold(spark, module_root, days=2, rows_per_day=500)
    port = free_port()
    monkeypatch.setenv(MLFLOW_TRACKING_URI.name, f"http://{LOOPBACK}:{port}")
    fail_fast(monkeypatch)
    resources = {
        **resources_for("test"),
        MLFLOW_RESOURCE_KEY: mlflow_resource_for("prod"),
        MODEL_REGISTRY_RESOURCE_KEY: model_registry_for("prod"),
    }
    return TrackedTraining(module_root, port, resources)


def reported_cause(error: SerializableErrorInfo | None) -> SerializableErrorInfo:
    """The exception under Dagster's own (``Error executing resource_fn ...``, ``Error occurred
    while executing op ...``): the first thing shown under the failure in the UI."""
    assert error is not None and error.cause is not None, error
    return error.cause


def assert_names_the_server(error: SerializableErrorInfo | None, tracking_uri: str) -> None:
    cause = reported_cause(error)
    assert cause.cls_name == TrackingServerUnreachable.__name__, cause.to_string()
    assert f"MLflow tracking server {tracking_uri} is not reachable" in cause.message


def stop_when_a_run_starts(
    server: MlflowServer, experiment_name: str, run_ended: threading.Event, failures: list[BaseException]
) -> None:
    """Stop ``server`` as soon as its REST API lists a RUNNING run in ``experiment_name``; give up
    if the Dagster run ends first."""
    try:
        experiment = get_json(
            f"{server.tracking_uri}/api/2.0/mlflow/experiments/get-by-name?experiment_name={experiment_name}"
        )["experiment"]
        search = {"experiment_ids": [experiment["experiment_id"]], "filter": "attributes.status = 'RUNNING'"}
        while not run_ended.is_set():
            if post_json(f"{server.tracking_uri}/api/2.0/mlflow/runs/search", search).get("runs"):
                server.stop()
                return
            time.sleep(0.1)
        raise AssertionError(f"the Dagster run ended before an MLflow run started on {server.tracking_uri}")
    except BaseException as error:  # the test's thread reports it
        failures.append(error)


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


# Two to five minutes on two cores (three trainings, two server starts): the fault stage, with the
# runs killed at chosen points, not make test.
@pytest.mark.slow
@pytest.mark.faults
def test_training_without_its_tracking_server_fails_naming_it_moves_no_alias_and_the_next_run_succeeds(
    tracked,
):
    with tracked.server() as server:
        first = tracked.train()
        assert first.success, "the first training on the server must pass its promotion check"
        champion_only = registry_state(tracked.tracking_uri)
        assert champion_only == {"1": [CHAMPION]}

        # Gone while the run trains: the MLflow run starts with the Dagster run; training_set
        # (Spark, no MLflow) runs next, so the server is stopped before price_model logs anything.
        failures: list[BaseException] = []
        run_ended = threading.Event()
        stopper = threading.Thread(
            target=stop_when_a_run_starts, args=(server, MODEL_NAME, run_ended, failures)
        )
        stopper.start()
        try:
            died = tracked.train()
        finally:
            run_ended.set()
            stopper.join()
        assert not failures, failures
        assert server.started.process.poll() is not None

    assert not died.success
    assert died.is_node_success("training_set")
    assert_names_the_server(died.failure_data_for_node("price_model").error, tracked.tracking_uri)  # type: ignore[union-attr]

    # Closed when the run starts (the server's port, nothing listening): the MLflow resource
    # cannot be initialised and no step runs.
    started = time.monotonic()
    closed = tracked.train()
    seconds = time.monotonic() - started

    assert not closed.success
    assert seconds < FAILS_WITHIN_SECONDS
    assert not closed.get_step_success_events()
    refused = closed.get_run_failure_event().event_specific_data.error  # type: ignore[union-attr]
    assert_names_the_server(refused, tracked.tracking_uri)
    assert "Connection refused" in reported_cause(refused).message

    with tracked.server():
        assert registry_state(tracked.tracking_uri) == champion_only
        # Back: the next run trains and registers version 2; champion moves only if the check passed.
        back = tracked.train(snapshot=False)

        assert back.is_node_success("price_model")
        assert materialized(back, "price_model")["model_version"] == 2
        (evaluation,) = back.get_asset_check_evaluations()
        after = registry_state(tracked.tracking_uri)
        if evaluation.passed:
            assert after == {"1": [], "2": [CHAMPION]}
        else:
            assert after == {"1": [CHAMPION], "2": [CHALLENGER]}


def test_the_error_hides_a_password_in_the_tracking_uri(monkeypatch):
    fail_fast(monkeypatch)
    closed = f"http://mlvp:s3cret-word@{LOOPBACK}:{free_port()}"

    with pytest.raises(TrackingServerUnreachable) as raised, tracking_server_errors(closed):
        MlflowClient(tracking_uri=closed).search_experiments()

    assert f"MLflow tracking server http://mlvp:***@{LOOPBACK}:" in str(raised.value)
    assert "s3cret-word" not in str(raised.value)
