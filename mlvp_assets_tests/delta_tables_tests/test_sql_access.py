"""Delta through SQL and the table's log folder (what runs over Spark Connect too): the upsert's
MERGE, the table version and whether a table exists."""

from __future__ import annotations

import datetime as dt
import os

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
