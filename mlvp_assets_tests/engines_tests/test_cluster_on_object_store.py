"""The prod environment on a real Spark standalone cluster with its storage root in an S3 bucket.

Everything is started here on 127.0.0.1 and stopped when the module ends: moto's S3 server (the
bucket), a Spark master and one worker started with a bare environment (no project virtualenv,
no PYSPARK_PYTHON), and an MLflow tracking server whose artifacts go to the bucket. The jobs run
as a user runs them, ``dagster job execute`` in its own process with ``MLVP_ENV=prod``, the
README's commands; their row counts must equal the test environment's for the same days.

One test for the cluster and the object store together, as production runs. Measured on two
cores: every Spark application on the cluster pays a fixed start (driver JVM, executor, the JARs
and the Python environment shipped to it) before its work, and the history is four applications
and a probe. The two ``medallion_job`` days took 298 and 369 s with the bucket, 330 and 283 s
with a local root, under the same load (the hadoop-aws JARs add about 20 s of fetching per
application, within the noise). Running the history once more on a cluster with a local root
would add four applications and cover no code this run misses.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import pytest

from mlvp_assets_tests.engines_tests.conftest import REPO_ROOT, driver_environment, run_probe, run_process
from mlvp_assets_tests.engines_tests.history import (
    DAILY_DAY,
    DAYS,
    RUNS,
    assert_counts_equal_the_reference,
    run_label,
)
from mlvp_assets_tests.engines_tests.servers import StandaloneCluster, running_standalone_cluster
from mlvp_assets_tests.object_store import ACCESS_KEY, REGION, SECRET_KEY, running_s3_server, s3_client
from mlvp_assets_tests.server_processes import BIN, LOOPBACK, free_port, running_mlflow_server

pytestmark = pytest.mark.engines

BUCKET = "my-bucket"
PREFIX = "mlvp"
ROOT = f"s3a://{BUCKET}/{PREFIX}"
MLFLOW_ARTIFACTS = f"s3://{BUCKET}/{PREFIX}/mlflow/artifacts"


def mlflow_server_environment(endpoint: str) -> dict[str, str]:
    """The tracking server writes the artifacts it is sent into the bucket."""
    return {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": REGION,
        "MLFLOW_S3_ENDPOINT_URL": endpoint,
    }


def prod_environment(
    master_url: str, endpoint: str, tracking_uri: str, dagster_home: str, webhook_url: str
) -> dict[str, str]:
    """What the README's "Pointing it at a real cluster" exports, with this test's addresses."""
    return {
        "MLVP_ENV": "prod",
        "MLVP_SPARK_MASTER": master_url,
        "MLVP_STORAGE_ROOT": ROOT,
        "MLVP_S3_ENDPOINT": endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": REGION,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLVP_SHUFFLE_PARTITIONS": "4",
        # An object-store root has no local alerts file: alerts go to a webhook.
        "MLVP_ALERT_CHANNEL": "webhook",
        "MLVP_ALERT_WEBHOOK_URL": webhook_url,
        # The driver binds 127.0.0.1 like the cluster (Spark would take the external interface).
        "SPARK_LOCAL_IP": LOOPBACK,
        "DAGSTER_HOME": str(dagster_home),
        # No EC2 instance to ask for credentials or a region: botocore and pyarrow skip the probe.
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def dagster_command(job: str, partition: str | None, dagster: str = str(BIN / "dagster")) -> list[str]:
    command = [dagster, "job", "execute", "-m", "mlvp_assets.definitions", "-j", job]
    if partition:
        command += ["--tags", json.dumps({"dagster/partition": partition})]
    return command


@dataclasses.dataclass
class ProdHistory:
    cluster: StandaloneCluster
    environment: dict[str, str]
    seconds: dict[str, float]
    sensor_partitions: list[str]
    applications: list[str]
    probe: dict
    bucket_keys: list[str]


def _sensor_partitions(environment: dict[str, str]) -> list[str]:
    """The landing sensor of the prod definitions, evaluated once against the bucket."""
    import dagster as dg

    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        from mlvp_assets.definitions import build_definitions

        defs = build_definitions("prod")
        sensor = defs.resolve_sensor_def("landing_zone_sensor")
        with dg.build_sensor_context(resources={"storage": defs.resources["storage"]}) as context:
            result = sensor(context)
    return sorted(request.partition_key for request in result.run_requests or [])


@pytest.fixture(scope="module")
def prod_history(history, tmp_path_factory) -> ProdHistory:
    folder = tmp_path_factory.mktemp("prod")
    (folder / "dagster_home").mkdir()
    with running_s3_server() as endpoint:
        s3 = s3_client(endpoint)
        s3.create_bucket(Bucket=BUCKET)
        server_env = {**mlflow_server_environment(endpoint), "AWS_EC2_METADATA_DISABLED": "true"}
        with (
            running_standalone_cluster(folder / "spark") as cluster,
            running_mlflow_server(folder / "mlflow", MLFLOW_ARTIFACTS, env=server_env) as mlflow_server,
        ):
            # Upstream drops the files into the bucket, as it would in production.
            for path in sorted((history / "landing").rglob("*.csv")):
                key = f"{PREFIX}/{path.relative_to(history).as_posix()}"
                s3.upload_file(str(path), BUCKET, key)
            environment = driver_environment(
                prod_environment(
                    cluster.master_url,
                    endpoint,
                    mlflow_server.tracking_uri,
                    str(folder / "dagster_home"),
                    # Alerts are sent by sensors, which these runs do not start; nothing listens.
                    f"http://{LOOPBACK}:{free_port()}/alerts",
                )
            )
            sensor_partitions = _sensor_partitions(environment)
            seconds = {}
            for job, partition in RUNS:
                started = time.perf_counter()
                done = run_process(dagster_command(job, partition), environment, timeout=900)
                seconds[run_label(job, partition)] = round(time.perf_counter() - started, 1)
                assert done.returncode == 0, (
                    f"{run_label(job, partition)} failed on the cluster:\n"
                    f"{done.stdout[-3000:]}\n{done.stderr[-12000:]}"
                )
            started = time.perf_counter()
            probe = run_probe("prod", environment)
            seconds["probe"] = round(time.perf_counter() - started, 1)
            applications = cluster.application_names()
            keys = [
                item["Key"]
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
                for item in page.get("Contents", [])
            ]
    print(f"\ncluster on an object store, seconds per run: {seconds}", file=sys.stderr)
    return ProdHistory(cluster, environment, seconds, sensor_partitions, applications, probe, keys)


def test_the_landing_sensor_sees_the_days_dropped_in_the_bucket(prod_history):
    assert prod_history.sensor_partitions == list(DAYS)


def test_executors_run_the_shipped_environment_not_the_checkout(prod_history):
    executor = prod_history.probe["executor"]
    unpacked = Path(executor["cwd"]) / "environment"
    work_dir = prod_history.cluster.work_dir
    assert Path(executor["executable"]) == unpacked / "bin" / "python", executor
    assert Path(executor["package"]).is_relative_to(unpacked), executor
    assert Path(executor["pandas"]).is_relative_to(unpacked), executor
    assert Path(executor["cwd"]).is_relative_to(work_dir), executor  # the worker's, not the driver's
    for path in (executor["executable"], executor["package"]):
        assert not Path(path).is_relative_to(REPO_ROOT), path  # neither the checkout nor its .venv
    assert prod_history.probe["spark_archives"].endswith("#environment")


def test_the_master_lists_every_run_as_an_application(prod_history):
    assert prod_history.applications.count("mlvp_assets") >= len(RUNS) + 1  # the runs and the probe


def test_row_counts_equal_the_test_environment(prod_history, local_reference):
    print(
        f"\nlocal seconds {local_reference['seconds']}\ncluster seconds {prod_history.seconds}",
        file=sys.stderr,
    )
    assert_counts_equal_the_reference(prod_history.probe["counts"], local_reference["counts"])


def test_tables_reports_dashboard_and_model_land_in_the_bucket(prod_history):
    keys = set(prod_history.bucket_keys)
    for expected in (
        f"{PREFIX}/reports/data_drift/{DAILY_DAY}.html",
        f"{PREFIX}/reports/model_drift/{DAILY_DAY}.html",
        f"{PREFIX}/dashboard/{DAILY_DAY}.html",
        f"{PREFIX}/dashboard/latest.html",
    ):
        assert expected in keys
    for table in ("gold_listings", "daily_predictions", "data_drift_log"):
        assert any(key.startswith(f"{PREFIX}/warehouse/{table}/_delta_log/") for key in keys), table
    # MLflow's artifacts (the model among them) went through the tracking server into the bucket.
    assert any(key.startswith(f"{PREFIX}/mlflow/artifacts/") and key.endswith("MLmodel") for key in keys)
