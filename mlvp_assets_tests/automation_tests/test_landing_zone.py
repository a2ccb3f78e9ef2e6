"""The landing-zone listing on real local folders: what counts as a landed file and its identity."""

import datetime as dt

from mlvp_assets import files
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
    assert listing.ignored == {
        "2026-13-01": "2026-13-01 is not a landing day; a day's folder is named YYYY-MM-DD",
        "loose.csv": (
            "loose.csv is not a folder; landing files must sit in a day's folder (landing/YYYY-MM-DD/)"
        ),
        "tmp": "tmp is not a landing day; a day's folder is named YYYY-MM-DD",
    }


# Names date.fromisoformat takes (Python 3.11: basic and ISO-week forms) or that look like a day.
NOT_DAY_NAMES = [
    "20260105",
    "2026-W02-1",
    "2026W021",
    "2026-01-5",
    "２０２６-01-05",
    "2026-01-05 ",
    "2026-01-05\n",
]


def test_only_a_yyyy_mm_dd_folder_name_is_a_landing_day():
    assert files.landing_day("2026-01-05") == dt.date(2026, 1, 5)
    assert dt.date.fromisoformat("20260105") == dt.date.fromisoformat("2026-W02-1") == dt.date(2026, 1, 5)
    for name in [*NOT_DAY_NAMES, "2026-02-30", "2026-001", "", "."]:
        assert files.landing_day(name) is None, repr(name)


def test_folders_named_like_a_date_in_another_form_are_reported_and_none_of_their_files_taken(tmp_path):
    kept = drop(tmp_path, "2026-01-05", "a.csv")
    for name in NOT_DAY_NAMES:
        drop(tmp_path, name, "a.csv")

    listing = list_landing_files(str(tmp_path / "landing"))

    assert [file.path for file in listing.files] == [uri(kept)]
    assert listing.ignored == {
        name: f"{name} is not a landing day; a day's folder is named YYYY-MM-DD"
        for name in sorted(NOT_DAY_NAMES)
    }


def test_a_day_folder_that_is_a_symbolic_link_is_reported_and_not_descended_into(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("id\n1\n")
    kept = drop(tmp_path / "root", "2026-01-05", "a.csv")
    (tmp_path / "root" / "landing" / "2026-01-06").symlink_to(outside)
    (tmp_path / "root" / "landing" / "2026-01-07").symlink_to(outside / "gone")  # dangling

    listing = list_landing_files(str(tmp_path / "root" / "landing"))

    assert [file.path for file in listing.files] == [uri(kept)]
    assert listing.ignored == {
        day: (
            f"{day} is a symbolic link; a landing day must be a folder of the landing root "
            "(a link is not followed: it may point outside the storage root)"
        )
        for day in ("2026-01-06", "2026-01-07")
    }


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
