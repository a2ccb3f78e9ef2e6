"""The landing-zone sensor (Auto Loader's file discovery) and the drift-retraining sensor.

Neither starts Spark: the landing sensor lists folders (:mod:`landing_zone`), the retraining
sensor reads the drift flags the monitoring assets recorded as materialization metadata in the
Dagster instance.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Mapping

import dagster as dg

from mlvp_assets.automation.landing_zone import LandedFile, list_landing_files
from mlvp_assets.jobs import daily_job, training_job
from mlvp_assets.names import DATA_DRIFT_REPORT, MODEL_DRIFT_REPORT
from mlvp_assets.partitions import daily_partitions
from mlvp_assets.resources.storage import StorageResource

# Metadata key of each monitoring asset that says whether its day drifted.
DRIFT_FLAGS: Mapping[str, str] = {DATA_DRIFT_REPORT: "dataset_drift", MODEL_DRIFT_REPORT: "model_drift"}


def _cursor_keys(cursor: str | None) -> set[str]:
    """The file keys a cursor remembers. Cursors written before the listing named local files as
    ``file:`` URIs held bare paths; reading them in the new form keeps those files seen, so an
    upgrade does not request a run for every day again."""
    keys = set(json.loads(cursor)) if cursor else set()
    return {f"file:{key}" if key.startswith("/") else key for key in keys}


def _run_key(day: str, files: list[LandedFile]) -> str:
    digest = hashlib.sha256("\n".join(file.key for file in files).encode()).hexdigest()[:16]
    return f"landing:{day}:{digest}"


@dg.sensor(
    job=daily_job,
    minimum_interval_seconds=60,
    description=(
        "Lists <storage root>/landing/<date>/*.csv and *.csv.gz (no Spark) and requests one daily_job run "
        "per day partition with files it has not seen (path, size and modification time), each file once. "
        "Skips when nothing is new."
    ),
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, storage: StorageResource):
    listing = list_landing_files(storage.landing_root)
    seen = _cursor_keys(context.cursor)
    new_by_day: dict[str, list[LandedFile]] = {}
    for file in listing.files:
        if file.key not in seen:
            new_by_day.setdefault(file.day, []).append(file)
    if listing.ignored_folders:
        context.log.warning(
            f"ignored landing folders whose name is not a date: {', '.join(listing.ignored_folders)}"
        )
    valid_days = set(daily_partitions.get_partition_keys())
    requests: list[dg.RunRequest] = []
    requested_keys: set[str] = set()
    for day, files in sorted(new_by_day.items()):
        if day not in valid_days:
            context.log.warning(
                f"landing folder {day} is outside the daily partitions; its {len(files)} file(s) wait"
            )
            continue
        requests.append(
            dg.RunRequest(
                partition_key=day, run_key=_run_key(day, files), tags={"mlvp/new_files": str(len(files))}
            )
        )
        requested_keys.update(file.key for file in files)
    # Remember only files still there, so the cursor does not grow with deleted history.
    cursor = json.dumps(sorted((seen | requested_keys) & {file.key for file in listing.files}))
    if not requests:
        return dg.SensorResult(
            skip_reason=(
                f"no new landing files under {storage.landing_root} "
                f"({len(listing.files)} file(s) already seen)"
            ),
            cursor=cursor,
        )
    return dg.SensorResult(run_requests=requests, cursor=cursor)


def drift_flags_by_day(instance: dg.DagsterInstance, limit: int = 500) -> dict[str, dict[str, bool]]:
    """day -> {asset: drifted} from the latest materialization of each monitoring asset per day."""
    flags: dict[str, dict[str, bool]] = {}
    for asset, key in DRIFT_FLAGS.items():
        records = instance.fetch_materializations(dg.AssetKey(asset), limit=limit).records  # newest first
        for record in records:
            materialization = record.asset_materialization
            if (
                materialization is None
                or materialization.partition is None
                or key not in materialization.metadata
            ):
                continue
            flags.setdefault(materialization.partition, {}).setdefault(
                asset, bool(materialization.metadata[key].value)
            )
    return flags


def retraining_decision(
    flags: Mapping[str, Mapping[str, bool]], consecutive_days: int
) -> tuple[str | None, str]:
    """(the last day of a drifted streak that calls for retraining, or None; why).

    The streak is the most recent ``consecutive_days`` days with drift reports: they must be
    consecutive calendar days and each must have data or model drift flagged.
    """
    if consecutive_days < 1:
        raise ValueError(f"consecutive drifted days must be at least 1, got {consecutive_days}")
    days = sorted(flags)[-consecutive_days:]
    if len(days) < consecutive_days:
        return (
            None,
            f"only {len(days)} day(s) with drift reports; {consecutive_days} drifted days in a row needed",
        )
    dates = [dt.date.fromisoformat(day) for day in days]
    if any((later - earlier).days != 1 for earlier, later in zip(dates, dates[1:], strict=False)):
        return None, f"the latest {consecutive_days} days with drift reports are not consecutive: {days}"
    calm = [day for day in days if not any(flags[day].values())]
    if calm:
        return None, f"no drift flagged on {', '.join(calm)} among the latest {consecutive_days} days"
    return days[-1], f"data or model drift flagged on each of {', '.join(days)}"


def build_drift_retrain_sensor(
    consecutive_days: int, run_config: Mapping[str, object]
) -> dg.SensorDefinition:
    @dg.sensor(
        name="drift_retrain_sensor",
        job=training_job,
        minimum_interval_seconds=300,
        description=(
            f"Requests training_job when data or model drift was flagged on {consecutive_days} consecutive "
            "days (read from the drift reports' metadata; no Spark). Promotion stays gated by "
            "challenger_beats_champion."
        ),
        default_status=dg.DefaultSensorStatus.STOPPED,
    )
    def drift_retrain_sensor(context: dg.SensorEvaluationContext):
        flags = drift_flags_by_day(context.instance)
        if context.cursor:
            # Days of a streak that already requested retraining do not count again: persistent
            # drift then retrains every `consecutive_days` days, not on every day after the first streak.
            flags = {day: flag for day, flag in flags.items() if day > context.cursor}
        last_day, reason = retraining_decision(flags, consecutive_days)
        if last_day is None:
            since = f" after {context.cursor} (retraining was already requested for the streak ending then)"
            return dg.SkipReason(reason + since if context.cursor else reason)
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"drift-retrain:{last_day}",
                    run_config=dict(run_config),
                    tags={"mlvp/reason": reason},
                )
            ],
            cursor=last_day,
        )

    return drift_retrain_sensor
