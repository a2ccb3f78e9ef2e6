"""What the price model sees and how its Spark ML ``Pipeline`` is built.

The pipeline is made to survive new data:

* one ``StringIndexer`` over the categorical columns with ``handleInvalid="skip"``: a row with a
  category the model never saw (a new neighbourhood) is not scored rather than scored wrongly;
  :func:`unscorable_rows` finds exactly those rows, so they can be counted and reported;
* a ``VectorAssembler`` over the training features only, so extra input columns are ignored;
* a learner fitted on the label scale (one of :class:`LearnerFamily`: Spark's random forest or
  gradient-boosted trees, or XGBoost's Spark estimator), and a last stage that turns its output
  back into a price, so the logged model predicts dollars whatever the learner and target.

XGBoost's Spark estimator drives the classic ``SparkContext`` (barrier jobs, ``saveAsTextFile``
to save, ``textFile`` to load), which a Spark Connect client does not have: on Connect the
family is left out of the search (see :func:`families_supported_by`).
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from functools import reduce
from operator import or_
from typing import Any, ClassVar, TypedDict

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.base import Estimator
from pyspark.ml.feature import SQLTransformer, StringIndexer, StringIndexerModel, VectorAssembler
from pyspark.ml.regression import GBTRegressionModel, GBTRegressor, RandomForestRegressor
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from mlvp_assets.delta_tables import single_row
from mlvp_assets.gold.transform import AGGREGATED_REVIEW_SCORES
from mlvp_assets.schema import DOUBLE_COLUMNS, LONG_COLUMNS, STRING_COLUMNS

TARGET = "price"
LABEL = "label"
FEATURES_VECTOR = "features"
# The forest predicts on the label scale; the last stage turns that into PREDICTION, a price.
MODEL_OUTPUT = "label_prediction"
PREDICTION = "prediction"
INDEX_SUFFIX = "_index"
# The pipeline's stages: indexer, assembler, learner, inverse of the target transformation.
_LEARNER_STAGE = 2

CATEGORICAL_FEATURES: tuple[str, ...] = STRING_COLUMNS
NUMERIC_FEATURES: tuple[str, ...] = (
    *(column for column in DOUBLE_COLUMNS if column != TARGET),
    *LONG_COLUMNS,
    AGGREGATED_REVIEW_SCORES,
)
FEATURE_COLUMNS: tuple[str, ...] = (*CATEGORICAL_FEATURES, *NUMERIC_FEATURES)


class TargetTransform(StrEnum):
    """How the price becomes the label. ``log1p``: prices are heavy-tailed (median 150, a few at
    10,000), and squared error on raw prices lets those few listings shape every tree. The
    forest then averages log prices, so ``expm1`` of its output is a typical (median-like) price
    for similar listings, not their mean: MAE improves, RMSE pays on the tail."""

    LOG1P = "log1p"
    NONE = "none"


def label_column(transform: TargetTransform, price_cap: float | None = None) -> Column:
    """The label for training: the price, optionally capped (training rows only), transformed."""
    price = F.col(TARGET).cast("double")
    if price_cap is not None:
        price = F.least(price, F.lit(float(price_cap)))
    return F.log1p(price) if transform is TargetTransform.LOG1P else price


def _inverse_statement(transform: TargetTransform) -> str:
    inverse = f"expm1({MODEL_OUTPUT})" if transform is TargetTransform.LOG1P else MODEL_OUTPUT
    return f"SELECT *, {inverse} AS {PREDICTION} FROM __THIS__"


class LearnerFamily(StrEnum):
    """The learners the price model's search may choose among (``learners`` in its run config)."""

    RANDOM_FOREST = "random_forest"
    GBT = "gbt"
    XGBOOST = "xgboost"


class SparkForestParams(TypedDict):
    """:class:`ForestParams` under the names of Spark's ``RandomForestRegressor``."""

    numTrees: int
    maxDepth: int
    minInstancesPerNode: int
    featureSubsetStrategy: str
    maxBins: int


@dataclasses.dataclass(frozen=True)
class ForestParams:
    """The random forest's hyperparameters (Spark names in :meth:`spark_params`). A forest
    averages its trees' log prices: no rounds, no early stopping."""

    num_trees: int = 20
    max_depth: int = 5
    min_instances_per_node: int = 1
    feature_subset_strategy: str = "auto"
    max_bins: int = 40

    family: ClassVar[LearnerFamily] = LearnerFamily.RANDOM_FOREST
    early_stopping: ClassVar[bool] = False

    def with_max_bins_at_least(self, bins: int) -> ForestParams:
        """Spark's trees need ``maxBins`` >= the number of values of every categorical feature."""
        return dataclasses.replace(self, max_bins=max(self.max_bins, bins))

    def spark_params(self) -> SparkForestParams:
        return {
            "numTrees": self.num_trees,
            "maxDepth": self.max_depth,
            "minInstancesPerNode": self.min_instances_per_node,
            "featureSubsetStrategy": self.feature_subset_strategy,
            "maxBins": self.max_bins,
        }

    def estimator(self, seed: int, early_stopping_column: str | None = None) -> Estimator[Any]:
        return RandomForestRegressor(
            featuresCol=FEATURES_VECTOR,
            labelCol=LABEL,
            predictionCol=MODEL_OUTPUT,
            seed=seed,
            **self.spark_params(),
        )

    def with_rounds(self, rounds: int) -> ForestParams:
        return self


