"""Each kind of bad input ends in a clear outcome: quarantined with its reason, or the file
rejected with an error naming it. The other files of the day go on and the row accounting holds.

All bad files land on one day beside a good file, each with its own listing ids; one module
fixture materializes bronze and silver once (the runs are the expensive part) and each test
reads the outcome of its own file.
"""

import json

import pytest
from pyspark.sql import functions as F

from mlvp_assets.automation.alert_sensors import alert_for_check_evaluation
from mlvp_assets.resources.alerts import Severity
from mlvp_assets.schema import LANDING_COLUMNS
from mlvp_assets_tests.assets_tests.medallion import (
    INGEST_AND_CLEAN,
    assert_accounting_holds,
    check_results,
    day_rows,
    ingestion_log,
    materialize_day,
)
from mlvp_assets_tests.conftest import medallion_resources
from mlvp_assets_tests.factories import csv_text, good_rows, listing, write_landing_file

WITHOUT_PRICE = [column for column in LANDING_COLUMNS if column != "price"]
WITHOUT_LISTING_ID = [column for column in LANDING_COLUMNS if column != "listing_id"]
WITH_EXTRA = [*LANDING_COLUMNS, "host_response_rate"]

DAY = "2026-02-01"
BAD_FILES = {
    "missing_column.csv": csv_text([listing("M1")], WITHOUT_PRICE),
    "no_listing_id.csv": csv_text([listing("I1")], WITHOUT_LISTING_ID),
    "nulls.csv": csv_text(
        [
            listing("N1", cancellation_policy=None),
            listing("N2", neighbourhood_cleansed="  "),
            listing("N3", price=""),
        ]
    ),
    "categories.csv": csv_text([listing("C1", room_type="Castle room"), listing("C2", bed_type="Hammock")]),
    "ranges.csv": csv_text(
        [
            listing("R1", latitude="40.7"),
            listing("R2", accommodates="0"),
            listing("R3", price="-10"),
            listing("R4", review_scores_rating="150"),
            listing("R5", review_scores_checkin="11"),
        ]
    ),  # fmt: skip
    "text.csv": csv_text([listing("T1", price="abc"), listing("T2", bedrooms="two")]),
    "duplicates.csv": csv_text([listing("D1"), listing("D1"), listing("D1"), listing("D2")]),
    "fields.csv": csv_text([listing("F1")]) + "F2,t,moderate\n" + csv_text([listing("F3")]).split("\n", 1)[1],
    "empty.csv": "",
    "header_only.csv": csv_text([]),
    "extra.csv": csv_text([{**listing("X1"), "host_response_rate": "95%"}], WITH_EXTRA),
    "latin1.csv": csv_text([listing("U1", neighbourhood_cleansed="Café")]).encode("latin-1"),
}
OTHER_FILES = {"notes.txt": "delivered by hand", "listings.json": "{}"}  # not landing files
GOOD_ROWS = 3
UNREADABLE = {"no_listing_id.csv", "empty.csv", "latin1.csv"}


@pytest.fixture(scope="module")
def bad_input_day(tmp_path_factory, spark):
    """All bad files land on one day beside a good file; bronze and silver run once."""
    root = tmp_path_factory.mktemp("bad_input")
    resources = medallion_resources(root)
    write_landing_file(root, DAY, "good.csv", csv_text(good_rows(GOOD_ROWS)))
    for name, content in {**BAD_FILES, **OTHER_FILES}.items():
        write_landing_file(root, DAY, name, content)
    return materialize_day(INGEST_AND_CLEAN, resources, DAY), resources["storage"]


def quarantine_reasons(spark, storage) -> dict[str, list[str]]:
    rows = (
        day_rows(spark, storage, "quarantined_listings", DAY).select("listing_id", "failed_rules").collect()
    )
    return {row.listing_id: sorted(row.failed_rules) for row in rows}


def silver_ids(spark, storage) -> set[str]:
    return {
        row.listing_id
        for row in day_rows(spark, storage, "silver_listings", DAY).select("listing_id").collect()
    }


