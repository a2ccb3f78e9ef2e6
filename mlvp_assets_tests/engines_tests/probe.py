"""Driver programs the engine tests run in their own processes (a process holds one Spark session,
and the test process holds none), printing one JSON document on the last line of stdout.

``python -m mlvp_assets_tests.engines_tests.probe reference``
    the history's runs on local Spark in the ``test`` environment (``MLVP_DATA_ROOT``), in one
    process, and the row counts they leave;
``python -m mlvp_assets_tests.engines_tests.probe prod``
    a session from the ``prod`` resources (what a Dagster run on the cluster gets): where Python
    runs on an executor, the session's shipped archives, the row counts under the root, and which
    learner families of the price model fit, save as an MLflow model, load back and predict the
    same in that session (:func:`learner_families`).

Run as ``__main__``, so cloudpickle ships :func:`where_python_runs` by value: the executor needs
nothing from the test package, only what the session shipped.
"""

from __future__ import annotations

import json
import pathlib
import sys
import time
from collections.abc import Iterator

import pandas as pd


def where_python_runs(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """On an executor: the interpreter, where ``mlvp_assets`` and pandas come from, and the
    working folder (``mapInPandas`` body)."""
    import os
    import sys

    import mlvp_assets
    import mlvp_assets.bronze.landing_csv  # what the ingestion runs there

    for _ in batches:
        yield pd.DataFrame(
            {
                "executable": [sys.executable],
                "package": [mlvp_assets.__file__],
                "pandas": [pd.__file__],
                "cwd": [os.getcwd()],
            }
        )


def reference() -> dict:
    from mlvp_assets.definitions import build_definitions
    from mlvp_assets.resources.storage import StorageResource
    from mlvp_assets_tests.engines_tests.history import RUNS, run_label, table_counts

    defs = build_definitions("test")
    seconds = {}
    for job, partition in RUNS:
        started = time.perf_counter()
        result = defs.resolve_job_def(job).execute_in_process(partition_key=partition, raise_on_error=False)
        seconds[run_label(job, partition)] = round(time.perf_counter() - started, 1)
        if not result.success:
            raise SystemExit(f"{run_label(job, partition)} failed in the test environment")
    storage: StorageResource = defs.resources["storage"]
    spark = defs.resources["spark"].spark_session
    return {"counts": table_counts(spark, storage.table_path), "seconds": seconds}


def prod() -> dict:
    from mlvp_assets import files
    from mlvp_assets.environments import resources_for
    from mlvp_assets.resources.storage import StorageResource
    from mlvp_assets.settings import MLFLOW_DFS_TMP, STORAGE_ROOT
    from mlvp_assets_tests.engines_tests.history import table_counts

    # As a Dagster run initialises it: EnvVar fields (credentials, the endpoint) resolved.
    spark_resource = resources_for("prod")["spark"].process_config_and_initialize()
    started = time.perf_counter()
    spark = spark_resource.spark_session
    session_seconds = time.perf_counter() - started
    executor = (
        spark.range(1, numPartitions=1)
        .mapInPandas(where_python_runs, "executable string, package string, pandas string, cwd string")
        .collect()[0]
        .asDict()
    )
    root = STORAGE_ROOT.required("the probe")
    storage = StorageResource(root=root)
    staging = MLFLOW_DFS_TMP.value() or files.join(root, "mlflow", "dfs_tmp")
    return {
        "learner_families": learner_families(spark, staging),
        "executor": executor,
        "spark_archives": spark.conf.get("spark.archives", ""),
        "master": spark.conf.get("spark.master"),
        "session_seconds": round(session_seconds, 1),
        "counts": table_counts(spark, storage.table_path),
    }


# Small learners: the question is whether each family goes through on the engine, not how well.
SMALL_LEARNERS = {
    "random_forest": {"num_trees": 5, "max_depth": 4},
    "gbt": {"max_iter": 6, "max_depth": 3},
    "xgboost": {"n_estimators": 20, "max_depth": 3},
}


def learner_families(spark, staging_dir: str) -> dict:
    """Each learner family fitted (with early stopping where it has it) on simulated listings in
    ``spark``, logged as an MLflow model through ``staging_dir`` (as ``price_model`` logs it; the
    tracking store is a scratch SQLite file), loaded back and compared with the fitted model's
    predictions. Per family: ``ok`` and the largest prediction difference, or the error."""
    import tempfile
    import traceback

    import mlflow

    from mlvp_assets.gold.transform import enrich_listings
    from mlvp_assets.ml.features import PREDICTION, ForestParams, GBTParams, LearnerFamily, XGBoostParams
    from mlvp_assets.ml.spark_model import load_spark_model, log_spark_model
    from mlvp_assets.ml.training import TrainingSettings, fit_price_model, model_pip_requirements
    from mlvp_assets.schema import LISTING_ID
    from mlvp_assets_tests.ml_tests.conftest import simulated_listings

    params = {
        LearnerFamily.RANDOM_FOREST: ForestParams(**SMALL_LEARNERS["random_forest"], max_bins=64),
        LearnerFamily.GBT: GBTParams(**SMALL_LEARNERS["gbt"], max_bins=64),
        LearnerFamily.XGBOOST: XGBoostParams(**SMALL_LEARNERS["xgboost"]),
    }
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="mlvp-families-") as scratch:
        rows = enrich_listings(simulated_listings(spark, pathlib.Path(scratch), days=1, rows_per_day=300))
        tracking_uri = f"sqlite:///{scratch}/mlflow.db"
        mlflow.set_tracking_uri(tracking_uri)
        for family, family_params in params.items():
            started = time.perf_counter()
            try:
                model = fit_price_model(rows, family_params, TrainingSettings(), early_stopping=True)
                fitted = model.transform(rows).select(LISTING_ID, PREDICTION).toPandas()
                with mlflow.start_run(run_name=family.value):
                    info = log_spark_model(
                        model,
                        artifact_path="model",
                        signature=None,
                        input_example=None,
                        pip_requirements=model_pip_requirements(),
                        staging_dir=staging_dir,
                    )
                loaded = load_spark_model(info.model_uri, tracking_uri, staging_dir=staging_dir)
                reloaded = loaded.transform(rows).select(LISTING_ID, PREDICTION).toPandas()
                compared = fitted.merge(reloaded, on=LISTING_ID, suffixes=("_fitted", "_loaded"))
                results[family.value] = {
                    "ok": len(compared) == len(fitted) == len(reloaded) > 0,
                    "rows": len(compared),
                    "max_abs_difference": float(
                        (compared[f"{PREDICTION}_fitted"] - compared[f"{PREDICTION}_loaded"]).abs().max()
                    ),
                }
            except Exception as error:  # what fails where is the answer, not a reason to stop
                results[family.value] = {
                    "ok": False,
                    "error": f"{type(error).__name__}: {error}"[:2000],
                    "where": traceback.format_exc(limit=-3)[-2000:],
                }
            results[family.value]["seconds"] = round(time.perf_counter() - started, 1)
    return results


def main(argv: list[str]) -> int:
    commands = {"reference": reference, "prod": prod}
    if len(argv) != 1 or argv[0] not in commands:
        print(
            f"usage: python -m mlvp_assets_tests.engines_tests.probe {{{'|'.join(commands)}}}",
            file=sys.stderr,
        )
        return 2
    print(json.dumps(commands[argv[0]]()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
