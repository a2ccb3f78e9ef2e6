"""Scoring a day of gold with the champion model, and finding the rows it could not score.

The pipeline skips rows with a category it never saw (``handleInvalid="skip"``), so its output
has fewer rows than its input. Which rows went missing is found by joining on ``listing_id``
(gold has one row per listing and day), and why, by comparing each categorical value with the
labels the fitted ``StringIndexer`` knows. Every gold row therefore lands in exactly one of
``daily_predictions`` and ``unseen_listings``, which :func:`coverage` counts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from pyspark.ml import PipelineModel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from mlvp_assets.delta_tables import read_partition, replace_partition, single_row, upsert
from mlvp_assets.ml.features import NUMERIC_FEATURES, PREDICTION, TARGET, category_labels
from mlvp_assets.ml.registry import CHAMPION, load_version
from mlvp_assets.schema import LISTING_ID, PARTITION_COLUMN

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

UNSEEN_FEATURES = "unseen_features"  # map: column -> the value the model did not know
MISSING_VALUE = "<missing>"
PREDICTION_COLUMNS: tuple[str, ...] = (
    LISTING_ID,
    PARTITION_COLUMN,
    PREDICTION,
    TARGET,
    "model_name",
    "model_version",
    "model_run_id",
    "scored_at",
)


@dataclasses.dataclass(frozen=True)
class Champion:
    """A registered model version that scores (the one behind ``models:/<name>@champion`` when it
    was resolved) and its test error at training time."""

    name: str
    version: str
    run_id: str
    model: PipelineModel
    test_mae: float | None
    test_rmse: float | None
    # The figures the full evaluation added; None for a run logged before it.
    test_median_ae: float | None = None
    test_mae_under_1000: float | None = None
    test_mae_1000_and_above: float | None = None


def champion_version(client: MlflowClient, name: str) -> tuple[str, str]:
    """(version, run id) of the champion; fails saying how to get one when there is none."""
    from mlflow.exceptions import MlflowException

    try:
        version = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException as error:
        raise LookupError(
            f"registered model {name!r} has no {CHAMPION!r} version in the MLflow registry at "
            f"{client.tracking_uri}: run training_job (price_model and its promotion check) first"
        ) from error
    return str(version.version), str(version.run_id)


def load_registered_version(
    client: MlflowClient, name: str, version: str, run_id: str | None = None
) -> Champion:
    """Version ``version`` of ``name``: its model and the test error its training run logged."""
    run_id = run_id or str(client.get_model_version(name, version).run_id)
    metrics = client.get_run(run_id).data.metrics
    return Champion(
        name=name,
        version=version,
        run_id=run_id,
        model=load_version(client, name, version),
        test_mae=metrics.get("test_mae"),
        test_rmse=metrics.get("test_rmse"),
        test_median_ae=metrics.get("test_median_ae"),
        test_mae_under_1000=metrics.get("test_mae_under_1000"),
        test_mae_1000_and_above=metrics.get("test_mae_1000_and_above"),
    )


def load_champion(name: str, client: MlflowClient) -> Champion:
    """Resolve the alias once and load that exact version, so what is recorded is what scored."""
    version, run_id = champion_version(client, name)
    return load_registered_version(client, name, version, run_id)


def score_listings(champion: Champion, gold: DataFrame, scored_at: dt.datetime) -> DataFrame:
    """One row per scored gold row: the prediction, the actual price and which model made it."""
    return champion.model.transform(gold).select(
        LISTING_ID,
        PARTITION_COLUMN,
        F.col(PREDICTION).cast("double").alias(PREDICTION),
        F.col(TARGET).cast("double").alias(TARGET),
        F.lit(champion.name).alias("model_name"),
        F.lit(int(champion.version)).alias("model_version"),
        F.lit(champion.run_id).alias("model_run_id"),
        F.lit(scored_at).cast("timestamp").alias("scored_at"),
    )


def _unseen_entries(model: PipelineModel) -> list[Column]:
    """Per feature, a (column, value) struct when the row's value is unknown to the model, else null."""
    entries = [
        F.when(F.col(column).isNull() | ~F.col(column).isin(labels), F.struct(
            F.lit(column).alias("column"),
            F.coalesce(F.col(column).cast("string"), F.lit(MISSING_VALUE)).alias("value"),
        ))
        for column, labels in category_labels(model).items()
    ]  # fmt: skip
    entries += [
        F.when(F.col(column).isNull() | F.isnan(F.col(column).cast("double")), F.struct(
            F.lit(column).alias("column"), F.lit(MISSING_VALUE).alias("value")
        ))
        for column in NUMERIC_FEATURES
    ]  # fmt: skip
    return entries


