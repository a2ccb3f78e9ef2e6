"""Gold rules: the listing rules with action ``fail`` (like DLT ``expect_or_fail``), plus the
aggregated score's range. The Pandera ``GoldListing`` contract gives the verdict; these rules
count and sample what failed."""

from __future__ import annotations

from mlvp_assets.gold.transform import AGGREGATED_REVIEW_SCORES
from mlvp_assets.quality.contracts import MAX_AGGREGATED_REVIEW_SCORES
from mlvp_assets.quality.listing_rules import listing_rules
from mlvp_assets.quality.rules import Action, Rule, outside

GOLD_RULES: tuple[Rule, ...] = (
    *listing_rules(Action.FAIL),
    Rule(
        "aggregated_review_scores_in_range", AGGREGATED_REVIEW_SCORES,
        f"{AGGREGATED_REVIEW_SCORES} between 0 and {MAX_AGGREGATED_REVIEW_SCORES}", Action.FAIL,
        lambda value_of: value_of(AGGREGATED_REVIEW_SCORES).isNull()
        | outside(value_of(AGGREGATED_REVIEW_SCORES), 0, MAX_AGGREGATED_REVIEW_SCORES),
    ),
)  # fmt: skip
