"""Silver rules: a row that breaks any of them is quarantined with the names of those rules."""

from __future__ import annotations

from mlvp_assets.quality.listing_rules import listing_rules, well_formed_rule
from mlvp_assets.quality.rules import Action

WELL_FORMED_RULE = well_formed_rule(Action.QUARANTINE)
SILVER_VALUE_RULES = listing_rules(Action.QUARANTINE)
SILVER_RULES = (WELL_FORMED_RULE, *SILVER_VALUE_RULES)
