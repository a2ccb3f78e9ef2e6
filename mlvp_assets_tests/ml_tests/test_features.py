"""The price pipeline on new data: unseen categories, extra columns, missing values, the price
scale of its predictions, and Spark's maxBins constraint."""

from __future__ import annotations

import math

import pytest
from pyspark.sql import functions as F

from mlvp_assets import schema
from mlvp_assets.gold.transform import enrich_listings
from mlvp_assets.ml.features import (
    FEATURE_COLUMNS,
    LABEL,
    PREDICTION,
    ForestParams,
    TargetTransform,
    build_price_pipeline,
    category_labels,
    feature_importances,
    label_column,
    unscorable_rows,
)
from mlvp_assets.simulate import NEW_COLUMN, NEW_NEIGHBOURHOOD
from mlvp_assets_tests.ml_tests.conftest import DAY_1, simulated_listings

SMALL_FOREST = ForestParams(num_trees=8, max_depth=5)


@pytest.fixture(scope="module")
def gold(spark, tmp_path_factory):
    return enrich_listings(
        simulated_listings(spark, tmp_path_factory.mktemp("gold"), days=1, rows_per_day=600)
    ).cache()


@pytest.fixture(scope="module")
def fitted(gold):
    labelled = gold.withColumn(LABEL, label_column(TargetTransform.LOG1P))
    return build_price_pipeline(SMALL_FOREST, TargetTransform.LOG1P, seed=1).fit(labelled)


@pytest.fixture(scope="module")
def drifted(spark, tmp_path_factory):
    """A day of listings with a neighbourhood the model never saw and a column it never saw."""
    listings = simulated_listings(
        spark,
        tmp_path_factory.mktemp("drifted"),
        days=1,
        rows_per_day=300,
        seed=11,
        drift_from=DAY_1,
        drift=("new_category", "new_column"),
    )
    return enrich_listings(listings).withColumn(NEW_COLUMN, F.lit("95%")).cache()


def ids(df) -> set[str]:
    return {row[schema.LISTING_ID] for row in df.select(schema.LISTING_ID).collect()}


def test_rows_with_unseen_categories_are_skipped_and_identifiable(fitted, drifted):
    new_neighbourhood = ids(drifted.where(F.col("neighbourhood_cleansed") == NEW_NEIGHBOURHOOD))
    assert 0 < len(new_neighbourhood) < drifted.count()
    assert NEW_NEIGHBOURHOOD not in category_labels(fitted)["neighbourhood_cleansed"]

    scored = ids(fitted.transform(drifted))
    skipped = ids(unscorable_rows(fitted, drifted))

    assert skipped == ids(drifted) - scored
    assert new_neighbourhood <= skipped
    # a rare property type missing from the small training sample is unseen too, and also counted
    assert all(
        row["property_type"] not in category_labels(fitted)["property_type"]
        for row in unscorable_rows(fitted, drifted)
        .where(F.col("neighbourhood_cleansed") != NEW_NEIGHBOURHOOD)
        .collect()
    )


def test_extra_input_columns_are_ignored(fitted, gold):
    with_extra = gold.withColumn(NEW_COLUMN, F.lit("95%")).withColumn("host_since", F.lit("2015-01-01"))

    plain = {row[schema.LISTING_ID]: row[PREDICTION] for row in fitted.transform(gold).collect()}
    extra = {row[schema.LISTING_ID]: row[PREDICTION] for row in fitted.transform(with_extra).collect()}

    assert extra == plain
    assert len(plain) == gold.count()


def test_rows_with_a_missing_number_are_skipped_not_raised(fitted, gold):
    one_missing = gold.limit(20).withColumn(
        "bedrooms",
        F.when(F.col(schema.LISTING_ID) == gold.first()[schema.LISTING_ID], F.lit(None)).otherwise(
            F.col("bedrooms")
        ),
    )

    assert fitted.transform(one_missing).count() == 19
    assert unscorable_rows(fitted, one_missing).count() == 1


def test_a_missing_feature_column_fails_loudly(fitted, gold):
    with pytest.raises(Exception, match="bedrooms"):
        fitted.transform(gold.drop("bedrooms")).count()


def test_log_target_predictions_come_back_on_the_price_scale(fitted, gold):
    scored = fitted.transform(gold)
    median_price, median_prediction = scored.agg(F.median("price"), F.median(PREDICTION)).first()

    assert 0.6 * median_price < median_prediction < 1.6 * median_price
    label, price = gold.select(label_column(TargetTransform.LOG1P).alias("label"), "price").first()
    assert label == pytest.approx(math.log1p(price))


def test_untransformed_target_predicts_prices_directly(gold):
    labelled = gold.withColumn(LABEL, label_column(TargetTransform.NONE, price_cap=300.0))
    assert labelled.agg(F.max(LABEL)).first()[0] == 300.0

    model = build_price_pipeline(SMALL_FOREST, TargetTransform.NONE, seed=1).fit(labelled)

    assert model.transform(gold).agg(F.max(PREDICTION)).first()[0] <= 300.0


def test_max_bins_is_raised_to_the_largest_category_count(gold):
    neighbourhoods = gold.select("neighbourhood_cleansed").distinct().count()
    assert neighbourhoods > 16
    too_few_bins = ForestParams(num_trees=2, max_depth=3, max_bins=16)

    with pytest.raises(Exception, match="maxBins"):
        build_price_pipeline(too_few_bins, TargetTransform.LOG1P, seed=1).fit(
            gold.withColumn(LABEL, F.col("price"))
        )
    assert too_few_bins.with_max_bins_at_least(neighbourhoods).max_bins == neighbourhoods


def test_feature_importances_name_every_feature(fitted):
    importances = feature_importances(fitted)

    assert sorted(name for name, _ in importances) == sorted(FEATURE_COLUMNS)
    assert sum(value for _, value in importances) == pytest.approx(1.0)
    assert [value for _, value in importances] == sorted((value for _, value in importances), reverse=True)
