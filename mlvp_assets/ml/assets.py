"""The ``ml`` group: the ``training_set`` snapshot, the ``price_model`` trained and registered in
MLflow, and the blocking check that promotes it to champion (``training_job`` runs them, on the
training schedule in :mod:`mlvp_assets.automation.schedules`).

The training assets are not partitioned: ``training_set`` snapshots every gold partition present
(or a configured window). Only ``training_job`` materializes them; the daily medallion job does not.
"""

import datetime as dt
import json
from typing import Any

import dagster as dg
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from mlvp_assets.crash_points import MODEL_REGISTERED, crash_point
from mlvp_assets.delta_tables import read_table, single_row, table_exists, table_metadata, table_version
from mlvp_assets.ml.checks import (
    PromotionContext,
    decision_tags,
    learner_of,
    no_challenger_result,
    promotion_result,
)
from mlvp_assets.ml.evaluation import median_price, metrics_on_common_rows
from mlvp_assets.ml.features import LearnerFamily, TargetTransform, families_supported_by
from mlvp_assets.ml.registry import (
    CHALLENGER,
    CHAMPION,
    aliased_versions,
    decide_promotion,
    load_version,
    record_decision,
    register_challenger,
    version_uri,
)
from mlvp_assets.ml.training import (
    LEARNER,
    LEARNER_PARAMS,
    SPLIT_COLUMN,
    TEST,
    TRAIN,
    VALIDATION,
    ForestSpace,
    GBTSpace,
    SearchSpace,
    TrainingSettings,
    XGBoostSpace,
    build_training_set,
    log_trained_model,
    split_frames,
    train_price_model,
)
from mlvp_assets.names import GOLD_TABLE, ML_GROUP, PRICE_MODEL, TRAINING_SET_TABLE
from mlvp_assets.resources.mlflow import ModelRegistryResource, active_run_id, run_marked_failed_on_error
from mlvp_assets.resources.spark import DeltaSparkResource, is_spark_connect
from mlvp_assets.resources.storage import StorageResource
from mlvp_assets.schema import PARTITION_COLUMN


class TrainingSetConfig(dg.Config):
    """How gold is snapshotted and split. Keep ``seed`` fixed: it decides which listings are test."""

    seed: int = 42
    test_fraction: float = 0.2
    validation_fraction: float = 0.2  # of the non-test listings, held out for tuning
    start_date: str | None = None  # ISO dates, inclusive; None: every gold partition
    end_date: str | None = None


# The defaults of the training code, so that the asset's configuration restates none of them.
_TRAINING_DEFAULTS = TrainingSettings()
_FOREST, _GBT, _XGBOOST = (
    _TRAINING_DEFAULTS.space.random_forest,
    _TRAINING_DEFAULTS.space.gbt,
    _TRAINING_DEFAULTS.space.xgboost,
)


