"""Data and model drift with Evidently 0.7, and the figures the drift logs keep.

Evidently works on pandas, so each side is sampled in Spark to at most a configured number of
rows before it reaches the driver (:func:`sample_to_pandas`). The sample is a seeded hash order
of ``listing_id``: the same rows whatever the partitioning, and a day's sample stays the same
when the job is re-run.

* Data drift: ``DataDriftPreset`` over the model's features, the day's gold against the training
  set. Evidently picks a test per column (K-S / chi-square p-values for up to 1,000 reference
  rows, Wasserstein / Jensen-Shannon distances above); each column's verdict is the status of
  its drift test. The day drifts when the share of drifted columns reaches ``drift_share`` (the
  share rule), or when one of the champion's ``top_features`` most important features drifts (the
  importance rule, by the importances its training run logged): a shift in the feature the model
  leans on most moves its predictions, however few other columns moved. :meth:`DataDrift.measure`
  decides, from the columns' verdicts and the importances (no Spark, no Evidently).
* Model drift: the distribution of the day's predictions against the model's predictions on the
  training set (same model, so only a change in the inputs moves it), and the day's error
  against the model's test error at training time. Either flags model drift. The comparison the
  original project made, the day's predictions against the training *prices*, is reported too
  but does not flag: a forest's predictions are pulled towards the median, so that comparison
  differs on every day, drift or not. The day's actual prices against the training prices
  (target drift) are reported the same way.

Both functions return the report as a :class:`DriftReport`, whose HTML is Evidently's page with
its embedded data made safe to open (:func:`escape_report_data`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mlvp_assets.delta_tables import FLATTENED
from mlvp_assets.ml.evaluation import Evaluation, evaluate
from mlvp_assets.ml.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES, PREDICTION, TARGET
from mlvp_assets.schema import LISTING_ID

if TYPE_CHECKING:
    from _typeshed import DataclassInstance
    from evidently import Report
    from evidently.core.report import Snapshot

# Evidently (about 4 s to import) is imported by the functions that run a report: the drift
# checks read this module's dataclasses when the definitions are built.

# The day's predictions, read as prices, against the training prices (the original's comparison).
PREDICTION_AS_PRICE = "prediction_as_price"


def sample_to_pandas(df: DataFrame, columns: Sequence[str], cap: int, seed: int) -> pd.DataFrame:
    """At most ``cap`` rows of ``df`` (all of them when there are fewer), chosen by a seeded hash
    of ``listing_id``, as pandas."""
    if cap < 1:
        raise ValueError(f"sample cap must be at least 1 row, got {cap}")
    ordered = df.orderBy(F.xxhash64(F.col(LISTING_ID), F.lit(seed)), LISTING_ID)
    return ordered.limit(cap).select(*columns).toPandas()


def plotly_text(value: object) -> str:
    """``value`` as a label Plotly draws letter for letter (Evidently's charts are Plotly's too).

    Plotly reads label and hover text as a small HTML (``<b>``, ``<br>``, ``<a href>``, ``<span
    style>`` and entities), so a value from a landing file such as ``<b>Mission</b>`` would be
    drawn bold, without its tags, and ``<a href=...>`` would be a link. Its entities are read after
    its tags, so ``&lt;`` is drawn as ``<``. (Plotly's JSON escapes ``<``, ``>`` and ``/``, so no
    value closes its ``<script>``.)
    """
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _drawn_as_text(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``frame`` with the strings of ``columns`` as Plotly labels (:func:`plotly_text`): the same
    categories under one-to-one names, so every drift test computes the same."""
    return frame.assign(
        **{
            column: frame[column].map(lambda v: plotly_text(v) if isinstance(v, str) else v)
            for column in columns
        }
    )


# Evidently 0.7's standalone page (``file_html_template``) carries the report's data as JavaScript
# in the head: ``<script> var metric_<uuid> = {json}; var additional_graphs_metric_<uuid> = {json};
# </script>``, with the JSON from ``json.dumps``, which leaves ``</`` as it is. A category value
# such as ``</script><script>alert(1)</script>`` (a neighbourhood from a landing file) would end
# the element and run as script. The page's root ``<div id="root_metric_<uuid>">`` follows the
# block; the data cannot contain it, since the uuid is drawn when the page is rendered.
_REPORT_DATA_START = re.compile(r"<script>\s*var (metric_[0-9a-f]{32}) = ")


