"""The ``data_quality_log`` Delta table: per day, table and rule, how many rows failed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from mlvp_assets.delta_tables import dataclass_frame, upsert
from mlvp_assets.quality.rules import RuleResult
from mlvp_assets.schema import PARTITION_COLUMN


@dataclass(frozen=True)
class RuleLogEntry:
    """One row of ``data_quality_log`` (plus ``recorded_at``): one rule's figures for a table and day."""

    landing_date: dt.date
    table_name: str
    rule: str
    column_name: str
    failed_rows: int
    total_rows: int
    action: str


def record_rule_results(
    spark: SparkSession, log_path: str, day: dt.date, table: str, results: Sequence[RuleResult]
) -> None:
    """Upsert one row per rule, so re-running a day replaces that day's figures."""
    entries = [
        RuleLogEntry(
            day, table, result.rule, result.column, result.failed_rows, result.total_rows, result.action.value
        )
        for result in results
    ]
    df = dataclass_frame(spark, entries, RuleLogEntry).withColumn("recorded_at", F.current_timestamp())
    upsert(spark, df, log_path, keys=(PARTITION_COLUMN, "table_name", "rule"), day=day)
