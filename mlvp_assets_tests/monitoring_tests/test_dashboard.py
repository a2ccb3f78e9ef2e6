"""The dashboard page from small monitoring tables: what it shows, and that a real headless
Chromium draws it from disk with no console errors (no server, no internet)."""

from __future__ import annotations

import datetime as dt
import math
import re

import pandas as pd
import pytest
from pyspark.sql import DataFrame

from mlvp_assets.delta_tables import dataclass_frame, replace_partition
from mlvp_assets.monitoring.dashboard import (
    FIGURES,
    MODEL_ERROR_COLUMNS,
    DashboardData,
    DashboardTables,
    collect_dashboard_data,
    error_figure,
    render_dashboard,
)
from mlvp_assets.monitoring.drift import ModelDriftLogRow, fields_of
from mlvp_assets_tests.browser import CHROMIUM_MISSING_REASON, chromium_executable, open_page
from mlvp_assets_tests.monitoring_tests.test_checks import model_drift

DATES = [dt.date(2026, 1, 1) + dt.timedelta(days=offset) for offset in range(3)]
DAYS = [date.isoformat() for date in DATES]
FEATURES = ["accommodates", "latitude", "neighbourhood_cleansed"]


def three_days() -> DashboardData:
    return DashboardData(
        day=DATES[-1],
        predictions_per_day=pd.DataFrame(
            {"landing_date": DAYS, "rows": [480, 470, 390], "p10": [80.0, 82.0, 95.0],
             "median": [150.0, 151.0, 180.0], "p90": [320.0, 330.0, 400.0],
             "mean_price": [190.0, 188.0, 240.0], "model_version": [1, 1, 2]}
        ),
        day_predictions=pd.DataFrame(
            {"prediction": [100.0, 150.0, 210.0, 400.0], "price": [90.0, 160.0, 250.0, 380.0]}
        ),
        unseen_per_day=pd.DataFrame({"landing_date": DAYS[1:], "rows": [2, 96]}),  # day 1 had none
        top_unseen_values=pd.DataFrame(
            {"column": ["neighbourhood_cleansed"], "value": ["Treasure Island"], "rows": [96]}
        ),
        quality_failures=pd.DataFrame(
            {"landing_date": DAYS, "rule": ["silver_listings.price_in_range"] * 3, "failed_rows": [5, 4, 7]}
        ),
        data_drift=pd.DataFrame(
            [(day, day == DAYS[-1], 2 / 3 if day == DAYS[-1] else 0.0, column,
              day == DAYS[-1] and column != "latitude")
             for day in DAYS for column in FEATURES],
            columns=["landing_date", "dataset_drift", "drifted_share", "column", "drifted"],
        ),
        model_drift=pd.DataFrame(
            {"landing_date": DAYS, "day_mae": [50.0, 52.0, 90.0], "day_rmse": [80.0, 85.0, 140.0],
             "training_mae": [55.0] * 3, "training_rmse": [88.0] * 3,
             "day_median_ae": [30.0, 31.0, 60.0], "training_median_ae": [None, 33.0, 33.0],
             "day_mae_under_1000": [45.0, 47.0, 80.0], "training_mae_under_1000": [None, 50.0, 50.0],
             "day_mae_1000_and_above": [400.0, None, 700.0],
             "training_mae_1000_and_above": [None, 450.0, 450.0],
             "model_drift": [False, False, True]}
        ),
        landing=pd.DataFrame(
            [(DAYS[0], "ingested", 2, 480, ["project"], [], []),
             (DAYS[1], "ingested", 2, 470, ["project"], [], ["<b>host_response_rate</b>"]),
             (DAYS[2], "ingested", 2, 600, ["insideairbnb-2019", "insideairbnb-2023"],
              ["bed_type", "cancellation_policy"], []),
             (DAYS[2], "ignored", 1, 0, [], [], [])],
            columns=["landing_date", "status", "files", "rows", "layouts", "missing_columns", "new_columns"],
        ),
        data_drift_reason=(
            "share rule flags: 2 of 3 feature columns drifted (67%, threshold 25%); importance rule flags: "
            "accommodates drifted, among the 2 most important features of test_airbnb_price version 2"
        ),
        important_features=pd.DataFrame(
            [(1, "accommodates", 0.41, True), (2, "latitude", 0.125, False)],
            columns=["rank", "feature", "importance", "drifted"],
        ),
    )  # fmt: skip


