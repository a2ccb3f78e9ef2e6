"""Two runs of different days at the same time, in two processes, from an empty storage root:
both land, and nothing of either day is lost.

Each process is a real run of the medallion assets, ``medallion_job`` without its read-only
contract checks (``run_on_signal``: the project's definitions and resources in the test
environment, one Spark session, the shared ``DAGSTER_HOME``). Both start their Spark
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

from mlvp_assets.bronze.ingest import Status
from mlvp_assets.delta_tables import read_table
from mlvp_assets.names import (
    BRONZE_TABLE,
    DATA_QUALITY_LOG,
    GOLD_TABLE,
    INGESTION_LOG,
    QUARANTINE_TABLE,
    SILVER_TABLE,
)
from mlvp_assets.resources.storage import StorageResource
from mlvp_assets.schema import PARTITION_COLUMN
from mlvp_assets.silver.assets import DUPLICATE_RULE
from mlvp_assets.simulate import simulate_landing
from mlvp_assets_tests.conftest import DAY_1, REPO_ROOT
from mlvp_assets_tests.dagster_server import INSTANCE_YAML
from mlvp_assets_tests.server_processes import start

pytestmark = pytest.mark.slow

DAYS = (DAY_1, DAY_1 + dt.timedelta(days=1))
ROWS_PER_DAY = 40
READY_TIMEOUT_SECONDS = 300  # imports and a JVM per process, on two shared cores
RUN_TIMEOUT_SECONDS = 600
RETRY_MESSAGE = "Delta commit conflict on "
LAYERS = (BRONZE_TABLE, SILVER_TABLE, QUARANTINE_TABLE, GOLD_TABLE)


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
            command = [sys.executable, "-m", "mlvp_assets_tests.assets_tests.run_on_signal"]
            command += [day.isoformat(), str(ready), str(go)]
            started.append((start(f"run of {day}", command, env, log, cwd=REPO_ROOT).process, log, ready))
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

    # Every row of both days where it belongs: a few queries over both days, grouped by day.
    storage = StorageResource(root=str(root))
    rows = {table: rows_per_day(spark, storage.table_path(table)) for table in LAYERS}
    quality = read_table(spark, storage.table_path(DATA_QUALITY_LOG)).collect()
    logged = (
        read_table(spark, storage.table_path(INGESTION_LOG))
        .select(PARTITION_COLUMN, "path", "status")
        .collect()
    )
    for day in DAYS:
        day_files = [path for path in simulation.files if path.parent.name == day.isoformat()]
        counts = {table: rows[table].get(day, 0) for table in LAYERS}
        duplicates = [r.failed_rows for r in quality if r.landing_date == day and r.rule == DUPLICATE_RULE]
        assert counts[BRONZE_TABLE] == sum(simulation.rows_per_file[path] for path in day_files), counts
        assert len(duplicates) == 1, duplicates  # one row per rule and day: a retried MERGE adds none
        assert counts[BRONZE_TABLE] == counts[SILVER_TABLE] + counts[QUARANTINE_TABLE] + duplicates[0], counts
        assert counts[GOLD_TABLE] == counts[SILVER_TABLE] > 0, counts
        assert {r.table_name for r in quality if r.landing_date == day} == {BRONZE_TABLE, SILVER_TABLE}, day
        assert sorted(
            (r.path.rsplit("/", 1)[-1], r.status) for r in logged if r[PARTITION_COLUMN] == day
        ) == sorted((path.name, Status.INGESTED) for path in day_files)


def rows_per_day(spark, path: str) -> dict[dt.date, int]:
    table = read_table(spark, path).groupBy(PARTITION_COLUMN).count().collect()
    return {row[PARTITION_COLUMN]: row["count"] for row in table}