class PriceModelConfig(dg.Config):
    """The hyperopt budget, the learner families it chooses among and each family's search space
    (small by default, for dev and test), and the target. Defaults are :class:`TrainingSettings`'
    and the family spaces' of :mod:`mlvp_assets.ml.training`. The random forest's bounds keep
    their first names (``num_trees_min``, ...); GBT's and XGBoost's carry the family's prefix."""

    max_evals: int = _TRAINING_DEFAULTS.max_evals
    seed: int = _TRAINING_DEFAULTS.seed
    # None: every family the Spark session can train, save and load (all but XGBoost over
    # Spark Connect). Naming a family the session cannot run is an error.
    learners: list[str] | None = None
    num_trees_min: int = _FOREST.num_trees[0]
    num_trees_max: int = _FOREST.num_trees[1]
    max_depth_min: int = _FOREST.max_depth[0]
    max_depth_max: int = _FOREST.max_depth[1]
    min_instances_per_node_min: int = _FOREST.min_instances_per_node[0]
    min_instances_per_node_max: int = _FOREST.min_instances_per_node[1]
    feature_subset_strategies: list[str] = list(_FOREST.feature_subset_strategies)
    max_bins_min: int = _FOREST.max_bins[0]
    max_bins_max: int = _FOREST.max_bins[1]
    gbt_max_iter: int = _GBT.max_iter
    gbt_max_depth_min: int = _GBT.max_depth[0]
    gbt_max_depth_max: int = _GBT.max_depth[1]
    gbt_step_size_min: float = _GBT.step_size[0]
    gbt_step_size_max: float = _GBT.step_size[1]
    gbt_min_instances_per_node_min: int = _GBT.min_instances_per_node[0]
    gbt_min_instances_per_node_max: int = _GBT.min_instances_per_node[1]
    gbt_subsampling_rate_min: float = _GBT.subsampling_rate[0]
    gbt_subsampling_rate_max: float = _GBT.subsampling_rate[1]
    gbt_loss_types: list[str] = list(_GBT.loss_types)
    xgboost_n_estimators: int = _XGBOOST.n_estimators
    xgboost_objectives: list[str] = list(_XGBOOST.objectives)
    xgboost_max_depth_min: int = _XGBOOST.max_depth[0]
    xgboost_max_depth_max: int = _XGBOOST.max_depth[1]
    xgboost_learning_rate_min: float = _XGBOOST.learning_rate[0]
    xgboost_learning_rate_max: float = _XGBOOST.learning_rate[1]
    xgboost_min_child_weight_min: float = _XGBOOST.min_child_weight[0]
    xgboost_min_child_weight_max: float = _XGBOOST.min_child_weight[1]
    xgboost_subsample_min: float = _XGBOOST.subsample[0]
    xgboost_subsample_max: float = _XGBOOST.subsample[1]
    xgboost_colsample_bytree_min: float = _XGBOOST.colsample_bytree[0]
    xgboost_colsample_bytree_max: float = _XGBOOST.colsample_bytree[1]
    early_stopping_fraction: float = _TRAINING_DEFAULTS.early_stopping_fraction
    target_transform: str = _TRAINING_DEFAULTS.target_transform.value
    price_cap_quantile: float | None = _TRAINING_DEFAULTS.price_cap_quantile

    def learner_families(self, spark_connect: bool) -> tuple[LearnerFamily, ...]:
        """The families to search: ``learners``, or every family the session supports."""
        supported = families_supported_by(spark_connect)
        if self.learners is None:
            return supported
        valid = ", ".join(family.value for family in LearnerFamily)
        families = []
        for name in self.learners:
            if name not in set(LearnerFamily):
                raise ValueError(f"price_model config learners: unknown family {name!r} (valid: {valid})")
            family = LearnerFamily(name)
            if family not in supported:
                raise ValueError(
                    f"price_model config learners: {name!r} cannot run over Spark Connect (XGBoost's Spark "
                    "estimator drives the classic SparkContext, which a Connect client does not have); "
                    f"offer {', '.join(supported)} there"
                )
            families.append(family)
        return tuple(families)

    def settings(self, spark_connect: bool = False) -> TrainingSettings:
        return TrainingSettings(
            space=SearchSpace(
                learners=self.learner_families(spark_connect),
                random_forest=ForestSpace(
                    num_trees=(self.num_trees_min, self.num_trees_max),
                    max_depth=(self.max_depth_min, self.max_depth_max),
                    min_instances_per_node=(self.min_instances_per_node_min, self.min_instances_per_node_max),
                    feature_subset_strategies=tuple(self.feature_subset_strategies),
                    max_bins=(self.max_bins_min, self.max_bins_max),
                ),
                gbt=GBTSpace(
                    max_iter=self.gbt_max_iter,
                    max_depth=(self.gbt_max_depth_min, self.gbt_max_depth_max),
                    step_size=(self.gbt_step_size_min, self.gbt_step_size_max),
                    min_instances_per_node=(
                        self.gbt_min_instances_per_node_min,
                        self.gbt_min_instances_per_node_max,
                    ),
                    subsampling_rate=(self.gbt_subsampling_rate_min, self.gbt_subsampling_rate_max),
                    loss_types=tuple(self.gbt_loss_types),
                ),
                xgboost=XGBoostSpace(
                    n_estimators=self.xgboost_n_estimators,
                    objectives=tuple(self.xgboost_objectives),
                    max_depth=(self.xgboost_max_depth_min, self.xgboost_max_depth_max),
                    learning_rate=(self.xgboost_learning_rate_min, self.xgboost_learning_rate_max),
                    min_child_weight=(self.xgboost_min_child_weight_min, self.xgboost_min_child_weight_max),
                    subsample=(self.xgboost_subsample_min, self.xgboost_subsample_max),
                    colsample_bytree=(self.xgboost_colsample_bytree_min, self.xgboost_colsample_bytree_max),
                ),
            ),
            max_evals=self.max_evals,
            seed=self.seed,
            target_transform=TargetTransform(self.target_transform),
            price_cap_quantile=self.price_cap_quantile,
            early_stopping_fraction=self.early_stopping_fraction,
        )


