"""Values from landing files that are HTML or script, in the dashboard and both Evidently reports:
shown as text, never run. Checked by content (Python's HTML parser, the embedded JSON) and in a
real Chromium whose dialog functions are spied on.

The values reach the pages as a listing's ``neighbourhood_cleansed`` and ``property_type`` (the
dashboard's unseen-values chart, the data-drift report's category charts) and as column names of
a landing file (``_rescued_data``, the dashboard's landing table).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlvp_assets.ml.evaluation import Metrics
from mlvp_assets.monitoring import drift as drift_module
from mlvp_assets.monitoring.dashboard import DashboardData, render_dashboard
from mlvp_assets.monitoring.drift import (
    DriftReport,
    TrainingError,
    data_drift,
    escape_report_data,
    model_drift,
    plotly_text,
)
from mlvp_assets_tests.browser import CHROMIUM_MISSING_REASON, chromium_executable
from mlvp_assets_tests.evaluations import evaluation_of
from mlvp_assets_tests.hostile import (
    HOSTILE_VALUES,
    collapse_spaces,
    open_hostile_page,
    page_elements,
)
from mlvp_assets_tests.monitoring_tests.test_dashboard import DAYS, three_days
from mlvp_assets_tests.monitoring_tests.test_drift import ROWS, listings, priced

requires_chromium = pytest.mark.skipif(chromium_executable() is None, reason=CHROMIUM_MISSING_REASON)
HOSTILE_COLUMNS = ("neighbourhood_cleansed", "property_type")
# Evidently's page: its data, `var global = globalThis`, its library, the call that draws it.
REPORT_SCRIPTS = 4


def hostile_day() -> DashboardData:
    """The dashboard's three days, with every hostile value unseen in both columns on the last
    day and as new columns of its landing files."""
    data = three_days()
    unseen = pd.DataFrame(
        [
            (column, value, 10 + index)
            for column in HOSTILE_COLUMNS
            for index, value in enumerate(HOSTILE_VALUES)
        ],
        columns=["column", "value", "rows"],
    )
    landing = data.landing.copy()
    landing.at[landing.index[-2], "new_columns"] = list(HOSTILE_VALUES)
    return dataclasses.replace(data, top_unseen_values=unseen, landing=landing)


# Which values each column holds in the report. A comment opener before a ``</script>`` in a script
# element keeps Chromium from ending the element there, so it is left out of the first column:
# its category chart comes first in Evidently's data, where ``</script>`` must be tried alone.
REPORT_VALUES = {
    HOSTILE_COLUMNS[0]: tuple(value for value in HOSTILE_VALUES if "<!--" not in value),
    HOSTILE_COLUMNS[1]: HOSTILE_VALUES,
}


def hostile_listings() -> pd.DataFrame:
    """A day of listings whose every other row has a hostile value in both columns."""
    current = listings(2)
    for column, hostile in REPORT_VALUES.items():
        values = np.array([hostile[row // 2 % len(hostile)] for row in range(ROWS)])
        current[column] = np.where(np.arange(ROWS) % 2 == 0, values, current[column])
    return current


def hostile_data_drift_report() -> DriftReport:
    report, drift = data_drift(listings(1), hostile_listings(), drift_share=0.2)
    assert set(HOSTILE_COLUMNS) <= set(drift.drifted_columns)  # the values were seen, as categories
    return report


def model_drift_report() -> DriftReport:
    day = evaluation_of(Metrics(mae=20.0, rmse=30.0, r2=0.5, rows=ROWS))
    report, _ = model_drift(
        priced(1), priced(2), day, TrainingError(mae=20.0, rmse=30.0), error_tolerance=0.25
    )
    return report


def report_data(script: str) -> dict[str, Any]:
    """The variables of an Evidently report's data script, ``var <name> = <JSON>;`` a line."""
    found = dict(re.findall(r"^\s*var (\w+) = (.*);$", script, flags=re.MULTILINE))
    assert len(found) == 2, script[:300]
    return {name: json.loads(value) for name, value in found.items()}


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


# -- by content ------------------------------------------------------------------------------


def test_the_dashboard_shows_hostile_values_as_text_and_as_data_of_its_charts():
    benign = page_elements(render_dashboard(three_days()))
    page = render_dashboard(hostile_day())
    found = page_elements(page)

    assert len(found.scripts) == len(benign.scripts)  # no script element closed early or added
    assert found.handlers == []
    from plotly.io.json import to_json_plotly

    for value in HOSTILE_VALUES:
        assert value not in page  # nowhere as markup...
        assert value in found.text  # ...and in the landing table as text (a new column's name)
        for column in HOSTILE_COLUMNS:
            # The unseen-values chart's label, as Plotly's JSON carries it; drawn letter for letter.
            label = plotly_text(f"{column} = {value}")
            assert to_json_plotly(label) in page


