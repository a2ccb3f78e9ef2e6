"""The daily dashboard: one self-contained HTML page of charts built from the monitoring tables.

:func:`collect_dashboard_data` reads small aggregates of the Delta tables with Spark (only the
chosen day's predictions are sampled row by row); :func:`render_dashboard` turns them into Plotly
charts. Plotly's JavaScript is embedded once in the page, so it opens from disk with no server
and no internet.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from mlvp_assets.bronze.ingest import Status, latest_decisions
from mlvp_assets.bronze.rules import describe_source_changes
from mlvp_assets.delta_tables import field_names, read_table, table_exists
from mlvp_assets.ml.features import PREDICTION, TARGET
from mlvp_assets.monitoring.drift import DataDriftLogRow, ModelDriftLogRow, plotly_text, sample_to_pandas
from mlvp_assets.monitoring.scoring import UNSEEN_FEATURES
from mlvp_assets.schema import PARTITION_COLUMN

DAY = PARTITION_COLUMN
LANDING_COLUMNS = [DAY, "status", "files", "rows", "layouts", "missing_columns", "new_columns"]
LANDING_HISTORY_DAYS = 7
DATA_DRIFT_COLUMNS = field_names(DataDriftLogRow, DAY, "dataset_drift", "drifted_share")
# The importance rule's part of the chosen day's data_drift_log row (rows written before it: none).
DATA_DRIFT_VERDICT = field_names(DataDriftLogRow, "reason", "important_features")
IMPORTANT_FEATURE_COLUMNS = ["rank", "feature", "importance", "drifted"]
# The day's error figures and the scoring model's test figures at training: pairs the error
# chart draws, (day column, training column, what).
ERROR_PAIRS = (
    ("day_mae", "training_mae", "MAE"),
    ("day_rmse", "training_rmse", "RMSE"),
    ("day_median_ae", "training_median_ae", "median absolute error"),
    ("day_mae_under_1000", "training_mae_under_1000", "MAE under $1,000"),
    ("day_mae_1000_and_above", "training_mae_1000_and_above", "MAE at or above $1,000"),
)
MODEL_ERROR_COLUMNS = field_names(
    ModelDriftLogRow, DAY, *(column for pair in ERROR_PAIRS for column in pair[:2]), "model_drift"
)


@dataclasses.dataclass(frozen=True)
class DashboardTables:
    """The Delta tables a dashboard page reads, by path."""

    predictions: str
    unseen: str
    quality: str
    data_drift: str
    model_drift: str
    ingestion: str | None = None  # pages built before the ingestion log had layouts have none


@dataclasses.dataclass(frozen=True)
class DashboardData:
    day: dt.date
    # Days are ISO date strings in every frame.
    predictions_per_day: pd.DataFrame  # day, rows, p10, median, p90, mean_price, model_version
    day_predictions: pd.DataFrame  # prediction, price (a sample of the chosen day)
    unseen_per_day: pd.DataFrame  # day, rows
    top_unseen_values: pd.DataFrame  # column, value, rows (the chosen day)
    quality_failures: pd.DataFrame  # day, rule, failed_rows (rules that failed at least once)
    data_drift: pd.DataFrame  # day, dataset_drift, drifted_share, column, drifted
    model_drift: pd.DataFrame  # MODEL_ERROR_COLUMNS: day, the ERROR_PAIRS' columns, model_drift
    # day, status, files, rows, layouts, missing_columns, new_columns: the ingestion log per day
    # and decision (empty on pages built before the log recorded layouts).
    landing: pd.DataFrame = dataclasses.field(default_factory=lambda: pd.DataFrame(columns=LANDING_COLUMNS))
    # The chosen day's data-drift verdict (which rule flagged it) and the champion's most important
    # features it watched: rank, feature, importance, drifted (empty before the log recorded them).
    data_drift_reason: str = ""
    important_features: pd.DataFrame = dataclasses.field(
        default_factory=lambda: pd.DataFrame(columns=IMPORTANT_FEATURE_COLUMNS)
    )

    @property
    def model_version(self) -> str:
        today = self.predictions_per_day[self.predictions_per_day[DAY] == self.day.isoformat()]
        return str(today["model_version"].iloc[0]) if not today.empty else "none"


def _table(spark: SparkSession, path: str, until: dt.date) -> DataFrame | None:
    if not table_exists(spark, path):
        return None
    return read_table(spark, path).where(F.col(DAY) <= F.lit(until))


def _pandas(df: DataFrame | None, columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(columns=columns) if df is None else df.toPandas()[columns]
    if DAY in frame.columns:
        frame[DAY] = frame[DAY].astype(str)
    return frame


def collect_dashboard_data(
    spark: SparkSession, tables: DashboardTables, day: dt.date, sample_cap: int, seed: int
) -> DashboardData:
    """The figures of the page of ``day``. Days after ``day`` are left out, so a re-run of an old
    day shows what was known then."""
    predictions = _table(spark, tables.predictions, day)
    unseen = _table(spark, tables.unseen, day)
    quality = _table(spark, tables.quality, day)
    data_drift_log = _table(spark, tables.data_drift, day)
    model_drift_log = _table(spark, tables.model_drift, day)
    ingestion_log = _table(spark, tables.ingestion, day) if tables.ingestion else None

    per_day = None if predictions is None else predictions.groupBy(DAY).agg(
        F.count(F.lit(1)).alias("rows"),
        F.percentile_approx(PREDICTION, 0.1).alias("p10"),
        F.percentile_approx(PREDICTION, 0.5).alias("median"),
        F.percentile_approx(PREDICTION, 0.9).alias("p90"),
        F.avg(TARGET).alias("mean_price"),
        F.max("model_version").alias("model_version"),
    ).orderBy(DAY)  # fmt: skip
    day_rows = (
        pd.DataFrame(columns=[PREDICTION, TARGET])
        if predictions is None
        else sample_to_pandas(
            predictions.where(F.col(DAY) == F.lit(day)), [PREDICTION, TARGET], sample_cap, seed
        )
    )
    unseen_per_day = (
        None if unseen is None else unseen.groupBy(DAY).agg(F.count(F.lit(1)).alias("rows")).orderBy(DAY)
    )
    top_unseen = None if unseen is None else (
        unseen.where(F.col(DAY) == F.lit(day))
        .select(F.explode(UNSEEN_FEATURES).alias("column", "value"))
        .groupBy("column", "value").agg(F.count(F.lit(1)).alias("rows"))
        .orderBy(F.desc("rows")).limit(15)
    )  # fmt: skip
    failures = None if quality is None else (
        quality.groupBy(DAY, F.concat_ws(".", "table_name", "rule").alias("rule"))
        .agg(F.sum("failed_rows").alias("failed_rows"))
        .join(quality.groupBy(F.concat_ws(".", "table_name", "rule").alias("rule"))
              .agg(F.sum("failed_rows").alias("total")).where(F.col("total") > 0).select("rule"), "rule")
        .orderBy(DAY, "rule")
    )  # fmt: skip
    drift_columns = None if data_drift_log is None else (
        data_drift_log.select(*DATA_DRIFT_COLUMNS, F.explode("columns").alias("c"))
        .select(*DATA_DRIFT_COLUMNS, F.col("c.column").alias("column"), F.col("c.drifted").alias("drifted"))
        .orderBy(DAY, "column")
    )  # fmt: skip
    error = (
        None
        if model_drift_log is None
        else model_drift_log.select(*_columns_or_null(model_drift_log, MODEL_ERROR_COLUMNS)).orderBy(DAY)
    )
    reason, important = _data_drift_verdict(data_drift_log, day)
    landing = None
    if ingestion_log is not None and "missing_columns" in ingestion_log.columns:
        landing = (
            latest_decisions(
                ingestion_log.where(F.col(DAY) > F.lit(day - dt.timedelta(days=LANDING_HISTORY_DAYS)))
            )
            .groupBy(DAY, "status")
            .agg(
                F.count_distinct("path").alias("files"),
                F.sum("row_count").alias("rows"),
                F.array_sort(F.collect_set("layout")).alias("layouts"),
                F.array_sort(F.array_distinct(F.flatten(F.collect_list("missing_columns")))).alias(
                    "missing_columns"
                ),
                F.array_sort(F.array_distinct(F.flatten(F.collect_list("new_columns")))).alias("new_columns"),
            )
            .orderBy(DAY, "status")
        )
    return DashboardData(
        day=day,
        predictions_per_day=_pandas(
            per_day, [DAY, "rows", "p10", "median", "p90", "mean_price", "model_version"]
        ),
        day_predictions=day_rows,
        unseen_per_day=_pandas(unseen_per_day, [DAY, "rows"]),
        top_unseen_values=_pandas(top_unseen, ["column", "value", "rows"]),
        quality_failures=_pandas(failures, [DAY, "rule", "failed_rows"]),
        data_drift=_pandas(drift_columns, [*DATA_DRIFT_COLUMNS, "column", "drifted"]),
        model_drift=_pandas(error, MODEL_ERROR_COLUMNS),
        landing=_pandas(landing, LANDING_COLUMNS),
        data_drift_reason=reason,
        important_features=important,
    )


def _data_drift_verdict(log: DataFrame | None, day: dt.date) -> tuple[str, pd.DataFrame]:
    """The reason of ``day``'s data-drift verdict and the champion's top features it watched, from
    ``data_drift_log``; nothing when the day has no row or its row predates the importance rule."""
    empty = pd.DataFrame(columns=IMPORTANT_FEATURE_COLUMNS)
    if log is None or not set(DATA_DRIFT_VERDICT) <= set(log.columns):
        return "", empty
    row = log.where(F.col(DAY) == F.lit(day)).select(*DATA_DRIFT_VERDICT).first()
    if row is None or row["reason"] is None:
        return "", empty
    features = pd.DataFrame(
        [feature.asDict() for feature in row["important_features"] or []], columns=IMPORTANT_FEATURE_COLUMNS
    )
    return row["reason"], features


def _columns_or_null(log: DataFrame, columns: list[str]) -> list[Column]:
    """``columns`` of a log table, null where the table predates one (a log written before the
    full evaluation has no day_median_ae until a day is written with it)."""
    return [
        F.col(column) if column in log.columns else F.lit(None).cast("double").alias(column)
        for column in columns
    ]


def _empty(figure: go.Figure, message: str) -> go.Figure:
    figure.add_annotation(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return figure


def _layout(figure: go.Figure, title: str, height: int = 360) -> go.Figure:
    figure.update_layout(
        title=title, height=height, margin={"l": 50, "r": 20, "t": 50, "b": 40}, template="plotly_white"
    )
    return figure


def _by_day(figure: go.Figure, **where: int) -> go.Figure:
    """One tick per landing day, not a continuous time axis with hours."""
    figure.update_xaxes(type="category", **where)
    return figure


def _stacked(top: str, bottom: str) -> go.Figure:
    """A small chart over a large one, sharing the day axis."""
    return make_subplots(
        rows=2,
        cols=1,
        row_heights=[0.3, 0.7],
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=(top, bottom),
    )


def predictions_figure(data: DashboardData) -> go.Figure:
    per_day = data.predictions_per_day
    figure = _stacked("predicted rows", "predicted price percentiles and the mean actual price")
    if per_day.empty:
        return _layout(_empty(figure, "no predictions yet"), "Predictions per day", 440)
    figure.add_bar(x=per_day[DAY], y=per_day["rows"], name="predicted rows", row=1, col=1)
    for column, name in (("p10", "10th percentile"), ("median", "median"), ("p90", "90th percentile")):
        figure.add_scatter(
            x=per_day[DAY], y=per_day[column], mode="lines+markers", name=f"{name} prediction", row=2, col=1
        )
    figure.add_scatter(
        x=per_day[DAY],
        y=per_day["mean_price"],
        mode="lines",
        name="mean actual price",
        line={"dash": "dot"},
        row=2,
        col=1,
    )
    figure.update_yaxes(title_text="price ($)", row=2, col=1)
    return _by_day(_layout(figure, "Predictions per day", 440))


def distribution_figure(data: DashboardData) -> go.Figure:
    figure = go.Figure()
    if data.day_predictions.empty:
        return _layout(_empty(figure, "no predictions for this day"), f"Price distribution on {data.day}")
    for column, name in ((PREDICTION, "predicted"), (TARGET, "actual")):
        values = data.day_predictions[column].dropna()
        figure.add_histogram(x=values.clip(upper=values.quantile(0.99)), name=name, opacity=0.6, nbinsx=40)
    figure.update_layout(barmode="overlay", xaxis_title="price ($, top 1% clipped)", yaxis_title="rows")
    return _layout(figure, f"Price distribution on {data.day}")


def model_version_figure(data: DashboardData) -> go.Figure:
    per_day = data.predictions_per_day
    figure = go.Figure()
    if per_day.empty:
        return _layout(_empty(figure, "no predictions yet"), "Model version in use", 260)
    figure.add_scatter(
        x=per_day[DAY], y=per_day["model_version"], mode="lines+markers", line={"shape": "hv"}, name="version"
    )
    figure.update_yaxes(title_text="champion version", dtick=1)
    return _by_day(_layout(figure, "Model version in use", 260))


def unseen_figure(data: DashboardData) -> go.Figure:
    figure = make_subplots(
        rows=1, cols=2, subplot_titles=("unseen rows per day", f"unseen values on {data.day}")
    )
    if data.unseen_per_day.empty and data.predictions_per_day.empty:
        return _layout(_empty(figure, "no scored day yet"), "Rows the model could not score")
    # A scored day without unseen rows has no row in unseen_listings: show it as a zero.
    days = sorted(set(data.predictions_per_day[DAY]) | set(data.unseen_per_day[DAY]))
    per_day = data.unseen_per_day.set_index(DAY)["rows"].reindex(days, fill_value=0)
    figure.add_bar(x=list(per_day.index), y=list(per_day.values), name="unseen rows", row=1, col=1)
    top = data.top_unseen_values
    if not top.empty:
        labels = (top["column"] + " = " + top["value"]).map(plotly_text)
        figure.add_bar(x=top["rows"], y=labels, orientation="h", name="rows per value", row=1, col=2)
        figure.update_yaxes(automargin=True, row=1, col=2)
    return _by_day(_layout(figure, "Rows the model could not score"), row=1, col=1)


def quality_figure(data: DashboardData) -> go.Figure:
    failures = data.quality_failures
    figure = go.Figure()
    if failures.empty:
        return _layout(_empty(figure, "no rule has failed"), "Data-quality failures per rule")
    for rule, rows in failures.groupby("rule"):
        figure.add_bar(x=rows[DAY], y=rows["failed_rows"], name=rule)
    figure.update_layout(barmode="stack", yaxis_title="failed rows")
    return _by_day(_layout(figure, "Data-quality failures per rule", 420))


def drift_figure(data: DashboardData) -> go.Figure:
    drift = data.data_drift
    figure = _stacked("share of drifted feature columns (marker: dataset drift)", "drifted columns")
    if drift.empty:
        return _layout(_empty(figure, "no drift report yet"), "Data drift", 560)
    per_day = drift.drop_duplicates(DAY)
    figure.add_scatter(
        x=per_day[DAY], y=per_day["drifted_share"], mode="lines+markers", name="drifted share",
        marker={
            "size": 12, "color": ["crimson" if flag else "seagreen" for flag in per_day["dataset_drift"]]
        },
        row=1, col=1,
    )  # fmt: skip
    grid = drift.pivot(index="column", columns=DAY, values="drifted").astype(float)
    figure.add_heatmap(
        z=grid.values, x=list(grid.columns), y=list(grid.index), zmin=0, zmax=1, showscale=False,
        colorscale=[[0, "#e8f5e9"], [1, "crimson"]], name="drifted", row=2, col=1,
    )  # fmt: skip
    return _by_day(_layout(figure, "Data drift", 560))


# One colour per figure: the day's line solid, the training figure dashed in the same colour.
_ERROR_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")


def error_figure(data: DashboardData) -> go.Figure:
    """The day's error figures against the test figures of the model that scored the day (its
    training run's ``test_*`` metrics): the overall figures above, the MAE per price band below.
    A figure the log does not have (rows before the full evaluation, a band without rows) leaves
    a gap."""
    error = data.model_drift
    title = "Daily error against the training error"
    figure = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.1,
        subplot_titles=("MAE, RMSE and median absolute error", "MAE by price band"),
    )
    if error.empty:
        return _layout(_empty(figure, "no model-drift report yet"), title, 560)
    for index, (day_column, training_column, what) in enumerate(ERROR_PAIRS):
        row = 1 if index < 3 else 2
        colour = _ERROR_COLOURS[index]
        lines = (
            (day_column, f"{what} of the day", None),
            (training_column, f"test {what} at training", "dash"),
        )
        for column, name, dash in lines:
            figure.add_scatter(
                x=error[DAY], y=pd.to_numeric(error[column]), mode="lines+markers", name=name,
                line={"dash": dash, "color": colour}, row=row, col=1,
            )  # fmt: skip
    flagged = error[error["model_drift"].astype(bool)]
    figure.add_scatter(
        x=flagged[DAY], y=flagged["day_mae"], mode="markers", name="model drift flagged",
        marker={"symbol": "x", "size": 14, "color": "crimson"}, row=1, col=1,
    )  # fmt: skip
    figure.update_yaxes(title_text="$")
    return _by_day(_layout(figure, title, 560))


FIGURES = (
    predictions_figure,
    distribution_figure,
    model_version_figure,
    unseen_figure,
    quality_figure,
    drift_figure,
    error_figure,
)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 2rem 2rem; color: #222; }
header { display: flex; gap: 2rem; align-items: baseline; flex-wrap: wrap; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1rem 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .6rem 1rem; min-width: 9rem; }
.card b { display: block; font-size: 1.4rem; }
table.landing { border-collapse: collapse; margin-bottom: 1rem; }
table.landing td, table.landing th { border: 1px solid #ddd; padding: .2rem .6rem; text-align: left; }
.grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 1rem; }
@media (max-width: 1100px) { .grid { grid-template-columns: minmax(0, 1fr); } }
"""


