"""Secrets planted in the prod history of the engine tests, the servers that require them, and a
search for them in everything the history leaves.

Each server refuses a request without its secret, so a history that ran proves the secret reached
it: moto's S3 server checks every request's signature against an IAM user's key (its own random
secret, made by moto); ``mlflow server --app-name basic-auth`` answers 401 without the admin's
password; the SMTP server (aiosmtpd) requires AUTH with the planted password; the webhook answers
404 except on the path that carries the planted token. The planted values are random, so finding
one anywhere is a leak, never a coincidence.

:func:`find_secrets` looks for each secret as it is, URL-encoded, and for the logins in the
base64 forms that HTTP basic auth and SMTP ``AUTH PLAIN`` send.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from email.message import EmailMessage
from pathlib import Path

from mlvp_assets_tests.alert_receivers import Mailbox, WebhookReceiver, running_webhook, start_smtp
from mlvp_assets_tests.server_processes import LOOPBACK

REGION = "us-east-1"
S3_USER = "mlvp-prod"
MLFLOW_USER = "mlvp-admin"
SMTP_USER = "mlvp-alerts"
# Any S3 action on any bucket: the key is what is tested, not a policy.
S3_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def planted(kind: str) -> str:
    """A value no file holds by chance (mlflow wants 12 characters or more in a password)."""
    return f"planted-{kind}-{secrets.token_hex(12)}"


@dataclasses.dataclass(frozen=True)
class PlantedSecrets:
    mlflow_password: str = dataclasses.field(default_factory=lambda: planted("mlflow-password"))
    mlflow_flask_key: str = dataclasses.field(default_factory=lambda: planted("mlflow-flask-key"))
    smtp_password: str = dataclasses.field(default_factory=lambda: planted("smtp-password"))
    webhook_token: str = dataclasses.field(default_factory=lambda: planted("webhook-token"))

    def named(self, s3_secret_key: str) -> dict[str, str]:
        """Every secret by name, with the S3 secret key that moto made."""
        return {
            "S3 secret key": s3_secret_key,
            "MLflow password": self.mlflow_password,
            "MLflow server's Flask secret key": self.mlflow_flask_key,
            "SMTP password": self.smtp_password,
            "webhook token": self.webhook_token,
        }

    def encoded_forms(self, named: Mapping[str, str]) -> dict[str, str]:
        """What to look for: each secret as it is and URL-encoded, and the two logins in base64
        as they travel (an HTTP ``Authorization: Basic`` header, SMTP ``AUTH PLAIN``)."""
        forms = {}
        for name, value in named.items():
            forms[name] = value
            for encode in (urllib.parse.quote, urllib.parse.quote_plus):
                if (encoded := encode(value, safe="")) != value:
                    forms[f"{name} (URL-encoded)"] = encoded
        basic = f"{MLFLOW_USER}:{self.mlflow_password}".encode()
        forms["MLflow password (basic auth header)"] = base64.b64encode(basic).decode()
        plain = f"\0{SMTP_USER}\0{self.smtp_password}".encode()
        forms["SMTP password (AUTH PLAIN)"] = base64.b64encode(plain).decode()
        return forms


def find_secrets(forms: Mapping[str, str], files: Iterable[Path], texts: Mapping[str, str]) -> list[str]:
    """``"<secret> in <place>"`` for every form found in a file's bytes or in a named text."""
    needles = {name: value.encode() for name, value in forms.items()}
    found = []
    for path in files:
        content = path.read_bytes()
        found += [f"{name} in {path}" for name, needle in needles.items() if needle in content]
    for place, text in texts.items():
        found += [f"{name} in {place}" for name, value in forms.items() if value in text]
    return found


def files_under(*folders: Path) -> list[Path]:
    return [path for folder in folders for path in sorted(folder.rglob("*")) if path.is_file()]


# --- S3: moto with IAM authentication ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class S3Credentials:
    access_key_id: str
    secret_key: str


def s3_client(endpoint: str, access_key_id: str, secret_key: str):
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=access_key_id, aws_secret_access_key=secret_key,
        region_name=REGION,
    )  # fmt: skip


