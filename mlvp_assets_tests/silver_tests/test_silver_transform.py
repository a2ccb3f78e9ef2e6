"""Silver transformations on tiny DataFrames: which rule each bad value breaks, typing, dedup."""

import pytest
from pyspark.sql import functions as F

from mlvp_assets.silver.rules import SILVER_RULES
from mlvp_assets.silver.transform import (
    FAILED_RULES,
    deduplicate_listings,
    flag_rule_failures,
    quarantined_rows,
    rule_failure_counts,
    typed_rows,
)
from mlvp_assets_tests.factories import bronze_frame, listing


def failed_rules_of(spark, row: dict, **kwargs) -> list[str]:
    flagged = flag_rule_failures(bronze_frame(spark, [row], **kwargs))
    return flagged.select(FAILED_RULES).first()[0]


def test_valid_listing_breaks_no_rule(spark):
    assert failed_rules_of(spark, listing()) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"cancellation_policy": None}, ["cancellation_policy_is_present"]),
        ({"neighbourhood_cleansed": "   "}, ["neighbourhood_cleansed_is_present"]),
        ({"listing_id": None}, ["listing_id_is_present"]),
        ({"price": "abc"}, ["price_is_numeric"]),
        ({"price": "$1,200.00"}, ["price_is_numeric"]),
        ({"minimum_nights": "2.5"}, ["minimum_nights_is_numeric"]),
        ({"bedrooms": "two"}, ["bedrooms_is_numeric"]),
        ({"price": "0"}, ["price_is_positive"]),
        ({"price": "-5"}, ["price_is_positive"]),
        ({"latitude": "40.71"}, ["latitude_in_range"]),
        ({"accommodates": "0"}, ["accommodates_in_range"]),
        ({"review_scores_rating": "150"}, ["review_scores_rating_in_range"]),
        ({"review_scores_value": "11"}, ["review_scores_value_in_range"]),
        ({"room_type": "Castle room"}, ["room_type_is_known_value"]),
        ({"bed_type": "Hammock"}, ["bed_type_is_known_value"]),
        ({"host_is_superhost": "yes"}, ["host_is_superhost_is_known_value"]),
        ({"price": "0", "room_type": "Igloo"}, ["price_is_positive", "room_type_is_known_value"]),
    ],
)
def test_each_bad_value_breaks_its_rule(spark, changes, expected):
    assert sorted(failed_rules_of(spark, listing(**changes))) == sorted(expected)


def test_new_neighbourhood_is_not_an_error(spark):
    assert failed_rules_of(spark, listing(neighbourhood_cleansed="Treasure Island")) == []


def test_malformed_line_breaks_only_the_well_formed_rule(spark):
    row = dict.fromkeys(listing(), None)
    assert failed_rules_of(spark, row, malformed={0: "expected 25 fields, found 3"}) == [
        "row_has_expected_fields"
    ]


def test_typed_rows_have_the_mission_types(spark):
    flagged = flag_rule_failures(bronze_frame(spark, [listing(price=" 185 ", minimum_nights="3.0")]))
    typed = typed_rows(flagged)
    types = dict(typed.dtypes)
    assert (
        types["price"] == "double" and types["minimum_nights"] == "bigint" and types["room_type"] == "string"
    )
    row = typed.first()
    assert row["price"] == 185.0 and row["minimum_nights"] == 3


def test_quarantine_and_typed_rows_split_the_input(spark):
    rows = [listing("A"), listing("B", price="x"), listing("C", room_type="Igloo"), listing("D")]
    flagged = flag_rule_failures(bronze_frame(spark, rows))
    assert sorted(r.listing_id for r in typed_rows(flagged).collect()) == ["A", "D"]
    quarantined = quarantined_rows(flagged)
    assert sorted(r.listing_id for r in quarantined.collect()) == ["B", "C"]
    assert quarantined.where(F.col("price") == "x").count() == 1  # text kept as it arrived
    assert rule_failure_counts(flagged) == {"price_is_numeric": 1, "room_type_is_known_value": 1}


def test_deduplicate_keeps_the_last_delivered_row_per_listing(spark):
    rows = [listing("A", price="100"), listing("B"), listing("A", price="120"), listing("A", price="120")]
    typed = typed_rows(flag_rule_failures(bronze_frame(spark, rows)))
    deduplicated = {row.listing_id: row.price for row in deduplicate_listings(typed).collect()}
    assert deduplicated == {"A": 120.0, "B": 185.0}


def test_rule_names_are_unique():
    names = [rule.name for rule in SILVER_RULES]
    assert len(names) == len(set(names))