@pytest.fixture
def run(bad_input_day, spark):
    result, storage = bad_input_day
    assert result.success, "the run failed instead of going on with the readable files"
    return result, storage


def log_by_name(spark, storage) -> dict:
    return {row.path.rsplit("/", 1)[1]: row for row in ingestion_log(spark, storage, DAY)}


def test_row_accounting_holds_for_the_day(run, spark):
    result, storage = run
    counts = assert_accounting_holds(spark, storage, DAY)
    assert check_results(result)["row_accounting_balances"].passed
    readable_rows = sum(row.row_count for row in log_by_name(spark, storage).values())
    assert counts["bronze"] == readable_rows == GOOD_ROWS + 1 + 3 + 2 + 5 + 2 + 4 + 3 + 0 + 1


def test_unreadable_files_fail_the_warning_check_by_name(run, spark):
    result, storage = run
    readable = check_results(result)["landing_files_are_readable"]
    assert not readable.passed and readable.severity.value == "WARN"
    rejected = readable.metadata["rejected_files"].value
    assert {path.rsplit("/", 1)[1] for path in rejected} == UNREADABLE
    assert all(path.rsplit("/", 1)[1] in error for path, error in rejected.items())


def test_missing_mission_column_lands_in_bronze_and_is_quarantined_naming_the_rule(run, spark):
    # Changed on purpose (real sources drop columns): the file is no longer rejected whole.
    result, storage = run
    log = log_by_name(spark, storage)
    assert log["missing_column.csv"].status == "ingested" and log["missing_column.csv"].row_count == 1
    assert log["missing_column.csv"].missing_columns == ["price"]
    assert quarantine_reasons(spark, storage)["M1"] == ["price_is_present"]
    assert log["good.csv"].status == "ingested" and log["good.csv"].row_count == GOOD_ROWS


def test_header_of_no_known_layout_is_rejected_naming_the_file_and_what_is_missing(run, spark):
    _, storage = run
    entry = log_by_name(spark, storage)["no_listing_id.csv"]
    assert entry.status == "rejected"
    assert "no_listing_id.csv: the header matches no known layout and has no listing id" in entry.detail
    assert "project needs listing_id" in entry.detail
    assert "I1" not in silver_ids(spark, storage) and "I1" not in quarantine_reasons(spark, storage)


def test_other_files_in_the_folder_are_logged_as_ignored_with_the_reason(run, spark):
    result, storage = run
    log = log_by_name(spark, storage)
    for name in OTHER_FILES:
        assert log[name].status == "ignored" and log[name].row_count == 0
        assert log[name].detail == f"{name} is not a landing file (expected .csv or .csv.gz)"
    bronze = result.asset_materializations_for_node("bronze_listings")[0]
    assert {path.rsplit("/", 1)[1] for path in bronze.metadata["files_ignored"].value} == set(OTHER_FILES)


def test_source_schema_check_names_missing_and_new_columns(run):
    result, _ = run
    check = check_results(result)["source_schema_is_unchanged"]
    assert not check.passed and check.severity.value == "ERROR"  # a mission column is missing
    assert (
        check.description
        == "the source no longer delivers price; the source newly delivers host_response_rate"
    )
    assert check.metadata["missing_columns"].value == {"price": ["missing_column.csv"]}
    assert check.metadata["new_columns"].value == {"host_response_rate": ["extra.csv"]}


def test_nulls_and_blanks_warn_in_bronze_and_are_quarantined_in_silver(run, spark):
    result, storage = run
    checks = check_results(result)
    assert not checks["cancellation_policy_is_present"].passed
    # N1 (or N2), plus the malformed line of fields.csv, whose values bronze holds as null.
    assert checks["cancellation_policy_is_present"].metadata["failed_rows"].value == 2
    assert checks["neighbourhood_is_present"].metadata["failed_rows"].value == 2
    reasons = quarantine_reasons(spark, storage)
    assert {key: reasons[key] for key in ("N1", "N2", "N3")} == {
        "N1": ["cancellation_policy_is_present"],
        "N2": ["neighbourhood_cleansed_is_present"],
        "N3": ["price_is_present"],
    }


