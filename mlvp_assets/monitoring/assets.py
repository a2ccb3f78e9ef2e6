"""Daily scoring and monitoring assets: ``daily_predictions`` and ``unseen_listings`` (group
``predictions``), ``data_drift_report``, ``model_drift_report`` and ``daily_dashboard`` (group
``monitoring``), with their checks. All are partitioned by landing day; the logic lives in
:mod:`scoring`, :mod:`drift` and :mod:`dashboard`, these functions only wire it to storage.
"""

import dataclasses
import datetime as dt
from pathlib import Path

import dagster as dg
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from mlvp_assets.delta_tables import (
    read_partition,
    read_table,
    replace_partition,
    table_exists,
    table_metadata,
    upsert,
)
from mlvp_assets.files import is_local_path, local_path, write_text
from mlvp_assets.ml.features import FEATURE_COLUMNS, PREDICTION, TARGET
from mlvp_assets.monitoring.dashboard import collect_dashboard_data, render_dashboard
from mlvp_assets.monitoring.drift import (
    DataDrift,
    ModelDrift,
    data_drift,
    day_error,
    model_drift,
    sample_to_pandas,
)
from mlvp_assets.monitoring.scoring import (
    coverage,
    load_champion,
    load_registered_version,
    score_listings,
    top_unseen_values,
)
from mlvp_assets.monitoring.scoring import (
    unseen_listings as find_unseen_listings,
)
from mlvp_assets.names import (
    DAILY_DASHBOARD,
    DATA_DRIFT_LOG,
    DATA_DRIFT_REPORT,
    DATA_QUALITY_LOG,
    GOLD_TABLE,
    INGESTION_LOG,
    MODEL_DRIFT_LOG,
    MODEL_DRIFT_REPORT,
    MONITORING_GROUP,
    PREDICTIONS_GROUP,
    PREDICTIONS_TABLE,
    PRICE_MODEL,
    TRAINING_SET_TABLE,
    UNSEEN_TABLE,
)
from mlvp_assets.partitions import daily_partitions, partition_day
from mlvp_assets.resources.mlflow import ModelRegistryResource
from mlvp_assets.resources.spark import DeltaSparkResource
from mlvp_assets.resources.storage import StorageResource
from mlvp_assets.schema import LISTING_ID, PARTITION_COLUMN

LATEST_DASHBOARD = "latest.html"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _link(path: str) -> dict[str, dg.MetadataValue]:
    """A report's location: a clickable URL in the Dagster UI, and the path."""
    url = Path(local_path(path)).as_uri() if is_local_path(path) else path
    return {"report": dg.MetadataValue.url(url), "report_path": dg.MetadataValue.path(path)}


# --- predictions ---------------------------------------------------------------------------


