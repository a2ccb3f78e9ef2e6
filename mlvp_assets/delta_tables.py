"""Reading and writing the project's Delta tables through delta-spark.

Partitioned tables are rewritten one day at a time with ``replaceWhere`` so re-running a
partition replaces it instead of appending; keyed tables are upserted with ``MERGE``.

Delta is reached through SQL (``MERGE INTO``, ``DESCRIBE HISTORY`` on ``delta.`<path>```) and the
DataFrame reader and writer only, never through delta-spark's Python ``DeltaTable`` API: over
Spark Connect that API needs Delta's Connect server plugin (``io.delta:delta-connect-server``,
which Maven Central does not serve for Delta 4.4), while SQL and the writer need only Delta's SQL
extension on the server. Whether a table exists is read from its ``_delta_log`` folder through
:mod:`mlvp_assets.files`. The same code therefore runs on a classic session and over Spark Connect.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import inspect
import random
import re
import time
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

import dagster as dg
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from mlvp_assets import files
from mlvp_assets.schema import PARTITION_COLUMN

# A commit (``<version>.json``) or a checkpoint (``<version>.checkpoint[.<part or uuid>].parquet``)
# in ``_delta_log``: a table has at least one once its first write committed.
_LOG_ENTRY = re.compile(r"^\d{20}\.(json|checkpoint\..+)$")


def single_row(df: DataFrame) -> Row:
    """The row of a one-row result, such as an aggregate without grouping; fails if there is none."""
    row = df.first()
    if row is None:
        raise ValueError("expected a row, the DataFrame is empty")
    return row


def delta_path(path: str) -> str:
    """The SQL name of the Delta table at ``path``: ``delta.`<path>```. A local path is made
    absolute first: Delta resolves a path identifier only when it is absolute (dev's default root,
    ``data``, is relative), while the DataFrame reader and writer accept either."""
    if files.is_local_path(path):
        path = files.local_path(path)
    return "delta.`" + path.replace("`", "``") + "`"


def table_exists(spark: SparkSession, path: str) -> bool:
    """Whether ``path`` is the root of a Delta table with at least one commit, as
    ``DeltaTable.isDeltaTable`` answers; read from its ``_delta_log`` folder without Spark (``spark``
    is kept so that callers read alike)."""
    entries = files.list_folder(files.join(path, "_delta_log")) or []
    return any(_LOG_ENTRY.match(entry.name) for entry in entries)


def read_table(spark: SparkSession, path: str) -> DataFrame:
    return spark.read.format("delta").load(path)


def read_partition(spark: SparkSession, path: str, day: dt.date) -> DataFrame:
    """Rows of one day; a table that does not exist yet fails naming its path."""
    if not table_exists(spark, path):
        raise FileNotFoundError(
            f"Delta table {path} does not exist yet: materialize its upstream asset first"
        )
    return read_table(spark, path).where(F.col(PARTITION_COLUMN) == F.lit(day))


# --- Commits that lose a race to a concurrent writer are retried ----------------------------------
#
# Two runs of different days may write the same table at once (two processes, or a cluster's
# drivers). Delta serialises their commits and, when it cannot prove that the loser's reads and
# writes are disjoint from what the winner committed, fails the loser with one of these (classes of
# io.delta.exceptions; in Python, delta.exceptions.captured classes or a Py4JJavaError naming
# them, and, over Spark Connect, a pyspark.errors exception whose message carries the error
# condition, ``[DELTA_CONCURRENT_APPEND.WITHOUT_HINT] ...``). The day's rows are not written
# then, so doing the whole operation again on the new snapshot is correct: a replaceWhere replaces
# its own day again, a MERGE merges again, an append appends once. ``DELTA_PATH_EXISTS`` is the
# first creation of a table lost to a concurrent writer (``upsert`` creates a missing table
# instead of merging): the retry sees the table and merges into it.
CONFLICTS = (
    "ConcurrentAppendException",
    "ConcurrentWriteException",
    "MetadataChangedException",
    "ProtocolChangedException",
    "ConcurrentTransactionException",
    "ConcurrentDeleteReadException",
    "ConcurrentDeleteDeleteException",
    # The same conflicts by their error conditions (Delta's error/delta-error-classes.json).
    "DELTA_CONCURRENT_APPEND",
    "DELTA_CONCURRENT_WRITE",
    "DELTA_METADATA_CHANGED",
    "DELTA_PROTOCOL_CHANGED",
    "DELTA_CONCURRENT_TRANSACTION",
    "DELTA_CONCURRENT_DELETE_READ",
    "DELTA_CONCURRENT_DELETE_DELETE",
    "DELTA_PATH_EXISTS",
)
COMMIT_ATTEMPTS = 8
BACKOFF_FIRST_SECONDS = 0.5  # the ceiling of the first wait; it doubles per retry up to the cap
BACKOFF_CAP_SECONDS = 15.0

_log = dg.get_dagster_logger("mlvp_assets.delta_tables")
_P = ParamSpec("_P")
_R = TypeVar("_R")


def conflict_of(error: BaseException) -> str | None:
    """The Delta commit conflict ``error`` reports (one of :data:`CONFLICTS`), or None."""
    text = f"{type(error).__name__}: {error}"
    return next((name for name in CONFLICTS if name in text), None)


def retry_on_conflict(write: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``write`` again when a concurrent writer won the commit (:data:`CONFLICTS`), up to
    :data:`COMMIT_ATTEMPTS` times, waiting a random time up to a doubling ceiling (exponential
    backoff with full jitter, so two losers do not collide again in step). Each retry is logged
    with the table's path; the last conflict, or any other error, is raised as it is."""

    @functools.wraps(write)
    def retrying(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            try:
                return write(*args, **kwargs)
            except Exception as error:
                conflict = conflict_of(error)
                if conflict is None or attempt == COMMIT_ATTEMPTS:
                    raise
                ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (attempt - 1))
                delay = random.uniform(0, ceiling)
                path = inspect.signature(write).bind_partial(*args, **kwargs).arguments.get("path")
                _log.warning(
                    f"Delta commit conflict on {path} ({write.__name__}): {conflict}, a concurrent "
                    f"writer committed first; retry {attempt} of {COMMIT_ATTEMPTS - 1} in {delay:.1f} s"
                )
                time.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    return retrying


