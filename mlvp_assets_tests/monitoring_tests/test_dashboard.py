"""The dashboard page from small monitoring tables: what it shows, and that a real headless
Chromium draws it from disk with no console errors (no server, no internet)."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from mlvp_assets.monitoring.dashboard import FIGURES, DashboardData, render_dashboard
from mlvp_assets_tests.browser import CHROMIUM_MISSING_REASON, chromium_executable, open_page

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
             "training_mae": [55.0] * 3, "training_rmse": [88.0] * 3, "model_drift": [False, False, True]}
        ),
        landing=pd.DataFrame(
            [(DAYS[0], "ingested", 2, 480, ["project"], [], []),
             (DAYS[1], "ingested", 2, 470, ["project"], [], ["<b>host_response_rate</b>"]),
             (DAYS[2], "ingested", 2, 600, ["insideairbnb-2019", "insideairbnb-2023"],
              ["bed_type", "cancellation_policy"], []),
             (DAYS[2], "ignored", 1, 0, [], [], [])],
            columns=["landing_date", "status", "files", "rows", "layouts", "missing_columns", "new_columns"],
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
            "model_drift": [
                "landing_date",
                "day_mae",
                "day_rmse",
                "training_mae",
                "training_rmse",
                "model_drift",
            ],
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
        "error_figure": 5,
    }
    unseen_per_day = FIGURES[3](data).data[0]
    assert list(unseen_per_day.x) == DAYS and list(unseen_per_day.y) == [0, 2, 96]
    drift = FIGURES[5](data).data[1]
    assert list(drift.y) == sorted(FEATURES) and drift.z[FEATURES.index("accommodates")][-1] == 1


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
