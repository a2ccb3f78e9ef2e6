"""The one simulated history every engine test runs, and what the test environment makes of it.

Three landing days (the third drifted). Every engine runs the same jobs on them: ``medallion_job``
for days 1 and 2, ``training_job``, ``daily_job`` for day 3; the row counts per table and day must
equal those of the same jobs on local Spark in the ``test`` environment (:func:`local_reference`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from mlvp_assets.names import (
    BRONZE_TABLE,
    DATA_DRIFT_LOG,
    GOLD_TABLE,
    MODEL_DRIFT_LOG,
    PREDICTIONS_TABLE,
    QUARANTINE_TABLE,
    SILVER_TABLE,
    UNSEEN_TABLE,
)
from mlvp_assets.schema import PARTITION_COLUMN

DAY_1 = dt.date(2026, 1, 1)
DAYS = tuple((DAY_1 + dt.timedelta(days=offset)).isoformat() for offset in range(3))
MEDALLION_DAYS, DAILY_DAY = DAYS[:2], DAYS[2]
ROWS_PER_DAY = 400
DRIFT = ("shift", "new_category", "new_column")

# (job, partition) in the order every engine runs them.
RUNS: tuple[tuple[str, str | None], ...] = (
    *(("medallion_job", day) for day in MEDALLION_DAYS),
    ("training_job", None),
    ("daily_job", DAILY_DAY),
)

COUNTED_TABLES = (
    BRONZE_TABLE,
    SILVER_TABLE,
    QUARANTINE_TABLE,
    GOLD_TABLE,
    PREDICTIONS_TABLE,
    UNSEEN_TABLE,
    DATA_DRIFT_LOG,
    MODEL_DRIFT_LOG,
)

Counts = dict[str, dict[str, int]]  # table -> landing day -> rows


ERROR_RATES = (("null_required", 0.01), ("text_in_numeric", 0.01), ("duplicate_row", 0.01))


def simulate_command(python: str, root: str) -> list[str]:
    """The simulator's command line for the history (the README shows it)."""
    return [
        python, "-m", "mlvp_assets.simulate", "--root", root, "--days", str(len(DAYS)),
        "--rows-per-day", str(ROWS_PER_DAY),
        *(arg for kind, rate in ERROR_RATES for arg in ("--error-rate", f"{kind}={rate}")),
        "--drift-from", DAYS[2], *(arg for kind in DRIFT for arg in ("--drift", kind)),
    ]  # fmt: skip


def land_history(root: Path) -> None:
    """Write the history's landing files under ``root/landing``, with the simulator's command line."""
    from mlvp_assets import simulate

    assert simulate.main(simulate_command("python", str(root))[3:]) == 0


def table_counts(spark, table_path: Callable[[str], str]) -> Counts:
    """Rows per landing day of every counted table (a table that does not exist counts nothing)."""
    from mlvp_assets.delta_tables import read_table, table_exists

    counts: Counts = {}
    for table in COUNTED_TABLES:
        path = table_path(table)
        if not table_exists(spark, path):
            counts[table] = {}
            continue
        rows = read_table(spark, path).groupBy(PARTITION_COLUMN).count().collect()
        counts[table] = {str(row[PARTITION_COLUMN]): int(row["count"]) for row in rows}
    return counts


def history_counts(counts: Counts) -> Counts:
    """``counts`` restricted to the history's days (a table's other days are none of its business)."""
    return {
        table: {day: rows for day, rows in by_day.items() if day in DAYS} for table, by_day in counts.items()
    }


def assert_counts_equal_the_reference(engine: Counts, reference: Counts) -> None:
    """The engine's rows per table and day over the history equal the test environment's, and the
    reference covers what the jobs write: gold for every day, predictions and drift for the daily day."""
    engine, reference = history_counts(engine), history_counts(reference)
    assert reference[GOLD_TABLE].keys() == set(DAYS)
    assert reference[PREDICTIONS_TABLE].keys() == {DAILY_DAY}
    assert reference[DATA_DRIFT_LOG].keys() == reference[MODEL_DRIFT_LOG].keys() == {DAILY_DAY}
    assert engine == reference


@dataclasses.dataclass(frozen=True)
class Reference:
    counts: Counts
    seconds: dict[str, float]  # job[:partition] -> wall time of its run


def run_label(job: str, partition: str | None) -> str:
    return f"{job}:{partition}" if partition else job