def require_iam_credentials(endpoint: str) -> S3Credentials:
    """Make moto's server check every request from now on: its signature must come from the key of
    an IAM user (created here, with moto's random secret) whose policy allows the action.

    moto's server takes requests without checking until ``/moto-api/reset-auth`` sets how many it
    still lets through (here none); without that, any key passes.
    """
    import boto3

    iam = boto3.client(
        "iam", endpoint_url=endpoint, aws_access_key_id="unchecked", aws_secret_access_key="unchecked",
        region_name=REGION,
    )  # fmt: skip
    iam.create_user(UserName=S3_USER)
    iam.put_user_policy(UserName=S3_USER, PolicyName="s3", PolicyDocument=json.dumps(S3_POLICY))
    key = iam.create_access_key(UserName=S3_USER)["AccessKey"]
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200, response.read()
    return S3Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def s3_status_with_secret(endpoint: str, bucket: str, access_key_id: str, secret_key: str) -> int:
    """The HTTP status of listing ``bucket`` with a request signed by ``secret_key``."""
    import botocore.exceptions

    try:
        response = s3_client(endpoint, access_key_id, secret_key).list_objects_v2(Bucket=bucket, MaxKeys=1)
    except botocore.exceptions.ClientError as error:
        return int(error.response["ResponseMetadata"]["HTTPStatusCode"])
    return int(response["ResponseMetadata"]["HTTPStatusCode"])


def download_bucket(endpoint: str, bucket: str, credentials: S3Credentials, folder: Path) -> list[str]:
    """Every object of ``bucket`` into ``folder``, by key; the keys."""
    client = s3_client(endpoint, credentials.access_key_id, credentials.secret_key)
    keys = [
        item["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    ]
    for key in keys:
        target = folder / key
        if key.endswith("/"):  # a folder marker
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, key, str(target))
    return keys


# --- MLflow: the basic-auth app ---------------------------------------------------------------


def mlflow_basic_auth_environment(folder: Path, planted_secrets: PlantedSecrets) -> dict[str, str]:
    """The environment of ``mlflow server --app-name basic-auth``: its users in ``folder`` (not in
    ``./basic_auth.db``, the default), the admin and its password, the Flask key it signs with.
    Nobody may read anything without logging in."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "basic_auth.ini"
    config.write_text(
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{folder / 'basic_auth.db'}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    return {
        "MLFLOW_AUTH_CONFIG_PATH": str(config),
        "MLFLOW_AUTH_ADMIN_USERNAME": MLFLOW_USER,
        "MLFLOW_AUTH_ADMIN_PASSWORD": planted_secrets.mlflow_password,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": planted_secrets.mlflow_flask_key,
    }


def http_status(url: str, user: str | None = None, password: str | None = None) -> int:
    request = urllib.request.Request(url)
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@dataclasses.dataclass(frozen=True)
class MlflowRecord:
    """What the tracking server holds, read with the password: who created the runs and models,
    and every run's params and tags (``{run id: {"params", "tags"}}``)."""

    run_users: list[str]
    model_versions: list[str]
    runs: dict[str, dict[str, dict[str, str]]]


def mlflow_record(tracking_uri: str, password: str) -> MlflowRecord:
    from mlflow.tracking import MlflowClient

    with _environment({"MLFLOW_TRACKING_USERNAME": MLFLOW_USER, "MLFLOW_TRACKING_PASSWORD": password}):
        client = MlflowClient(tracking_uri=tracking_uri)
        experiments = [experiment.experiment_id for experiment in client.search_experiments()]
        runs = client.search_runs(experiments, max_results=1000)
        versions = [
            f"{version.name}/{version.version} by {version.user_id or '?'}"
            for model in client.search_registered_models()
            for version in client.search_model_versions(f"name='{model.name}'")
        ]
    return MlflowRecord(
        run_users=[run.info.user_id for run in runs],
        model_versions=versions,
        runs={run.info.run_id: {"params": run.data.params, "tags": run.data.tags} for run in runs},
    )


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    import os

    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --- alerts: an SMTP server that requires AUTH, a webhook whose URL carries a token -----------


@dataclasses.dataclass
class AlertReceivers:
    """What the SMTP server and the webhook received. ``logins``: each AUTH attempt's user and
    whether its password was the planted one; ``refused_paths``: webhook requests on another path."""

    mailbox: Mailbox
    webhook: WebhookReceiver

    @property
    def smtp_port(self) -> int:
        return self.mailbox.port

    @property
    def webhook_url(self) -> str:
        return self.webhook.url

    @property
    def messages(self) -> list[EmailMessage]:
        return self.mailbox.messages

    @property
    def logins(self) -> list[tuple[str, bool]]:
        return self.mailbox.login_attempts

    @property
    def webhook_bodies(self) -> list[str]:
        return [request["raw"] for request in self.webhook.delivered]

    @property
    def refused_paths(self) -> list[str]:
        return self.webhook.refused_paths


@contextlib.contextmanager
def running_alert_receivers(planted_secrets: PlantedSecrets) -> Iterator[AlertReceivers]:
    """An SMTP server on 127.0.0.1 that takes mail only after AUTH with the planted password (plain
    SMTP: TLS is the channel tests' business), and a webhook that takes POSTs only on
    ``/hooks/<planted token>``; both stopped when the block ends."""
    with running_webhook(token=planted_secrets.webhook_token) as webhook:
        mailbox = start_smtp("plain", user=SMTP_USER, password=planted_secrets.smtp_password)
        try:
            yield AlertReceivers(mailbox, webhook)
        finally:
            mailbox.stop()


def alert_environment(receivers: AlertReceivers, planted_secrets: PlantedSecrets) -> dict[str, str]:
    """The email alert settings of prod (``MLVP_ALERT_CHANNEL`` is chosen per tick) and the webhook URL."""
    return {
        "MLVP_SMTP_HOST": LOOPBACK,
        "MLVP_SMTP_PORT": str(receivers.smtp_port),
        "MLVP_SMTP_SECURITY": "plain",
        "MLVP_SMTP_USER": SMTP_USER,
        "MLVP_SMTP_PASSWORD": planted_secrets.smtp_password,
        "MLVP_ALERT_EMAIL_FROM": "mlvp@example.org",
        "MLVP_ALERT_EMAIL_TO": "oncall@example.org",
        "MLVP_ALERT_WEBHOOK_URL": receivers.webhook_url,
    }


ALERT_SENSORS = ("asset_check_failure_alert_sensor", "run_failure_alert_sensor")


def tick_alert_sensors(environment: Mapping[str, str], channel: str) -> dict[str, str | None]:
    """Tick each alert sensor of the prod definitions once, as new (no cursor: the run ends of the
    last day), against the instance in ``DAGSTER_HOME``, with ``environment`` and the alert channel
    ``channel``; what each tick said (its skip reason)."""
    import dagster as dg
    import pytest

    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**environment, "MLVP_ALERT_CHANNEL": channel}.items():
            patch.setenv(name, value)
        from mlvp_assets.definitions import build_definitions

        defs = build_definitions("prod")
        said = {}
        with dg.DagsterInstance.get() as instance:
            for name in ALERT_SENSORS:
                with dg.build_sensor_context(
                    instance=instance, resources={"alerts": (defs.resources or {})["alerts"]}
                ) as context:
                    said[name] = defs.resolve_sensor_def(name).evaluate_tick(context).skip_message
    return said


