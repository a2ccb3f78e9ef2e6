"""``bench/bare_day.py``, the limit ``bench/daily.py`` divides ``daily_job`` by, does the same work:
from the same history (day 0 through gold, a champion trained on it), ``daily_job`` and the bare
script write the same rows for the same day into every table, and the same pages. Run-time
columns (timestamps) are left out and the storage root is masked in paths; everything else, the
scores and the drift figures included, must be equal. A bare day that skips a step is caught.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from types import ModuleType

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mlvp_assets.delta_tables import read_table, table_exists
from mlvp_assets.ml.registry import CHALLENGER, CHAMPION, aliased_versions
from mlvp_assets.names import (
    BRONZE_TABLE,
    DATA_DRIFT_LOG,
    DATA_QUALITY_LOG,
    GOLD_TABLE,
    INGESTION_LOG,
    MODEL_DRIFT_LOG,
    PREDICTIONS_TABLE,
    PRICE_MODEL,
    QUARANTINE_TABLE,
    SILVER_TABLE,
    TRAINING_SET_TABLE,
    UNSEEN_TABLE,
)
from mlvp_assets.resources.mlflow import model_registry_for
from mlvp_assets.resources.storage import StorageResource
from mlvp_assets.schema import PARTITION_COLUMN
from mlvp_assets.simulate import ERROR_TYPES, simulate_landing
from mlvp_assets_tests.bench_tests.scripts import load_bench_script
from mlvp_assets_tests.conftest import DAY_1

pytestmark = pytest.mark.slow

DAY_0, DAY = DAY_1, DAY_1 + dt.timedelta(days=1)  # the training day and the daily day
ROWS_PER_DAY = 200
TABLES = (
    BRONZE_TABLE,
    INGESTION_LOG,
    DATA_QUALITY_LOG,
    SILVER_TABLE,
    QUARANTINE_TABLE,
    GOLD_TABLE,
    TRAINING_SET_TABLE,
    PREDICTIONS_TABLE,
    UNSEEN_TABLE,
    DATA_DRIFT_LOG,
    MODEL_DRIFT_LOG,
)
PAGES = ("reports/data_drift/{day}.html", "reports/model_drift/{day}.html", "dashboard/{day}.html")
# The smallest training that registers a model; the champion only has to exist.
TRAINING = {
    "ops": {
        PRICE_MODEL: {
            "config": {
                "max_evals": 1,
                "num_trees_min": 5,
                "num_trees_max": 5,
                "max_depth_min": 4,
                "max_depth_max": 4,
            }
        }
    }
}


@pytest.fixture(scope="module")
def bare_day() -> ModuleType:
    """The script as a module (bench/ is not a package)."""
    return load_bench_script("bare_day")


def _dagster_env(patch: pytest.MonkeyPatch, root: Path) -> None:
    patch.setenv("MLVP_ENV", "test")
    patch.setenv("MLVP_DATA_ROOT", str(root))


@pytest.fixture(scope="module")
def history(tmp_path_factory, spark, bare_day) -> Path:
    """Day 0 through gold on the bare path and a champion; day 1 landed, with a new neighbourhood
    (rows the model cannot score) and every injected error type."""
    from mlvp_assets.definitions import build_definitions

    root = tmp_path_factory.mktemp("bare_day") / "history"
    simulate_landing(
        root,
        DAY_0,
        days=2,
        rows_per_day=ROWS_PER_DAY,
        error_rates=dict.fromkeys(ERROR_TYPES, 0.02),
        drift_from=DAY,
        drift=("new_category",),
    )
    bare_day.run_day(spark, str(root), DAY_0, env="test", steps=bare_day.MEDALLION_STEPS)
    with pytest.MonkeyPatch.context() as patch:
        _dagster_env(patch, root)
        build_definitions("test").resolve_job_def("training_job").execute_in_process(
            run_config=TRAINING, raise_on_error=False
        )
    registry = model_registry_for("test", str(root))
    client = registry.client()
    aliases = aliased_versions(client, registry.model_name)
    assert CHALLENGER in aliases or CHAMPION in aliases, aliases
    if CHAMPION not in aliases:  # a tiny forest may miss the promotion margin; any champion will do
        client.set_registered_model_alias(registry.model_name, CHAMPION, aliases[CHALLENGER])
    return root


@pytest.fixture(scope="module")
def roots(history, spark, bare_day) -> dict[str, Path]:
    """The same day from copies of the history: ``daily_job`` in one, the bare script in the other."""
    from mlvp_assets.definitions import build_definitions

    dagster_root = shutil.copytree(history, history.parent / "daily_job")
    with pytest.MonkeyPatch.context() as patch:
        _dagster_env(patch, dagster_root)
        result = (
            build_definitions("test")
            .resolve_job_def("daily_job")
            .execute_in_process(partition_key=DAY.isoformat())
        )
    assert result.success
    bare_root = shutil.copytree(history, history.parent / "bare")
    outcome = bare_day.run_day(spark, str(bare_root), DAY, env="test")
    assert outcome["stopped"] is None and all(outcome["checks"].values()), outcome
    return {"daily_job": dagster_root, "bare": bare_root}


def comparable(spark, root: Path, table: str) -> DataFrame | None:
    """The table's rows as JSON without timestamp columns, the storage root masked; None if absent."""
    path = StorageResource(root=str(root)).table_path(table)
    if not table_exists(spark, path):
        return None
    df = read_table(spark, path)
    kept = sorted(
        field.name
        for field in df.schema.fields
        if not isinstance(field.dataType, T.TimestampType | T.TimestampNTZType)
    )
    row = F.to_json(F.struct(*kept))
    return df.select(F.replace(row, F.lit(str(root)), F.lit("<root>")).alias("row"))


