"""Extreme landing files (issue 14): a field of 1 MB and one over the parser's limit, a header of
5,000 columns, binary content named ``.csv``, folders where a day's files should be, and
symbolic links pointing outside the storage root. Each ends in a clear outcome (its rows in
bronze, or the file rejected or ignored with a reason naming it in the ``ingestion_log``), the
other files of the day go on, nothing is read from outside the root, and the rows add up.

The parser and the listing are tested in plain Python; one module fixture runs bronze and silver
over a day holding all of them at once.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from mlvp_assets import files
from mlvp_assets.automation.landing_zone import list_landing_files
from mlvp_assets.bronze import landing_csv
from mlvp_assets.bronze.assets import bronze_listings
from mlvp_assets.bronze.ingest import (
    LINK_HASH,
    UNREADABLE_HASH,
    Status,
    discover_landing_files,
    plan_ingestion,
)
from mlvp_assets.bronze.landing_csv import (
    FIELD_SIZE_LIMIT,
    FILE_ERROR,
    RESCUED_DATA,
    SOURCE_LINE,
    parse_landing_csv,
)
from mlvp_assets.bronze.rules import MAX_NAMED_COLUMNS, describe_source_changes
from mlvp_assets.delta_tables import read_table
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
from mlvp_assets_tests.factories import by_name, csv_text, good_rows, listing, write_landing_file

MEGABYTE = 1024 * 1024
WITH_DESCRIPTION = [*LANDING_COLUMNS, "description"]  # description: a rescued column
WIDE_EXTRAS = [f"extra_{index:04d}" for index in range(5_000 - len(LANDING_COLUMNS))]
WIDE = [*LANDING_COLUMNS, *WIDE_EXTRAS]  # 5,000 columns
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
NOT_UTF8, NO_LAYOUT = "not valid UTF-8", "the header matches no known layout"
BINARY = {  # kind -> (content, why it is rejected)
    "png": (PNG, NOT_UTF8),
    "zip": (b"PK\x03\x04\x14\x00\x08\x00\x08\x00" + bytes(range(255, -1, -1)) * 4, NOT_UTF8),
    "utf16": (csv_text([listing("B1")]).encode("utf-16"), NOT_UTF8),
    # a first line of valid UTF-8 (control characters up to the first newline byte) is a header
    "elf": (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4, NO_LAYOUT),
    "nul_bytes": (b"\x00" * 10_000, NO_LAYOUT),
}


def one_megabyte_row(listing_id: str) -> dict:
    return {**listing(listing_id), "description": "d" * MEGABYTE}


def wide_row(listing_id: str) -> dict:
    return {**listing(listing_id), **{name: f"{name}-{listing_id}" for name in WIDE_EXTRAS}}


# --- the parser, in plain Python -------------------------------------------------------------


def test_one_megabyte_fields_are_read_whole():
    rows = [one_megabyte_row("L1"), {**listing("L2", property_type="p" * MEGABYTE), "description": "x"}]
    parsed = parse_landing_csv("d/one_mb.csv", csv_text(rows, WITH_DESCRIPTION).encode())
    assert parsed.error is None and len(parsed.rows) == 2
    first, second = (by_name(row) for row in parsed.rows)
    assert json.loads(first[RESCUED_DATA]) == {"description": "d" * MEGABYTE}
    assert second["property_type"] == "p" * MEGABYTE


def test_a_field_over_the_limit_rejects_the_file_naming_it_and_the_line_instead_of_raising(tmp_path):
    # The csv module's own limit is 131,072 characters; the parser raises it to FIELD_SIZE_LIMIT
    # and turns a larger field into the file's rejection, in memory and on the Spark path alike.
    content = csv_text([listing("L1"), listing("L2", property_type="x" * (FIELD_SIZE_LIMIT + 1))]).encode()
    parsed = parse_landing_csv("d/too_big.csv", content)
    assert parsed.rows == []
    assert parsed.error == (
        f"d/too_big.csv: unreadable CSV at line 3: field larger than field limit ({FIELD_SIZE_LIMIT})"
    )
    path = tmp_path / "too_big.csv"
    path.write_bytes(content)
    frames = list(landing_csv.parse_files((f"file:{path}",), iter([_index_frame(0)])))
    assert sum(frame[SOURCE_LINE].notna().sum() for frame in frames) <= 1  # at most L1's batch
    assert frames[-1][FILE_ERROR].iloc[0].endswith("field larger than field limit (16777216)")


def _index_frame(index: int):
    import pandas as pd

    return pd.DataFrame({"index": [index]})


def test_rows_of_large_fields_are_handed_on_in_batches_bounded_by_size(tmp_path, monkeypatch):
    # BATCH_ROWS rows of 1 MB would be a batch of 10 GB, beyond an Arrow string column's 2 GiB.
    assert landing_csv.BATCH_CHARS + 2 * FIELD_SIZE_LIMIT < 2**31
    monkeypatch.setattr(landing_csv, "BATCH_CHARS", 3 * MEGABYTE)
    path = tmp_path / "large_fields.csv"
    path.write_text(csv_text([one_megabyte_row(f"L{index}") for index in range(10)], WITH_DESCRIPTION))
    frames = list(landing_csv.parse_files((f"file:{path}",), iter([_index_frame(0)])))
    sizes = [int(frame[SOURCE_LINE].notna().sum()) for frame in frames[:-1]]
    assert sizes == [3, 3, 3, 1] and frames[-1][FILE_ERROR].iloc[0] is None


def test_a_header_of_5000_columns_is_read_and_its_new_columns_named():
    parsed = parse_landing_csv("d/wide.csv", csv_text([wide_row("W1"), wide_row("W2")], WIDE).encode())
    assert parsed.error is None and parsed.summary.layout == "project"
    assert parsed.summary.new_columns == tuple(WIDE_EXTRAS) and parsed.summary.missing_columns == ()
    rescued = json.loads(by_name(parsed.rows[1])[RESCUED_DATA])
    assert len(rescued) == len(WIDE_EXTRAS) and rescued["extra_4974"] == "extra_4974-W2"


def test_a_header_of_50000_columns_is_checked_for_repeats_in_linear_time():
    # Counting each name in the header was quadratic: 20 s for 50,000 columns.
    header = [*LANDING_COLUMNS, *(f"extra_{index}" for index in range(50_000))]
    started = time.monotonic()
    parsed = parse_landing_csv("d/wider.csv", csv_text([listing("L1")], header).encode())
    assert parsed.error is None and len(parsed.rows) == 1
    assert time.monotonic() - started < 5
    repeated = parse_landing_csv("d/repeat.csv", csv_text([], [*header, "extra_7"]).encode())
    assert repeated.error == "d/repeat.csv: column(s) extra_7 appear more than once in the header"


def test_the_source_change_line_names_at_most_a_few_columns_and_counts_the_rest():
    line = describe_source_changes({}, {name: ["wide.csv"] for name in WIDE_EXTRAS})
    named = ", ".join(WIDE_EXTRAS[:MAX_NAMED_COLUMNS])
    assert line == f"the source newly delivers {named} and {len(WIDE_EXTRAS) - MAX_NAMED_COLUMNS:,} more"
    assert len(line) < 1_000


@pytest.mark.parametrize("kind", sorted(BINARY))
def test_binary_content_named_csv_is_rejected_naming_the_file(kind):
    content, reason = BINARY[kind]
    parsed = parse_landing_csv(f"d/{kind}.csv", content)
    assert parsed.rows == [] and parsed.error is not None
    assert parsed.error.startswith(f"d/{kind}.csv: {reason}")


# --- links and folders: nothing is read from outside the root --------------------------------


@pytest.fixture
def landing_with_links(tmp_path) -> tuple[Path, Path]:
    """A root whose landing day holds a good file, a sub-folder, a link to a CSV outside the root,
    a link to a folder outside it, a dangling link and a link back up the tree; and a landing
    folder whose name is not a date."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (outside / "deeper").mkdir(parents=True)
    (outside / "secret.csv").write_text(csv_text([listing("OUTSIDE")]))
    (outside / "deeper" / "more.csv").write_text(csv_text([listing("OUTSIDE2")]))
    day = write_landing_file(root, "2026-03-01", "good.csv", csv_text(good_rows(2))).parent
    write_landing_file(root, "2026-03-01", "sub/inner.csv", csv_text([listing("SUB")]))
    write_landing_file(root, "not-a-date", "stray.csv", csv_text([listing("STRAY")]))
    (day / "linked.csv").symlink_to(outside / "secret.csv")
    (day / "linked_folder").symlink_to(outside)
    (day / "dangling.csv").symlink_to(outside / "gone.csv")
    (day / "up").symlink_to(root)
    return root, outside