def _cards(data: DashboardData) -> dict[str, str]:
    day = data.day.isoformat()
    today = data.predictions_per_day[data.predictions_per_day[DAY] == day]
    unseen = data.unseen_per_day[data.unseen_per_day[DAY] == day]
    drift = data.data_drift[data.data_drift[DAY] == day]
    error = data.model_drift[data.model_drift[DAY] == day]
    return {
        "model version": data.model_version,
        "predicted rows": str(int(today["rows"].iloc[0])) if not today.empty else "0",
        "unseen rows": str(int(unseen["rows"].iloc[0])) if not unseen.empty else "0",
        "data drift": ("yes" if bool(drift["dataset_drift"].iloc[0]) else "no")
        if not drift.empty
        else "not measured",
        "model drift": ("yes" if bool(error["model_drift"].iloc[0]) else "no")
        if not error.empty
        else "not measured",
        "MAE of the day": f"{error['day_mae'].iloc[0]:.1f}" if not error.empty else "-",
    }


def data_drift_summary(data: DashboardData) -> str:
    """HTML of the chosen day's data-drift verdict: which rule flagged the day (or why neither
    did), and the champion's most important features with their importance and verdict."""
    if not data.data_drift_reason:
        return "<p>No data-drift verdict with the champion's features for this day.</p>"
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(cell)}</td>"
            for cell in (
                str(int(feature["rank"])),
                str(feature["feature"]),
                f"{float(feature['importance']):.3f}",
                "drifted" if bool(feature["drifted"]) else "stable",
            )
        )
        + "</tr>"
        for _, feature in data.important_features.iterrows()
    )
    head = "".join(f"<th>{name}</th>" for name in ("rank", "feature", "importance", f"on {data.day}"))
    table = f'<table class="landing"><tr>{head}</tr>{rows}</table>' if rows else ""
    return f'<p id="data-drift-reason">{html.escape(data.data_drift_reason)}.</p>{table}'


