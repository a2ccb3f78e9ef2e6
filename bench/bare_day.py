"""The bare limit of ``daily_job``: the same day's work with no Dagster run, in one process and one
Spark session.

It calls the project's own plain functions in the order ``daily_job`` runs its assets, and writes
the same Delta tables, reports and dashboard pages under the same storage root:

1. **bronze**: ``ingest_landing_day`` (new landing files of the day, ``ingestion_log``), the
   source's column changes, the bronze rules into ``data_quality_log``;
2. **silver**: flag, type, deduplicate, quarantine, the rule counts and the duplicates into
   ``data_quality_log``, the row accounting and the Pandera ``SilverListing`` contract;
3. **gold**: ``enrich_listings`` and the blocking Pandera ``GoldListing`` contract (a failure, or a
   day without gold rows, ends the day there, as in ``daily_job``);
4. **predictions**: the champion scores the day, the unscorable rows are upserted into
   ``unseen_listings``, and the coverage is counted;
5. **data_drift**, 6. **model_drift**: the Evidently reports and their log rows;
7. **dashboard**: the day's page and ``latest.html``.

What it leaves out is what only Dagster asks for: metadata (row counts for ``dagster/row_count``,
column schemas, Delta versions) and the check and materialization events. A step the run would
compute once and the assets compute twice is computed once here: the champion is loaded once and
serves the model drift report too. Steps 4 to 7 call the very functions the assets call
(``score_day`` and :mod:`mlvp_assets.monitoring.daily`).

It is the limit that ``bench/daily.py`` divides ``daily_job`` by; ``mlvp_assets_tests/bench_tests``
checks that it writes the same rows as ``daily_job``.

    python bench/bare_day.py --root /tmp/root --day 2026-01-02                  # one day, dev settings
    python bench/bare_day.py --root /tmp/root --day 2026-01-02 --day 2026-01-03 # days in turn, one session
    python bench/bare_day.py --root /tmp/root --day 2026-01-01 --through gold   # the medallion layers only

The last line it prints is one JSON object per day with the seconds of each step.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Sequence

STARTED = time.monotonic()

import mlflow  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402

from mlvp_assets.bronze.ingest import day_source_changes, ingest_landing_day  # noqa: E402
from mlvp_assets.bronze.rules import BRONZE_RULES  # noqa: E402
from mlvp_assets.delta_tables import read_partition, replace_partition  # noqa: E402
from mlvp_assets.gold.rules import GOLD_RULES  # noqa: E402
from mlvp_assets.gold.transform import enrich_listings  # noqa: E402
from mlvp_assets.monitoring.assets import DashboardConfig, DriftConfig  # noqa: E402
from mlvp_assets.monitoring.daily import (  # noqa: E402
    champion_importances,
    now,
    write_dashboard,
    write_data_drift,
    write_model_drift,
)
from mlvp_assets.monitoring.scoring import Champion, load_champion, score_day  # noqa: E402
from mlvp_assets.names import (  # noqa: E402
    BRONZE_TABLE,
    DATA_QUALITY_LOG,
    GOLD_TABLE,
    INGESTION_LOG,
    PREDICTIONS_TABLE,
    QUARANTINE_TABLE,
    SILVER_TABLE,
    UNSEEN_TABLE,
)
from mlvp_assets.quality.contracts import GoldListing, SilverListing, contract_errors  # noqa: E402
from mlvp_assets.quality.log import record_rule_results  # noqa: E402
from mlvp_assets.quality.rules import Action, RuleResult, describe_failures, evaluate_rules  # noqa: E402
from mlvp_assets.resources.mlflow import ModelRegistryResource, model_registry_for  # noqa: E402
from mlvp_assets.resources.spark import build_spark_session, delta_spark_config  # noqa: E402
from mlvp_assets.resources.storage import StorageResource  # noqa: E402
from mlvp_assets.schema import LISTING_ID  # noqa: E402
from mlvp_assets.silver.assets import DUPLICATE_RULE  # noqa: E402
from mlvp_assets.silver.rules import SILVER_RULES  # noqa: E402
from mlvp_assets.silver.transform import (  # noqa: E402
    deduplicate_listings,
    flag_rule_failures,
    quarantined_rows,
    rule_failure_counts,
    typed_rows,
)

MEDALLION_STEPS = ("bronze", "silver", "gold")
DAILY_STEPS = (*MEDALLION_STEPS, "predictions", "data_drift", "model_drift", "dashboard")

# dev's session, exactly as mlvp_assets.environments._dev_resources configures it.
DEV_SPARK_CONFIG = delta_spark_config(master="local[*]", shuffle_partitions=8)


@dataclasses.dataclass
class Day:
    """One day's work and what its steps hand on to the next ones."""

    spark: SparkSession
    storage: StorageResource
    registry: ModelRegistryResource
    day: dt.date
    drift: DriftConfig = dataclasses.field(default_factory=DriftConfig)
    dashboard: DashboardConfig = dataclasses.field(default_factory=DashboardConfig)
    champion: Champion | None = None
    checks: dict[str, bool] = dataclasses.field(default_factory=dict)
    stopped: str | None = None  # why the day ended before its last step

    def path(self, table: str) -> str:
        return self.storage.table_path(table)

    def rows(self, table: str):
        return read_partition(self.spark, self.path(table), self.day)


