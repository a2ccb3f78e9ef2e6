"""Simulated days through the whole daily flow: medallion, training, predictions, monitoring.

Shared by the monitoring tests (module-scoped: a run of several days takes minutes).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import dagster as dg

from mlvp_assets.definitions import build_definitions
from mlvp_assets.schema import LANDING_COLUMNS
from mlvp_assets.simulate import simulate_landing
from mlvp_assets_tests.factories import csv_text, listing, write_landing_file
from mlvp_assets_tests.hostile import HOSTILE_VALUES

DAY_1 = dt.date(2026, 1, 1)
DAYS = [DAY_1 + dt.timedelta(days=offset) for offset in range(4)]
ROWS_PER_DAY = 500
DRIFTED_DAY = DAYS[2]  # shifted features, a new neighbourhood, an extra column; and hostile.csv
PRICE_SHIFTED_DAY = DAYS[3]  # prices x1.6, features as on the first days

# A file of the drifted day whose values are HTML or script: in neighbourhood_cleansed and
# property_type of valid listings (they reach gold; the model knows neither value, so every one is
# in unseen_listings, the unseen-values chart and the drift report's category charts), and as the
# names of new columns (rescued into _rescued_data, named on the dashboard). Few rows, so the
# day's other figures stay as they were; enough per value to rank in the top unseen values.
HOSTILE_FILE = "hostile.csv"
HOSTILE_CELL_VALUES = HOSTILE_VALUES[:2] + HOSTILE_VALUES[3:4]  # element, script end, attribute end
HOSTILE_ROWS_PER_VALUE = 5
HOSTILE_COLUMNS = ("neighbourhood_cleansed", "property_type")


def hostile_listings() -> dict[str, dict[str, str | None]]:
    """listing_id -> the row of the hostile file (landing columns, then the hostile columns)."""
    rows = {}
    for value_index, value in enumerate(HOSTILE_CELL_VALUES):
        for row in range(HOSTILE_ROWS_PER_VALUE):
            listing_id = f"HOSTILE{value_index}{row}"
            rescued = {name: f"{listing_id} {name}" for name in HOSTILE_VALUES}
            rows[listing_id] = listing(listing_id, **dict.fromkeys(HOSTILE_COLUMNS, value), **rescued)
    return rows


def land_hostile_file(root: Path) -> None:
    header = [*LANDING_COLUMNS, *HOSTILE_VALUES]
    write_landing_file(
        root, DRIFTED_DAY.isoformat(), HOSTILE_FILE, csv_text(list(hostile_listings().values()), header)
    )


@dataclasses.dataclass
class SimulatedDays:
    root: Path
    defs: dg.Definitions
    training: dg.ExecuteInProcessResult
    daily: dict[str, dg.ExecuteInProcessResult]  # partition key -> run of the monitoring assets

    def checks(self, day: dt.date) -> dict[str, dg.AssetCheckEvaluation]:
        return {e.check_name: e for e in self.daily[day.isoformat()].get_asset_check_evaluations()}


def land_simulated_days(root: Path) -> None:
    """Days 1-3 with drift from day 3, and the hostile file on day 3; day 4 from a run whose only
    drift is shifted prices."""
    simulate_landing(
        root,
        DAY_1,
        days=3,
        rows_per_day=ROWS_PER_DAY,
        drift_from=DRIFTED_DAY,
        drift=("shift", "new_category", "new_column"),
    )
    scratch = root / "price_shift_simulation"
    simulate_landing(
        scratch,
        DAY_1,
        days=4,
        rows_per_day=ROWS_PER_DAY,
        drift_from=PRICE_SHIFTED_DAY,
        drift=("price_shift",),
    )
    shutil.copytree(
        scratch / "landing" / PRICE_SHIFTED_DAY.isoformat(), root / "landing" / PRICE_SHIFTED_DAY.isoformat()
    )
    shutil.rmtree(scratch)
    land_hostile_file(root)


def run_simulated_days(root: Path) -> SimulatedDays:
    """Medallion for days 1-2, train and promote a champion, then the daily job for every day.

    Needs MLVP_ENV=test and MLVP_DATA_ROOT=root in the environment (the definitions read them).
    """
    land_simulated_days(root)
    defs = build_definitions("test")
    medallion = defs.resolve_job_def("medallion_job")
    for day in DAYS[:2]:
        assert medallion.execute_in_process(partition_key=day.isoformat()).success
    training = defs.resolve_job_def("training_job").execute_in_process(raise_on_error=False)
    daily_job = defs.resolve_job_def("daily_job")
    daily = {
        day.isoformat(): daily_job.execute_in_process(partition_key=day.isoformat(), raise_on_error=False)
        for day in DAYS
    }
    return SimulatedDays(root, defs, training, daily)