def empty_day() -> DashboardData:
    frames = {
        field: pd.DataFrame(columns=columns)
        for field, columns in {
            "predictions_per_day": [
                "landing_date",
                "rows",
                "p10",
                "median",
                "p90",
                "mean_price",
                "model_version",
            ],
            "day_predictions": ["prediction", "price"],
            "unseen_per_day": ["landing_date", "rows"],
            "top_unseen_values": ["column", "value", "rows"],
            "quality_failures": ["landing_date", "rule", "failed_rows"],
            "data_drift": ["landing_date", "dataset_drift", "drifted_share", "column", "drifted"],
            "model_drift": MODEL_ERROR_COLUMNS,
        }.items()
    }
    return DashboardData(day=DATES[0], **frames)


def test_the_page_embeds_plotly_once_and_links_no_remote_script():
    page = render_dashboard(three_days(), {"data drift report": "file:///tmp/r.html"})

    assert len(re.findall(r"<script[^>]*>", page)) >= len(FIGURES)
    assert not re.search(r"<script[^>]+src=", page)
    assert page.count("plotly.js v") == 1  # the library's banner: embedded exactly once
    assert 'href="file:///tmp/r.html"' in page


def test_the_cards_show_the_day_figures():
    page = render_dashboard(three_days())

    cards = {"model version": "2", "predicted rows": "390", "unseen rows": "96", "data drift": "yes",
             "model drift": "yes", "MAE of the day": "90.0"}  # fmt: skip
    for label, value in cards.items():
        assert f"{label}<b>{value}</b>" in page


def test_the_page_says_what_changed_in_the_source_and_lists_the_landing_files():
    page = render_dashboard(three_days())

    assert (
        '<p id="source-change">On 2026-01-03: the source no longer delivers '
        "cancellation_policy, bed_type.</p>" in page
    )
    assert "<td>2 ingested, 1 ignored</td><td>600</td><td>insideairbnb-2019, insideairbnb-2023</td>" in page
    # A column name comes from a landing file's header: it is shown as text, never as markup.
    assert "the source newly delivers &lt;b&gt;host_response_rate&lt;/b&gt;" in page
    assert "<b>host_response_rate</b>" not in page


def test_the_page_names_the_champion_s_top_features_and_which_drifted():
    page = render_dashboard(three_days())

    assert (
        '<p id="data-drift-reason">share rule flags: 2 of 3 feature columns drifted (67%, threshold 25%); '
        "importance rule flags: accommodates drifted, among the 2 most important features of "
        "test_airbnb_price version 2.</p>" in page
    )
    assert "<tr><td>1</td><td>accommodates</td><td>0.410</td><td>drifted</td></tr>" in page
    assert "<tr><td>2</td><td>latitude</td><td>0.125</td><td>stable</td></tr>" in page
    assert "No data-drift verdict with the champion's features" in render_dashboard(empty_day())


def test_every_chart_has_its_traces():
    data = three_days()
    traces = {figure.__name__: len(figure(data).data) for figure in FIGURES}

    assert traces == {
        "predictions_figure": 5,
        "distribution_figure": 2,
        "model_version_figure": 1,
        "unseen_figure": 2,
        "quality_figure": 1,
        "drift_figure": 2,
        "error_figure": 11,
    }
    unseen_per_day = FIGURES[3](data).data[0]
    assert list(unseen_per_day.x) == DAYS and list(unseen_per_day.y) == [0, 2, 96]
    drift = FIGURES[5](data).data[1]
    assert list(drift.y) == sorted(FEATURES) and drift.z[FEATURES.index("accommodates")][-1] == 1


