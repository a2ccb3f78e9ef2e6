"""Cheap listing of the landing zone for sensors and schedules: no Spark, one directory listing.

``pyarrow.fs`` reads local folders and object stores (``s3://``; Hadoop's ``s3a://`` is read as
``s3://``) with the same calls. A file is identified by its path, size and modification time, so
a file replaced with new content counts as new again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os

from pyarrow import fs

LANDING_SUFFIX = ".csv"


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


def _filesystem(root: str) -> tuple[fs.FileSystem, str]:
    if "://" not in root:
        return fs.LocalFileSystem(), os.path.abspath(root)
    uri = "s3://" + root.removeprefix("s3a://") if root.startswith("s3a://") else root
    return fs.FileSystem.from_uri(uri)


def list_landing_files(landing_root: str) -> LandingListing:
    """Every ``<landing_root>/<YYYY-MM-DD>/*.csv``; a missing landing root is an empty listing."""
    filesystem, base = _filesystem(landing_root)
    if filesystem.get_file_info(base).type == fs.FileType.NotFound:
        return LandingListing((), ())
    files, ignored = [], []
    for folder in filesystem.get_file_info(fs.FileSelector(base)):
        if folder.type != fs.FileType.Directory:
            continue
        try:
            dt.date.fromisoformat(folder.base_name)
        except ValueError:
            ignored.append(folder.base_name)
            continue
        for entry in filesystem.get_file_info(fs.FileSelector(folder.path)):
            if entry.type == fs.FileType.File and entry.base_name.endswith(LANDING_SUFFIX):
                files.append(LandedFile(folder.base_name, entry.path, int(entry.size), int(entry.mtime_ns or 0)))
    return LandingListing(tuple(sorted(files, key=lambda file: file.path)), tuple(sorted(ignored)))
