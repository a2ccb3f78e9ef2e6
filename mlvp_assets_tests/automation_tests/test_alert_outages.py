"""An alert channel that is down: the alert stays pending and is delivered once the channel is back.

Each alert sensor against a real server of ``conftest.py`` that is down for a few ticks: the SMTP
server refusing the message (451 to DATA), the SMTP server stopped (its port closed, then served
again), the webhook answering 500. While it is down every tick fails with the delivery error and
the server takes nothing; the first tick after it is back delivers the alert, and later ticks
deliver nothing more. A tick that fails returns no cursor: the next one starts from the cursor
before it, as the sensor daemon does.
"""

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import pytest

from mlvp_assets.automation.alert_sensors import (
    asset_check_failure_alert_sensor,
    run_failure_alert_sensor,
)
from mlvp_assets.resources.alerts import AlertDeliveryError, AlertResource
from mlvp_assets_tests.alert_receivers import Mailbox, WebhookReceiver
from mlvp_assets_tests.automation_tests.test_alert_sensors import bronze_listings, evaluate, ingestion_job
from mlvp_assets_tests.automation_tests.test_channels import email_resource

# The plain-SMTP test server takes a login without TLS on purpose; aiosmtpd warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

# Ticks while the channel is down, each one failing; the alert waits through all of them.
DOWN_TICKS = 3
# Ticks after the delivery, each one sending nothing.
TICKS_AFTER = 2
SMTP_REFUSAL = "451 4.3.0 Mail server temporarily rejected message; try again later"


@dataclass
class Channel:
    """The ``alerts`` resource of a real server, how to take the server down and bring it back,
    and the headlines (an e-mail's subject, a webhook text's first line) of what it took."""

    alerts: AlertResource
    down: Callable[[], None]
    up: Callable[[], None]
    delivered: Callable[[], list[str]]
    error: str  # what the delivery error says while the channel is down


def smtp_refusing(mailbox: Mailbox) -> Channel:
    def down() -> None:
        mailbox.refusal = SMTP_REFUSAL

    def up() -> None:
        mailbox.refusal = None

    return Channel(
        alerts=email_resource(mailbox),
        down=down,
        up=up,
        delivered=lambda: [message["Subject"] for message in mailbox.messages],
        error=rf"SMTP server 127\.0\.0\.1:{mailbox.port} \(plain\).*451",
    )


def smtp_stopped(mailbox: Mailbox) -> Channel:
    return Channel(
        alerts=email_resource(mailbox),
        down=mailbox.stop,
        up=mailbox.start,
        delivered=lambda: [message["Subject"] for message in mailbox.messages],
        error=rf"SMTP server 127\.0\.0\.1:{mailbox.port} \(plain\).*Connection refused",
    )


def webhook_500(receiver: WebhookReceiver) -> Channel:
    def down() -> None:
        receiver.status = 500

    def up() -> None:
        receiver.status = 200

    return Channel(
        alerts=AlertResource(
            channel="webhook", label="mlvp test", webhook_url=receiver.url, timeout_seconds=5
        ),
        down=down,
        up=up,
        delivered=lambda: [request["body"]["text"].splitlines()[0] for request in receiver.delivered],
        error=r"webhook http://127\.0\.0\.1:\d+/hooks answered HTTP 500: server_error",
    )


OUTAGES: dict[str, tuple[str, Callable]] = {
    "smtp_refusing": ("smtp_server", smtp_refusing),
    "smtp_stopped": ("smtp_server", smtp_stopped),
    "webhook_500": ("webhook_receiver", webhook_500),
}


@pytest.fixture(params=sorted(OUTAGES))
def channel(request) -> Channel:
    server, channel_of = OUTAGES[request.param]
    return channel_of(request.getfixturevalue(server))


def fail_a_check(instance: dg.DagsterInstance) -> None:
    dg.materialize([bronze_listings], instance=instance, partition_key="2026-01-03")


def fail_a_run(instance: dg.DagsterInstance) -> None:
    ingestion_job.execute_in_process(
        instance=instance, raise_on_error=False, tags={"dagster/partition": "2026-01-04"}
    )


