"""The one place that chooses resources per environment (the resources themselves live in
:mod:`mlvp_assets.resources`).

``MLVP_ENV`` picks ``dev`` (default), ``test`` or ``prod``; ``resources_for`` returns the
complete resource set of that environment, with the same keys in all three.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import dagster as dg

from mlvp_assets.resources.alerts.resource import ALERTS_RESOURCE_KEY, alert_resource_for
from mlvp_assets.resources.mlflow import (
    MLFLOW_RESOURCE_KEY,
    MODEL_REGISTRY_RESOURCE_KEY,
    mlflow_resource_for,
    model_registry_for,
)
from mlvp_assets.resources.spark import DeltaSparkResource, delta_spark_config
from mlvp_assets.resources.storage import StorageResource

ENV_VAR = "MLVP_ENV"
DATA_ROOT_ENV = "MLVP_DATA_ROOT"
DEFAULT_ENV = "dev"


def current_env() -> str:
    return os.environ.get(ENV_VAR, DEFAULT_ENV)


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
    root = os.environ.get(DATA_ROOT_ENV, "data")
    return {
        "spark": DeltaSparkResource(spark_config=delta_spark_config(master="local[*]", shuffle_partitions=8)),
        "storage": StorageResource(root=root),
        MLFLOW_RESOURCE_KEY: mlflow_resource_for("dev", root),
        MODEL_REGISTRY_RESOURCE_KEY: model_registry_for("dev", root),
        ALERTS_RESOURCE_KEY: alert_resource_for("dev", root),
    }


def _test_resources() -> dict[str, Any]:
    if not os.environ.get(DATA_ROOT_ENV):
        raise ValueError(
            f"MLVP_ENV=test needs {DATA_ROOT_ENV}: the storage root (tests use a temporary folder)"
        )
    return {
        "spark": DeltaSparkResource(spark_config=test_spark_config()),
        "storage": StorageResource(root=os.environ[DATA_ROOT_ENV]),
        MLFLOW_RESOURCE_KEY: mlflow_resource_for("test", os.environ[DATA_ROOT_ENV]),
        MODEL_REGISTRY_RESOURCE_KEY: model_registry_for("test", os.environ[DATA_ROOT_ENV]),
        ALERTS_RESOURCE_KEY: alert_resource_for("test", os.environ[DATA_ROOT_ENV]),
    }


def _prod_resources() -> dict[str, Any]:
    master = os.environ.get("MLVP_SPARK_MASTER")
    remote = os.environ.get("MLVP_SPARK_REMOTE")
    if bool(master) == bool(remote):
        raise ValueError(
            "MLVP_ENV=prod needs exactly one of MLVP_SPARK_MASTER (e.g. spark://host:7077) "
            "or MLVP_SPARK_REMOTE (a Spark Connect URL, e.g. sc://host:15002)"
        )
    credentials = {
        field: dg.EnvVar(name)
        for field, name in (
            ("s3_access_key", "AWS_ACCESS_KEY_ID"),
            ("s3_secret_key", "AWS_SECRET_ACCESS_KEY"),
            ("s3_endpoint", "MLVP_S3_ENDPOINT"),
        )
        if os.environ.get(name)  # unset means the cluster's own identity (instance profile)
    }
    return {
        "spark": DeltaSparkResource(
            spark_config=delta_spark_config(
                master=master,
                remote=remote,
                shuffle_partitions=int(os.environ.get("MLVP_SHUFFLE_PARTITIONS", "200")),
                driver_memory=None,
            ),
            **credentials,
        ),
        "storage": StorageResource(root=dg.EnvVar("MLVP_STORAGE_ROOT")),
        MLFLOW_RESOURCE_KEY: mlflow_resource_for("prod"),
        MODEL_REGISTRY_RESOURCE_KEY: model_registry_for("prod"),
        ALERTS_RESOURCE_KEY: alert_resource_for("prod", dg.EnvVar("MLVP_STORAGE_ROOT")),
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
        raise ValueError(
            f"unknown environment {env!r} in {ENV_VAR}; valid: {', '.join(RESOURCE_BUILDERS)}"
        ) from None
    return builder()
