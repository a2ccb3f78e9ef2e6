"""The headless demo behind ``make demo``: simulate a few landing days, materialize the graph
for each of them on the current environment (dev by default), and say where the tables are.

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
from mlvp_assets.jobs import medallion_job
from mlvp_assets.partitions import FIRST_LANDING_DAY
from mlvp_assets.resources import current_env
from mlvp_assets.simulate import ERROR_TYPES, simulate_landing


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mlvp_assets.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--rows-per-day", type=int, default=2000)
    parser.add_argument("--start-date", type=dt.date.fromisoformat, default=dt.date.fromisoformat(FIRST_LANDING_DAY))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--error-rate", type=float, default=0.01, help="rate of each injected error type")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = current_env()
    defs = build_definitions(env)
    storage = defs.resources["storage"]
    if not storage.is_local:
        print(f"the demo writes landing files locally; storage root {storage.root!r} is not local", file=sys.stderr)
        return 2
    simulation = simulate_landing(
        storage.local_root,
        args.start_date,
        days=args.days,
        rows_per_day=args.rows_per_day,
        seed=args.seed,
        error_rates=dict.fromkeys(ERROR_TYPES, args.error_rate),
    )
    print(f"simulated {len(simulation.files)} landing files under {storage.landing_root}")

    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    job = defs.resolve_job_def(medallion_job.name)
    for offset in range(args.days):
        day = (args.start_date + dt.timedelta(days=offset)).isoformat()
        result = job.execute_in_process(partition_key=day, instance=instance, raise_on_error=False)
        print(f"{job.name} for {day}: {'succeeded' if result.success else 'FAILED'} (run {result.run_id})")
        if not result.success:
            return 1
    print(f"environment {env}; Delta tables under {os.path.join(storage.local_root, 'warehouse')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
