"""Pandera contracts (pyspark backend) of the typed listing tables, and how to run them.

The ranges and vocabularies come from ``mlvp_assets.schema``, the same constants the row rules
in ``listing_rules`` use, so the contract and the quarantine cannot disagree.
"""

from __future__ import annotations

from typing import Any

import pandera.pyspark as pa
import pyspark.sql.types as T
from pandera.config import config_context
from pandera.pyspark import Field
from pyspark.sql import DataFrame

from mlvp_assets.schema import CATEGORY_VALUES, PRICE_RANGE_EXCLUSIVE_LOW, REVIEW_SCORE_COLUMNS, VALUE_RANGES


def _in_range(column: str) -> Any:
    low, high = VALUE_RANGES[column]
    return Field(ge=low, le=high)


def _one_of(column: str) -> Any:
    return Field(isin=list(CATEGORY_VALUES[column]))


class SilverListing(pa.DataFrameModel):
    """A typed, clean listing of one landing day."""

    listing_id: T.StringType = Field()
    landing_date: T.DateType = Field()
    host_is_superhost: T.StringType = _one_of("host_is_superhost")
    cancellation_policy: T.StringType = _one_of("cancellation_policy")
    instant_bookable: T.StringType = _one_of("instant_bookable")
    host_total_listings_count: T.DoubleType = _in_range("host_total_listings_count")
    neighbourhood_cleansed: T.StringType = Field()
    latitude: T.DoubleType = _in_range("latitude")
    longitude: T.DoubleType = _in_range("longitude")
    property_type: T.StringType = Field()
    room_type: T.StringType = _one_of("room_type")
    accommodates: T.DoubleType = _in_range("accommodates")
    bathrooms: T.DoubleType = _in_range("bathrooms")
    bedrooms: T.DoubleType = _in_range("bedrooms")
    beds: T.DoubleType = _in_range("beds")
    bed_type: T.StringType = _one_of("bed_type")
    minimum_nights: T.LongType = _in_range("minimum_nights")
    number_of_reviews: T.LongType = _in_range("number_of_reviews")
    review_scores_rating: T.DoubleType = _in_range("review_scores_rating")
    review_scores_accuracy: T.DoubleType = _in_range("review_scores_accuracy")
    review_scores_cleanliness: T.DoubleType = _in_range("review_scores_cleanliness")
    review_scores_checkin: T.DoubleType = _in_range("review_scores_checkin")
    review_scores_communication: T.DoubleType = _in_range("review_scores_communication")
    review_scores_location: T.DoubleType = _in_range("review_scores_location")
    review_scores_value: T.DoubleType = _in_range("review_scores_value")
    price: T.DoubleType = Field(gt=PRICE_RANGE_EXCLUSIVE_LOW[0], le=PRICE_RANGE_EXCLUSIVE_LOW[1])

    class Config:
        strict = False  # lineage columns may ride along


MAX_AGGREGATED_REVIEW_SCORES = sum(VALUE_RANGES[column][1] for column in REVIEW_SCORE_COLUMNS)


class GoldListing(SilverListing):
    """A model-ready listing: a clean listing plus its aggregated review score."""

    aggregated_review_scores: T.DoubleType = Field(ge=0, le=MAX_AGGREGATED_REVIEW_SCORES)


def contract_errors(model: type[pa.DataFrameModel], df: DataFrame) -> list[dict[str, str]]:
    """Run a Pandera contract and return its failures (empty when the data honours it).

    The pyspark backend never raises: failures collect in ``df.pandera.errors`` and must be
    read right after ``validate``. Validation is forced on at full depth so that
    ``PANDERA_VALIDATION_ENABLED=False`` in the environment cannot turn the contract into a
    silent pass, and the frame is cached because each check is a Spark job of its own.
    """
    cached = df.cache()
    try:
        with config_context(validation_enabled=True, validation_depth="SCHEMA_AND_DATA"):
            validated = model.validate(cached)  # type: ignore[arg-type]  # typed for pandera's DataFrame only
        errors = validated.pandera.errors  # type: ignore[attr-defined]  # accessor is added at run time
    finally:
        cached.unpersist()
    failures = []
    for category in errors.values():
        for reason, entries in category.items():
            for error in entries:
                failures.append(
                    {"reason": reason, "column": error.get("column", ""), "check": error["check"]}
                )
    return failures
