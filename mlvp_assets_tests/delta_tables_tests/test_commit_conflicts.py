"""Delta commit conflicts between concurrent writers, made real and deterministic, and the retry
that resolves them (``delta_tables.retry_on_conflict``).

A MERGE reads its target's snapshot when its transaction starts and commits at the end; a commit
by another writer in between, to a table the MERGE cannot prove it did not read (an unpartitioned
log, like ``data_quality_log``), fails it with ``ConcurrentAppendException``. Here the MERGE's
source holds the transaction open: a Python UDF on the source waits until the test has committed
a concurrent append (it marks that it started, then waits for a file), so the conflict happens
every time, not when timing allows.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mlvp_assets import delta_tables
from mlvp_assets.delta_tables import append, conflict_of, read_table, upsert

DAY_1, DAY_2 = dt.date(2026, 1, 1), dt.date(2026, 1, 2)
WAIT_SECONDS = 120


def rows(spark, day: dt.date, rules: list[str]):
    return spark.createDataFrame(
        [(day, rule, index) for index, rule in enumerate(rules)],
        "landing_date date, rule string, failed_rows long",
    )


def held_open(df, started: Path, release: Path):
    """``df`` with a column whose UDF marks ``started`` and waits for ``release`` to exist: a
    write of it keeps its Delta transaction open until the test says so."""

    def wait(value):
        started.touch()
        deadline = time.monotonic() + WAIT_SECONDS
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return value

    # One partition, so one task waits and the other core of local[2] is free for the append.
    return df.coalesce(1).withColumn("failed_rows", F.udf(wait, T.LongType())("failed_rows"))


def merge_while_another_writer_commits(spark, path: str, tmp_path: Path, merge) -> list[BaseException]:
    """Run ``merge`` (an upsert of DAY_2's rows held open) in a thread; once its transaction is
    open, append DAY_1's rows to the same table from this thread; then let the merge finish.
    Returns what the merge raised (nothing, when it succeeded)."""
    started, release = tmp_path / "started", tmp_path / "release"
    source = held_open(rows(spark, DAY_2, ["a", "b"]), started, release)
    raised: list[BaseException] = []

    def run():
        try:
            merge(spark, source, path, keys=("landing_date", "rule"))
        except BaseException as error:  # noqa: BLE001 - handed to the test
            raised.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while not started.exists():
        assert time.monotonic() < deadline and thread.is_alive(), f"the merge never started: {raised}"
        time.sleep(0.05)
    append(rows(spark, DAY_1, ["c"]), path, partition_by=())  # the concurrent writer commits first
    release.touch()
    thread.join(WAIT_SECONDS)
    assert not thread.is_alive()
    return raised


@pytest.fixture
def log_table(spark, tmp_path) -> str:
    path = str(tmp_path / "data_quality_log")
    append(rows(spark, DAY_1, ["x"]), path, partition_by=())
    return path


def test_a_merge_that_loses_the_commit_race_fails_with_a_conflict_the_retry_recognises(
    spark, log_table, tmp_path
):
    raised = merge_while_another_writer_commits(spark, log_table, tmp_path, upsert.__wrapped__)
    assert len(raised) == 1
    assert conflict_of(raised[0]) == "ConcurrentAppendException", raised[0]


def test_the_retried_merge_lands_and_the_retry_is_logged(spark, log_table, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        raised = merge_while_another_writer_commits(spark, log_table, tmp_path, upsert)
    assert raised == []
    table = read_table(spark, log_table)
    assert sorted((r.landing_date, r.rule) for r in table.collect()) == [
        (DAY_1, "c"),
        (DAY_1, "x"),
        (DAY_2, "a"),
        (DAY_2, "b"),
    ]
    retries = [r.getMessage() for r in caplog.records if "Delta commit conflict" in r.getMessage()]
    assert len(retries) == 1, retries
    assert "ConcurrentAppendException" in retries[0] and log_table in retries[0], retries


@pytest.mark.parametrize(
    ("error", "conflict"),
    [
        # Over Spark Connect only the message says what happened: its error condition.
        (
            RuntimeError("[DELTA_CONCURRENT_APPEND.WITHOUT_HINT] Transaction conflict detected."),
            "DELTA_CONCURRENT_APPEND",
        ),
        # A Py4JJavaError that delta.exceptions did not convert names the Java class.
        (
            RuntimeError(
                "An error occurred while calling o91.save.\n"
                ": io.delta.exceptions.ProtocolChangedException: ..."
            ),
            "ProtocolChangedException",
        ),
        (
            RuntimeError("[DELTA_PATH_EXISTS] Cannot write to already existent path file:/x"),
            "DELTA_PATH_EXISTS",
        ),
        (RuntimeError("[DELTA_TABLE_NOT_FOUND] Delta table `x` doesn't exist."), None),
        (ValueError("expected a row, the DataFrame is empty"), None),
    ],
)
def test_conflicts_are_recognised_by_class_or_error_condition(error, conflict):
    assert conflict_of(error) == conflict


def test_a_conflict_that_never_resolves_is_raised_after_the_last_attempt(monkeypatch):
    monkeypatch.setattr(delta_tables, "BACKOFF_FIRST_SECONDS", 0.0)
    attempts = []

    @delta_tables.retry_on_conflict
    def always_loses(path: str) -> None:
        attempts.append(path)
        raise RuntimeError("[DELTA_CONCURRENT_WRITE] a concurrent transaction has written new data")

    with pytest.raises(RuntimeError, match="DELTA_CONCURRENT_WRITE"):
        always_loses("/warehouse/t")
    assert len(attempts) == delta_tables.COMMIT_ATTEMPTS


def test_other_errors_are_not_retried():
    attempts = []

    @delta_tables.retry_on_conflict
    def fails(path: str) -> None:
        attempts.append(path)
        raise ValueError("not a conflict")

    with pytest.raises(ValueError, match="not a conflict"):
        fails("/warehouse/t")
    assert attempts == ["/warehouse/t"]
