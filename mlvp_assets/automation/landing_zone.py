"""Cheap listing of the landing zone for sensors and schedules: no Spark, one directory listing.

Through :mod:`mlvp_assets.files` (``pyarrow.fs``), so local folders and object stores are listed
with the same calls and the same endpoint settings as the ingestion. A file is identified by its
path, size and modification time, so a file replaced with new content counts as new again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from mlvp_assets import files as storage_files


@dataclasses.dataclass(frozen=True)
class LandedFile:
    day: str  # the landing folder's name, an ISO date
    path: str
    size: int
    modified_ns: int

    @property
    def key(self) -> str:
        """What the sensor cursor remembers: path, size and modification time."""
        return f"{self.path}|{self.size}|{self.modified_ns}"


@dataclasses.dataclass(frozen=True)
class LandingListing:
    files: tuple[LandedFile, ...]
    ignored_folders: tuple[str, ...]  # folders whose name is not an ISO date


def list_landing_files(landing_root: str) -> LandingListing:
    """Every ``<landing_root>/<YYYY-MM-DD>/*.csv`` and ``*.csv.gz``; a missing landing root is an
    empty listing. Other files in a day's folder are the ingestion's to log as ignored."""
    files, ignored = [], []
    for folder in storage_files.list_folder(landing_root) or []:
        if not folder.is_dir:
            continue
        try:
            dt.date.fromisoformat(folder.name)
        except ValueError:
            ignored.append(folder.name)
            continue
        for entry in storage_files.list_folder(folder.path) or []:
            if not entry.is_dir and storage_files.is_landing_file(entry.name):
                files.append(LandedFile(folder.name, entry.path, entry.size, entry.modified_ns))
    return LandingListing(tuple(sorted(files, key=lambda file: file.path)), tuple(sorted(ignored)))