SENSORS = {
    "asset_check_failure_alert_sensor": (
        asset_check_failure_alert_sensor,
        fail_a_check,
        "Asset check failed: landing_files_are_readable on bronze_listings",
        "no new asset check evaluations",
    ),
    "run_failure_alert_sensor": (
        run_failure_alert_sensor,
        fail_a_run,
        "Run failed: ingestion_job",
        "no new run failures",
    ),
}


@pytest.fixture
def instance():
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.mark.parametrize("sensor_name", sorted(SENSORS))
def test_an_alert_not_delivered_while_the_channel_is_down_is_delivered_once_when_it_is_back(
    instance, channel, sensor_name
):
    sensor, cause_failure, title, nothing_new = SENSORS[sensor_name]
    start = evaluate(sensor, instance, channel.alerts)
    assert (start.skip_message, start.cursor) == ("no run ended in the lookback", "0")

    cause_failure(instance)
    channel.down()
    for _ in range(DOWN_TICKS):
        with pytest.raises(AlertDeliveryError, match=channel.error):
            evaluate(sensor, instance, channel.alerts, cursor=start.cursor)
        assert channel.delivered() == []

    channel.up()
    delivered = evaluate(sensor, instance, channel.alerts, cursor=start.cursor)
    assert delivered.skip_message == "sent 1 alert(s) for 1 run(s)"
    assert int(delivered.cursor) > int(start.cursor)
    [headline] = channel.delivered()
    assert title in headline

    cursor = delivered.cursor
    for _ in range(TICKS_AFTER):
        after = evaluate(sensor, instance, channel.alerts, cursor=cursor)
        assert (after.skip_message, after.cursor) == (nothing_new, cursor)
    assert len(channel.delivered()) == 1


def test_a_refusing_smtp_server_saw_each_retry_and_took_only_the_last(instance, smtp_server):
    """The refusals were real: each tick while it refused reached DATA, and was answered 451."""
    channel = smtp_refusing(smtp_server)
    start = evaluate(run_failure_alert_sensor, instance, channel.alerts)
    fail_a_run(instance)
    channel.down()
    for _ in range(DOWN_TICKS):
        with pytest.raises(AlertDeliveryError, match="451"):
            evaluate(run_failure_alert_sensor, instance, channel.alerts, cursor=start.cursor)
    channel.up()
    evaluate(run_failure_alert_sensor, instance, channel.alerts, cursor=start.cursor)

    assert len(smtp_server.refused) == DOWN_TICKS and len(smtp_server.messages) == 1
    assert {message["Subject"] for message in smtp_server.refused} == {smtp_server.messages[0]["Subject"]}


def test_run_failures_while_the_webhook_is_down_are_all_delivered_once_in_order(instance, webhook_receiver):
    """Two runs fail while the webhook answers 500; once it is back, one tick delivers both, oldest
    first, and nothing is delivered twice."""
    channel = webhook_500(webhook_receiver)
    start = evaluate(run_failure_alert_sensor, instance, channel.alerts)
    channel.down()
    runs = []
    for _ in range(2):
        runs.append(ingestion_job.execute_in_process(instance=instance, raise_on_error=False).run_id)
        with pytest.raises(AlertDeliveryError, match="HTTP 500"):
            evaluate(run_failure_alert_sensor, instance, channel.alerts, cursor=start.cursor)

    channel.up()
    delivered = evaluate(run_failure_alert_sensor, instance, channel.alerts, cursor=start.cursor)
    assert delivered.skip_message == "sent 2 alert(s) for 2 run(s)"
    texts = [request["body"]["text"] for request in webhook_receiver.delivered]
    assert [next(run for run in runs if f"Run: {run}" in text) for text in texts] == runs
    assert evaluate(
        run_failure_alert_sensor, instance, channel.alerts, cursor=delivered.cursor
    ).skip_message == ("no new run failures")
    assert len(webhook_receiver.delivered) == 2
