"""The one place that builds a Spark session: Delta Lake extensions, catalog and JARs.

Every Spark session of the project (Dagster runs, tests, the demo, benchmarks) comes from
``build_spark_session`` with a configuration from ``delta_spark_config``. The Delta JARs are
resolved by Spark from Maven (``spark.jars.packages``) on the first start and cached in the Ivy
folder afterwards, which is the normal delta-spark route. Users behind a corporate mirror set
``MLVP_MAVEN_REPOSITORIES`` (comma-separated URLs) and ``MLVP_IVY_DIR``.

There is no fallback to parquet: if Delta cannot be loaded the session fails with an error that
says what to do.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from typing import Any

from dagster_pyspark import LazyPySparkResource
from dagster_pyspark.resources import spark_session_from_config
from pyspark.sql import SparkSession

from mlvp_assets.settings import IVY_DIR, MAVEN_REPOSITORIES

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"


class DeltaUnavailableError(RuntimeError):
    """Spark started (or tried to) without Delta Lake."""


def delta_maven_coordinate() -> str:
    """The Delta JAR matching the installed delta-spark and pyspark, as delta-spark's own
    ``configure_spark_with_delta_pip`` names it (``io.delta:delta-spark_<spark>_<scala>:<v>``)."""
    delta_version = importlib.metadata.version("delta-spark")
    spark_minor = ".".join(importlib.metadata.version("pyspark").split(".")[:2])
    return f"io.delta:delta-spark_{spark_minor}_2.13:{delta_version}"


def delta_spark_config(
    *,
    master: str | None = "local[*]",
    remote: str | None = None,
    shuffle_partitions: int = 8,
    driver_memory: str | None = "4g",
    app_name: str = "mlvp_assets",
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Spark settings for a session with Delta Lake.

    ``master`` is a classic master URL (``local[2]``, ``spark://host:7077``); ``remote`` a Spark
    Connect URL (``sc://host:15002``) whose server must already have Delta installed.
    """
    if bool(master) == bool(remote):
        raise ValueError("delta_spark_config needs exactly one of master= or remote=")
    conf: dict[str, str] = {
        "spark.app.name": app_name,
        "spark.sql.extensions": DELTA_EXTENSION,
        "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        # Delta rebuilds table snapshots with this many tasks; 50 by default is slow locally.
        "spark.databricks.delta.snapshotPartitions": str(shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        # Silver judges each row against ~60 rules in one projection; inferring constraints
        # over that many aliases and predicates exhausts the optimizer (minutes and OOM on a
        # four-row frame, measured), and the inferred filters buy nothing for these scans.
        "spark.sql.constraintPropagation.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }
    if remote:
        conf["spark.remote"] = remote
    elif master:  # exactly one of the two is set (checked above)
        conf["spark.master"] = master
        conf["spark.jars.packages"] = delta_maven_coordinate()
        if repositories := MAVEN_REPOSITORIES.value():
            conf["spark.jars.repositories"] = repositories
        if ivy_dir := IVY_DIR.value():
            conf["spark.jars.ivy"] = ivy_dir
        if driver_memory and master.startswith("local"):
            conf["spark.driver.memory"] = driver_memory
    conf.update(extra or {})
    return conf


def build_spark_session(spark_config: dict[str, Any]) -> SparkSession:
    """Start (or join) the process's Spark session and make sure Delta Lake is loaded."""
    if str(spark_config.get("spark.master", "")).startswith("local"):
        # Local Python workers (mapInPandas) must run this interpreter, the project's virtualenv,
        # not whatever python3 is first on PATH; PySpark reads only the environment for it.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        spark = spark_session_from_config(spark_config)
    except Exception as error:  # the JVM dies before Python sees a useful message
        raise DeltaUnavailableError(_delta_help(spark_config, f"Spark failed to start: {error}")) from error
    _assert_delta_loaded(spark, spark_config)
    return spark


def _assert_delta_loaded(spark: SparkSession, spark_config: dict[str, Any]) -> None:
    if spark.conf.get("spark.sql.catalog.spark_catalog", None) != DELTA_CATALOG:
        raise DeltaUnavailableError(
            _delta_help(
                spark_config,
                "a Spark session without the Delta catalog already runs in this process "
                "(SparkSession.builder.getOrCreate() ignores new static settings)",
            )
        )
    if "spark.remote" in spark_config:
        return  # a Spark Connect client has no JVM to inspect; the server owns the JARs
    try:
        # Packages from spark.jars.packages live in Spark's class loader, not the system one.
        jvm = spark.sparkContext._jvm
        if jvm is None:
            raise RuntimeError("the Spark context has no JVM")
        jvm.org.apache.spark.util.Utils.getContextOrSparkClassLoader().loadClass("io.delta.tables.DeltaTable")
    except Exception as error:
        raise DeltaUnavailableError(
            _delta_help(spark_config, "the Delta classes are not on the classpath")
        ) from error


def _delta_help(spark_config: dict[str, Any], reason: str) -> str:
    package = spark_config.get("spark.jars.packages", delta_maven_coordinate())
    return (
        f"Delta Lake is not available: {reason}. This project writes Delta tables only. "
        f"Spark resolves {package} from Maven Central on its first start and caches it; "
        f"check that Maven is reachable, or set {MAVEN_REPOSITORIES.name}=<your mirror URL> and "
        f"{IVY_DIR.name}=<a writable cache folder>, or build the session only through "
        "mlvp_assets.resources.spark.build_spark_session."
    )


class DeltaSparkResource(LazyPySparkResource):
    """dagster-pyspark's lazy session resource, started through ``build_spark_session``.

    Lazy, so sensors, schedules and steps that never touch Spark do not start a JVM. Cloud
    credentials are separate fields so that production passes them as ``dg.EnvVar``.
    """

    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_endpoint: str | None = None

    def _init_session(self) -> None:
        if self._spark_session is None:
            self._spark_session = build_spark_session({**self.spark_config, **self._credential_config()})

    def _credential_config(self) -> dict[str, str]:
        settings = {
            "spark.hadoop.fs.s3a.access.key": self.s3_access_key,
            "spark.hadoop.fs.s3a.secret.key": self.s3_secret_key,
            "spark.hadoop.fs.s3a.endpoint": self.s3_endpoint,
        }
        return {key: value for key, value in settings.items() if value}