class PredictionsConfig(dg.Config):
    """``unseen_share_threshold``: the share of a day's gold rows the model may fail to score
    before the ``unseen_share_below_threshold`` check warns."""

    unseen_share_threshold: float = 0.05


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            PREDICTIONS_TABLE,
            description=(
                "The day's gold listings scored by models:/<env>_airbnb_price@champion: prediction, actual "
                "price, model name, version and MLflow run id, scoring time. Re-running a day replaces it."
            ),
            group_name=PREDICTIONS_GROUP,
            kinds={"spark", "delta", "mlflow"},
            deps=[GOLD_TABLE, PRICE_MODEL],
        ),
        dg.AssetSpec(
            UNSEEN_TABLE,
            description=(
                "Gold rows of the day the model could not score (a category value unseen in training), "
                "with the columns and values it did not know. Upserted by listing and day."
            ),
            group_name=PREDICTIONS_GROUP,
            kinds={"spark", "delta"},
            deps=[GOLD_TABLE, PRICE_MODEL],
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "predictions_cover_gold",
            asset=PREDICTIONS_TABLE,
            description="Every gold row of the day is either predicted or in unseen_listings, never both.",
            partitions_def=daily_partitions,
        ),
        dg.AssetCheckSpec(
            "unseen_share_below_threshold",
            asset=UNSEEN_TABLE,
            description="The share of the day's gold rows the model could not score is below the configured threshold.",
            partitions_def=daily_partitions,
        ),
    ],
    partitions_def=daily_partitions,
)
def daily_predictions_and_unseen_listings(
    context: dg.AssetExecutionContext,
    config: PredictionsConfig,
    spark: DeltaSparkResource,
    storage: StorageResource,
    model_registry: ModelRegistryResource,
):
    day = partition_day(context)
    session = spark.spark_session
    gold = read_partition(session, storage.table_path(GOLD_TABLE), day).cache()
    champion = load_champion(model_registry.model_name, model_registry.client())
    now = _now()
    predictions_path, unseen_path = storage.table_path(PREDICTIONS_TABLE), storage.table_path(UNSEEN_TABLE)
    try:
        replace_partition(score_listings(champion, gold, now), predictions_path, day)
        predictions = read_partition(session, predictions_path, day)
        upsert(
            session,
            find_unseen_listings(champion, gold, predictions, now),
            unseen_path,
            keys=(LISTING_ID, PARTITION_COLUMN),
            partition_by=(PARTITION_COLUMN,),
            delete_unmatched_where=F.col(f"t.{PARTITION_COLUMN}") == F.lit(day),
        )
        unseen = read_partition(session, unseen_path, day)
        counts = coverage(gold, predictions, unseen)
        top_values = top_unseen_values(unseen)
    finally:
        gold.unpersist()
    model = {
        "model_name": champion.name,
        "model_version": dg.MetadataValue.int(int(champion.version)),
        "model_run_id": champion.run_id,
    }
    yield dg.MaterializeResult(
        asset_key=PREDICTIONS_TABLE,
        metadata={**table_metadata(session, predictions_path, predictions, counts.predicted_rows), **model},
    )
    yield dg.MaterializeResult(
        asset_key=UNSEEN_TABLE,
        metadata={
            **table_metadata(session, unseen_path, unseen, counts.unseen_rows),
            "top_unseen_values": dg.MetadataValue.json(top_values),
            **model,
        },
    )
    accounting = {field.name: getattr(counts, field.name) for field in dataclasses.fields(counts)}
    yield dg.AssetCheckResult(
        asset_key=PREDICTIONS_TABLE,
        check_name="predictions_cover_gold",
        passed=counts.complete,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{counts.gold_rows} gold rows = {counts.predicted_rows} predicted + {counts.unseen_rows} unseen"
            if counts.complete
            else f"gold rows unaccounted for: {accounting}"
        ),
        metadata=accounting,
    )
    yield dg.AssetCheckResult(
        asset_key=UNSEEN_TABLE,
        check_name="unseen_share_below_threshold",
        passed=counts.unseen_share < config.unseen_share_threshold,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{counts.unseen_rows} of {counts.gold_rows} gold rows ({counts.unseen_share:.1%}) could not be scored; "
            f"threshold {config.unseen_share_threshold:.1%}"
        ),
        metadata={
            "unseen_rows": counts.unseen_rows,
            "gold_rows": counts.gold_rows,
            "unseen_share": dg.MetadataValue.float(round(counts.unseen_share, 4)),
            "threshold": config.unseen_share_threshold,
            "top_unseen_values": dg.MetadataValue.json(top_values),
            "dashboard": dg.MetadataValue.url(_dashboard_url(storage, day)),
        },
    )


# --- drift ---------------------------------------------------------------------------------


class DriftConfig(dg.Config):
    """``sample_cap`` rows of each side reach Evidently (a seeded sample of larger partitions);
    ``drift_share``: the share of drifted feature columns at which the day counts as drifted;
    ``error_tolerance``: how much higher than the test error at training time the day's MAE or
    RMSE may be before model drift is flagged."""

    sample_cap: int = 5000
    seed: int = 42
    drift_share: float = 0.25
    error_tolerance: float = 0.25


def _training_reference(session: SparkSession, storage: StorageResource) -> DataFrame:
    path = storage.table_path(TRAINING_SET_TABLE)
    if not table_exists(session, path):
        raise FileNotFoundError(
            f"the training set {path} does not exist: run training_job first (it is the reference)"
        )
    return read_table(session, path)


