"""parse_landing_csv, read_landing_stream and plan_ingestion: pure Python, no Spark."""

import gzip
import io
import json

import pytest

from mlvp_assets.bronze.ingest import LandingFile, plan_ingestion
from mlvp_assets.bronze.landing_csv import (
    BATCH_ROWS,
    LINEAGE,
    MALFORMED_REASON,
    RESCUED_DATA,
    SOURCE_LAYOUT,
    SOURCE_LINE,
    parse_landing_csv,
    read_landing_stream,
)
from mlvp_assets.schema import LANDING_COLUMNS
from mlvp_assets_tests.factories import by_name, csv_text, listing


def test_good_file_keeps_text_values_and_line_numbers():
    parsed = parse_landing_csv("a.csv", csv_text([listing("L1"), listing("L2", price="99.5")]).encode())
    assert parsed.error is None
    rows = [by_name(row) for row in parsed.rows]
    assert [row[SOURCE_LINE] for row in rows] == [2, 3]
    assert rows[1]["listing_id"] == "L2"
    assert rows[1]["price"] == "99.5"
    assert (rows[0][RESCUED_DATA], rows[0][MALFORMED_REASON]) == (None, None)
    assert (rows[0][SOURCE_LAYOUT], rows[0][LINEAGE]) == ("project", None)
    assert parsed.summary.layout == "project"


def test_empty_field_becomes_null_and_blank_stays_text():
    parsed = parse_landing_csv("a.csv", csv_text([listing(price=None, room_type="  ")]).encode())
    row = by_name(parsed.rows[0])
    assert row["price"] is None
    assert row["room_type"] == "  "


def test_extra_column_is_rescued_as_json_and_reported_as_new():
    columns = [*LANDING_COLUMNS, "host_response_rate"]
    parsed = parse_landing_csv(
        "a.csv", csv_text([{**listing(), "host_response_rate": "95%"}], columns).encode()
    )
    assert json.loads(by_name(parsed.rows[0])[RESCUED_DATA]) == {"host_response_rate": "95%"}
    assert parsed.summary.new_columns == ("host_response_rate",)


def test_columns_in_another_order_are_mapped_by_name():
    columns = list(reversed(LANDING_COLUMNS))
    parsed = parse_landing_csv("a.csv", csv_text([listing("L9", price="321")], columns).encode())
    row = by_name(parsed.rows[0])
    assert (row["listing_id"], row["price"]) == ("L9", "321")


def test_wrong_field_count_is_kept_as_malformed_with_its_raw_fields():
    text = csv_text([listing("L1")]) + "L2,t,moderate\n"
    parsed = parse_landing_csv("a.csv", text.encode())
    malformed = by_name(parsed.rows[1])
    assert malformed[SOURCE_LINE] == 3
    assert malformed[MALFORMED_REASON] == f"expected {len(LANDING_COLUMNS)} fields, found 3"
    assert json.loads(malformed[RESCUED_DATA]) == {"_raw_fields": ["L2", "t", "moderate"]}
    assert all(malformed[column] is None for column in LANDING_COLUMNS)


def test_missing_mission_column_keeps_the_rows_with_it_empty_and_names_it():
    # A deliberate change: a file of a known layout that lacks a mission column is no longer
    # rejected whole; silver quarantines its rows naming the rule they break.
    columns = [column for column in LANDING_COLUMNS if column != "price"]
    parsed = parse_landing_csv("landing/x.csv", csv_text([listing("L1")], columns).encode())
    assert parsed.error is None
    assert parsed.summary.missing_columns == ("price",)
    row = by_name(parsed.rows[0])
    assert row["listing_id"] == "L1" and row["price"] is None


def test_header_of_no_known_layout_without_listing_id_is_rejected_naming_what_is_missing():
    columns = [column for column in LANDING_COLUMNS if column != "listing_id"]
    parsed = parse_landing_csv("landing/x.csv", csv_text([listing()], columns).encode())
    assert parsed.rows == []
    assert parsed.error.startswith("landing/x.csv: the header matches no known layout and has no listing id")
    assert "project needs listing_id" in parsed.error
    assert "insideairbnb-2019 needs id, scrape_id" in parsed.error


