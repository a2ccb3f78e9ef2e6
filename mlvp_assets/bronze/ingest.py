"""Incremental ingestion of landing files into the bronze table (what Auto Loader did).

Three steps, each a plain function:

1. ``discover_landing_files``: list a day's CSV files with size (Hadoop's FileSystem API) and
   SHA-256 (Spark's ``binaryFile`` source), so it works on any file system Spark can read.
2. ``plan_ingestion``: compare them with the ``ingestion_log``: a file seen before with the same
   content is skipped, a changed file replaces its earlier rows, a copy of an ingested file
   under another name is skipped and logged.
3. ``landing_csv.parse_landing_csv``: parse one file into text rows. Runs on the executors
   through ``mapInPandas``; a file that cannot be read at all (empty, not UTF-8, required column
   missing) becomes one error record naming the file, and the other files go on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from mlvp_assets.bronze.landing_csv import (
    FILE_ERROR,
    INGESTED_AT,
    PARSED_SCHEMA,
    SOURCE_FILE,
    parse_batches,
    parse_landing_csv,
)
from mlvp_assets.delta_tables import append, read_table, replace_rows, table_exists
from mlvp_assets.schema import PARTITION_COLUMN

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

INGESTION_LOG_SCHEMA = (
    f"{PARTITION_COLUMN} date, path string, size_bytes long, content_sha256 string, "
    "row_count long, status string, detail string"
)


class Status:
    INGESTED = "ingested"
    REPLACED = "replaced"
    SKIPPED_DUPLICATE = "skipped_duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class LandingFile:
    path: str
    size_bytes: int
    content_sha256: str


@dataclass
class IngestionPlan:
    to_ingest: list[LandingFile] = field(default_factory=list)
    replacing: set[str] = field(default_factory=set)  # paths whose earlier rows are replaced
    unchanged: list[LandingFile] = field(default_factory=list)  # seen before, same content: nothing to do
    duplicates: dict[str, str] = field(default_factory=dict)  # path -> earlier path with the same content


def _binary_files(spark: SparkSession, directory: str) -> DataFrame:
    return spark.read.format("binaryFile").option("pathGlobFilter", "*.csv").load(directory)


def _list_csv_files(spark: SparkSession, directory: str) -> dict[str, int] | None:
    """path -> size of the CSV files in ``directory`` through Hadoop's FileSystem API (any file
    system Spark can read), or None if the folder does not exist.

    Spark's file scans skip zero-length files, so listing by reading would lose empty deliveries.
    """
    jvm = spark.sparkContext._jvm  # type: ignore[union-attr]
    folder = jvm.org.apache.hadoop.fs.Path(directory)
    file_system = folder.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())  # type: ignore[union-attr]
    if not file_system.exists(folder):
        return None
    return {
        status.getPath().toString(): int(status.getLen())
        for status in file_system.listStatus(folder)
        if status.isFile() and status.getPath().getName().endswith(".csv")
    }


def discover_landing_files(spark: SparkSession, directory: str) -> list[LandingFile]:
    """The CSV files of one landing folder with size and SHA-256 (none if the folder does not exist)."""
    sizes = _list_csv_files(spark, directory)
    if not sizes:
        return []
    hashes = {path: EMPTY_SHA256 for path, size in sizes.items() if size == 0}
    if len(hashes) < len(sizes):
        rows = _binary_files(spark, directory).select("path", F.sha2("content", 256).alias("sha")).collect()
        hashes.update({row["path"]: row["sha"] for row in rows})
    return [LandingFile(path, sizes[path], hashes[path]) for path in sorted(sizes)]


def plan_ingestion(files: Sequence[LandingFile], seen: Mapping[str, str]) -> IngestionPlan:
    """Decide what to ingest, given ``seen``: path -> content hash of its last ingestion or rejection."""
    plan = IngestionPlan()
    path_by_hash = {sha: path for path, sha in seen.items()}
    for file in files:
        earlier_sha = seen.get(file.path)
        if earlier_sha == file.content_sha256:
            plan.unchanged.append(file)
        elif earlier_sha is None and file.content_sha256 in path_by_hash:
            plan.duplicates[file.path] = path_by_hash[file.content_sha256]
        else:
            plan.to_ingest.append(file)
            path_by_hash.setdefault(file.content_sha256, file.path)
            if earlier_sha is not None:
                plan.replacing.add(file.path)
    return plan


def parse_landing_files(spark: SparkSession, directory: str, paths: Sequence[str]) -> DataFrame:
    """Parsed rows of the given files, one Spark task per file, plus one error record per unreadable file."""
    if not paths:
        return spark.createDataFrame([], PARSED_SCHEMA)
    selected = _binary_files(spark, directory).where(F.col("path").isin(list(paths))).select("path", "content")
    return selected.mapInPandas(parse_batches, PARSED_SCHEMA)


def bronze_rows(parsed: DataFrame, day: dt.date) -> DataFrame:
    """Parsed rows that belong in bronze: readable files only, with ingestion time and day."""
    return (
        parsed.where(F.col(FILE_ERROR).isNull())
        .drop(FILE_ERROR)
        .withColumn(INGESTED_AT, F.current_timestamp())
        .withColumn(PARTITION_COLUMN, F.lit(day))
    )


def file_errors(parsed: DataFrame) -> dict[str, str]:
    return {row[SOURCE_FILE]: row[FILE_ERROR] for row in parsed.where(F.col(FILE_ERROR).isNotNull()).collect()}


@dataclass(frozen=True)
class IngestionResult:
    """What one ingestion of a landing day did, file by file."""

    day: dt.date
    rows_by_file: dict[str, int]  # ingested or replaced files -> rows written
    replaced: frozenset[str]
    unchanged: tuple[str, ...]
    duplicates: dict[str, str]
    rejected: dict[str, str]  # path -> error naming the file

    @property
    def rows_written(self) -> int:
        return sum(self.rows_by_file.values())


def seen_files(spark: SparkSession, log_path: str) -> dict[str, str]:
    """path -> content hash of the latest decision about it, from the ingestion log."""
    if not table_exists(spark, log_path):
        return {}
    rows = read_table(spark, log_path).groupBy("path").agg(
        F.max_by("content_sha256", "logged_at").alias("sha")
    ).collect()
    return {row["path"]: row["sha"] for row in rows}


def ingest_landing_day(
    spark: SparkSession, landing_dir: str, bronze_path: str, log_path: str, day: dt.date
) -> IngestionResult:
    """Ingest the new and changed files of one landing day into bronze and log every decision."""
    files = discover_landing_files(spark, landing_dir)
    plan = plan_ingestion(files, seen_files(spark, log_path))
    # Zero-length files are invisible to Spark's scans; judge them here, with the same parser.
    empty_files = {file.path for file in plan.to_ingest if file.size_bytes == 0}
    parsed = parse_landing_files(spark, landing_dir, [f.path for f in plan.to_ingest if f.path not in empty_files]).cache()
    try:
        rejected = {path: parse_landing_csv(path, b"").error for path in sorted(empty_files)}
        rejected.update(file_errors(parsed))
        accepted = [file.path for file in plan.to_ingest if file.path not in rejected]
        rows = bronze_rows(parsed, day)
        rows_by_file = dict.fromkeys(accepted, 0)
        rows_by_file.update({r[SOURCE_FILE]: int(r["count"]) for r in rows.groupBy(SOURCE_FILE).count().collect()})
        if accepted:
            paths_sql = ", ".join("'" + path.replace("'", "''") + "'" for path in accepted)
            replace_rows(
                rows, bronze_path, f"{PARTITION_COLUMN} = DATE'{day.isoformat()}' AND {SOURCE_FILE} IN ({paths_sql})"
            )
        elif not table_exists(spark, bronze_path):
            append(rows, bronze_path)  # nothing to write yet, but downstream needs the table
    finally:
        parsed.unpersist()

    log_entries = []
    for file in plan.to_ingest:
        if file.path in rejected:
            log_entries.append((day, file.path, file.size_bytes, file.content_sha256, 0, Status.REJECTED, rejected[file.path]))
        else:
            status = Status.REPLACED if file.path in plan.replacing else Status.INGESTED
            log_entries.append((day, file.path, file.size_bytes, file.content_sha256, rows_by_file[file.path], status, None))
    by_path = {file.path: file for file in files}
    for path, original in plan.duplicates.items():
        file = by_path[path]
        log_entries.append(
            (day, path, file.size_bytes, file.content_sha256, 0, Status.SKIPPED_DUPLICATE, f"same content as {original}")
        )
    if log_entries:
        entries = spark.createDataFrame(log_entries, INGESTION_LOG_SCHEMA).withColumn("logged_at", F.current_timestamp())
        append(entries, log_path)
    return IngestionResult(
        day=day,
        rows_by_file=rows_by_file,
        replaced=frozenset(plan.replacing - rejected.keys()),
        unchanged=tuple(file.path for file in plan.unchanged),
        duplicates=plan.duplicates,
        rejected=rejected,
    )