@pytest.fixture
def opened(monkeypatch) -> list[str]:
    """Every file the code under test opens through the files module (hashes and parses do)."""
    seen: list[str] = []
    open_input = files.open_input

    def spy(uri: str):
        seen.append(os.path.realpath(files.local_path(uri)))
        return open_input(uri)

    monkeypatch.setattr(files, "open_input", spy)
    return seen


def test_links_in_a_landing_day_are_listed_as_ignored_and_never_followed(landing_with_links, opened):
    root, outside = landing_with_links
    found = {
        file.path.rsplit("/", 1)[1]: file
        for file in discover_landing_files(f"file:{root}/landing/2026-03-01")
    }
    assert sorted(found) == ["dangling.csv", "good.csv", "linked.csv", "linked_folder", "sub", "up"]
    for name in ("dangling.csv", "linked.csv", "linked_folder", "up"):
        assert found[name].ignored_reason == (
            f"{name} is a symbolic link; landing files must be regular files in the day's folder "
            "(a link is not followed: it may point outside the storage root)"
        )
    assert (
        found["sub"].ignored_reason == "sub is a folder; landing files must sit directly in the day's folder"
    )
    assert found["good.csv"].ignored_reason is None
    assert opened == [str((root / "landing" / "2026-03-01" / "good.csv").resolve())]


