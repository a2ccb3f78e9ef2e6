"""The alert sensors against a real (temporary) Dagster instance with small pure-Python assets."""

import datetime as dt

import dagster as dg
import pytest

from mlvp_assets.automation.alert_sensors import (
    alert_sensors,
    asset_check_failure_alert_sensor,
    build_check_failure_alert_sensor,
    build_run_failure_alert_sensor,
    run_end_records,
    run_failure_alert_sensor,
)
from mlvp_assets.partitions import daily_partitions
from mlvp_assets.resources.alerts import (
    Alert,
    AlertDeliveryError,
    AlertResource,
    Severity,
    alert_resource_for,
)
from mlvp_assets.resources.alerts.channels import read_json_lines

UI = "http://dagster.example:3000"
DRIFT_REPORT = "http://reports.example/drift/2026-01-02.html"


@dg.asset(
    partitions_def=daily_partitions,
    check_specs=[
        dg.AssetCheckSpec("listing_count_is_positive", asset="daily_predictions"),
        dg.AssetCheckSpec("no_data_drift", asset="daily_predictions"),
    ],
)
def daily_predictions(context: dg.AssetExecutionContext):
    yield dg.MaterializeResult(metadata={"dagster/row_count": 3})
    yield dg.AssetCheckResult(check_name="listing_count_is_positive", passed=True, metadata={"rows": 3})
    yield dg.AssetCheckResult(
        check_name="no_data_drift",
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description="3 of 7 columns drifted",
        metadata={
            "drift_share": 0.43,
            "report": dg.MetadataValue.url(DRIFT_REPORT),
            "dashboard": dg.MetadataValue.path("/data/reports/drift/index.html"),
        },
    )


@dg.asset_check(asset=daily_predictions, partitions_def=daily_partitions, blocking=True)
def predictions_are_complete(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"missing_predictions": 2, "listings": 5},
    )


@dg.asset(
    partitions_def=daily_partitions,
    check_specs=[dg.AssetCheckSpec("landing_files_are_readable", asset="bronze_listings")],
)
def bronze_listings():
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(
        check_name="landing_files_are_readable",
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rejected_files": {"landing/2026-01-03/broken.csv": "not UTF-8"}, "rejected_count": 1},
    )


@dg.op
def read_landing_folder():
    raise ValueError("landing folder /data/landing/2026-01-04 does not exist")


@dg.job
def ingestion_job():
    read_landing_folder()


@pytest.fixture
def instance():
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def alerts(tmp_path, monkeypatch) -> AlertResource:
    monkeypatch.setenv("MLVP_DAGSTER_URL", UI + "/")
    return alert_resource_for("test", str(tmp_path))


def evaluate(sensor: dg.SensorDefinition, instance, alerts, cursor=None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"alerts": alerts})
    return sensor.evaluate_tick(context)


def sent(alerts: AlertResource):
    return read_json_lines(alerts.alerts_file)


def test_each_failed_check_is_alerted_once(instance, alerts):
    result = dg.materialize(
        [daily_predictions, predictions_are_complete],
        instance=instance,
        partition_key="2026-01-02",
        raise_on_error=False,
    )
    run_id = result.run_id

    first = evaluate(asset_check_failure_alert_sensor, instance, alerts)

    by_check = {alert.title: alert for alert in sent(alerts)}
    assert sorted(by_check) == [
        "Asset check failed: no_data_drift on daily_predictions",
        "Asset check failed: predictions_are_complete on daily_predictions",
    ]  # none for the passing listing_count_is_positive
    drift = by_check["Asset check failed: no_data_drift on daily_predictions"]
    assert (drift.severity, drift.asset_key, drift.partition, drift.run_id) == (
        Severity.MEDIUM,
        "daily_predictions",
        "2026-01-02",
        run_id,
    )
    assert drift.links == {
        "report": DRIFT_REPORT,
        "dashboard": "/data/reports/drift/index.html",
        "run": f"{UI}/runs/{run_id}",
        "asset": f"{UI}/assets/daily_predictions",
    }
    assert drift.summary == "3 of 7 columns drifted\ndrift_share: 0.43"
    complete = by_check["Asset check failed: predictions_are_complete on daily_predictions"]
    assert (complete.severity, complete.partition) == (Severity.HIGH, "2026-01-02")
    assert sorted(complete.summary.splitlines()) == ["listings: 5", "missing_predictions: 2"]
    assert complete.links["run"] == f"{UI}/runs/{run_id}"

    # The next tick, from the returned cursor, finds nothing new.
    second = evaluate(asset_check_failure_alert_sensor, instance, alerts, cursor=first.cursor)
    assert second.skip_message == "no new asset check evaluations"
    assert second.cursor == first.cursor
    assert len(sent(alerts)) == 2

    # A new failure: exactly one more alert, medium (the file was rejected and logged).
    dg.materialize([bronze_listings], instance=instance, partition_key="2026-01-03")
    third = evaluate(asset_check_failure_alert_sensor, instance, alerts, cursor=second.cursor)
    assert int(third.cursor) > int(second.cursor)
    new = sent(alerts)[2:]
    assert [(a.title, a.severity, a.asset_key, a.partition) for a in new] == [
        (
            "Asset check failed: landing_files_are_readable on bronze_listings",
            Severity.MEDIUM,
            "bronze_listings",
            "2026-01-03",
        )
    ]
    assert 'rejected_files: {"landing/2026-01-03/broken.csv": "not UTF-8"}' in new[0].summary
    assert (
        evaluate(asset_check_failure_alert_sensor, instance, alerts, cursor=third.cursor).cursor
        == third.cursor
    )
    assert len(sent(alerts)) == 3


