"""A day without landing files: gold is not materialized, so scoring and monitoring are skipped
and the run still succeeds (no champion model is even needed)."""

from __future__ import annotations

import dagster as dg
import pytest

from mlvp_assets.bronze.assets import bronze_listings
from mlvp_assets.gold.assets import gold_listings
from mlvp_assets.monitoring import assets as monitoring
from mlvp_assets.silver.assets import silver_and_quarantined_listings

pytestmark = pytest.mark.slow


def test_a_day_without_gold_rows_skips_predictions_and_monitoring(resources):
    result = dg.materialize(
        [
            bronze_listings,
            silver_and_quarantined_listings,
            gold_listings,
            monitoring.daily_predictions_and_unseen_listings,
            monitoring.data_drift_report,
        ],
        partition_key="2026-01-09",
        resources=resources,
        raise_on_error=False,
    )

    assert result.success
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert {"bronze_listings", "silver_listings"} <= materialized
    assert not materialized & {"gold_listings", "daily_predictions", "unseen_listings", "data_drift_report"}
    skipped = {
        event.step_key for event in result.all_events if event.event_type == dg.DagsterEventType.STEP_SKIPPED
    }
    assert {"daily_predictions_and_unseen_listings", "data_drift_report"} <= skipped
