"""The headless demo behind ``make demo``: simulate a few landing days (the last one drifted),
then run the project as a team would on the current environment (dev by default): the medallion
job for the first day, ``training_job`` to train and promote a champion, and ``daily_job`` for
every day. It ends by saying where the tables, reports and dashboard are.

``python -m mlvp_assets.demo --days 3 --rows-per-day 2000``
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence

import dagster as dg

from mlvp_assets.definitions import build_definitions
from mlvp_assets.environments import current_env
from mlvp_assets.jobs import daily_job, medallion_job, training_job
from mlvp_assets.ml.run_config import training_run_config
from mlvp_assets.partitions import FIRST_LANDING_DAY
from mlvp_assets.settings import DAGSTER_HOME
from mlvp_assets.simulate import ERROR_TYPES, simulate_landing

DEMO_DRIFT = ("shift", "new_category", "new_column")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mlvp_assets.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--rows-per-day", type=int, default=2000)
    parser.add_argument(
        "--start-date", type=dt.date.fromisoformat, default=dt.date.fromisoformat(FIRST_LANDING_DAY)
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--error-rate", type=float, default=0.01, help="rate of each injected error type")
    parser.add_argument("--no-drift", action="store_true", help="do not drift the last day")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = current_env()
    defs = build_definitions(env)
    storage = (defs.resources or {})["storage"]
    if not storage.is_local:
        print(
            f"the demo writes landing files locally; storage root {storage.root!r} is not local",
            file=sys.stderr,
        )
        return 2
    simulation = simulate_landing(
        storage.local_root,
        args.start_date,
        days=args.days,
        rows_per_day=args.rows_per_day,
        seed=args.seed,
        error_rates=dict.fromkeys(ERROR_TYPES, args.error_rate),
        drift_from=None
        if args.no_drift or args.days < 2
        else args.start_date + dt.timedelta(days=args.days - 1),
        drift=() if args.no_drift or args.days < 2 else DEMO_DRIFT,
    )
    print(f"simulated {len(simulation.files)} landing files under {storage.landing_root}")

    instance = dg.DagsterInstance.get() if DAGSTER_HOME.is_set() else dg.DagsterInstance.ephemeral()
    days = [(args.start_date + dt.timedelta(days=offset)).isoformat() for offset in range(args.days)]
    runs = [
        (medallion_job.name, days[0], None),  # gold for the first training set
        (training_job.name, None, training_run_config(env)),
        *((daily_job.name, day, None) for day in days),
    ]
    for name, day, run_config in runs:
        result = defs.resolve_job_def(name).execute_in_process(
            partition_key=day, run_config=run_config, instance=instance, raise_on_error=False
        )
        print(
            f"{name}{f' for {day}' if day else ''}: {'succeeded' if result.success else 'FAILED'} "
            f"(run {result.run_id})"
        )
        if not result.success:
            return 1
    root = storage.local_root
    print(f"environment {env}; Delta tables under {os.path.join(root, 'warehouse')}")
    print(f"drift reports under {os.path.join(root, 'reports')}; MLflow under {os.path.join(root, 'mlflow')}")
    print(f"dashboard: file://{os.path.join(root, 'dashboard', 'latest.html')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