def test_a_new_sensor_does_not_replay_failures_older_than_its_lookback(instance, alerts):
    dg.materialize([bronze_listings], instance=instance, partition_key="2026-01-03")
    sensor = build_check_failure_alert_sensor(name="no_lookback_sensor", first_tick_lookback=dt.timedelta(0))

    first = evaluate(sensor, instance, alerts)
    assert sent(alerts) == []
    assert first.cursor is not None and int(first.cursor) > 0  # starts after the old failure

    dg.materialize([bronze_listings], instance=instance, partition_key="2026-01-04")
    evaluate(sensor, instance, alerts, cursor=first.cursor)
    assert [alert.partition for alert in sent(alerts)] == ["2026-01-04"]


def test_a_failed_delivery_keeps_the_cursor_so_the_next_tick_retries(instance, alerts):
    dg.materialize([bronze_listings], instance=instance, partition_key="2026-01-03")
    unreachable = AlertResource(channel="webhook", webhook_url="http://127.0.0.1:9/hooks", timeout_seconds=1)

    with pytest.raises(Exception, match=r"webhook http://127\.0\.0\.1:9/hooks not reachable"):
        evaluate(asset_check_failure_alert_sensor, instance, unreachable, cursor="0")

    retried = evaluate(asset_check_failure_alert_sensor, instance, alerts, cursor="0")
    assert [alert.partition for alert in sent(alerts)] == ["2026-01-03"]
    assert int(retried.cursor) > 0


class FailingOn(AlertResource):
    """The log channel, except that one check's alert cannot be delivered."""

    failing_check: str

    def send(self, alert: Alert, log=None) -> None:
        if self.failing_check in alert.title:
            raise AlertDeliveryError(f"{self.failing_check} not delivered")
        super().send(alert, log=log)


def test_a_delivery_failing_within_a_run_is_retried_without_repeating_what_was_sent(instance, alerts):
    dg.materialize(
        [daily_predictions, predictions_are_complete],
        instance=instance,
        partition_key="2026-01-02",
        raise_on_error=False,
    )
    flaky = FailingOn(**alerts.model_dump(), failing_check="predictions_are_complete")

    partial = evaluate(asset_check_failure_alert_sensor, instance, flaky, cursor="0")
    assert [alert.title for alert in sent(alerts)] == [
        "Asset check failed: no_data_drift on daily_predictions"
    ]
    assert partial.skip_message.startswith("sent 1 alert(s); then failed")

    retried = evaluate(asset_check_failure_alert_sensor, instance, alerts, cursor=partial.cursor)
    assert [alert.title for alert in sent(alerts)] == [
        "Asset check failed: no_data_drift on daily_predictions",
        "Asset check failed: predictions_are_complete on daily_predictions",
    ]
    assert evaluate(
        asset_check_failure_alert_sensor, instance, alerts, cursor=retried.cursor
    ).skip_message == ("no new asset check evaluations")


def test_run_ends_of_every_kind_are_read_once_and_in_order_whatever_the_batch_size(instance):
    # Two successes, then two failures: a batch of one success and one failure must not skip the
    # second success.
    for day in ("2026-01-03", "2026-01-04"):
        dg.materialize([bronze_listings], instance=instance, partition_key=day)
    for _ in range(2):
        ingestion_job.execute_in_process(instance=instance, raise_on_error=False)
    everything = [record.storage_id for record in run_end_records(instance, None)]
    assert len(everything) == 4 and everything == sorted(everything)

    for limit in (1, 2, 3):
        seen, after = [], None
        while records := run_end_records(instance, after, limit=limit):
            seen += [record.storage_id for record in records]
            after = records[-1].storage_id
        assert seen == everything


