"""The prod environment on a real Spark standalone cluster with its storage root in an S3 bucket.

Everything is started here on 127.0.0.1 and stopped when the module ends: moto's S3 server (the
bucket), a Spark master and one worker started with a bare environment (no project virtualenv,
no PYSPARK_PYTHON), and an MLflow tracking server whose artifacts go to the bucket. The jobs run
as a user runs them, ``dagster job execute`` in its own process with ``MLVP_ENV=prod``, the
README's commands; their row counts must equal the test environment's for the same days.

Each server requires its secret, as in production (:mod:`.planted_secrets`): the bucket takes only
requests signed with an IAM user's key, the MLflow server (its basic-auth app) only logged-in
requests, and the alert sensors, ticked against the history's instance, send its failed checks
to an SMTP server that requires AUTH and to a webhook whose URL carries a token. The tests show
that each server got its secret, then search everything the history left for every secret: the
Dagster instance (files, and runs, snapshots and events through its API), the runs' output, the
Spark logs, every object of the bucket (tables, reports, dashboard, MLflow's artifacts), the
MLflow server's folder and its runs' params and tags, the alerts received.

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
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlvp_assets.ml.features import families_supported_by
from mlvp_assets_tests.engines_tests.conftest import REPO_ROOT, driver_environment, run_probe, run_process
from mlvp_assets_tests.engines_tests.history import (
    DAILY_DAY,
    DAYS,
    RUNS,
    assert_counts_equal_the_reference,
    run_label,
)
from mlvp_assets_tests.engines_tests.planted_secrets import (
    MLFLOW_USER,
    SMTP_USER,
    AlertReceivers,
    PlantedSecrets,
    ServersProof,
    alert_environment,
    download_bucket,
    files_under,
    find_secrets,
    instance_texts,
    mlflow_basic_auth_environment,
    require_iam_credentials,
    running_alert_receivers,
    servers_proof,
    tick_alert_sensors,
)
from mlvp_assets_tests.engines_tests.servers import StandaloneCluster, running_standalone_cluster
from mlvp_assets_tests.object_store import ACCESS_KEY, REGION, SECRET_KEY, running_s3_server, s3_client
from mlvp_assets_tests.server_processes import BIN, LOOPBACK, running_mlflow_server

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
    # What the history left, for the search for secrets: the Dagster instance, the MLflow server's
    # folder, the Spark logs, every object of the bucket, the runs' output (under ``evidence``).
    folder: Path
    s3_secret_key: str
    proof: ServersProof


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
def planted_secrets() -> PlantedSecrets:
    return PlantedSecrets()


@pytest.fixture(scope="module")
def alert_receivers(planted_secrets) -> Iterator[AlertReceivers]:
    with running_alert_receivers(planted_secrets) as receivers:
        yield receivers


@pytest.fixture(scope="module")
def prod_history(history, tmp_path_factory, planted_secrets, alert_receivers) -> ProdHistory:
    folder = tmp_path_factory.mktemp("prod")
    (folder / "dagster_home").mkdir()
    evidence = folder / "evidence"
    with running_s3_server() as endpoint:
        s3 = s3_client(endpoint)
        s3.create_bucket(Bucket=BUCKET)
        # Upstream drops the files into the bucket, as it would in production.
        for path in sorted((history / "landing").rglob("*.csv")):
            key = f"{PREFIX}/{path.relative_to(history).as_posix()}"
            s3.upload_file(str(path), BUCKET, key)
        # From here on the bucket takes only requests signed with the key of an IAM user.
        credentials = require_iam_credentials(endpoint)
        s3_key = {
            "AWS_ACCESS_KEY_ID": credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
        }
        server_env = {
            **mlflow_server_environment(endpoint), **s3_key, "AWS_EC2_METADATA_DISABLED": "true",
            **mlflow_basic_auth_environment(folder / "mlflow_users", planted_secrets),
        }  # fmt: skip
        with (
            running_standalone_cluster(folder / "spark") as cluster,
            running_mlflow_server(
                folder / "mlflow", MLFLOW_ARTIFACTS, env=server_env, app_name="basic-auth"
            ) as mlflow_server,
        ):
            environment = driver_environment(
                {
                    **prod_environment(
                        cluster.master_url,
                        endpoint,
                        mlflow_server.tracking_uri,
                        str(folder / "dagster_home"),
                        alert_receivers.webhook_url,
                    ),
                    **s3_key,
                    "MLFLOW_TRACKING_USERNAME": MLFLOW_USER,
                    "MLFLOW_TRACKING_PASSWORD": planted_secrets.mlflow_password,
                    # MLflow 3 clients download artifacts from the bucket by presigned URLs the
                    # server hands out; moto checks only signatures in an Authorization header,
                    # so with its IAM check on they fail. Through the server instead.
                    "MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD": "false",
                    # Every alert setting is exported, as on a machine that may send by either channel.
                    **alert_environment(alert_receivers, planted_secrets),
                }
            )
            sensor_partitions = _sensor_partitions(environment)
            seconds = {}
            (evidence / "run_output").mkdir(parents=True)
            for job, partition in RUNS:
                started = time.perf_counter()
                done = run_process(dagster_command(job, partition), environment, timeout=900)
                seconds[run_label(job, partition)] = round(time.perf_counter() - started, 1)
                output = evidence / "run_output" / run_label(job, partition).replace(":", "_")
                output.with_suffix(".stdout").write_text(done.stdout)
                output.with_suffix(".stderr").write_text(done.stderr)
                assert done.returncode == 0, (
                    f"{run_label(job, partition)} failed on the cluster:\n"
                    f"{done.stdout[-3000:]}\n{done.stderr[-12000:]}"
                )
            started = time.perf_counter()
            probe = run_probe("prod", environment)
            seconds["probe"] = round(time.perf_counter() - started, 1)
            applications = cluster.application_names()
            started = time.perf_counter()
            proof = servers_proof(endpoint, BUCKET, credentials, mlflow_server.tracking_uri, planted_secrets)
            # The executors' output; the rest of the work folder (JARs, the unpacked environment)
            # goes with the cluster.
            for log in cluster.work_dir.glob("app-*/*/std*"):
                target = evidence / "spark_work" / log.relative_to(cluster.work_dir)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(log, target)
            keys = download_bucket(endpoint, BUCKET, credentials, evidence / "bucket")
            seconds["evidence"] = round(time.perf_counter() - started, 1)
    print(f"\ncluster on an object store, seconds per run: {seconds}", file=sys.stderr)
    return ProdHistory(
        cluster, environment, seconds, sensor_partitions, applications, probe, keys, folder,
        credentials.secret_key, proof,
    )  # fmt: skip


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


def test_every_learner_family_fits_saves_loads_and_predicts_the_same_on_the_cluster(prod_history):
    """The families the search offers on a classic session, measured on the standalone cluster
    with the bucket as MLflow's staging folder: all three, XGBoost's barrier jobs included."""
    outcomes = prod_history.probe["learner_families"]
    print(f"\nlearner families on the cluster: {json.dumps(outcomes)[:3000]}", file=sys.stderr)

    assert {family for family, outcome in outcomes.items() if outcome["ok"]} == {
        family.value for family in families_supported_by(spark_connect=False)
    }
    assert all(outcome["max_abs_difference"] <= 1e-9 for outcome in outcomes.values())


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


# --- secrets -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sent_alerts(prod_history) -> dict[str, dict[str, str | None]]:
    """The alert sensors of prod, ticked against the history's instance by email, then by webhook:
    what each tick said, by channel."""
    return {
        channel: tick_alert_sensors(prod_history.environment, channel) for channel in ("email", "webhook")
    }


def test_the_bucket_takes_only_requests_signed_with_the_planted_secret_key(prod_history):
    # The runs wrote the tables, reports and model through the same check.
    assert prod_history.proof.s3_status_with_wrong_secret == 403
    assert prod_history.proof.s3_status_with_planted_secret == 200


def test_the_mlflow_server_took_the_runs_and_models_from_the_planted_login_only(prod_history):
    proof = prod_history.proof
    assert proof.mlflow_status_without_login == 401
    assert proof.mlflow_status_with_wrong_password == 401
    assert proof.mlflow.run_users and set(proof.mlflow.run_users) == {MLFLOW_USER}, proof.mlflow.run_users
    assert proof.mlflow.model_versions


def test_failures_of_the_history_reach_smtp_after_auth_and_the_webhook_by_its_token(
    alert_receivers, sent_alerts
):
    assert alert_receivers.messages, sent_alerts
    assert (SMTP_USER, True) in alert_receivers.logins
    assert len(alert_receivers.webhook_bodies) == len(alert_receivers.messages), sent_alerts
    assert alert_receivers.refused_paths == []


def test_no_planted_secret_is_found_in_anything_the_history_left(
    prod_history, planted_secrets, alert_receivers, sent_alerts
):
    forms = planted_secrets.encoded_forms(planted_secrets.named(prod_history.s3_secret_key))
    # The search finds what it looks for.
    assert find_secrets(forms, [], {"a control": f"x{planted_secrets.webhook_token}x"})
    evidence = prod_history.folder / "evidence"
    places = {
        "the Dagster instance": prod_history.folder / "dagster_home",
        "the MLflow server": prod_history.folder / "mlflow",
        "the MLflow server's users": prod_history.folder / "mlflow_users",
        "the Spark master and worker": prod_history.folder / "spark",
        "the Spark executors": evidence / "spark_work",
        "the runs' output": evidence / "run_output",
        "the bucket": evidence / "bucket",
    }
    empty = [name for name, folder in places.items() if not files_under(folder)]
    assert empty == []
    bucket = evidence / "bucket" / PREFIX
    for written in (
        f"dashboard/{DAILY_DAY}.html",
        f"reports/data_drift/{DAILY_DAY}.html",
        "mlflow/artifacts",
    ):
        assert (bucket / written).exists(), written
    texts = {
        "the alert emails": "\n".join(message.as_string() for message in alert_receivers.messages),
        "the webhook messages": "\n".join(alert_receivers.webhook_bodies),
        "the alert sensors' ticks": json.dumps(sent_alerts),
        "MLflow's runs, params and tags (its API)": json.dumps(prod_history.proof.mlflow.runs),
        **instance_texts(prod_history.environment),
    }
    assert any("ASSET_CHECK_EVALUATION" in text for text in texts.values())
    found = find_secrets(forms, files_under(*places.values()), texts)
    assert found == []
