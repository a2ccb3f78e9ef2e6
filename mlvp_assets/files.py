"""File access under the storage root, for local folders and object stores alike, without Spark.

Everything that lists, reads or writes a file by path (the bronze ingestion, its parser on the
executors, the landing sensor and schedule, reports and the dashboard) goes through this module,
which uses ``pyarrow.fs``: one API for local paths and S3-compatible stores, no JVM, so it works
from a sensor, a Spark Connect client or a Python worker alike.

Paths are the URIs Spark uses for the same files: a local file is ``file:/abs/path`` (as
Hadoop's ``Path.toString()`` prints it, which the ingestion log has always recorded) and an
object is ``s3a://bucket/key``. ``s3://`` and ``s3a://`` are read with pyarrow's S3 client,
pointed at ``MLVP_S3_ENDPOINT`` when that is set (an S3-compatible store such as moto or MinIO;
``http://`` endpoints are reached over plain HTTP), with credentials from the usual AWS variables.

It also says what names a landing file and a landing day (``is_landing_file``, ``landing_day``,
``landing_folder_ignored_reason``): the landing sensor and the bronze ingestion apply the same rule.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import os
import re
import stat
from collections.abc import Iterator
from typing import BinaryIO

from pyarrow import fs

from mlvp_assets.settings import S3_ENDPOINT

OBJECT_STORE_SCHEMES = ("s3://", "s3a://")
_LOCAL_SCHEMES = ("file://", "file:")
_HASH_CHUNK_BYTES = 1 << 20

# Files the landing zone takes (gzip is decompressed while parsing); anything else in a landing
# folder is logged as ignored by the ingestion and left alone by the sensor and schedule.
LANDING_SUFFIXES = (".csv", ".csv.gz")


# A landing day's folder name: digits only, dashes where ISO puts them (``re.ASCII``: no other
# script's digits). ``date.fromisoformat`` alone also takes ``20260101`` and ``2026-W01-1``.
_LANDING_DAY_NAME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def is_landing_file(name: str) -> bool:
    return name.endswith(LANDING_SUFFIXES)


def landing_day(name: str) -> dt.date | None:
    """The landing day a folder named ``name`` holds, or None: only ``YYYY-MM-DD`` names a day."""
    if not _LANDING_DAY_NAME.fullmatch(name):
        return None
    try:
        return dt.date.fromisoformat(name)
    except ValueError:  # 2026-13-01, 2026-02-30
        return None


@dataclasses.dataclass(frozen=True)
class FileEntry:
    """One entry of a folder listing."""

    path: str  # a URI in the form Spark uses (see the module docstring)
    name: str
    size: int
    modified_ns: int
    is_dir: bool = False
    # A symbolic link (local folders only); its size and time are the link's own, never its
    # target's, and nothing here follows it: its target may lie outside the storage root.
    is_symlink: bool = False


def is_local_path(path: str) -> bool:
    """True for a plain path or a ``file:`` URI, False for an object-store URI."""
    return "://" not in path or path.startswith(_LOCAL_SCHEMES)


def local_path(path: str) -> str:
    """The absolute local path of a plain path or ``file:`` URI (``file:///x``, ``file:/x``)."""
    if path.startswith("file://"):
        path = path.removeprefix("file://")
    elif path.startswith("file:"):
        path = path.removeprefix("file:")
    return os.path.abspath(path)


def _s3_filesystem() -> fs.S3FileSystem:
    endpoint = S3_ENDPOINT.value()
    if not endpoint:
        return fs.S3FileSystem()
    scheme = "http" if endpoint.startswith("http://") else "https"
    host = endpoint.removeprefix("http://").removeprefix("https://").rstrip("/")
    # S3-compatible servers are addressed by path (bucket in the path, not in the host name).
    return fs.S3FileSystem(endpoint_override=host, scheme=scheme, force_virtual_addressing=False)


def resolve(uri: str) -> tuple[fs.FileSystem, str]:
    """The pyarrow file system of ``uri`` and the path to give it."""
    if is_local_path(uri):
        return fs.LocalFileSystem(), local_path(uri)
    for scheme in OBJECT_STORE_SCHEMES:
        if uri.startswith(scheme):
            return _s3_filesystem(), uri.removeprefix(scheme)
    filesystem, path = fs.FileSystem.from_uri(uri)
    return filesystem, path


def _as_uri(base_uri: str, filesystem_path: str) -> str:
    """Turn a path pyarrow returned back into the URI form of ``base_uri``."""
    if is_local_path(base_uri):
        return "file:" + filesystem_path
    scheme = base_uri.split("://", 1)[0]
    return f"{scheme}://{filesystem_path}"


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


def exists(uri: str) -> bool:
    filesystem, path = resolve(uri)
    return filesystem.get_file_info(path).type != fs.FileType.NotFound


def is_symlink(uri: str) -> bool:
    """Whether ``uri`` is a local symbolic link (an object store has none)."""
    return is_local_path(uri) and os.path.islink(local_path(uri))


def landing_folder_ignored_reason(entry: FileEntry) -> str | None:
    """Why an entry of the landing root holds no landing day, or None when it does (a real folder
    named ``YYYY-MM-DD``). The one rule the landing sensor and the bronze ingestion both apply."""
    if entry.is_symlink:
        return (
            f"{entry.name} is a symbolic link; a landing day must be a folder of the landing root "
            "(a link is not followed: it may point outside the storage root)"
        )
    if not entry.is_dir:
        return f"{entry.name} is not a folder; landing files must sit in a day's folder (landing/YYYY-MM-DD/)"
    if landing_day(entry.name) is None:
        return f"{entry.name} is not a landing day; a day's folder is named YYYY-MM-DD"
    return None


def entry_of(uri: str) -> FileEntry | None:
    """``uri`` itself as its folder's listing shows it (a local link as itself, never followed);
    None if it does not exist."""
    filesystem, path = resolve(uri)
    if isinstance(filesystem, fs.LocalFileSystem):
        found = _local_entries(uri, [path])
        return found[0] if found else None
    info = filesystem.get_file_info(path)
    return None if info.type == fs.FileType.NotFound else _stored_entry(uri, info)


def _link_entry(uri: str, path: str) -> FileEntry:
    """A symbolic link as itself (``lstat``), without touching its target."""
    status = os.lstat(path)
    return FileEntry(
        path=_as_uri(uri, path),
        name=os.path.basename(path),
        size=status.st_size,
        modified_ns=status.st_mtime_ns,
        is_symlink=True,
    )


def list_folder(uri: str) -> list[FileEntry] | None:
    """The entries directly inside folder ``uri``, sorted by path; None if it does not exist.

    A local symbolic link is listed as itself (``is_symlink``, a dangling one too), not as what
    it points to: pyarrow would follow it, and leave out a link whose target is missing.
    """
    filesystem, path = resolve(uri)
    info = filesystem.get_file_info(path)
    if info.type == fs.FileType.NotFound:
        return None
    if info.type != fs.FileType.Directory:
        raise NotADirectoryError(f"{uri} is not a folder")
    if isinstance(filesystem, fs.LocalFileSystem):
        return _local_entries(uri, [os.path.join(path, name) for name in os.listdir(path)])
    entries = [_stored_entry(uri, info) for info in filesystem.get_file_info(fs.FileSelector(path))]
    return sorted(entries, key=lambda entry: entry.path)


def _stored_entry(uri: str, info: fs.FileInfo) -> FileEntry:
    """An object store's entry, as pyarrow listed it under ``uri``."""
    return FileEntry(
        path=_as_uri(uri, info.path),
        name=info.base_name,
        size=int(info.size or 0),
        modified_ns=int(info.mtime_ns or 0),
        is_dir=info.type == fs.FileType.Directory,
    )


def _local_entries(uri: str, paths: list[str]) -> list[FileEntry]:
    """Local entries with symbolic links listed as themselves, sorted by path."""
    entries = []
    for path in paths:
        try:
            if os.path.islink(path):
                entries.append(_link_entry(uri, path))
                continue
            status = os.stat(path)
        except FileNotFoundError:  # removed since it was listed
            continue
        is_dir = stat.S_ISDIR(status.st_mode)
        entries.append(
            FileEntry(
                path=_as_uri(uri, path),
                name=os.path.basename(path),
                size=0 if is_dir else status.st_size,
                modified_ns=status.st_mtime_ns,
                is_dir=is_dir,
            )
        )
    return sorted(entries, key=lambda entry: entry.path)


def list_tree(uri: str) -> list[tuple[str, FileEntry]]:
    """Everything under folder ``uri`` at any depth, in one recursive listing (on an object store,
    a request per 1,000 keys rather than one per folder), as (path relative to ``uri``, entry)
    sorted by path; empty if the folder does not exist.

    A local symbolic link is listed as itself and never descended into (pyarrow would follow a
    link to ``/`` through the whole disk, and a link to a parent folder 40 levels deep)."""
    filesystem, path = resolve(uri)
    root = path.rstrip("/")
    if isinstance(filesystem, fs.LocalFileSystem):
        if not os.path.isdir(root):
            return []
        paths: list[str] = []
        for folder, folders, names in os.walk(root):  # os.walk does not follow links to folders
            paths.extend(os.path.join(folder, name) for name in [*folders, *names])
        return [
            (local_path(entry.path)[len(root) :].strip("/"), entry) for entry in _local_entries(uri, paths)
        ]
    found = [
        (info.path[len(root) :].strip("/"), _stored_entry(uri, info))
        for info in filesystem.get_file_info(fs.FileSelector(root, allow_not_found=True, recursive=True))
    ]
    return sorted(found, key=lambda item: item[1].path)


class NotARegularFileError(OSError):
    """A local path that names a FIFO, socket, device or folder where a file was expected."""


_FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))


