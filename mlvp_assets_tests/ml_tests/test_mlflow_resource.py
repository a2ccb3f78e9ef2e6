"""The MLflow resource per environment: names, where dev/test keep runs and artifacts, and that
one Dagster run gives one MLflow run, ended when the Dagster run ends. No Spark."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import mlflow
import pytest
from dagster_mlflow.resources import MlFlow
from mlflow.tracking import MlflowClient

from mlvp_assets.resources.mlflow import (
    MLFLOW_RESOURCE_KEY,
    airbnb_price_name,
    local_tracking_uri,
    mlflow_resource_for,
)
from mlvp_assets.settings import MLFLOW_TRACKING_URI


@dg.asset
def logs_a_metric(mlflow: dg.ResourceParam[MlFlow]) -> None:
    mlflow.log_metric("answer", 42)
    with mlflow.start_run(run_name="child", nested=True):
        mlflow.log_metric("child_answer", 1)


@dg.asset
def needs_no_tracking() -> None:
    pass


def test_names_carry_the_environment():
    assert airbnb_price_name("dev") == "dev_airbnb_price"
    assert airbnb_price_name("prod") == "prod_airbnb_price"


def test_a_relative_root_becomes_an_absolute_sqlite_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    assert local_tracking_uri("data") == f"sqlite:///{tmp_path}/data/mlflow/mlflow.db"


def test_prod_logs_to_the_server_named_by_the_environment(tmp_path, monkeypatch):
    server_uri = f"sqlite:///{tmp_path}/server.db"
    monkeypatch.setenv(MLFLOW_TRACKING_URI.name, server_uri)
    monkeypatch.chdir(tmp_path)  # a SQLite "server" has no artifact root: MLflow would use ./mlruns

    result = dg.materialize([logs_a_metric], resources={MLFLOW_RESOURCE_KEY: mlflow_resource_for("prod")})

    assert result.success
    experiment = MlflowClient(tracking_uri=server_uri).get_experiment_by_name("prod_airbnb_price")
    assert experiment is not None
    runs = MlflowClient(tracking_uri=server_uri).search_runs(
        [experiment.experiment_id], filter_string="attributes.run_name != 'child'"
    )
    assert [run.data.tags["dagster_run_id"] for run in runs] == [result.run_id]


def test_unknown_environment_and_missing_root_fail_loudly():
    with pytest.raises(ValueError, match="valid: dev, test, prod"):
        mlflow_resource_for("staging", "/tmp/x")
    with pytest.raises(ValueError, match="storage_root"):
        mlflow_resource_for("dev")


def test_one_dagster_run_is_one_finished_mlflow_run_with_artifacts_under_the_root(tmp_path: Path):
    resources = {MLFLOW_RESOURCE_KEY: mlflow_resource_for("test", str(tmp_path))}

    first = dg.materialize([logs_a_metric], resources=resources)
    second = dg.materialize([logs_a_metric], resources=resources)

    assert first.success and second.success
    assert mlflow.active_run() is None
    assert (tmp_path / "mlflow" / "mlflow.db").is_file()
    client = MlflowClient(tracking_uri=local_tracking_uri(str(tmp_path)))
    experiment = client.get_experiment_by_name("test_airbnb_price")
    assert experiment.artifact_location == (tmp_path / "mlflow" / "artifacts").as_uri()
    runs = client.search_runs([experiment.experiment_id], filter_string="attributes.run_name != 'child'")
    assert sorted(run.data.tags["dagster_run_id"] for run in runs) == sorted([first.run_id, second.run_id])
    for run in runs:
        assert run.info.status == "FINISHED"
        assert run.data.metrics == {"answer": 42}
        assert run.info.artifact_uri.startswith(experiment.artifact_location)
        children = client.search_runs(
            [experiment.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'"
        )
        assert [child.data.metrics for child in children] == [{"child_answer": 1}]


def test_runs_that_do_not_use_mlflow_leave_no_trace(tmp_path: Path):
    result = dg.materialize(
        [needs_no_tracking], resources={MLFLOW_RESOURCE_KEY: mlflow_resource_for("test", str(tmp_path))}
    )

    assert result.success
    assert not (tmp_path / "mlflow").exists()
    assert mlflow.active_run() is None
