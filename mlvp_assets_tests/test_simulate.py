"""The landing-zone simulator: layout, determinism, realistic values, injected errors, drift,
base-file sampling and the command line. Pure Python, no Spark."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlvp_assets import schema
from mlvp_assets.bronze.landing_csv import parse_landing_csv
from mlvp_assets.bronze.layouts import (
    INSIDE_AIRBNB_2019,
    INSIDE_AIRBNB_2019_HEADER,
    INSIDE_AIRBNB_2023,
    INSIDE_AIRBNB_2023_HEADER,
    LAYOUTS_BY_NAME,
    PROJECT,
    bathrooms_count,
)
from mlvp_assets.simulate import (
    DRIFT_KINDS,
    ERROR_TYPES,
    NEW_COLUMN,
    NEW_NEIGHBOURHOOD,
    _bathrooms_text,
    main,
    simulate_landing,
)

DAY_1 = dt.date(2026, 1, 1)
NUMERIC_COLUMNS = (*schema.DOUBLE_COLUMNS, *schema.LONG_COLUMNS)


def date_of(day_index: int) -> str:
    return (DAY_1 + dt.timedelta(days=day_index)).isoformat()


def read_day(root: Path, date: str) -> tuple[list[str], list[list[str]]]:
    """The header and all data lines of one day's files, parsed with the csv module."""
    headers, rows = [], []
    for path in sorted((root / "landing" / date).glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            headers.append(next(reader))
            rows.extend(reader)
    assert headers and all(header == headers[0] for header in headers)
    return headers[0], rows


def day_frame(root: Path, date: str) -> pd.DataFrame:
    header, rows = read_day(root, date)
    frame = pd.DataFrame(rows, columns=header)
    for column in NUMERIC_COLUMNS:
        frame[column] = frame[column].astype(float)
    return frame


def violations(header: list[str], row: list[str]) -> set[str]:
    """The field-level error types a (well-formed) data line breaks."""
    found = set()
    for column, text in zip(header, row, strict=True):
        if text == "":
            found.add("null_required")
        elif not text.strip():
            found.add("blank_required")
        elif column in schema.CATEGORY_VALUES and text not in schema.CATEGORY_VALUES[column]:
            found.add("unknown_category")
        elif column in NUMERIC_COLUMNS:
            try:
                value = float(text)
            except ValueError:
                found.add("text_in_numeric")
                continue
            low, high = schema.PRICE_RANGE_EXCLUSIVE_LOW if column == "price" else schema.VALUE_RANGES[column]
            if not (low < value <= high if column == "price" else low <= value <= high):
                found.add("out_of_range")
    return found


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean")
    return root, simulate_landing(root, DAY_1, days=4, rows_per_day=800, seed=7)


def test_files_land_in_one_folder_per_day_with_the_mission_header(clean):
    root, result = clean
    assert [path.relative_to(root).as_posix() for path in result.files] == [
        f"landing/{date_of(day)}/listings_{date_of(day)}_part{part}.csv"
        for day in range(4)
        for part in (1, 2)
    ]
    assert sorted(root.rglob("*.*")) == sorted(result.files), "landing holds only the CSVs"
    for path in result.files:
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0].split(",") == list(schema.LANDING_COLUMNS)
        assert len(lines) - 1 == result.rows_per_file[path] == 400
    assert result.injected_errors == {date_of(day): {} for day in range(4)}


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    def run(name: str, seed: int) -> dict[str, bytes]:
        root = tmp_path / name
        result = simulate_landing(root, DAY_1, 3, 300, seed=seed, error_rates={"duplicate_row": 0.02})
        return {path.relative_to(root).as_posix(): path.read_bytes() for path in result.files}

    first, again, other = run("a", 7), run("b", 7), run("c", 8)
    assert first == again
    assert first.keys() == other.keys()
    assert all(first[name] != other[name] for name in first)
    shorter = simulate_landing(tmp_path / "d", DAY_1, 2, 300, seed=7, error_rates={"duplicate_row": 0.02})
    assert all(
        path.read_bytes() == first[path.relative_to(tmp_path / "d").as_posix()] for path in shorter.files
    )


