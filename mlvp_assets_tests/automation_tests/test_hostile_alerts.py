"""An alert that names values from a landing file which are HTML, script or Slack markup: the
e-mail is plain text only (no HTML part a mail client would render), and the webhook's JSON
carries each value as a string in a text Slack shows as written (no mention of ``@channel`` or of
a person, no link with a label). Delivered to the real SMTP and HTTP receivers of ``conftest.py``.

The alert is the one a landing file whose header holds such column names raises, through
bronze's ``source_schema_is_unchanged`` check and the alert sensor's rendering of a failed check.
"""

import re

import dagster as dg
import pytest

from mlvp_assets.automation.alert_sensors import alert_for_check_evaluation
from mlvp_assets.bronze.rules import source_schema_check
from mlvp_assets.resources.alerts import Alert, AlertResource
from mlvp_assets_tests.automation_tests.test_channels import email_resource
from mlvp_assets_tests.hostile import HOSTILE_VALUES

# The plain-SMTP test server takes a login without TLS on purpose; aiosmtpd warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

# Column names that Slack would read as markup in a message's text: mentions of everyone in the
# channel, of the people online, of a person, a group and a channel; a link with a label that hides
# its address; and text that is already an entity, which must be shown as written too.
CHAT_VALUES = (
    "<!channel>",
    "<!here|here>",
    "<@U123ABC>",
    "<!subteam^S123|oncall>",
    "<#C123ABC>",
    "<https://evil.example/login|click here>",
    "fees &lt;b&gt; & taxes",
)

# How Slack reads a message's text: "<" to the next ">" is a mention or a link; "&amp;", "&lt;"
# and "&gt;" are shown as "&", "<" and ">".
SLACK_MARKUP = re.compile(r"<[^>]*>")
SLACK_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}


def slack_markup(text: str) -> list[str]:
    return SLACK_MARKUP.findall(text)


def slack_shown(text: str) -> str:
    """The text Slack shows for a message's text that holds no markup."""
    return re.sub(r"&(?:amp|lt|gt);", lambda entity: SLACK_ENTITIES[entity.group()], text)


def hostile_alert(values: tuple[str, ...] = HOSTILE_VALUES) -> Alert:
    result = source_schema_check(
        {"missing": {}, "new": {value: ["landing/2026-01-03/listings.csv"] for value in values}}
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


@pytest.mark.parametrize("values", [HOSTILE_VALUES, CHAT_VALUES], ids=["html", "chat"])
def test_the_alert_names_the_hostile_columns_as_they_are(values):
    alert = hostile_alert(values)
    for value in values:
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


@pytest.mark.parametrize("values", [HOSTILE_VALUES, CHAT_VALUES], ids=["html", "chat"])
def test_the_webhook_text_shows_the_values_as_written_without_markup(webhook_receiver, values):
    alert = hostile_alert(values)
    AlertResource(channel="webhook", label="mlvp prod", webhook_url=webhook_receiver.url).send(alert)

    (received,) = webhook_receiver.requests  # the receiver parsed the body as JSON
    assert received["content_type"].startswith("application/json")
    assert list(received["body"]) == ["text"]
    text = received["body"]["text"]
    assert slack_markup(text) == [] and "<" not in text and ">" not in text
    assert re.findall(r"&(?!amp;|lt;|gt;)", text) == []  # every "&" is one of Slack's entities
    # What Slack shows is the alert's plain text, the e-mail's body: each value as written.
    assert slack_shown(text) == alert.to_text("mlvp prod")
    for value in values:
        assert value in slack_shown(text)
    assert "  run: http://127.0.0.1:3000/runs/4f1c2b7e" in text.splitlines()  # links stay bare
