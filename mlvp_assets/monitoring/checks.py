"""What the scoring and drift assets tell Dagster: the metadata and check results built from
their figures. Plain functions of plain values (no Spark, no storage), so each verdict and
each sentence an operator reads is tested on its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import dagster as dg

from mlvp_assets.monitoring.drift import DataDrift, ModelDrift
from mlvp_assets.monitoring.scoring import Coverage
from mlvp_assets.names import PREDICTIONS_TABLE, UNSEEN_TABLE

COVERAGE_CHECK = "predictions_cover_gold"
UNSEEN_SHARE_CHECK = "unseen_share_below_threshold"
DATA_DRIFT_CHECK = "no_data_drift"
MODEL_DRIFT_CHECK = "no_model_drift"

# Metadata as Dagster takes it: a MetadataValue, or a plain value it wraps in one.
Metadata = dict[str, dg.MetadataValue | bool | int | float | str | list[str]]


def coverage_check(counts: Coverage) -> dg.AssetCheckResult:
    """ERROR unless every gold row of the day is predicted or unseen, never both."""
    accounting = dataclasses.asdict(counts)
    return dg.AssetCheckResult(
        asset_key=PREDICTIONS_TABLE,
        check_name=COVERAGE_CHECK,
        passed=counts.complete,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{counts.gold_rows} gold rows = {counts.predicted_rows} predicted + {counts.unseen_rows} unseen"
            if counts.complete
            else f"gold rows unaccounted for: {accounting}"
        ),
        metadata=accounting,
    )


def unseen_share_check(
    counts: Coverage, threshold: float, top_values: list[dict[str, object]], dashboard_url: str
) -> dg.AssetCheckResult:
    """WARN when the share of the day's gold rows the model could not score reaches ``threshold``."""
    return dg.AssetCheckResult(
        asset_key=UNSEEN_TABLE,
        check_name=UNSEEN_SHARE_CHECK,
        passed=counts.unseen_share < threshold,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{counts.unseen_rows} of {counts.gold_rows} gold rows ({counts.unseen_share:.1%}) could not "
            f"be scored; threshold {threshold:.1%}"
        ),
        metadata={
            "unseen_rows": counts.unseen_rows,
            "gold_rows": counts.gold_rows,
            "unseen_share": dg.MetadataValue.float(round(counts.unseen_share, 4)),
            "threshold": threshold,
            "top_unseen_values": dg.MetadataValue.json(top_values),
            "dashboard": dg.MetadataValue.url(dashboard_url),
        },
    )


def data_drift_figures(drift: DataDrift) -> Metadata:
    """The figures recorded on the report's materialization (the drift sensor reads ``dataset_drift``)."""
    figures: Metadata = {
        "dataset_drift": drift.dataset_drift,
        "share_drift": drift.share_drift,
        "important_drift": drift.important_drift,
        "drifted_share": dg.MetadataValue.float(round(drift.drifted_share, 4)),
        "drift_share": drift.drift_share,
        "drifted_columns": list(drift.drifted_columns),
        "top_features": drift.top_features,
        "drifted_important_features": list(drift.drifted_important_features),
        "reference_rows": drift.reference_rows,
        "current_rows": drift.current_rows,
    }
    if drift.importance_model_version is not None:
        figures["importance_model_version"] = drift.importance_model_version
    return figures


def data_drift_check(drift: DataDrift, links: Mapping[str, dg.MetadataValue]) -> dg.AssetCheckResult:
    """WARN when the share of drifted feature columns reaches the configured share, or when one of
    the champion's most important features drifted; says which, and lists those features with
    their importance and verdict."""
    drifted = ", ".join(drift.drifted_columns) or "none"
    return dg.AssetCheckResult(
        check_name=DATA_DRIFT_CHECK,
        passed=not drift.dataset_drift,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{drift.reason}. Drifted columns: {drifted}",
        metadata={
            **data_drift_figures(drift),
            **links,
            "important_features": dg.MetadataValue.json(
                [
                    {
                        "rank": feature.rank,
                        "feature": feature.feature,
                        "importance": round(feature.importance, 4),
                        "drifted": feature.drifted,
                    }
                    for feature in drift.important_features
                ]
            ),
            "column_scores": dg.MetadataValue.json(
                {column.column: {"test": column.test, "score": column.score} for column in drift.columns}
            ),
        },
    )


def model_drift_figures(drift: ModelDrift, model_version: int) -> Metadata:
    """The figures recorded on the report's materialization (the drift sensor reads ``model_drift``)."""
    return {
        "model_drift": drift.model_drift,
        "prediction_drift": drift.prediction_drift,
        "error_drift": drift.error_drift,
        "day_mae": dg.MetadataValue.float(round(drift.day_mae, 2)),
        "training_mae": dg.MetadataValue.float(round(drift.training_mae, 2)),
        "day_rmse": dg.MetadataValue.float(round(drift.day_rmse, 2)),
        "training_rmse": dg.MetadataValue.float(round(drift.training_rmse, 2)),
        "model_version": model_version,
    }


def model_drift_check(
    drift: ModelDrift, model_version: int, links: Mapping[str, dg.MetadataValue]
) -> dg.AssetCheckResult:
    """WARN when the predictions drifted or the day's error left the tolerance; says which."""
    return dg.AssetCheckResult(
        check_name=MODEL_DRIFT_CHECK,
        passed=not drift.model_drift,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(drift.reasons())
        or (
            f"no model drift: MAE {drift.day_mae:.1f} vs {drift.training_mae:.1f} at training, "
            "predictions stable"
        ),
        metadata={**model_drift_figures(drift, model_version), **links},
    )
