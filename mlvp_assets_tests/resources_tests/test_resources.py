"""Resources per environment and the one place that builds Spark sessions."""

import subprocess
import sys
import textwrap

import dagster as dg
import pytest

from mlvp_assets.environments import RESOURCE_BUILDERS, resources_for
from mlvp_assets.resources.spark import delta_maven_coordinate, delta_spark_config
from mlvp_assets.resources.storage import StorageResource

PROD_ENV = {
    "MLVP_SPARK_MASTER": "spark://spark-master:7077",
    "MLVP_STORAGE_ROOT": "s3a://bucket/mlvp",
    # The log channel writes under a local root only; an object-store root needs another channel.
    "MLVP_ALERT_CHANNEL": "webhook",
    "MLVP_ALERT_WEBHOOK_URL": "https://hooks.example.org/services/x",
}


def test_every_environment_has_the_same_resource_keys(monkeypatch, tmp_path):
    monkeypatch.setenv("MLVP_DATA_ROOT", str(tmp_path))
    for name, value in PROD_ENV.items():
        monkeypatch.setenv(name, value)
    keys = {env: set(resources_for(env)) for env in RESOURCE_BUILDERS}
    assert keys["dev"] == keys["test"] == keys["prod"] and {"spark", "storage"} <= keys["dev"]


def test_unknown_environment_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown environment 'staging'.*valid: dev, test, prod"):
        resources_for("staging")


def test_test_environment_needs_a_data_root(monkeypatch):
    monkeypatch.delenv("MLVP_DATA_ROOT", raising=False)
    with pytest.raises(ValueError, match="MLVP_DATA_ROOT"):
        resources_for("test")


def test_dev_defaults_to_local_spark_and_the_data_folder(monkeypatch):
    monkeypatch.delenv("MLVP_DATA_ROOT", raising=False)
    dev = resources_for("dev")
    assert dev["spark"].spark_config["spark.master"] == "local[*]"
    assert dev["storage"].root == "data"
    assert dev["storage"].table_path("gold_listings") == "data/warehouse/gold_listings"


def test_prod_takes_cluster_and_storage_from_the_environment(monkeypatch):
    for name, value in PROD_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
    prod = resources_for("prod")
    assert prod["spark"].spark_config["spark.master"] == "spark://spark-master:7077"
    # Secrets stay EnvVar references until a run needs them.
    assert prod["spark"].s3_secret_key == dg.EnvVar("AWS_SECRET_ACCESS_KEY")
    assert prod["storage"].root == dg.EnvVar("MLVP_STORAGE_ROOT")


def test_prod_needs_a_cluster(monkeypatch):
    monkeypatch.delenv("MLVP_SPARK_MASTER", raising=False)
    monkeypatch.delenv("MLVP_SPARK_REMOTE", raising=False)
    with pytest.raises(ValueError, match="MLVP_SPARK_MASTER.*MLVP_SPARK_REMOTE"):
        resources_for("prod")


def test_spark_connect_config_leaves_jars_to_the_server():
    config = delta_spark_config(master=None, remote="sc://spark:15002")
    assert config["spark.remote"] == "sc://spark:15002" and "spark.jars.packages" not in config
    # Delta's extension and catalog are the server's static settings; the session checks them there.
    assert "spark.sql.extensions" not in config and "spark.sql.catalog.spark_catalog" not in config


def test_delta_jar_and_mirror_settings(monkeypatch):
    monkeypatch.setenv("MLVP_MAVEN_REPOSITORIES", "https://mirror.example/maven2")
    monkeypatch.setenv("MLVP_IVY_DIR", "/cache/ivy")
    config = delta_spark_config(master="local[2]")
    assert config["spark.jars.packages"] == delta_maven_coordinate()
    assert delta_maven_coordinate().startswith("io.delta:delta-spark_4.2_2.13:")
    assert config["spark.jars.repositories"] == "https://mirror.example/maven2"
    assert config["spark.jars.ivy"] == "/cache/ivy"
    assert config["spark.sql.catalog.spark_catalog"] == "org.apache.spark.sql.delta.catalog.DeltaCatalog"


def test_object_store_root_is_not_local():
    assert not StorageResource(root="s3a://bucket/mlvp").is_local
    assert StorageResource(root="data").is_local


@pytest.mark.slow
def test_a_session_without_delta_fails_with_what_to_do():
    """getOrCreate() would silently reuse a plain session; build_spark_session refuses it."""
    script = textwrap.dedent(
        """
        from pyspark.sql import SparkSession
        from mlvp_assets.environments import test_spark_config
        from mlvp_assets.resources.spark import DeltaUnavailableError, build_spark_session
        SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
        try:
            build_spark_session(test_spark_config())
        except DeltaUnavailableError as error:
            print("REFUSED:", error)
        """
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert "REFUSED: Delta Lake is not available" in completed.stdout, completed.stderr[-2000:]
    assert "MLVP_MAVEN_REPOSITORIES" in completed.stdout
