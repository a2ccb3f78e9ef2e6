"""Where everything lands: one storage root, local folder or object-store URI.

Layout under the root::

    landing/<YYYY-MM-DD>/*.csv      files dropped by upstream systems
    warehouse/<table>/              Delta tables (bronze, silver, gold, logs)
    reports/<kind>/<YYYY-MM-DD>.html  HTML reports (data_drift, model_drift)
    dashboard/<YYYY-MM-DD>.html     the daily dashboard, and dashboard/latest.html
    alerts/alerts.jsonl             alerts of the log channel
    mlflow/                         local MLflow backend and artifacts (dev, test)
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dagster as dg
from pyspark.sql import SparkSession

LOCAL_SCHEMES = ("file://",)


class StorageResource(dg.ConfigurableResource):
    """The storage root of an environment and the paths derived from it."""

    root: str

    def _join(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    @property
    def is_local(self) -> bool:
        return is_local_path(self.root)

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

    def dashboard_path(self, page: str) -> str:
        return self._join("dashboard", page)


def is_local_path(path: str) -> bool:
    return "://" not in path or path.startswith(LOCAL_SCHEMES)


def write_text(path: str, text: str, spark: SparkSession | None = None) -> None:
    """Write a text file (a report) under a local or object-store root, replacing it.

    Local paths are written directly; other URIs through Hadoop's FileSystem API of ``spark``,
    which already holds the object store's credentials.
    """
    if is_local_path(path):
        local = Path(path.removeprefix("file://"))
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(text, encoding="utf-8")
        return
    if spark is None:
        raise ValueError(f"writing {path} needs a Spark session (it is not a local path)")
    jvm = spark.sparkContext._jvm  # type: ignore[union-attr]
    target = jvm.org.apache.hadoop.fs.Path(path)
    file_system = target.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())  # type: ignore[union-attr]
    stream = file_system.create(target, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()