def escape_report_data(page: str) -> str:
    """Evidently's standalone report page with every ``<`` of its embedded data written ``\\u003c``.

    Outside its strings the data block is ``var``, names, ``=``, ``;`` and JSON, none of which uses
    ``<``; inside a JSON string ``\\u003c`` is the same character. So the data reads the same, and
    no value can close the ``<script>`` element (``</script>``) or open a comment (``<!--``): a value
    stays a value, shown by the report as text. Fails loudly when the page is not laid out as
    Evidently 0.7 lays it out, rather than write a page that may be unsafe.
    """
    start, end = _REPORT_DATA_START.search(page), -1
    if start is not None:
        root = page.find(f'<div id="root_{start.group(1)}">', start.end())
        end = page.rfind("</script>", start.end(), root) if root >= 0 else -1
    if start is None or end < 0:
        raise RuntimeError(
            "Evidently's report page does not have the layout this project escapes (a <script> "
            "of `var metric_<id> = ...` in the head, then the element `root_metric_<id>`); "
            "check escape_report_data against the installed Evidently"
        )
    return page[: start.end()] + page[start.end() : end].replace("<", "\\u003c") + page[end:]


@dataclasses.dataclass(frozen=True)
class DriftReport:
    """An Evidently report as this project writes it: its figures, and its page made safe to open."""

    snapshot: Snapshot

    def dict(self) -> dict[str, Any]:
        """The report's metrics and tests, as Evidently gives them."""
        return self.snapshot.dict()

    def get_html_str(self, as_iframe: bool = False) -> str:
        """The standalone HTML page (Evidently's method name, which the writers of the reports
        call), with the embedded data escaped by :func:`escape_report_data`."""
        if as_iframe:
            raise ValueError("only the standalone page is escaped; ask for as_iframe=False")
        return escape_report_data(self.snapshot.get_html_str(as_iframe=False))


@dataclasses.dataclass(frozen=True)
class ColumnDrift:
    column: str
    test: str
    score: float
    threshold: float
    drifted: bool


def _value_drifts(snapshot: Snapshot) -> dict[str, ColumnDrift]:
    """column -> its ValueDrift result; the verdict is the status of the metric's bound test."""
    report = snapshot.dict()
    statuses = {test["metric_config"]["metric_id"]: test["status"] for test in report.get("tests", [])}
    drifts = {}
    for metric in report["metrics"]:
        config = metric["config"]
        if not config["type"].endswith(":ValueDrift"):
            continue
        if metric["id"] not in statuses:
            raise RuntimeError(
                f"Evidently reported no drift test for {metric['metric_name']}; was include_tests set?"
            )
        drifts[config["column"]] = ColumnDrift(
            column=config["column"],
            test=config["method"],
            score=float(metric["value"]),
            threshold=float(config["threshold"]),
            drifted=statuses[metric["id"]] == "FAIL",
        )
    return drifts


def _run(
    report: Report,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numerical_columns: Sequence[str],
    categorical_columns: Sequence[str] = (),
) -> Snapshot:
    from evidently import DataDefinition, Dataset

    definition = DataDefinition(
        numerical_columns=list(numerical_columns), categorical_columns=list(categorical_columns)
    )
    with warnings.catch_warnings():
        # scipy's chi-square divides by zero for a category absent from the reference (a new
        # neighbourhood); Evidently's verdict for it is right, the warning is noise.
        warnings.simplefilter("ignore", RuntimeWarning)
        return report.run(
            current_data=Dataset.from_pandas(current, data_definition=definition),
            reference_data=Dataset.from_pandas(reference, data_definition=definition),
        )


@dataclasses.dataclass(frozen=True)
class ChampionImportances:
    """The feature importances the champion's training run logged (``feature_importance.csv``)."""

    model_name: str
    model_version: int
    importances: tuple[tuple[str, float], ...]  # (feature, importance), as logged


@dataclasses.dataclass(frozen=True)
class ImportantFeature:
    """One of the champion's most important features, and whether it drifted on the day."""

    rank: int  # 1: the most important
    feature: str
    importance: float
    drifted: bool


