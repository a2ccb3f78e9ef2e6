"""Evaluations written out for tests that need one without Spark: figures that follow from the
overall metrics, any of them replaced."""

from __future__ import annotations

import dataclasses
from typing import Any

from mlvp_assets.ml.evaluation import Evaluation, Metrics


def evaluation_of(metrics: Metrics, **figures: Any) -> Evaluation:
    """An evaluation with ``metrics``: every row under $1,000 and of one room type, the median
    error half the MAE, the log-scale R2 the price-scale one; ``figures`` replace any of these."""
    evaluation = Evaluation(
        metrics=metrics,
        log_r2=metrics.r2,
        median_ae=metrics.mae / 2,
        mae_under_1000=metrics.mae,
        rows_under_1000=metrics.rows,
        mae_1000_and_above=None,
        rows_1000_and_above=0,
        mae_by_room_type={"Entire home/apt": metrics.mae},
        rows_by_room_type={"Entire home/apt": metrics.rows},
    )
    return dataclasses.replace(evaluation, **figures)
