"""The run queue of a running ``dagster dev`` under the project's ``deploy/dagster.yaml``: while
one Spark run is in progress, the next ones wait.

:func:`assert_later_runs_wait` launches, during a run, two more for another day, the two ways a
user starts one: ``medallion_job`` from the Jobs page (a job run carrying ``mlvp/spark``) and the
asset graph's Materialize (Dagster's implicit asset job, carrying only the code location). Both
must stay ``QUEUED`` while the first is in progress; they are then cancelled while still queued,
so no second JVM ever starts. Without the limits Dagster's queue would start them within seconds.
"""

from __future__ import annotations

import contextlib
import time

from dagster import DagsterRunStatus
from dagster_graphql import DagsterGraphQLClientError

from mlvp_assets.jobs import medallion_job
from mlvp_assets_tests.dagster_server import DagsterDevServer

IMPLICIT_ASSET_JOB = "__ASSET_JOB"  # the job Dagster runs for the asset graph's Materialize button
IN_PROGRESS = {DagsterRunStatus.STARTING, DagsterRunStatus.STARTED}

LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on Error { message }
  }
}
"""


def launch_asset_run(server: DagsterDevServer, location: dict[str, str], asset: str, partition: str) -> str:
    """Launch what the asset graph's Materialize launches for ``asset`` and ``partition``."""
    params = {
        "selector": {**location, "jobName": IMPLICIT_ASSET_JOB, "assetSelection": [{"path": [asset]}]},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
    }
    answer = server.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
    assert answer["__typename"] == "LaunchRunSuccess", answer
    return answer["run"]["runId"]


def wait_until_in_progress(server: DagsterDevServer, run_id: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while (status := server.client.get_run_status(run_id)) not in IN_PROGRESS:
        assert status == DagsterRunStatus.QUEUED or status == DagsterRunStatus.NOT_STARTED, (
            f"run {run_id} is {status.value} before it started\n{server.run_errors(run_id)}"
        )
        assert time.monotonic() < deadline, f"run {run_id} not started within {timeout:.0f} s"
        time.sleep(0.5)


def assert_later_runs_wait(
    server: DagsterDevServer, location: dict[str, str], running: str, partition: str, hold: float = 30
) -> float:
    """While run ``running`` is in progress, launch a ``medallion_job`` run and an asset-graph run
    of ``bronze_listings`` for ``partition``; both must stay QUEUED for ``hold`` seconds (the daemon
    checks its queue every second or two); then cancel them. Returns the seconds they were held."""
    wait_until_in_progress(server, running)
    waiting = {
        "medallion_job (Jobs page)": server.client.submit_job_execution(
            medallion_job.name,
            repository_location_name=location["repositoryLocationName"],
            repository_name=location["repositoryName"],
            tags={"dagster/partition": partition},
        ),
        "bronze_listings (asset graph)": launch_asset_run(server, location, "bronze_listings", partition),
    }
    started = time.monotonic()
    try:
        while (held := time.monotonic() - started) < hold:
            assert server.client.get_run_status(running) in IN_PROGRESS, (
                f"run {running} ended after {held:.0f} s, before the queue was watched for {hold:.0f} s"
            )
            statuses = {name: server.client.get_run_status(run_id) for name, run_id in waiting.items()}
            assert all(status == DagsterRunStatus.QUEUED for status in statuses.values()), (
                f"a second Spark run left the queue while run {running} is in progress, after {held:.0f} s: "
                + ", ".join(f"{name} {status.value}" for name, status in statuses.items())
            )
            time.sleep(1)
    finally:
        for run_id in waiting.values():
            with contextlib.suppress(DagsterGraphQLClientError):  # an assertion above says why
                server.client.terminate_run(run_id)
    for name, run_id in waiting.items():
        status = server.client.get_run_status(run_id)
        assert status == DagsterRunStatus.CANCELED, (
            f"{name} is {status.value} after cancelling it while queued"
        )
    return held
