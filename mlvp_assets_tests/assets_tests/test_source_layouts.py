"""Inside Airbnb's published files as they are, end to end through bronze, silver and gold.

One landing day holds a gzip-compressed file of the layout up to 2019, a plain file of the layout
from 2020 on, and a file that is not a landing file. One module fixture materializes the three
layers once; each test reads its own outcome. The files come from the simulator, checked here
against an independent reading with Python's csv module.
"""

import csv
import datetime as dt
import gzip
import io
import json

import pytest
from pyspark.sql import functions as F

from mlvp_assets.automation.alert_sensors import alert_for_check_evaluation
from mlvp_assets.automation.landing_zone import list_landing_files
from mlvp_assets.bronze.layouts import INSIDE_AIRBNB_2019, INSIDE_AIRBNB_2023, RESCALED_NOTE
from mlvp_assets.resources.alerts import Severity
from mlvp_assets.simulate import simulate_landing
from mlvp_assets_tests.assets_tests.medallion import (
    THREE_LAYERS,
    assert_accounting_holds,
    check_results,
    day_rows,
    ingestion_log,
    materialize_day,
)
from mlvp_assets_tests.conftest import medallion_resources

pytestmark = pytest.mark.slow

DAY = dt.date(2026, 3, 1)
ROWS_2019, ROWS_2023 = 80, 40


@pytest.fixture(scope="module")
def published_day(tmp_path_factory, spark):
    root = tmp_path_factory.mktemp("inside_airbnb")
    old = simulate_landing(
        root, DAY, days=1, rows_per_day=ROWS_2019, seed=21, files_per_day=1, layout=INSIDE_AIRBNB_2019,
        compress=True, error_rates={"text_in_numeric": 0.05},
    )  # fmt: skip
    new = simulate_landing(
        root, DAY, days=1, rows_per_day=ROWS_2023, seed=22, files_per_day=1, layout=INSIDE_AIRBNB_2023
    )
    (root / "landing" / DAY.isoformat() / "scrape_metadata.json").write_text('{"city": "San Francisco"}')
    resources = medallion_resources(root)
    result = materialize_day(THREE_LAYERS, resources, DAY.isoformat())
    assert result.success, "the run failed"
    return {"result": result, "storage": resources["storage"], "root": root, "old": old, "new": new}


def records(path) -> list[dict[str, str]]:
    """The file's records as Python's csv module reads them (an independent reading)."""
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if path.name.endswith(".gz") else raw).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def only_file(simulation):
    (path,) = simulation.files
    return path


def rows_of(spark, storage, table, path):
    return day_rows(spark, storage, table, DAY.isoformat()).where(
        F.col("_source_file").endswith("/" + path.name)
    )


def test_the_sensor_lists_the_gzip_and_plain_files_and_not_the_json(published_day):
    listing = list_landing_files(str(published_day["root"] / "landing"))
    names = [file.path.rsplit("/", 1)[1] for file in listing.files]
    assert names == sorted([only_file(published_day["old"]).name, only_file(published_day["new"]).name])
    assert only_file(published_day["old"]).name.endswith(".csv.gz")


def test_every_record_of_the_gzip_file_is_in_bronze_on_the_line_it_starts(published_day, spark):
    path = only_file(published_day["old"])
    expected = records(path)
    assert len(expected) == published_day["old"].rows_per_file[path] == ROWS_2019
    assert any("\n" in record["description"] for record in expected), "the simulator wrote no multi-line text"

    bronze = (
        rows_of(spark, published_day["storage"], "bronze_listings", path).orderBy("_source_line").collect()
    )
    assert [row.listing_id for row in bronze] == [record["id"] for record in expected]
    assert all(row._malformed_reason is None and row._source_layout == INSIDE_AIRBNB_2019 for row in bronze)
    # Each row's line is where its record starts in the decompressed file: that line begins with its id.
    lines = gzip.decompress(path.read_bytes()).decode("utf-8").split("\n")
    assert all(lines[row._source_line - 1].startswith(row.listing_id + ",") for row in bronze)
    assert len({row._source_line for row in bronze}) == len(bronze)
    assert max(row._source_line for row in bronze) > len(bronze) + 1  # multi-line records moved the lines on
    descriptions = {json.loads(row._rescued_data)["description"] for row in bronze}
    assert descriptions == {record["description"] or None for record in expected}


