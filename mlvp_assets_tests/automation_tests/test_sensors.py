"""The landing-zone and drift-retraining sensors, ticked against real temporary Dagster instances
and real files; and that sensors and schedules neither lack a description nor start Spark."""

import json
import os
import subprocess
import sys
import textwrap

import dagster as dg
import pytest

from mlvp_assets.automation.landing_zone import LandingCursor
from mlvp_assets.automation.sensors import (
    DRIFT_FLAGS,
    build_drift_retrain_sensor,
    drift_flags_by_day,
    landing_zone_sensor,
    retraining_decision,
)
from mlvp_assets.definitions import build_definitions
from mlvp_assets.names import DATA_DRIFT_REPORT, MODEL_DRIFT_REPORT
from mlvp_assets.resources.storage import StorageResource
from mlvp_assets.settings import RETRAIN_AFTER_DRIFTED_DAYS

from .landing import FIXED_MTIME_NS, drop, uri

RUN_CONFIG = {"ops": {"price_model": {"config": {"max_evals": 2}}}}


@pytest.fixture
def instance():
    """A real, in-memory Dagster instance (event log and run storage), ten times faster to set up
    than ``dg.instance_for_test()`` on disk."""
    return dg.DagsterInstance.ephemeral()


@pytest.fixture(scope="module")
def dev_definitions():
    return build_definitions("dev")


@pytest.fixture
def landing_tick(instance, dev_definitions):
    """One evaluation of the landing sensor as the daemon does it: its run requests are checked
    against daily_job's partitions of the code location."""

    def tick(root, cursor=None):
        context = dg.build_sensor_context(
            instance=instance,
            cursor=cursor,
            definitions=dev_definitions,
            resources={"storage": StorageResource(root=str(root))},
        )
        return landing_zone_sensor.evaluate_tick(context)

    return tick


def requested(data) -> list[tuple[str, str]]:
    return [(request.partition_key, request.tags["mlvp/new_files"]) for request in data.run_requests]


def remembered(cursor: str) -> set[str]:
    """The files a cursor remembers, as ``<day>/<name>|<size>|<modification time>``."""
    days = LandingCursor.from_json(cursor).days
    return {f"{day}/{entry}" for day, entries in days.items() for entry in entries}


def remembered_paths(cursor: str) -> set[str]:
    return {entry.split("|")[0] for entry in remembered(cursor)}


def landing_relative(path) -> str:
    return f"{path.parent.name}/{path.name}"


# --- landing_zone_sensor --------------------------------------------------------------------------


def test_a_gzip_drop_requests_a_run_and_other_files_alone_do_not(landing_tick, tmp_path):
    drop(tmp_path, "2026-01-02", "listings.csv.gz")
    drop(tmp_path, "2026-01-03", "listings.json")
    drop(tmp_path, "2026-01-03", "notes.txt")

    tick = landing_tick(tmp_path)

    assert requested(tick) == [("2026-01-02", "1")]


@pytest.mark.parametrize("named_as", [uri, str], ids=["file URIs", "bare local paths"])
def test_a_cursor_of_the_old_form_keeps_its_files_seen(landing_tick, tmp_path, named_as):
    """The old cursor was the key (path, size, modification time) of every file seen; before the
    listing named local files as ``file:`` URIs, the path was bare."""
    seen = drop(tmp_path, "2026-01-02", "a.csv")
    old_form = json.dumps([f"{named_as(seen)}|{seen.stat().st_size}|{FIXED_MTIME_NS}"])
    drop(tmp_path, "2026-01-03", "a.csv")

    tick = landing_tick(tmp_path, cursor=old_form)
    after = landing_tick(tmp_path, cursor=tick.cursor)

    assert requested(tick) == [("2026-01-03", "1")]
    assert after.run_requests == [] and "2 file(s) already seen" in after.skip_message


def test_first_tick_requests_one_run_per_day_with_files(landing_tick, tmp_path):
    files = [
        drop(tmp_path, "2026-01-02", "a.csv"),
        drop(tmp_path, "2026-01-02", "b.csv"),
        drop(tmp_path, "2026-01-03"),
    ]
    drop(tmp_path, "tmp", "half_uploaded.csv")

    first = landing_tick(tmp_path)

    assert first.skip_message is None
    assert requested(first) == [("2026-01-02", "2"), ("2026-01-03", "1")]
    assert all(request.job_name in (None, "daily_job") for request in first.run_requests)
    assert remembered_paths(first.cursor) == {landing_relative(path) for path in files}
    run_keys = [request.run_key for request in first.run_requests]
    assert run_keys[0].startswith("landing:2026-01-02:") and run_keys[1].startswith("landing:2026-01-03:")
    # The same files give the same run keys, so Dagster would not launch a run twice for them.
    assert [request.run_key for request in landing_tick(tmp_path).run_requests] == run_keys


