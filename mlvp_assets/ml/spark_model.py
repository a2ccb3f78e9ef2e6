"""The fitted pipeline as an MLflow model, saved and loaded without the JVM's file system, so that
training and scoring run the same on a classic session and over Spark Connect.

MLflow's Spark flavour moves a ``PipelineModel`` between Spark's file system and the local model
folder through py4j (``mlflow.spark._HadoopFileSystem``), which a Spark Connect client does not
have. Here Spark itself writes the pipeline (``model.write().save``; over Connect the server does)
into a staging folder, and :mod:`mlvp_assets.files` copies it into the model folder's
``sparkml/``; loading goes the other way, ``PipelineModel.load`` from a staged copy. The staging
folder must be one that the Spark driver (the Connect server, the cluster's executors) and this
process both reach: MLflow's own ``MLFLOW_DFS_TMP``, which the prod environment puts under the
storage root, ``/tmp/mlflow`` by default (local Spark, or a server on the same machine).

What is logged is exactly what ``mlflow.spark.log_model`` logs (``MLmodel`` with the ``spark`` and
``python_function`` flavours, ``sparkml/``, requirements, signature and input example, under the
run's ``model/``), written by MLflow's own functions for it, so ``mlflow.spark.load_model`` and
``mlflow models serve`` read it as before. ``Model._log_v2`` and ``mlflow.spark._save_model_metadata``
are MLflow's internals that ``mlflow.spark.log_model`` itself calls; the MLflow version is pinned in
``constraints.txt`` and the ML tests read the logged model back.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pyspark.ml import PipelineModel

from mlvp_assets import files

if TYPE_CHECKING:
    from mlflow.models import Model, ModelSignature
    from mlflow.models.model import ModelInfo

# MLflow is imported by the functions that use it, so that building the definitions does not.

SPARK_MODEL_DATA = "sparkml"  # the model folder's sub-folder of Spark ML files, as mlflow.spark names it


def staging_root() -> str:
    """Where Spark writes and reads the pipeline's files on their way to and from MLflow."""
    from mlflow.environment_variables import MLFLOW_DFS_TMP

    return MLFLOW_DFS_TMP.get()


@contextmanager
def _staged(staging_dir: str) -> Iterator[str]:
    """A fresh folder under ``staging_dir``, deleted when the block ends."""
    path = files.join(staging_dir, uuid.uuid4().hex)
    try:
        yield path
    finally:
        files.delete_tree(path)


def save_model(
    path: str,
    mlflow_model: Model,
    spark_model: PipelineModel,
    staging_dir: str,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    **_: Any,
) -> None:
    """The flavour's ``save_model``, which ``Model._log_v2`` calls with a local ``path``: the
    pipeline's files through ``staging_dir``, then MLflow's Spark flavour metadata."""
    import mlflow.spark

    with _staged(staging_dir) as staged:
        spark_model.write().overwrite().save(staged)
        files.copy_tree(staged, os.path.join(path, SPARK_MODEL_DATA))
    mlflow.spark._save_model_metadata(
        dst_dir=path,
        spark_model=spark_model,
        mlflow_model=mlflow_model,
        conda_env=None,
        code_paths=None,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
    )


def log_spark_model(
    model: PipelineModel,
    artifact_path: str,
    signature: ModelSignature,
    input_example: Any,
    pip_requirements: list[str],
    staging_dir: str | None = None,
) -> ModelInfo:
    """Log ``model`` into the active run under ``artifact_path``, as ``mlflow.spark.log_model``
    does, staging its files in ``staging_dir`` (default :func:`staging_root`)."""
    from mlflow.models import Model

    return Model._log_v2(
        artifact_path=artifact_path,
        flavor=sys.modules[__name__],
        spark_model=model,
        staging_dir=staging_dir or staging_root(),
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        # MLflow would check the example by loading the model again through its Spark flavour,
        # which needs the JVM's file system (and a second load); the ML tests reload it instead.
        validate_serving_input=False,
    )


def load_spark_model(model_uri: str, tracking_uri: str, staging_dir: str | None = None) -> PipelineModel:
    """The pipeline of the MLflow model at ``model_uri``: downloaded from ``tracking_uri``'s
    artifact store, staged in ``staging_dir`` (default :func:`staging_root`) and loaded by Spark,
    which reads it whole (the staged copy is deleted afterwards)."""
    import mlflow.artifacts
    import mlflow.spark
    from mlflow.models import Model

    with tempfile.TemporaryDirectory(prefix="mlvp-model-") as local:
        model_dir = mlflow.artifacts.download_artifacts(
            artifact_uri=model_uri, dst_path=local, tracking_uri=tracking_uri
        )
        data = Model.load(model_dir).flavors[mlflow.spark.FLAVOR_NAME]["model_data"]
        with _staged(staging_dir or staging_root()) as staged:
            files.copy_tree(os.path.join(model_dir, data), staged)
            return PipelineModel.load(staged)