@dataclasses.dataclass(frozen=True)
class DataDrift:
    """One day's data drift (built by :meth:`measure`); with the day and its report, a row of
    ``data_drift_log``."""

    dataset_drift: bool  # the share rule or the importance rule
    drift_share: float  # the share of drifted columns at which the dataset drifts
    drifted_share: float
    drifted_columns: tuple[str, ...]
    columns: tuple[ColumnDrift, ...]
    reference_rows: int
    current_rows: int
    share_drift: bool  # drifted_share reached drift_share
    important_drift: bool  # one of important_features drifted
    top_features: int  # how many of the champion's most important features the importance rule watches
    important_features: tuple[ImportantFeature, ...]  # those features, most important first
    importance_model_version: int | None  # the champion version that ranked them; None: no champion
    reason: str  # which rule flagged the day, or why neither did

    @classmethod
    def measure(
        cls,
        columns: Sequence[ColumnDrift],
        drift_share: float,
        importances: ChampionImportances | None,
        top_features: int,
        reference_rows: int,
        current_rows: int,
    ) -> DataDrift:
        """The day's verdict from the columns' drift verdicts: the share rule OR the importance rule.

        The importance rule watches the ``top_features`` features of highest importance (a
        feature of importance 0 is one the model does not use, never among them); without
        ``importances`` (no champion yet) only the share rule applies. Every feature the
        importances name must be among ``columns``: a champion whose features the report does not
        measure is a mistake to stop at, not a rule to skip.
        """
        if not 0 < drift_share <= 1:
            raise ValueError(f"drift_share must be in (0, 1], got {drift_share}")
        if top_features < 0:
            raise ValueError(f"top_features must be >= 0, got {top_features}")
        by_column = {column.column: column for column in columns}
        drifted = tuple(column.column for column in columns if column.drifted)
        drifted_share = len(drifted) / len(columns)
        share_drift = drifted_share >= drift_share
        ranked: list[tuple[str, float]] = []
        if importances is not None:
            unknown = sorted({feature for feature, _ in importances.importances} - set(by_column))
            if unknown:
                raise ValueError(
                    f"{importances.model_name} version {importances.model_version} has importances for "
                    f"features the drift report does not measure: {unknown}"
                )
            ranked = sorted(
                ((feature, importance) for feature, importance in importances.importances if importance > 0),
                key=lambda pair: pair[1],
                reverse=True,
            )
        important = tuple(
            ImportantFeature(rank, feature, importance, by_column[feature].drifted)
            for rank, (feature, importance) in enumerate(ranked[:top_features], start=1)
        )
        important_drift = any(feature.drifted for feature in important)
        share_reason = (
            f"share rule {'flags' if share_drift else 'passes'}: {len(drifted)} of {len(columns)} "
            f"feature columns drifted ({drifted_share:.0%}, threshold {drift_share:.0%})"
        )
        if importances is None:
            importance_reason = "importance rule not applied: no champion to rank the features"
        elif not important:
            importance_reason = f"importance rule off: top_features is {top_features}"
        else:
            watched = (
                f"the {len(important)} most important features of {importances.model_name} "
                f"version {importances.model_version}"
            )
            moved = [feature.feature for feature in important if feature.drifted]
            importance_reason = (
                f"importance rule flags: {', '.join(moved)} drifted, among {watched}"
                if moved
                else f"importance rule passes: none of {watched} drifted "
                f"({', '.join(feature.feature for feature in important)})"
            )
        return cls(
            dataset_drift=share_drift or important_drift,
            drift_share=drift_share,
            drifted_share=drifted_share,
            drifted_columns=drifted,
            columns=tuple(columns),
            reference_rows=reference_rows,
            current_rows=current_rows,
            share_drift=share_drift,
            important_drift=important_drift,
            top_features=top_features,
            important_features=important,
            importance_model_version=None if importances is None else importances.model_version,
            reason=f"{share_reason}; {importance_reason}",
        )

    @property
    def drifted_important_features(self) -> tuple[str, ...]:
        return tuple(feature.feature for feature in self.important_features if feature.drifted)


