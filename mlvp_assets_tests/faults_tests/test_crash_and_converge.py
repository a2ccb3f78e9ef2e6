"""Crash anywhere, converge (issue 14): runs of ``daily_job`` and ``training_job`` killed with
SIGKILL at chosen points, then run again as a user (or Dagster's retry) would, leave what an
uninterrupted run leaves.

The history every test starts from (``history``, built once in this process): two simulated landing
days of ``ROWS_PER_DAY`` rows with a few broken rows (quarantined) and duplicates; day 1 through
``medallion_job``, ``training_job`` (the champion) and ``daily_job``'s scoring asset, so that
``unseen_listings`` already holds a day (writing day 2 into it is a MERGE, not its creation);
day 2 landed with neighbourhoods the model never saw (unseen rows to MERGE). The reference is a
copy of it on which ``daily_job`` ran day 2 once, uninterrupted.

Each crashed run is ``dagster job execute`` in a process group of its own
(:mod:`mlvp_assets_tests.faults_tests.crashing_runs`), killed whole, its Spark JVM with it. The
points, none chosen by a timer:

* ``bronze.written`` (a crash point in ``ingest_landing_day``): the day's rows are committed to
  bronze and their ``ingestion_log`` entries are not;
* in the middle of the silver write: the test watches the day's folder of ``silver_listings`` and
  freezes the run when the first new data file appears, confirms no silver commit was made, and
  kills it; the files written stay behind as orphans;
* ``silver.written`` (a crash point between the two writes of the silver asset): silver holds
  the day, the quarantine does not;
* in the middle of the MERGE into ``unseen_listings``, watched the same way.

A Delta commit is one atomic file in ``_delta_log``, so a write is either committed or not; the
two watched kills prove that a write cut off after its data files and before its commit leaves
nothing a reader or the next run sees, and the crash points cover the moments between two
commits, which a watcher cannot hit.

``training_job`` is killed at ``model.registered``: the new version holds the ``challenger`` alias
and its champion check (``challenger_beats_champion``) has not run. The ``champion`` alias must
not have moved, and after a normal re-run it must name a version whose check passed.

Compared with the reference: every Delta table's rows as a multiset (a duplicate counts twice)
without the columns that say when a run wrote a row (``crashing_runs.RUN_SPECIFIC_COLUMNS``:
``_ingested_at``, ``_quarantined_at``, ``logged_at``, ``recorded_at``, ``scored_at``,
``evaluated_at``; a re-run writes them anew and the reference ran at another time) and with the
storage root written as ``<root>`` (report paths name it); every landing file logged once, as
ingested, its rows once in bronze; bronze rows = silver + quarantined + duplicates removed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import pytest

from mlvp_assets.bronze.ingest import Status
from mlvp_assets.bronze.landing_csv import SOURCE_FILE
from mlvp_assets.crash_points import BRONZE_WRITTEN, MODEL_REGISTERED, SILVER_WRITTEN
from mlvp_assets.definitions import build_definitions
from mlvp_assets.delta_tables import read_table
from mlvp_assets.ml.registry import CHALLENGER, CHAMPION, aliased_versions
from mlvp_assets.names import (
    BRONZE_TABLE,
    DATA_QUALITY_LOG,
    GOLD_TABLE,
    INGESTION_LOG,
    PREDICTIONS_TABLE,
    QUARANTINE_TABLE,
    SILVER_TABLE,
    TRAINING_SET_TABLE,
    UNSEEN_TABLE,
)
from mlvp_assets.resources.mlflow import model_registry_for
from mlvp_assets.schema import PARTITION_COLUMN
from mlvp_assets.silver.assets import DUPLICATE_RULE
from mlvp_assets.simulate import SimulationResult, simulate_landing
from mlvp_assets_tests.conftest import DAY_1
from mlvp_assets_tests.faults_tests.crashing_runs import (
    DeltaWrite,
    Run,
    comparable_rows,
    job_command,
    job_env,
    new_dagster_home,
    run_job,
)

pytestmark = [pytest.mark.faults, pytest.mark.slow]

DAY_2 = DAY_1 + dt.timedelta(days=1)
ROWS_PER_DAY = 300
ERROR_RATES = {"null_required": 0.02, "out_of_range": 0.02, "duplicate_row": 0.02}
PROMOTION_DECISION = "promotion_decision"  # the tag ml.registry.record_decision writes


@dataclasses.dataclass(frozen=True)
class History:
    base: Path  # day 1 through daily_job with its champion; day 2 landed, not run
    reference: Path  # the base, then daily_job for day 2, uninterrupted
    simulation: SimulationResult

    def landing_files(self, day: dt.date) -> dict[str, int]:
        """Name -> data lines of the day's landing files (the same under every copy of the base)."""
        return {
            path.name: rows
            for path, rows in self.simulation.rows_per_file.items()
            if path.parent.name == day.isoformat()
        }


