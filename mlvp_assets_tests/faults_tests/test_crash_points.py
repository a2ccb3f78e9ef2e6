"""The crash-point mechanism on its own, without Spark: inert unless named, and when named, the
whole process group dies at once (what ``test_crash_and_converge`` relies on to kill a run with its
JVM)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlvp_assets.crash_points import BRONZE_WRITTEN, SILVER_WRITTEN, crash_point
from mlvp_assets_tests.conftest import REPO_ROOT

# A process that starts a child in its group (as a run starts its Spark JVM), says the child's
# pid, reaches the crash point and would then say it survived.
REACHES_THE_POINT = """
import subprocess, sys
child = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(120)"], stdout=subprocess.DEVNULL
)
print(child.pid, flush=True)
from mlvp_assets.crash_points import crash_point
crash_point(sys.argv[1])
print("survived", flush=True)
"""


def test_a_crash_point_does_nothing_unless_the_setting_names_it(monkeypatch):
    monkeypatch.delenv("MLVP_CRASH_AT", raising=False)
    crash_point(BRONZE_WRITTEN)
    monkeypatch.setenv("MLVP_CRASH_AT", SILVER_WRITTEN)
    crash_point(BRONZE_WRITTEN)


def test_an_unknown_crash_point_is_refused():
    with pytest.raises(ValueError, match="unknown crash point 'bronze.writen'"):
        crash_point("bronze.writen")


def _ended(pid: int) -> bool:
    """Gone, or a zombie waiting for init to reap it: it runs no more."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("crash_at, killed", [(BRONZE_WRITTEN, True), (SILVER_WRITTEN, False)])
def test_the_named_point_kills_the_whole_process_group(crash_at, killed):
    env = {**os.environ, "MLVP_CRASH_AT": crash_at}
    process = subprocess.Popen(
        [sys.executable, "-c", REACHES_THE_POINT, BRONZE_WRITTEN],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        child = int(process.stdout.readline())
        rest = process.stdout.read()
        process.wait(timeout=60)
        if killed:
            assert process.returncode == -signal.SIGKILL and "survived" not in rest
            deadline = time.monotonic() + 10
            while not _ended(child) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _ended(child), "the child in the process group outlived the crash"
        else:
            assert process.returncode == 0 and "survived" in rest
            assert not _ended(child)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
