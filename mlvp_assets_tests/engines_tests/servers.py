"""Real engines for the engine tests, started from the installed packages on 127.0.0.1 and always
stopped: a Spark standalone cluster (one master, one worker with a bare environment) and an MLflow
tracking server. Each runs in its own process group, which is terminated as a whole (a worker's
executors and their Python workers with it) and then checked with ``pgrep``: a test that leaves
a process behind fails.

The command lines are built here and nowhere else; the README's "Pointing it at a real cluster"
shows the same commands (``test_readme_commands.py`` renders them with the README's values).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pyspark

LOOPBACK = "127.0.0.1"
SPARK_HOME = Path(pyspark.__file__).parent
BIN = Path(sys.executable).parent  # the project's virtualenv


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


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


def mlflow_server_command(
    mlflow: str, port: int, backend_store_uri: str, artifacts_destination: str
) -> list[str]:
    return [
        mlflow,
        "server",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        backend_store_uri,
        "--artifacts-destination",
        artifacts_destination,
    ]


# --- process groups --------------------------------------------------------------------------


@dataclasses.dataclass
class Started:
    name: str
    process: subprocess.Popen
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start(
    name: str, argv: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path | None = None
) -> Started:
    """Start ``argv`` in a new process group (a session of its own), output to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as output:
        process = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Started(name, process, log)


def group_members(pgid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True, check=False)
    return [int(pid) for pid in found.stdout.split()]


def _is_zombie(pid: int) -> bool:
    """Whether ``pid`` has ended and only waits to be reaped (state ``Z`` in /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # gone since it was listed
    return stat[stat.rindex(")") + 2 :].startswith("Z")


def running_members(pgid: int) -> list[int]:
    """The group's members that still run. A killed server's JVM is re-parented to init, which
    reaps it when it gets to it (this machine's init has been seen to take seconds under load);
    until then it is a zombie, ended and holding nothing but its process id."""
    return [pid for pid in group_members(pgid) if not _is_zombie(pid)]


def stop_groups(started: Sequence[Started], timeout: float = 30.0) -> None:
    """SIGTERM every group, SIGKILL what is left after ``timeout``; fails if ``pgrep`` still finds
    a member of any group."""
    for item in reversed(started):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(item.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for item in started:
        # Reap the group's leader as it ends (a zombie still counts as a member); its children
        # go to init, which reaps them.
        while (
            item.process.poll() is None or group_members(item.process.pid)
        ) and time.monotonic() < deadline:
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(item.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            item.process.wait(timeout=10)
    # SIGKILL is delivered asynchronously: give the kernel a moment to end what it was sent to.
    settle = time.monotonic() + 10
    while any(running_members(item.process.pid) for item in started) and time.monotonic() < settle:
        time.sleep(0.2)
    left = {item.name: running_members(item.process.pid) for item in started}
    left = {name: pids for name, pids in left.items() if pids}
    if left:
        raise AssertionError(f"processes left behind after stopping: {left}")


def wait_for(what: str, ready, timeout: float, watched: Sequence[Started]) -> None:
    deadline = time.monotonic() + timeout
    while True:
        for item in watched:
            if item.process.poll() is not None:
                raise RuntimeError(f"{item.name} exited with {item.process.returncode}:\n{item.log_tail()}")
        with contextlib.suppress(OSError, ValueError):
            if ready():
                return
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {item.name}\n{item.log_tail()}" for item in watched)
            raise TimeoutError(f"{what} not ready within {timeout} s\n{tails}")
        time.sleep(0.5)


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


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


# --- an MLflow tracking server ---------------------------------------------------------------


@dataclasses.dataclass
class MlflowServer:
    tracking_uri: str
    started: Started


@contextlib.contextmanager
def running_mlflow_server(
    folder: Path, artifacts_destination: str, env: Mapping[str, str] | None = None, timeout: float = 120.0
) -> Iterator[MlflowServer]:
    """``mlflow server`` on 127.0.0.1 with a SQLite backend in ``folder`` and artifacts proxied to
    ``artifacts_destination`` (a folder or an ``s3://`` bucket: the server writes them there)."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    command = mlflow_server_command(
        str(BIN / "mlflow"), port, f"sqlite:///{folder / 'mlflow.db'}", artifacts_destination
    )
    started = [start("mlflow server", command, {**os.environ, **(env or {})}, folder / "mlflow-server.log")]
    tracking_uri = f"http://{LOOPBACK}:{port}"
    try:
        wait_for(
            "the MLflow server",
            lambda: urllib.request.urlopen(f"{tracking_uri}/health", timeout=5).status == 200,
            timeout,
            started,
        )
        yield MlflowServer(tracking_uri, started[0])
    finally:
        stop_groups(started)
