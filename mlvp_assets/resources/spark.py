"""The one place that builds a Spark session: Delta Lake extensions, catalog and JARs.

Every Spark session of the project (Dagster runs, tests, the demo, benchmarks) comes from
``build_spark_session`` with a configuration from ``delta_spark_config``. The Delta JARs are
resolved by Spark from Maven (``spark.jars.packages``) on the first start and cached in the Ivy
folder afterwards, which is the normal delta-spark route. Users behind a corporate mirror set
``MLVP_MAVEN_REPOSITORIES`` (comma-separated URLs) and ``MLVP_IVY_DIR``.

There is no fallback to parquet: if Delta cannot be loaded the session fails with an error that
says what to do.

On a cluster, two more things travel with the session. An ``s3a://`` storage root adds the
``hadoop-aws`` JAR that matches the Hadoop bundled with pyspark to the packages (it brings the AWS
SDK bundle, about 690 MB on the first start), and the endpoint, path-style access and credentials
to the Hadoop settings and the executors' environment (the landing-file parser reads with
pyarrow there). A classic master that is not local gets the executors' Python environment
(:mod:`mlvp_assets.resources.executor_env`) through ``spark.archives``, unless
``MLVP_SHIP_PYTHON_ENV=false``.
"""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path
from typing import Any

import pyspark
from dagster_pyspark import LazyPySparkResource
from dagster_pyspark.resources import spark_session_from_config
from pyspark.sql import SparkSession

from mlvp_assets.resources.executor_env import EXECUTOR_PYTHON, packed_executor_environment
from mlvp_assets.settings import (
    AWS_ACCESS_KEY_ID,
    AWS_REGION,
    AWS_SECRET_ACCESS_KEY,
    IVY_DIR,
    MAVEN_REPOSITORIES,
    PYSPARK_PYTHON,
    S3_ENDPOINT,
)

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


class DeltaUnavailableError(RuntimeError):
    """Spark started (or tried to) without Delta Lake."""


def delta_maven_coordinate() -> str:
    """The Delta JAR matching the installed delta-spark and pyspark, as delta-spark's own
    ``configure_spark_with_delta_pip`` names it (``io.delta:delta-spark_<spark>_<scala>:<v>``)."""
    delta_version = importlib.metadata.version("delta-spark")
    spark_minor = ".".join(importlib.metadata.version("pyspark").split(".")[:2])
    return f"io.delta:delta-spark_{spark_minor}_2.13:{delta_version}"


def bundled_hadoop_version() -> str:
    """The Hadoop version pyspark ships (the version of its ``hadoop-client-api`` JAR)."""
    jars = Path(pyspark.__file__).parent / "jars"
    found = sorted(jars.glob("hadoop-client-api-*.jar"))
    if not found:
        raise FileNotFoundError(f"no hadoop-client-api JAR in {jars}: cannot tell pyspark's Hadoop version")
    return found[-1].name.removeprefix("hadoop-client-api-").removesuffix(".jar")


def hadoop_aws_maven_coordinate() -> str:
    """The S3A connector of the Hadoop that pyspark bundles: the two must be the same version."""
    return f"org.apache.hadoop:hadoop-aws:{bundled_hadoop_version()}"


