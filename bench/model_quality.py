"""Price model quality on the real San Francisco listings (../shared/data/sf-airbnb-clean.parquet).

For each split seed (1, 2, 3 by default) the 20 % test split is drawn exactly as the reference
figures in ../shared/data/README.md draw it (``randomSplit([0.8, 0.2], seed)`` on the 24 mission
columns), so the median baseline printed here must equal the README's (124.6, 113.6, 118.4).
The other 80 % is split into train and validation by the project's listing hash; hyperopt tunes
on validation only, the final model is refit on train + validation, and the test split is
scored once. The rows are typed exactly like ``gold_listings`` and checked against the
``GoldListing`` contract first.

Beside the project's model, a reference learner (:func:`reference_predictions`, LightGBM with a
median objective on log prices, early-stopped on the validation rows) is trained on the same train
rows of the same training set and scored on the same test rows: those the project's model scores
(rows matching ``unscorable_condition`` are left out of both figures). ``mae_ratio`` is the
project's test MAE over the reference's. The last line printed is one JSON object (``mean_mae``,
``mean_r2``, ``mean_mae_ratio``, ``seeds``, ``minutes``); the exit status is 0 when the targets
hold (mean ``mae_ratio`` <= 1.02, mean test MAE <= 69.5, the whole bench within 25 minutes), else 1.

    python bench/model_quality.py                 # the prod search (PROD_PRICE_MODEL_CONFIG)
    python bench/model_quality.py --max-evals 8   # a smaller budget
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from mlvp_assets.gold.transform import enrich_listings
from mlvp_assets.ml.features import CATEGORICAL_FEATURES, FEATURE_COLUMNS, PREDICTION, TARGET
from mlvp_assets.ml.training import (
    SPLIT_COLUMN,
    TEST,
    TRAIN,
    VALIDATION,
    TrainedPriceModel,
    TrainingSettings,
    split_bucket,
    train_price_model,
)
from mlvp_assets.quality.contracts import GoldListing, contract_errors
from mlvp_assets.schema import LISTING_ID, LONG_COLUMNS, MISSION_COLUMNS, PARTITION_COLUMN

# OpenMP threads that spin while they wait make LightGBM on two threads 15-25 times slower on
# two cores other work also uses (measured: 40 s instead of 1.6 s for 300 rounds on 2,000 rows).
# libgomp reads the policy once, when importing lightgbm loads it; the setting is taken back
# at once so that Spark, started later from this process, does not inherit it. A policy the
# environment sets is left as it is.
_PASSIVE_WAIT = "OMP_WAIT_POLICY" not in os.environ
if _PASSIVE_WAIT:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
try:
    import lightgbm as lgb
except ModuleNotFoundError as error:
    raise SystemExit(
        "bench/model_quality.py needs LightGBM, the project's `bench` extra: `make bench` installs it "
        "(or: uv pip install --constraint constraints.txt --editable '.[bench]')"
    ) from error
finally:
    if _PASSIVE_WAIT:
        del os.environ["OMP_WAIT_POLICY"]

REAL_LISTINGS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sf-airbnb-clean.parquet"
SEEDS = (1, 2, 3)
VALIDATION_FRACTION = 0.2
SCRAPE_DAY = dt.date(2019, 3, 6)
# Issue 13: the project's model within 2 % of the reference's test MAE on the same rows, a mean
# test MAE of at most 69.5 (../shared/data/README.md's estimate for a tuned forest on these splits) and
# the whole bench within 25 minutes on two cores. R2 is reported, not targeted: on the price
# scale it swings between splits with a few listings at $8,000-10,000.
TARGET_MAE_RATIO, TARGET_MAE, TARGET_MINUTES = 1.02, 69.5, 25.0

# The reference learner's fixed settings: common defaults for a table of a few thousand rows,
# not tuned on these splits; only the number of rounds is chosen, on the validation rows.
REFERENCE_SEED = 42
REFERENCE_MAX_ROUNDS = 2000
REFERENCE_EARLY_STOPPING_ROUNDS = 100
REFERENCE_PARAMS: dict[str, object] = {
    "objective": "quantile",
    "alpha": 0.5,
    "metric": "quantile",
    "learning_rate": 0.04,
    "num_leaves": 31,
    "min_data_in_leaf": 20,
    "seed": REFERENCE_SEED,
    "deterministic": True,
    # LightGBM's documentation: set one of force_col_wise / force_row_wise with deterministic.
    "force_col_wise": True,
    "num_threads": 2,
    "verbose": -1,
}

_ROW = "_row"


def _listing_id(row_number: F.Column) -> F.Column:
    return F.format_string("R%06d", row_number)


def real_gold(spark: SparkSession, path: Path) -> DataFrame:
    """The real listings as gold rows; ``listing_id`` is the row number in the file."""
    raw = spark.read.parquet(str(path))
    typed = raw.select(
        _listing_id(F.monotonically_increasing_id()).alias(LISTING_ID),
        *[
            F.col(column).cast("long").alias(column) if column in LONG_COLUMNS else F.col(column)
            for column in MISSION_COLUMNS
        ],
        F.lit(SCRAPE_DAY).alias(PARTITION_COLUMN),
    )
    return enrich_listings(typed)


def reference_test_ids(spark: SparkSession, path: Path, seed: int) -> DataFrame:
    """The listing ids of the README's test split for ``seed``.

    ``randomSplit`` sorts each partition by all columns before sampling, so it is drawn on the
    README's 24 columns; the row number comes last and only orders rows identical in all 24.
    """
    mission = (
        spark.read.parquet(str(path))
        .select(*MISSION_COLUMNS)
        .withColumn(_ROW, F.monotonically_increasing_id())
    )
    _, test = mission.randomSplit([0.8, 0.2], seed=seed)
    return test.select(_listing_id(F.col(_ROW)).alias(LISTING_ID))


def reference_training_set(gold: DataFrame, test_ids: DataFrame, seed: int) -> DataFrame:
    test = gold.join(test_ids, LISTING_ID, "left_semi").withColumn(SPLIT_COLUMN, F.lit(TEST))
    rest = gold.join(test_ids, LISTING_ID, "left_anti").withColumn(
        SPLIT_COLUMN,
        F.when(split_bucket(seed) < VALIDATION_FRACTION, F.lit(VALIDATION)).otherwise(F.lit(TRAIN)),
    )
    return test.unionByName(rest)


# --- the reference learner -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ReferenceFit:
    """The reference learner's prices for the test rows (indexed like them) and its rounds."""

    prices: pd.Series
    best_rounds: int  # the rounds kept: those with the best validation score
    rounds_run: int  # the rounds trained before early stopping ended the training


