"""The ``alerts`` resource per environment, and settings errors that name the setting."""

import datetime as dt

import dagster as dg
import pytest

from mlvp_assets.resources.alerts import Alert, AlertConfigError, AlertResource, Severity, alert_resource_for
from mlvp_assets.resources.alerts.channels import read_json_lines

ALERT_ENV_VARS = (
    "MLVP_DAGSTER_URL",
    "MLVP_ALERT_CHANNEL",
    "MLVP_SMTP_HOST",
    "MLVP_SMTP_PORT",
    "MLVP_SMTP_SECURITY",
    "MLVP_SMTP_USER",
    "MLVP_SMTP_PASSWORD",
    "MLVP_SMTP_CA_FILE",
    "MLVP_ALERT_EMAIL_FROM",
    "MLVP_ALERT_EMAIL_TO",
    "MLVP_ALERT_WEBHOOK_URL",
    "MLVP_STORAGE_ROOT",
)
EMAIL_ENV = {
    "MLVP_ALERT_CHANNEL": "email",
    "MLVP_SMTP_HOST": "smtp.example.org",
    "MLVP_SMTP_SECURITY": "ssl",
    "MLVP_SMTP_USER": "alerts-bot",
    "MLVP_SMTP_PASSWORD": "not-in-code",
    "MLVP_ALERT_EMAIL_FROM": "mlvp@example.org",
    "MLVP_ALERT_EMAIL_TO": "a@example.org,b@example.org",
}


@pytest.fixture(autouse=True)
def clean_alert_env(monkeypatch):
    for name in ALERT_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def set_env(monkeypatch, values: dict[str, str]) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def an_alert() -> Alert:
    return Alert(
        severity=Severity.HIGH,
        title="Run failed: medallion_job",
        summary="ValueError: boom",
        kind="run_failure",
        partition="2026-01-02",
        run_id="abc",
        links={"run": "http://127.0.0.1:3000/runs/abc"},
        created_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
    )


@pytest.mark.parametrize("env", ["dev", "test"])
def test_dev_and_test_log_under_the_storage_root(env, tmp_path):
    alerts = alert_resource_for(env, str(tmp_path))
    assert (alerts.channel, alerts.label) == ("log", f"mlvp {env}")
    alerts.send(an_alert())
    assert [alert.title for alert in read_json_lines(tmp_path / "alerts" / "alerts.jsonl")] == [
        "Run failed: medallion_job"
    ]


def test_links_point_to_the_dagster_ui_of_the_environment(monkeypatch, tmp_path):
    assert alert_resource_for("dev", str(tmp_path)).ui_url == "http://127.0.0.1:3000"
    monkeypatch.setenv("MLVP_DAGSTER_URL", "https://dagster.example.org/")
    assert alert_resource_for("dev", str(tmp_path)).ui_url == "https://dagster.example.org"
    monkeypatch.setenv("MLVP_DAGSTER_URL", "dagster.example.org")
    with pytest.raises(AlertConfigError, match="MLVP_DAGSTER_URL is not an http"):
        alert_resource_for("dev", str(tmp_path))


def test_unknown_environment_names_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match="unknown environment 'staging'; valid: dev, test, prod"):
        alert_resource_for("staging", str(tmp_path))


def test_prod_defaults_to_the_log_channel_on_a_local_root(monkeypatch, tmp_path):
    monkeypatch.setenv("MLVP_STORAGE_ROOT", str(tmp_path))
    alerts = alert_resource_for("prod", dg.EnvVar("MLVP_STORAGE_ROOT"))
    assert alerts.channel == "log"
    assert alerts.storage_root == dg.EnvVar("MLVP_STORAGE_ROOT")


def test_prod_log_channel_refuses_an_object_store_root(monkeypatch):
    monkeypatch.setenv("MLVP_STORAGE_ROOT", "s3a://bucket/mlvp")
    with pytest.raises(AlertConfigError, match="MLVP_ALERT_CHANNEL=log.*'s3a://bucket/mlvp' is not local"):
        alert_resource_for("prod", dg.EnvVar("MLVP_STORAGE_ROOT"))


