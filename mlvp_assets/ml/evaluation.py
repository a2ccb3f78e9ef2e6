"""How good a price model is: regression metrics on the price scale, the fuller evaluation a
reader checks a model by (log-scale R2, median error, error by price band and by room type), and
models compared on the rows all of them score. Plain functions over Spark DataFrames of
predictions, shared by training, the promotion check and the daily model-drift report."""

from __future__ import annotations

import dataclasses
import math
import re

from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mlvp_assets.delta_tables import single_row
from mlvp_assets.ml.features import PREDICTION, TARGET, unscorable_condition
from mlvp_assets.schema import LISTING_ID

# --- metrics --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Metrics:
    """Regression metrics on the price scale, over ``rows`` rows."""

    mae: float
    rmse: float
    r2: float
    rows: int

    def prefixed(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}_mae": self.mae, f"{prefix}_rmse": self.rmse, f"{prefix}_r2": self.r2}


def regression_metrics(predictions: DataFrame, prediction: str = PREDICTION, actual: str = TARGET) -> Metrics:
    """MAE, RMSE and R2 (1 - SSE/SST, as Spark's RegressionEvaluator) in one pass."""
    error = F.col(prediction) - F.col(actual)
    row = single_row(
        predictions.agg(
            F.count(F.lit(1)).alias("rows"),
            F.avg(F.abs(error)).alias("mae"),
            F.avg(error * error).alias("mse"),
            F.sum(error * error).alias("sse"),
            F.var_pop(actual).alias("variance"),
        )
    )
    rows = int(row["rows"])
    if rows == 0:
        raise ValueError("no rows to compute metrics on")
    total = row["variance"] * rows
    r2 = 1 - row["sse"] / total if total > 0 else math.nan
    return Metrics(mae=float(row["mae"]), rmse=math.sqrt(row["mse"]), r2=float(r2), rows=rows)


# --- the full evaluation ------------------------------------------------------------------------

ROOM_TYPE = "room_type"
# Listings at or above this price are the tail where a price model errs most: their MAE is
# reported apart so that a few of them cannot hide in (or dominate) the overall MAE.
PRICE_BAND_LIMIT = 1000.0
# The label of rows whose room type is missing (the closed vocabulary keeps them out of gold).
UNKNOWN_ROOM_TYPE = "unknown"


