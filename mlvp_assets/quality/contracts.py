"""Pandera contracts (pyspark backend) of the typed listing tables, and how to run them.

The ranges and vocabularies come from ``mlvp_assets.schema``, the same constants the row rules
in ``listing_rules`` use, so the contract and the quarantine cannot disagree.

How a contract runs (:func:`contract_errors`): Pandera checks the columns and their types from the
frame's schema (no Spark job), and the value checks of every column, Pandera's own ``Check``
objects read from the contract, are counted in **one** aggregation over the frame. Pandera's
pyspark backend would run each value check and each not-null check as a Spark job of its own
(``filter(~condition).limit(1).count()``): 52 jobs for a gold day, 10 to 19 s for 2,000 rows on
two cores, against well under a second for the one pass. The one pass gives the same verdicts,
which ``quality_tests/test_contracts.py`` compares check by check with Pandera's backend, and
counts the failing rows besides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandera.pyspark as pa
import pyspark.sql.types as T
from pandera.api.checks import Check
from pandera.config import config_context
from pandera.errors import SchemaErrorReason
from pandera.pyspark import Field
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from mlvp_assets.schema import CATEGORY_VALUES, PRICE_RANGE_EXCLUSIVE_LOW, REVIEW_SCORE_COLUMNS, VALUE_RANGES


def _in_range(column: str) -> Any:
    low, high = VALUE_RANGES[column]
    return Field(ge=low, le=high)


def _one_of(column: str) -> Any:
    return Field(isin=list(CATEGORY_VALUES[column]))


class SilverListing(pa.DataFrameModel):
    """A typed, clean listing of one landing day."""

    listing_id: T.StringType = Field()
    landing_date: T.DateType = Field()
    host_is_superhost: T.StringType = _one_of("host_is_superhost")
    cancellation_policy: T.StringType = _one_of("cancellation_policy")
    instant_bookable: T.StringType = _one_of("instant_bookable")
    host_total_listings_count: T.DoubleType = _in_range("host_total_listings_count")
    neighbourhood_cleansed: T.StringType = Field()
    latitude: T.DoubleType = _in_range("latitude")
    longitude: T.DoubleType = _in_range("longitude")
    property_type: T.StringType = Field()
    room_type: T.StringType = _one_of("room_type")
    accommodates: T.DoubleType = _in_range("accommodates")
    bathrooms: T.DoubleType = _in_range("bathrooms")
    bedrooms: T.DoubleType = _in_range("bedrooms")
    beds: T.DoubleType = _in_range("beds")
    bed_type: T.StringType = _one_of("bed_type")
    minimum_nights: T.LongType = _in_range("minimum_nights")
    number_of_reviews: T.LongType = _in_range("number_of_reviews")
    review_scores_rating: T.DoubleType = _in_range("review_scores_rating")
    review_scores_accuracy: T.DoubleType = _in_range("review_scores_accuracy")
    review_scores_cleanliness: T.DoubleType = _in_range("review_scores_cleanliness")
    review_scores_checkin: T.DoubleType = _in_range("review_scores_checkin")
    review_scores_communication: T.DoubleType = _in_range("review_scores_communication")
    review_scores_location: T.DoubleType = _in_range("review_scores_location")
    review_scores_value: T.DoubleType = _in_range("review_scores_value")
    price: T.DoubleType = Field(gt=PRICE_RANGE_EXCLUSIVE_LOW[0], le=PRICE_RANGE_EXCLUSIVE_LOW[1])

    class Config:
        strict = False  # lineage columns may ride along


MAX_AGGREGATED_REVIEW_SCORES = sum(VALUE_RANGES[column][1] for column in REVIEW_SCORE_COLUMNS)


class GoldListing(SilverListing):
    """A model-ready listing: a clean listing plus its aggregated review score."""

    aggregated_review_scores: T.DoubleType = Field(ge=0, le=MAX_AGGREGATED_REVIEW_SCORES)


# Pandera's built-in checks as the condition a valid value meets, from the check's statistics
# (the same conditions as pandera.backends.pyspark.builtin_checks: a null passes every one of
# them, as it does there; nulls are the not-null check's business).
_CONDITIONS: dict[str, Callable[[Column, dict[str, Any]], Column]] = {
    "equal_to": lambda c, s: c == s["value"],
    "not_equal_to": lambda c, s: c != s["value"],
    "greater_than": lambda c, s: c > s["min_value"],
    "greater_than_or_equal_to": lambda c, s: c >= s["min_value"],
    "less_than": lambda c, s: c < s["max_value"],
    "less_than_or_equal_to": lambda c, s: c <= s["max_value"],
    "in_range": lambda c, s: (
        (c >= s["min_value"] if s["include_min"] else c > s["min_value"])
        & (c <= s["max_value"] if s["include_max"] else c < s["max_value"])
    ),
    "isin": lambda c, s: c.isin(list(s["allowed_values"])),
    "notin": lambda c, s: ~c.isin(list(s["forbidden_values"])),
}
NOT_NULLABLE = "not_nullable"  # Pandera's name for the check of a column that may hold no null


def value_checks(model: type[pa.DataFrameModel]) -> list[tuple[str, str, Column]]:
    """(column, check as Pandera names it, condition a valid row meets) of every value check of
    ``model``; a check this module cannot count in one pass fails here, naming it."""
    checks = []
    for name, column in model.to_schema().columns.items():
        if not column.nullable:
            checks.append((name, NOT_NULLABLE, F.col(name).isNotNull()))
        for check in column.checks:
            checks.append((name, _check_text(check), _condition(model, name, check)))
    return checks


def _check_text(check: Check) -> str:
    return str(check.error or check.name)


def _condition(model: type[pa.DataFrameModel], column: str, check: Check) -> Column:
    if check.name not in _CONDITIONS:
        raise NotImplementedError(
            f"{model.__name__}.{column}: check {_check_text(check)!r} cannot be counted in one pass; "
            f"use one of {sorted(_CONDITIONS)} (or add its condition to quality/contracts.py)"
        )
    return _CONDITIONS[check.name](F.col(column), check.statistics or {})


def _schema_errors(model: type[pa.DataFrameModel], df: DataFrame) -> list[dict[str, Any]]:
    """Pandera's column and type checks, read from ``df``'s schema (no Spark job). Validation is
    forced on, so that ``PANDERA_VALIDATION_ENABLED=False`` cannot make the contract pass silently.
    Pandera counts nulls even at this depth, a job per column: the one pass counts them instead."""
    schema = model.to_schema()
    schema = schema.update_columns({name: {"nullable": True} for name in schema.columns})
    with config_context(validation_enabled=True, validation_depth="SCHEMA_ONLY"):
        validated = schema.validate(df)
    # Pandera's accessor, added at run time (typed as a column): category -> reason -> errors.
    errors: dict[str, dict[str, list[dict[str, Any]]]] = validated.pandera.errors  # type: ignore[assignment]
    return [
        {"reason": reason, "column": error.get("column", ""), "check": error["check"]}
        for category in errors.values()
        for reason, entries in category.items()
        for error in entries
    ]


def contract_errors(model: type[pa.DataFrameModel], df: DataFrame) -> list[dict[str, Any]]:
    """The failures of ``df`` against the contract ``model`` (empty when the data honours it):
    each names the reason, the column and the check; value checks also count ``failed_rows``.

    Missing columns and wrong types come from Pandera; the value checks of the other columns are
    counted in one aggregation over ``df`` (see the module's docstring).
    """
    failures = _schema_errors(model, df)
    # A column that is missing or of the wrong type has failed already; its values are not compared.
    judged = set(df.columns) - {failure["column"] for failure in failures}
    checks = [(column, check, valid) for column, check, valid in value_checks(model) if column in judged]
    if not checks:
        return failures
    counts = df.agg(*[F.count_if(~valid) for _, _, valid in checks]).first()
    for (column, check, _), failed in zip(checks, counts or (), strict=True):
        if failed:
            reason = (
                SchemaErrorReason.SERIES_CONTAINS_NULLS
                if check == NOT_NULLABLE
                else SchemaErrorReason.DATAFRAME_CHECK
            )
            failures.append(
                {"reason": reason.name, "column": column, "check": check, "failed_rows": int(failed)}
            )
    return failures
