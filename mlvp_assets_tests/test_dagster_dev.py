"""End to end through a running ``dagster dev``: the UI's own GraphQL API sees the whole project,
launches ``daily_job`` for a simulated day, and reads its asset check results back.

The champion model ``daily_job`` scores with is trained first, in this process: two simulated
landing days, ``medallion_job`` for day 1 and ``training_job``. Then ``dagster dev`` starts on
127.0.0.1 with a temporary ``DAGSTER_HOME`` and the same storage root, and day 2 runs in its run
worker (a separate process with its own Spark session), as it would for a user clicking in the UI.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from mlvp_assets.definitions import build_definitions
from mlvp_assets.jobs import SPARK_RUN_TAG, SPARK_RUN_TAGS
from mlvp_assets.simulate import simulate_landing
from mlvp_assets_tests.conftest import DAY_1, REPO_ROOT
from mlvp_assets_tests.dagster_server import DagsterDevServer, dagster_dev
from mlvp_assets_tests.run_queue import assert_later_runs_wait

pytestmark = pytest.mark.slow

DAY_2 = DAY_1 + dt.timedelta(days=1)
ROWS_PER_DAY = 300
LOAD_TIMEOUT_SECONDS = 180  # importing the project (pyspark, mlflow, evidently) takes ~80 s on two busy cores
RUN_TIMEOUT_SECONDS = 1200  # the run worker starts its own JVM; a day of 300 rows takes a few minutes

EXPECTED_ASSETS = {
    "bronze_listings",
    "silver_listings",
    "gold_listings",
    "training_set",
    "price_model",
    "daily_predictions",
    "unseen_listings",
    "data_drift_report",
    "model_drift_report",
    "daily_dashboard",
}
EXPECTED_JOBS = {"medallion_job", "daily_job", "training_job"}
EXPECTED_SCHEDULES = {"daily_schedule": "STOPPED", "training_schedule": "STOPPED"}
EXPECTED_SENSORS = {
    "landing_zone_sensor": "STOPPED",
    "drift_retrain_sensor": "STOPPED",
    "asset_check_failure_alert_sensor": "RUNNING",
    "run_failure_alert_sensor": "RUNNING",
}
MUST_PASS_CHECKS = ("gold_listings_match_contract", "predictions_cover_gold")
WARN_CHECKS = ("no_data_drift", "no_model_drift", "unseen_share_below_threshold")

REPOSITORY_QUERY = """
query Repository($selector: RepositorySelector!) {
  repositoryOrError(repositorySelector: $selector) {
    __typename
    ... on Repository {
      jobs { name }
      schedules { name scheduleState { status } }
      sensors { name sensorState { status } }
      assetNodes {
        assetKey { path }
        groupName
        assetChecksOrError {
          __typename
          ... on AssetChecks { checks { name blocking jobNames } }
        }
      }
    }
    ... on Error { message }
  }
}
"""

RUN_RESULT_QUERY = """
query RunResult($runId: ID!) {
  runOrError(runId: $runId) {
    ... on Run {
      status
      startTime
      endTime
      tags { key value }
      assetMaterializations { assetKey { path } partition }
    }
  }
}
"""

CHECK_EXECUTIONS_QUERY = """
query CheckExecutions($assetKey: AssetKeyInput!, $checkName: String!) {
  assetCheckExecutions(assetKey: $assetKey, checkName: $checkName, limit: 50) {
    runId
    status
    partition
    evaluation { success severity description partition }
  }
}
"""


def prepare_champion(root) -> dict[str, float]:
    """Landing files for days 1-2, medallion for day 1 and a trained, promoted champion, in this
    process (its Spark session is the ``spark`` fixture's). Needs MLVP_ENV/MLVP_DATA_ROOT set."""
    timings = {}
    started = time.monotonic()
    simulate_landing(root, DAY_1, days=2, rows_per_day=ROWS_PER_DAY)
    defs = build_definitions("test")
    medallion = defs.resolve_job_def("medallion_job").execute_in_process(partition_key=DAY_1.isoformat())
    assert medallion.success
    timings["landing files + medallion day 1"] = time.monotonic() - started
    started = time.monotonic()
    training = defs.resolve_job_def("training_job").execute_in_process(raise_on_error=False)
    assert training.success, [event.message for event in training.all_events if event.is_failure]
    promotion = {e.check_name: e for e in training.get_asset_check_evaluations()}["challenger_beats_champion"]
    assert promotion.passed, promotion.description  # the first model becomes the champion
    timings["training"] = time.monotonic() - started
    return timings


def repository(server: DagsterDevServer, location: dict[str, str]) -> dict:
    answer = server.graphql(REPOSITORY_QUERY, {"selector": location})["repositoryOrError"]
    assert answer["__typename"] == "Repository", answer
    return answer


def checks_by_name(repo: dict) -> dict[str, dict]:
    """Every asset check of the repository by name, with its asset key path."""
    checks = {}
    for node in repo["assetNodes"]:
        assert node["assetChecksOrError"]["__typename"] == "AssetChecks", node
        for check in node["assetChecksOrError"]["checks"]:
            assert check["name"] not in checks, f"check name {check['name']} used twice"
            checks[check["name"]] = {**check, "asset_path": node["assetKey"]["path"]}
    return checks


def check_evaluation_of_run(server: DagsterDevServer, check: dict, run_id: str) -> dict | None:
    """The one evaluated execution of ``check`` in ``run_id`` (its partition is asserted by the caller:
    a check spec without ``partitions_def`` would store its result under no partition)."""
    executions = server.graphql(
        CHECK_EXECUTIONS_QUERY, {"assetKey": {"path": check["asset_path"]}, "checkName": check["name"]}
    )["assetCheckExecutions"]
    evaluated = [
        execution for execution in executions if execution["runId"] == run_id and execution["evaluation"]
    ]
    assert len(evaluated) <= 1, f"{check['name']} evaluated more than once in run {run_id}: {evaluated}"
    return evaluated[0] if evaluated else None


def test_daily_job_runs_in_dagster_dev_and_its_checks_read_back(storage_root, spark, tmp_path):
    timings = prepare_champion(storage_root)

    started = time.monotonic()
    env = {"MLVP_ENV": "test", "MLVP_DATA_ROOT": str(storage_root)}
    with dagster_dev(
        REPO_ROOT,
        tmp_path / "dagster_home",
        tmp_path / "dagster_dev.log",
        env,
        load_timeout=LOAD_TIMEOUT_SECONDS,
    ) as (server, location):
        timings["dagster dev until loaded"] = time.monotonic() - started

        repo = repository(server, location)
        assets = {"/".join(node["assetKey"]["path"]) for node in repo["assetNodes"]}
        assert assets >= EXPECTED_ASSETS, EXPECTED_ASSETS - assets
        assert {job["name"] for job in repo["jobs"]} >= EXPECTED_JOBS
        schedules = {schedule["name"]: schedule["scheduleState"]["status"] for schedule in repo["schedules"]}
        assert schedules == EXPECTED_SCHEDULES
        sensors = {sensor["name"]: sensor["sensorState"]["status"] for sensor in repo["sensors"]}
        assert sensors == EXPECTED_SENSORS
        checks = checks_by_name(repo)
        assert set(MUST_PASS_CHECKS + WARN_CHECKS) <= set(checks), set(MUST_PASS_CHECKS + WARN_CHECKS) - set(
            checks
        )
        assert checks["gold_listings_match_contract"]["blocking"] is True
        assert checks["gold_listings_match_contract"]["asset_path"] == ["gold_listings"]
        daily_checks = {name for name, check in checks.items() if "daily_job" in check["jobNames"]}
        assert set(MUST_PASS_CHECKS + WARN_CHECKS) <= daily_checks

        started = time.monotonic()
        run_id = server.client.submit_job_execution(
            "daily_job",
            repository_location_name=location["repositoryLocationName"],
            repository_name=location["repositoryName"],
            tags={"dagster/partition": DAY_2.isoformat()},
        )
        # deploy/dagster.yaml: while this Spark run is in progress, no other starts.
        timings["later runs held in the queue"] = assert_later_runs_wait(
            server, location, run_id, DAY_1.isoformat()
        )
        server.wait_for_run(run_id, timeout=RUN_TIMEOUT_SECONDS)
        timings["daily_job run (launch to SUCCESS)"] = time.monotonic() - started

        run = server.graphql(RUN_RESULT_QUERY, {"runId": run_id})["runOrError"]
        assert {"key": "dagster/partition", "value": DAY_2.isoformat()} in run["tags"]
        assert {"key": SPARK_RUN_TAG, "value": SPARK_RUN_TAGS[SPARK_RUN_TAG]} in run["tags"]
        timings["daily_job run (start to end, server clock)"] = run["endTime"] - run["startTime"]
        materialized = {
            "/".join(event["assetKey"]["path"])
            for event in run["assetMaterializations"]
            if event["partition"] == DAY_2.isoformat()
        }
        assert EXPECTED_ASSETS - {"training_set", "price_model"} <= materialized, materialized

        executions = {
            name: check_evaluation_of_run(server, checks[name], run_id) for name in sorted(daily_checks)
        }
        missing = sorted(name for name, execution in executions.items() if execution is None)
        assert not missing, f"checks of daily_job without a result in run {run_id}: {missing}"
        for name in MUST_PASS_CHECKS:
            execution = executions[name]
            assert execution["status"] == "SUCCEEDED", execution
            assert execution["evaluation"]["success"] is True, execution
        # Every check of daily_job is partitioned like its asset: its result is the day's.
        wrong_day = {
            name: execution["partition"]
            for name, execution in executions.items()
            if execution["partition"] != DAY_2.isoformat()
        }
        assert not wrong_day, wrong_day
        for name in WARN_CHECKS:
            execution = executions[name]
            assert execution["evaluation"]["severity"] == "WARN", execution
            assert execution["status"] in {"SUCCEEDED", "FAILED"}, execution  # a warning may fail; it ran
        print(
            "\ncheck results of daily_job for "
            + DAY_2.isoformat()
            + "".join(
                f"\n  {name}: {execution['status']} ({execution['evaluation']['severity']}, "
                f"partition {execution['partition']}) "
                f"{execution['evaluation']['description']}"
                for name, execution in executions.items()
            )
        )

        started = time.monotonic()
    timings["stopping dagster dev"] = time.monotonic() - started
    assert not server.live_processes(), (
        f"processes of dagster dev left after it was stopped: {server.live_processes()}"
    )
    print("timings: " + ", ".join(f"{step} {seconds:.0f} s" for step, seconds in timings.items()))