def _report_path(storage: StorageResource, kind: str, day: dt.date) -> str:
    return storage.report_path(kind, f"{day.isoformat()}.html")


def _data_drift_log_row(day: dt.date, drift: DataDrift, report: str) -> dict[str, object]:
    return {
        PARTITION_COLUMN: day,
        "dataset_drift": drift.dataset_drift,
        "drift_share": drift.drift_share,
        "drifted_share": drift.drifted_share,
        "drifted_columns": drift.drifted_columns,
        "columns": [dataclasses.asdict(column) for column in drift.columns],
        "reference_rows": drift.reference_rows,
        "current_rows": drift.current_rows,
        "report_path": report,
        "evaluated_at": _now(),
    }


DATA_DRIFT_LOG_SCHEMA = (
    f"{PARTITION_COLUMN} date, dataset_drift boolean, drift_share double, drifted_share double, "
    "drifted_columns array<string>, "
    "columns array<struct<column:string,test:string,score:double,threshold:double,drifted:boolean>>, "
    "reference_rows long, current_rows long, report_path string, evaluated_at timestamp"
)


@dg.asset(
    name=DATA_DRIFT_REPORT,
    description=(
        "Evidently DataDriftPreset of the day's gold features against the training set: HTML report under "
        "reports/data_drift/<date>.html and a row in the data_drift_log Delta table (per column: test, score, verdict)."
    ),
    group_name=MONITORING_GROUP,
    kinds={"evidently", "spark", "delta"},
    deps=[GOLD_TABLE, TRAINING_SET_TABLE],
    partitions_def=daily_partitions,
    check_specs=[
        dg.AssetCheckSpec(
            "no_data_drift",
            asset=DATA_DRIFT_REPORT,
            description="The share of drifted feature columns stays below drift_share.",
            partitions_def=daily_partitions,
        )
    ],
)
def data_drift_report(
    context: dg.AssetExecutionContext,
    config: DriftConfig,
    spark: DeltaSparkResource,
    storage: StorageResource,
):
    day = partition_day(context)
    session = spark.spark_session
    columns = list(FEATURE_COLUMNS)
    current = sample_to_pandas(
        read_partition(session, storage.table_path(GOLD_TABLE), day), columns, config.sample_cap, config.seed
    )
    if current.empty:
        raise ValueError(f"gold_listings has no rows for {day}: nothing to compare with the training set")
    reference = sample_to_pandas(
        _training_reference(session, storage), columns, config.sample_cap, config.seed
    )
    snapshot, drift = data_drift(reference, current, config.drift_share)
    report = _report_path(storage, "data_drift", day)
    write_text(report, snapshot.get_html_str(as_iframe=False))
    log_path = storage.table_path(DATA_DRIFT_LOG)
    replace_partition(
        session.createDataFrame([_data_drift_log_row(day, drift, report)], DATA_DRIFT_LOG_SCHEMA),
        log_path,
        day,
    )
    figures = {
        "dataset_drift": drift.dataset_drift,
        "drifted_share": dg.MetadataValue.float(round(drift.drifted_share, 4)),
        "drift_share": drift.drift_share,
        "drifted_columns": drift.drifted_columns,
        "reference_rows": drift.reference_rows,
        "current_rows": drift.current_rows,
    }
    yield dg.MaterializeResult(
        metadata={**figures, **_link(report), "drift_log_path": dg.MetadataValue.path(log_path)}
    )
    yield dg.AssetCheckResult(
        check_name="no_data_drift",
        passed=not drift.dataset_drift,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{len(drift.drifted_columns)} of {len(drift.columns)} feature columns drifted "
            f"({drift.drifted_share:.0%}, threshold {drift.drift_share:.0%}): {', '.join(drift.drifted_columns) or 'none'}"
        ),
        metadata={
            **figures,
            **_link(report),
            "column_scores": dg.MetadataValue.json(
                {c.column: {"test": c.test, "score": c.score} for c in drift.columns}
            ),
        },
    )