def test_unknown_category_is_quarantined(run, spark):
    _, storage = run
    reasons = quarantine_reasons(spark, storage)
    assert {key: reasons[key] for key in ("C1", "C2")} == {
        "C1": ["room_type_is_known_value"],
        "C2": ["bed_type_is_known_value"],
    }


def test_out_of_range_numbers_are_quarantined(run, spark):
    _, storage = run
    reasons = quarantine_reasons(spark, storage)
    assert {key: reasons[key] for key in ("R1", "R2", "R3", "R4", "R5")} == {
        "R1": ["latitude_in_range"],
        "R2": ["accommodates_in_range"],
        "R3": ["price_is_positive"],
        "R4": ["review_scores_rating_in_range"],
        "R5": ["review_scores_checkin_in_range"],
    }


def test_text_in_numeric_column_is_quarantined_as_it_arrived(run, spark):
    _, storage = run
    reasons = quarantine_reasons(spark, storage)
    assert {key: reasons[key] for key in ("T1", "T2")} == {
        "T1": ["price_is_numeric"],
        "T2": ["bedrooms_is_numeric"],
    }
    assert day_rows(spark, storage, "quarantined_listings", DAY).where(F.col("price") == "abc").count() == 1


def test_duplicate_rows_are_removed_and_counted(run, spark):
    _, storage = run
    assert assert_accounting_holds(spark, storage, DAY)["duplicates"] == 2
    silver = day_rows(spark, storage, "silver_listings", DAY)
    assert silver.where(F.col("listing_id") == "D1").count() == 1
    assert silver.where(F.col("listing_id") == "D2").count() == 1


def test_wrong_number_of_fields_is_quarantined_with_its_raw_fields(run, spark):
    _, storage = run
    quarantined = (
        day_rows(spark, storage, "quarantined_listings", DAY)
        .where(F.col("_malformed_reason").isNotNull())
        .collect()
    )
    assert len(quarantined) == 1
    assert quarantined[0].failed_rules == ["row_has_expected_fields"]
    assert quarantined[0]._source_line == 3
    assert json.loads(quarantined[0]._rescued_data) == {"_raw_fields": ["F2", "t", "moderate"]}
    assert {"F1", "F3"} <= silver_ids(spark, storage)


def test_empty_file_is_rejected_and_header_only_file_ingests_no_rows(run, spark):
    _, storage = run
    log = log_by_name(spark, storage)
    assert log["empty.csv"].status == "rejected"
    assert log["empty.csv"].detail.endswith("empty.csv: file is empty (no header row)")
    assert log["header_only.csv"].status == "ingested" and log["header_only.csv"].row_count == 0


def test_extra_unknown_column_is_rescued_not_dropped(run, spark):
    _, storage = run
    bronze = day_rows(spark, storage, "bronze_listings", DAY).where(F.col("listing_id") == "X1").first()
    assert json.loads(bronze._rescued_data) == {"host_response_rate": "95%"}
    assert "X1" in silver_ids(spark, storage)


def test_non_utf8_file_is_rejected_naming_the_file(run, spark):
    _, storage = run
    log = log_by_name(spark, storage)
    assert log["latin1.csv"].status == "rejected"
    assert "latin1.csv: not valid UTF-8" in log["latin1.csv"].detail
    assert "U1" not in silver_ids(spark, storage) and "U1" not in quarantine_reasons(spark, storage)


def test_a_rejected_file_becomes_a_medium_alert_naming_the_file_the_asset_and_the_day(run):
    result, _ = run
    readable = check_results(result)["landing_files_are_readable"]

    alert = alert_for_check_evaluation(
        readable, run_id=result.run_id, partition=DAY, ui_url="http://127.0.0.1:3000"
    )

    assert alert.severity == Severity.MEDIUM
    assert (alert.asset_key, alert.partition) == ("bronze_listings", DAY)
    assert all(name in alert.summary for name in UNREADABLE), alert.summary
    assert alert.links["run"] == f"http://127.0.0.1:3000/runs/{result.run_id}"
