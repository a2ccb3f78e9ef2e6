"""Delta through SQL and the table's log folder (what runs over Spark Connect too): the upsert's
MERGE, the table version and whether a table exists."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest

from mlvp_assets.delta_tables import append, read_table, table_exists, table_version, upsert

DAY_1, DAY_2 = dt.date(2026, 1, 1), dt.date(2026, 1, 2)
SCHEMA = "listing_id long, landing_date date, value string"


def test_a_table_exists_once_its_first_commit_is_in_its_log(spark, tmp_path):
    path = str(tmp_path / "table")
    assert not table_exists(spark, path)
    (tmp_path / "table" / "_delta_log").mkdir(parents=True)  # a log folder without a commit yet
    assert not table_exists(spark, path)
    append(spark.createDataFrame([], SCHEMA), path, partition_by=())
    assert table_exists(spark, path)
    assert table_exists(spark, f"file:{path}")


def test_upsert_updates_inserts_and_deletes_only_the_unmatched_rows_it_is_told_to(spark, tmp_path):
    path = str(tmp_path / "unseen")
    first = [(1, DAY_1, "a"), (2, DAY_1, "b"), (3, DAY_2, "c")]
    upsert(spark, spark.createDataFrame(first, SCHEMA), path, keys=("listing_id", "landing_date"))
    assert table_version(spark, path) == 0

    again = [(1, DAY_1, "A"), (4, DAY_1, "d")]  # 1 changed, 2 gone, 4 new; day 2 not re-upserted
    upsert(
        spark,
        spark.createDataFrame(again, SCHEMA),
        path,
        keys=("listing_id", "landing_date"),
        delete_unmatched_where=f"t.landing_date = DATE'{DAY_1.isoformat()}'",
    )

    rows = sorted(tuple(row) for row in read_table(spark, path).collect())
    assert rows == [(1, DAY_1, "A"), (3, DAY_2, "c"), (4, DAY_1, "d")]
    assert table_version(spark, path) == 1


def test_a_relative_root_works_as_dev_uses_it(spark, tmp_path):
    # dev's storage root is the relative "data"; Delta's SQL path identifiers must be absolute.
    # (Relative to the working directory, which the JVM shares with this process.)
    path = os.path.relpath(tmp_path / "warehouse" / "unseen")
    assert not os.path.isabs(path)
    upsert(spark, spark.createDataFrame([(1, DAY_1, "a")], SCHEMA), path, keys=("listing_id", "landing_date"))
    upsert(spark, spark.createDataFrame([(1, DAY_1, "b")], SCHEMA), path, keys=("listing_id", "landing_date"))

    assert [tuple(row) for row in read_table(spark, path).collect()] == [(1, DAY_1, "b")]
    assert table_version(spark, path) == 1


def test_an_upsert_by_day_reads_only_that_days_files(spark, tmp_path):
    # A log table without partitions, one file per day as the daily runs write it: an upsert of day 3
    # bounded by the day must not open day 1's file (Delta skips it by its statistics), so deleting
    # that file makes the unbounded MERGE fail and leaves the bounded one unharmed.
    schema, keys = (
        "landing_date date, table_name string, rule string, failed long",
        ("landing_date", "table_name", "rule"),
    )
    day_3 = dt.date(2026, 1, 3)
    for bounded in (True, False):
        path = tmp_path / f"log_bounded_{bounded}"
        for day in (DAY_1, DAY_2, day_3):
            upsert(spark, spark.createDataFrame([(day, "silver", "r", 1)], schema), str(path), keys=keys)
        first_commit = (path / "_delta_log" / f"{0:020d}.json").read_text().splitlines()
        (day_1_file,) = [json.loads(line)["add"]["path"] for line in first_commit if '"add"' in line]
        (path / day_1_file).unlink()
        again = spark.createDataFrame([(day_3, "silver", "r", 7), (day_3, "silver", "r2", 0)], schema)
        if bounded:
            upsert(spark, again, str(path), keys=keys, day=day_3)
            rows = read_table(spark, str(path)).where(f"landing_date = DATE'{day_3}'").collect()
            assert sorted((row["rule"], row["failed"]) for row in rows) == [("r", 7), ("r2", 0)]
        else:
            with pytest.raises(Exception, match=r"(?s)FileNotFound|does not exist|FAILED_READ_FILE"):
                upsert(spark, again, str(path), keys=keys)


def test_an_upsert_by_day_needs_the_day_among_its_keys(spark, tmp_path):
    path = str(tmp_path / "table")
    upsert(spark, spark.createDataFrame([(1, DAY_1, "a")], SCHEMA), path, keys=("listing_id", "landing_date"))
    with pytest.raises(ValueError, match="landing_date among the keys"):
        upsert(spark, spark.createDataFrame([(1, DAY_1, "b")], SCHEMA), path, keys=("listing_id",), day=DAY_1)
