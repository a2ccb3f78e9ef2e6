"""What the price model sees and how its Spark ML ``Pipeline`` is built.

The pipeline is made to survive new data:

* one ``StringIndexer`` over the categorical columns with ``handleInvalid="skip"``: a row with a
  category the model never saw (a new neighbourhood) is not scored rather than scored wrongly;
  :func:`unscorable_rows` finds exactly those rows, so they can be counted and reported;
* a ``VectorAssembler`` over the training features only, so extra input columns are ignored;
* a ``RandomForestRegressor`` fitted on the label scale, and a last stage that turns its output
  back into a price, so the logged model predicts dollars whatever the target transformation.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from functools import reduce
from operator import or_
from typing import TypedDict

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import SQLTransformer, StringIndexer, StringIndexerModel, VectorAssembler
from pyspark.ml.regression import RandomForestRegressor
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


class SparkForestParams(TypedDict):
    """:class:`ForestParams` under the names of Spark's ``RandomForestRegressor``."""

    numTrees: int
    maxDepth: int
    minInstancesPerNode: int
    featureSubsetStrategy: str
    maxBins: int


@dataclasses.dataclass(frozen=True)
class ForestParams:
    """The random forest's hyperparameters (Spark names in :meth:`spark_params`)."""

    num_trees: int = 20
    max_depth: int = 5
    min_instances_per_node: int = 1
    feature_subset_strategy: str = "auto"
    max_bins: int = 40

    def with_max_bins_at_least(self, bins: int) -> ForestParams:
        """Spark's forest needs ``maxBins`` >= the number of values of every categorical feature."""
        return dataclasses.replace(self, max_bins=max(self.max_bins, bins))

    def spark_params(self) -> SparkForestParams:
        return {
            "numTrees": self.num_trees,
            "maxDepth": self.max_depth,
            "minInstancesPerNode": self.min_instances_per_node,
            "featureSubsetStrategy": self.feature_subset_strategy,
            "maxBins": self.max_bins,
        }


def build_price_pipeline(params: ForestParams, transform: TargetTransform, seed: int) -> Pipeline:
    """The unfitted pipeline; fit it on rows with a ``label`` column (see :func:`label_column`)."""
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
            RandomForestRegressor(
                featuresCol=FEATURES_VECTOR,
                labelCol=LABEL,
                predictionCol=MODEL_OUTPUT,
                seed=seed,
                **params.spark_params(),
            ),
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


def feature_importances(model: PipelineModel) -> list[tuple[str, float]]:
    """(feature column, importance) of the fitted forest, most important first."""
    assembler = next(stage for stage in model.stages if isinstance(stage, VectorAssembler))
    forest = next(stage for stage in model.stages if hasattr(stage, "featureImportances"))
    names = [column.removesuffix(INDEX_SUFFIX) for column in assembler.getInputCols()]
    importances = forest.featureImportances.toArray().tolist()
    return sorted(zip(names, importances, strict=True), key=lambda pair: pair[1], reverse=True)
