"""latest_decisions: the one reading of the ingestion log that the schema check and the dashboard share."""

import datetime as dt

from mlvp_assets.bronze.ingest import INGESTION_LOG_SCHEMA, IngestionLogEntry, Status, latest_decisions
from mlvp_assets.delta_tables import dataclass_row

DAY = dt.date(2026, 1, 2)


def test_a_file_logged_twice_counts_once_with_its_latest_decision(spark):
    entries = [
        (
            IngestionLogEntry(DAY, "d/a.csv", 10, "h1", 5, Status.INGESTED, missing_columns=("price",)),
            dt.datetime(2026, 1, 2, 6),
        ),
        (IngestionLogEntry(DAY, "d/a.csv", 12, "h2", 6, Status.REPLACED), dt.datetime(2026, 1, 2, 9)),
        (
            IngestionLogEntry(DAY, "d/b.txt", 3, "h3", 0, Status.IGNORED, "not a landing file"),
            dt.datetime(2026, 1, 2, 6),
        ),
        (
            IngestionLogEntry(DAY + dt.timedelta(days=1), "d/a.csv", 10, "h1", 5, Status.INGESTED),
            dt.datetime(2026, 1, 3, 6),
        ),
    ]
    log = spark.createDataFrame(
        [(*dataclass_row(entry), logged_at) for entry, logged_at in entries],
        f"{INGESTION_LOG_SCHEMA}, logged_at timestamp",
    )

    rows = latest_decisions(log).orderBy("landing_date", "path").collect()

    assert [(r.landing_date, r.path, r.status, r.row_count, list(r.missing_columns)) for r in rows] == [
        (DAY, "d/a.csv", Status.REPLACED, 6, []),
        (DAY, "d/b.txt", Status.IGNORED, 0, []),
        (DAY + dt.timedelta(days=1), "d/a.csv", Status.INGESTED, 5, []),
    ]
