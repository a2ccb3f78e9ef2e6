"""The daily run against its limit, and how its cost grows: the benchmark of issue 11.

Every comparison runs side by side in this one run, on this machine, from simulated landing days
(``mlvp_assets.simulate``, the demo's 1 % rate of each injected error, no drift). The history: day 0
(``2026-01-01``) goes through bronze, silver and gold on the bare path and ``training_job`` trains
and promotes the champion; the daily days 1, 2, ... are the days after it. Each measured run starts
from a copy of the history it needs, with ``MLVP_ENV=dev``, ``MLVP_DATA_ROOT`` on a temporary root
and an absolute ``DAGSTER_HOME`` beside it (``deploy/dagster.yaml``, the storage created by the
training run).

* ``daily_2k_s``: ``dagster job execute -m mlvp_assets.definitions -j daily_job`` for day 1
  (``--rows-per-day`` rows, 2,000) in a fresh process, as a user runs it;
* ``daily_vs_bare``: that, divided by ``bench/bare_day.py`` for the same day from the same history
  (a fresh process, one Spark session, the project's plain functions, the same tables);
* ``day30_vs_day1``: ``daily_job`` for the last day of the history (days 2 to N-1 built on the bare
  path, in one process) divided by day 1's;
* ``rows100x_vs_1x`` and ``peak_rss_mib``: ``daily_job`` for day 1 with ``--big-rows`` rows
  (200,000) instead, divided by day 1's; the peak is the summed RSS of the process and all its
  descendants (Python, the JVM, Python workers), sampled from /proc every 0.5 s;
* ``import_overhead_s``: a fresh interpreter importing ``mlvp_assets.definitions`` minus one
  importing dagster and building an empty ``dg.Definitions()`` (medians);
* ``location_load_overhead_s``: ``dagster dev`` from its start to the code location answering
  GraphQL (``mlvp_assets_tests/dagster_server.py``), minus the same for a one-asset project;
* ``model_logging_share``: the share of ``training_job`` (dev budget, a fresh process running it in
  process on the same instance) spent in ``log_trained_model`` and ``register_challenger``, timed by
  wrapping the two functions ``mlvp_assets.ml.assets`` calls.

The quick mode (the default; ``make bench``) runs each timing once and a 10-day history; ``--full``
repeats the day-1 runs, the bare runs, the last day, the imports and the location loads 3 times and
uses a 30-day history; the figures are medians. Prints a table, then one JSON line.

    python bench/daily.py                   # quick: one repetition, day 10 against day 1
    python bench/daily.py --full            # 3 repetitions, day 30 against day 1
    python bench/daily.py --big-rows 20000  # a smaller big day (the JSON says which)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # the dagster dev harness of the tests

from mlvp_assets.partitions import FIRST_LANDING_DAY  # noqa: E402
from mlvp_assets.simulate import ERROR_TYPES, simulate_landing  # noqa: E402
from mlvp_assets_tests.dagster_server import INSTANCE_YAML, dagster_dev  # noqa: E402

BIN = Path(sys.executable).parent
BARE_DAY = REPO_ROOT / "bench" / "bare_day.py"
ERROR_RATE = 0.01  # the demo's rate of each injected error type
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

IMPORT_DEFINITIONS = "import mlvp_assets.definitions"
IMPORT_FLOOR = "import dagster as dg; dg.Definitions()"

# training_job as dagster job execute runs it (in process, the instance of DAGSTER_HOME), with the
# two calls of the price_model asset that log and register the model timed.
TRAINING = """
import json, time
import dagster as dg
from mlflow.tracking import MlflowClient
from mlvp_assets.definitions import defs
from mlvp_assets.ml import assets
from mlvp_assets.ml.registry import CHAMPION
from mlvp_assets.ml.run_config import training_run_config

spent = {}