def test_the_recursive_listing_does_not_descend_into_links(landing_with_links):
    root, _ = landing_with_links
    listed = dict(files.list_tree(f"file:{root}/landing"))
    assert sorted(listed) == [
        "2026-03-01",
        "2026-03-01/dangling.csv",
        "2026-03-01/good.csv",
        "2026-03-01/linked.csv",
        "2026-03-01/linked_folder",
        "2026-03-01/sub",
        "2026-03-01/sub/inner.csv",
        "2026-03-01/up",
        "not-a-date",
        "not-a-date/stray.csv",
    ]
    assert all(
        listed[name].is_symlink
        for name in listed
        if name.rsplit("/", 1)[-1] in {"dangling.csv", "linked.csv", "linked_folder", "up"}
    )
    assert listed["2026-03-01/linked.csv"].size == os.lstat(root / "landing/2026-03-01/linked.csv").st_size


def test_the_landing_listing_names_a_folder_that_is_not_a_date_and_takes_none_of_its_files(
    landing_with_links,
):
    root, _ = landing_with_links
    listing_ = list_landing_files(f"file:{root}/landing")
    assert listing_.ignored_folders == ("not-a-date",)
    assert {file.path.rsplit("/", 1)[1] for file in listing_.files} == {
        "good.csv",
        "linked.csv",
        "dangling.csv",
    }


def test_the_parser_refuses_a_file_replaced_by_a_link_after_it_was_listed(landing_with_links, opened):
    root, outside = landing_with_links
    path = f"file:{root}/landing/2026-03-01/linked.csv"
    frames = list(landing_csv.parse_files((path,), iter([_index_frame(0)])))
    assert len(frames) == 1 and frames[0][SOURCE_LINE].isna().all()
    assert frames[0][FILE_ERROR].iloc[0] == f"{path}: is a symbolic link; it is not followed"
    assert opened == []


def test_a_day_folder_that_is_a_symbolic_link_is_ignored_by_the_ingestion_and_nothing_in_it_read(
    landing_with_links, opened
):
    root, outside = landing_with_links
    (root / "landing" / "2026-03-05").symlink_to(outside)
    found = discover_landing_files(f"file:{root}/landing/2026-03-05")
    assert [(file.path, file.content_sha256, file.ignored_reason) for file in found] == [
        (
            f"file:{root}/landing/2026-03-05",
            LINK_HASH,
            "2026-03-05 is a symbolic link; a landing day must be a folder of the landing root "
            "(a link is not followed: it may point outside the storage root)",
        )
    ]
    assert opened == []


def _discover_beside_fifo(directory: str, fifo: Path) -> list:
    """Discovery in a thread: if it blocks on the FIFO, a writer is opened and closed to release
    it, and the test fails instead of hanging."""
    found: list = []
    worker = threading.Thread(target=lambda: found.extend(discover_landing_files(directory)), daemon=True)
    worker.start()
    worker.join(timeout=20)
    if worker.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(timeout=20)
        pytest.fail(f"discovering {directory} waited for a writer of {fifo.name}")
    return found


def test_a_fifo_named_csv_is_rejected_without_waiting_for_a_writer(tmp_path):
    # Opening a FIFO for reading waits for a writer: hashing one held the day's run for ever.
    day = write_landing_file(tmp_path, "2026-03-01", "good.csv", csv_text(good_rows(2))).parent
    os.mkfifo(day / "fifo.csv")
    found = {
        file.path.rsplit("/", 1)[1]: file for file in _discover_beside_fifo(f"file:{day}", day / "fifo.csv")
    }
    assert sorted(found) == ["fifo.csv", "good.csv"]
    assert found["fifo.csv"].unreadable_reason == (
        f"file:{day}/fifo.csv: could not be read (a FIFO, not a regular file)"
    )
    assert found["good.csv"].unreadable_reason is None
    plan = plan_ingestion(list(found.values()), {})
    assert [file.path for file in plan.to_ingest] == [f"file:{day}/good.csv"]
    assert [file.path for file in plan.unreadable] == [f"file:{day}/fifo.csv"]
    assert (
        plan_ingestion(
            list(found.values()), {file.path: file.content_sha256 for file in found.values()}
        ).unreadable
        == []
    )


