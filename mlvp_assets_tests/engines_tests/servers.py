"""Spark engines for the engine tests, started from the installed pyspark on 127.0.0.1 and always
stopped: a Spark standalone cluster (one master, one worker with a bare environment). Each runs in
its own process group, which is terminated as a whole (a worker's executors and their Python
workers with it) and then checked with ``pgrep`` (:mod:`mlvp_assets_tests.server_processes`, which
also starts the MLflow tracking server).

The command lines are built here and in :mod:`mlvp_assets_tests.server_processes` and nowhere
else; the README's "Pointing it at a real cluster" shows the same commands
(``test_readme_commands.py`` renders them with the README's values).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shlex
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyspark

from mlvp_assets_tests.server_processes import (
    LOOPBACK,
    Started,
    free_port,
    get_json,
    start,
    stop_groups,
    wait_for,
)

SPARK_HOME = Path(pyspark.__file__).parent


def shell_line(argv: Sequence[str]) -> str:
    """``argv`` as one shell line; ``$VARIABLE`` placeholders stay unquoted so that the README
    can show them."""
    return " ".join(arg if arg.startswith("$") else shlex.quote(arg) for arg in argv)


# --- the command lines -----------------------------------------------------------------------


def master_command(spark_home: str, port: int, webui_port: int) -> list[str]:
    return [
        f"{spark_home}/bin/spark-class",
        "org.apache.spark.deploy.master.Master",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--webui-port",
        str(webui_port),
    ]


def worker_command(
    spark_home: str, master_url: str, webui_port: int, work_dir: str, cores: int, memory: str
) -> list[str]:
    return [
        f"{spark_home}/bin/spark-class",
        "org.apache.spark.deploy.worker.Worker",
        "--host",
        LOOPBACK,
        "--webui-port",
        str(webui_port),
        "--cores",
        str(cores),
        "--memory",
        memory,
        "--work-dir",
        work_dir,
        master_url,
    ]


def bare_worker_environment(spark_home: str, home: str, java_home: str | None) -> dict[str, str]:
    """What a cluster node has: Java and the system's tools, no project virtualenv on PATH and no
    PYSPARK_PYTHON, so executors can only run Python the driver ships."""
    environment = {
        "HOME": home,
        "PATH": "/usr/bin:/bin",
        "SPARK_HOME": spark_home,
        "SPARK_LOCAL_IP": LOOPBACK,
    }
    if java_home:
        environment["JAVA_HOME"] = java_home
    return environment


# --- a standalone cluster --------------------------------------------------------------------


@dataclasses.dataclass
class StandaloneCluster:
    master_url: str
    webui_url: str
    work_dir: Path
    started: list[Started]

    def state(self) -> dict:
        """The master's JSON API (``/json/``): workers, active and completed applications."""
        return get_json(f"{self.webui_url}/json/")

    def application_names(self) -> list[str]:
        state = self.state()
        return [app["name"] for app in (*state.get("activeapps", []), *state.get("completedapps", []))]


@contextlib.contextmanager
def running_standalone_cluster(
    folder: Path, cores: int = 2, memory: str = "4g", timeout: float = 120.0
) -> Iterator[StandaloneCluster]:
    """A master and one worker from the installed pyspark, bound to 127.0.0.1; stopped (and checked
    with ``pgrep``) when the block ends, also when it fails."""
    port, webui_port, worker_webui_port = free_port(), free_port(), free_port()
    master_url, webui_url = f"spark://{LOOPBACK}:{port}", f"http://{LOOPBACK}:{webui_port}"
    work_dir = folder / "work"
    work_dir.mkdir(parents=True, exist_ok=True)
    spark_home = str(SPARK_HOME)
    started: list[Started] = []
    try:
        started.append(
            start(
                "spark master",
                master_command(spark_home, port, webui_port),
                {**os.environ, "SPARK_HOME": spark_home, "SPARK_LOCAL_IP": LOOPBACK},
                folder / "master.log",
            )
        )
        wait_for("the Spark master", lambda: get_json(f"{webui_url}/json/") is not None, timeout, started)
        started.append(
            start(
                "spark worker",
                worker_command(spark_home, master_url, worker_webui_port, str(work_dir), cores, memory),
                bare_worker_environment(spark_home, str(Path.home()), os.environ.get("JAVA_HOME")),
                folder / "worker.log",
                cwd=folder,
            )
        )
        wait_for(
            "the Spark worker",
            lambda: get_json(f"{webui_url}/json/").get("aliveworkers") == 1,
            timeout,
            started,
        )
        yield StandaloneCluster(master_url, webui_url, work_dir, started)
    finally:
        stop_groups(started)
        # Each application's folder holds its JARs and the unpacked environment (about 1 GB).
        shutil.rmtree(work_dir, ignore_errors=True)
