"""The ``silver_listings`` and ``quarantined_listings`` assets, computed together, and the
silver contract check."""

import dagster as dg

from mlvp_assets.crash_points import SILVER_WRITTEN, crash_point
from mlvp_assets.delta_tables import read_partition, replace_partition, table_metadata
from mlvp_assets.names import BRONZE_TABLE, DATA_QUALITY_LOG, QUARANTINE_TABLE, SILVER_GROUP, SILVER_TABLE
from mlvp_assets.partitions import daily_partitions, partition_day
from mlvp_assets.quality.contracts import SilverListing, contract_errors
from mlvp_assets.quality.log import record_rule_results
from mlvp_assets.quality.rules import Action, RuleResult
from mlvp_assets.resources.spark import DeltaSparkResource
from mlvp_assets.resources.storage import StorageResource
from mlvp_assets.silver.rules import SILVER_RULES
from mlvp_assets.silver.transform import (
    deduplicate_listings,
    flag_rule_failures,
    quarantined_rows,
    rule_failure_counts,
    typed_rows,
)

ROW_ACCOUNTING = "row_accounting_balances"
DUPLICATE_RULE = "listing_is_unique_per_day"


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            SILVER_TABLE,
            description="Typed listings of the day, one row per listing, every silver rule met.",
            group_name=SILVER_GROUP,
            kinds={"spark", "delta"},
            deps=[BRONZE_TABLE],
            partitions_def=daily_partitions,
        ),
        dg.AssetSpec(
            QUARANTINE_TABLE,
            description=(
                "Bronze rows that broke a silver rule, as text, with failed_rules naming every rule "
                "they broke (DLT expect_or_drop, except that nothing is lost)."
            ),
            group_name=SILVER_GROUP,
            kinds={"spark", "delta"},
            deps=[BRONZE_TABLE],
            partitions_def=daily_partitions,
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            ROW_ACCOUNTING,
            asset=SILVER_TABLE,
            description="bronze rows = silver rows + quarantined rows + duplicates removed",
            partitions_def=daily_partitions,
        )
    ],
)
def silver_and_quarantined_listings(
    context: dg.AssetExecutionContext, spark: DeltaSparkResource, storage: StorageResource
):
    day = partition_day(context)
    session = spark.spark_session
    flagged = flag_rule_failures(read_partition(session, storage.table_path(BRONZE_TABLE), day)).cache()
    try:
        bronze_count = flagged.count()
        typed = typed_rows(flagged)
        silver = deduplicate_listings(typed)
        quarantined = quarantined_rows(flagged)
        silver_path, quarantine_path = storage.table_path(SILVER_TABLE), storage.table_path(QUARANTINE_TABLE)
        replace_partition(silver, silver_path, day)
        crash_point(SILVER_WRITTEN)
        replace_partition(quarantined, quarantine_path, day, merge_schema=True)  # bronze columns grow
        failures = rule_failure_counts(flagged)
        clean_count = typed.count()
    finally:
        flagged.unpersist()

    silver_rows = read_partition(session, silver_path, day)
    quarantined_stored = read_partition(session, quarantine_path, day)
    silver_count, quarantine_count = silver_rows.count(), quarantined_stored.count()
    duplicates_removed = clean_count - silver_count
    results = [
        RuleResult(rule.name, rule.column, rule.action, failures.get(rule.name, 0), bronze_count)
        for rule in SILVER_RULES
    ]
    results.append(
        RuleResult(DUPLICATE_RULE, "listing_id", Action.DEDUPLICATE, duplicates_removed, bronze_count)
    )
    record_rule_results(session, storage.table_path(DATA_QUALITY_LOG), day, SILVER_TABLE, results)
    accounting = {
        "bronze_rows": bronze_count,
        "silver_rows": silver_count,
        "quarantined_rows": quarantine_count,
        "duplicates_removed": duplicates_removed,
    }
    context.log.info(f"row accounting for {day}: {accounting}")
    yield dg.MaterializeResult(
        asset_key=SILVER_TABLE,
        metadata={
            **table_metadata(session, silver_path, silver_rows, silver_count),
            **accounting,
            "failed_rows_per_rule": {name: count for name, count in sorted(failures.items())},
        },
    )
    yield dg.MaterializeResult(
        asset_key=QUARANTINE_TABLE,
        metadata={
            **table_metadata(session, quarantine_path, quarantined_stored, quarantine_count),
            "failed_rows_per_rule": {name: count for name, count in sorted(failures.items())},
        },
    )
    yield dg.AssetCheckResult(
        asset_key=SILVER_TABLE,
        check_name=ROW_ACCOUNTING,
        passed=bronze_count == silver_count + quarantine_count + duplicates_removed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=accounting,
    )


@dg.asset_check(
    asset=SILVER_TABLE,
    description="The day's silver rows honour the Pandera SilverListing contract.",
    partitions_def=daily_partitions,
)
def silver_listings_match_contract(
    context: dg.AssetCheckExecutionContext, spark: DeltaSparkResource, storage: StorageResource
) -> dg.AssetCheckResult:
    silver = read_partition(spark.spark_session, storage.table_path(SILVER_TABLE), partition_day(context))
    failures = contract_errors(SilverListing, silver)
    return dg.AssetCheckResult(
        passed=not failures,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"contract": "SilverListing", "failures": failures},
    )