def _open_local_file(path: str) -> BinaryIO:
    # Non-blocking: opening a FIFO for reading would otherwise wait for a writer, for ever. The
    # kind is checked on the opened descriptor, so nothing can swap the file in between.
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for is_kind, name in _FILE_KINDS if is_kind(mode)), "a device")
            raise NotARegularFileError(f"{kind}, not a regular file")
        os.set_blocking(descriptor, True)
        return open(descriptor, "rb", buffering=_HASH_CHUNK_BYTES)
    except BaseException:
        os.close(descriptor)
        raise


def open_input(uri: str) -> BinaryIO:
    """A buffered binary stream of the file's bytes as stored (no decompression), readable line
    by line; close it after use. A local path that is not a regular file raises
    :class:`NotARegularFileError` (an ``OSError``) instead of being read."""
    filesystem, path = resolve(uri)
    if isinstance(filesystem, fs.LocalFileSystem):
        return _open_local_file(path)
    # pyarrow's streams have no readline; io's buffer adds it without reading the file whole.
    return io.BufferedReader(
        filesystem.open_input_stream(path, compression=None), buffer_size=_HASH_CHUNK_BYTES
    )


def read_bytes(uri: str) -> bytes:
    with open_input(uri) as stream:
        return stream.read()


def iter_chunks(uri: str, chunk_bytes: int = _HASH_CHUNK_BYTES) -> Iterator[bytes]:
    with open_input(uri) as stream:
        while chunk := stream.read(chunk_bytes):
            yield chunk


