"""The model registry: every trained model becomes a new version with the ``challenger`` alias;
the ``champion`` alias moves to it only when :func:`decide_promotion` says so, and the new
champion then loses the ``challenger`` alias (as MLOps Stacks' deploy step does), so the alias
always names a version still waiting for its verdict or one that was rejected. The decision and
the metrics behind it are written as tags on the challenger's version.

Every function takes the client of the environment's ``model_registry`` resource, which names
its tracking URI: nothing here depends on MLflow's process-wide tracking URI.

Aliases, not stages: MLflow 3 deprecates stages. ``models:/<name>@champion`` is what scoring loads.
"""

from __future__ import annotations

import csv
import dataclasses
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from mlvp_assets.ml.evaluation import Metrics
from mlvp_assets.ml.spark_model import load_spark_model
from mlvp_assets.ml.training import FEATURE_IMPORTANCE_ARTIFACT

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.models.model import ModelInfo
    from mlflow.tracking import MlflowClient
    from pyspark.ml import PipelineModel

CHAMPION = "champion"
CHALLENGER = "challenger"


def alias_uri(name: str, alias: str) -> str:
    return f"models:/{name}@{alias}"


def version_uri(name: str, version: str | int) -> str:
    return f"models:/{name}/{version}"


def load_version(client: MlflowClient, name: str, version: str | int) -> PipelineModel:
    """Version ``version`` of ``name``, loaded from where the registry says its files are (on a
    classic session or over Spark Connect: :func:`mlvp_assets.ml.spark_model.load_spark_model`)."""
    return load_spark_model(client.get_model_version_download_uri(name, str(version)), client.tracking_uri)


def logged_feature_importances(client: MlflowClient, run_id: str) -> tuple[tuple[str, float], ...]:
    """(feature, importance) as the training run ``run_id`` logged them in
    :data:`FEATURE_IMPORTANCE_ARTIFACT` (columns ``feature,importance``); fails naming the run when it
    logged none."""
    logged = {artifact.path for artifact in client.list_artifacts(run_id)}
    if FEATURE_IMPORTANCE_ARTIFACT not in logged:
        raise FileNotFoundError(
            f"the training run {run_id} at {client.tracking_uri} logged no {FEATURE_IMPORTANCE_ARTIFACT} "
            f"(its artifacts: {sorted(logged)})"
        )
    with tempfile.TemporaryDirectory() as folder:
        path = client.download_artifacts(run_id, FEATURE_IMPORTANCE_ARTIFACT, dst_path=folder)
        with Path(path).open(newline="") as table:
            return tuple((row["feature"], float(row["importance"])) for row in csv.DictReader(table))


def register_challenger(
    client: MlflowClient, model: ModelInfo, name: str, tags: dict[str, str]
) -> ModelVersion:
    """Register the logged ``model`` as a new version of ``name`` (created if needed), alias
    ``challenger``."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import ALREADY_EXISTS, RESOURCE_ALREADY_EXISTS, ErrorCode

    try:
        client.create_registered_model(name)
    except MlflowException as error:
        if error.error_code not in (ErrorCode.Name(RESOURCE_ALREADY_EXISTS), ErrorCode.Name(ALREADY_EXISTS)):
            raise
    version = client.create_model_version(
        name, source=model.model_uri, run_id=model.run_id, tags=tags, model_id=model.model_id
    )
    client.set_registered_model_alias(name, CHALLENGER, version.version)
    return version


def aliased_versions(client: MlflowClient, name: str) -> dict[str, str]:
    """alias -> version of the registered model; empty when the model is not registered yet."""
    models = client.search_registered_models(filter_string=f"name = '{name}'")
    return {alias: str(version) for alias, version in models[0].aliases.items()} if models else {}


@dataclasses.dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str


def decide_promotion(
    challenger: Metrics,
    champion: Metrics | None,
    baseline: Metrics,
    tolerance: float,
    baseline_margin: float,
) -> PromotionDecision:
    """Promote the challenger when it beats the median baseline's MAE by ``baseline_margin``
    (a share, 0.2 = 20 % lower) and, if there is a champion, when neither its MAE nor its RMSE is
    worse than the champion's by more than ``tolerance`` (a share of the champion's value).

    All three sets of metrics must come from the same rows. The baseline test applies to every
    challenger, not only the first: a model that stopped beating the median is not deployed.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    if not 0 <= baseline_margin < 1:
        raise ValueError(f"baseline_margin must be in [0, 1), got {baseline_margin}")

    reasons = []
    if champion is not None:
        comparisons = (("MAE", challenger.mae, champion.mae), ("RMSE", challenger.rmse, champion.rmse))
        worse = [
            f"{metric} {mine:.2f} vs champion's {theirs:.2f} (+{mine / theirs - 1:.1%})"
            for metric, mine, theirs in comparisons
            if mine > theirs * (1 + tolerance)
        ]
        if worse:
            reasons.append(
                f"challenger is worse than the champion beyond the {tolerance:.1%} tolerance: "
                f"{'; '.join(worse)}"
            )
    required_mae = baseline.mae * (1 - baseline_margin)
    improvement = 1 - challenger.mae / baseline.mae
    if challenger.mae > required_mae:
        reasons.append(
            f"challenger test MAE {challenger.mae:.2f} is only {improvement:.1%} below the median baseline's "
            f"{baseline.mae:.2f}; at least {baseline_margin:.0%} is required (MAE <= {required_mae:.2f})"
        )
    if reasons:
        return PromotionDecision(False, "; and ".join(reasons))
    if champion is None:
        return PromotionDecision(
            True,
            f"no champion yet; challenger test MAE {challenger.mae:.2f} is {improvement:.1%} below the "
            f"median baseline's {baseline.mae:.2f} (required: {baseline_margin:.0%})",
        )
    return PromotionDecision(
        True,
        f"challenger is at least as good as the champion within the {tolerance:.1%} tolerance: "
        + "; ".join(f"{metric} {mine:.2f} vs {theirs:.2f}" for metric, mine, theirs in comparisons),
    )


def record_decision(
    client: MlflowClient,
    name: str,
    challenger_version: str,
    decision: PromotionDecision,
    tags: dict[str, str],
) -> None:
    """Tag the challenger's version with the decision and ``tags``; if promoted, move ``champion``
    to it and take ``challenger`` off it."""
    for key, value in {
        "promotion_decision": "promoted" if decision.promote else "rejected",
        "promotion_reason": decision.reason,
        **tags,
    }.items():
        client.set_model_version_tag(name, challenger_version, key, value)
    if decision.promote:
        client.set_registered_model_alias(name, CHAMPION, challenger_version)
        client.delete_registered_model_alias(name, CHALLENGER)