# Spark's GBT on log1p(price) with leaves of a single listing predicts thousands for a $200
# listing now and then; five listings per leaf at least keeps it sane.
GBT_MIN_INSTANCES_PER_NODE = 5


@dataclasses.dataclass(frozen=True)
class GBTParams:
    """Spark's gradient-boosted trees: ``max_iter`` is the most rounds; with early stopping the
    fitted model has as many trees as the held-back slice of training rows asked for."""

    max_iter: int = 30
    max_depth: int = 4
    step_size: float = 0.1
    min_instances_per_node: int = GBT_MIN_INSTANCES_PER_NODE
    subsampling_rate: float = 0.8
    loss_type: str = "squared"  # or "absolute"
    max_bins: int = 40

    family: ClassVar[LearnerFamily] = LearnerFamily.GBT
    early_stopping: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.min_instances_per_node < GBT_MIN_INSTANCES_PER_NODE:
            raise ValueError(
                f"GBT min_instances_per_node must be at least {GBT_MIN_INSTANCES_PER_NODE}, "
                f"got {self.min_instances_per_node}"
            )
        if self.loss_type not in ("squared", "absolute"):
            raise ValueError(f"GBT loss_type must be 'squared' or 'absolute', got {self.loss_type!r}")

    def with_max_bins_at_least(self, bins: int) -> GBTParams:
        return dataclasses.replace(self, max_bins=max(self.max_bins, bins))

    def spark_params(self) -> dict[str, Any]:
        return {
            "maxIter": self.max_iter,
            "maxDepth": self.max_depth,
            "stepSize": self.step_size,
            "minInstancesPerNode": self.min_instances_per_node,
            "subsamplingRate": self.subsampling_rate,
            "lossType": self.loss_type,
            "maxBins": self.max_bins,
        }

    def estimator(self, seed: int, early_stopping_column: str | None = None) -> Estimator[Any]:
        gbt = GBTRegressor(
            featuresCol=FEATURES_VECTOR,
            labelCol=LABEL,
            predictionCol=MODEL_OUTPUT,
            seed=seed,
            **self.spark_params(),
        )
        if early_stopping_column is not None:
            # Spark stops at the first round that improves the held-back error by less than
            # validationTol (relative); its default, 0.01, stopped after 6 to 9 rounds on the
            # real listings. 0: stop at the first round that does not improve it at all.
            gbt.setValidationIndicatorCol(early_stopping_column)
            gbt.set(gbt.validationTol, 0.0)
        return gbt

    def with_rounds(self, rounds: int) -> GBTParams:
        return dataclasses.replace(self, max_iter=rounds)


XGBOOST_OBJECTIVES = ("reg:quantileerror", "reg:absoluteerror")
# Rounds without improvement on the held-back slice before XGBoost stops.
XGBOOST_EARLY_STOPPING_ROUNDS = 50


@dataclasses.dataclass(frozen=True)
class XGBoostParams:
    """XGBoost's Spark estimator with a median-type objective on the label: the quantile 0.5
    (``reg:quantileerror``) or absolute error. ``n_estimators`` is the most rounds."""

    objective: str = "reg:quantileerror"
    n_estimators: int = 200
    max_depth: int = 6
    learning_rate: float = 0.05
    min_child_weight: float = 3.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0

    family: ClassVar[LearnerFamily] = LearnerFamily.XGBOOST
    early_stopping: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.objective not in XGBOOST_OBJECTIVES:
            raise ValueError(f"XGBoost objective must be one of {XGBOOST_OBJECTIVES}, got {self.objective!r}")

    def with_max_bins_at_least(self, bins: int) -> XGBoostParams:
        return self  # histogram bins are XGBoost's own business; categories are indices here

    def spark_params(self) -> dict[str, Any]:
        quantile = {"quantile_alpha": 0.5} if self.objective == "reg:quantileerror" else {}
        return {
            "objective": self.objective,
            **quantile,
            "n_estimators": self.n_estimators,
            "max_depth": self.max_depth,
            "learning_rate": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "reg_lambda": self.reg_lambda,
        }

    def estimator(self, seed: int, early_stopping_column: str | None = None) -> Estimator[Any]:
        from xgboost.spark import SparkXGBRegressor  # about a second of imports, training only

        stopping: dict[str, Any] = (
            {}
            if early_stopping_column is None
            else {
                "validation_indicator_col": early_stopping_column,
                "early_stopping_rounds": XGBOOST_EARLY_STOPPING_ROUNDS,
            }
        )
        return SparkXGBRegressor(
            features_col=FEATURES_VECTOR,
            label_col=LABEL,
            prediction_col=MODEL_OUTPUT,
            random_state=seed,
            num_workers=1,
            verbose=False,  # no line per round in the run's log when it watches the held-back rows
            **self.spark_params(),
            **stopping,
        )

    def with_rounds(self, rounds: int) -> XGBoostParams:
        return dataclasses.replace(self, n_estimators=rounds)