def delta_spark_config(
    *,
    master: str | None = "local[*]",
    remote: str | None = None,
    shuffle_partitions: int = 8,
    driver_memory: str | None = "4g",
    app_name: str = "mlvp_assets",
    object_store: bool = False,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Spark settings for a session with Delta Lake.

    ``master`` is a classic master URL (``local[2]``, ``spark://host:7077``); ``remote`` a Spark
    Connect URL (``sc://host:15002``) whose server must already have Delta installed (and
    hadoop-aws for an object store). ``object_store``: the storage root is ``s3a://``, so a classic
    session also resolves the S3A connector.
    """
    if bool(master) == bool(remote):
        raise ValueError("delta_spark_config needs exactly one of master= or remote=")
    conf: dict[str, str] = {
        "spark.app.name": app_name,
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        # Delta rebuilds a table's state from its log, on every snapshot, as a shuffle into this
        # many partitions (50 by default). On a local master the logs are small and one partition
        # is cheapest: the bronze step of day 30 of a dev history went from 28.5 to 23.6 s with 8
        # -> 1 (measured); a cluster keeps one per shuffle partition.
        "spark.databricks.delta.snapshotPartitions": (
            "1" if master and master.startswith("local") else str(shuffle_partitions)
        ),
        "spark.sql.session.timeZone": "UTC",
        # Silver judges each row against ~60 rules in one projection; inferring constraints
        # over that many aliases and predicates exhausts the optimizer (minutes and OOM on a
        # four-row frame, measured), and the inferred filters buy nothing for these scans.
        "spark.sql.constraintPropagation.enabled": "false",
    }
    if remote:
        # Delta's extension and catalog are static settings of the Connect server (its start
        # command, in the README): a client cannot set them, and sending them would hide a server
        # without Delta from the check in build_spark_session.
        conf["spark.remote"] = remote
    elif master:  # exactly one of the two is set (checked above)
        conf["spark.master"] = master
        conf["spark.sql.extensions"] = DELTA_EXTENSION
        conf["spark.sql.catalog.spark_catalog"] = DELTA_CATALOG
        conf["spark.ui.showConsoleProgress"] = "false"
        packages = [delta_maven_coordinate(), *([hadoop_aws_maven_coordinate()] if object_store else [])]
        conf["spark.jars.packages"] = ",".join(packages)
        if object_store:
            # Hadoop 3.5 reads through the analytics-accelerator stream by default, which keeps an
            # entry per object read until the file system closes (HADOOP-20058), for the life of a
            # long-running driver; the classic stream is the one Spark and Delta were tested with.
            conf["spark.hadoop.fs.s3a.input.stream.type"] = "classic"
        if repositories := MAVEN_REPOSITORIES.value():
            conf["spark.jars.repositories"] = repositories
        if ivy_dir := IVY_DIR.value():
            conf["spark.jars.ivy"] = ivy_dir
        if driver_memory and master.startswith("local"):
            conf["spark.driver.memory"] = driver_memory
    conf.update(extra or {})
    return conf


def build_spark_session(spark_config: dict[str, Any], ship_python_env: bool = False) -> SparkSession:
    """Start (or join) the process's Spark session and make sure Delta Lake is loaded.

    ``ship_python_env``: on a classic master that is not local, ship the executors' Python
    environment (:func:`with_shipped_python_env`).
    """
    master = str(spark_config.get("spark.master", ""))
    if master.startswith("local"):
        # Local Python workers (mapInPandas) must run this interpreter, the project's virtualenv,
        # not whatever python3 is first on PATH; PySpark reads only the environment for it.
        if not PYSPARK_PYTHON.is_set():
            PYSPARK_PYTHON.export(sys.executable)
    elif master and ship_python_env:
        spark_config = with_shipped_python_env(spark_config)
    try:
        spark = spark_session_from_config(spark_config)
    except Exception as error:  # the JVM dies before Python sees a useful message
        raise DeltaUnavailableError(_delta_help(spark_config, f"Spark failed to start: {error}")) from error
    _assert_delta_loaded(spark, spark_config)
    return spark


def is_spark_connect(spark: SparkSession) -> bool:
    """True for a Spark Connect client session, which has no JVM and no ``SparkContext`` here."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def with_shipped_python_env(spark_config: dict[str, Any]) -> dict[str, Any]:
    """``spark_config`` with the packed executor environment added to ``spark.archives``, and
    ``PYSPARK_PYTHON`` pointed at it, as Spark's Python package management documents: executors
    unpack the archive as ``./environment`` and run ``./environment/bin/python``. PySpark reads
    the executors' Python from this process's environment when the session starts."""
    packed = packed_executor_environment()
    archives = [entry for entry in str(spark_config.get("spark.archives", "")).split(",") if entry]
    PYSPARK_PYTHON.export(EXECUTOR_PYTHON)
    return {**spark_config, "spark.archives": ",".join([*archives, packed.spark_archive])}


def _assert_delta_loaded(spark: SparkSession, spark_config: dict[str, Any]) -> None:
    if "spark.remote" in spark_config:
        _assert_connect_server_has_delta(spark, spark_config["spark.remote"])
        return
    if spark.conf.get("spark.sql.catalog.spark_catalog", None) != DELTA_CATALOG:
        raise DeltaUnavailableError(
            _delta_help(
                spark_config,
                "a Spark session without the Delta catalog already runs in this process "
                "(SparkSession.builder.getOrCreate() ignores new static settings)",
            )
        )
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


def _assert_connect_server_has_delta(spark: SparkSession, remote: str) -> None:
    """A Spark Connect client has no JVM to inspect: ask the server for the static settings it was
    started with (the client sends neither), which the first Delta statement would need."""
    extensions = spark.conf.get("spark.sql.extensions", None) or ""
    catalog = spark.conf.get("spark.sql.catalog.spark_catalog", None)
    if DELTA_EXTENSION not in extensions.split(",") or catalog != DELTA_CATALOG:
        raise DeltaUnavailableError(
            f"Delta Lake is not available: the Spark Connect server at {remote} runs without "
            f"Delta (spark.sql.extensions={extensions!r}, spark.sql.catalog.spark_catalog={catalog!r}). "
            "This project writes Delta tables only; start the server with Delta, as the README's "
            f"Spark Connect section shows: spark-submit --class {CONNECT_SERVER_CLASS} "
            f"--packages {delta_maven_coordinate()} --conf spark.sql.extensions={DELTA_EXTENSION} "
            f"--conf spark.sql.catalog.spark_catalog={DELTA_CATALOG}"
        )


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
    s3_region: str | None = None
    ship_python_env: bool = False

    def _init_session(self) -> None:
        if self._spark_session is None:
            self._spark_session = build_spark_session(
                {**self.spark_config, **self._object_store_config()}, ship_python_env=self.ship_python_env
            )

    def _object_store_config(self) -> dict[str, str]:
        """S3A's settings for Spark's own reads and writes, and the same endpoint and credentials
        in the executors' environment, where the landing-file parser reads with pyarrow."""
        region = self.s3_region or ("us-east-1" if self.s3_endpoint else None)
        settings = {
            "spark.hadoop.fs.s3a.access.key": self.s3_access_key,
            "spark.hadoop.fs.s3a.secret.key": self.s3_secret_key,
            f"spark.executorEnv.{AWS_ACCESS_KEY_ID.name}": self.s3_access_key,
            f"spark.executorEnv.{AWS_SECRET_ACCESS_KEY.name}": self.s3_secret_key,
            f"spark.executorEnv.{AWS_REGION.name}": region,
        }
        if self.s3_endpoint:
            # An S3-compatible store: buckets in the path, plain HTTP when the URL says http://,
            # and a region for request signing (any name does).
            settings |= {
                "spark.hadoop.fs.s3a.endpoint": self.s3_endpoint,
                "spark.hadoop.fs.s3a.endpoint.region": region,
                "spark.hadoop.fs.s3a.path.style.access": "true",
                "spark.hadoop.fs.s3a.connection.ssl.enabled": str(
                    self.s3_endpoint.startswith("https://")
                ).lower(),
                f"spark.executorEnv.{S3_ENDPOINT.name}": self.s3_endpoint,
            }
        return {key: value for key, value in settings.items() if value}
