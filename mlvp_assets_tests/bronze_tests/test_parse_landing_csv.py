"""parse_landing_csv and plan_ingestion: pure Python, no Spark."""

import json

from mlvp_assets.bronze.ingest import LandingFile, plan_ingestion
from mlvp_assets.bronze.landing_csv import parse_landing_csv
from mlvp_assets.schema import LANDING_COLUMNS
from mlvp_assets_tests.factories import csv_text, listing

PRICE = 1 + LANDING_COLUMNS.index("price")  # rows start with the line number


def test_good_file_keeps_text_values_and_line_numbers():
    parsed = parse_landing_csv("a.csv", csv_text([listing("L1"), listing("L2", price="99.5")]).encode())
    assert parsed.error is None
    assert [row[0] for row in parsed.rows] == [2, 3]
    assert parsed.rows[1][1] == "L2"
    assert parsed.rows[1][PRICE] == "99.5"
    assert parsed.rows[0][-2:] == (None, None)  # no rescued data, not malformed


def test_empty_field_becomes_null_and_blank_stays_text():
    parsed = parse_landing_csv("a.csv", csv_text([listing(price=None, room_type="  ")]).encode())
    row = parsed.rows[0]
    assert row[PRICE] is None
    assert row[1 + LANDING_COLUMNS.index("room_type")] == "  "


def test_extra_column_is_rescued_as_json():
    columns = [*LANDING_COLUMNS, "host_response_rate"]
    parsed = parse_landing_csv("a.csv", csv_text([{**listing(), "host_response_rate": "95%"}], columns).encode())
    assert json.loads(parsed.rows[0][-2]) == {"host_response_rate": "95%"}


def test_columns_in_another_order_are_mapped_by_name():
    columns = list(reversed(LANDING_COLUMNS))
    parsed = parse_landing_csv("a.csv", csv_text([listing("L9", price="321")], columns).encode())
    assert parsed.rows[0][1] == "L9"
    assert parsed.rows[0][PRICE] == "321"


def test_wrong_field_count_is_kept_as_malformed_with_its_raw_fields():
    text = csv_text([listing("L1")]) + "L2,t,moderate\n"
    parsed = parse_landing_csv("a.csv", text.encode())
    malformed = parsed.rows[1]
    assert malformed[0] == 3
    assert malformed[-1] == f"expected {len(LANDING_COLUMNS)} fields, found 3"
    assert json.loads(malformed[-2]) == {"_raw_fields": ["L2", "t", "moderate"]}
    assert all(value is None for value in malformed[1:-2])


def test_missing_required_column_rejects_the_file_naming_it_and_the_column():
    columns = [column for column in LANDING_COLUMNS if column != "price"]
    parsed = parse_landing_csv("landing/x.csv", csv_text([listing()], columns).encode())
    assert parsed.rows == []
    assert parsed.error == "landing/x.csv: missing required column(s) price"


def test_empty_and_header_only_files():
    assert parse_landing_csv("e.csv", b"").error == "e.csv: file is empty (no header row)"
    header_only = parse_landing_csv("h.csv", csv_text([]).encode())
    assert header_only.error is None and header_only.rows == []


def test_non_utf8_file_is_rejected_with_the_line_of_the_bad_byte():
    content = csv_text([listing(), listing("L2", neighbourhood_cleansed="Café")]).encode("latin-1")
    parsed = parse_landing_csv("latin.csv", content)
    assert parsed.rows == []
    assert parsed.error.startswith("latin.csv: not valid UTF-8 (byte 0xe9")
    assert "line 3" in parsed.error


def test_utf8_bom_is_ignored():
    parsed = parse_landing_csv("bom.csv", b"\xef\xbb\xbf" + csv_text([listing()]).encode())
    assert parsed.error is None and len(parsed.rows) == 1


def test_plan_skips_unchanged_replaces_changed_and_skips_copies():
    seen = {"d/a.csv": "h1", "d/b.csv": "h2"}
    files = [
        LandingFile("d/a.csv", 10, "h1"),  # same content again
        LandingFile("d/b.csv", 10, "h2-new"),  # changed
        LandingFile("d/c.csv", 10, "h1"),  # copy of a.csv under a new name
        LandingFile("d/e.csv", 10, "h5"),  # new
    ]
    plan = plan_ingestion(files, seen)
    assert [file.path for file in plan.unchanged] == ["d/a.csv"]
    assert [file.path for file in plan.to_ingest] == ["d/b.csv", "d/e.csv"]
    assert plan.replacing == {"d/b.csv"}
    assert plan.duplicates == {"d/c.csv": "d/a.csv"}


def test_plan_treats_two_new_identical_files_as_one_delivery():
    plan = plan_ingestion([LandingFile("x.csv", 1, "h"), LandingFile("y.csv", 1, "h")], {})
    assert [file.path for file in plan.to_ingest] == ["x.csv"]
    assert plan.duplicates == {"y.csv": "x.csv"}
