"""The sensors behind a long history: the landing sensor over a year of landing days (tick time,
cursor size, a late file in an old day), the drift-retrain sensor behind a 600-day backfill of
drift reports. Real files, real temporary Dagster instances, no Spark."""

from __future__ import annotations

import datetime as dt
import os
import time
import types
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.test_utils import freeze_time

from mlvp_assets.automation import sensors
from mlvp_assets.automation.landing_zone import RECENT_DAYS, SETTLE_NS
from mlvp_assets.automation.sensors import (
    build_drift_retrain_sensor,
    drift_flags_by_day,
    landing_zone_sensor,
)
from mlvp_assets.definitions import build_definitions
from mlvp_assets.names import DATA_DRIFT_REPORT, MODEL_DRIFT_REPORT
from mlvp_assets.resources.storage import StorageResource

from .landing import CSV, drop
from .test_sensors import RUN_CONFIG, remembered, report

FIRST_DAY = dt.date(2026, 1, 1)
FILES_PER_DAY = 3
DAY_NS = 86_400 * 1_000_000_000
# Dagster's clock for these tests: every day of a year from FIRST_DAY is a daily partition.
A_YEAR_LATER = dt.datetime(2027, 1, 2, 12, tzinfo=dt.UTC)
TICK_SECONDS_BOUND = 5.0
CURSOR_BYTES_BOUND = 4096


def land_history(root: Path, days: int) -> list[str]:
    """``days`` landing days of 3 small files each, as if one day had landed every day: the last
    one a day ago, the first ``days`` days ago (by the real clock, which file times follow)."""
    now_ns = time.time_ns()
    names = [(FIRST_DAY + dt.timedelta(days=offset)).isoformat() for offset in range(days)]
    for offset, day in enumerate(names):
        landed_ns = now_ns - (days - offset) * DAY_NS
        for part in range(1, FILES_PER_DAY + 1):
            drop(root, day, f"listings_{day}_part{part}.csv", mtime_ns=landed_ns)
    return names


@pytest.fixture(scope="module")
def dev_definitions():
    return build_definitions("dev")


@pytest.fixture
def landing_tick(dev_definitions):
    """A timed evaluation of the landing sensor as the daemon does it, with a year of partitions."""
    instance = dg.DagsterInstance.ephemeral()

    def tick(root: Path | str, cursor: str | None = None) -> tuple[dg.SensorResult, float]:
        context = dg.build_sensor_context(
            instance=instance,
            cursor=cursor,
            definitions=dev_definitions,
            resources={"storage": StorageResource(root=str(root))},
        )
        started = time.perf_counter()
        with freeze_time(A_YEAR_LATER):
            data = landing_zone_sensor.evaluate_tick(context)
        return data, time.perf_counter() - started

    return tick


def test_a_year_of_landing_days_ticks_in_seconds_and_keeps_the_cursor_as_small_as_a_month(
    landing_tick, tmp_path
):
    figures = {}
    for days in (30, 365):
        root = tmp_path / f"{days}_days"
        landed = land_history(root, days)

        first, first_seconds = landing_tick(root)
        second, second_seconds = landing_tick(root, first.cursor)

        assert [request.partition_key for request in first.run_requests] == landed
        assert {request.tags["mlvp/new_files"] for request in first.run_requests} == {str(FILES_PER_DAY)}
        assert second.run_requests == [], second.skip_message
        assert f"{days * FILES_PER_DAY} file(s) already seen" in second.skip_message
        figures[days] = {
            "first tick s": round(first_seconds, 3),
            "second tick s": round(second_seconds, 3),
            "cursor bytes": len(second.cursor),
            "files remembered": len(remembered(second.cursor)),
        }
    print(f"landing sensor figures: {figures}")

    assert all(
        figure["first tick s"] < TICK_SECONDS_BOUND and figure["second tick s"] < TICK_SECONDS_BOUND
        for figure in figures.values()
    ), figures
    # The cursor holds the newest days only: the same size for a year as for a month.
    assert figures[365]["files remembered"] == figures[30]["files remembered"] == RECENT_DAYS * FILES_PER_DAY
    assert figures[365]["cursor bytes"] == figures[30]["cursor bytes"] < CURSOR_BYTES_BOUND, figures


def test_a_file_landing_in_an_old_day_after_a_long_time_is_picked_up_once(landing_tick, tmp_path):
    landed = land_history(tmp_path, 365)
    settled, _ = landing_tick(tmp_path)
    old_day = landed[9]  # 356 days ago, long outside the remembered days

    drop(tmp_path, old_day, "listings_late.csv", mtime_ns=time.time_ns())  # written now
    late, seconds = landing_tick(tmp_path, settled.cursor)
    again, _ = landing_tick(tmp_path, late.cursor)

    assert [(request.partition_key, request.tags["mlvp/new_files"]) for request in late.run_requests] == [
        (old_day, "1")
    ]
    assert seconds < TICK_SECONDS_BOUND
    assert again.run_requests == [], again.skip_message
    # Remembered one by one while it is recent, like the newest days.
    assert f"{old_day}/listings_late.csv" in {entry.split("|")[0] for entry in remembered(late.cursor)}


