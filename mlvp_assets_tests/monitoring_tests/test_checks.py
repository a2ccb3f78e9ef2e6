"""The check results and metadata of the scoring and drift assets, from plain figures (no Spark)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import dagster as dg
import pytest

from mlvp_assets.delta_tables import dataclass_schema, field_names
from mlvp_assets.ml.evaluation import Metrics
from mlvp_assets.monitoring.checks import (
    coverage_check,
    data_drift_check,
    data_drift_figures,
    model_drift_check,
    model_drift_figures,
    unseen_share_check,
)
from mlvp_assets.monitoring.drift import (
    ColumnDrift,
    DataDrift,
    DataDriftLogRow,
    ModelDrift,
    ModelDriftLogRow,
    TrainingError,
    fields_of,
)
from mlvp_assets.monitoring.scoring import Coverage
from mlvp_assets.schema import PARTITION_COLUMN
from mlvp_assets_tests.evaluations import evaluation_of

LINKS = {"report": dg.MetadataValue.url("file:///tmp/report.html")}


def coverage(**changes: int) -> Coverage:
    counts = dict(
        gold_rows=100,
        predicted_rows=96,
        unseen_rows=4,
        in_neither=0,
        in_both=0,
        unexplained_unseen=0,
        not_in_gold=0,
    )
    return Coverage(**{**counts, **changes})


def column(name: str, drifted: bool, score: float = 0.01) -> ColumnDrift:
    return ColumnDrift(column=name, test="K-S p_value", score=score, threshold=0.05, drifted=drifted)


def data_drift(drifted: tuple[str, ...]) -> DataDrift:
    columns = tuple(
        column(name, name in drifted) for name in ("accommodates", "bedrooms", "latitude", "beds")
    )
    share = len(drifted) / len(columns)
    return DataDrift(
        dataset_drift=share >= 0.5,
        drift_share=0.5,
        drifted_share=share,
        drifted_columns=drifted,
        columns=columns,
        reference_rows=800,
        current_rows=200,
    )


def model_drift(day_mae: float, prediction_drifted: bool = False) -> ModelDrift:
    return ModelDrift.measure(
        prediction=column("prediction", prediction_drifted),
        prediction_vs_training_price=column("prediction_as_price", True),
        target=column("price", False),
        day=evaluation_of(Metrics(mae=day_mae, rmse=2 * day_mae, r2=0.5, rows=150)),
        training=TrainingError(mae=50.0, rmse=100.0),
        error_tolerance=0.25,
        reference_rows=800,
    )


def test_complete_coverage_passes_and_counts_every_row():
    result = coverage_check(coverage())

    assert result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.description == "100 gold rows = 96 predicted + 4 unseen"
    # The scoring asset is a multi-asset: each result must name the table it is about.
    assert result.asset_key == dg.AssetKey("daily_predictions")
    assert result.metadata["in_both"].value == 0


@pytest.mark.parametrize(
    "gap", [{"in_neither": 1}, {"in_both": 2}, {"not_in_gold": 1}, {"unexplained_unseen": 3}]
)
def test_rows_lost_or_counted_twice_fail_the_coverage_check_naming_the_gap(gap):
    result = coverage_check(coverage(**gap))

    assert not result.passed
    (name, value) = next(iter(gap.items()))
    assert f"'{name}': {value}" in result.description


def test_the_unseen_share_warns_at_the_threshold_with_the_top_values_and_the_dashboard():
    top = [{"column": "neighbourhood_cleansed", "value": "Treasure Island", "rows": 4}]

    below = unseen_share_check(coverage(), 0.05, top, "file:///tmp/dashboard.html")
    at = unseen_share_check(coverage(), 0.04, top, "file:///tmp/dashboard.html")

    assert below.passed and not at.passed and at.severity == dg.AssetCheckSeverity.WARN
    assert at.asset_key == dg.AssetKey("unseen_listings")
    assert at.description == "4 of 100 gold rows (4.0%) could not be scored; threshold 4.0%"
    assert at.metadata["top_unseen_values"].value == top
    assert at.metadata["dashboard"].value == "file:///tmp/dashboard.html"


def test_the_data_drift_check_names_the_drifted_columns_and_keeps_the_sensor_flag():
    drifted = data_drift(("accommodates", "latitude"))
    calm = data_drift(())

    result = data_drift_check(drifted, LINKS)

    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert result.description == "2 of 4 feature columns drifted (50%, threshold 50%): accommodates, latitude"
    assert result.metadata["column_scores"].value["bedrooms"] == {"test": "K-S p_value", "score": 0.01}
    assert result.metadata["report"].value == "file:///tmp/report.html"
    assert data_drift_figures(drifted)["dataset_drift"] is True
    assert data_drift_figures(drifted)["drifted_columns"] == ["accommodates", "latitude"]
    assert data_drift_check(calm, LINKS).passed
    assert data_drift_check(calm, LINKS).description.endswith(": none")


def test_model_drift_is_flagged_by_error_beyond_tolerance_or_by_drifted_predictions():
    within, beyond, moved = model_drift(60.0), model_drift(70.0), model_drift(40.0, prediction_drifted=True)

    assert (within.mae_ratio, within.error_drift, within.model_drift) == (1.2, False, False)
    assert beyond.error_drift and beyond.model_drift and not beyond.prediction_drift
    assert moved.prediction_drift and moved.model_drift and not moved.error_drift


def test_the_model_drift_check_says_why_and_records_the_figures():
    result = model_drift_check(model_drift(70.0), 3, LINKS)
    calm = model_drift_check(model_drift(45.0), 3, LINKS)

    assert not result.passed and "MAE 70.0 vs 50.0 (x1.40)" in result.description
    assert (
        calm.passed and calm.description == "no model drift: MAE 45.0 vs 50.0 at training, predictions stable"
    )
    figures = model_drift_figures(model_drift(70.0), 3)
    assert figures["model_drift"] is True and figures["model_version"] == 3


def test_log_rows_are_the_figures_plus_the_day_and_carry_the_partition_column():
    drift = model_drift(70.0)
    row = ModelDriftLogRow(
        **fields_of(drift),
        landing_date=dt.date(2026, 1, 4),
        model_name="test_airbnb_price",
        model_version=3,
        report_path="/tmp/report.html",
        evaluated_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
    )

    assert fields_of(row) | fields_of(drift) == fields_of(row)
    assert row.prediction == drift.prediction
    for cls in (DataDriftLogRow, ModelDriftLogRow):
        assert PARTITION_COLUMN in {field.name for field in dataclasses.fields(cls)}
    # A flattened nested dataclass is columns of its own, named after the field (what readers of
    # the log select); a nested one that is not flattened is a struct.
    schema = dataclass_schema(ModelDriftLogRow)
    assert "target_drifted boolean" in schema and "prediction_test string" in schema
    assert "prediction_vs_training_price_score double" in schema and " prediction struct" not in schema
    assert "evaluated_at timestamp" in schema and "mae_ratio double" in schema
    struct = "struct<column:string, test:string, score:double, threshold:double, drifted:boolean>"
    assert f"columns array<{struct}>" in dataclass_schema(DataDriftLogRow)


def test_a_reader_naming_a_field_the_log_does_not_have_fails_at_once():
    assert field_names(DataDriftLogRow, "dataset_drift") == ["dataset_drift"]
    with pytest.raises(AttributeError, match="no fields \\['drift_flag'\\]"):
        field_names(DataDriftLogRow, "dataset_drift", "drift_flag")
