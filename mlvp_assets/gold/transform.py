"""Silver listings to model-ready gold listings."""

from __future__ import annotations

from functools import reduce
from operator import add

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mlvp_assets.schema import LANDING_COLUMNS, PARTITION_COLUMN, REVIEW_SCORE_COLUMNS

AGGREGATED_REVIEW_SCORES = "aggregated_review_scores"


def enrich_listings(silver: DataFrame) -> DataFrame:
    """Model-ready rows: the listing columns plus ``aggregated_review_scores``.

    ``aggregated_review_scores`` is the sum of all seven review scores (rating on 0-100, the six
    others on 0-10). The original Databricks MVP summed only six of them by mistake, leaving
    ``review_scores_value`` out; this sums the seven.
    """
    total = reduce(add, [F.col(column) for column in REVIEW_SCORE_COLUMNS])
    return silver.select(*LANDING_COLUMNS, PARTITION_COLUMN, total.alias(AGGREGATED_REVIEW_SCORES))