def data_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    drift_share: float,
    importances: ChampionImportances | None = None,
    top_features: int = 0,
) -> tuple[DriftReport, DataDrift]:
    """Evidently's DataDriftPreset over the model's features of ``current`` against ``reference``;
    the verdict by :meth:`DataDrift.measure` (without ``importances``, the share rule alone)."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    if not 0 < drift_share <= 1:
        raise ValueError(f"drift_share must be in (0, 1], got {drift_share}")
    features = [*NUMERIC_FEATURES, *CATEGORICAL_FEATURES]
    report = Report([DataDriftPreset(columns=features, drift_share=drift_share)], include_tests=True)
    # Evidently draws the categories of a column in its Plotly charts only: as labels, to be read as text.
    reference, current = (
        _drawn_as_text(frame[features], CATEGORICAL_FEATURES) for frame in (reference, current)
    )
    snapshot = _run(report, reference, current, NUMERIC_FEATURES, CATEGORICAL_FEATURES)
    columns = _value_drifts(snapshot)
    missing = sorted(set(features) - set(columns))
    if missing:
        raise RuntimeError(f"Evidently reported no drift for columns {missing}")
    return DriftReport(snapshot), DataDrift.measure(
        [columns[column] for column in features],
        drift_share,
        importances,
        top_features,
        reference_rows=len(reference),
        current_rows=len(current),
    )


@dataclasses.dataclass(frozen=True)
class TrainingError:
    """The scoring model's figures on the test split, as its training run logged them (``test_mae``,
    ``test_median_ae``, ...): what the day's error is held against. A run logged before the full
    evaluation has only MAE and RMSE; the other figures are then None."""

    mae: float
    rmse: float
    median_ae: float | None = None
    mae_under_1000: float | None = None
    mae_1000_and_above: float | None = None


@dataclasses.dataclass(frozen=True)
class ModelDrift:
    """One day's model drift (built by :meth:`measure`); with the day, the model and its report,
    a row of ``model_drift_log``."""

    model_drift: bool  # prediction drift or error drift
    prediction_drift: bool
    error_drift: bool  # the day's MAE or RMSE above the training error by more than the tolerance
    # The day's predictions against the model's predictions on the training set.
    prediction: ColumnDrift = dataclasses.field(metadata=FLATTENED)
    # The original project's comparison, and the day's actual prices against the training
    # prices: reported, not flagged.
    prediction_vs_training_price: ColumnDrift = dataclasses.field(metadata=FLATTENED)
    target: ColumnDrift = dataclasses.field(metadata=FLATTENED)
    day_mae: float
    day_rmse: float
    training_mae: float
    training_rmse: float
    mae_ratio: float
    rmse_ratio: float
    error_tolerance: float
    scored_rows: int
    reference_rows: int
    # The rest of the day's evaluation (:func:`mlvp_assets.ml.evaluation.evaluate`) and the same
    # test figures of the training run, which the dashboard's error chart draws; they do not flag.
    # In rows logged before them, and for a band without rows, they are null.
    day_r2: float
    day_log_r2: float
    day_median_ae: float
    day_mae_under_1000: float | None
    day_rows_under_1000: int
    day_mae_1000_and_above: float | None
    day_rows_1000_and_above: int
    training_median_ae: float | None
    training_mae_under_1000: float | None
    training_mae_1000_and_above: float | None

    @classmethod
    def measure(
        cls,
        prediction: ColumnDrift,
        prediction_vs_training_price: ColumnDrift,
        target: ColumnDrift,
        day: Evaluation,
        training: TrainingError,
        error_tolerance: float,
        reference_rows: int,
    ) -> ModelDrift:
        """The verdicts from the drift tests and the day's error against the training error."""
        mae_ratio, rmse_ratio = day.metrics.mae / training.mae, day.metrics.rmse / training.rmse
        error_drift = max(mae_ratio, rmse_ratio) > 1 + error_tolerance
        return cls(
            model_drift=prediction.drifted or error_drift,
            prediction_drift=prediction.drifted,
            error_drift=error_drift,
            prediction=prediction,
            prediction_vs_training_price=prediction_vs_training_price,
            target=target,
            day_mae=day.metrics.mae,
            day_rmse=day.metrics.rmse,
            training_mae=training.mae,
            training_rmse=training.rmse,
            mae_ratio=mae_ratio,
            rmse_ratio=rmse_ratio,
            error_tolerance=error_tolerance,
            scored_rows=day.metrics.rows,
            reference_rows=reference_rows,
            day_r2=day.metrics.r2,
            day_log_r2=day.log_r2,
            day_median_ae=day.median_ae,
            day_mae_under_1000=day.mae_under_1000,
            day_rows_under_1000=day.rows_under_1000,
            day_mae_1000_and_above=day.mae_1000_and_above,
            day_rows_1000_and_above=day.rows_1000_and_above,
            training_median_ae=training.median_ae,
            training_mae_under_1000=training.mae_under_1000,
            training_mae_1000_and_above=training.mae_1000_and_above,
        )

    def reasons(self) -> list[str]:
        reasons = []
        if self.prediction_drift:
            reasons.append(
                f"predictions drifted from the model's predictions on the training set "
                f"({self.prediction.test} {self.prediction.score:.3g}, "
                f"threshold {self.prediction.threshold:g})"
            )
        if self.error_drift:
            reasons.append(
                "the day's error exceeds the test error at training time by more than "
                f"{self.error_tolerance:.0%}: "
                f"MAE {self.day_mae:.1f} vs {self.training_mae:.1f} (x{self.mae_ratio:.2f}), "
                f"RMSE {self.day_rmse:.1f} vs {self.training_rmse:.1f} (x{self.rmse_ratio:.2f})"
            )
        return reasons