def figure_slug(label: str) -> str:
    """A label as part of a metric name: lowercase, each run of non-alphanumerics one ``_``
    ("Entire home/apt" -> ``entire_home_apt``), valid as an MLflow metric name."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_") or UNKNOWN_ROOM_TYPE


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """What a reader checks a price model by, over ``metrics.rows`` rows: the overall metrics,
    R2 of log1p(price) against log1p(prediction) (how well the model ranks cheap and dear
    listings, which the price-scale R2 leaves to the few most expensive), the median absolute
    error (a typical listing's error), the MAE of listings under and at or above
    ``PRICE_BAND_LIMIT`` (None when the band has no row) and the MAE of each room type."""

    metrics: Metrics
    log_r2: float
    median_ae: float
    mae_under_1000: float | None
    rows_under_1000: int
    mae_1000_and_above: float | None
    rows_1000_and_above: int
    mae_by_room_type: dict[str, float]
    rows_by_room_type: dict[str, int]

    def figures(self, prefix: str) -> dict[str, float]:
        """The figures under flat names (``{prefix}_mae``, ``{prefix}_mae_room_type_private_room``,
        ...), as MLflow metrics and check metadata; a band without rows has no figure."""
        bands = {"mae_under_1000": self.mae_under_1000, "mae_1000_and_above": self.mae_1000_and_above}
        return {
            **self.metrics.prefixed(prefix),
            f"{prefix}_log_r2": self.log_r2,
            f"{prefix}_median_ae": self.median_ae,
            **{f"{prefix}_{name}": value for name, value in bands.items() if value is not None},
            **{
                f"{prefix}_mae_room_type_{figure_slug(room_type)}": mae
                for room_type, mae in sorted(self.mae_by_room_type.items())
            },
        }


def evaluate(predictions: DataFrame, prediction: str = PREDICTION, actual: str = TARGET) -> Evaluation:
    """Every figure of an ``Evaluation`` in one Spark job: a rollup over the room type gives one
    row per room type and the grand total (``grouping`` tells the total from a missing room type),
    so the predictions, often an uncached ``model.transform``, are computed once. Predictions
    without a ``room_type`` column (``daily_predictions`` keeps none) get no MAE per room type."""
    error = F.col(prediction).cast("double") - F.col(actual).cast("double")
    absolute = F.abs(error)
    # A price model predicts a price, and log1p is undefined at -1 or below: a negative
    # prediction counts as 0 on the log scale.
    log_actual = F.log1p(F.col(actual).cast("double"))
    log_error = F.log1p(F.greatest(F.col(prediction).cast("double"), F.lit(0.0))) - log_actual
    under = F.col(actual) < PRICE_BAND_LIMIT
    figures = [
        F.count(F.lit(1)).alias("rows"),
        F.avg(absolute).alias("mae"),
        F.avg(error * error).alias("mse"),
        F.var_pop(F.col(actual).cast("double")).alias("variance"),
        F.avg(log_error * log_error).alias("log_mse"),
        F.var_pop(log_actual).alias("log_variance"),
        F.median(absolute).alias("median_ae"),
        F.avg(F.when(under, absolute)).alias("mae_under"),
        F.count(F.when(under, F.lit(1))).alias("rows_under"),
        F.avg(F.when(~under, absolute)).alias("mae_above"),
        F.count(F.when(~under, F.lit(1))).alias("rows_above"),
    ]
    if ROOM_TYPE in predictions.columns:
        grouped = predictions.rollup(ROOM_TYPE).agg(F.grouping(ROOM_TYPE).alias("is_total"), *figures)
    else:
        grouped = predictions.agg(F.lit(1).alias("is_total"), *figures)
    rows = grouped.collect()
    totals = [row for row in rows if row["is_total"]]
    if not totals or totals[0]["rows"] == 0:
        raise ValueError("no rows to compute metrics on")
    total = totals[0]
    by_room_type = {
        UNKNOWN_ROOM_TYPE if row[ROOM_TYPE] is None else str(row[ROOM_TYPE]): row
        for row in rows
        if not row["is_total"]
    }
    return Evaluation(
        metrics=Metrics(
            mae=float(total["mae"]),
            rmse=math.sqrt(total["mse"]),
            r2=_r2(total["mse"], total["variance"]),
            rows=int(total["rows"]),
        ),
        log_r2=_r2(total["log_mse"], total["log_variance"]),
        median_ae=float(total["median_ae"]),
        mae_under_1000=_optional(total["mae_under"]),
        rows_under_1000=int(total["rows_under"]),
        mae_1000_and_above=_optional(total["mae_above"]),
        rows_1000_and_above=int(total["rows_above"]),
        mae_by_room_type={room_type: float(row["mae"]) for room_type, row in sorted(by_room_type.items())},
        rows_by_room_type={room_type: int(row["rows"]) for room_type, row in sorted(by_room_type.items())},
    )


def _r2(mse: float, variance: float) -> float:
    """1 - SSE/SST, with both sums divided by the row count; NaN when every actual is the same."""
    return float(1 - mse / variance) if variance > 0 else math.nan


def _optional(value: float | None) -> float | None:
    return None if value is None else float(value)


def median_price(rows: DataFrame) -> float:
    return float(single_row(rows.agg(F.median(TARGET)))[0])


def constant_prediction_metrics(rows: DataFrame, value: float) -> Metrics:
    return regression_metrics(rows.withColumn(PREDICTION, F.lit(float(value))))


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Models and the median baseline evaluated on the same rows: those every model scores."""

    evaluations: dict[str, Evaluation]
    baseline_evaluation: Evaluation
    unscored_rows: dict[str, int]

    @property
    def metrics(self) -> dict[str, Metrics]:
        """Each model's overall metrics, which the promotion decision compares."""
        return {name: evaluation.metrics for name, evaluation in self.evaluations.items()}

    @property
    def baseline(self) -> Metrics:
        return self.baseline_evaluation.metrics

    @property
    def rows(self) -> int:
        return self.baseline_evaluation.metrics.rows


def metrics_on_common_rows(
    models: dict[str, PipelineModel], rows: DataFrame, baseline_price: float
) -> Comparison:
    """Score ``rows`` (one per listing) with every model and compare on the rows all of them
    scored, so that a model skipping a hard row (an unseen category) gains nothing from it."""
    scored = rows.select(LISTING_ID, TARGET, ROOM_TYPE)
    for name, model in models.items():
        predictions = model.transform(rows).select(
            LISTING_ID, F.col(PREDICTION).alias(f"{PREDICTION}_{name}")
        )
        scored = scored.join(predictions, LISTING_ID, "inner")
    scored = scored.cache()
    try:
        return Comparison(
            evaluations={name: evaluate(scored, prediction=f"{PREDICTION}_{name}") for name in models},
            baseline_evaluation=evaluate(scored.withColumn(PREDICTION, F.lit(float(baseline_price)))),
            unscored_rows={
                name: rows.where(unscorable_condition(model)).count() for name, model in models.items()
            },
        )
    finally:
        scored.unpersist()