def _reference_features(rows: pd.DataFrame, categories: dict[str, list[str]]) -> pd.DataFrame:
    """The feature columns, categorical ones as pandas categories of the training rows (a value
    the training rows lack becomes missing, which LightGBM sends down a branch like any other)."""
    features = rows.loc[:, list(FEATURE_COLUMNS)].copy()
    for column in CATEGORICAL_FEATURES:
        features[column] = pd.Categorical(features[column], categories=categories[column])
    return features


def reference_predictions(train: pd.DataFrame, validation: pd.DataFrame, test: pd.DataFrame) -> ReferenceFit:
    """Prices for ``test`` from LightGBM, the yardstick the project's model is measured against.

    It exists so that the bench can say how far the project's model is from what this feature
    set allows, not only how far from a median: a gradient-boosted median of log1p(price)
    (objective quantile, alpha 0.5), the kind of model that did best on these listings outside
    the project (../shared/data/README.md). It sees the same rows the project's model trains on
    and the same features (``FEATURE_COLUMNS``; ``CATEGORICAL_FEATURES`` as categories of the
    ``train`` rows, numbers as they are). Its parameters are fixed (``REFERENCE_PARAMS``,
    deterministic on two threads); the only choice, the number of rounds, is made by early
    stopping on ``validation``. ``test`` is only predicted. It fits on ``train`` alone, where the
    project's final model is refit on train + validation: a ratio near 1 leans slightly to the
    project's side. Each frame needs ``FEATURE_COLUMNS``;
    ``train`` and ``validation`` need ``price`` too.
    """
    categories = {
        column: sorted(str(value) for value in train[column].dropna().unique())
        for column in CATEGORICAL_FEATURES
    }
    train_set = lgb.Dataset(
        _reference_features(train, categories),
        label=np.log1p(train[TARGET].to_numpy(dtype=float)),
        categorical_feature=list(CATEGORICAL_FEATURES),
    )
    validation_set = lgb.Dataset(
        _reference_features(validation, categories),
        label=np.log1p(validation[TARGET].to_numpy(dtype=float)),
        reference=train_set,
    )
    scores: dict[str, dict[str, list[float]]] = {}
    booster = lgb.train(
        dict(REFERENCE_PARAMS),
        train_set,
        num_boost_round=REFERENCE_MAX_ROUNDS,
        valid_sets=[validation_set],
        valid_names=[VALIDATION],
        callbacks=[
            lgb.early_stopping(REFERENCE_EARLY_STOPPING_ROUNDS, verbose=False),
            lgb.record_evaluation(scores),
        ],
    )
    log_prices = booster.predict(_reference_features(test, categories), num_iteration=booster.best_iteration)
    return ReferenceFit(
        prices=pd.Series(np.expm1(np.asarray(log_prices, dtype=float)), index=test.index, name=PREDICTION),
        best_rounds=booster.best_iteration,
        # The booster keeps every round it trained; the recorded validation scores count them.
        rounds_run=len(scores[VALIDATION][str(REFERENCE_PARAMS["metric"])]),
    )


