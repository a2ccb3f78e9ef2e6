"""One real run of a job for one day, started on a signal: the process of the two-process test.

``python -m mlvp_assets_tests.assets_tests.run_on_signal <job> <day> <ready_file> <go_file>``

Loads the project's definitions (``MLVP_ENV``, ``MLVP_DATA_ROOT`` and ``DAGSTER_HOME`` come from
the environment), starts the run's Spark session, says it is ready (creates ``ready_file``), waits
until ``go_file`` exists and then executes the job for the day in this process, recorded in the
shared Dagster instance. Imports and the JVM start take tens of seconds and vary; waiting for one
signal lines both processes up to the same moment, so their Delta commits do overlap. Exit code
0 when the run succeeded.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import dagster as dg

from mlvp_assets.definitions import defs

SIGNAL_TIMEOUT_SECONDS = 600


def main(job: str, day: str, ready_file: Path, go_file: Path) -> int:
    # The run's own Spark resource would start the session lazily; starting it now keeps the
    # JVM start out of the race (the run joins this session: one per process).
    (defs.resources or {})["spark"].spark_session  # noqa: B018
    ready_file.touch()
    deadline = time.monotonic() + SIGNAL_TIMEOUT_SECONDS
    while not go_file.exists():
        if time.monotonic() > deadline:
            print(f"no start signal ({go_file}) within {SIGNAL_TIMEOUT_SECONDS} s", file=sys.stderr)
            return 2
        time.sleep(0.05)
    result = defs.resolve_job_def(job).execute_in_process(
        partition_key=day, instance=dg.DagsterInstance.get(), raise_on_error=False
    )
    print(f"{job} for {day}: {'SUCCESS' if result.success else 'FAILURE'} (run {result.run_id})", flush=True)
    return 0 if result.success else 1


if __name__ == "__main__":
    job_name, partition, ready, go = sys.argv[1:5]
    sys.exit(main(job_name, partition, Path(ready), Path(go)))
