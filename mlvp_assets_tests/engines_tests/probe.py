"""Driver programs the engine tests run in their own processes (a process holds one Spark session,
and the test process holds none), printing one JSON document on the last line of stdout.

``python -m mlvp_assets_tests.engines_tests.probe reference``
    the history's runs on local Spark in the ``test`` environment (``MLVP_DATA_ROOT``), in one
    process, and the row counts they leave;
``python -m mlvp_assets_tests.engines_tests.probe prod``
    a session from the ``prod`` resources (what a Dagster run on the cluster gets): where Python
    runs on an executor, the session's shipped archives, and the row counts under the root.

Run as ``__main__``, so cloudpickle ships :func:`where_python_runs` by value: the executor needs
nothing from the test package, only what the session shipped.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator

import pandas as pd


def where_python_runs(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """On an executor: the interpreter, where ``mlvp_assets`` and pandas come from, and the
    working folder (``mapInPandas`` body)."""
    import os
    import sys

    import mlvp_assets
    import mlvp_assets.bronze.landing_csv  # what the ingestion runs there

    for _ in batches:
        yield pd.DataFrame(
            {
                "executable": [sys.executable],
                "package": [mlvp_assets.__file__],
                "pandas": [pd.__file__],
                "cwd": [os.getcwd()],
            }
        )


def reference() -> dict:
    from mlvp_assets.definitions import build_definitions
    from mlvp_assets.resources.storage import StorageResource
    from mlvp_assets_tests.engines_tests.history import RUNS, run_label, table_counts

    defs = build_definitions("test")
    seconds = {}
    for job, partition in RUNS:
        started = time.perf_counter()
        result = defs.resolve_job_def(job).execute_in_process(partition_key=partition, raise_on_error=False)
        seconds[run_label(job, partition)] = round(time.perf_counter() - started, 1)
        if not result.success:
            raise SystemExit(f"{run_label(job, partition)} failed in the test environment")
    storage: StorageResource = defs.resources["storage"]
    spark = defs.resources["spark"].spark_session
    return {"counts": table_counts(spark, storage.table_path), "seconds": seconds}


def prod() -> dict:
    from mlvp_assets.environments import resources_for
    from mlvp_assets.resources.storage import StorageResource
    from mlvp_assets.settings import STORAGE_ROOT
    from mlvp_assets_tests.engines_tests.history import table_counts

    # As a Dagster run initialises it: EnvVar fields (credentials, the endpoint) resolved.
    spark_resource = resources_for("prod")["spark"].process_config_and_initialize()
    started = time.perf_counter()
    spark = spark_resource.spark_session
    session_seconds = time.perf_counter() - started
    executor = (
        spark.range(1, numPartitions=1)
        .mapInPandas(where_python_runs, "executable string, package string, pandas string, cwd string")
        .collect()[0]
        .asDict()
    )
    storage = StorageResource(root=STORAGE_ROOT.required("the probe"))
    return {
        "executor": executor,
        "spark_archives": spark.conf.get("spark.archives", ""),
        "master": spark.conf.get("spark.master"),
        "session_seconds": round(session_seconds, 1),
        "counts": table_counts(spark, storage.table_path),
    }


def main(argv: list[str]) -> int:
    commands = {"reference": reference, "prod": prod}
    if len(argv) != 1 or argv[0] not in commands:
        print(
            f"usage: python -m mlvp_assets_tests.engines_tests.probe {{{'|'.join(commands)}}}",
            file=sys.stderr,
        )
        return 2
    print(json.dumps(commands[argv[0]]()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
