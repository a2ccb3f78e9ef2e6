"""The training set's snapshot and split, the metrics, and the hyperopt search space."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hyperopt.pyll.stochastic import sample
from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.sql import functions as F

from mlvp_assets.ml.evaluation import regression_metrics
from mlvp_assets.ml.features import (
    FEATURE_COLUMNS,
    GBT_MIN_INSTANCES_PER_NODE,
    ForestParams,
    GBTParams,
    LearnerFamily,
    XGBoostParams,
)
from mlvp_assets.ml.training import (
    SPLIT_COLUMN,
    TEST,
    TRAIN,
    TRAINING_SET_COLUMNS,
    VALIDATION,
    ForestSpace,
    GBTSpace,
    SearchSpace,
    XGBoostSpace,
    assign_splits,
    build_training_set,
    early_stopping_slice,
    latest_listings,
)


def _listings(spark, count: int, day: dt.date = dt.date(2026, 1, 1)):
    return spark.createDataFrame(
        [(f"L{n:06d}", day, float(100 + n % 50)) for n in range(count)],
        "listing_id string, landing_date date, price double",
    )


def _split_of(df) -> dict[str, str]:
    return {row["listing_id"]: row[SPLIT_COLUMN] for row in df.select("listing_id", SPLIT_COLUMN).collect()}


def test_split_fractions_follow_the_configuration(spark):
    counts = {
        row[SPLIT_COLUMN]: row["count"]
        for row in assign_splits(_listings(spark, 5000), seed=1, test_fraction=0.2, validation_fraction=0.25)
        .groupBy(SPLIT_COLUMN)
        .count()
        .collect()
    }

    assert counts[TEST] == pytest.approx(1000, abs=100)
    assert counts[VALIDATION] == pytest.approx(1000, abs=100)  # a quarter of the other 4000
    assert counts[TRAIN] == pytest.approx(3000, abs=100)


def test_a_listing_keeps_its_split_as_gold_grows_and_the_seed_decides(spark):
    small = _split_of(
        assign_splits(_listings(spark, 300), seed=1, test_fraction=0.2, validation_fraction=0.2)
    )
    grown = _split_of(
        assign_splits(_listings(spark, 900), seed=1, test_fraction=0.2, validation_fraction=0.2)
    )
    other_seed = _split_of(
        assign_splits(_listings(spark, 300), seed=2, test_fraction=0.2, validation_fraction=0.2)
    )

    assert all(grown[listing] == split for listing, split in small.items())
    assert sum(other_seed[listing] != split for listing, split in small.items()) > 30


@pytest.mark.parametrize("fractions", [(0.0, 0.2), (0.2, 1.0), (1.5, 0.1)])
def test_split_fractions_outside_zero_one_are_refused(spark, fractions):
    with pytest.raises(ValueError, match="fraction"):
        assign_splits(
            _listings(spark, 10), seed=1, test_fraction=fractions[0], validation_fraction=fractions[1]
        )


def test_latest_listings_keeps_each_listings_last_day(spark):
    rows = [
        ("L1", dt.date(2026, 1, 1), 100.0),
        ("L1", dt.date(2026, 1, 3), 120.0),
        ("L1", dt.date(2026, 1, 2), 110.0),
        ("L2", dt.date(2026, 1, 2), 80.0),
    ]
    gold = spark.createDataFrame(rows, "listing_id string, landing_date date, price double")

    latest = {
        row["listing_id"]: (row["landing_date"], row["price"]) for row in latest_listings(gold).collect()
    }

    assert latest == {"L1": (dt.date(2026, 1, 3), 120.0), "L2": (dt.date(2026, 1, 2), 80.0)}


def test_metrics_match_sparks_regression_evaluator(spark):
    predictions = spark.createDataFrame(
        [(100.0, 90.0), (200.0, 260.0), (150.0, 150.0), (1000.0, 400.0), (80.0, 95.0)],
        "price double, prediction double",
    )

    metrics = regression_metrics(predictions)

    for name in ("mae", "rmse", "r2"):
        expected = RegressionEvaluator(
            labelCol="price", predictionCol="prediction", metricName=name
        ).evaluate(predictions)
        assert getattr(metrics, name) == pytest.approx(expected)
    assert metrics.rows == 5
    assert metrics.prefixed("test") == {
        "test_mae": metrics.mae,
        "test_rmse": metrics.rmse,
        "test_r2": metrics.r2,
    }


def test_metrics_of_no_rows_fail_instead_of_reporting_nonsense(spark):
    with pytest.raises(ValueError, match="no rows"):
        regression_metrics(spark.createDataFrame([], "price double, prediction double"))


def test_the_search_chooses_a_family_then_draws_that_familys_params_within_its_bounds():
    space = SearchSpace(
        random_forest=ForestSpace(
            num_trees=(5, 9), max_depth=(4, 4), min_instances_per_node=(1, 3), max_bins=(40, 48)
        ),
        gbt=GBTSpace(max_iter=25, max_depth=(2, 3), step_size=(0.1, 0.2), loss_types=("absolute",)),
        xgboost=XGBoostSpace(n_estimators=70, objectives=("reg:absoluteerror",), learning_rate=(0.05, 0.1)),
    )
    drawn: dict[type, list] = {}
    for seed in range(60):
        params = space.params_from(sample(space.hyperopt_space(), rng=np.random.default_rng(seed)))
        drawn.setdefault(type(params), []).append(params)

    assert set(drawn) == {ForestParams, GBTParams, XGBoostParams}
    for forest in drawn[ForestParams]:
        assert 5 <= forest.num_trees <= 9 and forest.max_depth == 4 and 40 <= forest.max_bins <= 48
        assert 1 <= forest.min_instances_per_node <= 3
        assert forest.feature_subset_strategy in space.random_forest.feature_subset_strategies
    for gbt in drawn[GBTParams]:
        assert gbt.max_iter == 25 and 2 <= gbt.max_depth <= 3 and 0.1 <= gbt.step_size <= 0.2
        assert gbt.loss_type == "absolute" and gbt.min_instances_per_node >= GBT_MIN_INSTANCES_PER_NODE
    for xgboost in drawn[XGBoostParams]:
        assert xgboost.n_estimators == 70 and xgboost.objective == "reg:absoluteerror"
        assert 0.05 <= xgboost.learning_rate <= 0.1 and 3 <= xgboost.max_depth <= 8


def test_a_search_over_one_family_draws_only_that_family():
    space = SearchSpace(learners=(LearnerFamily.XGBOOST,))

    for seed in range(10):
        assert isinstance(
            space.params_from(sample(space.hyperopt_space(), rng=np.random.default_rng(seed))), XGBoostParams
        )


def test_inverted_search_bounds_and_an_empty_search_are_refused():
    with pytest.raises(ValueError, match="random_forest.max_depth"):
        SearchSpace(random_forest=ForestSpace(max_depth=(9, 3))).hyperopt_space()
    with pytest.raises(ValueError, match="xgboost.learning_rate"):
        SearchSpace(xgboost=XGBoostSpace(learning_rate=(0.3, 0.1))).hyperopt_space()
    with pytest.raises(ValueError, match="no learner family"):
        SearchSpace(learners=()).hyperopt_space()


def test_gbt_refuses_leaves_smaller_than_five_listings_and_unknown_losses():
    with pytest.raises(ValueError, match="at least 5"):
        GBTParams(min_instances_per_node=2)
    with pytest.raises(ValueError, match="loss_type"):
        GBTParams(loss_type="huber")
    with pytest.raises(ValueError, match="objective"):
        XGBoostParams(objective="reg:squarederror")


def test_the_early_stopping_slice_is_the_configured_share_of_the_training_rows(spark):
    rows = _listings(spark, 4000).withColumn("held_back", early_stopping_slice(seed=42, fraction=0.15))
    held_back = rows.where("held_back").count() / 4000

    assert 0.13 <= held_back <= 0.17
    with pytest.raises(ValueError, match="early_stopping_fraction"):
        early_stopping_slice(seed=42, fraction=0.0)


def test_training_set_takes_the_latest_row_within_the_date_window(spark):
    gold_rows = [(f"L{n}", dt.date(2026, 1, day), float(100 * day)) for n in range(40) for day in (1, 2, 3)]
    gold = spark.createDataFrame(gold_rows, "listing_id string, landing_date date, price double")
    for column in FEATURE_COLUMNS:
        gold = gold.withColumn(column, F.lit(None).cast("string"))

    snapshot = build_training_set(gold, seed=1, end_date=dt.date(2026, 1, 2))

    assert snapshot.columns == list(TRAINING_SET_COLUMNS)
    assert snapshot.count() == 40
    assert {row["price"] for row in snapshot.select("price").distinct().collect()} == {200.0}