def test_a_tick_with_the_returned_cursor_skips_with_a_reason(landing_tick, tmp_path):
    drop(tmp_path, "2026-01-02", "a.csv")
    drop(tmp_path, "2026-01-03", "a.csv")
    first = landing_tick(tmp_path)

    second = landing_tick(tmp_path, cursor=first.cursor)

    assert second.run_requests == []
    assert "no new landing files" in second.skip_message and "2 file(s) already seen" in second.skip_message
    assert remembered(second.cursor) == remembered(first.cursor)


def test_nothing_landed_skips_with_a_reason(landing_tick, tmp_path):
    data = landing_tick(tmp_path)

    assert data.run_requests == []
    assert data.skip_message.startswith(f"no new landing files under {tmp_path}/landing")
    assert remembered(data.cursor) == set()


def test_a_new_file_in_a_seen_day_requests_that_day_once_more_and_only_once(landing_tick, tmp_path):
    drop(tmp_path, "2026-01-02", "a.csv")
    drop(tmp_path, "2026-01-03", "a.csv")
    first = landing_tick(tmp_path)
    drop(tmp_path, "2026-01-02", "b.csv")

    second = landing_tick(tmp_path, cursor=first.cursor)
    third = landing_tick(tmp_path, cursor=second.cursor)

    assert requested(second) == [("2026-01-02", "1")]
    assert second.run_requests[0].run_key not in {request.run_key for request in first.run_requests}
    assert len(remembered(second.cursor)) == 3
    assert third.run_requests == [] and third.skip_message


def test_a_file_rewritten_with_new_content_is_requested_again(landing_tick, tmp_path):
    drop(tmp_path, "2026-01-02", "a.csv", text="id,price\n1,100\n")
    first = landing_tick(tmp_path)
    drop(tmp_path, "2026-01-02", "a.csv", text="id,price\n1,100\n2,300\n")

    second = landing_tick(tmp_path, cursor=first.cursor)

    assert requested(second) == [("2026-01-02", "1")]
    assert remembered(second.cursor) != remembered(first.cursor) and len(remembered(second.cursor)) == 1


def test_a_deleted_file_drops_out_of_the_cursor(landing_tick, tmp_path):
    kept = drop(tmp_path, "2026-01-02", "a.csv")
    deleted = drop(tmp_path, "2026-01-02", "b.csv")
    first = landing_tick(tmp_path)
    deleted.unlink()

    second = landing_tick(tmp_path, cursor=first.cursor)

    assert second.run_requests == []
    assert remembered_paths(second.cursor) == {landing_relative(kept)}


@pytest.mark.parametrize("outside_day", ["2025-12-31", "2099-01-01"])
def test_a_day_outside_the_partitions_requests_nothing_and_waits(landing_tick, tmp_path, outside_day):
    drop(tmp_path, outside_day, "a.csv")

    alone = landing_tick(tmp_path)
    drop(tmp_path, "2026-01-02", "a.csv")
    beside_a_valid_day = landing_tick(tmp_path, cursor=alone.cursor)

    assert alone.run_requests == [] and "no new landing files" in alone.skip_message
    assert requested(beside_a_valid_day) == [("2026-01-02", "1")]
    # Not remembered: once its day is a partition (the future one some day), it is requested.
    assert all(outside_day not in entry for entry in remembered(beside_a_valid_day.cursor))


# --- drift_retrain_sensor -------------------------------------------------------------------------


def report(instance, asset: str, day: str, drifted: bool) -> None:
    """What a monitoring asset records for its day, without running it (and so without Spark)."""
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=asset, partition=day, metadata={DRIFT_FLAGS[asset]: drifted})
    )


def retrain_tick(instance, consecutive_days=3, cursor=None, sensor=None):
    sensor = sensor or build_drift_retrain_sensor(consecutive_days, RUN_CONFIG)
    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor))


def test_drift_flags_by_day_keeps_the_latest_flag_of_each_asset_and_day(instance):
    report(instance, DATA_DRIFT_REPORT, "2026-01-03", True)
    report(instance, DATA_DRIFT_REPORT, "2026-01-03", False)
    report(instance, MODEL_DRIFT_REPORT, "2026-01-03", True)
    report(instance, MODEL_DRIFT_REPORT, "2026-01-02", False)
    instance.report_runless_asset_event(
        dg.AssetMaterialization(DATA_DRIFT_REPORT, metadata={"dataset_drift": True})
    )
    instance.report_runless_asset_event(dg.AssetMaterialization(DATA_DRIFT_REPORT, partition="2026-01-04"))

    assert drift_flags_by_day(instance) == {
        "2026-01-02": {MODEL_DRIFT_REPORT: False},
        "2026-01-03": {DATA_DRIFT_REPORT: False, MODEL_DRIFT_REPORT: True},
    }