def test_the_error_chart_holds_each_figure_of_the_day_against_the_training_run_s():
    traces = {trace.name: trace for trace in error_figure(three_days()).data}

    pairs = {"MAE": ("day_mae", "training_mae"), "RMSE": ("day_rmse", "training_rmse"),
             "median absolute error": ("day_median_ae", "training_median_ae"),
             "MAE under $1,000": ("day_mae_under_1000", "training_mae_under_1000"),
             "MAE at or above $1,000": ("day_mae_1000_and_above", "training_mae_1000_and_above")}  # fmt: skip
    error = three_days().model_drift
    for what, (day, training) in pairs.items():
        shown, trained = traces[f"{what} of the day"], traces[f"test {what} at training"]
        assert (
            list(shown.x) == DAYS and trained.line.dash == "dash" and shown.line.color == trained.line.color
        )
        # A figure the log does not have (a row before the full evaluation, a band without rows)
        # is a gap, not a zero.
        assert list(shown.y) == pytest.approx(list(error[day].astype(float)), nan_ok=True)
        assert list(trained.y) == pytest.approx(list(error[training].astype(float)), nan_ok=True)
    assert traces["MAE under $1,000 of the day"].yaxis == "y2" and traces["MAE of the day"].yaxis == "y"
    assert list(traces["model drift flagged"].x) == [DAYS[-1]]


# The columns model_drift_log gained with the full evaluation.
EVALUATION_COLUMNS = [
    "day_r2", "day_log_r2", "day_median_ae", "day_mae_under_1000", "day_rows_under_1000",
    "day_mae_1000_and_above", "day_rows_1000_and_above", "training_median_ae", "training_mae_under_1000",
    "training_mae_1000_and_above",
]  # fmt: skip


def test_a_model_drift_log_from_before_the_full_evaluation_still_reads_and_takes_its_columns(spark, tmp_path):
    def log_row(day: dt.date, mae: float) -> DataFrame:
        row = ModelDriftLogRow(
            **fields_of(model_drift(mae)), landing_date=day, model_name="test_airbnb_price", model_version=1,
            report_path="/tmp/report.html", evaluated_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
        )  # fmt: skip
        return dataclass_frame(spark, [row], ModelDriftLogRow)

    path, missing = str(tmp_path / "model_drift_log"), str(tmp_path / "missing")
    tables = DashboardTables(missing, missing, missing, missing, model_drift=path)
    replace_partition(log_row(DATES[0], 50.0).drop(*EVALUATION_COLUMNS), path, DATES[0])

    before = collect_dashboard_data(spark, tables, DATES[0], 100, 42).model_drift
    # As write_model_drift writes a day: the older table takes the new columns on.
    replace_partition(log_row(DATES[1], 70.0), path, DATES[1], merge_schema=True)
    after = collect_dashboard_data(spark, tables, DATES[1], 100, 42).model_drift

    assert list(before.columns) == MODEL_ERROR_COLUMNS == list(after.columns)
    assert before["day_mae"].tolist() == [50.0] and before["day_median_ae"].isna().all()
    assert after["day_mae"].tolist() == [50.0, 70.0]
    assert after["day_median_ae"].tolist() == pytest.approx([math.nan, 35.0], nan_ok=True)
    assert after["training_median_ae"].isna().all()  # the training run logged no test_median_ae


def test_a_first_day_without_monitoring_renders_placeholders():
    page = render_dashboard(empty_day())

    assert (
        "no predictions yet" in page
        and "no drift report yet" in page
        and "no scored day yet" in page
        and "model version<b>none</b>" in page
    )
    assert "No landing files logged." in page


@pytest.mark.skipif(chromium_executable() is None, reason=CHROMIUM_MISSING_REASON)
def test_headless_chromium_draws_the_dashboard_from_disk_without_errors(tmp_path):
    path = tmp_path / "dashboard.html"
    path.write_text(render_dashboard(three_days()), encoding="utf-8")

    report = open_page(path, timeout=60)

    assert report.console_errors == [], report.describe()
    assert report.plotly_count == len(FIGURES), report.describe()
    assert report.svg_count >= len(FIGURES)
    assert not report.screenshot_is_blank()
    assert report.title == f"mlvp_assets dashboard {DAYS[-1]}"