LearnerParams = ForestParams | GBTParams | XGBoostParams


def families_supported_by(spark_connect: bool) -> tuple[LearnerFamily, ...]:
    """The families a session can train, save and load: all on a classic session (local or a
    standalone cluster), all but XGBoost over Spark Connect."""
    if spark_connect:
        return (LearnerFamily.RANDOM_FOREST, LearnerFamily.GBT)
    return tuple(LearnerFamily)


def build_price_pipeline(
    params: LearnerParams, transform: TargetTransform, seed: int, early_stopping_column: str | None = None
) -> Pipeline:
    """The unfitted pipeline; fit it on rows with a ``label`` column (see :func:`label_column`).
    With ``early_stopping_column``, a learner that stops early watches the rows where that
    boolean column is true and learns from the others."""
    indexed = [f"{column}{INDEX_SUFFIX}" for column in CATEGORICAL_FEATURES]
    return Pipeline(
        stages=[
            StringIndexer(
                inputCols=list(CATEGORICAL_FEATURES),
                outputCols=indexed,
                handleInvalid="skip",
                stringOrderType="frequencyDesc",
            ),
            # "skip" too: a row with a missing number is left out, like one with an unseen category.
            VectorAssembler(
                inputCols=[*indexed, *NUMERIC_FEATURES], outputCol=FEATURES_VECTOR, handleInvalid="skip"
            ),
            params.estimator(seed, early_stopping_column),
            SQLTransformer(statement=_inverse_statement(transform)),
        ]
    )


def largest_category_count(df: DataFrame) -> int:
    """The number of distinct values of the most varied categorical feature in ``df``."""
    counts = single_row(df.agg(*[F.countDistinct(column).alias(column) for column in CATEGORICAL_FEATURES]))
    return max(int(counts[column]) for column in CATEGORICAL_FEATURES)


def category_labels(model: PipelineModel) -> dict[str, list[str]]:
    """The categories the fitted model knows, per categorical column."""
    indexer = next(stage for stage in model.stages if isinstance(stage, StringIndexerModel))
    return dict(zip(indexer.getInputCols(), (list(labels) for labels in indexer.labelsArray), strict=True))


def unscorable_condition(model: PipelineModel) -> Column:
    """True for a row the model skips: a category it never saw, or a missing feature value."""
    unseen = [
        F.col(column).isNull() | ~F.col(column).isin(labels)
        for column, labels in category_labels(model).items()
    ]
    missing = [F.col(column).isNull() | F.isnan(F.col(column).cast("double")) for column in NUMERIC_FEATURES]
    return reduce(or_, [*unseen, *missing])


def unscorable_rows(model: PipelineModel, df: DataFrame) -> DataFrame:
    """The rows of ``df`` that ``model.transform`` leaves out."""
    return df.where(unscorable_condition(model))


def learner_stage(model: PipelineModel) -> Any:
    """The fitted learner of the pipeline (a forest, GBT or XGBoost model)."""
    return model.stages[_LEARNER_STAGE]


def fitted_rounds(model: PipelineModel) -> int | None:
    """The boosting rounds the fitted learner kept (early stopping may have cut them), or None
    for a forest."""
    learner = learner_stage(model)
    if isinstance(learner, GBTRegressionModel):
        return int(learner.getNumTrees)
    if hasattr(learner, "get_booster"):
        booster = learner.get_booster()
        best = booster.attr("best_iteration")
        return int(best) + 1 if best is not None else int(booster.num_boosted_rounds())
    return None


def feature_importances(model: PipelineModel) -> list[tuple[str, float]]:
    """(feature column, importance) of the fitted learner, most important first, summing to 1:
    Spark's impurity-based importances for its trees, total gain for XGBoost."""
    assembler = next(stage for stage in model.stages if isinstance(stage, VectorAssembler))
    names = [column.removesuffix(INDEX_SUFFIX) for column in assembler.getInputCols()]
    learner = learner_stage(model)
    if hasattr(learner, "featureImportances"):
        importances = learner.featureImportances.toArray().tolist()
    else:
        # XGBoost names the vector's features f0, f1, ...; a feature no tree split on is absent.
        gains = learner.get_booster().get_score(importance_type="total_gain")
        importances = [float(gains.get(f"f{index}", 0.0)) for index in range(len(names))]
    total = sum(importances)
    if total > 0:
        importances = [value / total for value in importances]
    return sorted(zip(names, importances, strict=True), key=lambda pair: pair[1], reverse=True)