def instance_texts(environment: Mapping[str, str]) -> dict[str, str]:
    """What the Dagster instance in ``DAGSTER_HOME`` holds, read through its API, by place: each
    run's config and tags, its job and execution plan snapshots (stored compressed, so a search of
    the files would not see into them) and its events (materializations and check evaluations with
    their metadata, logs, step outputs)."""
    import dagster as dg
    import pytest

    texts = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", environment["DAGSTER_HOME"])
        with dg.DagsterInstance.get() as instance:
            for run in instance.get_runs():
                label = f"run {run.job_name} {run.run_id}"
                texts[f"{label}: config and tags"] = dg.serialize_value(run)
                if run.job_snapshot_id:
                    snapshot = instance.get_job_snapshot(run.job_snapshot_id)
                    texts[f"{label}: job snapshot"] = dg.serialize_value(snapshot)
                if run.execution_plan_snapshot_id:
                    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
                    texts[f"{label}: execution plan snapshot"] = dg.serialize_value(plan)
                records = instance.get_records_for_run(run.run_id).records
                texts[f"{label}: events"] = "\n".join(
                    dg.serialize_value(record.event_log_entry) for record in records
                )
    return texts


@dataclasses.dataclass(frozen=True)
class ServersProof:
    """What the servers answered after the history: S3 with the planted and a wrong secret key,
    MLflow without a login and with a wrong password, and what MLflow holds."""

    s3_status_with_planted_secret: int
    s3_status_with_wrong_secret: int
    mlflow_status_without_login: int
    mlflow_status_with_wrong_password: int
    mlflow: MlflowRecord


def servers_proof(
    endpoint: str, bucket: str, credentials: S3Credentials, tracking_uri: str, planted_secrets: PlantedSecrets
) -> ServersProof:
    search = f"{tracking_uri}/api/2.0/mlflow/experiments/search?max_results=1"
    return ServersProof(
        s3_status_with_planted_secret=s3_status_with_secret(
            endpoint, bucket, credentials.access_key_id, credentials.secret_key
        ),
        s3_status_with_wrong_secret=s3_status_with_secret(
            endpoint, bucket, credentials.access_key_id, planted("wrong-s3-secret")
        ),
        mlflow_status_without_login=http_status(search),
        mlflow_status_with_wrong_password=http_status(search, MLFLOW_USER, planted("wrong-password")),
        mlflow=mlflow_record(tracking_uri, planted_secrets.mlflow_password),
    )