def _execute(root: Path, runs: list[tuple[str, dt.date | None, list[dg.AssetKey] | None]]) -> None:
    """Run jobs (or some of their assets) in this process, on this test session's Spark, with the
    test environment on ``root``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLVP_ENV", "test")
        patch.setenv("MLVP_DATA_ROOT", str(root))
        patch.delenv("MLVP_CRASH_AT", raising=False)
        defs = build_definitions("test")
        for job, day, assets in runs:
            result = defs.resolve_job_def(job).execute_in_process(
                partition_key=day.isoformat() if day else None,
                asset_selection=assets,
                instance=dg.DagsterInstance.ephemeral(),
                raise_on_error=False,
            )
            assert result.success, f"{job} {day} failed on {root}"


@pytest.fixture(scope="module")
def history(spark, tmp_path_factory) -> History:
    work = tmp_path_factory.mktemp("crash_history")
    base, reference = work / "base", work / "reference"
    simulation = simulate_landing(
        base,
        DAY_1,
        days=2,
        rows_per_day=ROWS_PER_DAY,
        error_rates=ERROR_RATES,
        drift_from=DAY_2,
        drift=("new_category",),
    )
    scoring = [dg.AssetKey(PREDICTIONS_TABLE), dg.AssetKey(UNSEEN_TABLE)]
    _execute(
        base, [("medallion_job", DAY_1, None), ("training_job", None, None), ("daily_job", DAY_1, scoring)]
    )
    # The copies share the base's MLflow artifacts (the experiment's location is an absolute path
    # under the base), which they only read or add new runs to.
    shutil.copytree(base, reference)
    _execute(reference, [("daily_job", DAY_2, None)])
    return History(base, reference, simulation)


def _table(root: Path, name: str) -> str:
    return str(root / "warehouse" / name)


def _tables(root: Path) -> set[str]:
    return {path.parent.parent.name for path in (root / "warehouse").glob("*/_delta_log/*.json")}


def assert_tables_equal_the_reference(spark, root: Path, reference: Path, tables) -> None:
    for name in tables:
        rows, expected = (
            comparable_rows(spark, _table(root, name), root),
            comparable_rows(spark, _table(reference, name), reference),
        )
        assert expected, f"the reference has no rows of {name}: nothing would be compared"
        missing, extra = expected - rows, rows - expected
        assert not missing and not extra, (
            f"{name} differs from the uninterrupted run's: {sum(missing.values())} row(s) missing, "
            f"{sum(extra.values())} extra (duplicates among them), e.g. "
            f"missing {list(missing)[:2]}, extra {list(extra)[:2]}"
        )


def day_rows(spark, root: Path, name: str, day: dt.date) -> int:
    return read_table(spark, _table(root, name)).where(f"{PARTITION_COLUMN} = DATE'{day}'").count()


def assert_each_landing_file_ingested_once(spark, root: Path, history: History) -> None:
    for day in (DAY_1, DAY_2):
        files = history.landing_files(day)
        logged = (
            read_table(spark, _table(root, INGESTION_LOG))
            .where(f"{PARTITION_COLUMN} = DATE'{day}'")
            .select("path", "status", "row_count")
            .collect()
        )
        assert sorted((Path(r.path).name, r.status, r.row_count) for r in logged) == sorted(
            (name, Status.INGESTED, rows) for name, rows in files.items()
        ), f"ingestion_log of {day}"
        bronze = read_table(spark, _table(root, BRONZE_TABLE)).where(f"{PARTITION_COLUMN} = DATE'{day}'")
        by_file = {
            Path(r[SOURCE_FILE]).name: r["count"] for r in bronze.groupBy(SOURCE_FILE).count().collect()
        }
        assert by_file == files, f"bronze rows per landing file of {day}"


def assert_rows_accounted_for(spark, root: Path, history: History) -> None:
    quality = read_table(spark, _table(root, DATA_QUALITY_LOG)).collect()
    for day in (DAY_1, DAY_2):
        duplicates = [r.failed_rows for r in quality if r.landing_date == day and r.rule == DUPLICATE_RULE]
        assert len(duplicates) == 1, f"{day}: {duplicates}"
        silver, quarantined = (day_rows(spark, root, name, day) for name in (SILVER_TABLE, QUARANTINE_TABLE))
        assert sum(history.landing_files(day).values()) == silver + quarantined + duplicates[0], day
        assert quarantined > 0 and duplicates[0] > 0, f"{day}: no broken or duplicate rows to account for"


def _crashed(run: Run, point: str) -> None:
    assert run.killed, f"the run was not killed at {point} (exit {run.returncode}):\n{run.log[-6000:]}"


def test_daily_job_killed_at_each_point_then_run_again_equals_an_uninterrupted_run(spark, history, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(history.base, root)
    home = new_dagster_home(tmp_path / "dagster_home")
    log = tmp_path / "runs.log"
    command, env = job_command("daily_job", DAY_2), job_env(root, home)
    seconds: dict[str, float] = {}
    day2_rows = sum(history.landing_files(DAY_2).values())

    # 1. Bronze committed, its ingestion_log entries not.
    run = run_job(command, job_env(root, home, crash_at=BRONZE_WRITTEN), log)
    seconds[BRONZE_WRITTEN] = run.seconds
    _crashed(run, BRONZE_WRITTEN)
    assert day_rows(spark, root, BRONZE_TABLE, DAY_2) == day2_rows
    assert day_rows(spark, root, INGESTION_LOG, DAY_2) == 0

    # 2. Run again, killed while writing silver: data files of the day written, no commit.
    run = run_job(command, env, log, kill_during=DeltaWrite(Path(_table(root, SILVER_TABLE)), DAY_2))
    seconds["silver mid-write"] = run.seconds
    _crashed(run, "the silver write")
    assert run.crashed_write is not None and run.crashed_write.new_data_files, "no silver data file seen"
    assert not run.crashed_write.new_commits, "killed after the silver commit, not during the write"
    assert_tables_equal_the_reference(spark, root, history.reference, [BRONZE_TABLE, INGESTION_LOG])
    assert day_rows(spark, root, SILVER_TABLE, DAY_2) == 0  # the orphan files are not read

    # 3. Run again, killed between the silver commit and the quarantine write.
    run = run_job(command, job_env(root, home, crash_at=SILVER_WRITTEN), log)
    seconds[SILVER_WRITTEN] = run.seconds
    _crashed(run, SILVER_WRITTEN)
    assert_tables_equal_the_reference(spark, root, history.reference, [SILVER_TABLE])
    assert day_rows(spark, root, QUARANTINE_TABLE, DAY_2) == 0

    # 4. Run again, killed in the middle of the MERGE into unseen_listings.
    run = run_job(command, env, log, kill_during=DeltaWrite(Path(_table(root, UNSEEN_TABLE)), DAY_2))
    seconds["unseen MERGE mid-write"] = run.seconds
    _crashed(run, "the unseen_listings MERGE")
    assert run.crashed_write is not None and run.crashed_write.new_data_files, "no unseen data file seen"
    assert not run.crashed_write.new_commits, "killed after the MERGE committed, not during it"
    assert_tables_equal_the_reference(
        spark, root, history.reference, [QUARANTINE_TABLE, GOLD_TABLE, PREDICTIONS_TABLE]
    )
    assert day_rows(spark, root, UNSEEN_TABLE, DAY_2) == 0

    # 5. Run again to the end: everything as if nothing had happened.
    run = run_job(command, env, log)
    seconds["uninterrupted re-run"] = run.seconds
    assert run.returncode == 0, run.log[-6000:]
    print("\n" + ", ".join(f"{step} {took:.0f} s" for step, took in seconds.items()))

    assert _tables(root) == _tables(history.reference)
    assert_tables_equal_the_reference(spark, root, history.reference, sorted(_tables(history.reference)))
    assert_each_landing_file_ingested_once(spark, root, history)
    assert_rows_accounted_for(spark, root, history)


def test_training_job_killed_after_registering_never_makes_the_unchecked_version_champion(
    spark, history, tmp_path
):
    root = tmp_path / "root"
    shutil.copytree(history.base, root)
    home = new_dagster_home(tmp_path / "dagster_home")
    log = tmp_path / "runs.log"
    registry = model_registry_for("test", str(root))
    client, name = registry.client(), registry.model_name
    champion_before = aliased_versions(client, name)[CHAMPION]

    run = run_job(job_command("training_job"), job_env(root, home, crash_at=MODEL_REGISTERED), log)
    _crashed(run, MODEL_REGISTERED)
    crashed_seconds = run.seconds
    aliases = aliased_versions(client, name)
    unchecked = aliases.get(CHALLENGER)
    assert unchecked is not None and unchecked != champion_before, f"no new version registered: {aliases}"
    assert aliases[CHAMPION] == champion_before, "the champion moved before its check ran"
    assert PROMOTION_DECISION not in client.get_model_version(name, unchecked).tags

    run = run_job(job_command("training_job"), job_env(root, home), log)
    assert run.returncode == 0, run.log[-6000:]
    print(f"\ntraining_job killed at {MODEL_REGISTERED} after {crashed_seconds:.0f} s")
    print(f"training_job re-run {run.seconds:.0f} s")

    versions = {str(v.version): v for v in client.search_model_versions(f"name = '{name}'")}
    retrained = max(versions, key=int)
    assert int(retrained) > int(unchecked), "the re-run registered no new version"
    assert PROMOTION_DECISION in versions[retrained].tags, "the re-run's champion check did not run"
    champion = aliased_versions(client, name)[CHAMPION]
    assert champion != unchecked
    assert versions[champion].tags.get(PROMOTION_DECISION) == "promoted", (
        f"champion {champion} is a version whose check did not pass: {versions[champion].tags}"
    )
    assert PROMOTION_DECISION not in versions[unchecked].tags and not versions[unchecked].aliases
    assert comparable_rows(spark, _table(root, TRAINING_SET_TABLE), root) == comparable_rows(
        spark, _table(history.base, TRAINING_SET_TABLE), history.base
    )
