"""What a prod session takes to a cluster: the S3A connector for an object-store root, the
endpoint and credentials for Spark and for the executors' pyarrow, the executors' Python
environment unless the cluster image has it, and MLflow's staging folder on the storage root."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyspark
import pytest

from mlvp_assets.environments import resources_for
from mlvp_assets.resources.spark import (
    DeltaSparkResource,
    bundled_hadoop_version,
    delta_maven_coordinate,
    delta_spark_config,
    hadoop_aws_maven_coordinate,
)
from mlvp_assets.settings import SHIP_PYTHON_ENV, SettingError

PROD = {
    "MLVP_SPARK_MASTER": "spark://spark-master:7077",
    "MLVP_STORAGE_ROOT": "s3a://bucket/mlvp",
    "MLVP_ALERT_CHANNEL": "webhook",
    "MLVP_ALERT_WEBHOOK_URL": "https://hooks.example.org/services/x",
}


@pytest.fixture
def prod_env(monkeypatch):
    for name in ("MLVP_SPARK_REMOTE", "MLVP_SHIP_PYTHON_ENV", "MLFLOW_DFS_TMP", "MLVP_S3_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in PROD.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_hadoop_aws_matches_the_hadoop_pyspark_bundles():
    jar = Path(pyspark.__file__).parent / "jars" / f"hadoop-client-api-{bundled_hadoop_version()}.jar"
    assert jar.exists()
    assert hadoop_aws_maven_coordinate() == f"org.apache.hadoop:hadoop-aws:{bundled_hadoop_version()}"


def test_an_object_store_root_adds_the_s3a_connector_to_the_packages():
    local = delta_spark_config(master="spark://h:7077")
    on_s3 = delta_spark_config(master="spark://h:7077", object_store=True)
    assert local["spark.jars.packages"] == delta_maven_coordinate()
    assert on_s3["spark.jars.packages"].split(",") == [
        delta_maven_coordinate(),
        hadoop_aws_maven_coordinate(),
    ]


def test_an_s3_compatible_endpoint_is_reached_by_path_over_plain_http_from_spark_and_executors():
    resource = DeltaSparkResource(
        spark_config={}, s3_endpoint="http://127.0.0.1:9000", s3_access_key="key", s3_secret_key="secret"
    )
    config = resource._object_store_config()
    assert config == {
        "spark.hadoop.fs.s3a.access.key": "key",
        "spark.hadoop.fs.s3a.secret.key": "secret",
        "spark.hadoop.fs.s3a.endpoint": "http://127.0.0.1:9000",
        "spark.hadoop.fs.s3a.endpoint.region": "us-east-1",
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
        # The landing-file parser reads with pyarrow on the executors: the same store, the same keys.
        "spark.executorEnv.AWS_ACCESS_KEY_ID": "key",
        "spark.executorEnv.AWS_SECRET_ACCESS_KEY": "secret",
        "spark.executorEnv.AWS_REGION": "us-east-1",
        "spark.executorEnv.MLVP_S3_ENDPOINT": "http://127.0.0.1:9000",
    }


def test_aws_itself_needs_no_endpoint_settings():
    assert DeltaSparkResource(spark_config={})._object_store_config() == {}


def test_prod_on_a_bucket_with_a_classic_master(prod_env):
    prod_env.setenv("AWS_REGION", "eu-west-1")
    prod = resources_for("prod")
    spark = prod["spark"]
    assert hadoop_aws_maven_coordinate() in spark.spark_config["spark.jars.packages"]
    assert spark.ship_python_env is True
    assert spark.s3_region == dg.EnvVar("AWS_REGION")
    # MLflow stages Spark models where every executor sees them: under the storage root.
    assert prod["model_registry"].dfs_tmp == "s3a://bucket/mlvp/mlflow/dfs_tmp"


def test_prod_ships_nothing_when_the_cluster_image_has_it(prod_env):
    prod_env.setenv("MLVP_SHIP_PYTHON_ENV", "false")
    prod_env.setenv("MLFLOW_DFS_TMP", "s3a://scratch/mlflow")
    prod = resources_for("prod")
    assert prod["spark"].ship_python_env is False
    assert prod["model_registry"].dfs_tmp == "s3a://scratch/mlflow"


def test_spark_connect_ships_no_archive_and_leaves_jars_to_the_server(prod_env):
    prod_env.delenv("MLVP_SPARK_MASTER")
    prod_env.setenv("MLVP_SPARK_REMOTE", "sc://spark:15002")
    spark = resources_for("prod")["spark"]
    assert spark.ship_python_env is False and "spark.jars.packages" not in spark.spark_config


def test_a_local_root_needs_no_connector(prod_env):
    prod_env.setenv("MLVP_STORAGE_ROOT", "/shared/mlvp")
    prod = resources_for("prod")
    assert prod["spark"].spark_config["spark.jars.packages"] == delta_maven_coordinate()
    assert prod["model_registry"].dfs_tmp == "/shared/mlvp/mlflow/dfs_tmp"


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_the_shipping_switch_says_what_it_takes(monkeypatch, value):
    monkeypatch.setenv(SHIP_PYTHON_ENV.name, value)
    with pytest.raises(SettingError, match="MLVP_SHIP_PYTHON_ENV must be true or false"):
        SHIP_PYTHON_ENV.is_true()
