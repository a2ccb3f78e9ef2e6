"""Small landing drops for the sensor and schedule tests: real files under ``<root>/landing``."""

from __future__ import annotations

import os
from pathlib import Path

CSV = "id,price\n1,100\n"
# A fixed modification time (2026-01-02T00:00Z), so a test can tell a rewrite by it alone.
FIXED_MTIME_NS = 1_767_312_000 * 1_000_000_000


def drop(
    root: Path, day: str, name: str = "listings_part1.csv", text: str = CSV, mtime_ns: int = FIXED_MTIME_NS
) -> Path:
    """Write ``<root>/landing/<day>/<name>`` with ``text`` and a known modification time."""
    path = root / "landing" / day / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def uri(path: Path) -> str:
    """How the listing (and the ingestion log) name a local file: Spark's ``file:`` URI."""
    return f"file:{path}"
