"""A backfill of N landing days against N separate runs, and against one process doing the N days.

Three ways to materialize ``medallion_job`` for the same simulated days, each from an empty
storage root of its own:

1. **backfill**: what the UI's Launch backfill and ``dagster job backfill`` do, under the
   project's ``deploy/dagster.yaml``: a ``dagster dev`` on 127.0.0.1 (its load is not counted, it
   is the running service), ``dagster job backfill -j medallion_job --from <first> --to <last>``,
   and the daemon's run queue starting the one-day runs one at a time. Timed from the command to
   the end of the last run; the figures include the most runs that were ever in progress at once
   (the run queue's limit says 1) and how long runs waited in the queue.
2. **separate runs**: ``dagster job execute`` for one day after another, each its own process
   (what a user scripting the CLI, or the queue, pays: a process, the imports and a JVM per day).
3. **one process**: one Python process that starts once and runs the job for each day in turn,
   the floor a single-run backfill could reach: one fixed start plus the per-day work.

``(separate - one process) / (N - 1)`` is the fixed cost of starting a run. Prints the figures,
then one JSON line with them.

    python bench/backfill.py                              # 5 days of 2000 rows, MLVP_ENV=dev
    python bench/backfill.py --days 5 --rows-per-day 500 --env test
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # the dagster dev harness of the tests

from mlvp_assets.jobs import SPARK_RUN_TAG  # noqa: E402
from mlvp_assets.partitions import FIRST_LANDING_DAY  # noqa: E402
from mlvp_assets.simulate import simulate_landing  # noqa: E402
from mlvp_assets_tests.dagster_server import FINISHED, dagster_dev  # noqa: E402

BIN = Path(sys.executable).parent
JOB = "medallion_job"
RUN_TIMEOUT_SECONDS = 3600

BACKFILL_RUNS_QUERY = """
query BackfillRuns($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    ... on Runs { results { runId status creationTime startTime endTime tags { key value } } }
  }
}
"""

ONE_PROCESS = """
import json, sys, time
started = time.monotonic()
import dagster as dg
from mlvp_assets.definitions import defs
job = defs.resolve_job_def(sys.argv[1])
for day in sys.argv[2:]:
    begin = time.monotonic()
    result = job.execute_in_process(partition_key=day, instance=dg.DagsterInstance.ephemeral())
    assert result.success, day
    print(json.dumps({"day": day, "started_after": begin - started, "seconds": time.monotonic() - begin}))
