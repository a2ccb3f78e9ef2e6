"""The full evaluation of a price model on tiny DataFrames whose figures are worked out by hand."""

from __future__ import annotations

import dataclasses
import math

import pytest

from mlvp_assets.ml.evaluation import evaluate, figure_slug

SCHEMA = "room_type string, price double, prediction double"


def test_evaluation_computes_every_figure(spark):
    predictions = spark.createDataFrame(
        [
            ("Entire home/apt", 100.0, 110.0),  # error 10
            ("Entire home/apt", 1000.0, 800.0),  # error 200, in the band at or above 1,000
            ("Private room", 50.0, 40.0),  # error 10
            ("Shared room", 250.0, 290.0),  # error 40
        ],
        SCHEMA,
    )

    evaluation = evaluate(predictions)

    # Squared errors 100 + 40,000 + 100 + 1,600 = 41,800; the mean price 350, squared deviations
    # 62,500 + 422,500 + 90,000 + 10,000 = 585,000.
    assert evaluation.metrics.rows == 4
    assert evaluation.metrics.mae == pytest.approx(260 / 4)
    assert evaluation.metrics.rmse == pytest.approx(math.sqrt(41_800 / 4))
    assert evaluation.metrics.r2 == pytest.approx(1 - 41_800 / 585_000)
    logs = [(math.log1p(actual), math.log1p(predicted)) for actual, predicted in
            ((100, 110), (1000, 800), (50, 40), (250, 290))]  # fmt: skip
    log_mean = sum(actual for actual, _ in logs) / 4
    log_sse = sum((predicted - actual) ** 2 for actual, predicted in logs)
    log_sst = sum((actual - log_mean) ** 2 for actual, _ in logs)
    assert evaluation.log_r2 == pytest.approx(1 - log_sse / log_sst)
    assert evaluation.median_ae == pytest.approx(25.0)  # between 10 and 40 of 10, 10, 40, 200
    assert (evaluation.mae_under_1000, evaluation.rows_under_1000) == (pytest.approx(20.0), 3)
    assert (evaluation.mae_1000_and_above, evaluation.rows_1000_and_above) == (pytest.approx(200.0), 1)
    assert evaluation.mae_by_room_type == {
        "Entire home/apt": 105.0,
        "Private room": 10.0,
        "Shared room": 40.0,
    }
    assert evaluation.rows_by_room_type == {"Entire home/apt": 2, "Private room": 1, "Shared room": 1}
    assert evaluation.figures("test") == {
        "test_mae": evaluation.metrics.mae,
        "test_rmse": evaluation.metrics.rmse,
        "test_r2": evaluation.metrics.r2,
        "test_log_r2": evaluation.log_r2,
        "test_median_ae": 25.0,
        "test_mae_under_1000": 20.0,
        "test_mae_1000_and_above": 200.0,
        "test_mae_room_type_entire_home_apt": 105.0,
        "test_mae_room_type_private_room": 10.0,
        "test_mae_room_type_shared_room": 40.0,
    }


def test_evaluation_names_other_columns_and_leaves_out_an_empty_band(spark):
    predictions = spark.createDataFrame(
        [(None, 120.0, 100.0), ("Hotel room", 80.0, 90.0)], "room_type string, actual double, guess double"
    )

    evaluation = evaluate(predictions, prediction="guess", actual="actual")

    # Errors 20 and 10; prices 120 and 80 lie 20 from their mean.
    assert (evaluation.metrics.mae, evaluation.metrics.rows) == (15.0, 2)
    assert evaluation.metrics.rmse == pytest.approx(math.sqrt(250.0))
    assert evaluation.metrics.r2 == pytest.approx(1 - 250 / 400)
    assert (evaluation.mae_1000_and_above, evaluation.rows_1000_and_above) == (None, 0)
    assert evaluation.mae_by_room_type == {"Hotel room": 10.0, "unknown": 20.0}
    figures = evaluation.figures("day")
    assert "day_mae_1000_and_above" not in figures
    assert figures["day_mae_room_type_unknown"] == 20.0
    without_room_type = evaluate(predictions.drop("room_type"), prediction="guess", actual="actual")
    assert without_room_type == dataclasses.replace(evaluation, mae_by_room_type={}, rows_by_room_type={})


def test_evaluation_of_no_rows_fails_instead_of_reporting_nonsense(spark):
    with pytest.raises(ValueError, match="no rows"):
        evaluate(spark.createDataFrame([], SCHEMA))


def test_figure_slugs_are_valid_mlflow_metric_names():
    assert figure_slug("Entire home/apt") == "entire_home_apt"
    assert figure_slug("  Hotel room ") == "hotel_room"
    assert figure_slug("///") == "unknown"
