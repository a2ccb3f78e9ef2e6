"""Each channel delivers to a real receiver: a JSON-lines file, an SMTP server, an HTTP server."""

import datetime as dt
import json
import logging

import pytest

from mlvp_assets.resources.alerts import Alert, AlertDeliveryError, AlertResource, Severity
from mlvp_assets.resources.alerts.channels import read_json_lines, redact_url
from mlvp_assets_tests.alert_receivers import SMTP_PASSWORD, SMTP_USER

REPORT_URL = "http://127.0.0.1:8080/reports/drift/2026-01-02.html"
RUN_URL = "http://127.0.0.1:3000/runs/4f1c2b7e"

# The plain-SMTP test server takes a login without TLS on purpose; aiosmtpd warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def drift_alert(**changes) -> Alert:
    values = dict(
        severity=Severity.MEDIUM,
        title="Asset check failed: no_data_drift on daily_predictions",
        summary='drift_share: 0.42\ndrifted_columns: ["accommodates", "bedrooms"]',
        kind="asset_check",
        asset_key="daily_predictions",
        partition="2026-01-02",
        links={"report": REPORT_URL, "run": RUN_URL},
        run_id="4f1c2b7e",
        created_at=dt.datetime(2026, 1, 2, 6, 30, tzinfo=dt.UTC),
    )
    values.update(changes)
    return Alert(**values)


def email_resource(mailbox, security="plain", **changes) -> AlertResource:
    settings = dict(
        channel="email",
        label="mlvp test",
        smtp_host=mailbox.host,
        smtp_port=mailbox.port,
        smtp_security=security,
        smtp_user=SMTP_USER,
        smtp_password=SMTP_PASSWORD,
        email_from="mlvp-alerts@example.org",
        email_to="data-team@example.org, on-call@example.org",
        timeout_seconds=5,
    )
    settings.update(changes)
    return AlertResource(**settings)


# --- log -----------------------------------------------------------------------------------------


def test_log_channel_appends_json_lines_under_the_storage_root(tmp_path, caplog):
    alerts = AlertResource(channel="log", storage_root=str(tmp_path))
    first, second = drift_alert(), drift_alert(severity=Severity.HIGH, partition="2026-01-03")

    with caplog.at_level(logging.WARNING, logger="mlvp_assets.resources.alerts"):
        alerts.send(first)
        alerts.send(second)

    path = tmp_path / "alerts" / "alerts.jsonl"
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0]) == {
        "severity": "medium",
        "title": "Asset check failed: no_data_drift on daily_predictions",
        "kind": "asset_check",
        "asset_key": "daily_predictions",
        "partition": "2026-01-02",
        "summary": 'drift_share: 0.42\ndrifted_columns: ["accommodates", "bedrooms"]',
        "links": {"report": REPORT_URL, "run": RUN_URL},
        "run_id": "4f1c2b7e",
        "created_at": "2026-01-02T06:30:00+00:00",
    }
    assert read_json_lines(path) == [first, second]
    # Without a Dagster logger the alert goes to Python logging, at a level that follows its severity.
    levels = [(record.levelno, "daily_predictions" in record.getMessage()) for record in caplog.records]
    assert levels == [(logging.WARNING, True), (logging.ERROR, True)]


def test_log_channel_accepts_a_file_uri_root(tmp_path):
    AlertResource(channel="log", storage_root=tmp_path.as_uri()).send(drift_alert())
    assert read_json_lines(tmp_path / "alerts" / "alerts.jsonl")[0].partition == "2026-01-02"


# --- email ---------------------------------------------------------------------------------------


def assert_is_the_drift_alert(message, mailbox):
    assert (
        message["Subject"]
        == "[mlvp test] MEDIUM: Asset check failed: no_data_drift on daily_predictions [2026-01-02]"
    )
    assert message["From"] == "mlvp-alerts@example.org"
    assert message["To"] == "data-team@example.org, on-call@example.org"
    assert message["X-MLVP-Severity"] == "medium"
    body = message.get_content()
    for line in (
        "Severity: medium",
        "Asset: daily_predictions",
        "Partition: 2026-01-02",
        "Run: 4f1c2b7e",
        "  drift_share: 0.42",
        f"  report: {REPORT_URL}",
        f"  run: {RUN_URL}",
    ):
        assert line in body.splitlines(), f"{line!r} missing from:\n{body}"
    assert mailbox.envelopes == [
        ("mlvp-alerts@example.org", ["data-team@example.org", "on-call@example.org"])
    ]
    assert mailbox.logins == [SMTP_USER]


