"""The Dagster instance settings in the repository (``deploy/dagster.yaml``): Dagster accepts them,
they hold every Spark run to one at a time, every job carries the tag they limit, a run whose
processes died is failed by the daemon's run monitoring (so it does not hold that one slot for
ever), and ``make dev`` and ``make demo`` put them in ``DAGSTER_HOME``. That the daemon's queue
honours them while a run is in progress is shown through a real ``dagster dev``
(``test_dagster_dev.py``)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import dagster as dg
import pytest
import yaml

from mlvp_assets.definitions import build_definitions
from mlvp_assets.jobs import SPARK_RUN_TAG
from mlvp_assets_tests.conftest import REPO_ROOT
from mlvp_assets_tests.dagster_server import INSTANCE_YAML
from mlvp_assets_tests.server_processes import BIN, start, stop_groups, wait_for

CODE_LOCATION_TAG = "dagster/code_location"
IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def code_location_name() -> str:
    """The name workspace.yaml gives the code location (Dagster's default: the module's name)."""
    (entry,) = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())["load_from"]
    module = entry["python_module"]
    return module.get("location_name", module["module_name"])


def test_the_instance_yaml_limits_spark_runs_to_one_at_a_time(tmp_path, monkeypatch):
    shutil.copy(REPO_ROOT / INSTANCE_YAML, tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:  # fails on a setting Dagster does not know
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {"key": SPARK_RUN_TAG, "limit": 1} in limits
    # Asset-graph runs carry no job tags, but every launched run carries its code location.
    assert {"key": CODE_LOCATION_TAG, "value": code_location_name(), "limit": 1} in limits


def test_every_job_carries_the_limited_tag(storage_root):
    defs = build_definitions("test")
    jobs = [job for job in defs.resolve_all_job_defs() if not job.name.startswith("__")]
    assert {job.name for job in jobs} >= {"medallion_job", "daily_job", "training_job"}
    untagged = [
        job.name for job in jobs if SPARK_RUN_TAG not in job.tags or SPARK_RUN_TAG not in job.run_tags
    ]
    assert untagged == []


def test_make_dev_and_demo_install_the_instance_yaml(tmp_path):
    for target in ("dev", "demo"):
        planned = subprocess.run(
            ["make", "-n", target, f"DAGSTER_HOME={tmp_path}"],
            cwd=REPO_ROOT,
            env={key: value for key, value in os.environ.items() if key != "MAKEFLAGS"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert planned.returncode == 0, planned.stderr
        assert f'cp {INSTANCE_YAML} "{tmp_path}/dagster.yaml"' in planned.stdout, planned.stdout


CRASHING_JOB = """
import os
import signal

import dagster as dg


@dg.op
def crash():
    os.killpg(0, signal.SIGKILL)  # the run's whole process group, as a crash of the host would


@dg.job(tags={"mlvp/spark": "true"})
def crashing_job():
    crash()


defs = dg.Definitions(jobs=[crashing_job])
"""


@pytest.mark.slow
def test_a_run_whose_processes_died_is_failed_by_the_daemon_and_frees_the_spark_slot(tmp_path):
    """A killed run stays STARTED; the instance's run monitoring fails it. The repository's
    settings, with the runtime limit and the poll shortened so that the test takes seconds."""
    settings = yaml.safe_load((REPO_ROOT / INSTANCE_YAML).read_text())
    assert settings["run_monitoring"]["enabled"] is True
    assert 3600 <= settings["run_monitoring"]["max_runtime_seconds"] <= 6 * 3600
    settings["run_monitoring"].update(max_runtime_seconds=3, poll_interval_seconds=1)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(settings))
    job_file = tmp_path / "crashing.py"
    job_file.write_text(CRASHING_JOB)
    env = {**os.environ, "DAGSTER_HOME": str(home)}

    crashed = subprocess.run(
        [str(BIN / "dagster"), "job", "execute", "-f", str(job_file), "-j", "crashing_job"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.STARTED  # nothing is left to say it ended
        assert len(instance.get_run_ids(dg.RunsFilter(statuses=IN_PROGRESS))) == 1

        daemon = start(
            "dagster-daemon",
            [str(BIN / "dagster-daemon"), "run", "-f", str(job_file)],
            env,
            tmp_path / "daemon.log",
        )
        try:
            wait_for(
                "run monitoring failing the crashed run",
                lambda: instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE,
                timeout=120,
                watched=[daemon],
            )
        finally:
            stop_groups([daemon])
        assert instance.get_run_ids(dg.RunsFilter(statuses=IN_PROGRESS)) == []
        messages = [
            record.event_log_entry.message for record in instance.get_records_for_run(run.run_id).records
        ]
        assert any("exceeding maximum runtime of 3 seconds" in message for message in messages), messages
