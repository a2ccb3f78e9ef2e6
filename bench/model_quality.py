"""Price model quality on the real San Francisco listings (../shared/data/sf-airbnb-clean.parquet).

For each split seed (1, 2, 3 by default) the 20 % test split is drawn exactly as the reference
figures in ../shared/data/README.md draw it (``randomSplit([0.8, 0.2], seed)`` on the 24 mission
columns), so the median baseline printed here must equal the README's (124.6, 113.6, 118.4).
The other 80 % is split into train and validation by the project's listing hash; hyperopt tunes
on validation only, the final model is refit on train + validation, and the test split is
scored once. The rows are typed exactly like ``gold_listings`` and checked against the
``GoldListing`` contract first.

    python bench/model_quality.py                 # the prod search (PROD_PRICE_MODEL_CONFIG)
    python bench/model_quality.py --max-evals 8   # a smaller budget
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import mlflow
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from mlvp_assets.gold.transform import enrich_listings
from mlvp_assets.ml.assets import PriceModelConfig
from mlvp_assets.ml.run_config import PROD_PRICE_MODEL_CONFIG
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

REAL_LISTINGS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sf-airbnb-clean.parquet"
SEEDS = (1, 2, 3)
VALIDATION_FRACTION = 0.2
SCRAPE_DAY = dt.date(2019, 3, 6)
TARGET_MAE, TARGET_R2 = 65.0, 0.25

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


@dataclasses.dataclass(frozen=True)
class SeedResult:
    seed: int
    trained: TrainedPriceModel
    seconds: float


def evaluate_on_real_data(
    spark: SparkSession, path: Path, settings: TrainingSettings, seeds: Sequence[int] = SEEDS
) -> list[SeedResult]:
    """Tune, refit and score the price model once per split seed. Trials are logged to a
    throwaway SQLite MLflow backend; the tracking URI is restored afterwards."""
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
                results.append(SeedResult(seed, trained, time.perf_counter() - started))
                training_set.unpersist()
        finally:
            mlflow.set_tracking_uri(previous_uri)
    gold.unpersist()
    return results


def report(results: Sequence[SeedResult]) -> str:
    lines = [
        f"{'seed':>4} {'test rows':>9} {'unscored':>8} {'MAE':>7} {'RMSE':>7} {'R2':>6} "
        f"{'median MAE':>10} {'median RMSE':>11} {'MAE/median':>10} {'seconds':>7}  best parameters"
    ]
    for result in results:
        trained = result.trained
        lines.append(
            f"{result.seed:>4} {trained.test.rows:>9} {trained.test_unscored_rows:>8} "
            f"{trained.test.mae:>7.1f} {trained.test.rmse:>7.1f} {trained.test.r2:>6.3f} "
            f"{trained.baseline_test.mae:>10.1f} "
            f"{trained.baseline_test.rmse:>11.1f} {trained.test.mae / trained.baseline_test.mae:>10.3f} "
            f"{result.seconds:>7.0f}  {trained.params.spark_params()}"
        )
    mae = statistics.mean(result.trained.test.mae for result in results)
    r2 = statistics.mean(result.trained.test.r2 for result in results)
    rmse = statistics.mean(result.trained.test.rmse for result in results)
    baseline_mae = statistics.mean(result.trained.baseline_test.mae for result in results)
    lines.append(
        f"mean: MAE {mae:.1f}, RMSE {rmse:.1f}, R2 {r2:.3f}; median baseline MAE {baseline_mae:.1f}; "
        f"MAE / baseline {mae / baseline_mae:.3f} ({1 - mae / baseline_mae:.1%} lower)"
    )
    verdict = "meets" if mae <= TARGET_MAE and r2 >= TARGET_R2 else "MISSES"
    lines.append(f"target (mean MAE <= {TARGET_MAE:g}, mean R2 >= {TARGET_R2:g}): {verdict}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
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

    from mlvp_assets.environments import test_spark_config
    from mlvp_assets.resources.spark import build_spark_session

    config = {**PROD_PRICE_MODEL_CONFIG, **({"max_evals": args.max_evals} if args.max_evals else {})}
    settings = PriceModelConfig(**config).settings()
    print(f"settings: {settings}", flush=True)
    spark = build_spark_session(test_spark_config())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        results = evaluate_on_real_data(spark, args.data, settings, args.seeds)
    finally:
        spark.stop()
    print(report(results))
    mean_mae = statistics.mean(result.trained.test.mae for result in results)
    mean_r2 = statistics.mean(result.trained.test.r2 for result in results)
    return 0 if mean_mae <= TARGET_MAE and mean_r2 >= TARGET_R2 else 1


if __name__ == "__main__":
    sys.exit(main())
