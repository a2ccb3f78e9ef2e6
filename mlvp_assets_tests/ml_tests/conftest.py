"""Gold-shaped data for the ML tests, straight from the simulator's CSVs (no medallion run), and
the test environment's resources completed with the MLflow resource."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from mlvp_assets import schema
from mlvp_assets.gold.transform import enrich_listings
from mlvp_assets.names import GOLD_TABLE
from mlvp_assets.resources.mlflow import MLFLOW_RESOURCE_KEY, mlflow_resource_for
from mlvp_assets.resources.storage import StorageResource
from mlvp_assets.simulate import simulate_landing

DAY_1 = dt.date(2026, 1, 1)

SILVER_SCHEMA = T.StructType(
    [
        T.StructField(column, T.StringType() if column in (schema.LISTING_ID, *schema.STRING_COLUMNS)
                      else T.LongType() if column in schema.LONG_COLUMNS else T.DoubleType())
        for column in schema.LANDING_COLUMNS
    ]
    + [T.StructField(schema.PARTITION_COLUMN, T.DateType())]
)  # fmt: skip


def simulated_listings(
    spark: SparkSession, landing_root: Path, days: int, rows_per_day: int, seed: int = 7, **drift: object
) -> DataFrame:
    """Simulated listings of ``days`` days typed like silver; columns a drift adds are kept as text."""
    simulate_landing(landing_root, DAY_1, days=days, rows_per_day=rows_per_day, seed=seed, **drift)  # type: ignore[arg-type]
    frames = []
    for day_dir in sorted((landing_root / "landing").iterdir()):
        for csv in sorted(day_dir.glob("*.csv")):
            frame = pd.read_csv(
                csv, dtype={column: str for column in (schema.LISTING_ID, *schema.STRING_COLUMNS)}
            )
            frame[schema.PARTITION_COLUMN] = dt.date.fromisoformat(day_dir.name)
            frames.append(frame)
    listings = pd.concat(frames, ignore_index=True)
    for column in schema.LONG_COLUMNS:
        listings[column] = listings[column].astype("int64")
    for column in schema.DOUBLE_COLUMNS:
        listings[column] = listings[column].astype("float64")
    extra = [column for column in listings.columns if column not in SILVER_SCHEMA.fieldNames()]
    fields = [*SILVER_SCHEMA.fields, *(T.StructField(column, T.StringType()) for column in extra)]
    return spark.createDataFrame(listings[[field.name for field in fields]], schema=T.StructType(fields))


def write_simulated_gold(
    spark: SparkSession, storage_root: Path, days: int = 2, rows_per_day: int = 500, seed: int = 7
) -> str:
    """A ``gold_listings`` Delta table under ``storage_root``, partitioned by landing day."""
    silver = simulated_listings(spark, storage_root / "simulated", days, rows_per_day, seed)
    path = StorageResource(root=str(storage_root)).table_path(GOLD_TABLE)
    enrich_listings(silver).write.format("delta").mode("overwrite").partitionBy(schema.PARTITION_COLUMN).save(
        path
    )
    return path


def ml_resources(storage_root: Path) -> dict[str, object]:
    """The test environment's resources plus MLflow under the same root (needs MLVP_DATA_ROOT)."""
    from mlvp_assets.environments import resources_for

    return {**resources_for("test"), MLFLOW_RESOURCE_KEY: mlflow_resource_for("test", str(storage_root))}


@pytest.fixture(scope="module")
def module_root(tmp_path_factory) -> Path:
    """A storage root shared by a module's tests, with the test environment pointed at it."""
    root = tmp_path_factory.mktemp("ml_root")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLVP_ENV", "test")
        patch.setenv("MLVP_DATA_ROOT", str(root))
        yield root