def table_differences(spark, first: Path, second: Path) -> dict[str, str]:
    """What differs between the tables of two roots, per table (empty when every row matches)."""
    found = {}
    for table in TABLES:
        left, right = comparable(spark, first, table), comparable(spark, second, table)
        if left is None or right is None:
            if (left is None) != (right is None):
                found[table] = f"only in {first.name if right is None else second.name}"
            continue
        only_left, only_right = left.exceptAll(right), right.exceptAll(left)
        counts = only_left.count(), only_right.count()
        if any(counts):
            samples = [row["row"] for row in only_left.limit(2).collect() + only_right.limit(2).collect()]
            found[table] = (
                f"{counts[0]} rows only in {first.name}, {counts[1]} only in {second.name}: {samples}"
            )
    return found


def test_bare_day_writes_the_rows_daily_job_writes(spark, roots):
    assert table_differences(spark, roots["daily_job"], roots["bare"]) == {}
    for root in roots.values():
        for page in PAGES:
            assert (root / page.format(day=DAY.isoformat())).is_file(), (root, page)
        assert (root / "dashboard" / "latest.html").is_file()
    day_rows = {  # the comparison is not vacuous: the day was scored, and some rows were unseen
        table: read_table(spark, StorageResource(root=str(roots["bare"])).table_path(table))
        .where(F.col(PARTITION_COLUMN) == F.lit(DAY))
        .count()
        for table in (PREDICTIONS_TABLE, UNSEEN_TABLE, QUARANTINE_TABLE, DATA_DRIFT_LOG, MODEL_DRIFT_LOG)
    }
    assert all(day_rows.values()), day_rows


def test_a_bare_day_that_skips_a_step_is_caught(spark, history, roots, bare_day):
    skipped = shutil.copytree(history, history.parent / "bare_without_data_drift")
    steps = [step for step in bare_day.DAILY_STEPS if step != "data_drift"]
    bare_day.run_day(spark, str(skipped), DAY, env="test", steps=steps)
    assert set(table_differences(spark, roots["daily_job"], skipped)) == {DATA_DRIFT_LOG}
