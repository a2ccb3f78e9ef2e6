"""Sensors that turn failures into alerts: failed asset checks and failed runs.

Both read only the Dagster instance (no Spark, no tables) and send through the ``alerts``
resource. Each failure is alerted once: the check sensor's cursor is the storage id of the last
check evaluation it handled; the run sensor's cursor is kept by Dagster's ``run_failure_sensor``.

Severity: a failed ERROR check or a failed run is ``high``; a failed WARN check (the drift checks,
``landing_files_are_readable`` when a landing file was rejected) is ``medium``.

No ``from __future__ import annotations`` here: Dagster reads the sensors' parameter annotations.
"""

import datetime as dt
import json
from collections.abc import Mapping, Sequence

import dagster as dg
from dagster._core.storage.event_log.base import EventLogRecord
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

from mlvp_assets.resources.alerts.alert import Alert, Severity, shorten
from mlvp_assets.resources.alerts.resource import AlertResource

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

# Check evaluations read per tick; more wait for the next tick (the cursor says where to go on).
CHECK_FETCH_LIMIT = 200
# A new sensor (no cursor) alerts on failures of the last day only, not on the whole history.
FIRST_TICK_LOOKBACK = dt.timedelta(days=1)
SUMMARY_ENTRY_CHARS = 160
SUMMARY_ENTRIES = 6
LINK_METADATA = (dg.UrlMetadataValue, dg.PathMetadataValue, dg.NotebookMetadataValue)


def run_url(ui_url: str, run_id: str) -> str:
    return f"{ui_url}/runs/{run_id}"


# --- failed asset checks -------------------------------------------------------------------------


def check_severity(evaluation: dg.AssetCheckEvaluation) -> Severity:
    return Severity.HIGH if evaluation.severity == dg.AssetCheckSeverity.ERROR else Severity.MEDIUM


def _metadata_text(value: dg.MetadataValue) -> str:
    raw = value.value
    if isinstance(raw, (dict, list)):
        return json.dumps(raw, default=str, separators=(", ", ": "))
    return str(raw)


def _is_link(value: dg.MetadataValue) -> bool:
    """URL, path and notebook metadata, and text that is a web address."""
    return isinstance(value, LINK_METADATA) or (
        isinstance(value, dg.TextMetadataValue) and str(value.value).startswith(("http://", "https://"))
    )


def check_summary(evaluation: dg.AssetCheckEvaluation) -> str:
    """The evaluation's description and its first metadata entries (not links), one per line."""
    lines = [evaluation.description] if evaluation.description else []
    entries = [(key, value) for key, value in evaluation.metadata.items() if not _is_link(value)]
    lines += [
        f"{key}: {shorten(_metadata_text(value), SUMMARY_ENTRY_CHARS)}"
        for key, value in entries[:SUMMARY_ENTRIES]
    ]
    if len(entries) > SUMMARY_ENTRIES:
        lines.append(f"(+{len(entries) - SUMMARY_ENTRIES} more metadata entries in the Dagster UI)")
    return "\n".join(lines) or "the check failed without a description or metadata"


def check_links(evaluation: dg.AssetCheckEvaluation, run_id: str | None, ui_url: str) -> dict[str, str]:
    """The check's URL, path and notebook metadata (reports, dashboards), then the run and the asset."""
    links = {key: str(value.value) for key, value in evaluation.metadata.items() if _is_link(value)}
    if run_id:
        links["run"] = run_url(ui_url, run_id)
    links["asset"] = f"{ui_url}/assets/{'/'.join(evaluation.asset_key.path)}"
    return links


def alert_for_check_evaluation(
    evaluation: dg.AssetCheckEvaluation,
    *,
    run_id: str | None,
    partition: str | None,
    ui_url: str,
) -> Alert:
    return Alert(
        severity=check_severity(evaluation),
        title=f"Asset check failed: {evaluation.check_name} on {evaluation.asset_key.to_user_string()}",
        summary=check_summary(evaluation),
        kind="asset_check",
        asset_key=evaluation.asset_key.to_user_string(),
        partition=partition,
        links=check_links(evaluation, run_id, ui_url),
        run_id=run_id,
    )


def check_evaluation_records(
    instance: dg.DagsterInstance,
    after_storage_id: int | None,
    after_timestamp: float | None = None,
    limit: int = CHECK_FETCH_LIMIT,
    ascending: bool = True,
) -> Sequence[EventLogRecord]:
    """Asset check evaluations after a storage id (or a time), oldest first unless ``ascending`` is false."""
    records_filter = dg.EventRecordsFilter(
        event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
        after_cursor=after_storage_id,
        after_timestamp=after_timestamp,
    )
    storage = instance.event_log_storage
    if storage.is_run_sharded and isinstance(storage, SqlEventLogStorage):
        # The default SQLite storage keeps one database per run, and its get_event_records reads
        # those shards, whose ids are not global. Check evaluations are also mirrored into its index
        # shard with global ids; read that, as Dagster's own fetch_run_status_changes does for run
        # status events.
        return SqlEventLogStorage.get_event_records(storage, records_filter, limit=limit, ascending=ascending)
    return storage.get_event_records(records_filter, limit=limit, ascending=ascending)


