"""Parsing one landing file into bronze text rows, in plain Python, as a stream.

A landing file is ``*.csv`` or ``*.csv.gz`` (gzip is decompressed while reading). Its layout is
recognised from the header (:mod:`mlvp_assets.bronze.layouts`) and every data record becomes
one row of mission columns as text, with the line it starts on, the columns the layout does not
map in ``_rescued_data``, the layout's name and what the mapping did to the row's values
(``_lineage``). The file is read line by line and rows are handed on in batches, so memory
follows the batch, not the file: the limit is one record (one line, or a quoted field spanning
lines), up to :data:`FIELD_SIZE_LIMIT` characters a field.

Kept apart from the Spark and Delta code because it runs inside Spark's Python workers
(``mapInPandas``): importing this module must stay cheap there.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import pandas as pd

from mlvp_assets import files
from mlvp_assets.bronze.layouts import SourceLayout, detect_layout, unrecognised_header
from mlvp_assets.schema import LANDING_COLUMNS, MALFORMED_REASON

SOURCE_FILE = "_source_file"
SOURCE_LINE = "_source_line"
RESCUED_DATA = "_rescued_data"
SOURCE_LAYOUT = "_source_layout"
LINEAGE = "_lineage"
INGESTED_AT = "_ingested_at"
FILE_ERROR = "_file_error"
FILE_SUMMARY = "_file_summary"

GZIP_MAGIC = b"\x1f\x8b"
# Rows handed to Spark at a time; bounds the parser's memory on large files. A batch also ends
# at BATCH_CHARS characters of values, so that rows of very large fields (up to
# FIELD_SIZE_LIMIT each) never make a batch of gigabytes, beyond what one Arrow string column
# holds (2 GiB).
BATCH_ROWS = 10_000
BATCH_CHARS = 64 * 1024 * 1024
# Python's csv module stops at 131,072 characters a field; real descriptions stay far below,
# and a field beyond this limit rejects its file with the line named instead of failing the task.
FIELD_SIZE_LIMIT = 16 * 1024 * 1024

ROW_COLUMNS = (SOURCE_LINE, *LANDING_COLUMNS, RESCUED_DATA, MALFORMED_REASON, SOURCE_LAYOUT, LINEAGE)
PARSED_COLUMNS = (SOURCE_FILE, *ROW_COLUMNS, FILE_ERROR, FILE_SUMMARY)
PARSED_SCHEMA = ", ".join(
    f"{name} long" if name == SOURCE_LINE else f"{name} string" for name in PARSED_COLUMNS
)


class LandingFileError(Exception):
    """The file cannot be read at all; the message names the file and where."""


@dataclass
class FileSummary:
    """What was learned about one file as a whole: its layout and how its header differs."""

    layout: str | None = None
    missing_columns: tuple[str, ...] = ()  # mission columns the file does not deliver
    new_columns: tuple[str, ...] = ()  # columns its layout does not know
    error: str | None = None  # set when the file is rejected

    def to_json(self) -> str:
        return json.dumps(
            {
                "layout": self.layout,
                "missing_columns": list(self.missing_columns),
                "new_columns": list(self.new_columns),
            }
        )

    @classmethod
    def from_json(cls, text: str | None, error: str | None = None) -> FileSummary:
        data = json.loads(text) if text else {}
        return cls(
            data.get("layout"),
            tuple(data.get("missing_columns", ())),
            tuple(data.get("new_columns", ())),
            error,
        )


@dataclass
class ParsedFile:
    """A whole file parsed at once (tests, small files); the Spark path streams instead."""

    rows: list[tuple] = field(default_factory=list)  # ROW_COLUMNS values
    summary: FileSummary = field(default_factory=FileSummary)

    @property
    def error(self) -> str | None:
        return self.summary.error


def _decoded_lines(path: str, binary: Iterable[bytes]) -> Iterator[str]:
    """UTF-8 lines of a binary stream; a bad byte names its offset and line."""
    offset = 0
    for number, raw in enumerate(binary, start=1):
        if number == 1 and raw.startswith(GZIP_MAGIC):
            raise LandingFileError(f"{path}: is gzip-compressed; name it .csv.gz so that it is decompressed")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise LandingFileError(
                f"{path}: not valid UTF-8 (byte 0x{raw[error.start]:02x} at offset {offset + error.start}, "
                f"line {number}); re-export the file as UTF-8"
            ) from None
        yield line.removeprefix("\ufeff") if number == 1 else line
        offset += len(raw)


class _Records:
    """csv records of a text line stream, each with the line it starts on."""

    def __init__(self, path: str, lines: Iterator[str]):
        self._path = path
        self._reader = csv.reader(lines)

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        while True:
            start = self._reader.line_num + 1
            try:
                fields = next(self._reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise LandingFileError(f"{self._path}: unreadable CSV at line {start}: {error}") from None
            if fields:  # a blank line is no record
                yield start, fields


def _rows(
    path: str, layout: SourceLayout, header: list[str], records: Iterator[tuple[int, list[str]]]
) -> Iterator[tuple]:
    consumed = layout.consumed_columns()
    rescued_columns = [name for name in header if name not in consumed]
    for line, fields in records:
        if len(fields) != len(header):
            yield (
                line, *[None] * len(LANDING_COLUMNS), json.dumps({"_raw_fields": fields}),
                f"expected {len(header)} fields, found {len(fields)}", layout.name, None,
            )  # fmt: skip
            continue
        record = {name: value or None for name, value in zip(header, fields, strict=True)}
        values, notes = [], []
        for mapping in layout.mappings:
            value, note = mapping.parse(record)
            values.append(value)
            if note and note not in notes:
                notes.append(note)
        rescued = json.dumps({name: record[name] for name in rescued_columns}) if rescued_columns else None
        yield (line, *values, rescued, None, layout.name, "; ".join(notes) or None)


def read_landing_stream(path: str, binary: BinaryIO) -> tuple[FileSummary, Iterator[tuple]]:
    """The summary of one landing file and an iterator over its rows (``ROW_COLUMNS``).

    The summary's ``error`` is set for a file rejected by its header (empty, no known layout,
    a repeated column); the row iterator raises :class:`LandingFileError` for what is found
    later (a byte that is not UTF-8, a broken gzip stream, a field over the size limit).
    """
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    compressed = path.endswith(".gz")
    source = gzip.GzipFile(fileobj=binary, mode="rb") if compressed else binary
    records = iter(_Records(path, _decoded_lines(path, _guarded(path, source, compressed))))
    try:
        first = next(records, None)
    except LandingFileError as error:
        return FileSummary(error=str(error)), iter(())
    if first is None:
        return FileSummary(error=f"{path}: file is empty (no header row)"), iter(())
    header = [name.strip() for name in first[1]]
    repeated = sorted(name for name, count in Counter(header).items() if count > 1)
    if repeated:
        return FileSummary(
            error=f"{path}: column(s) {', '.join(repeated)} appear more than once in the header"
        ), iter(())
    layout = detect_layout(header)
    if layout is None:
        return FileSummary(error=f"{path}: {unrecognised_header(header)}"), iter(())
    summary = FileSummary(layout.name, layout.missing_columns(header), layout.new_columns(header))
    return summary, _rows(path, layout, header, records)


def _guarded(path: str, binary: Iterable[bytes], compressed: bool) -> Iterator[bytes]:
    """The stream's lines, with read and decompression errors turned into a clear rejection."""
    try:
        yield from binary
    except (OSError, EOFError, zlib.error) as error:
        what = "not a readable gzip file" if compressed else "could not be read"
        raise LandingFileError(f"{path}: {what} ({error})") from None


