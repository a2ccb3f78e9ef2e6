"""What the promotion check tells Dagster and the registry: the figures of a comparison, the tags
written on the challenger's version and the check result. Plain functions of plain values (no
Spark, no MLflow), so each verdict and each number an operator reads is tested on its own.
"""

from __future__ import annotations

import dataclasses

import dagster as dg

from mlvp_assets.ml.evaluation import Comparison
from mlvp_assets.ml.registry import CHALLENGER, PromotionDecision

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


def comparison_figures(comparison: Comparison) -> dict[str, float]:
    """``<model>_test_<metric>`` for the challenger, the champion (if any) and the median baseline."""
    return {
        key: round(value, 4)
        for model, metrics in {**comparison.metrics, BASELINE: comparison.baseline}.items()
        for key, value in metrics.prefixed(f"{model}_test").items()
    }


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
            "metrics": dg.MetadataValue.json(comparison_figures(comparison)),
            "compared_on_rows": comparison.rows,
            "unscored_test_rows": comparison.unscored_rows,
            "training_set_version": context.training_set_version,
            "tolerance": context.tolerance,
            "baseline_margin": context.baseline_margin,
        },
    )