def test_values_are_on_the_mission_scales_and_vocabularies(clean):
    root, _ = clean
    header, rows = read_day(root, date_of(0))
    assert all(violations(header, row) == set() for row in rows)
    frame = day_frame(root, date_of(0))
    assert set(frame["neighbourhood_cleansed"]) <= set(schema.SF_NEIGHBOURHOODS)
    assert frame["neighbourhood_cleansed"].nunique() >= 25
    assert frame["review_scores_rating"].between(20, 100).all()
    assert frame["review_scores_rating"].median() >= 90
    for column in schema.REVIEW_SCORE_COLUMNS[1:]:
        assert frame[column].between(2, 10).all() and frame[column].median() >= 9
    for column in (*schema.REVIEW_SCORE_COLUMNS, "accommodates", "bedrooms", "beds", "price"):
        assert (frame[column] % 1 == 0).all(), column
    assert frame["accommodates"].between(1, 16).all()
    assert frame["price"].between(10, 10_000).all()
    room_shares = frame["room_type"].value_counts(normalize=True)
    assert 0.5 < room_shares["Entire home/apt"] < 0.7 and 0.28 < room_shares["Private room"] < 0.45
    assert frame["property_type"].value_counts().index[0] == "Apartment"
    # Longs are printed as integers and doubles as plain floats, never as numpy reprs.
    for row in rows:
        for column in schema.LONG_COLUMNS:
            assert re.fullmatch(r"\d+", row[header.index(column)])
    assert not any("np." in field or field == "nan" for row in rows for field in row)


def test_listing_ids_are_stable_and_most_reappear_on_later_days(clean):
    root, _ = clean
    days = [day_frame(root, date_of(day)).set_index(schema.LISTING_ID) for day in range(4)]
    for day in days:
        assert day.index.is_unique
        assert all(re.fullmatch(r"L\d{6}", listing_id) for listing_id in day.index)
    static = ["neighbourhood_cleansed", "latitude", "room_type", "accommodates", "price"]
    for index, (earlier, later) in enumerate(zip(days, days[1:], strict=False), start=1):
        returning = earlier.index.intersection(later.index)
        assert len(returning) > 0.7 * len(later)
        assert len(earlier.index.difference(later.index)) > 0.05 * len(earlier), "a new sample"
        highest_so_far = max(int(listing_id[1:]) for day in days[:index] for listing_id in day.index)
        new = [listing_id for listing_id in later.index if int(listing_id[1:]) > highest_so_far]
        assert 0 < len(new) < 0.1 * len(later), "a few listings are new each day"
        pd.testing.assert_frame_equal(earlier.loc[returning, static], later.loc[returning, static])
        assert (
            later.loc[returning, "number_of_reviews"] >= earlier.loc[returning, "number_of_reviews"]
        ).all()


def test_price_follows_the_listing_features(clean):
    root, _ = clean
    frame = pd.concat(day_frame(root, date_of(day)) for day in range(4)).drop_duplicates(schema.LISTING_ID)
    price_rank = frame["price"].rank()
    assert price_rank.corr(frame["accommodates"].rank()) > 0.3
    assert price_rank.corr(frame["bedrooms"].rank()) > 0.3
    large = frame.loc[frame["accommodates"] >= 4, "price"].median()
    small = frame.loc[frame["accommodates"] <= 2, "price"].median()
    assert large > 1.5 * small
    by_room = frame.groupby("room_type")["price"].median()
    assert by_room["Entire home/apt"] > 1.4 * by_room["Private room"]


