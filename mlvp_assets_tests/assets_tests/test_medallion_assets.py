"""The three layers through ``dagster.materialize`` on a temporary root: a three-day incremental
run of simulated data, idempotency, re-delivered files, and the blocking gold contract."""

import datetime as dt

import dagster as dg
import pytest
from pyspark.sql import functions as F

from mlvp_assets.bronze.assets import bronze_listings
from mlvp_assets.delta_tables import read_table, replace_partition
from mlvp_assets.gold.assets import gold_listings, gold_listings_match_contract
from mlvp_assets.partitions import daily_partitions
from mlvp_assets.silver.transform import flag_rule_failures, typed_rows
from mlvp_assets.simulate import simulate_landing
from mlvp_assets_tests.assets_tests.medallion import (
    THREE_LAYERS,
    WITH_CONTRACTS,
    assert_accounting_holds,
    check_results,
    day_rows,
    ingestion_log,
    materialize_day,
)
from mlvp_assets_tests.conftest import medallion_resources
from mlvp_assets_tests.factories import bronze_frame, csv_text, good_rows, listing, write_landing_file

DAYS = ["2026-01-01", "2026-01-02", "2026-01-03"]
ERRORS = {"null_required": 0.02, "text_in_numeric": 0.02, "duplicate_row": 0.02, "wrong_field_count": 0.01}
TIMESTAMPS = ("_ingested_at", "_quarantined_at")


@pytest.fixture(scope="module")
def three_days(tmp_path_factory, spark):
    """Three simulated days, landed one at a time and materialized as they arrive."""
    root = tmp_path_factory.mktemp("three_days")
    resources = medallion_resources(root)
    results, simulations = {}, {}
    for index, day in enumerate(DAYS):
        # Simulate all days every time: a day's files are byte-identical however many days follow.
        simulations[day] = simulate_landing(
            root, dt.date(2026, 1, 1), days=index + 1, rows_per_day=150, seed=3, error_rates=ERRORS
        )
        assets = WITH_CONTRACTS if index == 0 else THREE_LAYERS
        results[day] = materialize_day(assets, resources, day)
    return results, simulations, resources["storage"]


def test_every_day_succeeds_and_its_row_accounting_holds(three_days, spark):
    results, _, storage = three_days
    for day in DAYS:
        assert results[day].success
        assert check_results(results[day])["row_accounting_balances"].passed
        counts = assert_accounting_holds(spark, storage, day)
        assert counts["quarantined"] > 0 and counts["duplicates"] > 0  # the injected errors were caught
        assert day_rows(spark, storage, "gold_listings", day).count() == counts["silver"]


def test_each_day_ingests_only_its_own_files(three_days, spark):
    _, simulations, storage = three_days
    for day in DAYS:
        expected = {
            path.name: rows
            for path, rows in simulations[DAYS[-1]].rows_per_file.items()
            if path.parent.name == day
        }
        log = ingestion_log(spark, storage, day)
        assert {row.path.rsplit("/", 1)[1]: row.row_count for row in log} == expected
        assert {row.status for row in log} == {"ingested"}  # each file logged once, on its own day
        assert day_rows(spark, storage, "bronze_listings", day).count() == sum(expected.values())


def test_contracts_pass_on_clean_gold(three_days):
    results, _, _ = three_days
    checks = check_results(results[DAYS[0]])
    assert checks["silver_listings_match_contract"].passed
    assert checks["gold_listings_match_contract"].passed


def test_assets_report_rows_schema_path_and_delta_version(three_days):
    results, _, storage = three_days
    for materialization in results[DAYS[0]].get_asset_materialization_events():
        event = materialization.event_specific_data.materialization
        table = event.asset_key.path[-1]
        metadata = event.metadata
        assert metadata["table_path"].value == storage.table_path(table)
        assert metadata["dagster/row_count"].value >= 0
        assert metadata["delta_version"].value >= 0
        assert "listing_id" in [column.name for column in metadata["dagster/column_schema"].value.columns]


