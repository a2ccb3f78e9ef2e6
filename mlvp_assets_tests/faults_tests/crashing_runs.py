"""Runs of the project's jobs as a user starts them (``dagster job execute`` in a process of its
own), crashed on purpose, and what is needed to compare their tables with an uninterrupted run's.

A run is crashed in one of two ways, both without sleeping and hoping:

* at a crash point of the production code (:mod:`mlvp_assets.crash_points`, ``MLVP_CRASH_AT``):
  the run kills its own process group;
* in the middle of a Delta write, watched from here: as soon as a new data file of the day
  appears in the table's folder, the run's process group is frozen (SIGSTOP, so nothing moves
  while it is looked at), the table's ``_delta_log`` is read to confirm that the write has not
  committed, and the group is killed (SIGKILL).

Every run starts in a session of its own (``start_new_session=True``): its group is the Dagster
process, its Spark JVM and the JVM's Python workers, and it is killed whatever happens.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from mlvp_assets.schema import PARTITION_COLUMN
from mlvp_assets_tests.conftest import REPO_ROOT
from mlvp_assets_tests.dagster_server import INSTANCE_YAML
from mlvp_assets_tests.server_processes import start

BIN = Path(sys.executable).parent
RUN_TIMEOUT_SECONDS = 600
WATCH_INTERVAL_SECONDS = 0.002
COMMIT = re.compile(r"^(\d{20})\.json$")

# Columns whose values belong to the run that wrote the row, not to the data: the moment a row was
# ingested, quarantined, logged, recorded, scored or evaluated. A re-run after a crash writes them
# anew, so they differ from the reference run's whatever happens; every other column must be equal.
RUN_SPECIFIC_COLUMNS = frozenset(
    {"_ingested_at", "_quarantined_at", "logged_at", "recorded_at", "scored_at", "evaluated_at"}
)


def job_env(root: Path, dagster_home: Path, crash_at: str | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "MLVP_ENV": "test",
        "MLVP_DATA_ROOT": str(root),
        "DAGSTER_HOME": str(dagster_home),
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    env.pop("MLVP_CRASH_AT", None)
    if crash_at:
        env["MLVP_CRASH_AT"] = crash_at
    return env


def new_dagster_home(path: Path) -> Path:
    path.mkdir(parents=True)
    shutil.copy(REPO_ROOT / INSTANCE_YAML, path / "dagster.yaml")
    return path


def job_command(job: str, partition: dt.date | None = None) -> list[str]:
    command = [str(BIN / "dagster"), "job", "execute", "-m", "mlvp_assets.definitions", "-j", job]
    if partition is not None:
        command += ["--tags", json.dumps({"dagster/partition": partition.isoformat()})]
    return command


@dataclasses.dataclass(frozen=True)
class DeltaWrite:
    """A write to watch: new data files in ``table/<partition column>=<day>/`` with no new commit."""

    table: Path
    day: dt.date

    @property
    def folder(self) -> Path:
        return self.table / f"{PARTITION_COLUMN}={self.day.isoformat()}"

    def data_files(self) -> set[str]:
        with contextlib.suppress(FileNotFoundError):
            return {entry.name for entry in os.scandir(self.folder) if entry.name.endswith(".parquet")}
        return set()

    def commits(self) -> set[int]:
        with contextlib.suppress(FileNotFoundError):
            return {
                int(found[1])
                for entry in os.scandir(self.table / "_delta_log")
                if (found := COMMIT.match(entry.name))
            }
        return set()


@dataclasses.dataclass(frozen=True)
class CrashedWrite:
    """What was on disk when a watched write was stopped."""

    new_data_files: frozenset[str]
    new_commits: frozenset[int]


@dataclasses.dataclass(frozen=True)
class Run:
    returncode: int
    seconds: float
    log: str
    crashed_write: CrashedWrite | None = None

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL


def run_job(command: list[str], env: dict[str, str], log: Path, kill_during: DeltaWrite | None = None) -> Run:
    """Run ``command`` to its end, to its crash point, or, with ``kill_during``, until it is
    killed in the middle of that write (a run that ends first is returned as it ended)."""
    started = time.monotonic()
    crashed: CrashedWrite | None = None
    if kill_during is not None:
        files_before, commits_before = kill_during.data_files(), kill_during.commits()
    with open(log, "a") as output:
        output.write(f"\n$ {' '.join(command)}  (MLVP_CRASH_AT={env.get('MLVP_CRASH_AT')})\n")
    process = start(command[0], command, env, log, cwd=REPO_ROOT).process
    try:
        deadline = started + RUN_TIMEOUT_SECONDS
        if kill_during is not None:
            while process.poll() is None:
                assert time.monotonic() < deadline, f"no write to {kill_during.folder} in time"
                if kill_during.data_files() - files_before:
                    os.killpg(process.pid, signal.SIGSTOP)  # frozen: what is on disk stays as it is
                    crashed = CrashedWrite(
                        frozenset(kill_during.data_files() - files_before),
                        frozenset(kill_during.commits() - commits_before),
                    )
                    os.killpg(process.pid, signal.SIGKILL)
                    break
                time.sleep(WATCH_INTERVAL_SECONDS)
        process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    return Run(process.returncode, time.monotonic() - started, log.read_text(errors="replace"), crashed)


# Significant digits a float keeps when rows are compared. A statistic computed from the same
# rows can differ in its last bits when they arrive in another order, as they do after a crash
# left the day's files laid out differently (seen: the chi-square p-value of a category column in
# data_drift_log, 0.17826716147847002 against 0.17826716147846966).
FLOAT_DIGITS = 12


def _rounded(value):
    if isinstance(value, float):
        return float(f"{value:.{FLOAT_DIGITS}g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


def comparable_rows(spark, path: str, root: Path) -> Counter[str]:
    """The table's rows as a multiset, each row as JSON without :data:`RUN_SPECIFIC_COLUMNS`, its
    floats to :data:`FLOAT_DIGITS` significant digits and the storage root written as ``<root>``
    (report paths name it), so tables written on two roots compare equal when they hold the same
    data; a duplicate row counts twice."""
    from mlvp_assets.delta_tables import read_table, table_exists

    if not table_exists(spark, path):
        return Counter()
    table = read_table(spark, path)
    table = table.drop(*[column for column in table.columns if column in RUN_SPECIFIC_COLUMNS])
    return Counter(
        json.dumps(_rounded(row.asDict(recursive=True)), sort_keys=True, default=str).replace(
            str(root), "<root>"
        )
        for row in table.collect()
    )
