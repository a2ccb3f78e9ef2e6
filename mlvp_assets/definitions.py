"""The one ``Definitions`` of the project; ``workspace.yaml`` and ``dagster dev`` load it."""

from __future__ import annotations

import dagster as dg

from mlvp_assets.automation.alert_sensors import alert_sensors
from mlvp_assets.automation.schedules import daily_schedule_for, training_schedule_for
from mlvp_assets.automation.sensors import (
    build_drift_retrain_sensor,
    landing_zone_sensor,
)
from mlvp_assets.bronze import assets as bronze
from mlvp_assets.environments import current_env, resources_for
from mlvp_assets.gold import assets as gold
from mlvp_assets.jobs import daily_job, medallion_job, training_job
from mlvp_assets.ml import assets as ml
from mlvp_assets.ml.run_config import training_run_config
from mlvp_assets.monitoring import assets as monitoring
from mlvp_assets.settings import RETRAIN_AFTER_DRIFTED_DAYS
from mlvp_assets.silver import assets as silver


def build_definitions(env: str) -> dg.Definitions:
    return dg.Definitions(
        assets=[
            bronze.bronze_listings,
            silver.silver_and_quarantined_listings,
            gold.gold_listings,
            ml.training_set,
            ml.price_model,
            monitoring.daily_predictions_and_unseen_listings,
            monitoring.data_drift_report,
            monitoring.model_drift_report,
            monitoring.daily_dashboard,
        ],
        asset_checks=[
            silver.silver_listings_match_contract,
            gold.gold_listings_match_contract,
            ml.challenger_beats_champion,
        ],
        jobs=[medallion_job, daily_job, training_job],
        schedules=[daily_schedule_for(env), training_schedule_for(env)],
        sensors=[
            landing_zone_sensor,
            build_drift_retrain_sensor(RETRAIN_AFTER_DRIFTED_DAYS.whole_number(), training_run_config(env)),
            *alert_sensors,
        ],
        resources=resources_for(env),
        executor=dg.in_process_executor,
    )


defs = build_definitions(current_env())