# --- scoring ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PriceMetrics:
    """MAE, RMSE and R2 on the price scale over ``rows`` rows, defined as the project's
    ``regression_metrics`` (R2 = 1 - SSE / SST, as Spark's RegressionEvaluator)."""

    mae: float
    rmse: float
    r2: float
    rows: int


def price_metrics(actual: pd.Series, predicted: pd.Series) -> PriceMetrics:
    actual_values = actual.to_numpy(dtype=float)
    error = predicted.to_numpy(dtype=float) - actual_values
    if len(error) == 0:
        raise ValueError("no rows to compute metrics on")
    total = float(np.sum((actual_values - actual_values.mean()) ** 2))
    return PriceMetrics(
        mae=float(np.mean(np.abs(error))),
        rmse=math.sqrt(float(np.mean(error**2))),
        r2=1 - float(np.sum(error**2)) / total if total > 0 else math.nan,
        rows=len(error),
    )


@dataclasses.dataclass(frozen=True)
class TestComparison:
    """The project's model and the reference on one split's test rows."""

    test_rows: int
    project: PriceMetrics  # on the test rows the project's model scores
    reference: PriceMetrics  # on the same rows
    reference_every_row: PriceMetrics  # on every test row
    median: PriceMetrics  # the median price of train + validation, on every test row
    reference_fit: ReferenceFit
    reference_seconds: float

    @property
    def mae_ratio(self) -> float:
        return self.project.mae / self.reference.mae


_PROJECT = "project_prediction"