def test_plotly_text_escapes_what_plotly_reads_as_markup():
    assert plotly_text("<b>Mission</b> & Castro") == "&lt;b&gt;Mission&lt;/b&gt; &amp; Castro"
    assert plotly_text("&lt;") == "&amp;lt;"  # drawn as "&lt;", what the value says
    assert plotly_text("Treasure Island") == "Treasure Island"


def test_evidently_alone_lets_a_category_close_its_script_element(monkeypatch):
    """Why :func:`escape_report_data` exists: Evidently 0.7's own page, given the categories as
    they are, cuts its data element short at ``</script>`` (or, after ``<!--<script>``, runs it on
    into the next elements); escaped, the same page keeps its elements and its data. When the
    first assertion fails, Evidently escapes its data itself."""
    monkeypatch.setattr(drift_module, "_drawn_as_text", lambda frame, columns: frame)
    page = hostile_data_drift_report().snapshot.get_html_str(as_iframe=False)
    raw = page_elements(page)

    assert len(raw.scripts) != REPORT_SCRIPTS or not raw.scripts[0].rstrip().endswith(";")
    with pytest.raises((AssertionError, json.JSONDecodeError)):
        report_data(raw.scripts[0])
    escaped = page_elements(escape_report_data(page))
    assert len(escaped.scripts) == REPORT_SCRIPTS and escaped.handlers == []
    data = set(strings_in(report_data(escaped.scripts[0])))
    for value in HOSTILE_VALUES:
        assert any(value in string for string in data), value


def test_the_data_drift_report_keeps_hostile_categories_as_data():
    report = hostile_data_drift_report()
    page = report.get_html_str(as_iframe=False)
    found = page_elements(page)

    assert len(found.scripts) == REPORT_SCRIPTS
    assert "<" not in found.scripts[0]  # the data: no value can close it or open a comment
    assert found.handlers == []
    data = set(strings_in(report_data(found.scripts[0])))
    for value in HOSTILE_VALUES:
        assert value not in page
        # The category as JSON data, written as the Plotly label that draws it letter for letter.
        assert any(plotly_text(value) in string for string in data), value


def test_the_model_drift_report_is_written_through_the_same_escaping():
    page = model_drift_report().get_html_str(as_iframe=False)
    found = page_elements(page)

    assert len(found.scripts) == REPORT_SCRIPTS
    assert "<" not in found.scripts[0]
    data = " ".join(strings_in(report_data(found.scripts[0])))
    assert "prediction" in data and "price" in data


def test_escaping_a_page_not_laid_out_as_evidentlys_fails_loudly():
    with pytest.raises(RuntimeError, match="does not have the layout this project escapes"):
        escape_report_data("<html><head><script>var x = 1;</script></head><body></body></html>")
    with pytest.raises(ValueError, match="only the standalone page"):
        model_drift_report().get_html_str(as_iframe=True)


# -- in a real browser -------------------------------------------------------------------------


@requires_chromium
def test_chromium_shows_the_hostile_dashboard_without_running_any_of_it(tmp_path):
    path = tmp_path / "dashboard.html"
    path.write_text(render_dashboard(hostile_day()), encoding="utf-8")

    shown = open_hostile_page(path)

    assert shown.dialogs == [], shown
    assert shown.handlers == [], shown
    assert shown.scripts == len(page_elements(render_dashboard(three_days())).scripts), shown
    text = collapse_spaces(shown.text)
    for value in HOSTILE_VALUES:
        assert value in text, value  # the landing table's new columns
        for column in HOSTILE_COLUMNS:
            assert f"{column} = {value}" in shown.svg_text, (value, shown.svg_text)  # the chart's label
    assert f"On {DAYS[-1]}: the source no longer delivers cancellation_policy, bed_type; " in text


@requires_chromium
def test_chromium_shows_both_hostile_reports_without_running_any_of_them(tmp_path):
    data_report, model_report = tmp_path / "data_drift.html", tmp_path / "model_drift.html"
    data_report.write_text(hostile_data_drift_report().get_html_str(as_iframe=False), encoding="utf-8")
    model_report.write_text(model_drift_report().get_html_str(as_iframe=False), encoding="utf-8")

    shown = {
        path: open_hostile_page(path, details=HOSTILE_COLUMNS if path == data_report else ())
        for path in (data_report, model_report)
    }

    for path, page in shown.items():
        assert page.dialogs == [], (path.name, page)
        assert page.handlers == [], (path.name, page)
        assert page.scripts == REPORT_SCRIPTS, (path.name, page)
        assert not [entry for entry in page.console if entry.startswith("SEVERE")], (path.name, page)
    for value in HOSTILE_VALUES:  # a category of the columns' charts, drawn letter for letter
        columns = [column for column, values in REPORT_VALUES.items() if value in values]
        assert shown[data_report].svg_text.count(value) == len(columns), (value, shown[data_report])
