"""The rules every typed listing obeys, written once from ``mlvp_assets.schema``.

Silver applies them to bronze text (reading values through ``typed_value``) and quarantines the
rows that break any; the gold contract applies the same rules to typed rows and fails the run.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from mlvp_assets.quality.rules import Action, Rule, is_missing, outside
from mlvp_assets.schema import (
    CATEGORY_VALUES,
    DOUBLE_COLUMNS,
    LANDING_COLUMNS,
    LONG_COLUMNS,
    MALFORMED_REASON,
    PRICE_RANGE_EXCLUSIVE_LOW,
    VALUE_RANGES,
)

NUMERIC_COLUMNS = (*DOUBLE_COLUMNS, *LONG_COLUMNS)


def typed_value(column: str) -> Column:
    """The typed value of a bronze text column: trimmed text, a double, or a whole-number long.

    Null where the text is missing or does not convert, so rules decide what that means.
    ``try_cast`` because Spark 4's ANSI casts raise on the first bad value.
    """
    text = F.nullif(F.trim(F.col(column)), F.lit(""))
    if column in DOUBLE_COLUMNS:
        return text.try_cast("double")
    if column in LONG_COLUMNS:
        number = text.try_cast("double")
        return F.when(number == F.floor(number), number.try_cast("long"))
    return text


def _is_present(column: str, action: Action) -> Rule:
    return Rule(
        f"{column}_is_present", column, f"{column} is neither null nor blank", action,
        lambda value_of: is_missing(column),
    )  # fmt: skip


def _is_numeric(column: str, action: Action) -> Rule:
    kind = "a whole number" if column in LONG_COLUMNS else "a number"
    return Rule(
        f"{column}_is_numeric", column, f"{column} is {kind}", action,
        # Only text can fail to convert: present, yet no typed value.
        lambda value_of: ~is_missing(column) & value_of(column).isNull(),
    )  # fmt: skip


def _in_range(column: str, low: float, high: float, action: Action) -> Rule:
    return Rule(
        f"{column}_in_range", column, f"{column} between {low} and {high}", action,
        lambda value_of: outside(value_of(column), low, high),
    )  # fmt: skip


def _is_known(column: str, values: tuple[str, ...], action: Action) -> Rule:
    return Rule(
        f"{column}_is_known_value", column, f"{column} is one of {', '.join(values)}", action,
        lambda value_of: ~value_of(column).isin(list(values)),
    )  # fmt: skip


def listing_rules(action: Action) -> tuple[Rule, ...]:
    """Presence, type, range and vocabulary rules of a listing, all with ``action``."""
    low, high = PRICE_RANGE_EXCLUSIVE_LOW
    return (
        *[_is_present(column, action) for column in LANDING_COLUMNS],
        *[_is_numeric(column, action) for column in NUMERIC_COLUMNS],
        *[_in_range(column, lo, hi, action) for column, (lo, hi) in VALUE_RANGES.items()],
        Rule(
            "price_is_positive", "price", f"price above {low} and at most {high}", action,
            lambda value_of: (value_of("price") <= F.lit(low)) | (value_of("price") > F.lit(high)),
        ),
        *[_is_known(column, values, action) for column, values in CATEGORY_VALUES.items()],
    )  # fmt: skip


def well_formed_rule(action: Action) -> Rule:
    return Rule(
        "row_has_expected_fields", MALFORMED_REASON, "the line has as many fields as the header", action,
        lambda value_of: F.col(MALFORMED_REASON).isNotNull(),
    )  # fmt: skip
