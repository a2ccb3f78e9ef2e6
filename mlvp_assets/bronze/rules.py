"""Bronze expectations: warn only (like DLT ``expect``), the rows stay; and the check of the
source's columns, which says in one line what changed upstream."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import dagster as dg

from mlvp_assets.names import BRONZE_TABLE
from mlvp_assets.quality.rules import Action, Rule, is_missing
from mlvp_assets.schema import LANDING_COLUMNS

BRONZE_RULES: tuple[Rule, ...] = (
    Rule(
        "cancellation_policy_is_present",
        "cancellation_policy",
        "cancellation_policy is neither null nor blank",
        Action.WARN,
        lambda value_of: is_missing("cancellation_policy"),
    ),
    Rule(
        "neighbourhood_is_present",
        "neighbourhood_cleansed",
        "neighbourhood_cleansed is neither null nor blank",
        Action.WARN,
        lambda value_of: is_missing("neighbourhood_cleansed"),
    ),
)


# --- the source's columns: what a day's files no longer deliver, or newly deliver ---------------

SOURCE_SCHEMA_UNCHANGED = "source_schema_is_unchanged"
SOURCE_SCHEMA_DESCRIPTION = (
    "The day's landing files deliver every mission column (the columns the champion is trained on) and no "
    "column their layout does not know; ERROR when a mission column is missing, WARN for new columns"
)


def _in_schema_order(columns: Iterable[str]) -> list[str]:
    """Mission columns in the schema's order, then any others alphabetically."""
    order = {column: index for index, column in enumerate(LANDING_COLUMNS)}
    return sorted(columns, key=lambda column: (order.get(column, len(order)), column))


# The line names this many columns of a kind at most (a file of 5,000 new columns would make it a
# page); the check's metadata keeps them all.
MAX_NAMED_COLUMNS = 20


def _named(columns: Iterable[str]) -> str:
    ordered = _in_schema_order(columns)
    named = ", ".join(ordered[:MAX_NAMED_COLUMNS])
    more = len(ordered) - MAX_NAMED_COLUMNS
    return f"{named} and {more:,} more" if more > 0 else named


def describe_source_changes(missing: Mapping[str, Sequence[str]], new: Mapping[str, Sequence[str]]) -> str:
    """One line saying what changed upstream, for the check, its alert and the dashboard."""
    parts = []
    if missing:
        parts.append(f"the source no longer delivers {_named(missing)}")
    if new:
        parts.append(f"the source newly delivers {_named(new)}")
    return "; ".join(parts) or "the source delivers every mission column and no new column"


def source_schema_check(changes: Mapping[str, Mapping[str, Sequence[str]]]) -> dg.AssetCheckResult:
    """The ``source_schema_is_unchanged`` result of a day, from ``ingest.day_source_changes``."""
    missing, new = changes["missing"], changes["new"]

    def by_file_name(columns: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
        return {
            column: sorted(path.rsplit("/", 1)[-1] for path in paths)
            for column, paths in sorted(columns.items())
        }

    return dg.AssetCheckResult(
        asset_key=BRONZE_TABLE,
        check_name=SOURCE_SCHEMA_UNCHANGED,
        passed=not missing and not new,
        severity=dg.AssetCheckSeverity.ERROR if missing else dg.AssetCheckSeverity.WARN,
        description=describe_source_changes(missing, new),
        metadata={"missing_columns": by_file_name(missing), "new_columns": by_file_name(new)},
    )
