"""The ``gold_listings`` asset and its blocking contract check (DLT ``expect_or_fail``)."""

import dagster as dg

from mlvp_assets.delta_tables import read_partition, replace_partition, table_metadata
from mlvp_assets.gold.rules import GOLD_RULES
from mlvp_assets.gold.transform import enrich_listings
from mlvp_assets.names import GOLD_GROUP, GOLD_TABLE, SILVER_TABLE
from mlvp_assets.partitions import daily_partitions, partition_day
from mlvp_assets.quality.contracts import GoldListing, contract_errors
from mlvp_assets.quality.rules import describe_failures, evaluate_rules
from mlvp_assets.resources.spark import DeltaSparkResource
from mlvp_assets.resources.storage import StorageResource


@dg.asset(
    description=(
        "Model-ready listings of the day: silver listings plus aggregated_review_scores, the sum of "
        "all seven review scores (the original summed six by mistake)."
    ),
    group_name=GOLD_GROUP,
    kinds={"spark", "delta"},
    deps=[SILVER_TABLE],
    partitions_def=daily_partitions,
    output_required=False,
)
def gold_listings(context: dg.AssetExecutionContext, spark: DeltaSparkResource, storage: StorageResource):
    day = partition_day(context)
    session = spark.spark_session
    path = storage.table_path(GOLD_TABLE)
    replace_partition(
        enrich_listings(read_partition(session, storage.table_path(SILVER_TABLE), day)), path, day
    )
    gold = read_partition(session, path, day)
    rows = gold.count()
    if rows == 0:
        # Not materialized: everything downstream (predictions, drift, dashboard) is skipped, not failed.
        context.log.warning(
            f"no gold rows for {day}: nothing to score or monitor; downstream steps are skipped"
        )
        return
    yield dg.MaterializeResult(metadata=table_metadata(session, path, gold, rows))


@dg.asset_check(
    asset=GOLD_TABLE,
    description=(
        "The day's gold rows honour the Pandera GoldListing contract. Blocking: when it fails, "
        "nothing downstream of gold runs."
    ),
    blocking=True,
    partitions_def=daily_partitions,
)
def gold_listings_match_contract(
    context: dg.AssetCheckExecutionContext, spark: DeltaSparkResource, storage: StorageResource
) -> dg.AssetCheckResult:
    gold = read_partition(spark.spark_session, storage.table_path(GOLD_TABLE), partition_day(context))
    contract_failures = contract_errors(GoldListing, gold)
    failed_rules = describe_failures(evaluate_rules(gold, GOLD_RULES)) if contract_failures else {}
    return dg.AssetCheckResult(
        passed=not contract_failures,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "contract": "GoldListing",
            "contract_failures": contract_failures,
            "failed_rules": failed_rules,
        },
    )