def compare_on_test_rows(training_set: DataFrame, trained: TrainedPriceModel) -> TestComparison:
    """The project's model and the reference on one training set's test rows.

    The reference trains on the same train / validation rows; both are scored on the test rows
    ``trained.model`` scores (it leaves out rows matching ``unscorable_condition``), so that
    neither figure gains or loses from rows the other never predicted.
    """
    rows = (
        training_set.select(LISTING_ID, SPLIT_COLUMN, *FEATURE_COLUMNS, TARGET)
        .toPandas()
        # A fixed order: LightGBM is deterministic for a given order of its rows.
        .sort_values(LISTING_ID, ignore_index=True)
    )
    train, validation, test = (
        rows[rows[SPLIT_COLUMN] == split].reset_index(drop=True) for split in (TRAIN, VALIDATION, TEST)
    )
    scored = (
        trained.model.transform(training_set.where(F.col(SPLIT_COLUMN) == TEST))
        .select(LISTING_ID, F.col(PREDICTION).alias(_PROJECT))
        .toPandas()
    )
    test = test.merge(scored, on=LISTING_ID, how="left", validate="one_to_one", indicator=True)
    common = test["_merge"] == "both"
    started = time.perf_counter()
    reference = reference_predictions(train, validation, test)
    reference_seconds = time.perf_counter() - started
    median_price = float(pd.concat([train[TARGET], validation[TARGET]]).median())
    return TestComparison(
        test_rows=len(test),
        project=price_metrics(test.loc[common, TARGET], test.loc[common, _PROJECT]),
        reference=price_metrics(test.loc[common, TARGET], reference.prices[common]),
        reference_every_row=price_metrics(test[TARGET], reference.prices),
        median=price_metrics(test[TARGET], pd.Series(median_price, index=test.index)),
        reference_fit=reference,
        reference_seconds=reference_seconds,
    )


@dataclasses.dataclass(frozen=True)
class SeedResult:
    seed: int
    trained: TrainedPriceModel
    seconds: float  # the project's tuning, refit and scoring
    comparison: TestComparison


def evaluate_on_real_data(
    spark: SparkSession, path: Path, settings: TrainingSettings, seeds: Sequence[int] = SEEDS
) -> list[SeedResult]:
    """Tune, refit and score the price model once per split seed, and the reference learner on
    the same rows. Trials are logged to a throwaway SQLite MLflow backend; the tracking URI is
    restored afterwards."""
    import mlflow

    gold = real_gold(spark, path).cache()
    failures = contract_errors(GoldListing, gold)
    if failures:
        raise ValueError(f"the real listings do not honour the GoldListing contract: {failures}")
    previous_uri = mlflow.get_tracking_uri()
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        mlflow.set_tracking_uri(f"sqlite:///{scratch}/bench.db")
        mlflow.set_experiment("bench_airbnb_price")
        try:
            for seed in seeds:
                training_set = reference_training_set(
                    gold, reference_test_ids(spark, path, seed), seed
                ).cache()
                started = time.perf_counter()
                with mlflow.start_run(run_name=f"split-seed-{seed}"):
                    trained = train_price_model(training_set, dataclasses.replace(settings, seed=seed))
                seconds = time.perf_counter() - started
                results.append(
                    SeedResult(seed, trained, seconds, compare_on_test_rows(training_set, trained))
                )
                training_set.unpersist()
        finally:
            mlflow.set_tracking_uri(previous_uri)
    gold.unpersist()
    return results


