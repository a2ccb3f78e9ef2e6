"""Sensors that turn failures into alerts: failed asset checks and failed runs.

Both read only the Dagster instance (no Spark, no tables), with what the ``dagster`` package
exports and nothing from its private modules: ``DagsterInstance.fetch_run_status_changes`` and
``get_records_for_run``, the calls Dagster's own run status sensors make. They send through the
``alerts`` resource (:mod:`mlvp_assets.resources.alerts`).

Failed checks: every run that ends (succeeded, failed or canceled: a failed WARN check does not
fail its run) is read once, in the order the instance recorded the ends, and each failed check
evaluation in it is alerted; a check is alerted when its run ends, not while the run goes on.
The cursor is the storage id of the last run end handled, so each failure is alerted once; when
a delivery fails, the cursor stays before it and the next tick retries it. Failed runs: Dagster's
``run_failure_sensor`` keeps that sensor's cursor.

Severity: a failed ERROR check or a failed run is ``high``; a failed WARN check (the drift checks,
``landing_files_are_readable`` when a landing file was rejected) is ``medium``.

No ``from __future__ import annotations`` here: Dagster reads the sensors' parameter annotations.
"""

import datetime as dt
import json
from collections.abc import Mapping
from typing import Literal

import dagster as dg

from mlvp_assets.resources.alerts.alert import Alert, Severity, shorten
from mlvp_assets.resources.alerts.resource import AlertResource

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

# The events that end a run: the check evaluations of a run are read when it ends.
# The run status changes a run ends with (Dagster's filter takes only run status event types).
RunEndEvent = Literal[
    dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE, dg.DagsterEventType.RUN_CANCELED
]
RUN_END_EVENTS: tuple[RunEndEvent, ...] = (
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELED,
)
# Run ends read per tick, of each kind; more wait for the next tick (the cursor says where to go on).
RUN_FETCH_LIMIT = 100
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


def run_end_records(
    instance: dg.DagsterInstance,
    after_storage_id: int | None,
    after_timestamp: float | None = None,
    limit: int = RUN_FETCH_LIMIT,
) -> list[dg.EventLogRecord]:
    """The ends of runs after a storage id (or a time), oldest first.

    Run ends have storage ids that are global even in the default SQLite storage, which keeps one
    database per run: Dagster mirrors them into its index database for its run status sensors.
    """
    batches = [
        instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(
                event_type, after_storage_id=after_storage_id, after_timestamp=after_timestamp
            ),
            limit=limit,
            ascending=True,
        ).records
        for event_type in RUN_END_EVENTS
    ]
    records = sorted((record for batch in batches for record in batch), key=lambda record: record.storage_id)
    # A full batch may have more run ends after its last one: stop there so that none is skipped.
    full = [batch[-1].storage_id for batch in batches if len(batch) == limit]
    return [record for record in records if record.storage_id <= min(full)] if full else records


def latest_run_end_id(instance: dg.DagsterInstance) -> int:
    """The storage id of the newest run end, 0 if no run has ended."""
    newest = [
        record.storage_id
        for event_type in RUN_END_EVENTS
        for record in instance.fetch_run_status_changes(event_type, limit=1, ascending=False).records
    ]
    return max(newest, default=0)


def failed_check_evaluations(
    instance: dg.DagsterInstance, run_id: str
) -> list[tuple[dg.EventLogRecord, dg.AssetCheckEvaluation]]:
    """The run's failed asset check evaluations with their records, in the order they were recorded."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    return [
        (record, evaluation)
        for record in records
        if (evaluation := record.event_log_entry.asset_check_evaluation) is not None and not evaluation.passed
    ]


def parse_cursor(cursor: str | None) -> tuple[int | None, int | None]:
    """The cursor's run end and check evaluation.

    ``"<run end>"``: every run up to that run end is handled. ``"<run end>:<evaluation>"`` (after a
    failed delivery): runs before that run end are handled, and of its failed checks those up to
    that evaluation, in the run's own order.
    """
    if not cursor:
        return None, None
    run_end, _, evaluation = cursor.partition(":")
    return int(run_end), int(evaluation) if evaluation else None


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
    """A sensor that alerts once on every failed asset check evaluation of the runs that end."""

    @dg.sensor(
        name=name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=(
            "Sends an alert (resource 'alerts') for every failed asset check of a run that ended: "
            "ERROR checks as high, WARN checks (drift, unreadable landing files) as medium. The cursor "
            "is the storage id of the last run end handled, so each failure is alerted once."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext, alerts: AlertResource):
        instance = context.instance
        run_end, evaluation_done = parse_cursor(context.cursor)
        if run_end is None:
            after_id, after_timestamp = None, (dt.datetime.now(dt.UTC) - first_tick_lookback).timestamp()
        else:
            # A run end handled in part is read again, from the evaluation after the cursor's.
            after_id, after_timestamp = (run_end if evaluation_done is None else run_end - 1), None
        records = run_end_records(instance, after_id, after_timestamp)
        if not records:
            if context.cursor is None:
                # Start after the newest run end, so that the next tick misses nothing.
                start = str(latest_run_end_id(instance))
                return dg.SensorResult(skip_reason="no run ended in the lookback", cursor=start)
            return dg.SkipReason("no new asset check evaluations")

        ui_url = alerts.ui_url
        cursor, sent = context.cursor, 0
        for record in records:
            run_id = record.event_log_entry.run_id
            failed = failed_check_evaluations(instance, run_id)
            if record.storage_id == run_end and evaluation_done is not None:
                failed = [
                    (check, evaluation) for check, evaluation in failed if check.storage_id > evaluation_done
                ]
            run = instance.get_run_by_id(run_id) if failed else None
            for check, evaluation in failed:
                alert = alert_for_check_evaluation(
                    evaluation,
                    run_id=run_id,
                    partition=evaluation.partition or partition_from_tags(run.tags if run else {}),
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
                cursor = f"{record.storage_id}:{check.storage_id}"
            cursor = str(record.storage_id)
        return dg.SensorResult(skip_reason=f"sent {sent} alert(s) for {len(records)} run(s)", cursor=cursor)

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
