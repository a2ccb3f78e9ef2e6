"""Sensors that turn failures into alerts: failed asset checks and failed runs.

Both read only the Dagster instance (no Spark, no tables), with what the ``dagster`` package
exports and nothing from its private modules: ``DagsterInstance.fetch_run_status_changes`` and
``get_records_for_run``, the calls Dagster's own run status sensors make. They send through the
``alerts`` resource (:mod:`mlvp_assets.resources.alerts`).

Both work the same way (:func:`build_run_end_alert_sensor`): the run ends they watch are read
once, in the order the instance recorded them, and each gives its alerts. The cursor is the
storage id of the last run end handled (``"<run end>:<item>"`` when a run end's alerts were sent
in part), so each alert is sent once; when a delivery fails (the SMTP server refuses, the webhook
answers 500), the cursor stays before it: the tick fails when nothing was sent, and every later
tick retries it until the channel takes it. A new sensor (no cursor) alerts on the run ends of
the last day only, not on the whole history.

- ``asset_check_failure_alert_sensor``: every run that ends (succeeded, failed or canceled: a
  failed WARN check does not fail its run); each failed check evaluation in it is alerted. A
  check is alerted when its run ends, not while the run goes on.
- ``run_failure_alert_sensor``: every run that fails, of any job of the instance; one alert with
  the job, the partition, the failed steps' errors shortened and a link to the run. It is not
  Dagster's ``run_failure_sensor``, which moves its cursor past a run whose alert raised, so that
  an alert not delivered was lost.

Severity: a failed ERROR check or a failed run is ``high``; a failed WARN check (the drift checks,
``landing_files_are_readable`` when a landing file was rejected) is ``medium``.

No ``from __future__ import annotations`` here: Dagster reads the sensors' parameter annotations.
"""

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import dagster as dg

from mlvp_assets.resources.alerts.alert import Alert, Severity, shorten
from mlvp_assets.resources.alerts.resource import AlertResource

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

# The run status changes a run ends with (Dagster's filter takes only run status event types).
RunEndEvent = Literal[
    dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE, dg.DagsterEventType.RUN_CANCELED
]
# Every end: the check evaluations of a run are read when it ends, whatever its outcome.
RUN_END_EVENTS: tuple[RunEndEvent, ...] = (
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELED,
)
RUN_FAILURE_EVENTS: tuple[RunEndEvent, ...] = (dg.DagsterEventType.RUN_FAILURE,)
# Run ends read per tick, of each kind; more wait for the next tick (the cursor says where to go on).
RUN_FETCH_LIMIT = 100
# A new sensor (no cursor) alerts on failures of the last day only, not on the whole history.
FIRST_TICK_LOOKBACK = dt.timedelta(days=1)
SUMMARY_ENTRY_CHARS = 160
SUMMARY_ENTRIES = 6
LINK_METADATA = (dg.UrlMetadataValue, dg.PathMetadataValue, dg.NotebookMetadataValue)

# The alerts one run end gives (given the instance, its record and the UI's URL), in the order they
# are sent, each with the storage id that orders it within the run end (its event's, or the run
# end's own when it gives one alert): the second half of a ``"<run end>:<item>"`` cursor.
AlertsOfRunEnd = Callable[[dg.DagsterInstance, dg.EventLogRecord, str], list[tuple[int, Alert]]]


def run_url(ui_url: str, run_id: str) -> str:
    return f"{ui_url}/runs/{run_id}"


def partition_from_tags(tags: Mapping[str, str]) -> str | None:
    """The run's partition, or its partition range as ``start...end``."""
    if tags.get(PARTITION_TAG):
        return tags[PARTITION_TAG]
    if tags.get(RANGE_START_TAG):
        return f"{tags[RANGE_START_TAG]}...{tags.get(RANGE_END_TAG, '')}"
    return None


def run_tags(instance: dg.DagsterInstance, run_id: str) -> Mapping[str, str]:
    """The run's tags; none when the run was deleted since it ended."""
    run = instance.get_run_by_id(run_id)
    return run.tags if run else {}


# --- run ends and the cursor ---------------------------------------------------------------------