def test_good_rows_of_the_2019_file_reach_gold_with_their_prices_read(published_day, spark):
    path, storage = only_file(published_day["old"]), published_day["storage"]
    broken = set(published_day["old"].error_listing_ids[DAY.isoformat()]["text_in_numeric"])
    assert broken, "no injected errors to tell apart"
    dollar_prices = {record["id"]: record["price"] for record in records(path)}
    # Gold keeps no file lineage; every gold row of the day is from this file (the other is quarantined).
    gold = {
        row.listing_id: row.price
        for row in day_rows(spark, storage, "gold_listings", DAY.isoformat()).collect()
    }

    assert set(gold) == set(dollar_prices) - broken
    for listing_id, price in gold.items():
        assert dollar_prices[listing_id] == f"${price:,.2f}"
    quarantined = rows_of(spark, storage, "quarantined_listings", path).collect()
    assert {row.listing_id for row in quarantined} == broken


def test_rows_of_the_2020_layout_are_in_bronze_and_quarantined_naming_the_missing_columns(
    published_day, spark
):
    path, storage = only_file(published_day["new"]), published_day["storage"]
    bronze = rows_of(spark, storage, "bronze_listings", path).collect()
    assert len(bronze) == ROWS_2023
    assert all(RESCALED_NOTE in row._lineage for row in bronze)
    assert all(float(row.review_scores_rating) > 5 for row in bronze if row.review_scores_rating)

    quarantined = rows_of(spark, storage, "quarantined_listings", path).collect()
    assert len(quarantined) == ROWS_2023
    assert all(
        {"cancellation_policy_is_present", "bed_type_is_present"} <= set(row.failed_rules)
        for row in quarantined
    )
    assert rows_of(spark, storage, "silver_listings", path).count() == 0


def test_the_schema_check_fails_naming_what_the_source_no_longer_delivers(published_day):
    check = check_results(published_day["result"])["source_schema_is_unchanged"]
    assert not check.passed and check.severity.value == "ERROR"
    assert check.description == "the source no longer delivers cancellation_policy, bed_type"
    new_file = only_file(published_day["new"]).name
    assert check.metadata["missing_columns"].value == {
        "cancellation_policy": [new_file],
        "bed_type": [new_file],
    }


def test_the_alert_says_in_one_line_what_changed_upstream(published_day):
    result = published_day["result"]
    check = check_results(result)["source_schema_is_unchanged"]

    alert = alert_for_check_evaluation(
        check, run_id=result.run_id, partition=DAY.isoformat(), ui_url="http://127.0.0.1:3000"
    )

    assert alert.severity == Severity.HIGH
    assert alert.summary.splitlines()[0] == "the source no longer delivers cancellation_policy, bed_type"


def test_layouts_and_decisions_are_in_the_ingestion_log_and_the_metadata(published_day, spark):
    log = {
        row.path.rsplit("/", 1)[1]: row
        for row in ingestion_log(spark, published_day["storage"], DAY.isoformat())
    }
    old, new = only_file(published_day["old"]).name, only_file(published_day["new"]).name
    assert (log[old].status, log[old].layout, log[old].row_count) == (
        "ingested",
        INSIDE_AIRBNB_2019,
        ROWS_2019,
    )
    assert (log[new].layout, list(log[new].missing_columns)) == (
        INSIDE_AIRBNB_2023,
        ["cancellation_policy", "bed_type"],
    )
    assert log["scrape_metadata.json"].status == "ignored"

    bronze = published_day["result"].asset_materializations_for_node("bronze_listings")[0]
    layouts = {
        path.rsplit("/", 1)[1]: layout for path, layout in bronze.metadata["file_layouts"].value.items()
    }
    assert layouts == {old: INSIDE_AIRBNB_2019, new: INSIDE_AIRBNB_2023}


def test_the_row_accounting_holds(published_day, spark):
    counts = assert_accounting_holds(spark, published_day["storage"], DAY.isoformat())
    assert counts["bronze"] == ROWS_2019 + ROWS_2023