def _partition_of(
    instance: dg.DagsterInstance, evaluation: dg.AssetCheckEvaluation, run_id: str, tags_by_run: dict
) -> str | None:
    if evaluation.partition:
        return evaluation.partition
    if not run_id:
        return None
    if run_id not in tags_by_run:
        run = instance.get_run_by_id(run_id)
        tags_by_run[run_id] = run.tags if run else {}
    return partition_from_tags(tags_by_run[run_id])


def partition_from_tags(tags: Mapping[str, str]) -> str | None:
    """The run's partition, or its partition range as ``start...end``."""
    if tags.get(PARTITION_TAG):
        return tags[PARTITION_TAG]
    if tags.get(RANGE_START_TAG):
        return f"{tags[RANGE_START_TAG]}...{tags.get(RANGE_END_TAG, '')}"
    return None


def build_check_failure_alert_sensor(
    name: str = "asset_check_failure_alert_sensor",
    minimum_interval_seconds: int = 30,
    first_tick_lookback: dt.timedelta = FIRST_TICK_LOOKBACK,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.SensorDefinition:
    """A sensor that alerts once on every failed asset check evaluation recorded in the instance."""

    @dg.sensor(
        name=name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=(
            "Sends an alert (resource 'alerts') for every failed asset check: ERROR checks as high, "
            "WARN checks (drift, unreadable landing files) as medium. The cursor is the storage id of "
            "the last check evaluation handled, so each failure is alerted once."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext, alerts: AlertResource):
        after_storage_id = int(context.cursor) if context.cursor else None
        after_timestamp = None
        if after_storage_id is None:
            after_timestamp = (dt.datetime.now(dt.UTC) - first_tick_lookback).timestamp()
        records = check_evaluation_records(context.instance, after_storage_id, after_timestamp)
        if not records:
            if context.cursor is None:
                # Start after the newest evaluation, so that the next tick misses nothing.
                latest = check_evaluation_records(context.instance, None, None, limit=1, ascending=False)
                start = str(latest[0].storage_id) if latest else "0"
                return dg.SensorResult(skip_reason="no asset check evaluations in the lookback", cursor=start)
            return dg.SkipReason("no new asset check evaluations")

        ui_url = alerts.ui_url
        cursor, sent, tags_by_run = context.cursor, 0, {}
        for record in records:
            entry = record.event_log_entry
            evaluation = entry.dagster_event.asset_check_evaluation_data
            if not evaluation.passed:
                alert = alert_for_check_evaluation(
                    evaluation,
                    run_id=entry.run_id or None,
                    partition=_partition_of(context.instance, evaluation, entry.run_id, tags_by_run),
                    ui_url=ui_url,
                )
                try:
                    alerts.send(alert, log=context.log)
                except Exception as error:
                    if sent == 0:
                        raise  # nothing sent: the tick fails and the next one retries from the same cursor
                    # Keep what was sent; the next tick retries this alert.
                    context.log.error(
                        f"alert for {evaluation.check_name} not sent, retried next tick: {error}"
                    )
                    return dg.SensorResult(
                        skip_reason=f"sent {sent} alert(s); then failed: {error}", cursor=cursor
                    )
                sent += 1
            cursor = str(record.storage_id)
        return dg.SensorResult(
            skip_reason=f"sent {sent} alert(s) for {len(records)} check evaluation(s)", cursor=cursor
        )

    return _sensor


asset_check_failure_alert_sensor = build_check_failure_alert_sensor()


# --- failed runs -------------------------------------------------------------------------------


def run_failure_summary(failure_message: str | None, step_errors: Mapping[str, str]) -> str:
    lines = [failure_message] if failure_message else []
    lines += [f"{step}: {shorten(error, SUMMARY_ENTRY_CHARS * 2)}" for step, error in step_errors.items()]
    return "\n".join(lines) or "the run failed without an error message"


def alert_for_run_failure(context: dg.RunFailureSensorContext, ui_url: str) -> Alert:
    run = context.dagster_run
    step_errors = {}
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error
        if error is not None:
            # An exception raised by user code is the cause of Dagster's "Error occurred while
            # executing op" wrapper; its message starts with its class: "ValueError: ...".
            step_errors[event.step_key or "step"] = (error.cause or error).message.strip()
    return Alert(
        severity=Severity.HIGH,
        title=f"Run failed: {run.job_name}",
        summary=run_failure_summary(context.failure_event.message, step_errors),
        kind="run_failure",
        asset_key=None,
        partition=partition_from_tags(run.tags),
        links={"run": run_url(ui_url, run.run_id)},
        run_id=run.run_id,
    )


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Sends a high-severity alert (resource 'alerts') for every failed run of a job in this code "
        "location: job, partition, the error shortened and a link to the run."
    ),
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, alerts: AlertResource):
    alerts.send(alert_for_run_failure(context, alerts.ui_url), log=context.log)


alert_sensors = [asset_check_failure_alert_sensor, run_failure_alert_sensor]
