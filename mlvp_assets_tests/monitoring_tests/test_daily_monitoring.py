"""Four simulated days through the daily job after a champion was trained on days 1-2.

Day 3 drifts (shifted features, a new neighbourhood, an extra column) and has a landing file of
values that are HTML or script (``daily.HOSTILE_FILE``); day 4 only has its prices shifted.
Asserts on the tables, logs, reports and checks the daily job leaves behind, and opens day 3's
dashboard and reports in Chromium: the hostile values are stored as written and shown as text.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re

import pytest
from pyspark.sql import functions as F

from mlvp_assets.bronze.landing_csv import RESCUED_DATA
from mlvp_assets.delta_tables import read_table, replace_partition
from mlvp_assets.ml.features import NUMERIC_FEATURES
from mlvp_assets.monitoring.daily import champion_importances, write_data_drift
from mlvp_assets.monitoring.dashboard import DashboardTables, collect_dashboard_data
from mlvp_assets.monitoring.scoring import UNSEEN_FEATURES
from mlvp_assets.names import (
    BRONZE_TABLE,
    DATA_DRIFT_LOG,
    GOLD_TABLE,
    MODEL_DRIFT_LOG,
    PREDICTIONS_TABLE,
    TRAINING_SET_TABLE,
    UNSEEN_TABLE,
)
from mlvp_assets.resources.mlflow import model_registry_for
from mlvp_assets.resources.storage import StorageResource
from mlvp_assets.schema import LISTING_ID, PARTITION_COLUMN
from mlvp_assets.simulate import NEW_NEIGHBOURHOOD
from mlvp_assets_tests.browser import CHROMIUM_MISSING_REASON, chromium_executable, open_page
from mlvp_assets_tests.hostile import HOSTILE_VALUES, collapse_spaces, open_hostile_page, page_elements
from mlvp_assets_tests.monitoring_tests.daily import (
    DAYS,
    DRIFTED_DAY,
    HOSTILE_CELL_VALUES,
    HOSTILE_COLUMNS,
    PRICE_SHIFTED_DAY,
    SimulatedDays,
    hostile_listings,
    run_simulated_days,
)
from mlvp_assets_tests.monitoring_tests.test_hostile_values import REPORT_SCRIPTS

pytestmark = pytest.mark.slow

WARN_CHECKS = ("no_data_drift", "no_model_drift", "unseen_share_below_threshold")
SHIFTED_COLUMNS = {
    "accommodates",
    "beds",
    "review_scores_rating",
    "number_of_reviews",
    "latitude",
    "longitude",
}


@pytest.fixture(scope="module")
def days(tmp_path_factory, spark) -> SimulatedDays:
    root = tmp_path_factory.mktemp("daily_root")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLVP_ENV", "test")
        patch.setenv("MLVP_DATA_ROOT", str(root))
        yield run_simulated_days(root)


def table(spark, days: SimulatedDays, name: str):
    return read_table(spark, StorageResource(root=str(days.root)).table_path(name))


def rows_of(df, day):
    return df.where(F.col(PARTITION_COLUMN) == F.lit(day))


def test_every_daily_run_succeeds_after_a_champion_was_promoted(days):
    assert days.training.success
    promotion = days.training.get_asset_check_evaluations()[0]
    assert promotion.passed, promotion.description
    assert {key: run.success for key, run in days.daily.items()} == {day.isoformat(): True for day in DAYS}


def test_predictions_and_unseen_rows_add_up_to_gold_on_every_day(spark, days):
    gold, predictions, unseen = (
        table(spark, days, name) for name in (GOLD_TABLE, PREDICTIONS_TABLE, UNSEEN_TABLE)
    )
    for day in DAYS:
        gold_ids = {row[LISTING_ID] for row in rows_of(gold, day).select(LISTING_ID).collect()}
        predicted = [row[LISTING_ID] for row in rows_of(predictions, day).select(LISTING_ID).collect()]
        skipped = [row[LISTING_ID] for row in rows_of(unseen, day).select(LISTING_ID).collect()]
        assert len(predicted) == len(set(predicted)) and len(skipped) == len(set(skipped))
        assert set(predicted).isdisjoint(skipped), day
        assert set(predicted) | set(skipped) == gold_ids, day
        assert days.checks(day)["predictions_cover_gold"].passed


def test_predictions_carry_the_champion_and_the_actual_price(spark, days):
    predictions = rows_of(table(spark, days, PREDICTIONS_TABLE), DAYS[0])
    model = predictions.select("model_name", "model_version", "model_run_id").distinct().collect()
    assert [(row["model_name"], row["model_version"]) for row in model] == [("test_airbnb_price", 1)]
    assert len(model[0]["model_run_id"]) == 32
    assert predictions.where(F.col("prediction").isNull() | F.col("price").isNull()).count() == 0
    assert predictions.where(F.col("scored_at").isNull()).count() == 0


def test_the_new_neighbourhood_lands_in_unseen_listings_with_its_column_and_value(spark, days):
    unseen = rows_of(table(spark, days, UNSEEN_TABLE), DRIFTED_DAY)
    gold = rows_of(table(spark, days, GOLD_TABLE), DRIFTED_DAY)
    new_neighbourhood = gold.where(F.col("neighbourhood_cleansed") == NEW_NEIGHBOURHOOD).count()
    reasons = unseen.select(F.col("unseen_features")["neighbourhood_cleansed"].alias("value")).collect()

    assert new_neighbourhood > 0.1 * gold.count()
    assert sum(row["value"] == NEW_NEIGHBOURHOOD for row in reasons) == new_neighbourhood
    for day in DAYS[:2]:
        assert (
            rows_of(table(spark, days, UNSEEN_TABLE), day)
            .where(F.col("unseen_features")["neighbourhood_cleansed"] == NEW_NEIGHBOURHOOD)
            .count()
            == 0
        )


def test_data_drift_is_reported_on_the_drifted_day_only_with_the_shifted_columns_named(spark, days):
    log = {row[PARTITION_COLUMN]: row for row in table(spark, days, DATA_DRIFT_LOG).collect()}

    assert sorted(log) == DAYS
    assert [log[day]["dataset_drift"] for day in DAYS] == [False, False, True, False]
    drifted = set(log[DRIFTED_DAY]["drifted_columns"])
    assert drifted >= SHIFTED_COLUMNS and "neighbourhood_cleansed" in drifted
    assert "host_response_rate" not in {column["column"] for column in log[DRIFTED_DAY]["columns"]}
    for day in DAYS:
        report = days.root / "reports" / "data_drift" / f"{day.isoformat()}.html"
        assert report.stat().st_size > 100_000 and log[day]["report_path"].endswith(report.name)


def test_model_drift_log_shows_the_error_and_flags_shifted_prices_without_data_drift(spark, days):
    log = {row[PARTITION_COLUMN]: row for row in table(spark, days, MODEL_DRIFT_LOG).collect()}
    normal = log[DAYS[1]]
    shifted = log[PRICE_SHIFTED_DAY]

    assert normal["day_mae"] > 0 and normal["training_mae"] > 0 and not normal["model_drift"]
    # The day's full evaluation, on every priced prediction of the day.
    assert 0 < normal["day_median_ae"] < normal["day_mae"] <= normal["day_rmse"]
    assert normal["day_rows_under_1000"] + normal["day_rows_1000_and_above"] == normal["scored_rows"]
    assert shifted["error_drift"] and shifted["model_drift"] and not shifted["prediction_drift"]
    assert shifted["day_mae"] > 1.25 * shifted["training_mae"]
    assert shifted["target_drifted"]
    assert days.checks(PRICE_SHIFTED_DAY)["no_data_drift"].passed


def test_one_important_feature_shifted_alone_flags_the_day_and_an_unimportant_one_does_not(
    spark, days, tmp_path
):
    """Day 1's gold with one feature shifted, against the training set, ranked by the importances
    the history's champion logged; written to a data_drift_log of the old schema, which takes on
    the new columns and still reads (with the dashboard) for its old row."""
    registry = model_registry_for("test", str(days.root))
    importances = champion_importances(registry.client(), registry.model_name)
    assert importances is not None and importances.model_version == 1
    ranked = [feature for feature, _ in sorted(importances.importances, key=lambda pair: -pair[1])]
    top = 5
    numeric = [feature for feature in ranked if feature in NUMERIC_FEATURES]
    important, unimportant = numeric[0], numeric[-1]
    assert ranked.index(important) < top <= ranked.index(unimportant), ranked

    storage = StorageResource(root=str(tmp_path))
    training = table(spark, days, TRAINING_SET_TABLE)
    training.write.format("delta").save(storage.table_path(TRAINING_SET_TABLE))
    gold = rows_of(table(spark, days, GOLD_TABLE), DAYS[0])
    old_day, important_day, unimportant_day = (dt.date(2026, 2, day) for day in (1, 2, 3))
    for day, feature in ((important_day, important), (unimportant_day, unimportant)):
        spread = gold.agg(F.stddev(feature)).first()[0] or 0.0
        shifted = gold.withColumn(
            feature, (F.col(feature) + math.ceil(3 * spread) + 1).cast(gold.schema[feature].dataType)
        ).withColumn(PARTITION_COLUMN, F.lit(day))
        replace_partition(shifted, storage.table_path(GOLD_TABLE), day)
    log_path = storage.table_path(DATA_DRIFT_LOG)
    old_columns = [  # a row as the log was written before the importance rule
        "dataset_drift", "drift_share", "drifted_share", "drifted_columns", "columns", "reference_rows",
        "current_rows", PARTITION_COLUMN, "report_path", "evaluated_at",
    ]  # fmt: skip
    old_row = rows_of(table(spark, days, DATA_DRIFT_LOG), DAYS[0]).select(*old_columns)
    replace_partition(old_row.withColumn(PARTITION_COLUMN, F.lit(old_day)), log_path, old_day)

    flagged, calm = (
        write_data_drift(spark, storage, day, 5000, 42, 0.25, importances, top).drift
        for day in (important_day, unimportant_day)
    )

    assert flagged.drifted_columns == (important,), flagged.reason
    assert flagged.dataset_drift and flagged.important_drift and not flagged.share_drift
    assert flagged.drifted_important_features == (important,)
    assert calm.drifted_columns == (unimportant,), calm.reason
    assert not calm.dataset_drift and not calm.important_drift
    assert [feature.feature for feature in calm.important_features] == [
        feature for feature in ranked[:top] if dict(importances.importances)[feature] > 0
    ]
    log = {row[PARTITION_COLUMN]: row for row in read_table(spark, log_path).collect()}
    assert log[old_day]["reason"] is None and log[old_day]["important_features"] is None
    assert log[important_day]["dataset_drift"] and log[important_day]["reason"] == flagged.reason
    assert [(f["feature"], f["drifted"]) for f in log[important_day]["important_features"]] == [
        (f.feature, f.drifted) for f in flagged.important_features
    ]
    missing = storage.table_path("missing")
    tables = DashboardTables(missing, missing, missing, data_drift=log_path, model_drift=missing)
    page = collect_dashboard_data(spark, tables, important_day, 100, 42)
    assert page.data_drift_reason == flagged.reason
    assert page.important_features.query("drifted")["feature"].tolist() == [important]
    assert collect_dashboard_data(spark, tables, old_day, 100, 42).data_drift_reason == ""


def test_warn_checks_fire_on_the_drifted_days_only(days):
    outcomes = {day: {name: days.checks(day)[name].passed for name in WARN_CHECKS} for day in DAYS}

    assert outcomes[DAYS[0]] == outcomes[DAYS[1]] == dict.fromkeys(WARN_CHECKS, True)
    assert outcomes[DRIFTED_DAY]["no_data_drift"] is False
    assert outcomes[DRIFTED_DAY]["unseen_share_below_threshold"] is False
    assert outcomes[PRICE_SHIFTED_DAY] == {
        "no_data_drift": True,
        "no_model_drift": False,
        "unseen_share_below_threshold": True,
    }
    for day in DAYS:
        for name in WARN_CHECKS:
            evaluation = days.checks(day)[name]
            assert evaluation.severity.value == "WARN"
            links = {key for key, value in evaluation.metadata.items() if key in ("report", "dashboard")}
            assert links, (day, name)


def test_dashboard_pages_are_written_per_day_and_latest_follows_the_newest_day(days):
    pages = days.root / "dashboard"
    for day in DAYS:
        page = (pages / f"{day.isoformat()}.html").read_text()
        assert "Plotly.newPlot" in page and not re.search(r"<script[^>]+src=", page)
        assert f"Airbnb price model, {day.isoformat()}" in page
    assert (pages / "latest.html").read_text() == (pages / f"{DAYS[-1].isoformat()}.html").read_text()


@pytest.mark.skipif(chromium_executable() is None, reason=CHROMIUM_MISSING_REASON)
def test_the_latest_dashboard_opens_in_headless_chromium_with_its_charts(days):
    report = open_page(days.root / "dashboard" / "latest.html", timeout=90)

    assert report.console_errors == [], report.describe()
    assert report.plotly_count == 7 and report.svg_count >= 7, report.describe()
    assert not report.screenshot_is_blank()


def test_hostile_values_are_stored_in_bronze_gold_and_unseen_listings_as_written(spark, days):
    written = hostile_listings()
    hostile_ids = list(written)
    bronze = rows_of(table(spark, days, BRONZE_TABLE), DRIFTED_DAY).where(F.col(LISTING_ID).isin(hostile_ids))
    gold = rows_of(table(spark, days, GOLD_TABLE), DRIFTED_DAY).where(F.col(LISTING_ID).isin(hostile_ids))
    unseen = rows_of(table(spark, days, UNSEEN_TABLE), DRIFTED_DAY).where(F.col(LISTING_ID).isin(hostile_ids))
    predictions = rows_of(table(spark, days, PREDICTIONS_TABLE), DRIFTED_DAY)

    rescued = {row[LISTING_ID]: json.loads(row[RESCUED_DATA]) for row in bronze.collect()}
    assert rescued == {
        listing_id: {name: row[name] for name in HOSTILE_VALUES} for listing_id, row in written.items()
    }
    stored = {
        row[LISTING_ID]: tuple(row[column] for column in HOSTILE_COLUMNS)
        for row in gold.select(LISTING_ID, *HOSTILE_COLUMNS).collect()
    }
    assert stored == {
        listing_id: tuple(row[column] for column in HOSTILE_COLUMNS) for listing_id, row in written.items()
    }
    # Both columns are model features, and the model has seen none of the values: none scored.
    unseen_values = {row[LISTING_ID]: row[UNSEEN_FEATURES] for row in unseen.collect()}
    assert unseen_values == {
        listing_id: {column: row[column] for column in HOSTILE_COLUMNS} for listing_id, row in written.items()
    }
    assert predictions.where(F.col(LISTING_ID).isin(hostile_ids)).count() == 0


@pytest.mark.skipif(chromium_executable() is None, reason=CHROMIUM_MISSING_REASON)
def test_chromium_shows_the_hostile_day_s_dashboard_and_reports_as_text_without_running_any_of_it(days):
    day = DRIFTED_DAY.isoformat()
    dashboard = days.root / "dashboard" / f"{day}.html"
    data_report = days.root / "reports" / "data_drift" / f"{day}.html"
    model_report = days.root / "reports" / "model_drift" / f"{day}.html"
    benign_dashboard = days.root / "dashboard" / f"{DAYS[1].isoformat()}.html"

    shown = {
        dashboard: open_hostile_page(dashboard, timeout=90),
        data_report: open_hostile_page(data_report, details=HOSTILE_COLUMNS, timeout=90),
        model_report: open_hostile_page(model_report, timeout=90),
    }

    for path, page in shown.items():
        assert page.dialogs == [], (path.name, page.dialogs)
        assert page.handlers == [], (path.name, page.handlers)
        assert not [entry for entry in page.console if entry.startswith("SEVERE")], (path.name, page.console)
    assert shown[dashboard].scripts == len(page_elements(benign_dashboard.read_text()).scripts)
    assert shown[data_report].scripts == shown[model_report].scripts == REPORT_SCRIPTS
    dashboard_text = collapse_spaces(shown[dashboard].text)
    for name in HOSTILE_VALUES:  # the new columns of the day's landing files, named as text
        assert name in dashboard_text, name
    for value in HOSTILE_CELL_VALUES:
        for column in HOSTILE_COLUMNS:  # the unseen-values chart, a label drawn letter for letter
            assert f"{column} = {value}" in shown[dashboard].svg_text, (value, shown[dashboard].svg_text)
        # a category of both columns' charts in the data-drift report
        assert shown[data_report].svg_text.count(value) >= len(HOSTILE_COLUMNS), value
