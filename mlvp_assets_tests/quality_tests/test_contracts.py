"""The contracts run in one pass (quality/contracts.py): their verdicts must be Pandera's own.

Each comparison validates the same frame with Pandera's pyspark backend at full depth (a Spark
job per check) and with :func:`contract_errors`, and compares which (column, check) fail.
"""

import pandera.pyspark as pa
import pyspark.sql.functions as F
import pyspark.sql.types as T
import pytest
from pandera.config import config_context
from pandera.pyspark import Field

from mlvp_assets.gold.transform import enrich_listings
from mlvp_assets.quality.contracts import GoldListing, contract_errors, value_checks
from mlvp_assets.silver.transform import flag_rule_failures, typed_rows
from mlvp_assets_tests.factories import bronze_frame, listing


def pandera_failures(model, df) -> set[tuple[str, str]]:
    """(column, check) of every failure Pandera's pyspark backend reports at full depth."""
    with config_context(validation_enabled=True, validation_depth="SCHEMA_AND_DATA"):
        errors = model.validate(df).pandera.errors
    return {
        (error.get("column", ""), error["check"])
        for category in errors.values()
        for entries in category.values()
        for error in entries
    }


def one_pass_failures(model, df) -> set[tuple[str, str]]:
    return {(failure["column"], failure["check"]) for failure in contract_errors(model, df)}


class EveryCheckKind(pa.DataFrameModel):
    """One column per check condition contracts.py translates, with both bounds' flags."""

    equal: T.LongType = Field(eq=1)
    not_equal: T.LongType = Field(ne=1)
    greater: T.DoubleType = Field(gt=0)
    at_least: T.DoubleType = Field(ge=0)
    less: T.DoubleType = Field(lt=10)
    at_most: T.DoubleType = Field(le=10)
    open_range: T.DoubleType = Field(
        in_range={"min_value": 0, "max_value": 10, "include_min": False, "include_max": False}
    )
    closed_range: T.DoubleType = Field(in_range={"min_value": 0, "max_value": 10})
    allowed: T.StringType = Field(isin=["a", "b"])
    forbidden: T.StringType = Field(notin=["x"])
    maybe: T.StringType = Field(nullable=True, isin=["a"])


EVERY_KIND_SCHEMA = T.StructType(
    [T.StructField(name, dtype.type, True) for name, dtype in EveryCheckKind.to_schema().dtypes.items()]
)
VALID = (1, 2, 0.5, 0.0, 9.5, 10.0, 5.0, 0.0, "a", "y", None)


def test_a_row_on_every_boundary_passes_both(spark):
    on_bounds = [VALID, (1, 0, 1e-9, 0.0, 9.999, 10.0, 1e-9, 10.0, "b", "z", "a")]
    df = spark.createDataFrame(on_bounds, EVERY_KIND_SCHEMA)
    assert pandera_failures(EveryCheckKind, df) == one_pass_failures(EveryCheckKind, df) == set()


@pytest.mark.parametrize(
    ("column", "bad"),
    [
        ("equal", 2),
        ("not_equal", 1),
        ("greater", 0.0),
        ("at_least", -0.1),
        ("less", 10.0),
        ("at_most", 10.5),
        ("open_range", 0.0),
        ("open_range", 10.0),
        ("closed_range", 10.1),
        ("allowed", "c"),
        ("forbidden", "x"),
        ("maybe", "b"),
        ("allowed", None),  # a column that may not be null
    ],
)
def test_each_kind_of_check_fails_as_pandera_says(spark, column, bad):
    names = list(EVERY_KIND_SCHEMA.names)
    broken = tuple(bad if name == column else value for name, value in zip(names, VALID, strict=True))
    df = spark.createDataFrame([VALID, broken], EVERY_KIND_SCHEMA)
    expected = pandera_failures(EveryCheckKind, df)
    assert expected and {failed_column for failed_column, _ in expected} == {column}
    assert one_pass_failures(EveryCheckKind, df) == expected


def gold_of(spark, rows):
    return enrich_listings(typed_rows(flag_rule_failures(bronze_frame(spark, rows))))


def test_the_gold_contract_agrees_with_pandera_on_a_day_broken_in_many_ways(spark):
    gold = gold_of(spark, [listing(f"L{index}") for index in range(6)])
    broken = (
        gold.withColumn("price", F.when(F.col("listing_id") == "L1", -3.0).otherwise(F.col("price")))
        .withColumn("room_type", F.when(F.col("listing_id") == "L2", "Igloo").otherwise(F.col("room_type")))
        .withColumn("latitude", F.when(F.col("listing_id") == "L3", None).otherwise(F.col("latitude")))
        .withColumn(
            "bedrooms", F.when(F.col("listing_id").isin("L4", "L5"), 99.0).otherwise(F.col("bedrooms"))
        )
    )
    expected = pandera_failures(GoldListing, broken)
    assert {column for column, _ in expected} == {"price", "room_type", "latitude", "bedrooms"}
    assert one_pass_failures(GoldListing, broken) == expected
    counted = {
        failure["column"]: failure.get("failed_rows") for failure in contract_errors(GoldListing, broken)
    }
    assert counted["bedrooms"] == 2 and counted["price"] == 1 and counted["latitude"] == 1


def test_a_column_of_the_wrong_type_fails_on_its_type_alone(spark):
    # Pandera also reports the column's value checks as failed (they refuse an int column); the
    # type is what is wrong, so the one pass reports that alone.
    gold = gold_of(spark, [listing("A")]).withColumn("minimum_nights", F.col("minimum_nights").cast("int"))
    failures = contract_errors(GoldListing, gold)
    assert [(failure["reason"], failure["column"]) for failure in failures] == [
        ("WRONG_DATATYPE", "minimum_nights")
    ]


def test_the_value_checks_are_one_aggregation(spark):
    gold = gold_of(spark, [listing(f"L{index}") for index in range(3)])
    tracker = spark.sparkContext.statusTracker()
    spark.sparkContext.setJobGroup("contract-one-pass", "the gold contract")
    try:
        assert contract_errors(GoldListing, gold) == []
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)
    # One aggregation: Spark runs it as one job, or two when adaptive execution plans the partial
    # aggregates' shuffle as a job of its own; Pandera's backend ran a job per check.
    assert len(tracker.getJobIdsForGroup("contract-one-pass")) <= 2
    assert len(value_checks(GoldListing)) > 40


def test_a_check_without_a_one_pass_condition_is_refused_by_name():
    class Pattern(pa.DataFrameModel):
        code: T.StringType = Field(str_matches=r"^[A-Z]+$")

    with pytest.raises(NotImplementedError, match=r"Pattern\.code: check .str_matches"):
        value_checks(Pattern)