def unseen_listings(
    champion: Champion, gold: DataFrame, predictions: DataFrame, recorded_at: dt.datetime
) -> DataFrame:
    """The gold rows missing from ``predictions`` (joined on listing_id and day), with the map of
    the feature values the model did not know. A row missing for another reason would have an
    empty map; :func:`coverage` counts those."""
    skipped = gold.join(
        predictions.select(LISTING_ID, PARTITION_COLUMN), [LISTING_ID, PARTITION_COLUMN], "left_anti"
    )
    entries = F.filter(F.array(*_unseen_entries(champion.model)), lambda entry: entry.isNotNull())
    return skipped.select(
        LISTING_ID,
        PARTITION_COLUMN,
        F.map_from_entries(entries).alias(UNSEEN_FEATURES),
        *[column for column in gold.columns if column not in (LISTING_ID, PARTITION_COLUMN)],
        F.lit(champion.name).alias("model_name"),
        F.lit(int(champion.version)).alias("model_version"),
        F.lit(recorded_at).cast("timestamp").alias("recorded_at"),
    )


@dataclasses.dataclass(frozen=True)
class Coverage:
    """How a day's gold rows split between predictions and unseen rows, by listing_id."""

    gold_rows: int
    predicted_rows: int
    unseen_rows: int
    in_neither: int  # gold rows neither predicted nor recorded as unseen
    in_both: int  # gold rows both predicted and recorded as unseen
    unexplained_unseen: int  # unseen rows with no unknown feature value to explain them
    not_in_gold: int  # predicted or unseen rows whose listing is not in the day's gold

    @property
    def complete(self) -> bool:
        return (
            self.in_neither == 0
            and self.in_both == 0
            and self.unexplained_unseen == 0
            and self.not_in_gold == 0
            and self.gold_rows == self.predicted_rows + self.unseen_rows
        )

    @property
    def unseen_share(self) -> float:
        return self.unseen_rows / self.gold_rows if self.gold_rows else 0.0


def coverage(gold: DataFrame, predictions: DataFrame, unseen: DataFrame) -> Coverage:
    """Every gold row must be in exactly one of ``predictions`` and ``unseen``: count by listing_id."""
    keys = [LISTING_ID, PARTITION_COLUMN]
    marked = (
        gold.select(*keys, F.lit(True).alias("in_gold"))
        .join(predictions.select(*keys, F.lit(True).alias("predicted")), keys, "full_outer")
        .join(
            unseen.select(*keys, F.lit(True).alias("unseen"), F.size(UNSEEN_FEATURES).alias("reasons")),
            keys,
            "full_outer",
        )
    )
    row = single_row(
        marked.agg(
            F.count_if(F.col("in_gold")).alias("gold_rows"),
            F.count_if(F.col("predicted")).alias("predicted_rows"),
            F.count_if(F.col("unseen")).alias("unseen_rows"),
            F.count_if(F.col("in_gold") & F.col("predicted").isNull() & F.col("unseen").isNull()).alias(
                "in_neither"
            ),
            F.count_if(F.col("predicted") & F.col("unseen")).alias("in_both"),
            F.count_if(F.col("unseen") & (F.col("reasons") == 0)).alias("unexplained_unseen"),
            F.count_if(F.col("in_gold").isNull()).alias("not_in_gold"),
        )
    )
    return Coverage(**{field.name: int(row[field.name] or 0) for field in dataclasses.fields(Coverage)})


def top_unseen_values(unseen: DataFrame, limit: int = 10) -> list[dict[str, object]]:
    """The most frequent (column, value) pairs the model did not know."""
    rows = (
        unseen.select(F.explode(UNSEEN_FEATURES).alias("column", "value"))
        .groupBy("column", "value")
        .count()
        .orderBy(F.desc("count"), "column", "value")
        .limit(limit)
        .collect()
    )
    return [{"column": row["column"], "value": row["value"], "rows": int(row["count"])} for row in rows]


@dataclasses.dataclass(frozen=True)
class ScoredDay:
    """What scoring a day wrote: its rows of both tables as stored, and how they cover gold."""

    predictions: DataFrame
    unseen: DataFrame
    coverage: Coverage
    top_unseen_values: list[dict[str, object]]


def score_day(
    spark: SparkSession,
    champion: Champion,
    day: dt.date,
    paths: tuple[str, str, str],
    scored_at: dt.datetime,
) -> ScoredDay:
    """Score the day's gold rows with ``champion``: replace the day in ``daily_predictions``, upsert
    the rows it could not score into ``unseen_listings`` (a re-run leaves no stale row of the day),
    and count that every gold row landed in exactly one. ``paths``: gold, predictions, unseen."""
    gold_path, predictions_path, unseen_path = paths
    gold = read_partition(spark, gold_path, day).cache()
    try:
        replace_partition(score_listings(champion, gold, scored_at), predictions_path, day)
        predictions = read_partition(spark, predictions_path, day)
        upsert(
            spark,
            unseen_listings(champion, gold, predictions, scored_at),
            unseen_path,
            keys=(LISTING_ID, PARTITION_COLUMN),
            partition_by=(PARTITION_COLUMN,),
            delete_unmatched_where=f"t.{PARTITION_COLUMN} = DATE'{day.isoformat()}'",
            day=day,
        )
        unseen = read_partition(spark, unseen_path, day)
        return ScoredDay(predictions, unseen, coverage(gold, predictions, unseen), top_unseen_values(unseen))
    finally:
        gold.unpersist()
