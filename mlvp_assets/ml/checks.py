"""What the promotion check tells Dagster and the registry: the figures of a comparison, the tags
written on the challenger's version and the check result. Plain functions of plain values (no
Spark, no MLflow), so each verdict and each number an operator reads is tested on its own.
"""

from __future__ import annotations

import dataclasses
import json
import math

import dagster as dg

from mlvp_assets.ml.evaluation import PRICE_BAND_LIMIT, Comparison, Evaluation
from mlvp_assets.ml.registry import CHALLENGER, PromotionDecision
from mlvp_assets.ml.training import LEARNER, LEARNER_PARAMS

BASELINE = "baseline"


@dataclasses.dataclass(frozen=True)
class PromotionContext:
    """What the challenger was compared with, and on what."""

    model_name: str
    challenger_version: str
    champion_version: str | None  # None: no champion yet
    training_set_version: int
    tolerance: float
    baseline_margin: float
    # model role (challenger, champion) -> its learner and parameters, from its version's tags
    learners: dict[str, dict[str, object]] = dataclasses.field(default_factory=dict)


def learner_of(version_tags: dict[str, str]) -> dict[str, object]:
    """The learner family and parameters a registered version's tags record (versions registered
    before the tags existed were random forests, with no parameters recorded)."""
    return {
        LEARNER: version_tags.get(LEARNER, "random_forest (untagged)"),
        "params": json.loads(version_tags.get(LEARNER_PARAMS, "{}")),
    }


def comparison_figures(comparison: Comparison) -> dict[str, float]:
    """``<model>_test_<metric>`` for the challenger, the champion (if any) and the median baseline."""
    return {
        key: round(value, 4)
        for model, metrics in {**comparison.metrics, BASELINE: comparison.baseline}.items()
        for key, value in metrics.prefixed(f"{model}_test").items()
    }


def evaluation_figures(comparison: Comparison) -> dict[str, float]:
    """Every figure of each model's evaluation, ``<model>_test_<figure>`` (the names training
    logs as ``test_<figure>``), rounded."""
    evaluations = {**comparison.evaluations, BASELINE: comparison.baseline_evaluation}
    return {
        key: round(value, 4)
        for model, evaluation in evaluations.items()
        for key, value in evaluation.figures(f"{model}_test").items()
    }


def evaluation_table(comparison: Comparison) -> str:
    """The evaluations side by side as a Markdown table: a row per figure, a column per model;
    "-" where a model has no figure (a price band without rows)."""
    evaluations = {**comparison.evaluations, BASELINE: comparison.baseline_evaluation}
    rows_of = comparison.baseline_evaluation  # every model is evaluated on the same rows
    room_types = list(rows_of.rows_by_room_type)
    limit = f"${PRICE_BAND_LIMIT:,.0f}"
    labels = [
        "MAE",
        "RMSE",
        "R2",
        "R2 of log1p",
        "median absolute error",
        f"MAE under {limit} ({rows_of.rows_under_1000} rows)",
        f"MAE at or above {limit} ({rows_of.rows_1000_and_above} rows)",
        *(f"MAE {room_type} ({rows_of.rows_by_room_type[room_type]} rows)" for room_type in room_types),
    ]
    columns = [_table_column(evaluation, room_types) for evaluation in evaluations.values()]
    return "\n".join(
        [
            "| figure | " + " | ".join(evaluations) + " |",
            "|---|" + "---:|" * len(evaluations),
            *("| " + " | ".join(cells) + " |" for cells in zip(labels, *columns, strict=True)),
        ]
    )


def _table_column(evaluation: Evaluation, room_types: list[str]) -> list[str]:
    return [
        _money(evaluation.metrics.mae),
        _money(evaluation.metrics.rmse),
        _ratio(evaluation.metrics.r2),
        _ratio(evaluation.log_r2),
        _money(evaluation.median_ae),
        _money(evaluation.mae_under_1000),
        _money(evaluation.mae_1000_and_above),
        *(_money(evaluation.mae_by_room_type.get(room_type)) for room_type in room_types),
    ]


def _money(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.2f}"


def _ratio(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def decision_tags(context: PromotionContext, comparison: Comparison) -> dict[str, str]:
    """The tags written on the challenger's version beside the decision: how it was compared."""
    return {
        **{key: str(value) for key, value in comparison_figures(comparison).items()},
        "compared_with_champion_version": context.champion_version or "none",
        "compared_on_training_set_version": str(context.training_set_version),
        "compared_on_rows": str(comparison.rows),
        "tolerance": str(context.tolerance),
        "baseline_margin": str(context.baseline_margin),
    }


def no_challenger_result(model_name: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"no version of {model_name} has the {CHALLENGER} alias: materialize price_model first",
    )


def promotion_result(
    decision: PromotionDecision, context: PromotionContext, comparison: Comparison
) -> dg.AssetCheckResult:
    """ERROR when the challenger is rejected (blocking what scores with it); says why either way."""
    champion_after = context.challenger_version if decision.promote else context.champion_version
    return dg.AssetCheckResult(
        passed=decision.promote,
        severity=dg.AssetCheckSeverity.ERROR,
        description=decision.reason,
        metadata={
            "decision": "promoted" if decision.promote else "rejected",
            "reason": decision.reason,
            "registered_model": context.model_name,
            "challenger_version": int(context.challenger_version),
            "champion_version_before": int(context.champion_version) if context.champion_version else None,
            "champion_version_after": int(champion_after) if champion_after else None,
            "learners": dg.MetadataValue.json(context.learners),
            "evaluation": dg.MetadataValue.md(evaluation_table(comparison)),
            "metrics": dg.MetadataValue.json(evaluation_figures(comparison)),
            "compared_on_rows": comparison.rows,
            "unscored_test_rows": comparison.unscored_rows,
            "training_set_version": context.training_set_version,
            "tolerance": context.tolerance,
            "baseline_margin": context.baseline_margin,
        },
    )
