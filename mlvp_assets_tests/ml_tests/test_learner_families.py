"""The learner families of the price model's search, through ``price_model`` as Dagster runs it:
the conditional search picks among the families and logs the choice, and every family trains,
registers, loads in a fresh session with the same predictions, and scores unseen and
extra-column rows without raising.

One run searches all three families; each family it did not choose then gets a run of its own
(one evaluation), so every family is registered once on the same snapshot.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pandas as pd
import pytest
from mlflow import MlflowClient
from pyspark.sql import functions as F

from mlvp_assets.gold.transform import enrich_listings
from mlvp_assets.ml.assets import challenger_beats_champion, price_model, training_set
from mlvp_assets.ml.features import PREDICTION, LearnerFamily, unscorable_rows
from mlvp_assets.ml.registry import CHALLENGER, load_version
from mlvp_assets.ml.training import LEARNER, SPLIT_COLUMN, TEST
from mlvp_assets.names import TRAINING_SET_TABLE
from mlvp_assets.resources.mlflow import airbnb_price_name, local_tracking_uri
from mlvp_assets.resources.storage import StorageResource
from mlvp_assets.schema import LISTING_ID
from mlvp_assets.simulate import NEW_COLUMN
from mlvp_assets_tests.ml_tests.conftest import DAY_1, ml_resources, simulated_listings, write_simulated_gold

MODEL_NAME = airbnb_price_name("test")
# Small learners: the point is that each family goes through, not how good it gets.
SMALL = {
    "num_trees_min": 5,
    "num_trees_max": 8,
    "max_depth_min": 4,
    "max_depth_max": 5,
    "gbt_max_iter": 8,
    "gbt_max_depth_max": 3,
    "xgboost_n_estimators": 30,
    "xgboost_max_depth_max": 4,
}
# With the default seed, TPE's first three draws are a forest, XGBoost and a forest again.
SEARCH_ALL = {**SMALL, "max_evals": 3, "learners": [family.value for family in LearnerFamily]}


def search_all_families(resources: dict) -> dg.ExecuteInProcessResult:
    """training_job's selection: the snapshot, the search over every family, and the check (whose
    verdict on small learners is its business, not these tests')."""
    result = dg.materialize(
        [training_set, price_model, challenger_beats_champion],
        resources=resources,
        run_config={"ops": {"price_model": {"config": SEARCH_ALL}}},
        raise_on_error=False,
    )
    (check,) = result.get_asset_check_evaluations()
    assert check.metadata["decision"].value in ("promoted", "rejected")
    # The check names what it compared: the learner and parameters of each version.
    challenger = check.metadata["learners"].value[CHALLENGER]
    assert challenger[LEARNER] == model_metadata(result)[LEARNER]
    assert challenger["params"] == model_metadata(result)["best_params"]
    return result


def model_metadata(result: dg.ExecuteInProcessResult) -> dict:
    (event,) = result.asset_materializations_for_node("price_model")
    return {name: value.value for name, value in event.metadata.items()}


@pytest.fixture(scope="module")
def families(spark, module_root: Path) -> SimpleNamespace:
    write_simulated_gold(spark, module_root, days=2, rows_per_day=300)
    resources = ml_resources(module_root)
    tracking_uri = local_tracking_uri(str(module_root))
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    searched = model_metadata(search_all_families(resources))
    versions = {LearnerFamily(searched[LEARNER]): searched}
    for family in LearnerFamily:
        if family not in versions:  # registered as a challenger, on the same snapshot
            config = {**SMALL, "max_evals": 1, "learners": [family.value]}
            only = dg.materialize(
                [price_model], resources=resources, run_config={"ops": {"price_model": {"config": config}}}
            )
            versions[family] = model_metadata(only)
    return SimpleNamespace(root=module_root, client=client, searched=searched, versions=versions)


def test_the_search_tries_several_families_and_logs_the_one_it_chose(families):
    run = families.client.get_run(families.searched["mlflow_run_id"])
    trials = families.client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    )

    assert len(trials) == SEARCH_ALL["max_evals"]
    tried = {trial.data.params[LEARNER] for trial in trials}
    assert len(tried) >= 2 and tried <= {family.value for family in LearnerFamily}
    best = min(trials, key=lambda trial: trial.data.metrics["validation_mae"])
    assert run.data.params[LEARNER] == best.data.params[LEARNER] == families.searched[LEARNER]
    assert {f"best_{name}" for name in families.searched["best_params"]} <= set(run.data.params)
    trials_csv = pd.read_csv(families.client.download_artifacts(run.info.run_id, "trials.csv"))
    assert set(trials_csv[LEARNER]) == tried


@pytest.mark.parametrize("family", list(LearnerFamily), ids=str)
def test_each_family_is_registered_with_its_learner_and_params(families, family):
    metadata = families.versions[family]
    version = families.client.get_model_version(MODEL_NAME, str(metadata["model_version"]))
    run = families.client.get_run(metadata["mlflow_run_id"])

    assert metadata[LEARNER] == run.data.params[LEARNER] == version.tags[LEARNER] == family.value
    assert metadata["best_params"] and all(
        f"best_{name}" in run.data.params for name in metadata["best_params"]
    )
    if family is not LearnerFamily.RANDOM_FOREST:
        rounds = metadata["best_params"]["maxIter" if family is LearnerFamily.GBT else "n_estimators"]
        assert 1 <= rounds <= SMALL["gbt_max_iter" if family is LearnerFamily.GBT else "xgboost_n_estimators"]
    importances = pd.read_csv(families.client.download_artifacts(run.info.run_id, "feature_importance.csv"))
    assert importances["importance"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("family", list(LearnerFamily), ids=str)
def test_each_family_loaded_in_a_fresh_session_predicts_what_training_predicted(families, family, spark):
    metadata = families.versions[family]
    logged = pd.read_csv(
        families.client.download_artifacts(metadata["mlflow_run_id"], "test_predictions.csv")
    )
    fresh = spark.newSession()
    model = load_version(families.client, MODEL_NAME, metadata["model_version"])
    test_rows = (
        fresh.read.format("delta")
        .load(StorageResource(root=str(families.root)).table_path(TRAINING_SET_TABLE))
        .where(F.col(SPLIT_COLUMN) == TEST)
    )
    reloaded = model.transform(test_rows).select(LISTING_ID, PREDICTION).toPandas()

    compared = logged.merge(reloaded, on=LISTING_ID, suffixes=("_logged", "_reloaded"))
    assert len(compared) == len(logged) == len(reloaded) > 0
    assert compared[f"{PREDICTION}_reloaded"].to_numpy() == pytest.approx(
        compared[f"{PREDICTION}_logged"].to_numpy(), rel=1e-6
    )


@pytest.mark.parametrize("family", list(LearnerFamily), ids=str)
def test_each_family_scores_unseen_and_extra_column_rows_without_raising(families, family, spark, tmp_path):
    model = load_version(families.client, MODEL_NAME, families.versions[family]["model_version"])
    drifted = enrich_listings(
        simulated_listings(
            spark,
            tmp_path,
            days=1,
            rows_per_day=200,
            seed=11,
            drift_from=DAY_1,
            drift=("new_category", "new_column"),
        )
    ).withColumn(NEW_COLUMN, F.lit("95%"))

    scored = model.transform(drifted).select(LISTING_ID, PREDICTION).toPandas()
    unscorable = unscorable_rows(model, drifted).count()

    assert unscorable > 0  # the new neighbourhood
    assert len(scored) + unscorable == drifted.count()
    assert (scored[PREDICTION] > 0).all()