def test_repeated_column_rejects_the_file():
    text = "listing_id,price,price\nL1,1,2\n"
    assert (
        parse_landing_csv("r.csv", text.encode()).error
        == "r.csv: column(s) price appear more than once in the header"
    )


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


def test_non_utf8_byte_after_many_lines_rejects_the_whole_file():
    good = csv_text([listing(f"L{index}") for index in range(50)])
    parsed = parse_landing_csv("late.csv", good.encode() + "L99,Café\n".encode("latin-1"))
    assert parsed.rows == [] and "line 52" in parsed.error


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


def test_plan_logs_other_files_as_ignored_and_never_takes_them_as_originals():
    seen = {"d/notes.txt": "h1"}
    found = [
        LandingFile("d/a.csv", 10, "h1"),  # same bytes as the ignored notes.txt: still a new delivery
        LandingFile("d/readme.json", 5, "h2", ignored_reason="readme.json is not a landing file"),
        LandingFile(
            "d/notes.txt", 10, "h1", ignored_reason="notes.txt is not a landing file"
        ),  # logged before
    ]
    plan = plan_ingestion(found, seen)
    assert [file.path for file in plan.to_ingest] == ["d/a.csv"]
    assert [file.path for file in plan.ignored] == ["d/readme.json"]
    assert [file.path for file in plan.unchanged] == ["d/notes.txt"]
    assert plan.duplicates == {}


# --- compressed files and streaming ---------------------------------------------------------


def _stream_rows(path: str, content: bytes) -> tuple:
    summary, rows = read_landing_stream(path, io.BufferedReader(io.BytesIO(content)))
    return summary, [by_name(row) for row in rows]


def test_gzip_file_is_decompressed_with_exact_lines_for_records_spanning_lines():
    text = csv_text([listing("L1"), listing("L2", property_type='Loft, "big"\nwith a view'), listing("L3")])
    summary, rows = _stream_rows("d/a.csv.gz", gzip.compress(text.encode()))
    assert summary.error is None and summary.layout == "project"
    assert [(row["listing_id"], row[SOURCE_LINE]) for row in rows] == [("L1", 2), ("L2", 3), ("L3", 5)]
    assert rows[1]["property_type"] == 'Loft, "big"\nwith a view'


def test_gzip_content_under_a_plain_csv_name_is_rejected_saying_how_to_fix_it():
    parsed = parse_landing_csv("d/listings.csv", gzip.compress(csv_text([listing()]).encode()))
    assert parsed.error == "d/listings.csv: is gzip-compressed; name it .csv.gz so that it is decompressed"


def test_broken_gzip_is_rejected_naming_the_file():
    content = gzip.compress(csv_text([listing(f"L{index}") for index in range(2000)]).encode())
    parsed = parse_landing_csv("d/cut.csv.gz", content[: len(content) // 2])
    assert parsed.rows == []
    assert parsed.error.startswith("d/cut.csv.gz: not a readable gzip file")


def test_rows_are_produced_lazily_so_a_large_file_is_never_held_whole():
    content = gzip.compress(csv_text([listing(f"L{index}") for index in range(BATCH_ROWS * 3)]).encode())
    summary, rows = read_landing_stream("d/big.csv.gz", io.BufferedReader(io.BytesIO(content)))
    first = next(rows)  # the first row is there before the rest of the file has been read
    assert first[0] == 2 and summary.layout == "project"
    assert sum(1 for _ in rows) == BATCH_ROWS * 3 - 1


def test_field_above_csv_default_limit_is_read():
    big = "x" * 200_000
    parsed = parse_landing_csv("d/big.csv", csv_text([listing("L1", property_type=big)]).encode())
    assert parsed.error is None and by_name(parsed.rows[0])["property_type"] == big


@pytest.mark.parametrize("name", ["a.csv", "a.csv.gz"])
def test_empty_file_in_either_form_is_rejected(name):
    content = gzip.compress(b"") if name.endswith(".gz") else b""
    assert parse_landing_csv(name, content).error == f"{name}: file is empty (no header row)"
