"""An S3-compatible server for tests: moto's standalone server (``moto_server``), started on
127.0.0.1 on a free port by the test that needs it and stopped when it ends, even on failure."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

# Test credentials: moto accepts any; they are not secrets of anything.
ACCESS_KEY, SECRET_KEY, REGION = "mlvp-test-key", "mlvp-test-secret", "us-east-1"


def s3_client(endpoint: str):
    """A boto3 S3 client of the server at ``endpoint``, with the test credentials."""
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
    )  # fmt: skip


def use_s3_server(monkeypatch, endpoint: str) -> None:
    """Set the environment the project reads its S3 endpoint and credentials from to the server's."""
    from mlvp_assets.settings import S3_ENDPOINT

    for name, value in {
        S3_ENDPOINT.name: endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _moto_server() -> str:
    beside_python = Path(sys.executable).with_name("moto_server")
    found = str(beside_python) if beside_python.exists() else shutil.which("moto_server")
    if not found:
        raise RuntimeError("moto_server not found: install the test extras (pip install -e '.[test]')")
    return found


def moto_server_command(moto_server: str, port: int) -> list[str]:
    return [moto_server, "-H", "127.0.0.1", "-p", str(port)]


@contextlib.contextmanager
def running_s3_server(timeout: float = 60.0) -> Iterator[str]:
    """Start ``moto_server`` on 127.0.0.1 and yield its endpoint URL (``http://127.0.0.1:<port>``)."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # moto logs a line per request to stderr: into a file, since a pipe nobody reads fills up
    # after a few hundred requests and then blocks every request (a Spark job makes thousands).
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            moto_server_command(_moto_server(), port), stdout=subprocess.DEVNULL, stderr=log
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"moto_server exited with {process.returncode}: {log.read().decode()}")
                try:
                    urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"moto_server did not answer on {endpoint} within {timeout} s"
                        ) from None
                    time.sleep(0.2)
            yield endpoint
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