@pytest.mark.parametrize("error_type", ERROR_TYPES)
def test_each_error_type_injects_the_stated_number_of_rows_breaking_its_rule(tmp_path, error_type):
    result = simulate_landing(tmp_path, DAY_1, 2, 400, seed=11, error_rates={error_type: 0.05})
    for day in range(2):
        date = date_of(day)
        assert result.injected_errors[date] == {error_type: 20}
        affected = result.error_listing_ids[date][error_type]
        assert len(set(affected)) == 20
        header, rows = read_day(tmp_path, date)
        if error_type == "duplicate_row":
            assert len(rows) == 420
            seen, copies = set(), []
            for row in rows:
                if tuple(row) in seen:
                    copies.append(row)
                seen.add(tuple(row))
            assert sorted(row[0] for row in copies) == sorted(affected)
        elif error_type == "wrong_field_count":
            assert len(rows) == 400
            malformed = [row for row in rows if len(row) != len(header)]
            assert sorted(row[0] for row in malformed) == sorted(affected)
            assert {abs(len(row) - len(header)) for row in malformed} == {1}
            assert {len(row) > len(header) for row in malformed} == {True, False}
        else:
            assert len(rows) == 400
            for row in rows:
                expected = {error_type} if row[0] in affected else set()
                assert violations(header, row) == expected, row


def test_duplicates_are_appended_to_the_file_of_their_original(tmp_path):
    result = simulate_landing(tmp_path, DAY_1, 1, 300, seed=3, error_rates={"duplicate_row": 0.1})
    assert sum(result.rows_per_file.values()) == 330
    for path in result.files:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))[1:]
        assert len(rows) == result.rows_per_file[path]
        originals = len({tuple(row) for row in rows})
        assert all(tuple(row) in {tuple(r) for r in rows[:originals]} for row in rows[originals:])


def test_errors_leave_every_other_row_as_in_a_clean_run(tmp_path):
    rates = {error_type: 0.02 for error_type in ERROR_TYPES}
    dirty = simulate_landing(tmp_path / "dirty", DAY_1, 2, 500, seed=5, error_rates=rates)
    simulate_landing(tmp_path / "clean", DAY_1, 2, 500, seed=5)
    for day in range(2):
        date = date_of(day)
        assert dirty.injected_errors[date] == {error_type: 10 for error_type in ERROR_TYPES}
        affected = dirty.error_listing_ids[date]
        assert len(set().union(*affected.values())) == 70, "one error per row"
        broken = set().union(*(ids for kind, ids in affected.items() if kind != "duplicate_row"))
        clean_rows = {row[0]: row for row in read_day(tmp_path / "clean", date)[1]}
        dirty_rows = read_day(tmp_path / "dirty", date)[1]
        untouched = [row for row in dirty_rows if row[0] not in broken]
        assert len(untouched) == 500 + 10 - 60
        assert all(row == clean_rows[row[0]] for row in untouched)


def simulate_drift(root: Path, kinds: set[str]) -> dict[int, pd.DataFrame]:
    """Three days of which the last is drifted, as frames keyed by day index."""
    simulate_landing(root, DAY_1, 3, 1500, seed=21, drift_from=DAY_1 + dt.timedelta(days=2), drift=kinds)
    return {day: day_frame(root, date_of(day)) for day in range(3)}


def test_shift_moves_the_numeric_distributions_but_stays_in_san_francisco(tmp_path):
    frames = simulate_drift(tmp_path, {"shift"})
    before, drifted = frames[1], frames[2]
    assert drifted["accommodates"].mean() > before["accommodates"].mean() + 1.5
    assert drifted["review_scores_rating"].mean() < before["review_scores_rating"].mean() - 10
    assert drifted["number_of_reviews"].mean() > 2.5 * before["number_of_reviews"].mean()
    assert drifted["latitude"].mean() > before["latitude"].mean() + 0.003
    header, rows = read_day(tmp_path, date_of(2))
    assert all(violations(header, row) == set() for row in rows)
    assert abs(frames[0]["accommodates"].mean() - before["accommodates"].mean()) < 0.3


def test_new_category_appears_only_from_the_drift_day(tmp_path):
    frames = simulate_drift(tmp_path, {"new_category"})
    assert not (frames[0]["neighbourhood_cleansed"] == NEW_NEIGHBOURHOOD).any()
    assert not (frames[1]["neighbourhood_cleansed"] == NEW_NEIGHBOURHOOD).any()
    moved = frames[2][frames[2]["neighbourhood_cleansed"] == NEW_NEIGHBOURHOOD]
    assert 0.15 < len(moved) / len(frames[2]) < 0.25
    assert moved["latitude"].between(37.81, schema.VALUE_RANGES["latitude"][1]).all()
    assert moved["longitude"].between(-122.38, schema.VALUE_RANGES["longitude"][1]).all()