def run_end_records(
    instance: dg.DagsterInstance,
    after_storage_id: int | None,
    after_timestamp: float | None = None,
    limit: int = RUN_FETCH_LIMIT,
    event_types: Sequence[RunEndEvent] = RUN_END_EVENTS,
) -> list[dg.EventLogRecord]:
    """The run ends of ``event_types`` after a storage id (or a time), oldest first.

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
        for event_type in event_types
    ]
    records = sorted((record for batch in batches for record in batch), key=lambda record: record.storage_id)
    # A full batch may have more run ends after its last one: stop there so that none is skipped.
    full = [batch[-1].storage_id for batch in batches if len(batch) == limit]
    return [record for record in records if record.storage_id <= min(full)] if full else records


def latest_run_end_id(
    instance: dg.DagsterInstance, event_types: Sequence[RunEndEvent] = RUN_END_EVENTS
) -> int:
    """The storage id of the newest run end of ``event_types``, 0 if there is none."""
    newest = [
        record.storage_id
        for event_type in event_types
        for record in instance.fetch_run_status_changes(event_type, limit=1, ascending=False).records
    ]
    return max(newest, default=0)


def parse_cursor(cursor: str | None) -> tuple[int | None, int | None]:
    """The cursor's run end and item.

    ``"<run end>"``: every run end up to that one is handled. ``"<run end>:<item>"`` (after a
    failed delivery): run ends before that one are handled, and of its alerts those up to that
    item (a check evaluation's storage id), in the run's own order.

    A JSON cursor is the one Dagster's ``run_failure_sensor`` kept under the name
    ``run_failure_alert_sensor`` before this module kept its own: its ``record_id`` is the last
    run failure it handled (-1: none had happened when it started), in the same storage ids.
    """
    if not cursor:
        return None, None
    if cursor.startswith("{"):
        legacy = json.loads(cursor)
        if legacy.get("update_timestamp") or not isinstance(legacy.get("record_id"), int):
            return None, None  # a run-scoped id of an older Dagster: start as a new sensor does
        return max(legacy["record_id"], 0), None
    run_end, _, item = cursor.partition(":")
    return int(run_end), int(item) if item else None


def build_run_end_alert_sensor(
    *,
    name: str,
    description: str,
    event_types: Sequence[RunEndEvent],
    alerts_of_run_end: AlertsOfRunEnd,
    nothing_new: str,
    minimum_interval_seconds: int = 30,
    first_tick_lookback: dt.timedelta = FIRST_TICK_LOOKBACK,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.SensorDefinition:
    """A sensor that sends, once each, the alerts of the run ends of ``event_types``.

    It keeps its own cursor: a delivery that fails leaves the cursor before the alert, so that
    the next tick sends it again; when nothing was sent, the tick fails with the delivery error.
    """

    @dg.sensor(
        name=name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=description,
    )
    def _sensor(context: dg.SensorEvaluationContext, alerts: AlertResource):
        instance = context.instance
        run_end, item_done = parse_cursor(context.cursor)
        if run_end is None:
            after_id, after_timestamp = None, (dt.datetime.now(dt.UTC) - first_tick_lookback).timestamp()
        else:
            # A run end handled in part is read again, from the item after the cursor's.
            after_id, after_timestamp = (run_end if item_done is None else run_end - 1), None
        records = run_end_records(instance, after_id, after_timestamp, event_types=event_types)
        if run_end is None and not records:
            # Start after the newest run end, so that the next tick misses nothing.
            start = str(latest_run_end_id(instance, event_types))
            return dg.SensorResult(skip_reason="no run ended in the lookback", cursor=start)
        if not records:
            return dg.SkipReason(nothing_new)

        ui_url = alerts.ui_url
        cursor, sent = context.cursor, 0
        for record in records:
            pending = alerts_of_run_end(instance, record, ui_url)
            if record.storage_id == run_end and item_done is not None:
                pending = [(item, alert) for item, alert in pending if item > item_done]
            for item, alert in pending:
                try:
                    alerts.send(alert, log=context.log)
                except Exception as error:
                    if sent == 0:
                        raise  # nothing sent: the tick fails and the next one retries from the same cursor
                    # Keep what was sent; the next tick retries this alert.
                    context.log.error(f"alert {alert.title!r} not sent, retried next tick: {error}")
                    return dg.SensorResult(
                        skip_reason=f"sent {sent} alert(s); then failed: {error}", cursor=cursor
                    )
                sent += 1
                cursor = f"{record.storage_id}:{item}"
            cursor = str(record.storage_id)
        return dg.SensorResult(skip_reason=f"sent {sent} alert(s) for {len(records)} run(s)", cursor=cursor)

    return _sensor


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


def check_failure_alerts(
    instance: dg.DagsterInstance, run_end: dg.EventLogRecord, ui_url: str
) -> list[tuple[int, Alert]]:
    """An alert per failed check evaluation of the run, each with its evaluation's storage id."""
    run_id = run_end.event_log_entry.run_id
    failed = failed_check_evaluations(instance, run_id)
    tags = run_tags(instance, run_id) if failed else {}
    return [
        (
            check.storage_id,
            alert_for_check_evaluation(
                evaluation,
                run_id=run_id,
                partition=evaluation.partition or partition_from_tags(tags),
                ui_url=ui_url,
            ),
        )
        for check, evaluation in failed
    ]


def build_check_failure_alert_sensor(
    name: str = "asset_check_failure_alert_sensor",
    minimum_interval_seconds: int = 30,
    first_tick_lookback: dt.timedelta = FIRST_TICK_LOOKBACK,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.SensorDefinition:
    """A sensor that alerts once on every failed asset check evaluation of the runs that end."""
    return build_run_end_alert_sensor(
        name=name,
        description=(
            "Sends an alert (resource 'alerts') for every failed asset check of a run that ended: "
            "ERROR checks as high, WARN checks (drift, unreadable landing files) as medium. The cursor "
            "is the storage id of the last run end handled, so each failure is alerted once; an alert "
            "not delivered is retried on the next ticks."
        ),
        event_types=RUN_END_EVENTS,
        alerts_of_run_end=check_failure_alerts,
        nothing_new="no new asset check evaluations",
        minimum_interval_seconds=minimum_interval_seconds,
        first_tick_lookback=first_tick_lookback,
        default_status=default_status,
    )


asset_check_failure_alert_sensor = build_check_failure_alert_sensor()


# --- failed runs -------------------------------------------------------------------------------


def run_failure_summary(failure_message: str | None, step_errors: Mapping[str, str]) -> str:
    lines = [failure_message] if failure_message else []
    lines += [f"{step}: {shorten(error, SUMMARY_ENTRY_CHARS * 2)}" for step, error in step_errors.items()]
    return "\n".join(lines) or "the run failed without an error message"


def step_errors(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """The error of each failed step of the run, by step key, in the order the steps failed."""
    errors = {}
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records:
        event = record.event_log_entry.dagster_event
        if event is not None and (error := event.step_failure_data.error) is not None:
            # An exception raised by user code is the cause of Dagster's "Error occurred while
            # executing op" wrapper; its message starts with its class: "ValueError: ...".
            errors[event.step_key or "step"] = (error.cause or error).message.strip()
    return errors


def alert_for_run_failure(instance: dg.DagsterInstance, run_failure: dg.EventLogRecord, ui_url: str) -> Alert:
    """The alert of a run failure, read from the instance: the job, the partition, the failure and
    step errors, and a link to the run."""
    entry = run_failure.event_log_entry
    run_id = entry.run_id
    return Alert(
        severity=Severity.HIGH,
        title=f"Run failed: {entry.job_name}",
        summary=run_failure_summary(
            entry.dagster_event.message if entry.dagster_event else None, step_errors(instance, run_id)
        ),
        kind="run_failure",
        asset_key=None,
        partition=partition_from_tags(run_tags(instance, run_id)),
        links={"run": run_url(ui_url, run_id)},
        run_id=run_id,
    )


def run_failure_alerts(
    instance: dg.DagsterInstance, run_failure: dg.EventLogRecord, ui_url: str
) -> list[tuple[int, Alert]]:
    """One alert per failed run, ordered by the failure's own storage id."""
    return [(run_failure.storage_id, alert_for_run_failure(instance, run_failure, ui_url))]


def build_run_failure_alert_sensor(
    name: str = "run_failure_alert_sensor",
    minimum_interval_seconds: int = 30,
    first_tick_lookback: dt.timedelta = FIRST_TICK_LOOKBACK,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.SensorDefinition:
    """A sensor that alerts once on every run that fails."""
    return build_run_end_alert_sensor(
        name=name,
        description=(
            "Sends a high-severity alert (resource 'alerts') for every failed run: job, partition, "
            "the error shortened and a link to the run. The cursor is the storage id of the last run "
            "failure handled, so each is alerted once; an alert not delivered is retried on the next "
            "ticks."
        ),
        event_types=RUN_FAILURE_EVENTS,
        alerts_of_run_end=run_failure_alerts,
        nothing_new="no new run failures",
        minimum_interval_seconds=minimum_interval_seconds,
        first_tick_lookback=first_tick_lookback,
        default_status=default_status,
    )


run_failure_alert_sensor = build_run_failure_alert_sensor()


alert_sensors = [asset_check_failure_alert_sensor, run_failure_alert_sensor]