def test_no_request_before_the_configured_number_of_drifted_days(instance):
    assert "only 0 day(s)" in retrain_tick(instance).skip_message
    report(instance, DATA_DRIFT_REPORT, "2026-01-02", True)
    report(instance, MODEL_DRIFT_REPORT, "2026-01-03", True)

    data = retrain_tick(instance)

    assert data.run_requests == []
    assert "only 2 day(s)" in data.skip_message and "3 drifted days in a row" in data.skip_message


def test_consecutive_drifted_days_request_training_once_with_the_run_config(instance):
    report(instance, DATA_DRIFT_REPORT, "2026-01-02", True)
    report(instance, DATA_DRIFT_REPORT, "2026-01-03", False)
    report(instance, MODEL_DRIFT_REPORT, "2026-01-03", True)  # model drift alone makes the day drifted
    report(instance, MODEL_DRIFT_REPORT, "2026-01-04", False)
    report(instance, DATA_DRIFT_REPORT, "2026-01-04", True)
    sensor = build_drift_retrain_sensor(3, RUN_CONFIG)

    first = retrain_tick(instance, sensor=sensor)
    second = retrain_tick(instance, cursor=first.cursor, sensor=sensor)

    assert sensor.job_name == "training_job"
    (request,) = first.run_requests
    assert request.run_key == "drift-retrain:2026-01-04"
    assert request.run_config == RUN_CONFIG
    assert (
        request.tags["mlvp/reason"]
        == "data or model drift flagged on each of 2026-01-02, 2026-01-03, 2026-01-04"
    )
    assert first.cursor == "2026-01-04"
    assert second.run_requests == [] and "2026-01-04" in second.skip_message
    assert second.cursor == "2026-01-04"


def test_persistent_drift_retrains_again_only_after_as_many_new_drifted_days(instance):
    for day in ("2026-01-02", "2026-01-03", "2026-01-04"):
        report(instance, DATA_DRIFT_REPORT, day, True)
    cursor = retrain_tick(instance).cursor
    assert cursor == "2026-01-04"

    for day in ("2026-01-05", "2026-01-06"):
        report(instance, DATA_DRIFT_REPORT, day, True)
        assert retrain_tick(instance, cursor=cursor).run_requests == [], day
    report(instance, MODEL_DRIFT_REPORT, "2026-01-07", True)
    again = retrain_tick(instance, cursor=cursor)

    assert [request.run_key for request in again.run_requests] == ["drift-retrain:2026-01-07"]
    assert again.cursor == "2026-01-07"


def test_a_gap_day_in_the_window_prevents_retraining(instance):
    for day in ("2026-01-02", "2026-01-03", "2026-01-05"):
        report(instance, DATA_DRIFT_REPORT, day, True)

    data = retrain_tick(instance)

    assert data.run_requests == [] and "not consecutive" in data.skip_message


def test_a_calm_day_in_the_window_prevents_retraining(instance):
    report(instance, DATA_DRIFT_REPORT, "2026-01-02", True)
    report(instance, DATA_DRIFT_REPORT, "2026-01-03", False)
    report(instance, MODEL_DRIFT_REPORT, "2026-01-03", False)
    report(instance, MODEL_DRIFT_REPORT, "2026-01-04", True)

    data = retrain_tick(instance)

    assert data.run_requests == [] and "no drift flagged on 2026-01-03" in data.skip_message


def test_a_later_materialization_of_a_day_overrides_an_earlier_one(instance):
    for day in ("2026-01-02", "2026-01-03", "2026-01-04"):
        report(instance, DATA_DRIFT_REPORT, day, True)
    report(instance, DATA_DRIFT_REPORT, "2026-01-03", False)  # the day re-run: no drift after all

    calmed = retrain_tick(instance)
    report(instance, DATA_DRIFT_REPORT, "2026-01-03", True)  # and re-run once more
    drifted = retrain_tick(instance)

    assert calmed.run_requests == [] and "no drift flagged on 2026-01-03" in calmed.skip_message
    assert [request.run_key for request in drifted.run_requests] == ["drift-retrain:2026-01-04"]


@pytest.mark.parametrize("days", [0, -1])
def test_retraining_decision_rejects_fewer_than_one_day(days):
    with pytest.raises(ValueError, match="at least 1"):
        retraining_decision({"2026-01-02": {DATA_DRIFT_REPORT: True}}, days)


def test_build_definitions_reads_the_number_of_drifted_days(storage_root, monkeypatch, instance):
    monkeypatch.setenv(RETRAIN_AFTER_DRIFTED_DAYS.name, "2")
    sensor = build_definitions("test").get_sensor_def("drift_retrain_sensor")
    report(instance, DATA_DRIFT_REPORT, "2026-01-02", True)
    report(instance, MODEL_DRIFT_REPORT, "2026-01-03", True)

    data = retrain_tick(instance, sensor=sensor)

    assert "on 2 consecutive days" in sensor.description
    assert [request.run_key for request in data.run_requests] == ["drift-retrain:2026-01-03"]