def test_new_column_appears_only_from_the_drift_day(tmp_path):
    simulate_landing(tmp_path, DAY_1, 3, 200, drift_from=DAY_1 + dt.timedelta(days=1), drift=["new_column"])
    assert read_day(tmp_path, date_of(0))[0] == list(schema.LANDING_COLUMNS)
    for day in (1, 2):
        header, rows = read_day(tmp_path, date_of(day))
        assert header == [*schema.LANDING_COLUMNS, NEW_COLUMN]
        assert all(len(row) == len(header) and row[-1].endswith("%") for row in rows)


def test_price_shift_raises_prices_while_features_stay(tmp_path):
    frames = simulate_drift(tmp_path, {"price_shift"})
    before, drifted = (frames[day].set_index(schema.LISTING_ID) for day in (1, 2))
    assert 1.5 < drifted["price"].median() / before["price"].median() < 1.7
    same = before.index.intersection(drifted.index)
    ratio = drifted.loc[same, "price"] / before.loc[same, "price"]
    assert 1.55 < ratio.median() < 1.65
    features = ["accommodates", "bedrooms", "review_scores_rating", "neighbourhood_cleansed", "latitude"]
    pd.testing.assert_frame_equal(before.loc[same, features], drifted.loc[same, features])


def test_base_file_rows_are_sampled_with_stable_ids(tmp_path, real_listings):
    real = pd.read_parquet(real_listings)
    simulate_landing(tmp_path, DAY_1, 2, 1000, seed=4, base_file=real_listings)
    days = []
    for day in range(2):
        header, rows = read_day(tmp_path, date_of(day))
        assert header == list(schema.LANDING_COLUMNS)
        assert all(violations(header, row) == set() for row in rows)
        days.append({row[0]: row for row in rows})
    shared = days[0].keys() & days[1].keys()
    assert shared and all(days[0][listing_id] == days[1][listing_id] for listing_id in shared)
    for listing_id, row in list(days[0].items())[:50]:
        source = real.iloc[int(listing_id[1:])]
        values = dict(zip(header, row, strict=True))
        assert values["neighbourhood_cleansed"] == source["neighbourhood_cleansed"]
        assert float(values["price"]) == source["price"]
        assert values["minimum_nights"] == str(int(source["minimum_nights"]))


def test_small_base_file_is_sampled_with_replacement_under_distinct_ids(tmp_path):
    generated = simulate_landing(tmp_path / "generated", DAY_1, 1, 5, files_per_day=1)
    base = tmp_path / "base.csv"
    pd.read_csv(generated.files[0]).drop(columns=schema.LISTING_ID).to_csv(base, index=False)
    result = simulate_landing(
        tmp_path / "sampled", DAY_1, 2, 12, base_file=base, drift_from=DAY_1, drift={"shift"}
    )
    header, rows = read_day(tmp_path / "sampled", date_of(0))
    ids = [row[0] for row in rows]
    assert len(ids) == len(set(ids)) == 12
    assert {listing_id[:7] for listing_id in ids} <= {f"B{index:06d}" for index in range(5)}
    assert all(violations(header, row) == set() for row in rows)
    assert sum(result.rows_per_file.values()) == 24


