"""How an alert travels: appended to a JSON-lines file, mailed over SMTP, or POSTed to a webhook.

Plain functions with explicit settings; ``AlertResource`` chooses one and fills the settings in.
A delivery that fails raises ``AlertDeliveryError`` naming the server or URL (a webhook URL is
shown without its secret path) so that a failed sensor tick says where the alert did not go.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from mlvp_assets.resources.alerts.alert import Alert

SMTP_SECURITY_MODES = ("starttls", "ssl", "plain")
DEFAULT_SMTP_PORTS = {"starttls": 587, "ssl": 465, "plain": 25}


class AlertDeliveryError(RuntimeError):
    """An alert could not be delivered through its channel."""


def append_json_line(path: Path, alert: Alert) -> None:
    """Append the alert as one JSON line to ``path``, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        file.write(alert.to_json() + "\n")


def read_json_lines(path: Path) -> list[Alert]:
    """The alerts of a JSON-lines file, oldest first; none when it does not exist."""
    if not path.exists():
        return []
    return [Alert.from_json(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def build_email(alert: Alert, sender: str, recipients: Sequence[str], label: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = alert.subject(label)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["X-MLVP-Severity"] = alert.severity.value
    message.set_content(alert.to_text(label))
    return message


def send_email(
    alert: Alert,
    *,
    host: str,
    port: int | None,
    security: str,
    sender: str,
    recipients: Sequence[str],
    user: str | None = None,
    password: str | None = None,
    ca_file: str | None = None,
    timeout: float = 30.0,
    label: str = "mlvp",
) -> None:
    """Mail the alert through ``host``: ``starttls`` (upgrade after connecting), ``ssl`` (TLS from
    the first byte) or ``plain`` (no encryption: only for a relay on a trusted network).

    TLS verifies the server's certificate against the system's CAs, or against ``ca_file``.
    """
    if security not in SMTP_SECURITY_MODES:
        raise ValueError(f"unknown SMTP security {security!r}; valid: {', '.join(SMTP_SECURITY_MODES)}")
    port = port or DEFAULT_SMTP_PORTS[security]
    message = build_email(alert, sender, recipients, label)
    tls = ssl.create_default_context(cafile=ca_file) if security != "plain" else None
    try:
        if security == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls)
        else:
            server = smtplib.SMTP(host, port, timeout=timeout)
        with server:
            if security == "starttls":
                server.starttls(context=tls)
            if user:
                server.login(user, password or "")
            server.send_message(message, from_addr=sender, to_addrs=list(recipients))
    except (smtplib.SMTPException, OSError) as error:
        raise AlertDeliveryError(
            f"email alert not delivered through SMTP server {host}:{port} ({security}): {error}"
        ) from error


def redact_url(url: str) -> str:
    """The URL without query and without the path after its first segment, which in Slack and
    Teams webhook URLs is the secret: ``https://hooks.slack.com/services/***``."""
    parts = urllib.parse.urlsplit(url)
    segments = [segment for segment in parts.path.split("/") if segment]
    path = "/" + segments[0] + ("/***" if len(segments) > 1 else "") if segments else ""
    return f"{parts.scheme}://{parts.netloc}{path}"


def post_webhook(alert: Alert, url: str, *, timeout: float = 10.0, label: str = "mlvp") -> int:
    """POST the alert's webhook payload as JSON; the HTTP status, or an error for anything not 2xx."""
    body = json.dumps(alert.webhook_payload(label)).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    shown = redact_url(url)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
            answer = response.read(300)
    except urllib.error.HTTPError as error:
        answer = error.read(300)
        raise AlertDeliveryError(
            f"webhook {shown} answered HTTP {error.code}: {answer.decode('utf-8', 'replace').strip()}"
        ) from error
    except (urllib.error.URLError, OSError) as error:
        raise AlertDeliveryError(f"webhook {shown} not reachable: {error}") from error
    if not 200 <= status < 300:
        raise AlertDeliveryError(
            f"webhook {shown} answered HTTP {status}: {answer.decode('utf-8', 'replace').strip()}"
        )
    return status
