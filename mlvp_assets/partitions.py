"""The daily partitioning shared by every table: one partition per landing day."""

from __future__ import annotations

import datetime as dt

import dagster as dg

FIRST_LANDING_DAY = "2026-01-01"

daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_LANDING_DAY)


def partition_day(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> dt.date:
    """The landing day a run or check works on."""
    return dt.date.fromisoformat(context.partition_key)
