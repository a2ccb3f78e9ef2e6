"""Daily scoring and monitoring assets: ``daily_predictions`` and ``unseen_listings`` (group
``predictions``), ``data_drift_report``, ``model_drift_report`` and ``daily_dashboard`` (group
``monitoring``), with their checks. All are partitioned by landing day; the logic lives in
:mod:`scoring` (``score_day``) and :mod:`daily` (the reports and the dashboard of a day, over
:mod:`drift` and :mod:`dashboard`); these functions add Dagster's config, metadata and checks.
"""

import dagster as dg

from mlvp_assets.delta_tables import table_metadata
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
from mlvp_assets.monitoring.daily import (
    champion_importances,
    dashboard_url,
    now,
    page_url,
    write_dashboard,
    write_data_drift,
    write_model_drift,
)
from mlvp_assets.monitoring.scoring import load_champion, score_day
from mlvp_assets.names import (
    DAILY_DASHBOARD,
    DATA_DRIFT_REPORT,
    GOLD_TABLE,
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


def _link(path: str) -> dict[str, dg.MetadataValue]:
    """A report's location: a clickable URL in the Dagster UI, and the path."""
    return {"report": dg.MetadataValue.url(page_url(path)), "report_path": dg.MetadataValue.path(path)}


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
    champion = load_champion(model_registry.model_name, model_registry.client())
    predictions_path, unseen_path = storage.table_path(PREDICTIONS_TABLE), storage.table_path(UNSEEN_TABLE)
    scored = score_day(
        session, champion, day, (storage.table_path(GOLD_TABLE), predictions_path, unseen_path), now()
    )
    counts, top_values = scored.coverage, scored.top_unseen_values
    model: dict[str, str | dg.MetadataValue] = {
        "model_name": champion.name,
        "model_version": dg.MetadataValue.int(int(champion.version)),
        "model_run_id": champion.run_id,
    }
    yield dg.MaterializeResult(
        asset_key=PREDICTIONS_TABLE,
        metadata={
            **table_metadata(session, predictions_path, scored.predictions, counts.predicted_rows),
            **model,
        },
    )
    yield dg.MaterializeResult(
        asset_key=UNSEEN_TABLE,
        metadata={
            **table_metadata(session, unseen_path, scored.unseen, counts.unseen_rows),
            "top_unseen_values": dg.MetadataValue.json(top_values),
            **model,
        },
    )
    yield coverage_check(counts)
    yield unseen_share_check(counts, config.unseen_share_threshold, top_values, dashboard_url(storage, day))


# --- drift ---------------------------------------------------------------------------------


class SampleConfig(dg.Config):
    """``sample_cap`` rows of a table reach the driver as pandas (Evidently, the dashboard's
    charts): a sample of larger partitions, the same one on every run for a given ``seed``."""

    sample_cap: int = 5000
    seed: int = 42


class DriftConfig(SampleConfig):
    """``drift_share``: the share of drifted feature columns at which the day counts as drifted;
    ``top_features``: the day also counts as drifted when one of the champion's this many most
    important features drifts (0: the share rule alone); ``error_tolerance``: how much higher than
    the test error at training time the day's MAE or RMSE may be before model drift is flagged."""

    drift_share: float = 0.25
    top_features: int = 5
    error_tolerance: float = 0.25


@dg.asset(
    name=DATA_DRIFT_REPORT,
    description=(
        "Evidently DataDriftPreset of the day's gold features against the training set: HTML report under "
        "reports/data_drift/<date>.html and a row in the data_drift_log Delta table (per column: test, "
        "score, verdict; the champion's most important features and which of them drifted). The day "
        "drifts when drift_share of the columns drifted or one of the champion's top_features did."
    ),
    group_name=MONITORING_GROUP,
    kinds={"evidently", "spark", "delta", "mlflow"},
    deps=[GOLD_TABLE, TRAINING_SET_TABLE, PRICE_MODEL],
    partitions_def=daily_partitions,
    check_specs=[
        dg.AssetCheckSpec(
            DATA_DRIFT_CHECK,
            asset=DATA_DRIFT_REPORT,
            description=(
                "The share of drifted feature columns stays below drift_share, and none of the "
                "champion's top_features most important features drifted."
            ),
            partitions_def=daily_partitions,
        )
    ],
)
def data_drift_report(
    context: dg.AssetExecutionContext,
    config: DriftConfig,
    spark: DeltaSparkResource,
    storage: StorageResource,
    model_registry: ModelRegistryResource,
):
    day = partition_day(context)
    importances = champion_importances(model_registry.client(), model_registry.model_name)
    if importances is None:
        context.log.warning(
            f"{model_registry.model_name} has no champion: the data-drift verdict uses the share rule alone"
        )
    written = write_data_drift(
        spark.spark_session,
        storage,
        day,
        config.sample_cap,
        config.seed,
        config.drift_share,
        importances,
        config.top_features,
    )
    links = _link(written.report)
    yield dg.MaterializeResult(
        metadata={
            **data_drift_figures(written.drift),
            **links,
            "drift_log_path": dg.MetadataValue.path(written.log_path),
        }
    )
    yield data_drift_check(written.drift, links)


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
    written = write_model_drift(
        spark.spark_session,
        storage,
        day,
        model_registry.client(),
        config.sample_cap,
        config.seed,
        config.error_tolerance,
    )
    links = _link(written.report)
    yield dg.MaterializeResult(
        metadata={
            **model_drift_figures(written.drift, written.model_version),
            **links,
            "drift_log_path": dg.MetadataValue.path(written.log_path),
        }
    )
    yield model_drift_check(written.drift, written.model_version, links)


# --- dashboard -----------------------------------------------------------------------------


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
    written = write_dashboard(spark.spark_session, storage, day, config.sample_cap, config.seed)
    pages = {
        "dashboard": dg.MetadataValue.url(dashboard_url(storage, day)),
        "dashboard_path": dg.MetadataValue.path(written.path),
    }
    if written.latest_path:
        pages["latest_dashboard_path"] = dg.MetadataValue.path(written.latest_path)
    return dg.MaterializeResult(
        metadata={
            **pages,
            "model_version": written.data.model_version,
            "is_latest": written.latest_path is not None,
            "page_bytes": len(written.page.encode("utf-8")),
        }
    )
