"""The landing-zone sensor (Auto Loader's file discovery) and the drift-retraining sensor.

Neither starts Spark and neither's tick grows with history: the landing sensor lists the landing
zone and keeps a bounded cursor (:mod:`landing_zone` says what it guarantees), the retraining
sensor reads the drift flags the monitoring assets recorded as materialization metadata in the
Dagster instance, per day partition, newest days first.
"""

import datetime as dt
import hashlib
import time
from collections.abc import Collection, Mapping

import dagster as dg

from mlvp_assets.automation.landing_zone import LandedFile, LandingCursor, cursor_after, list_landing_files
from mlvp_assets.jobs import daily_job, training_job
from mlvp_assets.names import DATA_DRIFT_REPORT, MODEL_DRIFT_REPORT
from mlvp_assets.partitions import daily_partitions
from mlvp_assets.resources.storage import StorageResource

# Materialization records read per request to the instance.
_PAGE = 100

# Metadata key of each monitoring asset that says whether its day drifted.
DRIFT_FLAGS: Mapping[str, str] = {DATA_DRIFT_REPORT: "dataset_drift", MODEL_DRIFT_REPORT: "model_drift"}


def _run_key(day: str, files: list[LandedFile]) -> str:
    digest = hashlib.sha256("\n".join(file.key for file in files).encode()).hexdigest()[:16]
    return f"landing:{day}:{digest}"


@dg.sensor(
    job=daily_job,
    minimum_interval_seconds=60,
    description=(
        "Lists <storage root>/landing/<date>/*.csv and *.csv.gz (no Spark) and requests one daily_job run "
        "per day partition with files it has not seen (path, size and modification time), each file once. "
        "Remembers every file of the newest days and of the last hour, not the whole history: a file "
        "copied into an older day with an old modification time is not seen (touch it). "
        "Skips when nothing is new."
    ),
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, storage: StorageResource):
    listed_at_ns = time.time_ns()  # before listing: a file that lands during the listing is newer
    listing = list_landing_files(storage.landing_root)
    for reason in listing.ignored.values():
        context.log.warning(f"ignored in {storage.landing_root}: {reason}")
    valid_days = set(daily_partitions.get_partition_keys())
    taken = LandingCursor.from_json(context.cursor)
    new_by_day: dict[str, list[LandedFile]] = {}
    for file in listing.files:
        if file.day not in valid_days:
            continue
        if taken.is_new(file):
            new_by_day.setdefault(file.day, []).append(file)
    for day in sorted({file.day for file in listing.files} - valid_days):
        waiting = sum(file.day == day for file in listing.files)
        context.log.warning(
            f"landing folder {day} is outside the daily partitions; its {waiting} file(s) wait"
        )
    requests = [
        dg.RunRequest(
            partition_key=day, run_key=_run_key(day, files), tags={"mlvp/new_files": str(len(files))}
        )
        for day, files in sorted(new_by_day.items())
    ]
    # Files of days outside the partitions are not remembered: once their day is a partition (the
    # future one some day), they are new.
    partition_files = [file for file in listing.files if file.day in valid_days]
    cursor = cursor_after(partition_files, listed_at_ns).to_json()
    if not requests:
        return dg.SensorResult(
            skip_reason=(
                f"no new landing files under {storage.landing_root} "
                f"({len(partition_files)} file(s) already seen)"
            ),
            cursor=cursor,
        )
    return dg.SensorResult(run_requests=requests, cursor=cursor)


def _latest_flags(
    instance: dg.DagsterInstance, asset: str, key: str, days: Collection[str]
) -> dict[str, bool]:
    """day -> ``key``'s value in the latest materialization of ``asset`` for that day that has it."""
    flags: dict[str, bool] = {}
    records_filter = dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=sorted(days))
    cursor = None
    while len(flags) < len(days):
        # Newest first, only these days' records: a re-run day adds records, a backfill of other days none.
        page = instance.fetch_materializations(records_filter, limit=_PAGE, cursor=cursor)
        for record in page.records:
            materialization = record.asset_materialization
            if materialization is None or materialization.partition is None:
                continue
            if key in materialization.metadata and materialization.partition not in flags:
                flags[materialization.partition] = bool(materialization.metadata[key].value)
        if not page.has_more:
            break
        cursor = page.cursor
    return flags


def drift_flags_by_day(
    instance: dg.DagsterInstance, after: str | None = None, newest: int | None = None
) -> dict[str, dict[str, bool]]:
    """day -> {asset: drifted} from the latest materialization of each monitoring asset per day.

    Read by partition, not from the newest events: only days after ``after``, newest first, until
    ``newest`` days with a flag are found (every day when None). So a backfill of old days, however
    large, cannot push the recent days out of what is read.
    """
    materialized = {
        asset: {
            day
            for day in instance.get_materialized_partitions(dg.AssetKey(asset))
            if after is None or day > after
        }
        for asset in DRIFT_FLAGS
    }
    candidates = sorted(set().union(*materialized.values()), reverse=True)
    batch = max(newest or len(candidates), 1)
    flags: dict[str, dict[str, bool]] = {}
    while candidates and (newest is None or len(flags) < newest):
        days, candidates = candidates[:batch], candidates[batch:]
        for asset, key in DRIFT_FLAGS.items():
            asked = [day for day in days if day in materialized[asset]]
            for day, drifted in _latest_flags(instance, asset, key, asked).items():
                flags.setdefault(day, {})[asset] = drifted
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
        # Days of a streak that already requested retraining (up to the cursor) do not count again:
        # persistent drift then retrains every `consecutive_days` days, not every day after a streak.
        flags = drift_flags_by_day(context.instance, after=context.cursor or None, newest=consecutive_days)
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
