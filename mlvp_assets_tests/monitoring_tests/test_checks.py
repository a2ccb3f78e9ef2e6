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
    ChampionImportances,
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


FEATURES = ("accommodates", "bedrooms", "latitude", "beds")


def data_drift(drifted: tuple[str, ...]) -> DataDrift:
    """Four columns, half of them drifting flags the day by the share rule; no champion."""
    columns = tuple(column(name, name in drifted) for name in FEATURES)
    return DataDrift.measure(columns, 0.5, None, 5, reference_rows=800, current_rows=200)


# Twenty-four feature columns, as the real report has, ranked by a champion's importances: the
# first five are "important" (top_features = 5), the rest are not.
MANY_FEATURES = tuple(f"feature_{index:02d}" for index in range(24))
IMPORTANCES = ChampionImportances(
    "test_airbnb_price", 3, tuple((name, 0.3 / (index + 1)) for index, name in enumerate(MANY_FEATURES))
)


def verdict(
    drifted: set[str], importances: ChampionImportances | None = IMPORTANCES, top: int = 5
) -> DataDrift:
    columns = [column(name, name in drifted) for name in MANY_FEATURES]
    return DataDrift.measure(columns, 0.25, importances, top, reference_rows=800, current_rows=200)


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
    assert result.description == (
        "share rule flags: 2 of 4 feature columns drifted (50%, threshold 50%); importance rule not "
        "applied: no champion to rank the features. Drifted columns: accommodates, latitude"
    )
    assert result.metadata["column_scores"].value["bedrooms"] == {"test": "K-S p_value", "score": 0.01}
    assert result.metadata["report"].value == "file:///tmp/report.html"
    assert data_drift_figures(drifted)["dataset_drift"] is True
    assert data_drift_figures(drifted)["drifted_columns"] == ["accommodates", "latitude"]
    assert data_drift_check(calm, LINKS).passed
    assert data_drift_check(calm, LINKS).description.endswith("Drifted columns: none")


def test_one_important_feature_drifting_alone_flags_the_day_by_the_importance_rule():
    important = MANY_FEATURES[4]  # the fifth most important: the last one watched

    drift = verdict({important})

    assert not drift.share_drift and drift.drifted_share < drift.drift_share  # 1 of 24
    assert drift.important_drift and drift.dataset_drift
    assert drift.drifted_important_features == (important,)
    assert "importance rule flags: feature_04 drifted, among the 5 most important features" in drift.reason
    assert "share rule passes: 1 of 24 feature columns drifted (4%, threshold 25%)" in drift.reason


def test_one_unimportant_feature_drifting_alone_does_not_flag_the_day():
    unimportant = MANY_FEATURES[5]  # the sixth: just outside the top five

    drift = verdict({unimportant})

    assert drift.drifted_columns == (unimportant,)
    assert not drift.share_drift and not drift.important_drift and not drift.dataset_drift
    assert "importance rule passes: none of the 5 most important features" in drift.reason
    assert verdict({unimportant}, top=6).dataset_drift  # the same day, watching one feature more


def test_the_share_rule_alone_still_flags_the_day_and_the_reason_says_which_rule_did():
    unimportant = set(MANY_FEATURES[-6:])  # 6 of 24 = 25%, none of them important

    by_share, by_both = verdict(unimportant), verdict(unimportant | {MANY_FEATURES[0]})

    assert by_share.dataset_drift and by_share.share_drift and not by_share.important_drift
    assert (
        by_share.reason.startswith("share rule flags: 6 of 24")
        and "importance rule passes" in by_share.reason
    )
    assert by_both.share_drift and by_both.important_drift
    assert "share rule flags" in by_both.reason and "importance rule flags: feature_00" in by_both.reason


def test_features_are_ranked_by_importance_and_unused_ones_are_never_important():
    # Logged in no particular order; feature_23 has importance 0 (the model never splits on it).
    importances = ChampionImportances(
        "m", 2, (("feature_03", 0.1), ("feature_23", 0.0), ("feature_07", 0.5), ("feature_01", 0.2))
    )

    drift = verdict({"feature_23"}, importances, top=5)

    assert [(f.rank, f.feature) for f in drift.important_features] == [
        (1, "feature_07"), (2, "feature_01"), (3, "feature_03")
    ]  # fmt: skip
    assert not drift.important_drift and drift.importance_model_version == 2
    assert not verdict({"feature_07"}, importances, top=0).dataset_drift  # top_features 0: share rule only


def test_without_a_champion_only_the_share_rule_decides():
    drift = verdict({MANY_FEATURES[0]}, importances=None)

    assert not drift.dataset_drift and drift.important_features == ()
    assert drift.importance_model_version is None
    assert "importance rule not applied: no champion" in drift.reason


def test_importances_of_features_the_report_does_not_measure_fail():
    stray = ChampionImportances("m", 1, (("feature_00", 0.5), ("neighbourhood_cleansed_Mission", 0.2)))

    with pytest.raises(ValueError, match="does not measure: \\['neighbourhood_cleansed_Mission'\\]"):
        verdict(set(), stray)
    with pytest.raises(ValueError, match="top_features must be >= 0"):
        verdict(set(), top=-1)


def test_the_data_drift_check_names_the_top_features_with_their_importance_and_verdict():
    result = data_drift_check(verdict({MANY_FEATURES[1]}), LINKS)

    assert not result.passed
    assert result.description.startswith("share rule passes: 1 of 24")
    assert "importance rule flags: feature_01 drifted, among the 5 most important features of " \
        "test_airbnb_price version 3" in result.description  # fmt: skip
    important = result.metadata["important_features"].value
    assert [(f["rank"], f["feature"], f["drifted"]) for f in important] == [
        (1, "feature_00", False), (2, "feature_01", True), (3, "feature_02", False),
        (4, "feature_03", False), (5, "feature_04", False),
    ]  # fmt: skip
    assert important[0]["importance"] == 0.3 and important[1]["importance"] == 0.15
    figures = data_drift_figures(verdict({MANY_FEATURES[1]}))
    assert figures["drifted_important_features"] == ["feature_01"] and figures["top_features"] == 5
    assert figures["important_drift"] is True and figures["share_drift"] is False
    assert figures["importance_model_version"] == 3


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
    important = "struct<rank:long, feature:string, importance:double, drifted:boolean>"
    assert f"important_features array<{important}>" in dataclass_schema(DataDriftLogRow)


def test_a_reader_naming_a_field_the_log_does_not_have_fails_at_once():
    assert field_names(DataDriftLogRow, "dataset_drift") == ["dataset_drift"]
    with pytest.raises(AttributeError, match="no fields \\['drift_flag'\\]"):
        field_names(DataDriftLogRow, "dataset_drift", "drift_flag")