def test_command_line_writes_the_files_and_reports_them(tmp_path, capsys):
    exit_code = main(
        [
            "--root", str(tmp_path), "--start-date", "2026-02-01", "--days", "2",
            "--rows-per-day", "100", "--seed", "3", "--files-per-day", "3",
            "--error-rate", "null_required=0.05", "--error-rate", "text_in_numeric=0.02",
            "--drift-from", "2026-02-02", "--drift", "shift", "--drift", "new_column",
        ]
    )  # fmt: skip
    assert exit_code == 0
    written = sorted(tmp_path.rglob("*.csv"))
    assert len(written) == 6
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 7 and all(str(path) in "\n".join(lines) for path in written)
    assert "14 rows with injected errors" in lines[-1]
    assert read_day(tmp_path, "2026-02-02")[0][-1] == NEW_COLUMN


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--error-rate", "null_required"], "TYPE=RATE"),
        (["--error-rate", "castle=0.1"], "null_required"),
        (["--drift", "earthquake"], "invalid choice"),
        (["--drift", "shift"], "drift_from"),
    ],
)
def test_command_line_rejects_bad_arguments(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["--root", str(tmp_path), "--days", "1", "--rows-per-day", "10", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.csv"))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"error_rates": {"typo": 0.1}}, ", ".join(ERROR_TYPES)),
        ({"error_rates": {"duplicate_row": 1.5}}, "between 0 and 1"),
        ({"error_rates": {"duplicate_row": 0.6, "null_required": 0.6}}, "more than 1"),
        ({"days": 0}, "days must be an integer >= 1"),
        ({"rows_per_day": 0}, "rows_per_day must be an integer >= 1"),
        ({"drift": {"meteor"}, "drift_from": DAY_1}, ", ".join(DRIFT_KINDS)),
        ({"drift": {"shift"}}, "needs drift_from"),
        ({"drift_from": DAY_1}, "needs at least one drift kind"),
    ],
)
def test_bad_arguments_raise_clear_errors(tmp_path, arguments, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        simulate_landing(tmp_path, DAY_1, **{"days": 1, "rows_per_day": 10, **arguments})
    assert not (tmp_path / "landing").exists()


def test_base_file_that_is_missing_or_lacks_columns_is_named(tmp_path):
    missing = tmp_path / "nowhere.parquet"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        simulate_landing(tmp_path, DAY_1, 1, 10, base_file=missing)
    partial = tmp_path / "partial.csv"
    pd.DataFrame({"price": [100.0], "room_type": ["Private room"]}).to_csv(partial, index=False)
    with pytest.raises(ValueError, match=r"partial\.csv lacks .*host_is_superhost.*review_scores_value"):
        simulate_landing(tmp_path, DAY_1, 1, 10, base_file=partial)


def test_ten_days_of_two_thousand_rows_take_well_under_a_few_seconds(tmp_path):
    started = time.perf_counter()
    result = simulate_landing(tmp_path, DAY_1, 10, 2000, error_rates={"null_required": 0.01})
    assert time.perf_counter() - started < 3
    assert sum(result.rows_per_file.values()) == 20_000
    assert all(day == {"null_required": 20} for day in result.injected_errors.values())


# --- Inside Airbnb's published layouts and gzip ----------------------------------------------------


def records_of(path: Path) -> tuple[list[str], list[list[str]]]:
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if path.name.endswith(".gz") else raw).decode("utf-8")
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    return header, rows


def by_column(header: list[str], row: list[str]) -> dict[str, str]:
    return dict(zip(header, row, strict=True))


def test_the_project_layout_is_byte_identical_to_the_default(tmp_path):
    default = simulate_landing(tmp_path / "a", DAY_1, 2, 120, seed=5, error_rates={"text_in_numeric": 0.05})
    explicit = simulate_landing(
        tmp_path / "b", DAY_1, 2, 120, seed=5, error_rates={"text_in_numeric": 0.05}, layout=PROJECT
    )
    assert [p.read_bytes() for p in default.files] == [p.read_bytes() for p in explicit.files]


def test_the_project_layout_writes_the_bytes_it_wrote_before_there_were_layouts(tmp_path):
    # The hash of these files as the simulator wrote them before it knew other layouts (commit
    # 7974350). It also pins numpy's random streams: after a numpy upgrade that changes them,
    # recompute it from that commit.
    result = simulate_landing(
        tmp_path, DAY_1, 2, 150, seed=5, error_rates={error_type: 0.02 for error_type in ERROR_TYPES},
        drift_from=DAY_1 + dt.timedelta(days=1), drift=DRIFT_KINDS, layout=PROJECT,
    )  # fmt: skip
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in result.files)).hexdigest()
    assert digest == "52300aae3314c59362674b57257423bf9d9b2ea5aafee2f0650e03307c3cf9b4"