def parse_landing_csv(path: str, content: bytes) -> ParsedFile:
    """Parse a whole file held in memory; never raises for bad content."""
    summary, rows = read_landing_stream(path, io.BytesIO(content))
    parsed = ParsedFile(summary=summary)
    try:
        parsed.rows.extend(rows)
    except LandingFileError as error:
        parsed.rows.clear()
        parsed.summary.error = str(error)
    return parsed


def parse_files(paths: tuple[str, ...], batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """``mapInPandas`` body: each input row holds an ``index`` into ``paths``; each file is read
    from storage as a stream and yields its rows in batches, then one summary record (no line)
    carrying the layout or the error that rejects the file."""
    for batch in batches:
        for index in batch["index"]:
            yield from _parse_one(paths[int(index)])


def _frame(path: str, rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame.from_records([(path, *row, None, None) for row in rows], columns=list(PARSED_COLUMNS))


def _parse_one(path: str) -> Iterator[pd.DataFrame]:
    summary = FileSummary(error=f"{path}: could not be opened")
    try:
        if files.is_symlink(path):  # replaced by a link since it was listed: never followed
            raise LandingFileError(f"{path}: is a symbolic link; it is not followed")
        with files.open_input(path) as stream:
            summary, rows = read_landing_stream(path, stream)
            batch: list[tuple] = []
            chars = 0
            for row in rows:
                batch.append(row)
                chars += sum(len(value) for value in row if isinstance(value, str))
                if len(batch) >= BATCH_ROWS or chars >= BATCH_CHARS:
                    yield _frame(path, batch)
                    batch, chars = [], 0
            if batch:
                yield _frame(path, batch)
    except (LandingFileError, OSError) as error:
        summary.error = (
            str(error) if isinstance(error, LandingFileError) else f"{path}: could not be read ({error})"
        )
    empty_row = [None] * (len(ROW_COLUMNS))
    record = (path, *empty_row, summary.error, None if summary.error else summary.to_json())
    yield pd.DataFrame.from_records([record], columns=list(PARSED_COLUMNS))