def test_an_old_day_copied_with_its_old_modification_time_is_not_seen_as_documented(landing_tick, tmp_path):
    """The limit the landing module's docstring states: a settled day is only looked at for files
    modified since it settled; a copy that keeps a modification time older than that is not new."""
    landed = land_history(tmp_path, 60)
    settled, _ = landing_tick(tmp_path)
    kept_old_time = time.time_ns() - 30 * DAY_NS

    drop(tmp_path, landed[0], "copied_with_cp_p.csv", text=CSV, mtime_ns=kept_old_time)
    copied, _ = landing_tick(tmp_path, settled.cursor)
    os.utime(tmp_path / "landing" / landed[0] / "copied_with_cp_p.csv")  # touched: modified now
    touched, _ = landing_tick(tmp_path, copied.cursor)

    assert copied.run_requests == []
    assert [request.partition_key for request in touched.run_requests] == [landed[0]]


def test_a_year_copied_in_at_once_is_remembered_file_by_file_only_until_it_settles(
    landing_tick, tmp_path, monkeypatch
):
    """Files modified within the settle time are remembered one by one (one could still appear
    with an older time than one already listed); once it has passed, only the newest days are."""
    landed = land_history(tmp_path, 365)
    for path in (tmp_path / "landing").glob("*/*.csv"):
        os.utime(path)  # the whole year modified just now, as a bulk copy does

    first, _ = landing_tick(tmp_path)
    just_copied = remembered(first.cursor)
    after_settling = time.time_ns() + SETTLE_NS + 60 * 1_000_000_000
    monkeypatch.setattr(sensors, "time", types.SimpleNamespace(time_ns=lambda: after_settling))
    settled, _ = landing_tick(tmp_path, first.cursor)

    assert len(first.run_requests) == len(landed)
    assert len(just_copied) == 365 * FILES_PER_DAY
    assert settled.run_requests == []
    assert len(remembered(settled.cursor)) == RECENT_DAYS * FILES_PER_DAY


@pytest.mark.slow
def test_a_year_of_landing_days_in_a_bucket_ticks_in_seconds(landing_tick, monkeypatch):
    """On an object store every request is a round trip: listing a year one day folder at a time
    took 8 s against this server; the landing zone is listed at once."""
    from mlvp_assets_tests.object_store import running_s3_server, s3_client, use_s3_server

    bucket, days = "mlvp-landing", [(FIRST_DAY + dt.timedelta(days=n)).isoformat() for n in range(365)]
    with running_s3_server() as endpoint:
        use_s3_server(monkeypatch, endpoint)
        client = s3_client(endpoint)
        client.create_bucket(Bucket=bucket)
        for day in days:
            for part in range(1, FILES_PER_DAY + 1):
                key = f"mlvp/landing/{day}/listings_{day}_part{part}.csv"
                client.put_object(Bucket=bucket, Key=key, Body=CSV.encode())
        root = f"s3a://{bucket}/mlvp"

        first, first_seconds = landing_tick(root)
        client.put_object(Bucket=bucket, Key=f"mlvp/landing/{days[9]}/late.csv", Body=CSV.encode())
        second, second_seconds = landing_tick(root, first.cursor)
    print(
        f"landing sensor on a bucket, 365 days: first tick {first_seconds:.2f} s, next {second_seconds:.2f} s"
    )

    assert [request.partition_key for request in first.run_requests] == days
    assert [request.partition_key for request in second.run_requests] == [days[9]]
    assert first_seconds < TICK_SECONDS_BOUND and second_seconds < TICK_SECONDS_BOUND


# --- drift_retrain_sensor -------------------------------------------------------------------------

BACKFILL_DAYS = 600
RECENT = ["2027-08-20", "2027-08-21", "2027-08-22"]


@pytest.mark.parametrize(
    ("recent_drifted", "expected"),
    [(True, ["drift-retrain:2027-08-22"]), (False, [])],
    ids=["drifted recent days, calm backfill", "calm recent days, drifted backfill"],
)
def test_a_600_day_backfill_of_drift_reports_does_not_hide_the_recent_days(recent_drifted, expected):
    """The recent days are reported first, then a backfill of 600 older days for both monitoring
    assets (1,200 newer materializations): the decision is still the recent days'."""
    instance = dg.DagsterInstance.ephemeral()
    for day in RECENT:
        report(instance, DATA_DRIFT_REPORT, day, recent_drifted)
        report(instance, MODEL_DRIFT_REPORT, day, False)
    first_recent = dt.date.fromisoformat(RECENT[0])
    backfill = [(first_recent - dt.timedelta(days=back)).isoformat() for back in range(BACKFILL_DAYS, 0, -1)]
    for day in backfill:
        report(instance, DATA_DRIFT_REPORT, day, not recent_drifted)
        report(instance, MODEL_DRIFT_REPORT, day, not recent_drifted)
    sensor = build_drift_retrain_sensor(3, RUN_CONFIG)

    started = time.perf_counter()
    data = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    seconds = time.perf_counter() - started
    print(f"drift-retrain tick behind a {BACKFILL_DAYS}-day backfill: {seconds:.3f} s")

    assert [request.run_key for request in data.run_requests] == expected, data.skip_message
    assert seconds < TICK_SECONDS_BOUND
    flags = drift_flags_by_day(instance)
    assert len(flags) == BACKFILL_DAYS + len(RECENT)
    assert all(flags[day][DATA_DRIFT_REPORT] is recent_drifted for day in RECENT)
    assert drift_flags_by_day(instance, after=RECENT[0], newest=1) == {
        RECENT[-1]: {DATA_DRIFT_REPORT: recent_drifted, MODEL_DRIFT_REPORT: False}
    }
