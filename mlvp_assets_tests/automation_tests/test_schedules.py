"""The daily schedule on real landing folders: the previous day's partition, or a skip that says why."""

import datetime as dt

import dagster as dg
import pytest

from mlvp_assets.automation.schedules import DAILY_CRON, daily_schedule_for
from mlvp_assets.definitions import build_definitions
from mlvp_assets.resources.storage import StorageResource

from .landing import drop

SIX_AM_JAN_3 = dt.datetime(2026, 1, 3, 6, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def repository():
    return build_definitions("dev").get_repository_def()


@pytest.fixture
def tick(repository):
    """One evaluation of the schedule as the daemon does it, its run request checked against daily_job."""

    def evaluate(root, scheduled_execution_time=SIX_AM_JAN_3):
        context = dg.build_schedule_context(
            instance=dg.DagsterInstance.ephemeral(),
            scheduled_execution_time=scheduled_execution_time,
            resources={"storage": StorageResource(root=str(root))},
            repository_def=repository,
        )
        return daily_schedule_for("test").evaluate_tick(context)

    return evaluate


def test_requests_the_previous_days_partition_when_it_has_landing_files(tick, tmp_path):
    drop(tmp_path, "2026-01-02", "a.csv")
    drop(tmp_path, "2026-01-02", "b.csv")
    drop(tmp_path, "2026-01-03", "a.csv")  # today's drop is not yesterday's

    data = tick(tmp_path)

    (request,) = data.run_requests
    assert data.skip_message is None
    assert request.partition_key == "2026-01-02"
    assert request.run_key == "daily:2026-01-02"
    assert request.tags["mlvp/landing_files"] == "2"


def test_a_gzip_landing_file_counts_and_other_files_do_not(tick, tmp_path):
    drop(tmp_path, "2026-01-02", "listings.csv.gz")
    drop(tmp_path, "2026-01-02", "listings.json")

    (request,) = tick(tmp_path).run_requests

    assert request.partition_key == "2026-01-02" and request.tags["mlvp/landing_files"] == "1"


def test_the_previous_day_is_taken_in_utc(tick, tmp_path):
    drop(tmp_path, "2026-01-02", "a.csv")
    # 22:00 in San Francisco on January 2nd is 06:00 UTC on January 3rd.
    pacific = dt.timezone(dt.timedelta(hours=-8))

    data = tick(tmp_path, scheduled_execution_time=dt.datetime(2026, 1, 2, 22, tzinfo=pacific))

    assert [request.partition_key for request in data.run_requests] == ["2026-01-02"]


def test_a_day_without_landing_files_is_skipped_with_a_reason_naming_it(tick, tmp_path):
    drop(tmp_path, "2026-01-01", "a.csv")
    drop(tmp_path, "2026-01-03", "a.csv")
    drop(tmp_path, "2026-01-02", "notes.txt")  # not a landing file

    data = tick(tmp_path)

    assert data.run_requests == []
    assert "no landing files for 2026-01-02" in data.skip_message


def test_a_missing_landing_zone_is_skipped_not_failed(tick, tmp_path):
    data = tick(tmp_path / "nowhere")

    assert data.run_requests == []
    assert "no landing files for 2026-01-02" in data.skip_message


@pytest.mark.parametrize(
    ("env", "status"),
    [
        ("dev", dg.DefaultScheduleStatus.RUNNING),
        ("test", dg.DefaultScheduleStatus.STOPPED),
        ("prod", dg.DefaultScheduleStatus.STOPPED),
    ],
)
def test_runs_by_default_in_dev_only(env, status):
    assert daily_schedule_for(env).default_status == status


def test_runs_daily_at_six_utc_for_the_daily_job_and_says_so():
    schedule = daily_schedule_for("prod")

    assert (schedule.cron_schedule, DAILY_CRON) == ("0 6 * * *", "0 6 * * *")
    assert schedule.execution_timezone == "UTC"
    assert schedule.job_name == "daily_job"
    assert "06:00 UTC" in schedule.description and "skipped" in schedule.description
