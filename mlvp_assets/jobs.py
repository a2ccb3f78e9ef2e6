"""Jobs: asset selections by group, run with every step in one process, so one Spark session
serves a run. No asset module is imported here, so sensors and schedules that name a job stay
free of Spark, MLflow and Evidently."""

from __future__ import annotations

import dagster as dg

from mlvp_assets.names import (
    BRONZE_GROUP,
    GOLD_GROUP,
    ML_GROUP,
    MONITORING_GROUP,
    PREDICTIONS_GROUP,
    SILVER_GROUP,
)

# Every job here starts a Spark driver, and carries this tag: the run queue's
# tag_concurrency_limits in deploy/dagster.yaml hold how many such runs are in progress at once.
SPARK_RUN_TAG = "mlvp/spark"
SPARK_RUN_TAGS = {SPARK_RUN_TAG: "driver"}

medallion_job = dg.define_asset_job(
    "medallion_job",
    selection=dg.AssetSelection.groups(BRONZE_GROUP, SILVER_GROUP, GOLD_GROUP),
    executor_def=dg.in_process_executor,
    tags=SPARK_RUN_TAGS,
    description="Landing files of one day to bronze, silver (and quarantine) and gold, with their checks.",
)

training_job = dg.define_asset_job(
    "training_job",
    selection=dg.AssetSelection.groups(ML_GROUP),
    executor_def=dg.in_process_executor,
    tags=SPARK_RUN_TAGS,
    description="Snapshot gold, tune and train the price model, register it and decide its promotion.",
)

daily_job = dg.define_asset_job(
    "daily_job",
    selection=dg.AssetSelection.groups(
        BRONZE_GROUP, SILVER_GROUP, GOLD_GROUP, PREDICTIONS_GROUP, MONITORING_GROUP
    ),
    executor_def=dg.in_process_executor,
    tags=SPARK_RUN_TAGS,
    description=(
        "One landing day end to end: bronze, silver, gold, predictions with the champion model, unseen "
        "listings, data and model drift reports and the dashboard. Never retrains."
    ),
)
