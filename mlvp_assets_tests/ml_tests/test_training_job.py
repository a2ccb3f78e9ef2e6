"""The training job and schedule beside the daily medallion job: what each runs, and when. No Spark."""

from __future__ import annotations

import dagster as dg
import pytest

from mlvp_assets.definitions import build_definitions
from mlvp_assets.ml import assets as ml
from mlvp_assets.ml import run_config


@pytest.fixture(params=["dev", "prod"])
def defs(request, tmp_path, monkeypatch) -> dg.Definitions:
    """The project's own definitions, built for dev and for prod."""
    monkeypatch.setenv("MLVP_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("MLVP_SPARK_MASTER", "local[1]")
    monkeypatch.setenv("MLVP_STORAGE_ROOT", str(tmp_path))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    return build_definitions(request.param)


def node_names(job: dg.JobDefinition) -> set[str]:
    return {node.name for node in job.nodes_in_topological_order}


def test_training_job_runs_the_training_assets_and_the_promotion_check_in_one_process(defs):
    job = defs.resolve_job_def("training_job")

    assert job.asset_layer.selected_asset_keys == {dg.AssetKey("training_set"), dg.AssetKey("price_model")}
    assert node_names(job) == {"training_set", "price_model", "price_model_challenger_beats_champion"}
    assert job.executor_def is dg.in_process_executor


def test_daily_runs_do_not_retrain(defs):
    daily = defs.resolve_job_def("medallion_job")

    assert (
        not {dg.AssetKey("training_set"), dg.AssetKey("price_model")} & daily.asset_layer.selected_asset_keys
    )
    assert not any("price_model" in name or "training" in name for name in node_names(daily))
    for asset in (ml.training_set, ml.price_model):
        assert asset.partitions_def is None
        assert all(condition is None for condition in asset.automation_conditions_by_key.values())


def test_training_is_weekly_and_stopped_until_turned_on(defs):
    schedule = defs.resolve_schedule_def("training_schedule")

    assert schedule.job_name == "training_job"
    assert schedule.cron_schedule == "0 4 * * 1"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED


def test_prod_tunes_with_a_bigger_budget_and_its_run_config_is_valid(defs):
    job = defs.resolve_job_def("training_job")
    prod = run_config.training_run_config("prod")

    validated = dg.validate_run_config(job, prod)["ops"]["price_model"]["config"]
    assert (
        validated["max_evals"]
        == run_config.PROD_PRICE_MODEL_CONFIG["max_evals"]
        > 3 * ml.PriceModelConfig().max_evals
    )
    assert run_config.training_run_config("dev") == {} == run_config.training_run_config("test")