def _written(landing: pd.DataFrame) -> pd.DataFrame:
    return landing[landing["status"].isin(Status.WRITTEN)]


def _source_change(landing: pd.DataFrame) -> str:
    """The sentence of what changed in the source, for the files of these rows whose rows are in bronze."""
    written = _written(landing)

    def columns(kind: str) -> dict[str, tuple]:
        return dict.fromkeys(sorted({c for cs in written[kind] for c in (cs if cs is not None else [])}), ())

    return describe_source_changes(columns("missing_columns"), columns("new_columns"))


def landing_summary(data: DashboardData) -> tuple[str, str]:
    """What changed in the source on the chosen day (one sentence) and an HTML table of the landing
    files of the last days: files and rows per decision, layouts, columns missing or new."""
    sentence = _source_change(data.landing[data.landing[DAY] == data.day.isoformat()])
    rows = []
    for day, decisions in data.landing.groupby(DAY, sort=True):
        files = ", ".join(
            f"{int(count)} {status}"
            for count, status in zip(decisions["files"], decisions["status"], strict=True)
        )
        layouts = sorted(
            {
                layout
                for cell in decisions["layouts"]
                for layout in (cell if cell is not None else [])
                if layout
            }
        )
        ingested_rows = int(_written(decisions)["rows"].sum())
        cells = (str(day), files, str(ingested_rows), ", ".join(layouts), _source_change(decisions))
        rows.append("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>")
    head = "".join(
        f"<th>{name}</th>" for name in ("day", "files", "rows ingested", "layouts", "source columns")
    )
    table = (
        f'<table class="landing"><tr>{head}</tr>{"".join(rows)}</table>'
        if rows
        else "<p>No landing files logged.</p>"
    )
    return sentence, table


