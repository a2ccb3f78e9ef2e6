"""The daily partitioning shared by every table: one partition per landing day."""

from __future__ import annotations

import datetime as dt
import warnings

import dagster as dg

# Partitioned asset checks (a check per landing day, like its asset) are a preview feature of
# Dagster 1.13; the project relies on them knowingly, so the warning is silenced here once.
warnings.filterwarnings(
    "ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning
)

FIRST_LANDING_DAY = "2026-01-01"

# end_offset=1: today's partition exists while its files are landing, so the landing-zone sensor
# can process a drop the day it arrives (as Auto Loader would), not only the day after.
daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_LANDING_DAY, end_offset=1)


def partition_day(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> dt.date:
    """The landing day a run or check works on."""
    return dt.date.fromisoformat(context.partition_key)