"""


def _env(root: Path, env: str, dagster_home: Path | None = None) -> dict[str, str]:
    variables = {**os.environ, "MLVP_ENV": env, "MLVP_DATA_ROOT": str(root), "SPARK_LOCAL_IP": "127.0.0.1"}
    if dagster_home is not None:
        variables["DAGSTER_HOME"] = str(dagster_home)
    else:
        variables.pop("DAGSTER_HOME", None)
    return variables


def _simulated_root(base: Path, name: str, start: dt.date, days: int, rows: int) -> Path:
    root = base / name / "root"
    root.mkdir(parents=True)
    simulate_landing(root, start, days=days, rows_per_day=rows)
    return root


def _run(command: Sequence[str], env: dict[str, str], log: Path) -> float:
    started = time.monotonic()
    with open(log, "ab") as output:
        completed = subprocess.run(
            command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
        )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({completed.returncode}); see {log}")
    return time.monotonic() - started


def max_in_progress(runs: Sequence[dict]) -> int:
    """The most runs whose [start, end] intervals overlap at one moment."""
    edges = sorted([(run["startTime"], 1) for run in runs] + [(run["endTime"], -1) for run in runs])
    current = most = 0
    for _, change in edges:  # an end sorts before a start at the same instant
        current += change
        most = max(most, current)
    return most


def backfill(base: Path, env: str, days: list[str], rows: int) -> dict:
    root = _simulated_root(base, "backfill", dt.date.fromisoformat(days[0]), len(days), rows)
    home = base / "backfill" / "dagster_home"
    with dagster_dev(REPO_ROOT, home, base / "backfill" / "dagster_dev.log", _env(root, env)) as (server, _):
        started = time.monotonic()
        launched = subprocess.run(
            [str(BIN / "dagster"), "job", "backfill", "-w", "workspace.yaml", "-j", JOB]
            + ["--from", days[0], "--to", days[-1], "--noprompt"],
            cwd=REPO_ROOT,
            env=_env(root, env, home),
            capture_output=True,
            text=True,
            timeout=600,
        )
        found = re.search(r"Launched backfill job `([^`]+)`", launched.stdout)
        if launched.returncode != 0 or not found:
            raise RuntimeError(f"dagster job backfill failed:\n{launched.stdout}\n{launched.stderr}")
        tag_filter = {"tags": [{"key": "dagster/backfill", "value": found.group(1)}]}
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        while True:
            answer = server.graphql(BACKFILL_RUNS_QUERY, {"filter": tag_filter})["runsOrError"]
            runs = answer["results"]
            if len(runs) == len(days) and all(run["status"] in {s.value for s in FINISHED} for run in runs):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"backfill not finished in {RUN_TIMEOUT_SECONDS} s: {runs}")
            time.sleep(2)
        seconds = time.monotonic() - started
    failed = [run["runId"] for run in runs if run["status"] != "SUCCESS"]
    if failed:
        raise RuntimeError(f"backfill runs failed: {failed}; see {home}")
    tagged = all({"key": SPARK_RUN_TAG, "value": "driver"} in run["tags"] for run in runs)
    return {
        "seconds": seconds,
        "runs": len(runs),
        "max_runs_in_progress": max_in_progress(runs),
        "all_runs_tagged": tagged,
        "run_seconds": sorted(run["endTime"] - run["startTime"] for run in runs),
        "longest_queue_wait_seconds": max(run["startTime"] - run["creationTime"] for run in runs),
    }


def separate_runs(base: Path, env: str, days: list[str], rows: int) -> dict:
    root = _simulated_root(base, "separate", dt.date.fromisoformat(days[0]), len(days), rows)
    log = base / "separate" / "runs.log"
    per_run = [
        _run(
            [str(BIN / "dagster"), "job", "execute", "-m", "mlvp_assets.definitions", "-j", JOB]
            + ["--tags", json.dumps({"dagster/partition": day})],
            _env(root, env),
            log,
        )
        for day in days
    ]
    return {"seconds": sum(per_run), "run_seconds": per_run}


def one_process(base: Path, env: str, days: list[str], rows: int) -> dict:
    root = _simulated_root(base, "one_process", dt.date.fromisoformat(days[0]), len(days), rows)
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-c", ONE_PROCESS, JOB, *days],
        cwd=REPO_ROOT,
        env=_env(root, env),
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    if completed.returncode != 0:
        raise RuntimeError(f"one process failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-5000:]}")
    per_day = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith('{"day"')]
    return {
        "seconds": seconds,
        "start_seconds": per_day[0]["started_after"],  # process, imports; the JVM starts in day 1
        "day_seconds": [entry["seconds"] for entry in per_day],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--rows-per-day", type=int, default=2000)
    parser.add_argument("--env", default="dev", choices=("dev", "test"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary roots and logs")
    args = parser.parse_args(argv)
    start = dt.date.fromisoformat(FIRST_LANDING_DAY)
    days = [(start + dt.timedelta(days=offset)).isoformat() for offset in range(args.days)]

    base = Path(tempfile.mkdtemp(prefix="mlvp_backfill_bench_"))
    print(
        f"{args.days} days of {args.rows_per_day} rows, {JOB}, MLVP_ENV={args.env}; work in {base}",
        flush=True,
    )
    results = {}
    for name, measure in (
        ("backfill", backfill),
        ("separate_runs", separate_runs),
        ("one_process", one_process),
    ):
        results[name] = measure(base, args.env, days, args.rows_per_day)
        print(f"{name}: {results[name]['seconds']:.0f} s  {json.dumps(results[name])}", flush=True)

    fixed = (results["separate_runs"]["seconds"] - results["one_process"]["seconds"]) / max(1, args.days - 1)
    print(
        f"\n{args.days}-day backfill (queued one-day runs): {results['backfill']['seconds']:.0f} s, "
        f"at most {results['backfill']['max_runs_in_progress']} run(s) in progress"
        f"\n{args.days} separate runs, one after another: {results['separate_runs']['seconds']:.0f} s"
        f"\none process, {args.days} days in turn (the single-run floor): "
        f"{results['one_process']['seconds']:.0f} s"
        f"\nfixed cost of a run (process, imports, JVM): about {fixed:.0f} s"
    )
    print(
        json.dumps(
            {
                "days": args.days,
                "rows_per_day": args.rows_per_day,
                "env": args.env,
                **results,
                "fixed_run_seconds": fixed,
            }
        )
    )
    if not args.keep:
        import shutil

        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
