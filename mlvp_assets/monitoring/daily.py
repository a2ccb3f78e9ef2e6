"""One landing day's monitoring as plain functions on the storage root: the data-drift and
model-drift reports with their log rows, and the dashboard pages.

The assets in :mod:`mlvp_assets.monitoring.assets` wrap these with Dagster (config, metadata,
checks); ``bench/bare_day.py``, the limit the daily benchmark measures against, calls the same
functions without Dagster, so both do the same work by construction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from mlvp_assets.delta_tables import (
    dataclass_frame,
    read_partition,
    read_table,
    replace_partition,
    single_row,
    table_exists,
)
from mlvp_assets.files import is_local_path, local_path, write_text
from mlvp_assets.ml.features import FEATURE_COLUMNS, PREDICTION, TARGET
from mlvp_assets.ml.registry import logged_feature_importances
from mlvp_assets.monitoring.dashboard import (
    DashboardData,
    DashboardTables,
    collect_dashboard_data,
    render_dashboard,
)
from mlvp_assets.monitoring.drift import (
    ChampionImportances,
    DataDrift,
    DataDriftLogRow,
    ModelDrift,
    ModelDriftLogRow,
    TrainingError,
    data_drift,
    day_error,
    fields_of,
    model_drift,
    sample_to_pandas,
)
from mlvp_assets.monitoring.scoring import Champion, champion_version, load_registered_version
from mlvp_assets.names import (
    DATA_DRIFT_LOG,
    DATA_QUALITY_LOG,
    GOLD_TABLE,
    INGESTION_LOG,
    MODEL_DRIFT_LOG,
    PREDICTIONS_TABLE,
    TRAINING_SET_TABLE,
    UNSEEN_TABLE,
)
from mlvp_assets.resources.storage import StorageResource
from mlvp_assets.schema import PARTITION_COLUMN

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

LATEST_DASHBOARD = "latest.html"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def page_url(path: str) -> str:
    """Where a browser opens a page: a file:// URL for a local path, else the path itself."""
    return Path(local_path(path)).as_uri() if is_local_path(path) else path


def report_path(storage: StorageResource, kind: str, day: dt.date) -> str:
    return storage.report_path(kind, f"{day.isoformat()}.html")


def dashboard_url(storage: StorageResource, day: dt.date) -> str:
    return page_url(storage.dashboard_path(f"{day.isoformat()}.html"))


def training_reference(spark: SparkSession, storage: StorageResource) -> DataFrame:
    """The training set, the reference both drift reports compare the day with."""
    path = storage.table_path(TRAINING_SET_TABLE)
    if not table_exists(spark, path):
        raise FileNotFoundError(
            f"the training set {path} does not exist: run training_job first (it is the reference)"
        )
    return read_table(spark, path)


@dataclasses.dataclass(frozen=True)
class DataDriftDay:
    drift: DataDrift
    report: str  # the HTML report's path
    log_path: str


def champion_importances(client: MlflowClient, name: str) -> ChampionImportances | None:
    """The feature importances the champion's training run logged; None when ``name`` has no
    champion yet (the data-drift verdict then rests on the share rule alone)."""
    try:
        version, run_id = champion_version(client, name)
    except LookupError:
        return None
    return ChampionImportances(name, int(version), logged_feature_importances(client, run_id))


def write_data_drift(
    spark: SparkSession,
    storage: StorageResource,
    day: dt.date,
    sample_cap: int,
    seed: int,
    drift_share: float,
    importances: ChampionImportances | None,
    top_features: int,
) -> DataDriftDay:
    """The day's gold features against the training set: the report, and the day's row of
    ``data_drift_log`` (the verdict watches the ``top_features`` most important of ``importances``)."""
    columns = list(FEATURE_COLUMNS)
    current = sample_to_pandas(
        read_partition(spark, storage.table_path(GOLD_TABLE), day), columns, sample_cap, seed
    )
    if current.empty:
        raise ValueError(f"gold_listings has no rows for {day}: nothing to compare with the training set")
    reference = sample_to_pandas(training_reference(spark, storage), columns, sample_cap, seed)
    snapshot, drift = data_drift(reference, current, drift_share, importances, top_features)
    report = report_path(storage, "data_drift", day)
    write_text(report, snapshot.get_html_str(as_iframe=False))
    log_path = storage.table_path(DATA_DRIFT_LOG)
    row = DataDriftLogRow(**fields_of(drift), landing_date=day, report_path=report, evaluated_at=now())
    # The log gained the importance rule's columns: an older table takes them on (older rows: null).
    replace_partition(dataclass_frame(spark, [row], DataDriftLogRow), log_path, day, merge_schema=True)
    return DataDriftDay(drift, report, log_path)