def test_data_quality_log_has_every_rule_of_every_day(three_days, spark):
    _, simulations, storage = three_days
    log = read_table(spark, storage.table_path("data_quality_log"))
    per_day = {row[0].isoformat(): row[1] for row in log.groupBy("landing_date").count().collect()}
    assert set(per_day) == set(DAYS) and len(set(per_day.values())) == 1
    numeric = log.where(F.col("rule").endswith("_is_numeric") & (F.col("landing_date") == F.lit(DAYS[0])))
    assert {row.action for row in numeric.collect()} == {"quarantine"}
    injected = simulations[DAYS[0]].injected_errors[DAYS[0]]["text_in_numeric"]
    assert numeric.agg(F.sum("failed_rows")).first()[0] == injected == 3  # 2% of 150 rows


def snapshot(spark, storage, table, day):
    frame = day_rows(spark, storage, table, day)
    return sorted(frame.drop(*[c for c in TIMESTAMPS if c in frame.columns]).collect())


def test_rematerializing_a_day_gives_the_same_tables(three_days, spark):
    _, _, storage = three_days
    tables = ("bronze_listings", "silver_listings", "quarantined_listings", "gold_listings")
    before = {table: snapshot(spark, storage, table, DAYS[1]) for table in tables}
    result = materialize_day(THREE_LAYERS, medallion_resources(storage.root), DAYS[1])
    assert result.success
    for table in tables:
        assert snapshot(spark, storage, table, DAYS[1]) == before[table], table


def test_redelivered_files_are_skipped_or_replace_their_rows(tmp_path, spark):
    resources = medallion_resources(tmp_path)
    storage, day = resources["storage"], "2026-03-01"

    def ingest():
        assert materialize_day([bronze_listings], resources, day).success
        bronze = day_rows(spark, storage, "bronze_listings", day)
        return {
            row._source_file.rsplit("/", 1)[1]: row[1]
            for row in bronze.groupBy("_source_file").count().collect()
        }

    first = csv_text(good_rows(4, prefix="A"))
    write_landing_file(tmp_path, day, "a.csv", first)
    assert ingest() == {"a.csv": 4}
    assert ingest() == {"a.csv": 4}  # the same file again: nothing new
    write_landing_file(tmp_path, day, "a_copy.csv", first)
    assert ingest() == {"a.csv": 4}  # the same content under another name is skipped
    write_landing_file(tmp_path, day, "a.csv", csv_text(good_rows(2, prefix="B")))
    assert ingest() == {"a.csv": 2}  # a changed file replaces its earlier rows
    statuses = [
        (row.path.rsplit("/", 1)[1], row.status, row.row_count) for row in ingestion_log(spark, storage, day)
    ]
    assert sorted(statuses) == [
        ("a.csv", "ingested", 4),
        ("a.csv", "replaced", 2),
        ("a_copy.csv", "skipped_duplicate", 0),
    ]


def test_failing_gold_contract_blocks_everything_downstream(tmp_path, spark):
    resources = medallion_resources(tmp_path)
    storage, day = resources["storage"], "2026-03-02"
    silver = typed_rows(flag_rule_failures(bronze_frame(spark, [listing("A"), listing("B")], day=day)))
    broken = silver.withColumn(
        "price", F.when(F.col("listing_id") == "B", F.lit(-1.0)).otherwise(F.col("price"))
    )
    replace_partition(broken, storage.table_path("silver_listings"), dt.date.fromisoformat(day))
    downstream_ran = []

    @dg.asset(deps=[gold_listings], partitions_def=daily_partitions)
    def downstream_of_gold():
        downstream_ran.append(True)

    result = materialize_day(
        [gold_listings, gold_listings_match_contract, downstream_of_gold], resources, day
    )
    assert not result.success
    assert downstream_ran == []
    check = check_results(result)["gold_listings_match_contract"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["failed_rules"].value == {
        "price_is_positive": {"column": "price", "failed_rows": 1, "total_rows": 2, "samples": ["-1.0"]}
    }
