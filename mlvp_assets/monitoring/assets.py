"""Daily scoring and monitoring assets: ``daily_predictions`` and ``unseen_listings`` (group
``predictions``), ``data_drift_report``, ``model_drift_report`` and ``daily_dashboard`` (group
``monitoring``), with their checks. All are partitioned by landing day; the logic lives in
:mod:`scoring`, :mod:`drift` and :mod:`dashboard`, these functions only wire it to storage.
"""

import datetime as dt
from pathlib import Path

import dagster as dg
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from mlvp_assets.delta_tables import (
    dataclass_frame,
    read_partition,
    read_table,
    replace_partition,
    single_row,
    table_exists,
    table_metadata,
    upsert,
)
from mlvp_assets.files import is_local_path, local_path, write_text
from mlvp_assets.ml.features import FEATURE_COLUMNS, PREDICTION, TARGET
from mlvp_assets.monitoring.checks import (
    COVERAGE_CHECK,
    DATA_DRIFT_CHECK,
    MODEL_DRIFT_CHECK,
    UNSEEN_SHARE_CHECK,
    coverage_check,
    data_drift_check,
    data_drift_figures,
    model_drift_check,
    model_drift_figures,
    unseen_share_check,
)
from mlvp_assets.monitoring.dashboard import DashboardTables, collect_dashboard_data, render_dashboard
from mlvp_assets.monitoring.drift import (
    DataDriftLogRow,
    ModelDriftLogRow,
    data_drift,
    day_error,
    fields_of,
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


def _url(path: str) -> str:
    """Where a browser opens a report: a file:// URL for a local path, else the path itself."""
    return Path(local_path(path)).as_uri() if is_local_path(path) else path


def _link(path: str) -> dict[str, dg.MetadataValue]:
    """A report's location: a clickable URL in the Dagster UI, and the path."""
    return {"report": dg.MetadataValue.url(_url(path)), "report_path": dg.MetadataValue.path(path)}


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
            COVERAGE_CHECK,
            asset=PREDICTIONS_TABLE,
            description="Every gold row of the day is either predicted or in unseen_listings, never both.",
            partitions_def=daily_partitions,
        ),
        dg.AssetCheckSpec(
            UNSEEN_SHARE_CHECK,
            asset=UNSEEN_TABLE,
            description=(
                "The share of the day's gold rows the model could not score is below the configured "
                "threshold."
            ),
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
            delete_unmatched_where=f"t.{PARTITION_COLUMN} = DATE'{day.isoformat()}'",
        )
        unseen = read_partition(session, unseen_path, day)
        counts = coverage(gold, predictions, unseen)
        top_values = top_unseen_values(unseen)
    finally:
        gold.unpersist()
    model: dict[str, str | dg.MetadataValue] = {
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
    yield coverage_check(counts)
    yield unseen_share_check(counts, config.unseen_share_threshold, top_values, _dashboard_url(storage, day))


# --- drift ---------------------------------------------------------------------------------


class SampleConfig(dg.Config):
    """``sample_cap`` rows of a table reach the driver as pandas (Evidently, the dashboard's
    charts): a sample of larger partitions, the same one on every run for a given ``seed``."""

    sample_cap: int = 5000
    seed: int = 42


class DriftConfig(SampleConfig):
    """``drift_share``: the share of drifted feature columns at which the day counts as drifted;
    ``error_tolerance``: how much higher than the test error at training time the day's MAE or
    RMSE may be before model drift is flagged."""

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


@dg.asset(
    name=DATA_DRIFT_REPORT,
    description=(
        "Evidently DataDriftPreset of the day's gold features against the training set: HTML report under "
        "reports/data_drift/<date>.html and a row in the data_drift_log Delta table (per column: test, "
        "score, verdict)."
    ),
    group_name=MONITORING_GROUP,
    kinds={"evidently", "spark", "delta"},
    deps=[GOLD_TABLE, TRAINING_SET_TABLE],
    partitions_def=daily_partitions,
    check_specs=[
        dg.AssetCheckSpec(
            DATA_DRIFT_CHECK,
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
    row = DataDriftLogRow(**fields_of(drift), landing_date=day, report_path=report, evaluated_at=_now())
    replace_partition(dataclass_frame(session, [row], DataDriftLogRow), log_path, day)
    links = _link(report)
    yield dg.MaterializeResult(
        metadata={
            **data_drift_figures(drift),
            **links,
            "drift_log_path": dg.MetadataValue.path(log_path),
        }
    )
    yield data_drift_check(drift, links)


@dg.asset(
    name=MODEL_DRIFT_REPORT,
    description=(
        "Model drift of the day: the distribution of its predictions against the same model's predictions "
        "on the training set (Evidently), and its error (MAE, RMSE) against the model's test error at "
        "training time. HTML report under reports/model_drift/<date>.html and a row in the model_drift_log "
        "Delta table."
    ),
    group_name=MONITORING_GROUP,
    kinds={"evidently", "spark", "delta", "mlflow"},
    deps=[PREDICTIONS_TABLE, TRAINING_SET_TABLE],
    partitions_def=daily_partitions,
    check_specs=[
        dg.AssetCheckSpec(
            MODEL_DRIFT_CHECK,
            asset=MODEL_DRIFT_REPORT,
            description=(
                "The day's predictions have not drifted and its error stays within tolerance of the test "
                "error."
            ),
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
            f"the training run {scoring_model.run_id} of {name} version {version} "
            "logged no test_mae/test_rmse"
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
    row = ModelDriftLogRow(
        **fields_of(drift),
        landing_date=day,
        model_name=name,
        model_version=version,
        report_path=report,
        evaluated_at=_now(),
    )
    replace_partition(dataclass_frame(session, [row], ModelDriftLogRow), log_path, day)
    links = _link(report)
    yield dg.MaterializeResult(
        metadata={
            **model_drift_figures(drift, version),
            **links,
            "drift_log_path": dg.MetadataValue.path(log_path),
        }
    )
    yield model_drift_check(drift, version, links)


# --- dashboard -----------------------------------------------------------------------------


def _dashboard_url(storage: StorageResource, day: dt.date) -> str:
    return _url(storage.dashboard_path(f"{day.isoformat()}.html"))


class DashboardConfig(SampleConfig):
    """How many of the day's predictions the dashboard's distribution chart samples."""


@dg.asset(
    name=DAILY_DASHBOARD,
    description=(
        "One self-contained HTML page per day (dashboard/<date>.html, and dashboard/latest.html for the "
        "latest day): predictions and their distribution, model version, unseen rows and values, "
        "data-quality failures per rule (data_quality_log), drift flags and drifted columns, daily error "
        "against the training error."
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
    tables = DashboardTables(
        predictions=storage.table_path(PREDICTIONS_TABLE),
        unseen=storage.table_path(UNSEEN_TABLE),
        quality=storage.table_path(DATA_QUALITY_LOG),
        data_drift=storage.table_path(DATA_DRIFT_LOG),
        model_drift=storage.table_path(MODEL_DRIFT_LOG),
        ingestion=storage.table_path(INGESTION_LOG),
    )
    data = collect_dashboard_data(session, tables, day, config.sample_cap, config.seed)
    reports = {
        "data drift report": _url(_report_path(storage, "data_drift", day)),
        "model drift report": _url(_report_path(storage, "model_drift", day)),
    }
    page = render_dashboard(data, reports)
    path = storage.dashboard_path(f"{day.isoformat()}.html")
    write_text(path, page)
    pages = {
        "dashboard": dg.MetadataValue.url(_dashboard_url(storage, day)),
        "dashboard_path": dg.MetadataValue.path(path),
    }
    is_latest = _is_latest(session, tables.predictions, day)
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
    newest = single_row(read_table(session, predictions_path).agg(F.max(PARTITION_COLUMN)))[0]
    return newest is None or day >= newest