def content_sha256(uri: str) -> str:
    """SHA-256 of the file's stored bytes, read in chunks (a large file is never held whole)."""
    digest = hashlib.sha256()
    for chunk in iter_chunks(uri):
        digest.update(chunk)
    return digest.hexdigest()


def copy_tree(source: str, destination: str) -> None:
    """Copy the folder ``source`` with everything in it to ``destination`` (created; local or
    object store on either side), file by file as stored."""
    source_fs, source_path = resolve(source)
    destination_fs, destination_path = resolve(destination)
    if isinstance(destination_fs, fs.LocalFileSystem):
        os.makedirs(destination_path, exist_ok=True)
    fs.copy_files(
        source_path, destination_path, source_filesystem=source_fs, destination_filesystem=destination_fs
    )


def delete_tree(uri: str) -> None:
    """Delete the folder ``uri`` and everything in it; nothing happens if it does not exist."""
    filesystem, path = resolve(uri)
    if filesystem.get_file_info(path).type != fs.FileType.NotFound:
        filesystem.delete_dir(path)


def write_text(uri: str, text: str) -> None:
    """Write a text file (UTF-8), replacing it; local parent folders are created."""
    filesystem, path = resolve(uri)
    if isinstance(filesystem, fs.LocalFileSystem):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with filesystem.open_output_stream(path) as stream:
        stream.write(text.encode("utf-8"))