def test_a_failed_run_is_alerted_once(instance, alerts):
    # With no run failed in its lookback, the first tick places the cursor after the newest one.
    start = evaluate(run_failure_alert_sensor, instance, alerts)
    assert (start.skip_message, start.cursor) == ("no run ended in the lookback", "0")

    failed = ingestion_job.execute_in_process(
        instance=instance, raise_on_error=False, tags={"dagster/partition": "2026-01-04"}
    )
    assert not failed.success
    tick = evaluate(run_failure_alert_sensor, instance, alerts, cursor=start.cursor)

    [alert] = sent(alerts)
    assert (alert.severity, alert.kind, alert.title, alert.partition, alert.run_id) == (
        Severity.HIGH,
        "run_failure",
        "Run failed: ingestion_job",
        "2026-01-04",
        failed.run_id,
    )
    assert (
        "read_landing_folder: ValueError: landing folder /data/landing/2026-01-04 does not exist"
        in alert.summary
    )
    assert alert.links == {"run": f"{UI}/runs/{failed.run_id}"}
    assert tick.skip_message == "sent 1 alert(s) for 1 run(s)"

    # A successful run and the next tick add nothing.
    dg.materialize(
        [daily_predictions], instance=instance, partition_key="2026-01-04", selection=[daily_predictions]
    )
    after = evaluate(run_failure_alert_sensor, instance, alerts, cursor=tick.cursor)
    assert (after.skip_message, after.cursor) == ("no new run failures", tick.cursor)
    assert len(sent(alerts)) == 1


def test_a_new_run_failure_sensor_alerts_on_the_failures_of_its_lookback_only(instance, alerts):
    ingestion_job.execute_in_process(instance=instance, raise_on_error=False)
    recent = evaluate(run_failure_alert_sensor, instance, alerts)  # a day's lookback
    assert recent.skip_message == "sent 1 alert(s) for 1 run(s)"

    sensor = build_run_failure_alert_sensor(name="no_lookback_sensor", first_tick_lookback=dt.timedelta(0))
    first = evaluate(sensor, instance, alerts)
    assert first.skip_message == "no run ended in the lookback"
    assert first.cursor == recent.cursor  # starts after the old failure
    assert len(sent(alerts)) == 1

    ingestion_job.execute_in_process(instance=instance, raise_on_error=False)
    evaluate(sensor, instance, alerts, cursor=first.cursor)
    assert len(sent(alerts)) == 2


def test_the_run_failure_sensor_goes_on_from_the_cursor_dagsters_run_failure_sensor_left(instance, alerts):
    """Before it kept its own cursor, ``run_failure_alert_sensor`` was Dagster's
    ``run_failure_sensor``, whose cursor a deployed instance still holds under that name."""
    from dagster._core.definitions.run_status_sensor_definition import RunStatusSensorCursor

    handled = ingestion_job.execute_in_process(instance=instance, raise_on_error=False)
    [handled_end] = run_end_records(instance, None)
    legacy = RunStatusSensorCursor(record_id=handled_end.storage_id, record_timestamp="2026-01-04T06:00:00")
    new = ingestion_job.execute_in_process(instance=instance, raise_on_error=False)

    tick = evaluate(run_failure_alert_sensor, instance, alerts, cursor=legacy.to_json())
    assert [alert.run_id for alert in sent(alerts)] == [new.run_id]  # not handled.run_id again
    assert handled.run_id != new.run_id and int(tick.cursor) > handled_end.storage_id

    # -1: no run had failed when Dagster's sensor started, so every failure since is new.
    evaluate(run_failure_alert_sensor, instance, alerts, cursor=RunStatusSensorCursor(record_id=-1).to_json())
    assert [alert.run_id for alert in sent(alerts)] == [new.run_id, handled.run_id, new.run_id]


def test_sensors_are_described_and_take_the_alerts_resource():
    assert [sensor.name for sensor in alert_sensors] == [
        "asset_check_failure_alert_sensor",
        "run_failure_alert_sensor",
    ]
    for sensor in alert_sensors:
        assert sensor.description and 30 <= sensor.minimum_interval_seconds <= 60
        assert sensor.required_resource_keys == {"alerts"}


def test_sensors_load_in_definitions_with_the_alerts_resource(tmp_path, instance):
    defs = dg.Definitions(
        assets=[bronze_listings],
        sensors=alert_sensors,
        resources={"alerts": alert_resource_for("test", str(tmp_path))},
    )
    dg.Definitions.validate_loadable(defs)
    # Evaluated the way the sensor daemon does: with the top-level resources of the code location.
    dg.materialize([bronze_listings], instance=instance, partition_key="2026-01-03")
    repository = defs.get_repository_def()
    sensor = repository.get_sensor_def("asset_check_failure_alert_sensor")
    with dg.build_sensor_context(
        instance=instance, repository_def=repository, resources=repository.get_top_level_resources()
    ) as context:
        sensor.evaluate_tick(context)
    assert [alert.asset_key for alert in read_json_lines(tmp_path / "alerts" / "alerts.jsonl")] == [
        "bronze_listings"
    ]
