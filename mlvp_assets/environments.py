"""The one place that chooses resources per environment (the resources themselves live in
:mod:`mlvp_assets.resources`).

``MLVP_ENV`` picks ``dev`` (default), ``test`` or ``prod``; ``resources_for`` returns the
complete resource set of that environment, with the same keys in all three.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg

from mlvp_assets import files
from mlvp_assets.resources.alerts.resource import ALERTS_RESOURCE_KEY, alert_resource_for
from mlvp_assets.resources.mlflow import (
    MLFLOW_RESOURCE_KEY,
    MODEL_REGISTRY_RESOURCE_KEY,
    mlflow_resource_for,
    model_registry_for,
)
from mlvp_assets.resources.spark import DeltaSparkResource, delta_spark_config
from mlvp_assets.resources.storage import StorageResource
from mlvp_assets.settings import (
    AWS_ACCESS_KEY_ID,
    AWS_REGION,
    AWS_SECRET_ACCESS_KEY,
    DATA_ROOT,
    ENV,
    MLFLOW_DFS_TMP,
    S3_ENDPOINT,
    SHIP_PYTHON_ENV,
    SHUFFLE_PARTITIONS,
    SPARK_MASTER,
    SPARK_REMOTE,
    STORAGE_ROOT,
    SettingError,
)


def current_env() -> str:
    return ENV.value() or "dev"


def test_spark_config() -> dict[str, str]:
    """Small local Spark for tests: two cores, two shuffle partitions, no UI."""
    return delta_spark_config(
        master="local[2]",
        shuffle_partitions=2,
        driver_memory="2g",
        app_name="mlvp_assets_test",
        extra={"spark.ui.enabled": "false", "spark.sql.adaptive.coalescePartitions.enabled": "true"},
    )


def _dev_resources() -> dict[str, Any]:
    root = DATA_ROOT.value() or "data"
    return {
        "spark": DeltaSparkResource(spark_config=delta_spark_config(master="local[*]", shuffle_partitions=8)),
        "storage": StorageResource(root=root),
        MLFLOW_RESOURCE_KEY: mlflow_resource_for("dev", root),
        MODEL_REGISTRY_RESOURCE_KEY: model_registry_for("dev", root),
        ALERTS_RESOURCE_KEY: alert_resource_for("dev", root),
    }


def _test_resources() -> dict[str, Any]:
    root = DATA_ROOT.required(f"{ENV.name}=test")
    return {
        "spark": DeltaSparkResource(spark_config=test_spark_config()),
        "storage": StorageResource(root=root),
        MLFLOW_RESOURCE_KEY: mlflow_resource_for("test", root),
        MODEL_REGISTRY_RESOURCE_KEY: model_registry_for("test", root),
        ALERTS_RESOURCE_KEY: alert_resource_for("test", root),
    }


def _prod_resources() -> dict[str, Any]:
    master, remote = SPARK_MASTER.value(), SPARK_REMOTE.value()
    if bool(master) == bool(remote):
        raise SettingError(
            f"{ENV.name}=prod needs exactly one of {SPARK_MASTER.name} ({SPARK_MASTER.purpose}) "
            f"or {SPARK_REMOTE.name} ({SPARK_REMOTE.purpose})"
        )
    credentials = {
        field: dg.EnvVar(setting.name)
        for field, setting in (
            ("s3_access_key", AWS_ACCESS_KEY_ID),
            ("s3_secret_key", AWS_SECRET_ACCESS_KEY),
            ("s3_endpoint", S3_ENDPOINT),
            ("s3_region", AWS_REGION),
        )
        if setting.is_set()  # unset means the cluster's own identity (instance profile)
    }
    # The root decides now what the session needs; the resources still read it at run time.
    root = STORAGE_ROOT.value()
    object_store = bool(root) and not files.is_local_path(root or "")
    return {
        "spark": DeltaSparkResource(
            spark_config=delta_spark_config(
                master=master,
                remote=remote,
                shuffle_partitions=SHUFFLE_PARTITIONS.whole_number(),
                driver_memory=None,
                object_store=object_store,
            ),
            ship_python_env=bool(master) and SHIP_PYTHON_ENV.is_true(),
            **credentials,
        ),
        "storage": StorageResource(root=dg.EnvVar(STORAGE_ROOT.name)),
        MLFLOW_RESOURCE_KEY: mlflow_resource_for("prod"),
        MODEL_REGISTRY_RESOURCE_KEY: model_registry_for(
            "prod",
            dfs_tmp=MLFLOW_DFS_TMP.value() or (files.join(root, "mlflow", "dfs_tmp") if root else None),
        ),
        ALERTS_RESOURCE_KEY: alert_resource_for("prod", dg.EnvVar(STORAGE_ROOT.name)),
    }


RESOURCE_BUILDERS: dict[str, Callable[[], dict[str, Any]]] = {
    "dev": _dev_resources,
    "test": _test_resources,
    "prod": _prod_resources,
}


def resources_for(env: str) -> dict[str, Any]:
    """The complete resource set of ``env``; an unknown name fails naming the valid ones."""
    try:
        builder = RESOURCE_BUILDERS[env]
    except KeyError:
        raise SettingError(
            f"unknown environment {env!r} in {ENV.name}; valid: {', '.join(RESOURCE_BUILDERS)}"
        ) from None
    return builder()