NOBODY = 65534


def _discover_as_nobody(directory: str) -> list[dict]:
    """``discover_landing_files`` in a forked child that has given up root for the user nobody
    (a child process: a process cannot take root back), its findings sent back as JSON."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            found = [dataclasses.asdict(file) for file in discover_landing_files(directory)]
            with os.fdopen(write_end, "w") as pipe:
                json.dump(found, pipe)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        sent = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and sent, f"the child as nobody failed ({status})"
    return json.loads(sent)


def test_a_file_the_reader_may_not_read_is_rejected_naming_it_and_the_others_kept():
    # chmod 000 stops every reader but root (CAP_DAC_OVERRIDE), and these tests may run as root:
    # there the discovery runs as the user nobody, so the kernel's permission check is the real one.
    # The folder is its own under /tmp (pytest's are private to their user), open to others to read.
    folder = Path(tempfile.mkdtemp(prefix="mlvp-unreadable-"))
    try:
        folder.chmod(0o755)
        day = write_landing_file(folder, "2026-03-01", "good.csv", csv_text(good_rows(2))).parent
        secret = write_landing_file(folder, "2026-03-01", "secret.csv", csv_text([listing("SECRET")]))
        for path in (day.parent, day):
            path.chmod(0o755)
        secret.chmod(0o000)
        if os.geteuid() == 0:
            found = _discover_as_nobody(f"file:{day}")
        else:
            found = [dataclasses.asdict(file) for file in discover_landing_files(f"file:{day}")]
    finally:
        shutil.rmtree(folder)
    by_name_ = {file["path"].rsplit("/", 1)[1]: file for file in found}
    assert sorted(by_name_) == ["good.csv", "secret.csv"]
    assert by_name_["secret.csv"]["unreadable_reason"] == (
        f"file:{day}/secret.csv: could not be read ([Errno 13] Permission denied: '{day}/secret.csv')"
    )
    assert by_name_["secret.csv"]["content_sha256"] == UNREADABLE_HASH
    good = by_name_["good.csv"]
    assert good["unreadable_reason"] is None and len(good["content_sha256"]) == 64


# --- through bronze and silver ------------------------------------------------------------------

DAY = "2026-03-02"
LINKED_DAY = "2026-03-03"  # a link to a folder outside the root
GOOD_ROWS = 3
READABLE = {  # name -> rows in bronze
    "good.csv": GOOD_ROWS,
    "one_mb.csv": 2,
    "wide.csv.gz": 2,
}
REJECTED = {
    "too_big.csv": "unreadable CSV at line 2: field larger than field limit",
    "png.csv": NOT_UTF8,
    "nul_bytes.csv": NO_LAYOUT,
    "fifo.csv": "could not be read (a FIFO, not a regular file)",
}
IGNORED = {
    "sub": "is a folder",
    "linked.csv": "is a symbolic link",
    "linked_folder": "is a symbolic link",
    "dangling.csv": "is a symbolic link",
}


@pytest.fixture(scope="module")
def extreme_day(tmp_path_factory, spark):
    root = tmp_path_factory.mktemp("extreme")
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.csv").write_text(csv_text([listing("OUTSIDE")]))
    resources = medallion_resources(root)
    write_landing_file(root, DAY, "good.csv", csv_text(good_rows(GOOD_ROWS)))
    write_landing_file(
        root,
        DAY,
        "one_mb.csv",
        csv_text([one_megabyte_row("MB1"), one_megabyte_row("MB2")], WITH_DESCRIPTION),
    )
    write_landing_file(
        root, DAY, "wide.csv.gz", gzip.compress(csv_text([wide_row("W1"), wide_row("W2")], WIDE).encode())
    )
    write_landing_file(
        root, DAY, "too_big.csv", csv_text([listing("BIG", property_type="x" * (FIELD_SIZE_LIMIT + 1))])
    )
    write_landing_file(root, DAY, "png.csv", BINARY["png"][0])
    write_landing_file(root, DAY, "nul_bytes.csv", BINARY["nul_bytes"][0])
    write_landing_file(root, DAY, "sub/inner.csv", csv_text([listing("SUB")]))
    write_landing_file(root, "not-a-date", "stray.csv", csv_text([listing("STRAY")]))
    day = root / "landing" / DAY
    (day / "linked.csv").symlink_to(outside / "secret.csv")
    (day / "linked_folder").symlink_to(outside)
    (day / "dangling.csv").symlink_to(outside / "gone.csv")
    os.mkfifo(day / "fifo.csv")
    (root / "landing" / LINKED_DAY).symlink_to(outside)
    result = materialize_day(INGEST_AND_CLEAN, resources, DAY)
    assert result.success, "the run failed instead of going on with the readable files"
    return result, resources["storage"]


@pytest.fixture(scope="module")
def linked_day(extreme_day):
    """Bronze for a day whose folder is a symbolic link to a folder of CSV files outside the root."""
    _, storage = extreme_day
    result = materialize_day([bronze_listings], medallion_resources(storage.local_root), LINKED_DAY)
    assert result.success, "the run failed instead of logging the linked day's folder as ignored"
    return result, storage


def log_by_name(spark, storage) -> dict:
    return {row.path.rsplit("/", 1)[1]: row for row in ingestion_log(spark, storage, DAY)}


def test_every_extreme_file_has_a_logged_outcome_naming_it(extreme_day, spark):
    _, storage = extreme_day
    log = log_by_name(spark, storage)
    assert set(log) == {*READABLE, *REJECTED, *IGNORED}
    for name, rows in READABLE.items():
        assert (log[name].status, log[name].row_count) == (Status.INGESTED, rows), name
    for name, reason in REJECTED.items():
        assert (log[name].status, log[name].row_count) == (Status.REJECTED, 0), name
        assert f"/{DAY}/{name}: " in log[name].detail and reason in log[name].detail
    for name, reason in IGNORED.items():
        assert (log[name].status, log[name].row_count) == (Status.IGNORED, 0), name
        assert log[name].detail.startswith(f"{name} {reason}")
    assert log["wide.csv.gz"].new_columns == WIDE_EXTRAS


def test_nothing_from_outside_the_root_or_other_folders_reaches_bronze_and_rows_add_up(extreme_day, spark):
    result, storage = extreme_day
    bronze = day_rows(spark, storage, "bronze_listings", DAY)
    ids = {row.listing_id for row in bronze.select("listing_id").collect()}
    assert ids == {"G00000", "G00001", "G00002", "MB1", "MB2", "W1", "W2"}
    counts = assert_accounting_holds(spark, storage, DAY)
    assert counts["bronze"] == sum(row.row_count for row in log_by_name(spark, storage).values())
    assert check_results(result)["row_accounting_balances"].passed
    description = bronze.where(F.col("listing_id") == "MB2").select(RESCUED_DATA).first()[0]
    assert json.loads(description) == {"description": "d" * MEGABYTE}


def test_the_readable_files_check_names_the_rejected_files_and_the_schema_line_stays_short(extreme_day):
    result, _ = extreme_day
    checks = check_results(result)
    readable = checks["landing_files_are_readable"]
    assert not readable.passed
    assert {path.rsplit("/", 1)[1] for path in readable.metadata["rejected_files"].value} == set(REJECTED)
    schema = checks["source_schema_is_unchanged"]
    assert not schema.passed and schema.severity.value == "WARN"
    new = len(WIDE_EXTRAS) + 1  # and one_mb.csv's description
    assert schema.description.endswith(f"and {new - MAX_NAMED_COLUMNS:,} more")
    assert len(schema.metadata["new_columns"].value) == new


@pytest.mark.slow
def test_a_day_folder_that_is_a_link_is_logged_as_ignored_and_nothing_outside_the_root_is_ingested(
    linked_day, spark
):
    result, storage = linked_day
    (entry,) = ingestion_log(spark, storage, LINKED_DAY)
    assert entry.path == f"file:{storage.local_root}/landing/{LINKED_DAY}"
    assert (entry.status, entry.row_count, entry.content_sha256) == (Status.IGNORED, 0, LINK_HASH)
    assert entry.detail.startswith(f"{LINKED_DAY} is a symbolic link; a landing day must be a folder")
    metadata = result.asset_materializations_for_node("bronze_listings")[0].metadata
    assert list(metadata["files_ignored"].value) == [entry.path]
    assert day_rows(spark, storage, "bronze_listings", LINKED_DAY).count() == 0
    bronze_ids = {
        row.listing_id for row in read_table(spark, storage.table_path("bronze_listings")).collect()
    }
    assert "OUTSIDE" not in bronze_ids