def bronze(day: Day) -> None:
    ingested = ingest_landing_day(
        day.spark, day.storage.landing_dir(day.day), day.path(BRONZE_TABLE), day.path(INGESTION_LOG), day.day
    )
    changes = day_source_changes(day.spark, day.path(INGESTION_LOG), day.day)
    results = evaluate_rules(day.rows(BRONZE_TABLE), BRONZE_RULES)
    record_rule_results(day.spark, day.path(DATA_QUALITY_LOG), day.day, BRONZE_TABLE, results)
    day.checks["landing_files_are_readable"] = not ingested.rejected
    day.checks["source_schema_is_unchanged"] = not changes["missing"]


def silver(day: Day) -> None:
    flagged = flag_rule_failures(day.rows(BRONZE_TABLE)).cache()
    try:
        bronze_count = flagged.count()
        typed = typed_rows(flagged)
        replace_partition(deduplicate_listings(typed), day.path(SILVER_TABLE), day.day)
        replace_partition(quarantined_rows(flagged), day.path(QUARANTINE_TABLE), day.day, merge_schema=True)
        failures = rule_failure_counts(flagged)
        clean_count = typed.count()
    finally:
        flagged.unpersist()
    silver_rows = day.rows(SILVER_TABLE)
    silver_count, quarantine_count = silver_rows.count(), day.rows(QUARANTINE_TABLE).count()
    # As silver/assets.py builds them: one result per rule, and the duplicates removed.
    duplicates_removed = clean_count - silver_count
    results = [
        RuleResult(rule.name, rule.column, rule.action, failures.get(rule.name, 0), bronze_count)
        for rule in SILVER_RULES
    ]
    results.append(
        RuleResult(DUPLICATE_RULE, LISTING_ID, Action.DEDUPLICATE, duplicates_removed, bronze_count)
    )
    record_rule_results(day.spark, day.path(DATA_QUALITY_LOG), day.day, SILVER_TABLE, results)
    day.checks["row_accounting_balances"] = (
        bronze_count == silver_count + quarantine_count + duplicates_removed
    )
    day.checks["silver_listings_match_contract"] = not contract_errors(SilverListing, silver_rows)


def gold(day: Day) -> None:
    replace_partition(enrich_listings(day.rows(SILVER_TABLE)), day.path(GOLD_TABLE), day.day)
    gold_rows = day.rows(GOLD_TABLE)
    if gold_rows.count() == 0:
        day.stopped = "no gold rows: nothing to score or monitor"
        return
    failures = contract_errors(GoldListing, gold_rows)
    day.checks["gold_listings_match_contract"] = not failures
    if failures:  # blocking: nothing downstream of gold runs
        day.stopped = f"gold contract failed: {describe_failures(evaluate_rules(gold_rows, GOLD_RULES))}"


def predictions(day: Day) -> None:
    champion = day.champion = load_champion(day.registry.model_name, day.registry.client())
    paths = (day.path(GOLD_TABLE), day.path(PREDICTIONS_TABLE), day.path(UNSEEN_TABLE))
    scored = score_day(day.spark, champion, day.day, paths, now())
    day.checks["predictions_cover_gold"] = scored.coverage.complete


def data_drift_report(day: Day) -> None:
    config = day.drift
    importances = champion_importances(day.registry.client(), day.registry.model_name)
    write_data_drift(
        day.spark, day.storage, day.day, config.sample_cap, config.seed, config.drift_share, importances,
        config.top_features,
    )  # fmt: skip


def model_drift_report(day: Day) -> None:
    config = day.drift
    client = day.registry.client()
    write_model_drift(
        day.spark, day.storage, day.day, client, config.sample_cap, config.seed, config.error_tolerance,
        loaded=day.champion,
    )  # fmt: skip


def dashboard(day: Day) -> None:
    write_dashboard(day.spark, day.storage, day.day, day.dashboard.sample_cap, day.dashboard.seed)


STEPS: dict[str, Callable[[Day], None]] = {
    "bronze": bronze,
    "silver": silver,
    "gold": gold,
    "predictions": predictions,
    "data_drift": data_drift_report,
    "model_drift": model_drift_report,
    "dashboard": dashboard,
}


def run_day(
    spark: SparkSession,
    root: str,
    day: dt.date,
    env: str = "dev",
    steps: Sequence[str] = DAILY_STEPS,
) -> dict[str, object]:
    """``steps`` of ``day`` under the storage root ``root``, with the model registry of ``env``;
    returns the seconds per step, the checks' verdicts and why the day stopped early, if it did."""
    registry = model_registry_for(env, root)
    mlflow.set_tracking_uri(registry.tracking_uri)  # as the registry resource does for a run
    work = Day(spark, StorageResource(root=root), registry, day)
    seconds: dict[str, float] = {}
    for name in steps:
        started = time.monotonic()
        STEPS[name](work)
        seconds[name] = round(time.monotonic() - started, 2)
        if work.stopped:
            break
    return {"day": day.isoformat(), "seconds": seconds, "checks": work.checks, "stopped": work.stopped}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="the storage root (MLVP_DATA_ROOT of the run)")
    parser.add_argument("--day", action="append", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--env", default="dev", choices=("dev", "test"), help="whose model registry")
    parser.add_argument("--through", default="dashboard", choices=DAILY_STEPS, help="the last step")
    args = parser.parse_args(argv)
    steps = DAILY_STEPS[: DAILY_STEPS.index(args.through) + 1]
    imported = time.monotonic() - STARTED
    session_started = time.monotonic()
    spark = build_spark_session(DEV_SPARK_CONFIG)
    session_seconds = time.monotonic() - session_started
    try:
        days = []
        for day in args.day:
            days.append(run_day(spark, args.root, day, args.env, steps))
            print(json.dumps(days[-1]), flush=True)
    finally:
        spark.stop()
    print(json.dumps({"import_seconds": imported, "session_seconds": session_seconds, "days": days}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