def render_dashboard(data: DashboardData, links: dict[str, str] | None = None) -> str:
    """The page as one HTML string; the first chart carries Plotly's JavaScript inline.

    The grid has a fixed number of columns: each chart is drawn while the page is still being
    parsed, and an auto-fit grid would give the first chart the whole width at that moment.
    """
    charts = [
        figure(data).to_html(
            full_html=False, include_plotlyjs=index == 0, config={"displaylogo": False, "responsive": True}
        )
        for index, figure in enumerate(FIGURES)
    ]
    cards = "".join(
        f'<div class="card">{html.escape(k)}<b>{html.escape(v)}</b></div>' for k, v in _cards(data).items()
    )
    link_items = "".join(
        f'<a href="{html.escape(target)}">{html.escape(name)}</a> ' for name, target in (links or {}).items()
    )
    source_sentence, landing_table = landing_summary(data)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mlvp_assets dashboard {data.day}</title>
<style>{_STYLE}</style></head>
<body><header><h1>Airbnb price model, {data.day}</h1><nav>{link_items}</nav></header>
<div class="cards">{cards}</div>
<section class="source"><h2>Landing files and the source</h2>
<p id="source-change">On {data.day}: {html.escape(source_sentence)}.</p>
{landing_table}</section>
<section class="data-drift"><h2>Data drift and the champion's most important features</h2>
{data_drift_summary(data)}</section>
<div class="grid">{"".join(f"<section>{chart}</section>" for chart in charts)}</div>
</body></html>
"""