@pytest.mark.parametrize(
    ("layout", "header"),
    [(INSIDE_AIRBNB_2019, INSIDE_AIRBNB_2019_HEADER), (INSIDE_AIRBNB_2023, INSIDE_AIRBNB_2023_HEADER)],
)
def test_inside_airbnb_layouts_have_their_exact_header_ids_and_dollar_prices(tmp_path, layout, header):
    project = simulate_landing(tmp_path / "p", DAY_1, 1, 60, seed=9, files_per_day=1)
    published = simulate_landing(tmp_path / "i", DAY_1, 1, 60, seed=9, files_per_day=1, layout=layout)
    mission_header, mission_rows = records_of(project.files[0])
    file_header, rows = records_of(published.files[0])

    assert tuple(file_header) == header
    assert len(rows) == published.rows_per_file[published.files[0]] == 60
    for mission, row in zip(mission_rows, rows, strict=True):
        values, record = by_column(mission_header, mission), by_column(file_header, row)
        assert record["id"] == values["listing_id"]
        assert record["price"] == f"${float(values['price']):,.2f}"
        assert re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d", record["price"])
        assert record["room_type"] == values["room_type"] and record["host_is_superhost"] in ("t", "f")


def test_the_2023_layout_has_bathrooms_text_five_point_scores_and_no_retired_columns(tmp_path):
    project = simulate_landing(tmp_path / "p", DAY_1, 1, 1500, seed=4, files_per_day=1)
    published = simulate_landing(
        tmp_path / "i", DAY_1, 1, 1500, seed=4, files_per_day=1, layout=INSIDE_AIRBNB_2023
    )
    mission_header, mission_rows = records_of(project.files[0])
    file_header, rows = records_of(published.files[0])

    assert "cancellation_policy" not in file_header and "bed_type" not in file_header
    texts = set()
    for mission, row in zip(mission_rows, rows, strict=True):
        values, record = by_column(mission_header, mission), by_column(file_header, row)
        assert record["bathrooms"] == ""
        assert bathrooms_count(record["bathrooms_text"]) == float(values["bathrooms"])
        texts.add(record["bathrooms_text"])
        assert float(record["review_scores_rating"]) == pytest.approx(
            float(values["review_scores_rating"]) / 20, abs=0.005
        )
        assert float(record["review_scores_value"]) == pytest.approx(
            float(values["review_scores_value"]) / 2, abs=0.005
        )
        assert all(float(record[c]) <= 5 for c in schema.REVIEW_SCORE_COLUMNS)
    assert any("shared" in text for text in texts) and any("half-bath" in text.lower() for text in texts)


@pytest.mark.parametrize("room_type", ["Entire home/apt", "Private room", "Shared room", "Hotel room"])
def test_every_bathrooms_text_reads_back_as_its_count(room_type):
    rng = np.random.default_rng(0)
    for count in [n / 2 for n in range(0, 21)]:
        texts = {_bathrooms_text(repr(count), room_type, rng) for _ in range(8)}
        assert {bathrooms_count(text) for text in texts} == {count}, texts
    assert _bathrooms_text("two", room_type, rng) == "two"
    assert _bathrooms_text("0.5", "Entire home/apt", rng) == "Half-bath"
    assert _bathrooms_text("0.5", "Shared room", rng) == "Shared half-bath"
    assert _bathrooms_text("1.0", "Entire home/apt", rng) == "1 bath"
    assert _bathrooms_text("0.0", "Shared room", rng) == "0 shared baths"


@pytest.mark.parametrize("layout", [INSIDE_AIRBNB_2019, INSIDE_AIRBNB_2023])
def test_free_text_holds_newlines_quotes_commas_and_html_and_still_parses(tmp_path, layout):
    result = simulate_landing(tmp_path, DAY_1, 1, 100, seed=2, files_per_day=1, layout=layout)
    header, rows = records_of(result.files[0])
    text = "\n".join(by_column(header, row)["description"] + by_column(header, row)["name"] for row in rows)

    assert (
        all(len(row) == len(header) for row in rows)
        and len(rows) == 100 == result.rows_per_file[result.files[0]]
    )
    assert all(mark in text for mark in ("\n", '"', ",", "<br />"))
    assert result.files[0].read_text().count("\n") > len(rows) + 1  # records span lines


