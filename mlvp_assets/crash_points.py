"""Crash points: named places in a run where a test makes the run die as a real crash does.

``crash_point("bronze.written")`` does nothing unless ``MLVP_CRASH_AT`` names that point; then it
kills the run's whole process group with SIGKILL: the run's Python process, its Spark JVM and
the JVM's Python workers end at once, with no ``finally``, no Dagster event and no Delta or MLflow
call after it, as when a machine loses power or the kernel's OOM killer strikes. A test starts
the run in a session of its own (``start_new_session=True``), so the group is the run's and
nothing else: never set ``MLVP_CRASH_AT`` outside such a test. The cost of an inert point is one
environment lookup.

The points are the constants below, each where a crash leaves the storage half way between two
states; a run of the same job and partition must converge from there
(``mlvp_assets_tests/faults_tests`` crashes runs at each and compares with an uninterrupted run).
"""

from __future__ import annotations

import os
import signal

from mlvp_assets.settings import CRASH_AT

BRONZE_WRITTEN = "bronze.written"  # the day's rows are in bronze, their ingestion_log entries are not
SILVER_WRITTEN = "silver.written"  # the day's silver rows are replaced, its quarantined rows not yet
MODEL_REGISTERED = "model.registered"  # a new version has the challenger alias, its check has not run
CRASH_POINTS = (BRONZE_WRITTEN, SILVER_WRITTEN, MODEL_REGISTERED)


def crash_point(name: str) -> None:
    """Kill the run's process group here if ``MLVP_CRASH_AT`` is ``name``; otherwise return."""
    if name not in CRASH_POINTS:
        raise ValueError(f"unknown crash point {name!r}; known: {', '.join(CRASH_POINTS)}")
    if CRASH_AT.value() == name:
        os.killpg(os.getpgrp(), signal.SIGKILL)
