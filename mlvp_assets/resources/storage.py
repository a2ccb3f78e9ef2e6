"""Where everything lands: one storage root, local folder or object-store URI.

Layout under the root::

    landing/<YYYY-MM-DD>/*.csv      files dropped by upstream systems
    warehouse/<table>/              Delta tables (bronze, silver, gold, logs)
    reports/                        HTML reports
    mlflow/                         local MLflow backend and artifacts (dev, test)
"""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg

LOCAL_SCHEMES = ("file://",)


class StorageResource(dg.ConfigurableResource):
    """The storage root of an environment and the paths derived from it."""

    root: str

    def _join(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    @property
    def is_local(self) -> bool:
        return "://" not in self.root or self.root.startswith(LOCAL_SCHEMES)

    @property
    def local_root(self) -> str:
        """The root as a local absolute path; fails for object-store roots."""
        if not self.is_local:
            raise ValueError(f"storage root {self.root!r} is not a local folder")
        return os.path.abspath(self.root.removeprefix("file://"))

    @property
    def landing_root(self) -> str:
        return self._join("landing")

    def landing_dir(self, day: dt.date | str) -> str:
        return self._join("landing", str(day))

    def table_path(self, table: str) -> str:
        return self._join("warehouse", table)

    def report_path(self, *parts: str) -> str:
        return self._join("reports", *parts)
