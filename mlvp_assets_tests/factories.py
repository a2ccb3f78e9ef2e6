"""Small, readable test data: one valid listing as landing text, and CSV files built from it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from mlvp_assets.schema import LANDING_COLUMNS

VALID_LISTING: dict[str, str] = {
    "listing_id": "L000001",
    "host_is_superhost": "t",
    "cancellation_policy": "moderate",
    "instant_bookable": "f",
    "host_total_listings_count": "2.0",
    "neighbourhood_cleansed": "Mission",
    "latitude": "37.7599",
    "longitude": "-122.4148",
    "property_type": "Apartment",
    "room_type": "Entire home/apt",
    "accommodates": "4.0",
    "bathrooms": "1.0",
    "bedrooms": "2.0",
    "beds": "2.0",
    "bed_type": "Real Bed",
    "minimum_nights": "2",
    "number_of_reviews": "31",
    "review_scores_rating": "97.0",
    "review_scores_accuracy": "10.0",
    "review_scores_cleanliness": "9.0",
    "review_scores_checkin": "10.0",
    "review_scores_communication": "10.0",
    "review_scores_location": "10.0",
    "review_scores_value": "9.0",
    "price": "185.0",
}


def listing(listing_id: str = "L000001", **changes: str | None) -> dict[str, str | None]:
    return {**VALID_LISTING, "listing_id": listing_id, **changes}


def csv_text(rows: list[dict], columns: list[str] | None = None) -> str:
    columns = columns or list(LANDING_COLUMNS)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(column) is None else row.get(column) for column in columns])
    return buffer.getvalue()


def write_landing_file(root: Path, day: str, name: str, content: str | bytes) -> Path:
    path = root / "landing" / day / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def by_name(row: tuple) -> dict:
    """A row of the landing parser (``landing_csv.ROW_COLUMNS`` order) as column -> value."""
    from mlvp_assets.bronze.landing_csv import ROW_COLUMNS

    return dict(zip(ROW_COLUMNS, row, strict=True))


def good_rows(count: int, prefix: str = "G") -> list[dict]:
    return [listing(f"{prefix}{index:05d}") for index in range(count)]


def bronze_frame(spark, rows: list[dict], day: str = "2026-01-01", malformed: dict[int, str] | None = None):
    """A bronze-shaped DataFrame (text values plus lineage) from listing dicts."""
    import datetime as dt

    from pyspark.sql import functions as F

    from mlvp_assets.bronze.ingest import bronze_rows
    from mlvp_assets.bronze.landing_csv import INGESTED_AT, PARSED_SCHEMA

    malformed = malformed or {}
    records = [
        (
            "file:/landing/a.csv",
            index + 2,
            *[row.get(column) for column in LANDING_COLUMNS],
            None,
            malformed.get(index),
            "project",
            None,
            None,
            None,
        )  # fmt: skip
        for index, row in enumerate(rows)
    ]
    frame = bronze_rows(spark.createDataFrame(records, PARSED_SCHEMA), dt.date.fromisoformat(day))
    return frame.withColumn(INGESTED_AT, F.lit(dt.datetime(2026, 1, 2, 3, 0)))