@pytest.mark.parametrize("value", ["0", "-2", "three", "2.5", ""])
def test_build_definitions_rejects_a_bad_number_of_drifted_days(storage_root, monkeypatch, value):
    monkeypatch.setenv(RETRAIN_AFTER_DRIFTED_DAYS.name, value)

    with pytest.raises(ValueError, match=RETRAIN_AFTER_DRIFTED_DAYS.name):
        build_definitions("test")


# --- every sensor and schedule of the code location -----------------------------------------------

SCHEDULES = {"daily_schedule", "training_schedule"}
SENSORS = {
    "landing_zone_sensor",
    "drift_retrain_sensor",
    "asset_check_failure_alert_sensor",
    "run_failure_alert_sensor",
}


def test_the_code_location_has_the_expected_sensors_and_schedules(dev_definitions):
    assert {schedule.name for schedule in dev_definitions.schedules} == SCHEDULES
    assert {sensor.name for sensor in dev_definitions.sensors} == SENSORS


@pytest.mark.parametrize(
    "name",
    [
        "daily_schedule",
        "training_schedule",
    ],
)
def test_every_schedule_has_a_description(dev_definitions, name):
    assert len(dev_definitions.get_schedule_def(name).description or "") > 20


@pytest.mark.parametrize("name", sorted(SENSORS))
def test_every_sensor_has_a_description_and_a_minimum_interval_of_30_seconds(dev_definitions, name):
    sensor = dev_definitions.get_sensor_def(name)

    assert len(sensor.description or "") > 20
    assert sensor.minimum_interval_seconds >= 30


# --- no Spark -------------------------------------------------------------------------------------

# Run in a fresh interpreter: the test session's own Spark fixture would make "no active
# SparkContext" meaningless here.
NO_SPARK_PROBE = textwrap.dedent(
    """
    import datetime as dt, json, os

    import dagster as dg
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    from mlvp_assets.definitions import build_definitions

    defs = build_definitions("test")
    instance = dg.DagsterInstance.ephemeral()
    for day in ("2026-01-02", "2026-01-03", "2026-01-04"):
        instance.report_runless_asset_event(
            dg.AssetMaterialization("data_drift_report", partition=day, metadata={"dataset_drift": True})
        )
    # A tick gets the resources its function names, as in the daemon.
    storage = {"storage": defs.resources["storage"]}
    landing = defs.get_sensor_def("landing_zone_sensor").evaluate_tick(
        dg.build_sensor_context(instance=instance, definitions=defs, resources=storage)
    )
    retrain = defs.get_sensor_def("drift_retrain_sensor").evaluate_tick(
        dg.build_sensor_context(instance=instance)
    )
    schedule = defs.get_schedule_def("daily_schedule").evaluate_tick(
        dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=dt.datetime(2026, 1, 3, 6, tzinfo=dt.timezone.utc),
            resources=storage,
            repository_def=defs.get_repository_def(),
        )
    )
    java_children = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat, open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if int(stat.read().rsplit(")", 1)[1].split()[1]) == os.getpid() and b"java" in cmdline.read():
                    java_children.append(pid)
        except (OSError, ValueError, IndexError):
            pass
    print(json.dumps({
        "landing": [request.partition_key for request in landing.run_requests],
        "retrain": [request.run_key for request in retrain.run_requests],
        "schedule": [request.partition_key for request in schedule.run_requests],
        "active_context": SparkContext._active_spark_context is not None,
        "gateway": SparkContext._gateway is not None,
        "active_session": SparkSession.getActiveSession() is not None,
        "java_children": java_children,
    }))
    """
)


@pytest.mark.slow
def test_evaluating_the_sensors_and_the_schedule_does_not_start_spark(tmp_path):
    drop(tmp_path, "2026-01-02", "a.csv")
    env = {**os.environ, "MLVP_ENV": "test", "MLVP_DATA_ROOT": str(tmp_path), "DAGSTER_HOME": str(tmp_path)}
    env.pop(RETRAIN_AFTER_DRIFTED_DAYS.name, None)

    completed = subprocess.run(
        [sys.executable, "-c", NO_SPARK_PROBE], env=env, capture_output=True, text=True, timeout=300
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    probe = json.loads(completed.stdout.strip().splitlines()[-1])
    # The evaluations really ran: each found its work.
    assert probe["landing"] == ["2026-01-02"]
    assert probe["retrain"] == ["drift-retrain:2026-01-04"]
    assert probe["schedule"] == ["2026-01-02"]
    assert probe["active_context"] is False and probe["gateway"] is False and probe["active_session"] is False
    assert probe["java_children"] == []
