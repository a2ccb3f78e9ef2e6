"""Reading and writing the project's Delta tables through delta-spark.

Partitioned tables are rewritten one day at a time with ``replaceWhere`` so re-running a
partition replaces it instead of appending; keyed tables are upserted with ``MERGE``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Sequence
from typing import Any

import dagster as dg
from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from mlvp_assets.schema import PARTITION_COLUMN


def table_exists(spark: SparkSession, path: str) -> bool:
    return DeltaTable.isDeltaTable(spark, path)


def read_table(spark: SparkSession, path: str) -> DataFrame:
    return spark.read.format("delta").load(path)


def read_partition(spark: SparkSession, path: str, day: dt.date) -> DataFrame:
    """Rows of one day; a table that does not exist yet fails naming its path."""
    if not table_exists(spark, path):
        raise FileNotFoundError(
            f"Delta table {path} does not exist yet: materialize its upstream asset first"
        )
    return read_table(spark, path).where(F.col(PARTITION_COLUMN) == F.lit(day))


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


def upsert(
    spark: SparkSession,
    df: DataFrame,
    path: str,
    keys: Sequence[str],
    partition_by: Sequence[str] = (),
    delete_unmatched_where: Column | None = None,
) -> None:
    """MERGE ``df`` into the table at ``path`` on ``keys``: update matches, insert the rest.

    ``delete_unmatched_where`` (on the target, alias ``t``) also deletes target rows that match it
    and have no source row: re-upserting a day then leaves no stale row of that day behind.
    """
    if not table_exists(spark, path):
        df.write.format("delta").partitionBy(*partition_by).save(path)
        return
    on: Column = F.lit(True)
    for key in keys:
        on = on & (F.col(f"t.{key}") == F.col(f"s.{key}"))
    merge = (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(df.alias("s"), on)
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
    )
    if delete_unmatched_where is not None:
        merge = merge.whenNotMatchedBySourceDelete(delete_unmatched_where)
    merge.execute()


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
    if dataclasses.is_dataclass(annotation):
        return f"struct<{_fields_ddl(annotation, separator=':')}>"
    return _SPARK_TYPES[annotation]


def _fields_ddl(cls: type, separator: str) -> str:
    hints = typing.get_type_hints(cls)
    return ", ".join(f"{f.name}{separator}{_spark_type(hints[f.name])}" for f in dataclasses.fields(cls))


def dataclass_schema(cls: type) -> str:
    """The Spark DDL schema of a log-row dataclass, field by field in order (a dataclass field is
    a struct, a tuple an array), so that the table's columns and the rows written to it come from
    one definition."""
    return _fields_ddl(cls, separator=" ")


def _spark_value(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclass_row(value)
    if isinstance(value, tuple | list):
        return [_spark_value(item) for item in value]
    return value


def dataclass_row(row: Any) -> tuple:
    """The values of a log-row dataclass in its schema's order (sequences as lists, nested
    dataclasses as structs)."""
    return tuple(_spark_value(getattr(row, f.name)) for f in dataclasses.fields(row))


def dataclass_frame(spark: SparkSession, rows: Sequence[Any], cls: type) -> DataFrame:
    """A DataFrame of log-row dataclasses ``rows`` with the schema of ``cls``."""
    return spark.createDataFrame([dataclass_row(row) for row in rows], dataclass_schema(cls))


def field_names(cls: type, *names: str) -> list[str]:
    """``names``, checked to be fields of the dataclass ``cls``: a reader that selects columns of
    a log table fails on import, not on the next run, when a field is renamed."""
    unknown = sorted(set(names) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise AttributeError(f"{cls.__name__} has no fields {unknown}")
    return list(names)


def table_version(spark: SparkSession, path: str) -> int:
    return DeltaTable.forPath(spark, path).history(1).select("version").first()[0]


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
