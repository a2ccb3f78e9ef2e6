"""Gold enrichment and the Pandera contracts."""

from pyspark.sql import functions as F

from mlvp_assets.gold.rules import GOLD_RULES
from mlvp_assets.gold.transform import AGGREGATED_REVIEW_SCORES, enrich_listings
from mlvp_assets.quality.contracts import GoldListing, contract_errors
from mlvp_assets.quality.rules import describe_failures, evaluate_rules
from mlvp_assets.silver.transform import flag_rule_failures, typed_rows
from mlvp_assets_tests.factories import bronze_frame, listing


def gold_of(spark, rows):
    return enrich_listings(typed_rows(flag_rule_failures(bronze_frame(spark, rows))))


def test_aggregated_review_scores_sums_all_seven_scores(spark):
    gold = gold_of(spark, [listing()])
    # 97 + 10 + 9 + 10 + 10 + 10 + 9: review_scores_value (9) included, unlike the original MVP.
    assert gold.first()[AGGREGATED_REVIEW_SCORES] == 155.0


def test_contracts_accept_clean_rows(spark):
    gold = gold_of(spark, [listing("A"), listing("B", price="99")])
    assert contract_errors(GoldListing, gold) == []


def test_gold_contract_names_the_failed_checks_with_counts_and_samples(spark):
    gold = gold_of(spark, [listing("A"), listing("B"), listing("C")])
    broken = gold.withColumn(
        "price", F.when(F.col("listing_id") == "B", F.lit(-3.0)).otherwise(F.col("price"))
    )
    failures = contract_errors(GoldListing, broken)
    assert {(f["column"], f["check"]) for f in failures} == {("price", "greater_than(0)")}
    described = describe_failures(evaluate_rules(broken, GOLD_RULES))
    assert described == {
        "price_is_positive": {"column": "price", "failed_rows": 1, "total_rows": 3, "samples": ["-3.0"]}
    }


def test_contract_cannot_be_switched_off_by_the_environment(spark, monkeypatch):
    monkeypatch.setenv("PANDERA_VALIDATION_ENABLED", "False")
    gold = gold_of(spark, [listing("A")]).withColumn("room_type", F.lit("Igloo"))
    assert [f["column"] for f in contract_errors(GoldListing, gold)] == ["room_type"]


def test_gold_contract_catches_a_missing_column(spark):
    gold = gold_of(spark, [listing("A")]).drop(AGGREGATED_REVIEW_SCORES)
    failures = contract_errors(GoldListing, gold)
    assert any(f["column"] == AGGREGATED_REVIEW_SCORES for f in failures)