def report(results: Sequence[SeedResult]) -> str:
    lines = [
        f"{'seed':>4} {'test rows':>9} {'scored':>6} {'MAE':>6} {'RMSE':>6} {'R2':>6} "
        f"{'ref MAE':>7} {'ref RMSE':>8} {'ref R2':>6} {'mae_ratio':>9} {'median MAE':>10} "
        f"{'ref rounds':>10} {'seconds':>7} {'ref s':>5}  best parameters"
    ]
    for result in results:
        c = result.comparison
        lines.append(
            f"{result.seed:>4} {c.test_rows:>9} {c.project.rows:>6} "
            f"{c.project.mae:>6.1f} {c.project.rmse:>6.1f} {c.project.r2:>6.3f} "
            f"{c.reference.mae:>7.1f} {c.reference.rmse:>8.1f} {c.reference.r2:>6.3f} "
            f"{c.mae_ratio:>9.3f} {c.median.mae:>10.1f} {c.reference_fit.best_rounds:>10} "
            f"{result.seconds:>7.0f} {c.reference_seconds:>5.1f}  {result.trained.params}"
        )
    comparisons = [result.comparison for result in results]
    mean = statistics.mean
    lines.append(
        f"mean: MAE {mean(c.project.mae for c in comparisons):.1f}, "
        f"RMSE {mean(c.project.rmse for c in comparisons):.1f}, "
        f"R2 {mean(c.project.r2 for c in comparisons):.3f}; "
        f"reference MAE {mean(c.reference.mae for c in comparisons):.1f}, "
        f"RMSE {mean(c.reference.rmse for c in comparisons):.1f}, "
        f"R2 {mean(c.reference.r2 for c in comparisons):.3f}; "
        f"mae_ratio {mean(c.mae_ratio for c in comparisons):.3f}; "
        f"median baseline MAE {mean(c.median.mae for c in comparisons):.1f}"
    )
    lines.append(
        f"Both models are scored on the same rows: the test rows the project's model scores "
        f"({sum(c.project.rows for c in comparisons)} of {sum(c.test_rows for c in comparisons)}; "
        "rows matching unscorable_condition, an unseen category or a missing value, are left out "
        "of both). The reference on every test row: MAE "
        + ", ".join(f"{c.reference_every_row.mae:.1f}" for c in comparisons)
        + ". The median baseline is on every test row."
    )
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class Summary:
    mean_mae: float
    mean_r2: float
    mean_mae_ratio: float
    mean_reference_mae: float
    seeds: list[int]
    minutes: float

    def misses(self) -> list[str]:
        """The targets this run misses, each with its figure."""
        checks = [
            (
                self.mean_mae_ratio <= TARGET_MAE_RATIO,
                f"mean mae_ratio {self.mean_mae_ratio:.3f} > {TARGET_MAE_RATIO:g}",
            ),
            (self.mean_mae <= TARGET_MAE, f"mean test MAE {self.mean_mae:.1f} > {TARGET_MAE:g}"),
            (self.minutes <= TARGET_MINUTES, f"{self.minutes:.1f} minutes > {TARGET_MINUTES:g}"),
        ]
        return [message for met, message in checks if not met]


def summarize(results: Sequence[SeedResult], minutes: float) -> Summary:
    comparisons = [result.comparison for result in results]
    return Summary(
        mean_mae=statistics.mean(c.project.mae for c in comparisons),
        mean_r2=statistics.mean(c.project.r2 for c in comparisons),
        mean_mae_ratio=statistics.mean(c.mae_ratio for c in comparisons),
        mean_reference_mae=statistics.mean(c.reference.mae for c in comparisons),
        seeds=[result.seed for result in results],
        minutes=minutes,
    )


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REAL_LISTINGS)
    parser.add_argument("--max-evals", type=int, help="hyperopt budget (default: the prod budget)")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(
            f"skipped: real listings not found at {args.data} "
            "(they live in ../shared/data beside the repository)"
        )
        return 0

    # Imported here: the reference learner's tests load this module and need none of them.
    from mlvp_assets.environments import test_spark_config
    from mlvp_assets.ml.assets import PriceModelConfig
    from mlvp_assets.ml.run_config import PROD_PRICE_MODEL_CONFIG
    from mlvp_assets.resources.spark import build_spark_session

    config = {**PROD_PRICE_MODEL_CONFIG, **({"max_evals": args.max_evals} if args.max_evals else {})}
    settings = PriceModelConfig(**config).settings()
    print(f"settings: {settings}", flush=True)
    print(f"reference: LightGBM {lgb.__version__}, {REFERENCE_PARAMS}", flush=True)
    spark = build_spark_session(test_spark_config())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        results = evaluate_on_real_data(spark, args.data, settings, args.seeds)
    finally:
        spark.stop()
    print(report(results))
    summary = summarize(results, (time.perf_counter() - started) / 60)
    misses = summary.misses()
    print(
        f"targets (mean mae_ratio <= {TARGET_MAE_RATIO:g}, mean test MAE <= {TARGET_MAE:g}, "
        f"minutes <= {TARGET_MINUTES:g}; R2 reported, not targeted): "
        + ("met" if not misses else "MISSED: " + "; ".join(misses))
    )
    print(json.dumps(dataclasses.asdict(summary)))
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
