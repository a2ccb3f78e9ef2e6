"""An alert that names values from a landing file which are HTML or script: the e-mail is plain
text only (no HTML part a mail client would render) and the webhook's JSON carries each value as
a string. Delivered to the real SMTP and HTTP receivers of ``conftest.py``.

The alert is the one a landing file whose header holds such column names raises, through
bronze's ``source_schema_is_unchanged`` check and the alert sensor's rendering of a failed check.
"""

import dagster as dg
import pytest

from mlvp_assets.automation.alert_sensors import alert_for_check_evaluation
from mlvp_assets.bronze.rules import source_schema_check
from mlvp_assets.resources.alerts import Alert, AlertResource
from mlvp_assets_tests.automation_tests.test_channels import email_resource
from mlvp_assets_tests.hostile import HOSTILE_VALUES

# The plain-SMTP test server takes a login without TLS on purpose; aiosmtpd warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def hostile_alert() -> Alert:
    result = source_schema_check(
        {"missing": {}, "new": {value: ["landing/2026-01-03/listings.csv"] for value in HOSTILE_VALUES}}
    )
    evaluation = dg.AssetCheckEvaluation(
        asset_key=result.asset_key,
        check_name=result.check_name,
        passed=result.passed,
        severity=result.severity,
        description=result.description,
        metadata=result.metadata,
    )
    return alert_for_check_evaluation(
        evaluation, run_id="4f1c2b7e", partition="2026-01-03", ui_url="http://127.0.0.1:3000"
    )


def test_the_alert_names_the_hostile_columns_as_they_are():
    alert = hostile_alert()
    for value in HOSTILE_VALUES:
        assert value in alert.summary
        assert value in alert.to_text()


def test_the_email_is_plain_text_with_the_values_as_they_are(smtp_server):
    email_resource(smtp_server).send(hostile_alert())

    (message,) = smtp_server.messages
    assert [part.get_content_type() for part in message.walk()] == ["text/plain"]  # no HTML part
    body = message.get_content()
    for value in HOSTILE_VALUES:
        assert value in body, f"{value!r} missing from:\n{body}"
        assert value not in message["Subject"]


def test_the_webhook_json_carries_the_values_as_strings(webhook_receiver):
    AlertResource(channel="webhook", label="mlvp prod", webhook_url=webhook_receiver.url).send(
        hostile_alert()
    )

    (received,) = webhook_receiver.requests  # the receiver parsed the body as JSON
    assert received["content_type"].startswith("application/json")
    assert list(received["body"]) == ["text"]
    for value in HOSTILE_VALUES:
        assert value in received["body"]["text"]
