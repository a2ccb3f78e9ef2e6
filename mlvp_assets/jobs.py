"""Jobs: asset selections by group, run with every step in one process, so one Spark session
serves a run. No asset module is imported here, so sensors and schedules that name a job stay
free of Spark, MLflow and Evidently."""

from __future__ import annotations

import dagster as dg

medallion_job = dg.define_asset_job(
    "medallion_job",
    selection=dg.AssetSelection.groups("bronze", "silver", "gold"),
    executor_def=dg.in_process_executor,
    description="Landing files of one day to bronze, silver (and quarantine) and gold, with their checks.",
)

training_job = dg.define_asset_job(
    "training_job",
    selection=dg.AssetSelection.groups("ml"),
    executor_def=dg.in_process_executor,
    description="Snapshot gold, tune and train the price model, register it and decide its promotion.",
)

daily_job = dg.define_asset_job(
    "daily_job",
    selection=dg.AssetSelection.groups("bronze", "silver", "gold", "predictions", "monitoring"),
    executor_def=dg.in_process_executor,
    description=(
        "One landing day end to end: bronze, silver, gold, predictions with the champion model, unseen "
        "listings, data and model drift reports and the dashboard. Never retrains."
    ),
)
