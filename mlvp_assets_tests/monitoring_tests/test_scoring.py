"""Scoring a day with a fitted pipeline: every gold row is predicted or recorded as unseen, with
the unknown column and value; the coverage count catches rows lost or counted twice."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F

from mlvp_assets.gold.transform import enrich_listings
from mlvp_assets.ml.features import LABEL, ForestParams, TargetTransform, build_price_pipeline, label_column
from mlvp_assets.monitoring.scoring import (
    Champion,
    coverage,
    score_listings,
    top_unseen_values,
    unseen_listings,
)
from mlvp_assets.schema import LISTING_ID
from mlvp_assets.simulate import NEW_NEIGHBOURHOOD
from mlvp_assets_tests.ml_tests.conftest import DAY_1, simulated_listings

SCORED_AT = dt.datetime(2026, 1, 2, 6, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def champion(spark, tmp_path_factory) -> Champion:
    training = enrich_listings(
        simulated_listings(spark, tmp_path_factory.mktemp("train"), days=1, rows_per_day=300)
    )
    model = build_price_pipeline(ForestParams(num_trees=4, max_depth=4), TargetTransform.LOG1P, seed=1).fit(
        training.withColumn(LABEL, label_column(TargetTransform.LOG1P))
    )
    return Champion(
        name="test_airbnb_price", version="3", run_id="r" * 32, model=model, test_mae=50.0, test_rmse=80.0
    )


@pytest.fixture(scope="module")
def day(spark, tmp_path_factory):
    """A day where some listings moved to a new neighbourhood and one has an unknown room type."""
    listings = simulated_listings(
        spark,
        tmp_path_factory.mktemp("day"),
        days=1,
        rows_per_day=200,
        seed=5,
        drift_from=DAY_1,
        drift=("new_category",),
    )
    first = listings.orderBy(LISTING_ID).first()[LISTING_ID]
    unknown_room = F.when(F.col(LISTING_ID) == first, F.lit("Treehouse")).otherwise(F.col("room_type"))
    return enrich_listings(listings.withColumn("room_type", unknown_room)).cache()


def test_every_row_is_predicted_or_unseen_with_its_reason(champion, day):
    predictions = score_listings(champion, day, SCORED_AT).cache()
    unseen = unseen_listings(champion, day, predictions, SCORED_AT).cache()

    counts = coverage(day, predictions, unseen)
    reasons = {row[LISTING_ID]: row["unseen_features"] for row in unseen.collect()}
    moved = {
        row[LISTING_ID] for row in day.where(F.col("neighbourhood_cleansed") == NEW_NEIGHBOURHOOD).collect()
    }

    assert counts.complete and counts.gold_rows == day.count() == counts.predicted_rows + counts.unseen_rows
    assert moved and moved <= set(reasons)
    assert all(reasons[listing]["neighbourhood_cleansed"] == NEW_NEIGHBOURHOOD for listing in moved)
    assert "Treehouse" in [features.get("room_type") for features in reasons.values()]
    assert counts.unseen_share == pytest.approx(len(reasons) / counts.gold_rows)
    assert top_unseen_values(unseen)[0] == {
        "column": "neighbourhood_cleansed",
        "value": NEW_NEIGHBOURHOOD,
        "rows": len(moved),
    }


def test_predictions_record_the_model_and_the_scoring_time(champion, day):
    row = score_listings(champion, day, SCORED_AT).first()

    assert (row["model_name"], row["model_version"], row["model_run_id"]) == (
        "test_airbnb_price",
        3,
        "r" * 32,
    )
    assert row["prediction"] > 0 and row["price"] > 0
    assert row["scored_at"].astimezone(dt.UTC) == SCORED_AT


def test_coverage_catches_lost_doubled_and_foreign_rows(champion, day):
    predictions = score_listings(champion, day, SCORED_AT).cache()
    unseen = unseen_listings(champion, day, predictions, SCORED_AT).cache()
    keys = [LISTING_ID, "landing_date"]

    lost = coverage(day, predictions.orderBy(LISTING_ID).offset(1), unseen)
    doubled = coverage(day, predictions.select(*keys).unionByName(unseen.select(*keys)), unseen)
    foreign = coverage(day.limit(0), predictions, unseen)

    assert not lost.complete and lost.in_neither == 1
    assert not doubled.complete and doubled.in_both == unseen.count() > 0
    assert not foreign.complete and foreign.not_in_gold == foreign.predicted_rows + foreign.unseen_rows > 0
