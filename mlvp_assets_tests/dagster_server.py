"""A real ``dagster dev`` for end-to-end tests.

:func:`dagster_dev` starts ``dagster dev -w workspace.yaml`` on 127.0.0.1 and a free port, with a
temporary ``DAGSTER_HOME``, in its own process group with its output in a log file; it waits until
the code location is loaded, and always stops the whole group (webserver, daemon, code server and
any run worker with its Spark JVM) at the end: SIGTERM, then SIGKILL for whatever is left.

Runs are submitted and polled with dagster-graphql's ``DagsterGraphQLClient`` (``server.client``).
:meth:`DagsterDevServer.graphql` posts the few queries the client has no call for (whether the code
location has loaded, a failed run's error events, what the tests list); the client keeps its
transport private, hence a plain ``requests.post``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from dagster import DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

LOG_TAIL_CHARS = 20_000
INSTANCE_YAML = "deploy/dagster.yaml"  # what `make dev` puts in DAGSTER_HOME
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}

LOCATION_QUERY = """
{
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          ... on RepositoryLocation { repositories { name } }
          ... on PythonError { message stack }
        }
      }
    }
    ... on PythonError { message stack }
  }
}
"""

RUN_ERRORS_QUERY = """
query RunErrors($runId: ID!) {
  logsForRun(runId: $runId, limit: 100000) {
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message level stepKey }
        ... on ErrorEvent { error { message stack causes { message stack } } }
      }
    }
  }
}
"""


class DagsterServerError(RuntimeError):
    """The server did not start or load the code location, a run failed, or a query failed."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class DagsterDevServer:
    process: subprocess.Popen
    port: int
    log_path: Path
    client: DagsterGraphQLClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = DagsterGraphQLClient("127.0.0.1", port_number=self.port, timeout=60)

    def output(self) -> str:
        """The end of what ``dagster dev`` and its children wrote (stdout and stderr)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else "(no output)"
        return text[-LOG_TAIL_CHARS:]

    def _fail(self, reason: str) -> DagsterServerError:
        return DagsterServerError(f"{reason}\n--- dagster dev output ({self.log_path}) ---\n{self.output()}")

    def _check_alive(self) -> None:
        if self.process.poll() is not None:
            raise self._fail(f"dagster dev exited with code {self.process.returncode}")

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of a GraphQL answer; an HTTP or GraphQL error raises :class:`DagsterServerError`."""
        response = requests.post(
            f"http://127.0.0.1:{self.port}/graphql",
            json={"query": query, "variables": dict(variables or {})},
            timeout=60,
        )
        if not response.ok or "errors" in response.json():
            raise DagsterServerError(f"GraphQL HTTP {response.status_code}: {response.text}")
        return response.json()["data"]

    def wait_until_loaded(self, timeout: float = 180) -> dict[str, str]:
        """Poll the workspace until its one code location is LOADED and return the selector of its
        one repository; a load error, an exited server or the timeout fails with the server's output."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                workspace = self.graphql(LOCATION_QUERY)["workspaceOrError"]
            except requests.ConnectionError:  # the webserver is not listening yet
                workspace = None
            if workspace is not None:
                entries = workspace.get("locationEntries")
                if not entries or len(entries) != 1:
                    raise self._fail(f"expected one code location in workspace.yaml: {workspace}")
                name, location = entries[0]["name"], entries[0]["locationOrLoadError"]
                if location and "message" in location:
                    raise self._fail(
                        f"{name} failed to load:\n{location['message']}{''.join(location['stack'])}"
                    )
                if entries[0]["loadStatus"] == "LOADED" and location:
                    if len(location["repositories"]) != 1:
                        raise self._fail(f"expected one repository in {name}: {location}")
                    return {
                        "repositoryLocationName": name,
                        "repositoryName": location["repositories"][0]["name"],
                    }
            if time.monotonic() > deadline:
                raise self._fail(f"code location not loaded within {timeout:.0f} s: {workspace}")
            time.sleep(1)

    def wait_for_run(self, run_id: str, timeout: float, poll: float = 3.0) -> None:
        """Poll the run's status until it ends; anything but SUCCESS fails with the run's error
        events and the server's output."""
        deadline = time.monotonic() + timeout
        while (status := self.client.get_run_status(run_id)) not in FINISHED:
            self._check_alive()
            if time.monotonic() > deadline:
                raise self._fail(
                    f"run {run_id} still {status.value} after {timeout:.0f} s\n{self.run_errors(run_id)}"
                )
            time.sleep(poll)
        if status != DagsterRunStatus.SUCCESS:
            raise self._fail(
                f"run {run_id} ended {status.value}; its error events:\n{self.run_errors(run_id)}"
            )

    def run_errors(self, run_id: str) -> str:
        """The run's ERROR-level events and error payloads, one block per event."""
        events = self.graphql(RUN_ERRORS_QUERY, {"runId": run_id})["logsForRun"].get("events", [])
        blocks = []
        for event in events:
            error = event.get("error")
            if event.get("level") == "ERROR" or error:
                lines = [f"[{event['__typename']}] step={event.get('stepKey')}: {event.get('message')}"]
                for part in [error, *error["causes"]] if error else []:
                    lines.append(part["message"] + "".join(part["stack"]))
                blocks.append("\n".join(lines))
        return "\n\n".join(blocks) or "(no error events)"

    def stop(self, grace: float = 30) -> None:
        """SIGTERM to the whole process group, SIGKILL to what is left after ``grace`` seconds."""
        group = self.process.pid  # start_new_session: the group id is the leader's pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        # dagster dev may exit before its children (or not at all): the group is what must go.
        deadline = time.monotonic() + grace
        while self.live_processes() and time.monotonic() < deadline:
            time.sleep(0.5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def live_processes(self) -> list[int]:
        """Processes (not zombies) still in the server's process group, from /proc."""
        members = []
        for stat_file in Path("/proc").glob("[0-9]*/stat"):
            try:
                # pid (comm) state ppid pgrp ...: split after the command name, which may hold spaces
                fields = stat_file.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == self.process.pid and fields[0] != "Z":
                members.append(int(stat_file.parent.name))
        return members


@contextlib.contextmanager
def dagster_dev(
    repo_root: Path, dagster_home: Path, log_path: Path, env: Mapping[str, str], *, load_timeout: float = 180
) -> Iterator[tuple[DagsterDevServer, dict[str, str]]]:
    """``dagster dev -w workspace.yaml`` from ``repo_root`` with ``DAGSTER_HOME=dagster_home`` and
    ``env`` on top of this process's environment; yields the server and its repository selector
    once the code location is loaded.

    On an error inside the block the server's output is printed (pytest shows it with the
    failure); the process group is stopped in every case.
    """
    dagster_home.mkdir(parents=True, exist_ok=True)
    instance_yaml = dagster_home / "dagster.yaml"
    if not instance_yaml.exists():  # the project's instance: run queue limits, no telemetry
        shutil.copy(repo_root / INSTANCE_YAML, instance_yaml)
    port = free_port()
    command = [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*command, "-p", str(port)],
            cwd=repo_root,
            env={**os.environ, **env, "DAGSTER_HOME": str(dagster_home)},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = DagsterDevServer(process, port, log_path)
    try:
        yield server, server.wait_until_loaded(timeout=load_timeout)
    except DagsterServerError:
        raise  # its message already ends with the server's output
    except BaseException:
        print(f"\n--- dagster dev output ({log_path}) ---\n{server.output()}", file=sys.stderr)
        raise
    finally:
        server.stop()
