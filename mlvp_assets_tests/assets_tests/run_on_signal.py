"""One real run of the medallion assets for one day, started on a signal: the process of the
two-process test.

``python -m mlvp_assets_tests.assets_tests.run_on_signal <day> <ready_file> <go_file>``

Loads the project's definitions (``MLVP_ENV``, ``MLVP_DATA_ROOT`` and ``DAGSTER_HOME`` come from
the environment), starts the run's Spark session, says it is ready (creates ``ready_file``), waits
until ``go_file`` exists and then materializes ``bronze_listings``, ``silver_listings`` with
``quarantined_listings`` and ``gold_listings`` for the day with the definitions' resources,
recorded in the shared Dagster instance: ``medallion_job`` without its two contract checks, which
only read (and take a third of the run). Imports and the JVM start take tens of seconds and vary;
waiting for one signal lines both processes up to the same moment, so their Delta commits do
overlap. Exit code 0 when the run succeeded.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import dagster as dg

from mlvp_assets.bronze.assets import bronze_listings
from mlvp_assets.definitions import defs
from mlvp_assets.gold.assets import gold_listings
from mlvp_assets.silver.assets import silver_and_quarantined_listings

SIGNAL_TIMEOUT_SECONDS = 600
WRITING_ASSETS = [bronze_listings, silver_and_quarantined_listings, gold_listings]


def main(day: str, ready_file: Path, go_file: Path) -> int:
    resources = defs.resources or {}
    # The run's own Spark resource would start the session lazily; starting it now keeps the
    # JVM start out of the race (the run joins this session: one per process).
    resources["spark"].spark_session  # noqa: B018
    ready_file.touch()
    deadline = time.monotonic() + SIGNAL_TIMEOUT_SECONDS
    while not go_file.exists():
        if time.monotonic() > deadline:
            print(f"no start signal ({go_file}) within {SIGNAL_TIMEOUT_SECONDS} s", file=sys.stderr)
            return 2
        time.sleep(0.05)
    result = dg.materialize(
        WRITING_ASSETS,
        partition_key=day,
        resources=resources,
        instance=dg.DagsterInstance.get(),
        raise_on_error=False,
    )
    print(f"medallion assets for {day}: {'SUCCESS' if result.success else 'FAILURE'} (run {result.run_id})")
    return 0 if result.success else 1


if __name__ == "__main__":
    partition, ready, go = sys.argv[1:4]
    sys.exit(main(partition, Path(ready), Path(go)))