@dataclasses.dataclass(frozen=True)
class ModelDriftDay:
    drift: ModelDrift
    model_version: int  # the version that scored the day
    report: str
    log_path: str


def write_model_drift(
    spark: SparkSession,
    storage: StorageResource,
    day: dt.date,
    client: MlflowClient,
    sample_cap: int,
    seed: int,
    error_tolerance: float,
    loaded: Champion | None = None,
) -> ModelDriftDay:
    """The day's predictions against the scoring model's predictions on the training set, and the
    day's error against its test error: the report, and the day's row of ``model_drift_log``.
    ``loaded``: a model version already loaded in this process, used when it is the one that
    scored the day (otherwise that version is loaded from the registry)."""
    predictions = read_partition(spark, storage.table_path(PREDICTIONS_TABLE), day)
    versions = predictions.select("model_name", "model_version").distinct().collect()
    if len(versions) != 1:
        raise ValueError(
            f"daily_predictions of {day} must come from exactly one model version, found {versions}"
        )
    name, version = versions[0]["model_name"], int(versions[0]["model_version"])
    scoring_model = loaded
    if scoring_model is None or (scoring_model.name, scoring_model.version) != (name, str(version)):
        scoring_model = load_registered_version(client, name, str(version))
    if scoring_model.test_mae is None or scoring_model.test_rmse is None:
        raise ValueError(
            f"the training run {scoring_model.run_id} of {name} version {version} "
            "logged no test_mae/test_rmse"
        )
    reference_rows = scoring_model.model.transform(training_reference(spark, storage))
    snapshot, drift = model_drift(
        sample_to_pandas(reference_rows, [PREDICTION, TARGET], sample_cap, seed),
        sample_to_pandas(predictions, [PREDICTION, TARGET], sample_cap, seed),
        day_error(predictions),
        TrainingError(
            mae=scoring_model.test_mae,
            rmse=scoring_model.test_rmse,
            median_ae=scoring_model.test_median_ae,
            mae_under_1000=scoring_model.test_mae_under_1000,
            mae_1000_and_above=scoring_model.test_mae_1000_and_above,
        ),
        error_tolerance=error_tolerance,
    )
    report = report_path(storage, "model_drift", day)
    write_text(report, snapshot.get_html_str(as_iframe=False))
    log_path = storage.table_path(MODEL_DRIFT_LOG)
    row = ModelDriftLogRow(
        **fields_of(drift),
        landing_date=day,
        model_name=name,
        model_version=version,
        report_path=report,
        evaluated_at=now(),
    )
    # The log gained the day's full evaluation: an older table takes the columns on (older rows: null).
    replace_partition(dataclass_frame(spark, [row], ModelDriftLogRow), log_path, day, merge_schema=True)
    return ModelDriftDay(drift, version, report, log_path)


@dataclasses.dataclass(frozen=True)
class DashboardDay:
    data: DashboardData
    page: str
    path: str
    latest_path: str | None  # latest.html, when the day is the newest scored day


def write_dashboard(
    spark: SparkSession, storage: StorageResource, day: dt.date, sample_cap: int, seed: int
) -> DashboardDay:
    """The day's dashboard page, also written as ``latest.html`` when the day is the newest scored."""
    tables = DashboardTables(
        predictions=storage.table_path(PREDICTIONS_TABLE),
        unseen=storage.table_path(UNSEEN_TABLE),
        quality=storage.table_path(DATA_QUALITY_LOG),
        data_drift=storage.table_path(DATA_DRIFT_LOG),
        model_drift=storage.table_path(MODEL_DRIFT_LOG),
        ingestion=storage.table_path(INGESTION_LOG),
    )
    data = collect_dashboard_data(spark, tables, day, sample_cap, seed)
    reports = {
        "data drift report": page_url(report_path(storage, "data_drift", day)),
        "model drift report": page_url(report_path(storage, "model_drift", day)),
    }
    page = render_dashboard(data, reports)
    path = storage.dashboard_path(f"{day.isoformat()}.html")
    write_text(path, page)
    latest = None
    if is_latest(spark, tables.predictions, day):
        latest = storage.dashboard_path(LATEST_DASHBOARD)
        write_text(latest, page)
    return DashboardDay(data, page, path, latest)


def is_latest(spark: SparkSession, predictions_path: str, day: dt.date) -> bool:
    """``latest.html`` follows the newest scored day; re-running an older day leaves it alone."""
    if not table_exists(spark, predictions_path):
        return True
    newest = single_row(read_table(spark, predictions_path).agg(F.max(PARTITION_COLUMN)))[0]
    return newest is None or day >= newest
