"""Servers the tests start from the installed packages on 127.0.0.1, each in its own process
group, which is terminated as a whole and then checked with ``pgrep``: a test that leaves a
process behind fails. The generic part (start, wait until ready, stop) and an MLflow tracking
server, which both the ML tests and the engine tests start; the Spark servers are in
:mod:`mlvp_assets_tests.engines_tests.servers`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

LOOPBACK = "127.0.0.1"
BIN = Path(sys.executable).parent  # the project's virtualenv


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


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


# --- an MLflow tracking server ---------------------------------------------------------------


def mlflow_server_command(
    mlflow: str, port: int, backend_store_uri: str, artifacts_destination: str, app_name: str | None = None
) -> list[str]:
    """``app_name``: another app of MLflow's, e.g. ``basic-auth`` (users and passwords)."""
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
        *(["--app-name", app_name] if app_name else []),
    ]


@dataclasses.dataclass
class MlflowServer:
    tracking_uri: str
    started: Started

    def stop(self) -> None:
        """Stop the server now (its port is then closed); stopping it again does nothing."""
        stop_groups([self.started])


@contextlib.contextmanager
def running_mlflow_server(
    folder: Path,
    artifacts_destination: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    port: int | None = None,
    app_name: str | None = None,
) -> Iterator[MlflowServer]:
    """``mlflow server`` on 127.0.0.1 with a SQLite backend in ``folder`` and artifacts proxied to
    ``artifacts_destination`` (a folder or an ``s3://`` bucket: the server writes them there), on
    ``port`` (default: a free one). Started again on the same folder and port, it serves the
    same runs and models at the same URI. ``app_name``: ``basic-auth`` makes it require a login
    (its settings come from ``env``)."""
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    command = mlflow_server_command(
        str(BIN / "mlflow"), port, f"sqlite:///{folder / 'mlflow.db'}", artifacts_destination, app_name
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