@retry_on_conflict
def replace_rows(
    df: DataFrame,
    path: str,
    condition: str,
    partition_by: Sequence[str] = (PARTITION_COLUMN,),
    merge_schema: bool = False,
) -> None:
    """Atomically replace the rows matching ``condition`` (a SQL predicate) by ``df``.

    Every row of ``df`` must match ``condition``; Delta enforces it. Creates the table on first use.
    ``merge_schema`` lets ``df`` add columns to an existing table (tables that keep rows as they
    arrived, whose columns grow with the project).
    """
    (
        df.write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", condition)
        .option("mergeSchema", str(merge_schema).lower())
        .partitionBy(*partition_by)
        .save(path)
    )


def replace_partition(df: DataFrame, path: str, day: dt.date, merge_schema: bool = False) -> None:
    replace_rows(df, path, f"{PARTITION_COLUMN} = DATE'{day.isoformat()}'", merge_schema=merge_schema)


@retry_on_conflict
def upsert(
    spark: SparkSession,
    df: DataFrame,
    path: str,
    keys: Sequence[str],
    partition_by: Sequence[str] = (),
    delete_unmatched_where: str | None = None,
    day: dt.date | None = None,
) -> None:
    """MERGE ``df`` into the table at ``path`` on ``keys``: update matches, insert the rest.

    ``delete_unmatched_where`` (a SQL predicate on the target, alias ``t``) also deletes target rows
    that match it and have no source row: re-upserting a day then leaves no stale row of that day
    behind. ``day``: every source row is of that landing day and the day is one of ``keys``; the
    MERGE then reads only the target's files of that day (a literal condition on the target in
    ``ON`` lets Delta prune partitions and skip files by their statistics), so its cost follows the
    day, not the table's history. Runs as SQL ``MERGE INTO`` with ``df`` as its source, on a
    classic or a Connect session.
    """
    if not table_exists(spark, path):
        df.write.format("delta").partitionBy(*partition_by).save(path)
        return
    conditions = [f"t.{_quoted(key)} = s.{_quoted(key)}" for key in keys]
    if day is not None:
        if PARTITION_COLUMN not in keys:
            raise ValueError(f"upsert by day needs {PARTITION_COLUMN} among the keys, got {list(keys)}")
        conditions.append(f"t.{_quoted(PARTITION_COLUMN)} = DATE'{day.isoformat()}'")
    on = " AND ".join(conditions) or "true"
    statement = (
        f"MERGE INTO {delta_path(path)} AS t USING {{source}} AS s ON {on} "
        "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
    )
    if delete_unmatched_where is not None:
        statement += f" WHEN NOT MATCHED BY SOURCE AND ({delete_unmatched_where}) THEN DELETE"
    # pyspark formats the statement with str.format to put ``df`` in as {source}: braces in the
    # path or the predicate are doubled first.
    spark.sql(_format_safe(statement, "{source}"), source=df)