def mission_values(layout: str, header: list[str], row: list[str]) -> dict[str, str]:
    """A data line read back into mission text through the layout's declared mappings, for the
    mission columns the layout has (empty text is None to the parsers, as in bronze)."""
    record = {column: text or None for column, text in zip(header, row, strict=True)}
    return {
        mapping.column: mapping.parse(record)[0] or ""
        for mapping in LAYOUTS_BY_NAME[layout].mappings
        if set(mapping.inputs) & set(header)
    }


FIELD_ERRORS = ("null_required", "blank_required", "unknown_category", "out_of_range", "text_in_numeric")


@pytest.mark.parametrize("layout", [PROJECT, INSIDE_AIRBNB_2019, INSIDE_AIRBNB_2023])
def test_every_injected_error_breaks_exactly_one_rule_in_every_layout(tmp_path, layout):
    # 1,500 rows and 6% each: every option of every error type is drawn, the retired columns of
    # the 2020+ layout and its 0-5 review scores included.
    rates = dict.fromkeys(FIELD_ERRORS, 0.06)
    result = simulate_landing(
        tmp_path, DAY_1, 1, 1500, seed=11, files_per_day=1, layout=layout, error_rates=rates
    )
    header, rows = records_of(result.files[0])
    error_of = {
        listing_id: error_type
        for error_type, ids in result.error_listing_ids[DAY_1.isoformat()].items()
        for listing_id in ids
    }
    assert len(rows) == 1500 and len(error_of) == 5 * 90
    for row in rows:
        values = mission_values(layout, header, row)
        listing_id = values.pop(schema.LISTING_ID)
        expected = {error_of[listing_id]} if listing_id in error_of else set()
        assert violations(list(values), list(values.values())) == expected, values


def test_compress_writes_gzip_of_the_same_text_with_stable_bytes(tmp_path):
    plain = simulate_landing(tmp_path / "plain", DAY_1, 2, 80, seed=3, layout=INSIDE_AIRBNB_2019)
    first = simulate_landing(tmp_path / "gz1", DAY_1, 2, 80, seed=3, layout=INSIDE_AIRBNB_2019, compress=True)
    second = simulate_landing(
        tmp_path / "gz2", DAY_1, 2, 80, seed=3, layout=INSIDE_AIRBNB_2019, compress=True
    )

    assert all(path.name.endswith(".csv.gz") for path in first.files)
    assert [gzip.decompress(p.read_bytes()) for p in first.files] == [p.read_bytes() for p in plain.files]
    assert [p.read_bytes() for p in first.files] == [p.read_bytes() for p in second.files]
    assert set(first.rows_per_file) == set(first.files)


def test_a_simulated_2019_gzip_file_parses_with_the_landing_parser(tmp_path):
    result = simulate_landing(
        tmp_path, DAY_1, 1, 150, seed=8, files_per_day=1, layout=INSIDE_AIRBNB_2019, compress=True
    )
    path = result.files[0]

    parsed = parse_landing_csv(str(path), path.read_bytes())

    assert parsed.error is None and parsed.summary.layout == INSIDE_AIRBNB_2019
    assert len(parsed.rows) == result.rows_per_file[path]


def test_command_line_writes_a_compressed_2023_layout_and_rejects_an_unknown_layout(tmp_path, capsys):
    assert (
        main(
            [
                "--root",
                str(tmp_path),
                "--days",
                "1",
                "--rows-per-day",
                "20",
                "--files-per-day",
                "1",
                "--layout",
                "insideairbnb-2023",
                "--compress",
            ]
        )
        == 0
    )
    (written,) = tmp_path.rglob("*.csv.gz")
    assert tuple(records_of(written)[0]) == INSIDE_AIRBNB_2023_HEADER
    with pytest.raises(SystemExit):
        main(["--root", str(tmp_path), "--layout", "insideairbnb-2030"])
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(ValueError, match="valid layouts: project, insideairbnb-2019, insideairbnb-2023"):
        simulate_landing(tmp_path, DAY_1, 1, 10, layout="csv2030")
