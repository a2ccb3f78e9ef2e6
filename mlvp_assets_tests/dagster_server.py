"""A real ``dagster dev`` for end-to-end tests, driven through its GraphQL API.

:func:`dagster_dev` starts ``dagster dev -w workspace.yaml`` on 127.0.0.1 and a free port, in its
own process group, with its output in a log file; it waits until ``/server_info`` answers and the
code location is loaded, and always stops the whole group (webserver, daemon, code server and any
run worker with its Spark JVM) at the end: SIGTERM, then SIGKILL for whatever is left.

:class:`DagsterDevServer` posts GraphQL queries with the standard library (no client package) and
knows the few calls the tests need: the loaded location, launching a job and waiting for its run,
with the run's error events in the failure message.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOG_TAIL_CHARS = 20_000
TERMINAL_RUN_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})

WORKSPACE_QUERY = """
query Workspace {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { name repositories { name } }
          ... on PythonError { message stack }
        }
      }
    }
    ... on PythonError { message stack }
  }
}
"""

LAUNCH_RUN_MUTATION = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on Error { message }
  }
}
"""

RUN_STATUS_QUERY = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId status tags { key value } }
    ... on Error { message }
  }
}
"""

RUN_ERRORS_QUERY = """
query RunErrors($runId: ID!) {
  logsForRun(runId: $runId, limit: 100000) {
    __typename
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message level stepKey }
        ... on ErrorEvent { error { message stack causes { message stack } } }
      }
    }
    ... on Error { message }
  }
}
"""


class DagsterServerError(RuntimeError):
    """The server did not start, did not load the code location, or a GraphQL call failed."""


@dataclass(frozen=True)
class CodeLocation:
    """Where a job lives, as GraphQL selectors name it."""

    location_name: str
    repository_name: str

    def selector(self) -> dict[str, str]:
        return {"repositoryLocationName": self.location_name, "repositoryName": self.repository_name}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tail(path: Path, chars: int = LOG_TAIL_CHARS) -> str:
    if not path.exists():
        return f"(no output file at {path})"
    text = path.read_text(errors="replace")
    return text if len(text) <= chars else f"... ({len(text) - chars} characters before)\n{text[-chars:]}"


@dataclass
class DagsterDevServer:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        """The end of what ``dagster dev`` and its children wrote (stdout and stderr)."""
        return tail(self.log_path)

    # --- GraphQL ---------------------------------------------------------------------------

    def graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, *, timeout: float = 60
    ) -> dict[str, Any]:
        """The ``data`` of a GraphQL answer; GraphQL-level errors raise :class:`DagsterServerError`."""
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as error:  # a malformed query answers 400 with the errors as JSON
            raise DagsterServerError(
                f"GraphQL HTTP {error.code}: {error.read().decode(errors='replace')}"
            ) from error
        if answer.get("errors"):
            raise DagsterServerError(f"GraphQL errors: {json.dumps(answer['errors'], indent=2)}")
        return answer["data"]

    # --- readiness -------------------------------------------------------------------------

    def _fail(self, reason: str) -> DagsterServerError:
        return DagsterServerError(f"{reason}\n--- dagster dev output ({self.log_path}) ---\n{self.output()}")

    def _check_alive(self) -> None:
        if self.process.poll() is not None:
            raise self._fail(f"dagster dev exited with code {self.process.returncode}")

    def wait_until_loaded(self, timeout: float = 180, poll: float = 1.0) -> CodeLocation:
        """Poll ``/server_info`` until the webserver answers, then the workspace until its one
        code location is LOADED; a load error, an exited server or the timeout fails with the
        server's output."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                with urllib.request.urlopen(f"{self.url}/server_info", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise self._fail(
                    f"the webserver did not answer {self.url}/server_info within {timeout:.0f} s"
                )
            time.sleep(poll)
        while True:
            self._check_alive()
            workspace = self.graphql(WORKSPACE_QUERY)["workspaceOrError"]
            if workspace["__typename"] != "Workspace":
                raise self._fail(f"workspaceOrError: {workspace}")
            entries = workspace["locationEntries"]
            if len(entries) != 1:
                raise self._fail(
                    f"expected one code location in workspace.yaml, got {[e['name'] for e in entries]}"
                )
            entry = entries[0]
            location = entry["locationOrLoadError"]
            if location is not None and location["__typename"] == "PythonError":
                raise self._fail(
                    f"code location {entry['name']} failed to load:\n{location['message']}{location['stack']}"
                )
            if entry["loadStatus"] == "LOADED" and location is not None:
                repositories = [repository["name"] for repository in location["repositories"]]
                if len(repositories) != 1:
                    raise self._fail(f"expected one repository in {entry['name']}, got {repositories}")
                return CodeLocation(entry["name"], repositories[0])
            if time.monotonic() > deadline:
                raise self._fail(f"code location {entry['name']} not loaded within {timeout:.0f} s: {entry}")
            time.sleep(poll)

    # --- runs ------------------------------------------------------------------------------

    def launch_job(
        self,
        location: CodeLocation,
        job_name: str,
        *,
        tags: Mapping[str, str] | None = None,
        run_config: Mapping[str, Any] | None = None,
    ) -> str:
        """Launch a job through ``launchRun``; the run id, or an error naming what was refused."""
        params = {
            "selector": {**location.selector(), "jobName": job_name},
            "runConfigData": dict(run_config or {}),
            "executionMetadata": {
                "tags": [{"key": key, "value": value} for key, value in (tags or {}).items()]
            },
        }
        result = self.graphql(LAUNCH_RUN_MUTATION, {"executionParams": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise self._fail(f"launchRun of {job_name} refused: {json.dumps(result, indent=2)}")
        return result["run"]["runId"]

    def run(self, run_id: str) -> dict[str, Any]:
        result = self.graphql(RUN_STATUS_QUERY, {"runId": run_id})["runOrError"]
        if result["__typename"] != "Run":
            raise self._fail(f"runOrError({run_id}): {result}")
        return result

    def run_errors(self, run_id: str) -> str:
        """The run's ERROR-level events and error payloads, one block per event."""
        logs = self.graphql(RUN_ERRORS_QUERY, {"runId": run_id})["logsForRun"]
        if logs["__typename"] != "EventConnection":
            return f"logsForRun({run_id}): {logs}"
        blocks = []
        for event in logs["events"]:
            error = event.get("error")
            if event.get("level") != "ERROR" and not error:
                continue
            lines = [f"[{event['__typename']}] step={event.get('stepKey')}: {event.get('message')}"]
            if error:
                lines.append(error["message"] + (error.get("stack") and "".join(error["stack"]) or ""))
                for cause in error.get("causes") or []:
                    lines.append("caused by: " + cause["message"] + "".join(cause.get("stack") or []))
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks) or "(no error events)"

    def wait_for_run(self, run_id: str, timeout: float, poll: float = 3.0) -> str:
        """Poll until the run ends; SUCCESS returns it, anything else fails with the run's
        error events and the server's output."""
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            self._check_alive()
            status = self.run(run_id)["status"]
            if status in TERMINAL_RUN_STATUSES:
                break
            time.sleep(poll)
        else:
            raise self._fail(f"run {run_id} still {status} after {timeout:.0f} s\n{self.run_errors(run_id)}")
        if status != "SUCCESS":
            raise self._fail(f"run {run_id} ended {status}; its error events:\n{self.run_errors(run_id)}")
        return status

    # --- shutdown --------------------------------------------------------------------------

    def stop(self, grace: float = 30) -> None:
        """SIGTERM to the whole process group, SIGKILL to what is left after ``grace`` seconds."""
        group = self.process.pid  # start_new_session: the group id is the leader's pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
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
    repo_root: Path,
    dagster_home: Path,
    log_path: Path,
    env: Mapping[str, str],
    *,
    load_timeout: float = 180,
) -> Iterator[tuple[DagsterDevServer, CodeLocation]]:
    """``dagster dev -w workspace.yaml`` from ``repo_root`` with ``DAGSTER_HOME=dagster_home`` and
    ``env`` on top of this process's environment; yields the server once its location is loaded.

    On an error inside the block the server's output is printed (pytest shows it with the
    failure); the process group is stopped in every case.
    """
    dagster_home.mkdir(parents=True, exist_ok=True)
    instance_yaml = dagster_home / "dagster.yaml"
    if not instance_yaml.exists():
        instance_yaml.write_text("telemetry:\n  enabled: false\n")  # no network calls from a test
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-w",
        "workspace.yaml",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=repo_root,
            env={**os.environ, **env, "DAGSTER_HOME": str(dagster_home)},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = DagsterDevServer(process, port, log_path)
    try:
        location = server.wait_until_loaded(timeout=load_timeout)
        yield server, location
    except DagsterServerError:
        raise  # its message already ends with the server's output
    except BaseException:
        print(f"\n--- dagster dev output ({log_path}) ---\n{server.output()}", file=sys.stderr)
        raise
    finally:
        server.stop()
