"""A Spark Connect server with Delta Lake, started from the installed pyspark on 127.0.0.1 and
always stopped (its process group, checked with ``pgrep``, as :mod:`.servers` does for the cluster).

The server is ``spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer``
(the Connect server ships in pyspark's own JARs since Spark 4) with Delta's JAR from Maven and
Delta's SQL extension and catalog. It runs the Python of the project's virtualenv for its Python
workers (``PYSPARK_PYTHON``): the landing-file parser runs there through ``mapInPandas``, so the
server's environment must have the project installed (the README says so).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from mlvp_assets.resources.spark import (
    CONNECT_SERVER_CLASS,
    DELTA_CATALOG,
    DELTA_EXTENSION,
    delta_maven_coordinate,
)
from mlvp_assets_tests.engines_tests.servers import SPARK_HOME
from mlvp_assets_tests.server_processes import (
    LOOPBACK,
    Started,
    free_port,
    start,
    stop_groups,
    wait_for,
)


def connect_server_command(
    spark_home: str, port: int | str, delta_package: str, master: str = "local[2]", driver_memory: str = "2g"
) -> list[str]:
    """The server's command line: Delta from Maven, its extension and catalog, gRPC on 127.0.0.1."""
    return [
        f"{spark_home}/bin/spark-submit",
        "--class",
        CONNECT_SERVER_CLASS,
        "--master",
        master,
        "--driver-memory",
        driver_memory,
        "--packages",
        delta_package,
        "--conf",
        f"spark.sql.extensions={DELTA_EXTENSION}",
        "--conf",
        f"spark.sql.catalog.spark_catalog={DELTA_CATALOG}",
        "--conf",
        f"spark.connect.grpc.binding.address={LOOPBACK}",
        "--conf",
        f"spark.connect.grpc.binding.port={port}",
        "--conf",
        "spark.ui.enabled=false",
    ]


def connect_server_environment(python: str) -> dict[str, str]:
    """Bound to 127.0.0.1 (Spark would take the external interface) and running ``python``, an
    environment with the project installed, for its Python workers."""
    return {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": LOOPBACK, "PYSPARK_PYTHON": python}


def _accepts(port: int) -> bool:
    with socket.create_connection((LOOPBACK, port), timeout=2):
        return True


@dataclasses.dataclass
class ConnectServer:
    url: str  # sc://127.0.0.1:<port>, what MLVP_SPARK_REMOTE names
    started: Started


@contextlib.contextmanager
def running_connect_server(folder: Path, timeout: float = 300.0) -> Iterator[ConnectServer]:
    """The server on a free port; stopped, with everything it started, when the block ends (also
    when it fails). The first start downloads Delta's JARs into the Ivy cache."""
    port = free_port()
    command = connect_server_command(str(SPARK_HOME), port, delta_maven_coordinate())
    started = [
        start(
            "spark connect server",
            command,
            connect_server_environment(sys.executable),
            folder / "connect-server.log",
            cwd=folder,
        )
    ]
    try:
        wait_for("the Spark Connect server", lambda: _accepts(port), timeout, started)
        yield ConnectServer(f"sc://{LOOPBACK}:{port}", started[0])
    finally:
        stop_groups(started)
