"""The ``bronze_listings`` asset and its warn-only checks."""

import dagster as dg

from mlvp_assets.bronze.ingest import day_source_changes, ingest_landing_day
from mlvp_assets.bronze.layouts import LAYOUTS
from mlvp_assets.bronze.rules import (
    BRONZE_RULES,
    SOURCE_SCHEMA_DESCRIPTION,
    SOURCE_SCHEMA_UNCHANGED,
    source_schema_check,
)
from mlvp_assets.delta_tables import read_partition, table_metadata
from mlvp_assets.names import BRONZE_GROUP, BRONZE_TABLE, DATA_QUALITY_LOG, INGESTION_LOG
from mlvp_assets.partitions import daily_partitions, partition_day
from mlvp_assets.quality.log import record_rule_results
from mlvp_assets.quality.rules import evaluate_rules
from mlvp_assets.resources.spark import DeltaSparkResource
from mlvp_assets.resources.storage import StorageResource

LANDING_FILES_READABLE = "landing_files_are_readable"


@dg.asset(
    description=(
        "Raw listings as text, ingested incrementally from <root>/landing/<day>/*.csv and *.csv.gz: only "
        "files not ingested before; a changed file replaces its earlier rows. Each file's layout is "
        f"recognised from its header ({', '.join(layout.name for layout in LAYOUTS)}) and mapped to the "
        "mission columns (_source_layout, _lineage); unknown columns are kept in _rescued_data, malformed "
        "lines in _malformed_reason. Every decision, other files in the folder included (ignored), is in "
        "the ingestion_log table."
    ),
    group_name=BRONZE_GROUP,
    kinds={"spark", "delta"},
    partitions_def=daily_partitions,
    check_specs=[
        *[
            dg.AssetCheckSpec(
                rule.name, asset=BRONZE_TABLE, description=rule.description, partitions_def=daily_partitions
            )
            for rule in BRONZE_RULES
        ],
        dg.AssetCheckSpec(
            LANDING_FILES_READABLE,
            asset=BRONZE_TABLE,
            description="Every new landing file of the day could be read",
            partitions_def=daily_partitions,
        ),
        dg.AssetCheckSpec(
            SOURCE_SCHEMA_UNCHANGED,
            asset=BRONZE_TABLE,
            description=SOURCE_SCHEMA_DESCRIPTION,
            partitions_def=daily_partitions,
        ),
    ],
)
def bronze_listings(context: dg.AssetExecutionContext, spark: DeltaSparkResource, storage: StorageResource):
    day = partition_day(context)
    session = spark.spark_session
    path = storage.table_path(BRONZE_TABLE)
    result = ingest_landing_day(
        session, storage.landing_dir(day), path, storage.table_path(INGESTION_LOG), day
    )
    for rejected_path, error in result.rejected.items():
        context.log.error(f"rejected landing file {rejected_path}: {error}")
    for ignored_path, reason in result.ignored.items():
        context.log.warning(f"ignored {ignored_path}: {reason}")
    changes = day_source_changes(session, storage.table_path(INGESTION_LOG), day)

    bronze = read_partition(session, path, day)
    rule_results = evaluate_rules(bronze, BRONZE_RULES)
    record_rule_results(session, storage.table_path(DATA_QUALITY_LOG), day, BRONZE_TABLE, rule_results)
    row_count = rule_results[0].total_rows
    yield dg.MaterializeResult(
        metadata={
            **table_metadata(session, path, bronze, row_count),
            "rows_written_this_run": result.rows_written,
            "files_ingested": sorted(set(result.rows_by_file) - result.replaced),
            "files_replaced": sorted(result.replaced),
            "files_unchanged_skipped": list(result.unchanged),
            "files_duplicate_skipped": result.duplicates,
            "files_rejected": result.rejected,
            "files_ignored": result.ignored,
            "file_layouts": result.layouts,
            "source_missing_columns": sorted(changes["missing"]),
            "source_new_columns": sorted(changes["new"]),
            "failed_rows_per_rule": {r.rule: r.failed_rows for r in rule_results},
        }
    )
    for rule_result in rule_results:
        yield dg.AssetCheckResult(
            check_name=rule_result.rule,
            passed=rule_result.passed,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "failed_rows": rule_result.failed_rows,
                "total_rows": rule_result.total_rows,
                "action": rule_result.action.value,
            },
        )
    yield dg.AssetCheckResult(
        check_name=LANDING_FILES_READABLE,
        passed=not result.rejected,
        severity=dg.AssetCheckSeverity.WARN,
        # File names first: an alert shows the description, and full paths would crowd them out.
        description=(
            f"{len(result.rejected)} landing file(s) rejected as unreadable: "
            + ", ".join(sorted(path.rsplit("/", 1)[-1] for path in result.rejected))
            if result.rejected
            else "every new landing file of the day was readable"
        ),
        metadata={"rejected_files": result.rejected, "rejected_count": len(result.rejected)},
    )
    yield source_schema_check(changes)