class PromotionConfig(dg.Config):
    """``tolerance``: how much worse (a share) the challenger's MAE and RMSE may be than the
    champion's; ``baseline_margin``: how much lower (a share) its MAE must be than the median's."""

    tolerance: float = 0.02
    baseline_margin: float = 0.2


def _pinned_table(session: SparkSession, path: str) -> tuple[DataFrame, int]:
    """The table at its current version, and that version, so what is recorded is what was read."""
    if not table_exists(session, path):
        raise FileNotFoundError(
            f"Delta table {path} does not exist yet: materialize its upstream asset first"
        )
    version = table_version(session, path)
    return session.read.format("delta").option("versionAsOf", version).load(path), version


@dg.asset(
    description=(
        "Snapshot of gold for training: the latest row of each listing, split by a seeded hash of "
        "listing_id into train / validation / test (a listing keeps its split as gold grows). Kept "
        "as the reference data for drift reports; earlier snapshots stay reachable by Delta version."
    ),
    group_name=ML_GROUP,
    kinds={"spark", "delta"},
    deps=[GOLD_TABLE],
)
def training_set(
    config: TrainingSetConfig, spark: DeltaSparkResource, storage: StorageResource
) -> dg.MaterializeResult:
    session = spark.spark_session
    gold, gold_version = _pinned_table(session, storage.table_path(GOLD_TABLE))
    snapshot = build_training_set(
        gold,
        seed=config.seed,
        test_fraction=config.test_fraction,
        validation_fraction=config.validation_fraction,
        start_date=dt.date.fromisoformat(config.start_date) if config.start_date else None,
        end_date=dt.date.fromisoformat(config.end_date) if config.end_date else None,
    )
    path = storage.table_path(TRAINING_SET_TABLE)
    snapshot = snapshot.cache()
    try:
        rows_per_split = {
            row[SPLIT_COLUMN]: row["count"] for row in snapshot.groupBy(SPLIT_COLUMN).count().collect()
        }
        if set(rows_per_split) != {TRAIN, VALIDATION, TEST}:
            # Checked before writing, so the previous snapshot stays the current version.
            raise ValueError(f"too few listings in gold to fill train, validation and test: {rows_per_split}")
        (
            snapshot.write.format("delta")
            .mode("overwrite")
            .option("overwriteSchema", "true")
            .partitionBy(SPLIT_COLUMN)
            .save(path)
        )
    finally:
        snapshot.unpersist()
    stored = read_table(session, path)
    first_day, last_day = single_row(stored.agg(F.min(PARTITION_COLUMN), F.max(PARTITION_COLUMN)))
    return dg.MaterializeResult(
        metadata={
            **table_metadata(session, path, stored, sum(rows_per_split.values())),
            "rows_per_split": rows_per_split,
            "gold_delta_version": gold_version,
            "landing_date_range": [str(first_day), str(last_day)],
            "split_seed": config.seed,
        }
    )


