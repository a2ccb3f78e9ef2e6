"""Helpers to materialize the medallion assets for a day and read what they wrote."""

from __future__ import annotations

import dagster as dg
from pyspark.sql import functions as F

from mlvp_assets.bronze.assets import bronze_listings
from mlvp_assets.delta_tables import read_table
from mlvp_assets.gold.assets import gold_listings, gold_listings_match_contract
from mlvp_assets.names import DATA_QUALITY_LOG, INGESTION_LOG
from mlvp_assets.schema import PARTITION_COLUMN
from mlvp_assets.silver.assets import (
    DUPLICATE_RULE,
    silver_and_quarantined_listings,
    silver_listings_match_contract,
)

INGEST_AND_CLEAN = [bronze_listings, silver_and_quarantined_listings]
THREE_LAYERS = [*INGEST_AND_CLEAN, gold_listings]
WITH_CONTRACTS = [*THREE_LAYERS, silver_listings_match_contract, gold_listings_match_contract]


def materialize_day(assets, resources, day: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(assets, partition_key=day, resources=resources, raise_on_error=False)


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}


def day_rows(spark, storage, table: str, day: str):
    return read_table(spark, storage.table_path(table)).where(F.col(PARTITION_COLUMN) == F.lit(day))


def ingestion_log(spark, storage, day: str) -> list:
    return day_rows(spark, storage, INGESTION_LOG, day).orderBy("path", "logged_at").collect()


def row_accounting(spark, storage, day: str) -> dict[str, int]:
    duplicates = (
        day_rows(spark, storage, DATA_QUALITY_LOG, day)
        .where(F.col("rule") == DUPLICATE_RULE)
        .select("failed_rows")
        .first()[0]
    )
    return {
        "bronze": day_rows(spark, storage, "bronze_listings", day).count(),
        "silver": day_rows(spark, storage, "silver_listings", day).count(),
        "quarantined": day_rows(spark, storage, "quarantined_listings", day).count(),
        "duplicates": duplicates,
    }


def assert_accounting_holds(spark, storage, day: str) -> dict[str, int]:
    counts = row_accounting(spark, storage, day)
    assert counts["bronze"] == counts["silver"] + counts["quarantined"] + counts["duplicates"], counts
    return counts
