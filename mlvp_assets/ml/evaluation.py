"""How good a price model is: regression metrics on the price scale, and models compared on the
rows all of them score. Plain functions over Spark DataFrames of predictions, shared by training,
the promotion check and the daily model-drift report."""

from __future__ import annotations

import dataclasses
import math

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


def median_price(rows: DataFrame) -> float:
    return float(single_row(rows.agg(F.median(TARGET)))[0])


def constant_prediction_metrics(rows: DataFrame, value: float) -> Metrics:
    return regression_metrics(rows.withColumn(PREDICTION, F.lit(float(value))))


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Models and the median baseline scored on the same rows: those every model scores."""

    metrics: dict[str, Metrics]
    baseline: Metrics
    rows: int
    unscored_rows: dict[str, int]


def metrics_on_common_rows(
    models: dict[str, PipelineModel], rows: DataFrame, baseline_price: float
) -> Comparison:
    """Score ``rows`` (one per listing) with every model and compare on the rows all of them
    scored, so that a model skipping a hard row (an unseen category) gains nothing from it."""
    scored = rows.select(LISTING_ID, TARGET)
    for name, model in models.items():
        predictions = model.transform(rows).select(
            LISTING_ID, F.col(PREDICTION).alias(f"{PREDICTION}_{name}")
        )
        scored = scored.join(predictions, LISTING_ID, "inner")
    scored = scored.cache()
    try:
        return Comparison(
            metrics={name: regression_metrics(scored, prediction=f"{PREDICTION}_{name}") for name in models},
            baseline=constant_prediction_metrics(scored, baseline_price),
            rows=scored.count(),
            unscored_rows={
                name: rows.where(unscorable_condition(model)).count() for name, model in models.items()
            },
        )
    finally:
        scored.unpersist()
