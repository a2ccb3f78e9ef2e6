"""The schedules: every morning ``daily_job`` for the previous day's partition; every week
``training_job`` (stopped until someone turns it on)."""

import datetime as dt

import dagster as dg

from mlvp_assets.automation.landing_zone import list_landing_files
from mlvp_assets.jobs import daily_job, training_job
from mlvp_assets.ml.run_config import training_run_config
from mlvp_assets.partitions import daily_partitions
from mlvp_assets.resources.storage import StorageResource

DAILY_CRON = "0 6 * * *"  # 06:00 UTC: the previous day's drops are complete


def daily_schedule_for(env: str) -> dg.ScheduleDefinition:
    """On by default in dev; in test and prod someone turns it on (UI or ``dagster schedule start``)."""

    @dg.schedule(
        name="daily_schedule",
        job=daily_job,
        cron_schedule=DAILY_CRON,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING if env == "dev" else dg.DefaultScheduleStatus.STOPPED,
        description=(
            "Every morning at 06:00 UTC, daily_job for the previous day's partition; skipped (not failed) "
            "when that day has no landing files."
        ),
    )
    def daily_schedule(context: dg.ScheduleEvaluationContext, storage: StorageResource):
        day = (context.scheduled_execution_time.astimezone(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
        if day not in daily_partitions.get_partition_keys(current_time=context.scheduled_execution_time):
            return dg.SkipReason(
                f"{day} is not a daily partition (they start on {daily_partitions.start.date()})"
            )
        files = [file for file in list_landing_files(storage.landing_root).files if file.day == day]
        if not files:
            return dg.SkipReason(f"no landing files for {day} under {storage.landing_root}: nothing to run")
        return dg.RunRequest(
            partition_key=day, run_key=f"daily:{day}", tags={"mlvp/landing_files": str(len(files))}
        )

    return daily_schedule


def training_schedule_for(env: str) -> dg.ScheduleDefinition:
    """Weekly retraining, Monday 04:00 UTC, stopped until someone turns it on."""
    return dg.ScheduleDefinition(
        name="training_schedule",
        job=training_job,
        cron_schedule="0 4 * * 1",
        execution_timezone="UTC",
        run_config=training_run_config(env),
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=(
            "Weekly retraining (Monday 04:00 UTC): training_job snapshots gold, tunes and registers a "
            "challenger; it becomes champion only if challenger_beats_champion passes. Stopped until "
            "turned on."
        ),
    )