MODEL_DRIFT_LOG_SCHEMA = (
    f"{PARTITION_COLUMN} date, model_drift boolean, prediction_drift boolean, error_drift boolean, "
    "prediction_test string, prediction_score double, prediction_threshold double, "
    "prediction_vs_training_price_score double, prediction_vs_training_price_drifted boolean, "
    "target_score double, target_drifted boolean, day_mae double, day_rmse double, training_mae double, "
    "training_rmse double, mae_ratio double, rmse_ratio double, error_tolerance double, scored_rows long, "
    "reference_rows long, model_name string, model_version long, report_path string, evaluated_at timestamp"
)


def _model_drift_log_row(
    day: dt.date, drift: ModelDrift, name: str, version: int, report: str
) -> dict[str, object]:
    return {
        PARTITION_COLUMN: day,
        "model_drift": drift.model_drift,
        "prediction_drift": drift.prediction_drift,
        "error_drift": drift.error_drift,
        "prediction_test": drift.prediction.test,
        "prediction_score": drift.prediction.score,
        "prediction_threshold": drift.prediction.threshold,
        "prediction_vs_training_price_score": drift.prediction_vs_training_price.score,
        "prediction_vs_training_price_drifted": drift.prediction_vs_training_price.drifted,
        "target_score": drift.target.score,
        "target_drifted": drift.target.drifted,
        "day_mae": drift.day_mae,
        "day_rmse": drift.day_rmse,
        "training_mae": drift.training_mae,
        "training_rmse": drift.training_rmse,
        "mae_ratio": drift.mae_ratio,
        "rmse_ratio": drift.rmse_ratio,
        "error_tolerance": drift.error_tolerance,
        "scored_rows": drift.scored_rows,
        "reference_rows": drift.reference_rows,
        "model_name": name,
        "model_version": version,
        "report_path": report,
        "evaluated_at": _now(),
    }


@dg.asset(
    name=MODEL_DRIFT_REPORT,
    description=(
        "Model drift of the day: the distribution of its predictions against the same model's predictions on the "
        "training set (Evidently), and its error (MAE, RMSE) against the model's test error at training time. "
        "HTML report under reports/model_drift/<date>.html and a row in the model_drift_log Delta table."
    ),
    group_name=MONITORING_GROUP,
    kinds={"evidently", "spark", "delta", "mlflow"},
    deps=[PREDICTIONS_TABLE, TRAINING_SET_TABLE],
    partitions_def=daily_partitions,
    check_specs=[
        dg.AssetCheckSpec(
            "no_model_drift",
            asset=MODEL_DRIFT_REPORT,
            description="The day's predictions have not drifted and its error stays within tolerance of the test error.",
            partitions_def=daily_partitions,
        )
    ],
)
def model_drift_report(
    context: dg.AssetExecutionContext,
    config: DriftConfig,
    spark: DeltaSparkResource,
    storage: StorageResource,
    model_registry: ModelRegistryResource,
):
    day = partition_day(context)
    session = spark.spark_session
    predictions = read_partition(session, storage.table_path(PREDICTIONS_TABLE), day)
    versions = predictions.select("model_name", "model_version").distinct().collect()
    if len(versions) != 1:
        raise ValueError(
            f"daily_predictions of {day} must come from exactly one model version, found {versions}"
        )
    name, version = versions[0]["model_name"], int(versions[0]["model_version"])
    scoring_model = load_registered_version(model_registry.client(), name, str(version))
    if scoring_model.test_mae is None or scoring_model.test_rmse is None:
        raise ValueError(
            f"the training run {scoring_model.run_id} of {name} version {version} logged no test_mae/test_rmse"
        )
    reference_rows = scoring_model.model.transform(_training_reference(session, storage))
    reference = sample_to_pandas(reference_rows, [PREDICTION, TARGET], config.sample_cap, config.seed)
    current = sample_to_pandas(predictions, [PREDICTION, TARGET], config.sample_cap, config.seed)
    snapshot, drift = model_drift(
        reference,
        current,
        day_error(predictions),
        scoring_model.test_mae,
        scoring_model.test_rmse,
        error_tolerance=config.error_tolerance,
    )
    report = _report_path(storage, "model_drift", day)
    write_text(report, snapshot.get_html_str(as_iframe=False))
    log_path = storage.table_path(MODEL_DRIFT_LOG)
    row = _model_drift_log_row(day, drift, name, version, report)
    replace_partition(session.createDataFrame([row], MODEL_DRIFT_LOG_SCHEMA), log_path, day)
    figures = {
        "model_drift": drift.model_drift,
        "prediction_drift": drift.prediction_drift,
        "error_drift": drift.error_drift,
        "day_mae": dg.MetadataValue.float(round(drift.day_mae, 2)),
        "training_mae": dg.MetadataValue.float(round(drift.training_mae, 2)),
        "day_rmse": dg.MetadataValue.float(round(drift.day_rmse, 2)),
        "training_rmse": dg.MetadataValue.float(round(drift.training_rmse, 2)),
        "model_version": version,
    }
    yield dg.MaterializeResult(
        metadata={**figures, **_link(report), "drift_log_path": dg.MetadataValue.path(log_path)}
    )
    yield dg.AssetCheckResult(
        check_name="no_model_drift",
        passed=not drift.model_drift,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(drift.reasons())
        or f"no model drift: MAE {drift.day_mae:.1f} vs {drift.training_mae:.1f} at training, predictions stable",
        metadata={**figures, **_link(report)},
    )