def day_error(predictions: DataFrame) -> Evaluation:
    """The evaluation of all the day's predictions that have an actual price (in Spark, not on the
    sample that goes to Evidently)."""
    priced = predictions.where(F.col(TARGET).isNotNull() & F.col(PREDICTION).isNotNull())
    if priced.isEmpty():
        raise ValueError("no predicted row of the day has an actual price to measure the error on")
    return evaluate(priced)


def model_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    day: Evaluation,
    training: TrainingError,
    error_tolerance: float,
) -> tuple[DriftReport, ModelDrift]:
    """``reference``: the training set's prices and the model's predictions of them; ``current``:
    the day's prices and predictions (both samples with the columns ``price`` and ``prediction``);
    ``day``: the evaluation of all the day's priced predictions (:func:`day_error`); ``training``:
    the scoring model's test figures."""
    from evidently import Report
    from evidently.metrics import ValueDrift

    if error_tolerance < 0:
        raise ValueError(f"error_tolerance must be >= 0, got {error_tolerance}")
    columns = [PREDICTION, TARGET, PREDICTION_AS_PRICE]
    reference = reference.assign(**{PREDICTION_AS_PRICE: reference[TARGET]})[columns]
    current = current.assign(**{PREDICTION_AS_PRICE: current[PREDICTION]})[columns]
    report = Report([ValueDrift(column=column) for column in columns], include_tests=True)
    snapshot = _run(report, reference, current, numerical_columns=columns)
    drifts = _value_drifts(snapshot)
    return DriftReport(snapshot), ModelDrift.measure(
        prediction=drifts[PREDICTION],
        prediction_vs_training_price=drifts[PREDICTION_AS_PRICE],
        target=drifts[TARGET],
        day=day,
        training=training,
        error_tolerance=error_tolerance,
        reference_rows=len(reference),
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataDriftLogRow(DataDrift):
    """A row of ``data_drift_log``: the day's :class:`DataDrift` and where its report is."""

    landing_date: dt.date
    report_path: str
    evaluated_at: dt.datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelDriftLogRow(ModelDrift):
    """A row of ``model_drift_log``: the day's :class:`ModelDrift`, the model that scored the day
    and where the report is."""

    landing_date: dt.date
    model_name: str
    model_version: int
    report_path: str
    evaluated_at: dt.datetime


def fields_of(figures: DataclassInstance) -> dict[str, Any]:
    """The fields of a dataclass instance by name, not recursing into nested dataclasses (so they
    can be passed on to a subclass's constructor)."""
    return {field.name: getattr(figures, field.name) for field in dataclasses.fields(figures)}
