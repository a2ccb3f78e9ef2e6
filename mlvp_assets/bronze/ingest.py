"""Incremental ingestion of landing files into the bronze table (what Auto Loader did).

Three steps, each a plain function:

1. ``discover_landing_files``: list a day's folder with size and SHA-256 (:mod:`mlvp_assets.files`,
   local or object store, no Spark). ``*.csv`` and ``*.csv.gz`` are landing files; anything else
   there (a folder, a symbolic link: never followed) is logged as ``ignored`` with the reason,
   never skipped without a word. A day's folder that is itself no landing day by the landing
   sensor's rule (:func:`mlvp_assets.files.landing_folder_ignored_reason`: a symbolic link, say)
   is logged as ``ignored`` and nothing in it is read. A landing file that cannot be read to be
   hashed (permission denied, gone since it was listed, a FIFO) is ``rejected`` with the error.
2. ``plan_ingestion``: compare them with the ``ingestion_log``: a file seen before with the same
   content is skipped, a changed file replaces its earlier rows, a copy of an ingested file
   under another name is skipped and logged.
3. ``landing_csv.read_landing_stream``: parse one file, recognising its layout from the header.
   Runs on the executors through ``mapInPandas``, one task per file, streaming the file; a file
   that cannot be read at all (empty, no known layout, not UTF-8, broken gzip) is rejected with
   an error naming it, and the other files go on.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from mlvp_assets import files
from mlvp_assets.bronze.landing_csv import (
    FILE_ERROR,
    FILE_SUMMARY,
    INGESTED_AT,
    PARSED_SCHEMA,
    SOURCE_FILE,
    SOURCE_LINE,
    FileSummary,
    parse_files,
)
from mlvp_assets.crash_points import BRONZE_WRITTEN, crash_point
from mlvp_assets.delta_tables import (
    append,
    dataclass_frame,
    dataclass_schema,
    read_table,
    replace_rows,
    table_exists,
)
from mlvp_assets.schema import PARTITION_COLUMN

FOLDER_HASH = "folder"  # stands in for the content hash of a folder found in a landing day
LINK_HASH = "symlink"  # and of a symbolic link, whose target is never read
UNREADABLE_HASH = "unreadable"  # and of a file that could not be read: logged again once readable
MAX_PARSE_TASKS = 200


class Status:
    INGESTED = "ingested"
    REPLACED = "replaced"
    SKIPPED_DUPLICATE = "skipped_duplicate"
    REJECTED = "rejected"
    IGNORED = "ignored"
    WRITTEN = (INGESTED, REPLACED)  # decisions whose file's rows are in bronze


@dataclass(frozen=True)
class IngestionLogEntry:
    """One row of the ``ingestion_log`` table: one decision about one file (plus ``logged_at``)."""

    landing_date: dt.date
    path: str
    size_bytes: int
    content_sha256: str
    row_count: int
    status: str
    detail: str | None = None
    layout: str | None = None
    missing_columns: tuple[str, ...] = ()
    new_columns: tuple[str, ...] = ()


INGESTION_LOG_SCHEMA = dataclass_schema(IngestionLogEntry)


@dataclass(frozen=True)
class LandingFile:
    path: str
    size_bytes: int
    content_sha256: str
    ignored_reason: str | None = None  # set for what is not a landing file
    unreadable_reason: str | None = None  # set for a file that could not be read, naming it


@dataclass
class IngestionPlan:
    to_ingest: list[LandingFile] = field(default_factory=list)
    replacing: set[str] = field(default_factory=set)  # paths whose earlier rows are replaced
    unchanged: list[LandingFile] = field(default_factory=list)  # seen before, same content: nothing to do
    duplicates: dict[str, str] = field(default_factory=dict)  # path -> earlier path with the same content
    ignored: list[LandingFile] = field(default_factory=list)  # not landing files, not logged before
    unreadable: list[LandingFile] = field(default_factory=list)  # landing files that could not be read


def _ignored_reason(entry: files.FileEntry) -> str | None:
    if entry.is_symlink:
        return (
            f"{entry.name} is a symbolic link; landing files must be regular files in the day's folder "
            "(a link is not followed: it may point outside the storage root)"
        )
    if entry.is_dir:
        return f"{entry.name} is a folder; landing files must sit directly in the day's folder"
    if not files.is_landing_file(entry.name):
        return f"{entry.name} is not a landing file (expected {' or '.join(files.LANDING_SUFFIXES)})"
    return None


def _landing_file(entry: files.FileEntry, ignored_reason: str | None) -> LandingFile:
    if entry.is_symlink:
        return LandingFile(entry.path, entry.size, LINK_HASH, ignored_reason)
    if entry.is_dir:
        return LandingFile(entry.path, entry.size, FOLDER_HASH, ignored_reason)
    try:
        sha = files.content_sha256(entry.path)
    except OSError as error:
        reason = f"{entry.path}: could not be read ({error})"
        return LandingFile(entry.path, entry.size, UNREADABLE_HASH, ignored_reason, reason)
    return LandingFile(entry.path, entry.size, sha, ignored_reason)


def discover_landing_files(directory: str) -> list[LandingFile]:
    """Everything in one landing folder, with size and SHA-256; none if the folder does not exist.
    A folder that is no landing day (a symbolic link, say) is listed alone, as ignored."""
    folder = files.entry_of(directory)
    if folder is None:
        return []
    folder_reason = files.landing_folder_ignored_reason(folder)
    if folder_reason:
        return [_landing_file(folder, folder_reason)]
    return [_landing_file(entry, _ignored_reason(entry)) for entry in files.list_folder(directory) or []]


def plan_ingestion(found: Sequence[LandingFile], seen: Mapping[str, str]) -> IngestionPlan:
    """Decide what to ingest, given ``seen``: path -> content hash of its last logged decision."""
    plan = IngestionPlan()
    # Only landing files count as earlier copies: a .txt that was ignored is no original.
    path_by_hash = {sha: path for path, sha in seen.items() if files.is_landing_file(path)}
    for file in found:
        earlier_sha = seen.get(file.path)
        if earlier_sha == file.content_sha256:
            plan.unchanged.append(file)
        elif file.ignored_reason:
            plan.ignored.append(file)
        elif file.unreadable_reason:
            plan.unreadable.append(file)
        elif earlier_sha is None and file.content_sha256 in path_by_hash:
            plan.duplicates[file.path] = path_by_hash[file.content_sha256]
        else:
            plan.to_ingest.append(file)
            path_by_hash.setdefault(file.content_sha256, file.path)
            if earlier_sha is not None:
                plan.replacing.add(file.path)
    return plan


def parse_landing_files(spark: SparkSession, paths: Sequence[str]) -> DataFrame:
    """Parsed rows of the given files, one Spark task per file (up to :data:`MAX_PARSE_TASKS`),
    plus one summary record per file (no line) with its layout or the error that rejects it.

    The tasks read the files themselves (:mod:`mlvp_assets.files`), so the driver never holds
    their content, and no JVM call is made: this works over Spark Connect too.
    """
    if not paths:
        return spark.createDataFrame([], PARSED_SCHEMA)
    indexes = spark.range(len(paths), numPartitions=min(len(paths), MAX_PARSE_TASKS)).withColumnRenamed(
        "id", "index"
    )
    return indexes.mapInPandas(functools.partial(parse_files, tuple(paths)), PARSED_SCHEMA)


def bronze_rows(parsed: DataFrame, day: dt.date, rejected: Sequence[str] = ()) -> DataFrame:
    """Parsed rows that belong in bronze: data lines of files not rejected, with ingestion time
    and day (a file rejected part-way, say at a bad byte, leaves none of its rows)."""
    rows = parsed.where(F.col(SOURCE_LINE).isNotNull())
    if rejected:
        rows = rows.where(~F.col(SOURCE_FILE).isin(list(rejected)))
    return (
        rows.drop(FILE_ERROR, FILE_SUMMARY)
        .withColumn(INGESTED_AT, F.current_timestamp())
        .withColumn(PARTITION_COLUMN, F.lit(day))
    )


def file_summaries(parsed: DataFrame) -> dict[str, FileSummary]:
    """path -> what was learned about the file as a whole (layout, header changes, or its error)."""
    records = (
        parsed.where(F.col(SOURCE_LINE).isNull()).select(SOURCE_FILE, FILE_ERROR, FILE_SUMMARY).collect()
    )
    return {row[SOURCE_FILE]: FileSummary.from_json(row[FILE_SUMMARY], row[FILE_ERROR]) for row in records}


@dataclass(frozen=True)
class IngestionResult:
    """What one ingestion of a landing day did, file by file."""

    day: dt.date
    rows_by_file: dict[str, int]  # ingested or replaced files -> rows written
    replaced: frozenset[str]
    unchanged: tuple[str, ...]
    duplicates: dict[str, str]
    rejected: dict[str, str]  # path -> error naming the file
    ignored: dict[str, str] = field(default_factory=dict)  # path -> why it is not a landing file
    layouts: dict[str, str] = field(default_factory=dict)  # ingested or replaced files -> layout

    @property
    def rows_written(self) -> int:
        return sum(self.rows_by_file.values())


def seen_files(spark: SparkSession, log_path: str) -> dict[str, str]:
    """path -> content hash of the latest decision about it, from the ingestion log."""
    if not table_exists(spark, log_path):
        return {}
    rows = (
        read_table(spark, log_path)
        .groupBy("path")
        .agg(F.max_by("content_sha256", "logged_at").alias("sha"))
        .collect()
    )
    return {row["path"]: row["sha"] for row in rows}


def _log_entries(
    day: dt.date,
    plan: IngestionPlan,
    found: Mapping[str, LandingFile],
    summaries: Mapping[str, FileSummary],
    rows_by_file: Mapping[str, int],
) -> list[IngestionLogEntry]:
    entries = []
    for file in plan.to_ingest:
        summary = summaries[file.path]
        if summary.error:
            status, rows = Status.REJECTED, 0
        else:
            status, rows = (
                (Status.REPLACED if file.path in plan.replacing else Status.INGESTED),
                rows_by_file[file.path],
            )
        entries.append(
            IngestionLogEntry(
                day,
                file.path,
                file.size_bytes,
                file.content_sha256,
                rows,
                status,
                summary.error,
                summary.layout,
                summary.missing_columns,
                summary.new_columns,
            )  # fmt: skip
        )
    for path, original in plan.duplicates.items():
        file = found[path]
        entries.append(
            IngestionLogEntry(
                day,
                path,
                file.size_bytes,
                file.content_sha256,
                0,
                Status.SKIPPED_DUPLICATE,
                f"same content as {original}",
            )
        )
    not_read = [(file, Status.IGNORED, file.ignored_reason) for file in plan.ignored] + [
        (file, Status.REJECTED, file.unreadable_reason) for file in plan.unreadable
    ]
    for file, status, reason in not_read:
        entries.append(
            IngestionLogEntry(day, file.path, file.size_bytes, file.content_sha256, 0, status, reason)
        )
    return entries


def ingest_landing_day(
    spark: SparkSession, landing_dir: str, bronze_path: str, log_path: str, day: dt.date
) -> IngestionResult:
    """Ingest the new and changed files of one landing day into bronze and log every decision."""
    found = discover_landing_files(landing_dir)
    plan = plan_ingestion(found, seen_files(spark, log_path))
    parsed = parse_landing_files(spark, [file.path for file in plan.to_ingest]).cache()
    try:
        summaries = file_summaries(parsed)
        rejected = {path: summary.error for path, summary in summaries.items() if summary.error}
        rejected.update({file.path: file.unreadable_reason or "" for file in plan.unreadable})
        accepted = [file.path for file in plan.to_ingest if file.path not in rejected]
        rows = bronze_rows(parsed, day, sorted(rejected))
        rows_by_file = dict.fromkeys(accepted, 0)
        rows_by_file.update(
            {r[SOURCE_FILE]: int(r["count"]) for r in rows.groupBy(SOURCE_FILE).count().collect()}
        )
        if accepted:
            paths_sql = ", ".join("'" + path.replace("'", "''") + "'" for path in accepted)
            replace_rows(
                rows,
                bronze_path,
                f"{PARTITION_COLUMN} = DATE'{day.isoformat()}' AND {SOURCE_FILE} IN ({paths_sql})",
                merge_schema=True,
            )
        elif not table_exists(spark, bronze_path):
            append(rows, bronze_path)  # nothing to write yet, but downstream needs the table
    finally:
        parsed.unpersist()

    crash_point(BRONZE_WRITTEN)
    entries = _log_entries(day, plan, {file.path: file for file in found}, summaries, rows_by_file)
    if entries:
        log = dataclass_frame(spark, entries, IngestionLogEntry)
        append(log.withColumn("logged_at", F.current_timestamp()), log_path, merge_schema=True)
    return IngestionResult(
        day=day,
        rows_by_file=rows_by_file,
        replaced=frozenset(plan.replacing - rejected.keys()),
        unchanged=tuple(file.path for file in plan.unchanged),
        duplicates=plan.duplicates,
        rejected=rejected,
        ignored={file.path: file.ignored_reason or "" for file in plan.ignored},
        layouts={path: summaries[path].layout or "" for path in accepted},
    )


def latest_decisions(log: DataFrame) -> DataFrame:
    """The latest logged decision about each file of each day: a file ingested, then replaced,
    counts once, as it stands now."""
    latest = F.max_by(F.struct(*[c for c in log.columns if c not in (PARTITION_COLUMN, "path")]), "logged_at")
    return (
        log.groupBy(PARTITION_COLUMN, "path")
        .agg(latest.alias("_latest"))
        .select(PARTITION_COLUMN, "path", "_latest.*")
    )


def day_source_changes(spark: SparkSession, log_path: str, day: dt.date) -> dict[str, dict[str, list[str]]]:
    """The columns a day's files no longer deliver (``missing``) or newly deliver (``new``),
    each with the files concerned, from the latest decision about each file that day."""
    changes: dict[str, dict[str, list[str]]] = {"missing": {}, "new": {}}
    if not table_exists(spark, log_path):
        return changes
    log = read_table(spark, log_path)
    if "missing_columns" not in log.columns:  # a log written before layouts were recorded
        return changes
    written = (
        latest_decisions(log.where(F.col(PARTITION_COLUMN) == F.lit(day)))
        .where(F.col("status").isin(*Status.WRITTEN))
        .select("path", "missing_columns", "new_columns")
        .collect()
    )
    for row in written:
        for kind, columns in (("missing", row["missing_columns"]), ("new", row["new_columns"])):
            for column in columns or ():
                changes[kind].setdefault(column, []).append(row["path"])
    return changes
