"""Cheap listing of the landing zone for sensors and schedules, and what the landing sensor
remembers of it between ticks: no Spark, one recursive listing.

Through :mod:`mlvp_assets.files` (``pyarrow.fs``), so local folders and object stores are listed
with the same calls and the same endpoint settings as the ingestion. A file is identified by its
path, size and modification time, so a file replaced with new content counts as new again.

What the sensor remembers (:class:`LandingCursor`) does not grow with the landing zone's history.
It holds every file of the ``RECENT_DAYS`` newest landing days, every file of a day that had a
file modified less than ``SETTLE_NS`` before the tick, and that moment (``settled_before_ns``).
Every other day is *settled*: its files were all there at the previous tick and were taken then,
so only a file modified since can be new in it. What that guarantees:

* a file in one of the ``RECENT_DAYS`` newest days is taken once per path, size and modification
  time, whatever its modification time (a copy that keeps an old time, a same-size rewrite);
* a file written or uploaded into any older day's folder, however old the day, is taken once:
  writing it (a local write, an S3 upload) gives it a modification time newer than the last
  settled moment;
* not seen: a file put into a settled day with a modification time already more than
  ``SETTLE_NS`` old when it becomes visible (``cp -p``, ``rsync -a``, an upload slower than
  ``SETTLE_NS``). Touch it, or materialize that day.

This is the trade Spark's file stream source makes with ``maxFileAge`` and Auto Loader with
``cloudFiles.maxFileAge``: exact memory of recent files, a time bound for the rest.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Iterable, Mapping

from mlvp_assets import files as storage_files

# The newest landing days whose every file the cursor remembers: where late corrections land.
RECENT_DAYS = 14
# How much older than the moment it can be listed a file's modification time may be: the clock
# skew between writers, the store and the sensor, plus the longest upload (S3 dates an object by
# the start of its upload). Files modified within it are remembered one by one until it passes.
SETTLE_NS = 60 * 60 * 1_000_000_000


@dataclasses.dataclass(frozen=True)
class LandedFile:
    day: str  # the landing folder's name, YYYY-MM-DD
    path: str
    size: int
    modified_ns: int

    @property
    def key(self) -> str:
        """The file's identity: path, size and modification time."""
        return f"{self.path}|{self.size}|{self.modified_ns}"

    @property
    def entry(self) -> str:
        """What the cursor remembers under the file's day: name, size and modification time."""
        return f"{self.path.rsplit('/', 1)[-1]}|{self.size}|{self.modified_ns}"


@dataclasses.dataclass(frozen=True)
class LandingListing:
    files: tuple[LandedFile, ...]
    # Entries of the landing root that hold no landing day (a folder not named YYYY-MM-DD, a
    # symbolic link, a loose file) -> why, by the rule the ingestion applies too.
    ignored: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def ignored_folders(self) -> tuple[str, ...]:
        return tuple(sorted(self.ignored))


def list_landing_files(landing_root: str) -> LandingListing:
    """Every ``<landing_root>/<YYYY-MM-DD>/*.csv`` and ``*.csv.gz``; a missing landing root is an
    empty listing. Other files in a day's folder are the ingestion's to log as ignored; what else
    the landing root holds is named in ``ignored`` with the reason
    (:func:`mlvp_assets.files.landing_folder_ignored_reason`), and nothing in it is taken.

    One recursive listing, not one per day folder: on an object store that is a request per
    1,000 files instead of a request per day (a year of days listed one folder at a time took 8 s
    against a local S3 server, at once 0.2 s). A symbolic link is not descended into.
    """
    listed = storage_files.list_tree(landing_root)
    top = {relative: entry for relative, entry in listed if "/" not in relative}
    for relative, _ in listed:
        folder = relative.split("/", 1)[0]
        if folder not in top:  # an object store lists keys: a folder is the first part of one
            top[folder] = storage_files.FileEntry(
                storage_files.join(landing_root, folder), folder, size=0, modified_ns=0, is_dir=True
            )
    ignored = {
        name: reason
        for name, entry in sorted(top.items())
        if (reason := storage_files.landing_folder_ignored_reason(entry))
    }
    files = [
        LandedFile(relative.split("/")[0], entry.path, entry.size, entry.modified_ns)
        for relative, entry in listed
        if relative.count("/") == 1
        and relative.split("/")[0] not in ignored
        and not entry.is_dir
        and storage_files.is_landing_file(entry.name)
    ]
    return LandingListing(tuple(sorted(files, key=lambda file: file.path)), ignored)


@dataclasses.dataclass(frozen=True)
class LandingCursor:
    """What the landing sensor knows of the files it has taken (see the module docstring)."""

    # Every file of the remembered days, as ``LandedFile.entry``.
    days: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)
    # Files of the other days modified before this were all taken; None: no day is settled (the
    # first tick, or a cursor of the old form, which remembered every file).
    settled_before_ns: int | None = None

    def is_new(self, file: LandedFile) -> bool:
        remembered = self.days.get(file.day)
        if remembered is not None:
            return file.entry not in remembered
        if self.settled_before_ns is None or not self.days or file.day > max(self.days):
            return True  # nothing settled yet, or a day newer than every day taken so far
        return file.modified_ns >= self.settled_before_ns

    def to_json(self) -> str:
        days = {day: sorted(entries) for day, entries in sorted(self.days.items())}
        return json.dumps({"settled_before_ns": self.settled_before_ns, "days": days}, separators=(",", ":"))

    @classmethod
    def from_json(cls, cursor: str | None) -> LandingCursor:
        if not cursor:
            return cls()
        state = json.loads(cursor)
        if isinstance(state, list):
            return cls._from_file_keys(state)
        return cls(
            days={day: frozenset(entries) for day, entries in state["days"].items()},
            settled_before_ns=state["settled_before_ns"],
        )

    @classmethod
    def _from_file_keys(cls, keys: Iterable[str]) -> LandingCursor:
        """A cursor of the old form: the ``LandedFile.key`` of every file seen (before the listing
        named local files as ``file:`` URIs, bare paths). Read as remembered days with nothing
        settled, so an upgrade requests no day again."""
        days: dict[str, set[str]] = {}
        for key in keys:
            path, size, modified_ns = key.rsplit("|", 2)
            day, name = path.rsplit("/", 2)[-2:]
            days.setdefault(day, set()).add(f"{name}|{size}|{modified_ns}")
        return cls(days={day: frozenset(entries) for day, entries in days.items()})


def cursor_after(files: Collection[LandedFile], now_ns: int) -> LandingCursor:
    """The cursor once every file in ``files`` (the listing's files of partition days, listed no
    earlier than ``now_ns``) is taken."""
    settled_before_ns = now_ns - SETTLE_NS
    by_day: dict[str, set[str]] = {}
    for file in files:
        by_day.setdefault(file.day, set()).add(file.entry)
    remembered = set(sorted(by_day)[-RECENT_DAYS:])
    remembered |= {file.day for file in files if file.modified_ns >= settled_before_ns}
    return LandingCursor(
        days={day: frozenset(by_day[day]) for day in remembered}, settled_before_ns=settled_before_ns
    )
