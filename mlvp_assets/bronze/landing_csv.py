"""Parsing one landing CSV into bronze text rows, in plain Python.

Kept apart from the Spark and Delta code because it runs inside Spark's Python workers
(``mapInPandas``): importing this module must stay cheap there.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from mlvp_assets.schema import LANDING_COLUMNS, REQUIRED_LANDING_COLUMNS

SOURCE_FILE = "_source_file"
SOURCE_LINE = "_source_line"
RESCUED_DATA = "_rescued_data"
MALFORMED_REASON = "_malformed_reason"
INGESTED_AT = "_ingested_at"
FILE_ERROR = "_file_error"

PARSED_SCHEMA = ", ".join(
    [
        f"{SOURCE_FILE} string",
        f"{SOURCE_LINE} long",
        *[f"{column} string" for column in LANDING_COLUMNS],
        f"{RESCUED_DATA} string",
        f"{MALFORMED_REASON} string",
        f"{FILE_ERROR} string",
    ]
)


@dataclass(frozen=True)
class ParsedFile:
    rows: list[tuple]  # (line, *LANDING_COLUMNS values, rescued_data, malformed_reason)
    error: str | None = None


def parse_landing_csv(path: str, content: bytes) -> ParsedFile:
    """Parse one landing CSV into text rows; never raises for bad content.

    Values stay text (empty fields become null); columns outside the schema go to the
    ``_rescued_data`` JSON; a line with the wrong number of fields is kept with a
    ``_malformed_reason`` and its raw fields in ``_rescued_data``.
    """
    if not content.strip():
        return ParsedFile([], f"{path}: file is empty (no header row)")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        return ParsedFile(
            [],
            f"{path}: not valid UTF-8 (byte 0x{content[error.start]:02x} at offset {error.start}, line {line}); "
            "re-export the file as UTF-8",
        )
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = [name.strip() for name in next(reader)]
    missing = [column for column in REQUIRED_LANDING_COLUMNS if column not in header]
    if missing:
        return ParsedFile([], f"{path}: missing required column(s) {', '.join(missing)}")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        return ParsedFile([], f"{path}: column(s) {', '.join(repeated)} appear more than once in the header")
    position = {name: index for index, name in enumerate(header)}
    extra_columns = [name for name in header if name not in LANDING_COLUMNS]
    rows = []
    for fields in reader:
        if not fields:  # a blank line is no record
            continue
        if len(fields) != len(header):
            values = [None] * len(LANDING_COLUMNS)
            rescued = json.dumps({"_raw_fields": fields})
            reason = f"expected {len(header)} fields, found {len(fields)}"
        else:
            values = [fields[position[column]] or None for column in LANDING_COLUMNS]
            rescued = json.dumps({name: fields[position[name]] for name in extra_columns}) if extra_columns else None
            reason = None
        rows.append((reader.line_num, *values, rescued, reason))
    return ParsedFile(rows)


def parse_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    columns = [SOURCE_FILE, SOURCE_LINE, *LANDING_COLUMNS, RESCUED_DATA, MALFORMED_REASON, FILE_ERROR]
    for batch in batches:
        records = []
        for path, content in zip(batch["path"], batch["content"]):
            parsed = parse_landing_csv(path, bytes(content))
            if parsed.error:
                records.append((path, None, *[None] * (len(LANDING_COLUMNS) + 2), parsed.error))
            records.extend((path, *row, None) for row in parsed.rows)
        yield pd.DataFrame.from_records(records, columns=columns)