@dg.asset(
    description=(
        "Price model (Spark ML Pipeline): hyperopt TPE chooses the learner family (random forest, GBT, "
        "XGBoost) and its parameters on the validation split; refit on train + validation, logged to "
        "MLflow (one nested run per evaluation) and registered as a new "
        "version with the 'challenger' alias. Metrics are on the price scale."
    ),
    name=PRICE_MODEL,
    group_name=ML_GROUP,
    kinds={"spark", "mlflow"},
    deps=[training_set],
)
def price_model(
    context: dg.AssetExecutionContext,
    config: PriceModelConfig,
    spark: DeltaSparkResource,
    storage: StorageResource,
    # dagster-mlflow starts the tracked MLflow run this asset logs into when it is initialised;
    # registering goes through the registry resource, as every registry reader does. Its value
    # (dagster-mlflow's MlFlow) is not used here, and naming its class would import MLflow.
    mlflow: dg.ResourceParam[Any],
    model_registry: ModelRegistryResource,
) -> dg.MaterializeResult:
    session = spark.spark_session
    rows, training_set_version = _pinned_table(session, storage.table_path(TRAINING_SET_TABLE))
    name = model_registry.model_name
    rows = rows.cache()
    try:
        with run_marked_failed_on_error():
            run_id = active_run_id()
            trained = train_price_model(rows, config.settings(spark_connect=is_spark_connect(session)))
            info = log_trained_model(
                trained,
                rows,
                params={"training_set_version": training_set_version},
                tags={"dagster_asset": context.asset_key.to_user_string(), "registered_model": name},
            )
            version = register_challenger(
                model_registry.client(),
                info,
                name,
                tags={
                    "training_set_version": str(training_set_version),
                    LEARNER: trained.params.family.value,
                    LEARNER_PARAMS: json.dumps(trained.params.spark_params(), sort_keys=True),
                },
            )
            crash_point(MODEL_REGISTERED)
    finally:
        rows.unpersist()
    context.log.info(
        f"registered {name} version {version.version} as {CHALLENGER}: test MAE {trained.test.mae:.2f}, "
        f"RMSE {trained.test.rmse:.2f}, R2 {trained.test.r2:.3f} "
        f"(median baseline MAE {trained.baseline_test.mae:.2f})"
    )
    return dg.MaterializeResult(
        metadata={
            "registered_model": name,
            "model_version": dg.MetadataValue.int(int(version.version)),
            "model_uri": version_uri(name, version.version),
            "mlflow_run_id": run_id,
            "mlflow_experiment": name,
            "training_set_version": training_set_version,
            LEARNER: trained.params.family.value,
            "best_params": dg.MetadataValue.json(dict(trained.params.spark_params())),
            "trials": len(trained.trials),
            **{key: dg.MetadataValue.float(value) for key, value in trained.test.prefixed("test").items()},
            "test_figures": dg.MetadataValue.json(
                {key: round(value, 4) for key, value in trained.test_evaluation.figures("test").items()}
            ),
            "test_rows": trained.test.rows,
            "test_unscored_rows": trained.test_unscored_rows,
            "baseline_test_mae": dg.MetadataValue.float(trained.baseline_test.mae),
            **{key: dg.MetadataValue.float(round(value, 2)) for key, value in trained.seconds.items()},
        }
    )


@dg.asset_check(
    asset=price_model,
    description=(
        "The new model (alias 'challenger') is at least as good as the 'champion' on the current test "
        "split (MAE and RMSE within a tolerance) and beats the training median by a margin; if so it "
        "becomes champion. Blocking: a rejected model stops everything downstream of price_model."
    ),
    blocking=True,
)
def challenger_beats_champion(
    config: PromotionConfig,
    spark: DeltaSparkResource,
    storage: StorageResource,
    model_registry: ModelRegistryResource,
) -> dg.AssetCheckResult:
    session = spark.spark_session
    name, client = model_registry.model_name, model_registry.client()
    aliases = aliased_versions(client, name)
    if CHALLENGER not in aliases:
        return no_challenger_result(name)
    rows, training_set_version = _pinned_table(session, storage.table_path(TRAINING_SET_TABLE))
    context = PromotionContext(
        model_name=name,
        challenger_version=aliases[CHALLENGER],
        champion_version=aliases.get(CHAMPION),
        training_set_version=training_set_version,
        tolerance=config.tolerance,
        baseline_margin=config.baseline_margin,
        learners={
            role: learner_of(client.get_model_version(name, version).tags)
            for role, version in ((CHALLENGER, aliases[CHALLENGER]), (CHAMPION, aliases.get(CHAMPION)))
            if version is not None
        },
    )
    train, validation, test = split_frames(rows)
    models = {CHALLENGER: load_version(client, name, context.challenger_version)}
    if context.champion_version is not None:
        models[CHAMPION] = load_version(client, name, context.champion_version)
    comparison = metrics_on_common_rows(
        models, test, baseline_price=median_price(train.unionByName(validation))
    )
    decision = decide_promotion(
        comparison.metrics[CHALLENGER],
        comparison.metrics.get(CHAMPION),
        comparison.baseline,
        tolerance=config.tolerance,
        baseline_margin=config.baseline_margin,
    )
    record_decision(client, name, context.challenger_version, decision, decision_tags(context, comparison))
    return promotion_result(decision, context, comparison)
