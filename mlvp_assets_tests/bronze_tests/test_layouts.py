"""Source layouts: recognised from the header, mapped to the mission columns by their table."""

import json

import pytest

from mlvp_assets.bronze.landing_csv import LINEAGE, RESCUED_DATA, SOURCE_LAYOUT, parse_landing_csv
from mlvp_assets.bronze.layouts import (
    INSIDE_AIRBNB_2019,
    INSIDE_AIRBNB_2019_HEADER,
    INSIDE_AIRBNB_2023,
    INSIDE_AIRBNB_2023_HEADER,
    LAYOUTS_BY_NAME,
    PROJECT,
    RESCALED_NOTE,
    bathrooms_count,
    detect_layout,
    dollars,
)
from mlvp_assets.schema import LANDING_COLUMNS, MISSION_COLUMNS
from mlvp_assets_tests.factories import by_name, csv_text, listing


def inside_airbnb_record(header: tuple[str, ...], **values: str) -> dict[str, str]:
    """A record of an Inside Airbnb layout carrying the valid listing's values where it has them."""
    base = {**listing("L1"), "id": "12345", "scrape_id": "20190306", "price": "$185.00"}
    return {column: values.get(column, base.get(column, "")) for column in header}


@pytest.mark.parametrize(
    ("header", "layout"),
    [
        (LANDING_COLUMNS, PROJECT),
        (INSIDE_AIRBNB_2019_HEADER, INSIDE_AIRBNB_2019),
        (INSIDE_AIRBNB_2023_HEADER, INSIDE_AIRBNB_2023),
    ],
)
def test_each_layout_is_recognised_from_its_header(header, layout):
    assert detect_layout(list(header)).name == layout


def test_a_header_with_no_listing_id_matches_no_layout():
    assert detect_layout(["name", "price"]) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("$163.00", "163.0"),
        ("$1,250.00", "1250.0"),
        ("$0.00", "0.0"),
        ("$12,345.50", "12345.5"),
        (" $80 ", "80.0"),
    ],
)
def test_dollar_prices_are_read(text, value):
    assert dollars("price")({"price": text}) == (value, None)


@pytest.mark.parametrize("text", ["abc", "USD 1,200", "$1,20,0.00", "1.200,00 €"])
def test_text_that_is_no_dollar_amount_stays_for_silver_to_judge(text):
    assert dollars("price")({"price": text}) == (text, None)


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("1 bath", 1.0), ("2 baths", 2.0), ("1.5 shared baths", 1.5), ("1 private bath", 1.0),
        ("0 shared baths", 0.0), ("Half-bath", 0.5), ("Shared half-bath", 0.5), ("Private half-bath", 0.5),
        ("lots of baths", None), ("", None),
    ],
)  # fmt: skip
def test_bathrooms_text_forms(text, count):
    assert bathrooms_count(text) == count


def test_2019_file_maps_id_and_price_and_rescues_the_rest():
    header = INSIDE_AIRBNB_2019_HEADER
    record = inside_airbnb_record(header, price="$1,250.00", summary='A "loft",\nwith <br /> HTML')
    parsed = parse_landing_csv("d/listings.csv", csv_text([record], list(header)).encode())
    assert parsed.error is None
    assert parsed.summary.layout == INSIDE_AIRBNB_2019
    assert parsed.summary.missing_columns == () and parsed.summary.new_columns == ()
    row = by_name(parsed.rows[0])
    assert row["listing_id"] == "12345" and row["price"] == "1250.0"
    assert row["review_scores_rating"] == "97.0"  # already on the mission's scale
    assert row[SOURCE_LAYOUT] == INSIDE_AIRBNB_2019 and row[LINEAGE] is None
    rescued = json.loads(row[RESCUED_DATA])
    assert rescued["summary"] == 'A "loft",\nwith <br /> HTML'
    assert "id" not in rescued and "price" not in rescued and "listing_url" in rescued


def test_2023_file_rescales_scores_reads_bathrooms_text_and_lacks_two_mission_columns():
    header = INSIDE_AIRBNB_2023_HEADER
    scores = {"review_scores_rating": "4.85", "review_scores_cleanliness": "4.5", "review_scores_value": "5"}
    record = inside_airbnb_record(header, bathrooms="", bathrooms_text="1.5 shared baths", **scores)
    parsed = parse_landing_csv("d/listings.csv", csv_text([record], list(header)).encode())
    assert parsed.error is None
    assert parsed.summary.layout == INSIDE_AIRBNB_2023
    assert parsed.summary.missing_columns == ("cancellation_policy", "bed_type")
    row = by_name(parsed.rows[0])
    assert row["cancellation_policy"] is None and row["bed_type"] is None
    assert row["bathrooms"] == "1.5"
    assert (row["review_scores_rating"], row["review_scores_cleanliness"], row["review_scores_value"]) == (
        "97.0", "9.0", "10.0",
    )  # fmt: skip
    assert RESCALED_NOTE in row[LINEAGE]
    assert "bathrooms from bathrooms_text '1.5 shared baths'" in row[LINEAGE]


def test_2020_file_with_scores_still_on_the_old_scale_is_not_rescaled():
    record = inside_airbnb_record(INSIDE_AIRBNB_2023_HEADER, bathrooms="1.0")
    parsed = parse_landing_csv("d/l.csv", csv_text([record], list(INSIDE_AIRBNB_2023_HEADER)).encode())
    row = by_name(parsed.rows[0])
    assert row["review_scores_rating"] == "97.0" and row["review_scores_accuracy"] == "10.0"
    assert row["bathrooms"] == "1.0" and row[LINEAGE] is None


def test_every_layout_maps_every_mission_column_once():
    for layout in LAYOUTS_BY_NAME.values():
        assert [mapping.column for mapping in layout.mappings] == list(LANDING_COLUMNS)
        assert layout.missing_columns(layout.header) == tuple(
            column
            for column in MISSION_COLUMNS
            if layout is LAYOUTS_BY_NAME[INSIDE_AIRBNB_2023] and column in ("cancellation_policy", "bed_type")
        )
