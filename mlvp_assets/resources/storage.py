"""Where everything lands: one storage root, local folder or object-store URI (file access
itself is :mod:`mlvp_assets.files`).

Layout under the root::

    landing/<YYYY-MM-DD>/*.csv[.gz] files dropped by upstream systems
    warehouse/<table>/              Delta tables (bronze, silver, gold, logs)
    reports/<kind>/<YYYY-MM-DD>.html  HTML reports (data_drift, model_drift)
    dashboard/<YYYY-MM-DD>.html     the daily dashboard, and dashboard/latest.html
    alerts/alerts.jsonl             alerts of the log channel
    mlflow/                         local MLflow backend and artifacts (dev, test)
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from mlvp_assets import files


class StorageResource(dg.ConfigurableResource):
    """The storage root of an environment and the paths derived from it."""

    root: str

    def _join(self, *parts: str) -> str:
        return files.join(self.root, *parts)

    @property
    def is_local(self) -> bool:
        return files.is_local_path(self.root)

    @property
    def local_root(self) -> str:
        """The root as a local absolute path; fails for object-store roots."""
        if not self.is_local:
            raise ValueError(f"storage root {self.root!r} is not a local folder")
        return files.local_path(self.root)

    @property
    def landing_root(self) -> str:
        return self._join("landing")

    def landing_dir(self, day: dt.date | str) -> str:
        return self._join("landing", str(day))

    def table_path(self, table: str) -> str:
        return self._join("warehouse", table)

    def report_path(self, *parts: str) -> str:
        return self._join("reports", *parts)

    def dashboard_path(self, page: str) -> str:
        return self._join("dashboard", page)
