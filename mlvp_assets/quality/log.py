"""The ``data_quality_log`` Delta table: per day, table and rule, how many rows failed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from mlvp_assets.delta_tables import upsert
from mlvp_assets.quality.rules import RuleResult
from mlvp_assets.schema import PARTITION_COLUMN

LOG_SCHEMA = (
    f"{PARTITION_COLUMN} date, table_name string, rule string, column_name string, "
    "failed_rows long, total_rows long, action string"
)


def record_rule_results(
    spark: SparkSession, log_path: str, day: dt.date, table: str, results: Sequence[RuleResult]
) -> None:
    """Upsert one row per rule, so re-running a day replaces that day's figures."""
    rows = [
        (day, table, result.rule, result.column, result.failed_rows, result.total_rows, result.action.value)
        for result in results
    ]
    df = spark.createDataFrame(rows, LOG_SCHEMA).withColumn("recorded_at", F.current_timestamp())
    upsert(spark, df, log_path, keys=(PARTITION_COLUMN, "table_name", "rule"))
