"""End to end on simulated gold: training_set -> price_model -> challenger_beats_champion, twice.

A good configuration is trained first (it must become champion), then a deliberately weak one
(one tree of depth one), which must stay challenger. Everything runs for real: Spark, Delta,
hyperopt, MLflow with a SQLite backend under the test's storage root.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import mlflow
import mlflow.spark
import pandas as pd
import pytest
from mlflow.models import get_model_info
from mlflow.tracking import MlflowClient

from mlvp_assets.ml.assets import challenger_beats_champion, price_model, training_set
from mlvp_assets.ml.features import FEATURE_COLUMNS, PREDICTION
from mlvp_assets.ml.registry import CHALLENGER, CHAMPION, alias_uri
from mlvp_assets.ml.training import SPLIT_COLUMN, TEST, model_pip_requirements
from mlvp_assets.names import TRAINING_SET_TABLE
from mlvp_assets.resources.mlflow import airbnb_price_name, local_tracking_uri
from mlvp_assets.resources.storage import StorageResource
from mlvp_assets.schema import LISTING_ID
from mlvp_assets_tests.ml_tests.conftest import ml_resources, write_simulated_gold

MODEL_NAME = airbnb_price_name("test")
# The forest alone, whose parameters these tests read; test_learner_families.py covers the others.
GOOD = {
    "max_evals": 2,
    "learners": ["random_forest"],
    "num_trees_min": 10,
    "num_trees_max": 15,
    "max_depth_min": 5,
    "max_depth_max": 6,
}
WEAK = {
    "max_evals": 1,
    "learners": ["random_forest"],
    "num_trees_min": 1,
    "num_trees_max": 1,
    "max_depth_min": 1,
    "max_depth_max": 1,
    "feature_subset_strategies": ["all"],
}


def train(resources: dict, price_model_config: dict, snapshot: bool = True) -> dg.ExecuteInProcessResult:
    """Materialize price_model and its check, after a new training_set snapshot if ``snapshot``."""
    return dg.materialize(
        [*([training_set] if snapshot else []), price_model, challenger_beats_champion],
        resources=resources,
        run_config={"ops": {"price_model": {"config": price_model_config}}},
        raise_on_error=False,
    )


def materialized(result: dg.ExecuteInProcessResult, key: str) -> dict:
    (event,) = result.asset_materializations_for_node(key)
    return {name: value.value for name, value in event.metadata.items()}


def check_evaluation(result: dg.ExecuteInProcessResult):
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


@pytest.fixture(scope="module")
def trained(spark, module_root: Path) -> SimpleNamespace:
    write_simulated_gold(spark, module_root, days=2, rows_per_day=500)
    resources = ml_resources(module_root)
    good = train(resources, GOOD)
    weak = train(resources, WEAK, snapshot=False)  # same snapshot: the check compares on the same test split
    tracking_uri = local_tracking_uri(str(module_root))
    return SimpleNamespace(
        root=module_root,
        good=good,
        weak=weak,
        tracking_uri=tracking_uri,
        client=MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri),
    )


@pytest.fixture
def good_run(trained):
    return trained.client.get_run(materialized(trained.good, "price_model")["mlflow_run_id"])


def test_good_model_is_registered_and_becomes_champion(trained):
    assert trained.good.success
    model = materialized(trained.good, "price_model")
    assert model["registered_model"] == MODEL_NAME and model["model_version"] == 1

    evaluation = check_evaluation(trained.good)
    assert evaluation.passed
    assert evaluation.metadata["decision"].value == "promoted"
    assert trained.client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version == 1
    tags = trained.client.get_model_version(MODEL_NAME, "1").tags
    assert tags["promotion_decision"] == "promoted"
    assert float(tags["challenger_test_mae"]) < float(tags["baseline_test_mae"])


def test_training_set_is_a_split_delta_snapshot(trained, spark):
    metadata = materialized(trained.good, "training_set")
    rows = spark.read.format("delta").load(
        StorageResource(root=str(trained.root)).table_path(TRAINING_SET_TABLE)
    )

    assert set(metadata["rows_per_split"]) == {"train", "validation", "test"}
    assert rows.count() == metadata["dagster/row_count"] == rows.select(LISTING_ID).distinct().count()
    assert set(FEATURE_COLUMNS) <= set(rows.columns)


def test_parent_run_records_metrics_parameters_artifacts_and_the_model(trained, good_run):
    assert good_run.info.status == "FINISHED"
    metrics = good_run.data.metrics
    for metric in ("test_mae", "test_rmse", "test_r2", "baseline_test_mae", "model_logging_seconds"):
        assert metric in metrics
    # The full evaluation of the test rows, the figures the champion check and the dashboard show.
    for metric in ("test_log_r2", "test_median_ae", "test_mae_under_1000", "test_mae_room_type_private_room"):
        assert metric in metrics
    assert 0 < metrics["test_median_ae"] < metrics["test_mae"] * 1.5
    assert materialized(trained.good, "price_model")["test_figures"]["test_mae"] == pytest.approx(
        metrics["test_mae"], abs=1e-3
    )
    for param in (
        "learner",
        "best_numTrees",
        "best_maxDepth",
        "max_evals",
        "target_transform",
        "training_set_version",
    ):
        assert param in good_run.data.params
    artifacts = {artifact.path for artifact in trained.client.list_artifacts(good_run.info.run_id)}
    assert {
        "feature_importance.csv",
        "feature_importance.png",
        "predicted_vs_actual.png",
        "test_predictions.csv",
        "trials.csv",
    } <= artifacts
    assert Path(good_run.info.artifact_uri.removeprefix("file://")).is_relative_to(
        trained.root / "mlflow" / "artifacts"
    )

    mlflow.set_tracking_uri(trained.tracking_uri)
    info = get_model_info(alias_uri(MODEL_NAME, CHAMPION))
    assert [column.name for column in info.signature.inputs.inputs] == list(FEATURE_COLUMNS)
    assert info.saved_input_example_info is not None


def test_each_evaluation_is_a_nested_run_with_validation_and_training_metrics(trained, good_run):
    children = trained.client.search_runs(
        [good_run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{good_run.info.run_id}'"
    )

    assert len(children) == GOOD["max_evals"]
    for child in children:
        assert {"numTrees", "maxDepth", "minInstancesPerNode", "featureSubsetStrategy", "maxBins"} <= set(
            child.data.params
        )
        assert {"validation_rmse", "validation_mae", "validation_r2", "train_rmse"} <= set(child.data.metrics)
        assert GOOD["num_trees_min"] <= int(child.data.params["numTrees"]) <= GOOD["num_trees_max"]


def test_model_beats_the_median_baseline_by_30_percent_on_simulated_data(good_run):
    metrics = good_run.data.metrics

    assert metrics["test_mae"] <= 0.7 * metrics["baseline_test_mae"]


def test_weak_challenger_stays_challenger_and_the_check_says_why(trained):
    assert not trained.weak.success  # the blocking check failed
    evaluation = check_evaluation(trained.weak)

    assert not evaluation.passed
    assert "worse than the champion" in evaluation.description
    metadata = {name: value.value for name, value in evaluation.metadata.items()}
    assert metadata["decision"] == "rejected"
    assert metadata["challenger_version"] == 2
    assert metadata["champion_version_before"] == metadata["champion_version_after"] == 1
    assert {"challenger_test_mae", "champion_test_mae", "baseline_test_mae"} <= set(metadata["metrics"])
    assert {"challenger_test_median_ae", "champion_test_log_r2", "baseline_test_mae_under_1000"} <= set(
        metadata["metrics"]
    )
    assert "| MAE Entire home/apt (" in metadata["evaluation"]

    assert trained.client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version == 1
    assert trained.client.get_model_version_by_alias(MODEL_NAME, CHALLENGER).version == 2
    tags = trained.client.get_model_version(MODEL_NAME, "2").tags
    assert tags["promotion_decision"] == "rejected"
    assert tags["compared_with_champion_version"] == "1"
    assert float(tags["challenger_test_mae"]) > float(tags["champion_test_mae"])


def test_champion_loaded_in_a_fresh_session_predicts_what_training_predicted(trained, good_run, spark):
    logged = pd.read_csv(trained.client.download_artifacts(good_run.info.run_id, "test_predictions.csv"))
    fresh = spark.newSession()
    mlflow.set_tracking_uri(trained.tracking_uri)
    champion = mlflow.spark.load_model(alias_uri(MODEL_NAME, CHAMPION))

    test_rows = (
        fresh.read.format("delta")
        .load(StorageResource(root=str(trained.root)).table_path(TRAINING_SET_TABLE))
        .where(f"{SPLIT_COLUMN} = '{TEST}'")
    )
    reloaded = champion.transform(test_rows).select(LISTING_ID, PREDICTION).toPandas()

    compared = logged.merge(reloaded, on=LISTING_ID, suffixes=("_logged", "_reloaded"))
    assert len(compared) == len(logged) == len(reloaded) > 0
    assert compared[f"{PREDICTION}_reloaded"].to_numpy() == pytest.approx(
        compared[f"{PREDICTION}_logged"].to_numpy()
    )


def test_logging_the_model_does_not_dominate_the_run(trained, good_run):
    metrics = good_run.data.metrics
    training_seconds = metrics["tuning_seconds"] + metrics["final_fit_seconds"]

    # Inferring requirements reloads the model in a subprocess with its own JVM (40 s and more here).
    requirements = Path(
        trained.client.download_artifacts(good_run.info.run_id, "model/requirements.txt")
    ).read_text()
    assert requirements.split() == model_pip_requirements()
    assert metrics["model_logging_seconds"] < min(30.0, training_seconds)


def test_a_failed_training_marks_its_mlflow_run_failed_and_registers_nothing(trained):
    versions_before = len(trained.client.search_model_versions(f"name = '{MODEL_NAME}'"))

    result = dg.materialize(
        [price_model],
        resources=ml_resources(trained.root),
        run_config={"ops": {"price_model": {"config": {"target_transform": "cube_root"}}}},
        raise_on_error=False,
    )

    assert not result.success
    experiment = trained.client.get_experiment_by_name(MODEL_NAME)
    (run,) = trained.client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.dagster_run_id = '{result.run_id}'"
    )
    assert run.info.status == "FAILED"
    assert mlflow.active_run() is None
    assert len(trained.client.search_model_versions(f"name = '{MODEL_NAME}'")) == versions_before
