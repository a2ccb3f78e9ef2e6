"""Two runs of different days at the same time, in two processes, from an empty storage root:
both land, and nothing of either day is lost.

Each process is a real run of ``medallion_job`` (``run_on_signal``: the project's definitions in
the test environment, one Spark session, the shared ``DAGSTER_HOME``). Both start their Spark
session first and then wait for one signal, so their runs begin together and race for the first
creation of every table (bronze, the ingestion and data-quality logs, silver, quarantine, gold) and
for the MERGEs into ``data_quality_log``. Delta fails the loser of such a race with a conflict
(``ProtocolChangedException`` when two writers create one table, ``ConcurrentAppendException``
for MERGEs into an unpartitioned log); ``delta_tables.retry_on_conflict`` does the write again.
The test asserts that the race happened (at least one logged retry; a run that never collided
would prove nothing) and that every row of both days is where it belongs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from pyspark.sql import functions as F

from mlvp_assets.bronze.ingest import Status
from mlvp_assets.names import BRONZE_TABLE, DATA_QUALITY_LOG, GOLD_TABLE, INGESTION_LOG, SILVER_TABLE
from mlvp_assets.resources.storage import StorageResource
from mlvp_assets.schema import PARTITION_COLUMN
from mlvp_assets.simulate import simulate_landing
from mlvp_assets_tests.assets_tests.medallion import assert_accounting_holds, day_rows
from mlvp_assets_tests.conftest import DAY_1, REPO_ROOT
from mlvp_assets_tests.dagster_server import INSTANCE_YAML

pytestmark = pytest.mark.slow

DAYS = (DAY_1, DAY_1 + dt.timedelta(days=1))
ROWS_PER_DAY = 40
READY_TIMEOUT_SECONDS = 300  # imports and a JVM per process, on two shared cores
RUN_TIMEOUT_SECONDS = 600
RETRY_MESSAGE = "Delta commit conflict on "


@contextlib.contextmanager
def processes_started_together(root: Path, dagster_home: Path, work: Path):
    """Yield the two processes (and their log files) once both ran, and how long the start and the
    runs took; each is stopped, its whole process group with its Spark JVM, whatever happens."""
    env = {
        **os.environ,
        "MLVP_ENV": "test",
        "MLVP_DATA_ROOT": str(root),
        "DAGSTER_HOME": str(dagster_home),
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    go = work / "go"
    begun = time.monotonic()
    started: list[tuple[subprocess.Popen, Path, Path]] = []
    try:
        for day in DAYS:
            log, ready = work / f"{day}.log", work / f"{day}.ready"
            with open(log, "wb") as output:
                process = subprocess.Popen(
                    [sys.executable, "-m", "mlvp_assets_tests.assets_tests.run_on_signal", "medallion_job"]
                    + [day.isoformat(), str(ready), str(go)],
                    cwd=REPO_ROOT,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            started.append((process, log, ready))
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not all(ready.exists() for _, _, ready in started):
            for process, log, _ in started:
                assert process.poll() is None, f"exited before the signal:\n{log.read_text()[-5000:]}"
            assert time.monotonic() < deadline, "the two processes were not ready in time"
            time.sleep(0.2)
        go.touch()
        signalled = time.monotonic()
        for process, log, _ in started:
            try:
                process.wait(timeout=RUN_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                pytest.fail(f"run still going after {RUN_TIMEOUT_SECONDS} s:\n{log.read_text()[-5000:]}")
        timings = {"start and wait (imports, JVM)": signalled - begun, "runs": time.monotonic() - signalled}
        yield [(process, log) for process, log, _ in started], timings
    finally:
        for process, _, _ in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the group: python, its JVM, its workers
            process.wait(timeout=30)


def test_two_days_run_at_once_in_two_processes_and_both_land(spark, tmp_path, monkeypatch):
    root, dagster_home = tmp_path / "root", tmp_path / "dagster_home"
    root.mkdir()
    dagster_home.mkdir()
    shutil.copy(REPO_ROOT / INSTANCE_YAML, dagster_home / "dagster.yaml")
    simulation = simulate_landing(root, DAY_1, days=len(DAYS), rows_per_day=ROWS_PER_DAY, seed=11)
    # The instance's storage exists before the runs, as under dagster dev: two processes creating
    # the SQLite schema of an empty DAGSTER_HOME at once collide in Dagster's own migrations.
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    dg.DagsterInstance.get().dispose()

    with processes_started_together(root, dagster_home, tmp_path) as (runs, timings):
        outputs = {log.stem: log.read_text(errors="replace") for _, log in runs}
        for process, log in runs:
            assert process.returncode == 0, (
                f"{log.stem}: exit {process.returncode}\n{outputs[log.stem][-8000:]}"
            )

    retries = [line for output in outputs.values() for line in output.splitlines() if RETRY_MESSAGE in line]
    took = ", ".join(f"{step} {seconds:.0f} s" for step, seconds in timings.items())
    print(f"\n{took}; {len(retries)} commit(s) retried:\n" + "\n".join(retries))
    assert retries, "no commit conflict: the two runs never collided, so this test proved nothing"

    storage = StorageResource(root=str(root))
    for day in DAYS:
        day_files = [path for path in simulation.files if path.parent.name == day.isoformat()]
        counts = assert_accounting_holds(spark, storage, day.isoformat())
        assert counts["bronze"] == sum(simulation.rows_per_file[path] for path in day_files), counts
        assert day_rows(spark, storage, GOLD_TABLE, day.isoformat()).count() == counts["silver"], counts
        logged = day_rows(spark, storage, INGESTION_LOG, day.isoformat()).select("path", "status").collect()
        assert sorted((row.path.rsplit("/", 1)[-1], row.status) for row in logged) == sorted(
            (path.name, Status.INGESTED) for path in day_files
        )
        tables = {
            row[0]
            for row in day_rows(spark, storage, DATA_QUALITY_LOG, day.isoformat())
            .select("table_name")
            .distinct()
            .collect()
        }
        assert tables == {BRONZE_TABLE, SILVER_TABLE}, (day, tables)
    days_in_gold = {
        row[0]
        for row in spark.read.format("delta")
        .load(storage.table_path(GOLD_TABLE))
        .select(F.col(PARTITION_COLUMN))
        .distinct()
        .collect()
    }
    assert days_in_gold == set(DAYS)
