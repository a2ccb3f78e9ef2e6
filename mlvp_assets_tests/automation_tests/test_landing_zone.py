"""The landing-zone listing on real local folders: what counts as a landed file and its identity."""

import datetime as dt

from mlvp_assets.automation.landing_zone import LandedFile, list_landing_files
from mlvp_assets.simulate import simulate_landing

from .landing import FIXED_MTIME_NS, drop, uri


def test_lists_csv_and_gzip_files_of_dated_folders_and_reports_other_folders(tmp_path):
    kept = [
        drop(tmp_path, "2026-01-02", "b.csv"), drop(tmp_path, "2026-01-02", "a.csv"),
        drop(tmp_path, "2026-01-03"), drop(tmp_path, "2026-01-03", "listings.csv.gz"),
    ]  # fmt: skip
    drop(tmp_path, "2026-01-02", "listings.json")
    drop(tmp_path, "2026-01-02", "notes.txt")
    drop(tmp_path, "2026-01-02", "a.csv.tmp")
    drop(tmp_path, "tmp", "stray.csv")
    drop(tmp_path, "2026-13-01", "bad_month.csv")
    (tmp_path / "landing" / "loose.csv").write_text("id\n1\n")  # a file beside the dated folders
    (tmp_path / "landing" / "2026-01-03" / "nested.csv").mkdir()  # a folder, even if named .csv

    listing = list_landing_files(str(tmp_path / "landing"))

    assert [file.path for file in listing.files] == sorted(uri(path) for path in kept)
    assert [file.day for file in listing.files] == ["2026-01-02", "2026-01-02", "2026-01-03", "2026-01-03"]
    assert listing.ignored_folders == ("2026-13-01", "tmp")


def test_a_missing_landing_root_is_an_empty_listing(tmp_path):
    listing = list_landing_files(str(tmp_path / "no" / "landing"))

    assert listing.files == ()
    assert listing.ignored_folders == ()


def test_a_file_is_identified_by_path_size_and_modification_time(tmp_path):
    first, longer, same_size = "id,price\n1,100\n", "id,price\n1,100\n2,25\n", "id,price\n1,999\n"
    path = drop(tmp_path, "2026-01-02", text=first)
    (original,) = list_landing_files(str(tmp_path / "landing")).files
    assert original == LandedFile("2026-01-02", uri(path), len(first), FIXED_MTIME_NS)
    assert original.key == f"{uri(path)}|{len(first)}|{FIXED_MTIME_NS}"

    drop(tmp_path, "2026-01-02", text=longer)  # new content, same modification time
    (resized,) = list_landing_files(str(tmp_path / "landing")).files
    drop(tmp_path, "2026-01-02", text=same_size, mtime_ns=FIXED_MTIME_NS + 1_000_000_000)
    (touched,) = list_landing_files(str(tmp_path / "landing")).files

    assert (resized.size, resized.modified_ns) == (len(longer), FIXED_MTIME_NS)
    assert (touched.size, touched.modified_ns) == (len(first), FIXED_MTIME_NS + 1_000_000_000)
    assert len({original.key, resized.key, touched.key}) == 3


def test_lists_the_simulated_landing_zone(tmp_path):
    simulate_landing(tmp_path, dt.date(2026, 1, 1), days=2, rows_per_day=5, files_per_day=2)

    listing = list_landing_files(str(tmp_path / "landing"))

    assert [(file.day, file.path.rsplit("/", 1)[1]) for file in listing.files] == [
        ("2026-01-01", "listings_2026-01-01_part1.csv"),
        ("2026-01-01", "listings_2026-01-01_part2.csv"),
        ("2026-01-02", "listings_2026-01-02_part1.csv"),
        ("2026-01-02", "listings_2026-01-02_part2.csv"),
    ]
    assert all(file.size > 0 and file.modified_ns > 0 for file in listing.files)


def test_files_below_a_day_folder_are_not_landing_files(tmp_path):
    drop(tmp_path, "2026-01-02", "a.csv")
    drop(tmp_path, "2026-01-02/archive", "old.csv")
    drop(tmp_path, "tmp/2026-01-03", "b.csv")

    listing = list_landing_files(str(tmp_path / "landing"))

    assert [file.path for file in listing.files] == [uri(tmp_path / "landing" / "2026-01-02" / "a.csv")]
    assert listing.ignored_folders == ("tmp",)