def test_email_over_plain_smtp_with_login(smtp_server):
    email_resource(smtp_server).send(drift_alert())

    assert len(smtp_server.messages) == 1
    assert_is_the_drift_alert(smtp_server.messages[0], smtp_server)


@pytest.mark.parametrize("smtp_server", ["starttls", "ssl"], indirect=True)
def test_email_over_tls_verifies_the_server_against_the_ca_file(smtp_server, certificates, request):
    security = request.node.callspec.params["smtp_server"]
    email_resource(smtp_server, security, smtp_ca_file=str(certificates.ca_file)).send(drift_alert())

    assert len(smtp_server.messages) == 1
    assert_is_the_drift_alert(smtp_server.messages[0], smtp_server)


@pytest.mark.parametrize("smtp_server", ["starttls", "ssl"], indirect=True)
def test_email_over_tls_refuses_an_untrusted_certificate(smtp_server, request):
    security = request.node.callspec.params["smtp_server"]
    with pytest.raises(
        AlertDeliveryError, match=rf"SMTP server 127\.0\.0\.1:{smtp_server.port} \({security}\).*CERTIFICATE"
    ):
        email_resource(smtp_server, security).send(drift_alert())
    assert smtp_server.messages == []


def test_email_with_a_wrong_password_names_the_server(smtp_server):
    with pytest.raises(
        AlertDeliveryError, match=rf"SMTP server 127\.0\.0\.1:{smtp_server.port} \(plain\).*535"
    ):
        email_resource(smtp_server, smtp_password="wrong").send(drift_alert())
    assert smtp_server.messages == []


# --- webhook -------------------------------------------------------------------------------------


def test_webhook_posts_json_with_a_text_field(webhook_receiver):
    AlertResource(channel="webhook", label="mlvp prod", webhook_url=webhook_receiver.url).send(drift_alert())

    assert len(webhook_receiver.requests) == 1
    received = webhook_receiver.requests[0]
    assert received["path"] == "/hooks"
    assert received["content_type"].startswith("application/json")
    assert list(received["body"]) == ["text"]  # the one field both Slack and Teams accept
    text = received["body"]["text"]
    assert (
        text.splitlines()[0]
        == "MEDIUM alert from mlvp prod: Asset check failed: no_data_drift on daily_predictions"
    )
    for line in (
        "Asset: daily_predictions",
        "Partition: 2026-01-02",
        f"  report: {REPORT_URL}",
        f"  run: {RUN_URL}",
    ):
        assert line in text.splitlines()


def test_webhook_error_status_names_the_url_and_status(webhook_receiver):
    webhook_receiver.status = 403
    alerts = AlertResource(channel="webhook", webhook_url=webhook_receiver.url)
    with pytest.raises(
        AlertDeliveryError, match=rf"webhook {webhook_receiver.url} answered HTTP 403: invalid_token"
    ):
        alerts.send(drift_alert())


def test_webhook_unreachable_names_the_url():
    from mlvp_assets_tests.server_processes import free_port

    url = f"http://127.0.0.1:{free_port()}/hooks"
    with pytest.raises(AlertDeliveryError, match=rf"webhook {url} not reachable"):
        AlertResource(channel="webhook", webhook_url=url, timeout_seconds=2).send(drift_alert())


def test_webhook_urls_in_errors_hide_their_secret_path():
    assert (
        redact_url("https://hooks.slack.com/services/T000/B000/XXXXSECRET")
        == "https://hooks.slack.com/services/***"
    )
    assert redact_url("https://example.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123?x=1") == (
        "https://example.webhook.office.com/webhookb2/***"
    )
    assert redact_url("http://127.0.0.1:9000/hooks") == "http://127.0.0.1:9000/hooks"