def _quoted(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"


def _format_safe(statement: str, placeholder: str) -> str:
    """``statement`` with every brace doubled except those of ``placeholder``."""
    return placeholder.join(
        part.replace("{", "{{").replace("}", "}}") for part in statement.split(placeholder)
    )


@retry_on_conflict
def append(
    df: DataFrame, path: str, partition_by: Sequence[str] = (PARTITION_COLUMN,), merge_schema: bool = False
) -> None:
    """Append ``df``; creates the table (possibly empty, to fix its schema) on first use."""
    df.write.format("delta").mode("append").option("mergeSchema", str(merge_schema).lower()).partitionBy(
        *partition_by
    ).save(path)


_SPARK_TYPES: dict[Any, str] = {
    str: "string",
    int: "long",
    float: "double",
    bool: "boolean",
    dt.date: "date",
    dt.datetime: "timestamp",
}


def _spark_type(annotation: Any) -> str:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        (inner,) = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return _spark_type(inner)
    if typing.get_origin(annotation) in (tuple, list):
        return f"array<{_spark_type(typing.get_args(annotation)[0])}>"
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return f"struct<{_fields_ddl(annotation, separator=':')}>"
    return _SPARK_TYPES[annotation]


# Field metadata: a nested dataclass stored as one column per sub-field, named
# ``<field>_<sub-field>`` (``target_drifted``), instead of one struct column.
FLATTENED = {"flatten": True}


def _columns(cls: type, prefix: str = "") -> list[tuple[str, str]]:
    """(column name, Spark type) of a log-row dataclass, in field order."""
    hints = typing.get_type_hints(cls)
    columns = []
    for field in dataclasses.fields(cls):
        if field.metadata.get("flatten"):
            columns += _columns(hints[field.name], prefix=f"{prefix}{field.name}_")
        else:
            columns.append((f"{prefix}{field.name}", _spark_type(hints[field.name])))
    return columns


def _fields_ddl(cls: type, separator: str) -> str:
    return ", ".join(f"{name}{separator}{spark_type}" for name, spark_type in _columns(cls))


def dataclass_schema(cls: type) -> str:
    """The Spark DDL schema of a log-row dataclass, field by field in order (a dataclass field is
    a struct, or columns of its own when marked :data:`FLATTENED`; a tuple is an array), so that
    the table's columns and the rows written to it come from one definition."""
    return _fields_ddl(cls, separator=" ")


def _spark_value(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclass_row(value)
    if isinstance(value, tuple | list):
        return [_spark_value(item) for item in value]
    return value


def dataclass_row(row: Any) -> tuple:
    """The values of a log-row dataclass in its schema's order (sequences as lists, nested
    dataclasses as structs or, when :data:`FLATTENED`, as their own columns)."""
    values: list[Any] = []
    for field in dataclasses.fields(row):
        value = getattr(row, field.name)
        if field.metadata.get("flatten"):
            values += dataclass_row(value)
        else:
            values.append(_spark_value(value))
    return tuple(values)


def dataclass_frame(spark: SparkSession, rows: Sequence[Any], cls: type) -> DataFrame:
    """A DataFrame of log-row dataclasses ``rows`` with the schema of ``cls``."""
    return spark.createDataFrame([dataclass_row(row) for row in rows], dataclass_schema(cls))


def field_names(cls: type, *names: str) -> list[str]:
    """``names``, checked to be columns of the log-row dataclass ``cls``: a reader that selects
    columns of a log table fails on import, not on the next run, when a field is renamed."""
    unknown = sorted(set(names) - {name for name, _ in _columns(cls)})
    if unknown:
        raise AttributeError(f"{cls.__name__} has no fields {unknown}")
    return list(names)


def table_version(spark: SparkSession, path: str) -> int:
    """The table's current version, the latest entry of ``DESCRIBE HISTORY``."""
    return int(single_row(spark.sql(f"DESCRIBE HISTORY {delta_path(path)} LIMIT 1").select("version"))[0])


def table_metadata(
    spark: SparkSession, path: str, df: DataFrame, row_count: int
) -> dict[str, dg.MetadataValue]:
    """What a user looks for on a Delta-backed asset: rows, columns, path and version."""
    metadata: dict[str, dg.MetadataValue] = {
        "dagster/row_count": dg.MetadataValue.int(row_count),
        "dagster/column_schema": dg.MetadataValue.table_schema(
            dg.TableSchema(
                columns=[
                    dg.TableColumn(name=field.name, type=field.dataType.simpleString())
                    for field in df.schema.fields
                ]
            )
        ),
        "table_path": dg.MetadataValue.path(path),
    }
    if table_exists(spark, path):
        metadata["delta_version"] = dg.MetadataValue.int(table_version(spark, path))
    return metadata