# --- dashboard -----------------------------------------------------------------------------


def _dashboard_url(storage: StorageResource, day: dt.date) -> str:
    path = storage.dashboard_path(f"{day.isoformat()}.html")
    return _link(path)["report"].value


class DashboardConfig(dg.Config):
    sample_cap: int = 5000
    seed: int = 42


@dg.asset(
    name=DAILY_DASHBOARD,
    description=(
        "One self-contained HTML page per day (dashboard/<date>.html, and dashboard/latest.html for the latest "
        "day): predictions and their distribution, model version, unseen rows and values, data-quality "
        "failures per rule (data_quality_log), drift flags and drifted columns, daily error against the "
        "training error."
    ),
    group_name=MONITORING_GROUP,
    kinds={"spark", "html"},
    deps=[PREDICTIONS_TABLE, UNSEEN_TABLE, DATA_DRIFT_REPORT, MODEL_DRIFT_REPORT],
    partitions_def=daily_partitions,
)
def daily_dashboard(
    context: dg.AssetExecutionContext,
    config: DashboardConfig,
    spark: DeltaSparkResource,
    storage: StorageResource,
) -> dg.MaterializeResult:
    day = partition_day(context)
    session = spark.spark_session
    paths = {
        "predictions": storage.table_path(PREDICTIONS_TABLE),
        "unseen": storage.table_path(UNSEEN_TABLE),
        "quality": storage.table_path(DATA_QUALITY_LOG),
        "data_drift": storage.table_path(DATA_DRIFT_LOG),
        "model_drift": storage.table_path(MODEL_DRIFT_LOG),
        "ingestion": storage.table_path(INGESTION_LOG),
    }
    data = collect_dashboard_data(session, paths, day, config.sample_cap, config.seed)
    reports = {
        "data drift report": _link(_report_path(storage, "data_drift", day))["report"].value,
        "model drift report": _link(_report_path(storage, "model_drift", day))["report"].value,
    }
    page = render_dashboard(data, reports)
    path = storage.dashboard_path(f"{day.isoformat()}.html")
    write_text(path, page)
    pages = {
        "dashboard": dg.MetadataValue.url(_dashboard_url(storage, day)),
        "dashboard_path": dg.MetadataValue.path(path),
    }
    is_latest = _is_latest(session, paths["predictions"], day)
    if is_latest:
        latest = storage.dashboard_path(LATEST_DASHBOARD)
        write_text(latest, page)
        pages["latest_dashboard_path"] = dg.MetadataValue.path(latest)
    return dg.MaterializeResult(
        metadata={
            **pages,
            "model_version": data.model_version,
            "is_latest": is_latest,
            "page_bytes": len(page.encode("utf-8")),
        }
    )


def _is_latest(session: SparkSession, predictions_path: str, day: dt.date) -> bool:
    """``latest.html`` follows the newest scored day; re-running an older day leaves it alone."""
    if not table_exists(session, predictions_path):
        return True
    newest = read_table(session, predictions_path).agg(F.max(PARTITION_COLUMN)).first()[0]
    return newest is None or day >= newest