def test_prod_email_keeps_settings_as_env_var_references(monkeypatch):
    set_env(monkeypatch, EMAIL_ENV)
    alerts = alert_resource_for("prod", dg.EnvVar("MLVP_STORAGE_ROOT"))
    assert alerts.channel == "email"
    assert alerts.smtp_security == "ssl"
    assert alerts.smtp_port == 465  # the default of ssl when MLVP_SMTP_PORT is unset
    assert alerts.smtp_host == dg.EnvVar("MLVP_SMTP_HOST")
    assert alerts.smtp_password == dg.EnvVar("MLVP_SMTP_PASSWORD")
    assert alerts.email_to == dg.EnvVar("MLVP_ALERT_EMAIL_TO")


def test_prod_webhook_is_resolved_from_the_environment_when_dagster_builds_it(monkeypatch):
    set_env(
        monkeypatch,
        {"MLVP_ALERT_CHANNEL": "webhook", "MLVP_ALERT_WEBHOOK_URL": "https://hooks.example.org/T/B/x"},
    )
    alerts = alert_resource_for("prod", None)
    assert alerts.webhook_url == dg.EnvVar("MLVP_ALERT_WEBHOOK_URL")
    with dg.build_resources({"alerts": alerts}) as built:
        assert built.alerts.webhook_url == "https://hooks.example.org/T/B/x"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"MLVP_ALERT_CHANNEL": "pager"},
            r"unknown alert channel 'pager' in MLVP_ALERT_CHANNEL; valid: log, email, webhook",
        ),
        ({"MLVP_ALERT_CHANNEL": "webhook"}, r"MLVP_ALERT_CHANNEL=webhook needs MLVP_ALERT_WEBHOOK_URL"),
        (
            {"MLVP_ALERT_CHANNEL": "webhook", "MLVP_ALERT_WEBHOOK_URL": "hooks.slack.com/x"},
            r"MLVP_ALERT_WEBHOOK_URL is not an http\(s\) URL",
        ),
        ({**EMAIL_ENV, "MLVP_SMTP_HOST": ""}, r"MLVP_ALERT_CHANNEL=email needs MLVP_SMTP_HOST"),
        ({**EMAIL_ENV, "MLVP_ALERT_EMAIL_TO": " , "}, r"needs MLVP_ALERT_EMAIL_TO"),
        ({**EMAIL_ENV, "MLVP_SMTP_PASSWORD": ""}, r"MLVP_SMTP_USER is set but MLVP_SMTP_PASSWORD is not"),
        (
            {**EMAIL_ENV, "MLVP_SMTP_SECURITY": "tls"},
            r"unknown SMTP security 'tls' in MLVP_SMTP_SECURITY; valid: starttls, ssl, plain",
        ),
        ({**EMAIL_ENV, "MLVP_SMTP_PORT": "smtp"}, r"MLVP_SMTP_PORT must be a port number, not 'smtp'"),
    ],
)
def test_prod_settings_errors_name_the_variable(monkeypatch, env, message):
    set_env(monkeypatch, env)
    with pytest.raises(AlertConfigError, match=message):
        alert_resource_for("prod", "s3a://bucket/mlvp")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"channel": "sms"},
            r"unknown alert channel 'sms' in channel \(env MLVP_ALERT_CHANNEL\); valid: log, email, webhook",
        ),
        (
            {"channel": "webhook"},
            r"alert channel 'webhook' needs webhook_url \(env MLVP_ALERT_WEBHOOK_URL\), which is not set",
        ),
        (
            {"channel": "email", "email_from": "a@x", "email_to": "b@x"},
            r"needs smtp_host \(env MLVP_SMTP_HOST\)",
        ),
        ({"channel": "log"}, r"needs storage_root \(env MLVP_STORAGE_ROOT\)"),
    ],
)
def test_resource_settings_errors_name_the_field(settings, message):
    with pytest.raises(AlertConfigError, match=message):
        AlertResource(**settings).send(an_alert())


def test_a_wrong_resource_fails_when_dagster_initialises_it():
    with (
        pytest.raises(dg.DagsterResourceFunctionError) as raised,
        dg.build_resources({"alerts": AlertResource(channel="webhook")}),
    ):
        pass
    assert isinstance(raised.value.__cause__, AlertConfigError)
    assert "webhook_url (env MLVP_ALERT_WEBHOOK_URL)" in str(raised.value.__cause__)