def timed(name, function):
    def call(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started
    return call

assets.log_trained_model = timed("log_trained_model", assets.log_trained_model)
assets.register_challenger = timed("register_challenger", assets.register_challenger)
result = defs.resolve_job_def("training_job").execute_in_process(
    run_config=training_run_config("dev"), instance=dg.DagsterInstance.get()
)
assert result.success, "training_job failed"
metadata = result.asset_materializations_for_node("price_model")[0].metadata
registry = defs.resources["model_registry"]
client = MlflowClient(tracking_uri=registry.tracking_uri)
client.get_model_version_by_alias(registry.model_name, CHAMPION)  # the first model must be champion
metrics = client.get_run(metadata["mlflow_run_id"].value).data.metrics
names = ("model_logging_seconds", "tuning_seconds", "final_fit_seconds")
logged = {name: metrics.get(name) for name in names}
print(json.dumps({"spent": spent, "mlflow_metrics": logged}))
"""

TINY_PROJECT = '''"""One asset: the floor of a code location's load."""

import dagster as dg


@dg.asset
def one_asset() -> int:
    return 1


defs = dg.Definitions(assets=[one_asset])
'''
TINY_WORKSPACE = (
    "load_from:\n  - python_module:\n      module_name: tiny_project\n      working_directory: .\n"
)


# --- processes ---------------------------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def tree_rss_bytes(pid: int) -> int:
    """The summed resident set of ``pid`` and its descendants (shared pages counted per process)."""
    total = 0
    for member in _descendants(pid):
        try:
            total += int(Path(f"/proc/{member}/statm").read_text().split()[1]) * PAGE_SIZE
        except (OSError, IndexError, ValueError):
            continue
    return total


class Timed:
    """A command's wall time, the peak RSS of its process tree, its stdout and all it logged."""

    def __init__(self, seconds: float, peak_rss_mib: float, stdout: str, logged: str) -> None:
        self.seconds, self.peak_rss_mib, self.stdout, self.logged = seconds, peak_rss_mib, stdout, logged


def run(command: Sequence[str], env: dict[str, str], log: Path, cwd: Path = REPO_ROOT) -> Timed:
    """Run ``command`` to its end; its output goes to ``log`` (stdout is also returned)."""
    peak = 0
    offset = log.stat().st_size if log.exists() else 0
    with open(log, "ab") as errors, tempfile.TemporaryFile() as output:
        errors.write(f"\n$ {' '.join(command)}\n".encode())
        errors.flush()
        started = time.monotonic()
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=errors
        )
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.5):
                peak = max(peak, tree_rss_bytes(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            code = process.wait()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            done.set()
            sampler.join()
        seconds = time.monotonic() - started
        output.seek(0)
        stdout = output.read().decode(errors="replace")
    with open(log, "a") as errors:
        errors.write(stdout)
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({code}); see {log}")
    logged = log.read_bytes()[offset:].decode(errors="replace")
    return Timed(seconds, peak / 2**20, stdout, logged)


_DURATION = r"(?:(\d+)m(?=\d|\b))?(?:([\d.]+)(ms|s))?"
_STEP_DONE = re.compile(rf'Finished execution of step "([^"]+)" in {_DURATION}')
_STEPS_DONE = re.compile(rf"Finished steps in process \(pid: \d+\) in {_DURATION}")


def _seconds(minutes: str | None, amount: str | None, unit: str | None) -> float:
    value = float(amount or 0) / (1000 if unit == "ms" else 1)
    return round(int(minutes or 0) * 60 + value, 2)


def dagster_step_seconds(logged: str) -> dict[str, float]:
    """Seconds per step of a ``dagster job execute`` run, from its log, and ``all_steps``: the
    in-process executor's time for all of them (the rest of the wall time is the process's start,
    the imports, the run's storage and its end)."""
    steps = {found[1]: _seconds(*found.groups()[1:]) for found in _STEP_DONE.finditer(logged)}
    if (total := _STEPS_DONE.search(logged)) is not None:
        steps["all_steps"] = _seconds(*total.groups())
    return steps


def last_json(stdout: str) -> dict:
    return json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])


# --- the history -------------------------------------------------------------------------------


class Bench:
    def __init__(self, base: Path, rows: int) -> None:
        self.base, self.rows = base, rows
        self.log = base / "bench.log"
        self.day0 = dt.date.fromisoformat(FIRST_LANDING_DAY)

    def day(self, number: int) -> dt.date:
        return self.day0 + dt.timedelta(days=number)

    def env(self, state: Path) -> dict[str, str]:
        variables = {
            **os.environ,
            "MLVP_ENV": "dev",
            "MLVP_DATA_ROOT": str(state / "root"),
            "DAGSTER_HOME": str(state / "dagster_home"),
            "SPARK_LOCAL_IP": "127.0.0.1",
        }
        variables.pop("PYSPARK_PYTHON", None)  # the session sets it to this interpreter
        return variables

    def copy(self, state: Path, name: str) -> Path:
        """A copy of a state (storage root and Dagster home); the MLflow registry's artifacts stay
        where the training run wrote them, under the base state, which both copies read."""
        target = self.base / name
        shutil.copytree(state, target)
        return target

    def daily_job(self, state: Path, day: dt.date) -> Timed:
        command = [str(BIN / "dagster"), "job", "execute", "-m", "mlvp_assets.definitions", "-j", "daily_job"]
        return run(
            [*command, "--tags", json.dumps({"dagster/partition": day.isoformat()})],
            self.env(state),
            self.log,
        )

    def bare(self, state: Path, days: Sequence[dt.date], through: str = "dashboard") -> Timed:
        command = [sys.executable, str(BARE_DAY), "--root", str(state / "root"), "--through", through]
        return run([*command, *(f"--day={day.isoformat()}" for day in days)], self.env(state), self.log)

    def history(self, days: int, big_rows: int) -> tuple[Path, dict]:
        """The base state: landing days 0..days, day 0 through gold, the champion trained on it;
        and the landing files of a day 1 with ``big_rows`` rows, kept aside."""
        state = self.base / "history"
        (state / "dagster_home").mkdir(parents=True)
        shutil.copy(REPO_ROOT / INSTANCE_YAML, state / "dagster_home" / "dagster.yaml")
        error_rates = dict.fromkeys(ERROR_TYPES, ERROR_RATE)
        simulate_landing(
            state / "root", self.day0, days=days + 1, rows_per_day=self.rows, error_rates=error_rates
        )
        big = self.base / "big_landing"
        simulate_landing(big, self.day(1), days=1, rows_per_day=big_rows, error_rates=error_rates)
        medallion = self.bare(state, [self.day0], through="gold")
        training = run([sys.executable, "-c", TRAINING], self.env(state), self.log)
        figures = last_json(training.stdout)
        spent = sum(figures["spent"].values())
        return state, {
            "day0_bare_medallion_s": medallion.seconds,
            "training_s": training.seconds,
            "model_logging_s": spent,
            "model_logging_share": spent / training.seconds,
            **{f"training_{key}": value for key, value in figures.items()},
        }


# --- the figures -------------------------------------------------------------------------------


def delta_checkpoints(state: Path) -> int:
    """Delta checkpoints in the state's tables. Delta writes one every 10 commits of a table, in
    the run that makes the commit; a table written once a day since day 0 has its 3rd on day 30,
    so a run on a day that is a multiple of 10 pays for several (the figure says how many)."""
    return sum(1 for _ in (state / "root" / "warehouse").glob("*/_delta_log/*.checkpoint*.parquet"))


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def interpreter_seconds(code: str, env: dict[str, str], log: Path) -> float:
    return run([sys.executable, "-c", code], env, log).seconds


def import_figures(bench: Bench, repeat: int) -> dict:
    env = bench.env(bench.base / "history")
    definitions, floor = [], []
    for _ in range(repeat):  # alternated, so that a busy moment hits both
        definitions.append(interpreter_seconds(IMPORT_DEFINITIONS, env, bench.log))
        floor.append(interpreter_seconds(IMPORT_FLOOR, env, bench.log))
    profile = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", IMPORT_DEFINITIONS],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        "import_definitions_s": definitions,
        "import_floor_s": floor,
        "import_overhead_s": median(definitions) - median(floor),
        "import_heaviest": heaviest_imports(profile.stderr),
    }


def heaviest_imports(importtime: str, top: int = 8) -> dict[str, float]:
    """Cumulative seconds of the heaviest top-level packages in ``python -X importtime`` output."""
    cumulative: dict[str, float] = {}
    for line in importtime.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative_us, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        if not cumulative_us.isdigit() or name.startswith(" ") or "." in name.strip():
            continue
        package = name.strip()
        cumulative[package] = max(cumulative.get(package, 0.0), int(cumulative_us) / 1e6)
    return dict(sorted(cumulative.items(), key=lambda item: -item[1])[:top])


def location_load_seconds(bench: Bench, repo_root: Path, name: str) -> float:
    home = bench.base / f"{name}_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / INSTANCE_YAML, home / "dagster.yaml")
    env = {key: value for key, value in bench.env(bench.base / "history").items() if key != "DAGSTER_HOME"}
    started = time.monotonic()
    with dagster_dev(repo_root, home, bench.base / f"{name}_dagster_dev.log", env):
        loaded = time.monotonic() - started
    shutil.rmtree(home, ignore_errors=True)
    return loaded


def location_figures(bench: Bench, repeat: int) -> dict:
    tiny = bench.base / "tiny_project"
    tiny.mkdir()
    (tiny / "tiny_project.py").write_text(TINY_PROJECT)
    (tiny / "workspace.yaml").write_text(TINY_WORKSPACE)
    project, floor = [], []
    for index in range(repeat):
        project.append(location_load_seconds(bench, REPO_ROOT, f"project_{index}"))
        floor.append(location_load_seconds(bench, tiny, f"tiny_{index}"))
    return {
        "location_load_s": project,
        "location_load_floor_s": floor,
        "location_load_overhead_s": median(project) - median(floor),
    }


def step(name: str, measure: Callable[[], dict], results: dict) -> None:
    started = time.monotonic()
    figures = measure()
    results.update(figures)
    shown = {key: value for key, value in figures.items() if not isinstance(value, dict)}
    print(f"[{time.monotonic() - started:6.0f} s] {name}: {json.dumps(shown, default=_round)}", flush=True)


def _round(value: object) -> object:
    return round(value, 2) if isinstance(value, float) else str(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="3 repetitions and a 30-day history")
    parser.add_argument("--days", type=int, help="the daily day compared with day 1 (10 quick, 30 full)")
    parser.add_argument(
        "--repeat", type=int, help="repetitions of the figures taken as medians (1 quick, 3 full)"
    )
    parser.add_argument("--rows-per-day", type=int, default=2000)
    parser.add_argument("--big-rows", type=int, default=200_000, help="rows of the big day")
    parser.add_argument("--keep", action="store_true", help="keep the temporary states and logs")
    args = parser.parse_args(argv)
    mode = "full" if args.full else "quick"
    days = args.days or (30 if args.full else 10)
    repeat = args.repeat or (3 if args.full else 1)
    if days < 2:
        parser.error("--days must be at least 2")

    base = Path(tempfile.mkdtemp(prefix="mlvp_daily_bench_"))
    bench = Bench(base, args.rows_per_day)
    print(
        f"{mode} mode: {repeat} repetition(s), day {days} against day 1, {args.rows_per_day} rows a day, "
        f"big day {args.big_rows} rows; MLVP_ENV=dev; work in {base}; load average {os.getloadavg()}",
        flush=True,
    )
    started = time.monotonic()
    results: dict = {"mode": mode, "repeat": repeat, "days": days, "rows_per_day": args.rows_per_day}
    results["big_rows"] = args.big_rows
    try:
        history: list[Path] = []

        def build() -> dict:
            state, figures = bench.history(days, args.big_rows)
            history.append(state)
            return figures

        step("history (day 0 through gold on the bare path, training_job)", build, results)
        state = history[0]
        day1_states: list[Path] = []

        def day1() -> dict:
            daily, bare, rss = [], [], []
            for index in range(repeat):
                copy = bench.copy(state, f"day1_daily_{index}")
                timed = bench.daily_job(copy, bench.day(1))
                steps = dagster_step_seconds(timed.logged)
                daily.append(timed.seconds)
                rss.append(timed.peak_rss_mib)
                day1_states.append(copy)
                bare_copy = bench.copy(state, f"day1_bare_{index}")
                bare_run = bench.bare(bare_copy, [bench.day(1)])
                bare.append(bare_run.seconds)
                shutil.rmtree(bare_copy)
            return {
                "daily_day1_s": daily,
                "bare_day1_s": bare,
                "bare_day1_steps_s": last_json(bare_run.stdout)["days"][0]["seconds"],
                "bare_day1_start_s": {
                    key: round(value, 2)
                    for key, value in last_json(bare_run.stdout).items()
                    if key in ("import_seconds", "session_seconds")
                },
                "daily_day1_steps_s": steps,
                "daily_2k_s": median(daily),
                "daily_vs_bare": median(daily) / median(bare),
                "peak_rss_mib_2k": max(rss),
            }

        step(f"day 1 ({args.rows_per_day} rows): daily_job and the bare script", day1, results)

        def last_day() -> dict:
            grown = day1_states[0]
            middle = [bench.day(number) for number in range(2, days)]
            built = bench.bare(grown, middle).seconds if middle else 0.0
            for extra in day1_states[1:]:
                shutil.rmtree(extra)
            seconds, checkpoints = [], 0
            for index in range(repeat):
                copy = bench.copy(grown, f"day{days}_{index}")
                before = delta_checkpoints(copy)
                timed = bench.daily_job(copy, bench.day(days))
                seconds.append(timed.seconds)
                checkpoints = delta_checkpoints(copy) - before
                last_steps = dagster_step_seconds(timed.logged)
                shutil.rmtree(copy)
            shutil.rmtree(grown)
            return {
                f"bare_days_2_to_{days - 1}_s": built,
                f"daily_day{days}_s": seconds,
                f"daily_day{days}_steps_s": last_steps,
                "day30_vs_day1": median(seconds) / results["daily_2k_s"],
                f"delta_checkpoints_written_day{days}": checkpoints,
            }

        step(f"day {days} after days 2-{days - 1} on the bare path", last_day, results)

        def big_day() -> dict:
            copy = bench.copy(state, "big_day")
            landing = copy / "root" / "landing" / bench.day(1).isoformat()
            shutil.rmtree(landing)
            shutil.copytree(base / "big_landing" / "landing" / bench.day(1).isoformat(), landing)
            timed = bench.daily_job(copy, bench.day(1))
            shutil.rmtree(copy)
            return {
                "daily_big_s": timed.seconds,
                "rows_factor": args.big_rows / args.rows_per_day,
                "rows100x_vs_1x": timed.seconds / results["daily_2k_s"],
                "peak_rss_mib": timed.peak_rss_mib,
            }

        step(f"day 1 with {args.big_rows} rows", big_day, results)
        step("imports", lambda: import_figures(bench, max(3, repeat)), results)
        step("code location load under dagster dev", lambda: location_figures(bench, repeat), results)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    results["bench_seconds"] = time.monotonic() - started
    results["load_average_at_end"] = os.getloadavg()
    print_table(results)
    print(json.dumps(results, default=_round))
    return 0


def print_table(results: dict) -> None:
    days = results["days"]
    rows = [
        ("daily_vs_bare", results["daily_vs_bare"], "<= 1.25", "daily_job day 1 / bare script day 1"),
        ("day30_vs_day1", results["day30_vs_day1"], "<= 1.2", f"daily_job day {days} / day 1"),
        (
            "rows100x_vs_1x",
            results["rows100x_vs_1x"],
            "<= 8",
            f"daily_job {results['big_rows']} rows / {results['rows_per_day']} rows "
            f"(x{results['rows_factor']:.0f})",
        ),
        ("peak_rss_mib", results["peak_rss_mib"], "<= 6144", f"{results['big_rows']}-row day, process tree"),
        (
            "import_overhead_s",
            results["import_overhead_s"],
            "<= 3",
            "definitions - dagster + empty Definitions",
        ),
        (
            "location_load_overhead_s",
            results["location_load_overhead_s"],
            "<= 5",
            "project - one-asset project",
        ),
        ("model_logging_share", results["model_logging_share"], "<= 0.2", "log + register / training_job"),
        ("daily_2k_s", results["daily_2k_s"], "halve it", f"daily_job, {results['rows_per_day']} rows"),
    ]
    print(f"\n{results['mode']} mode, {results['repeat']} repetition(s), {results['bench_seconds']:.0f} s")
    print(f"{'figure':<26} {'value':>9}  {'target':<9} what")
    for name, value, target, what in rows:
        print(f"{name:<26} {value:>9.2f}  {target:<9} {what}")
    print(f"bare day 1 start (s): {json.dumps(results['bare_day1_start_s'])}")
    print(f"bare day 1 steps (s): {json.dumps(results['bare_day1_steps_s'])}")
    print(f"daily_job day 1 steps (s): {json.dumps(results['daily_day1_steps_s'])}")
    print(f"heaviest imports (s): {json.dumps(results['import_heaviest'], default=_round)}")


if __name__ == "__main__":
    sys.exit(main())
