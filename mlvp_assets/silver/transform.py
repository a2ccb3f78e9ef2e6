"""Bronze text rows to typed silver rows and quarantined rows: plain DataFrame functions."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from mlvp_assets.bronze.landing_csv import INGESTED_AT, MALFORMED_REASON, SOURCE_FILE, SOURCE_LINE
from mlvp_assets.quality.listing_rules import typed_value
from mlvp_assets.quality.rules import failed_rule_names
from mlvp_assets.schema import LANDING_COLUMNS, LISTING_ID, PARTITION_COLUMN
from mlvp_assets.silver.rules import SILVER_VALUE_RULES, WELL_FORMED_RULE

FAILED_RULES = "failed_rules"
QUARANTINED_AT = "_quarantined_at"
LINEAGE_COLUMNS = (SOURCE_FILE, SOURCE_LINE, INGESTED_AT)
TYPED_PREFIX = "_typed_"


def _typed(column: str) -> Column:
    return F.col(TYPED_PREFIX + column)


def flag_rule_failures(bronze: DataFrame) -> DataFrame:
    """Bronze rows with ``failed_rules``: the names of the silver rules each row breaks.

    Each text value is converted once into a ``_typed_<column>`` column that the rules read; a
    plan that repeated every conversion inside each of the ~60 rules grew too large for Spark's
    optimizer. A malformed line breaks only ``row_has_expected_fields``: its values are not
    trustworthy enough to judge one by one.
    """
    staged = bronze.select(
        "*", *[typed_value(column).alias(TYPED_PREFIX + column) for column in LANDING_COLUMNS]
    )
    return staged.withColumn(
        FAILED_RULES,
        F.when(F.col(MALFORMED_REASON).isNotNull(), F.array(F.lit(WELL_FORMED_RULE.name))).otherwise(
            failed_rule_names(SILVER_VALUE_RULES, _typed)
        ),
    )


def quarantined_rows(flagged: DataFrame) -> DataFrame:
    """Rows that broke a rule, as they arrived (text), with the rules they broke."""
    typed_columns = [column for column in flagged.columns if column.startswith(TYPED_PREFIX)]
    return (
        flagged.where(F.size(FAILED_RULES) > 0)
        .drop(*typed_columns)
        .withColumn(QUARANTINED_AT, F.current_timestamp())
    )


def typed_rows(flagged: DataFrame) -> DataFrame:
    """Rows that broke no rule, converted to the mission schema's types."""
    return flagged.where(F.size(FAILED_RULES) == 0).select(
        *[_typed(column).alias(column) for column in LANDING_COLUMNS],
        PARTITION_COLUMN,
        *LINEAGE_COLUMNS,
    )


def deduplicate_listings(typed: DataFrame) -> DataFrame:
    """One row per listing and day: the one delivered last (latest ingestion, file, line)."""
    latest_first = Window.partitionBy(PARTITION_COLUMN, LISTING_ID).orderBy(
        F.col(INGESTED_AT).desc(), F.col(SOURCE_FILE).desc(), F.col(SOURCE_LINE).desc()
    )
    return (
        typed.withColumn("_rank", F.row_number().over(latest_first)).where(F.col("_rank") == 1).drop("_rank")
    )


def rule_failure_counts(flagged: DataFrame) -> dict[str, int]:
    """How many rows broke each rule (a row breaking two rules counts for both)."""
    rows = flagged.select(F.explode(FAILED_RULES).alias("rule")).groupBy("rule").count().collect()
    return {row["rule"]: int(row["count"]) for row in rows}
