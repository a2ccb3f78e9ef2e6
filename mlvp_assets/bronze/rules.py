"""Bronze expectations: warn only (like DLT ``expect``), the rows stay."""

from __future__ import annotations

from mlvp_assets.quality.rules import Action, Rule, is_missing

BRONZE_TABLE = "bronze_listings"

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
