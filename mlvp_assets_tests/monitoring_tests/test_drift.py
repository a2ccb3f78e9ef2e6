"""Evidently drift figures on small pandas frames (the day's error in Spark, as the asset measures
it): verdicts, named columns, error flags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlvp_assets.ml.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES
from mlvp_assets.monitoring.drift import TrainingError, data_drift, day_error, model_drift

ROWS = 600


def listings(seed: int, rows: int = ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({column: rng.normal(10, 2, rows) for column in NUMERIC_FEATURES})
    for column in CATEGORICAL_FEATURES:
        frame[column] = rng.choice(["a", "b", "c"], rows, p=[0.5, 0.3, 0.2])
    return frame


def test_the_same_distribution_does_not_drift():
    _, drift = data_drift(listings(1), listings(2), drift_share=0.25)

    assert not drift.dataset_drift
    assert drift.drifted_share < 0.25
    assert len(drift.columns) == len(NUMERIC_FEATURES) + len(CATEGORICAL_FEATURES)


def test_shifted_columns_and_a_new_category_are_named():
    current = listings(2)
    current["accommodates"] += 3
    current["latitude"] *= 1.5
    current["neighbourhood_cleansed"] = np.where(
        np.arange(ROWS) % 3 == 0, "Treasure Island", current["neighbourhood_cleansed"]
    )
    for column in ("beds", "bathrooms", "bedrooms"):
        current[column] -= 4

    snapshot, drift = data_drift(listings(1), current, drift_share=0.2)

    assert drift.dataset_drift
    assert {"accommodates", "latitude", "neighbourhood_cleansed", "beds", "bathrooms", "bedrooms"} <= set(
        drift.drifted_columns
    )
    assert "minimum_nights" not in drift.drifted_columns
    by_column = {column.column: column for column in drift.columns}
    assert by_column["accommodates"].test == "K-S p_value" and by_column["accommodates"].score < 0.05
    assert "<html" in snapshot.get_html_str(as_iframe=False).lower()


def test_drift_share_must_be_a_share():
    with pytest.raises(ValueError, match="drift_share must be in"):
        data_drift(listings(1), listings(2), drift_share=0)


def priced(seed: int, factor: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    price = rng.lognormal(5, 0.4, ROWS)
    return pd.DataFrame({"price": price * factor, "prediction": price * rng.normal(1, 0.1, ROWS)})


def error_of(spark, frame: pd.DataFrame):
    """The day's error as the model-drift asset measures it: in Spark, over every priced row."""
    return day_error(spark.createDataFrame(frame))


def test_the_day_error_is_measured_against_the_training_error(spark):
    reference, current = priced(1), priced(2)
    day = error_of(spark, current)
    expected_mae = float((current["prediction"] - current["price"]).abs().mean())

    training = TrainingError(mae=day.metrics.mae, rmse=day.metrics.rmse, median_ae=40.0, mae_under_1000=41.0)

    _, drift = model_drift(reference, current, day, training, error_tolerance=0.25)

    assert day.metrics.rows == ROWS and drift.scored_rows == ROWS
    assert drift.day_mae == pytest.approx(expected_mae)
    # The rest of the day's evaluation and the training run's figures go to the log as they are.
    assert (drift.day_median_ae, drift.day_log_r2) == (day.median_ae, day.log_r2)
    assert drift.day_mae_under_1000 == day.mae_under_1000 and drift.day_rows_under_1000 == ROWS
    assert (drift.day_mae_1000_and_above, drift.day_rows_1000_and_above) == (None, 0)
    assert (drift.training_median_ae, drift.training_mae_under_1000, drift.training_mae_1000_and_above) == (
        40.0,
        41.0,
        None,
    )
    assert not drift.error_drift and not drift.prediction_drift and not drift.model_drift
    assert drift.reasons() == []


def test_shifted_prices_with_the_same_predictions_flag_error_drift_only(spark):
    reference = priced(1)
    current = priced(2)
    training = error_of(spark, current)
    current["price"] *= 1.6

    _, drift = model_drift(
        reference,
        current,
        error_of(spark, current),
        TrainingError(training.metrics.mae, training.metrics.rmse),
        error_tolerance=0.25,
    )

    assert drift.error_drift and drift.model_drift and not drift.prediction_drift
    assert drift.target.drifted  # the actual prices moved
    assert drift.mae_ratio > 1.25
    assert "MAE" in drift.reasons()[0]


def test_a_day_without_actual_prices_has_no_error_to_measure(spark):
    no_price = spark.createDataFrame([(None, 100.0)], "price double, prediction double")
    with pytest.raises(ValueError, match="no predicted row of the day has an actual price"):
        day_error(no_price)
