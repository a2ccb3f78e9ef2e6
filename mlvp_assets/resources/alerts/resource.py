"""The ``alerts`` resource: one ``send(alert)`` whatever the channel, and its settings per environment.

dev and test append alerts to ``<storage root>/alerts/alerts.jsonl`` (the ``log`` channel); prod
reads the channel and its settings (``MLVP_ALERT_CHANNEL``, ``MLVP_SMTP_*``,
``MLVP_ALERT_EMAIL_*``, ``MLVP_ALERT_WEBHOOK_URL``, ``MLVP_DAGSTER_URL``: see
:mod:`mlvp_assets.settings`) when the definitions are built, and passes secrets on as ``EnvVar``
references.

A wrong setting fails when the definitions are built, naming the variable; the resource checks
its fields again before sending, naming the field (for resources built by hand).

No ``from __future__ import annotations`` here: Dagster reads the field annotations.
"""

import logging
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from mlvp_assets import files
from mlvp_assets.resources.alerts.alert import Alert, Severity
from mlvp_assets.resources.alerts.channels import (
    DEFAULT_SMTP_PORTS,
    SMTP_SECURITY_MODES,
    append_json_line,
    post_webhook,
    send_email,
)
from mlvp_assets.settings import (
    ALERT_CHANNEL,
    ALERT_EMAIL_FROM,
    ALERT_EMAIL_TO,
    ALERT_WEBHOOK_URL,
    DAGSTER_URL,
    DEFAULT_DAGSTER_URL,
    SMTP_CA_FILE,
    SMTP_HOST,
    SMTP_PASSWORD,
    SMTP_PORT,
    SMTP_SECURITY,
    SMTP_USER,
    STORAGE_ROOT,
    Setting,
)

ALERTS_RESOURCE_KEY = "alerts"
CHANNELS = ("log", "email", "webhook")
ALERTS_FILE = ("alerts", "alerts.jsonl")

# The environment variable behind each field, named in errors.
FIELD_SETTINGS: dict[str, Setting] = {
    "channel": ALERT_CHANNEL,
    "smtp_host": SMTP_HOST,
    "smtp_port": SMTP_PORT,
    "smtp_security": SMTP_SECURITY,
    "smtp_user": SMTP_USER,
    "smtp_password": SMTP_PASSWORD,
    "smtp_ca_file": SMTP_CA_FILE,
    "email_from": ALERT_EMAIL_FROM,
    "email_to": ALERT_EMAIL_TO,
    "webhook_url": ALERT_WEBHOOK_URL,
    "storage_root": STORAGE_ROOT,
}

LOG_LEVELS = {Severity.HIGH: logging.ERROR, Severity.MEDIUM: logging.WARNING, Severity.LOW: logging.INFO}

_fallback_logger = logging.getLogger("mlvp_assets.resources.alerts")


class AlertConfigError(ValueError):
    """An alert setting is missing or invalid; the message names the setting."""


def is_local_root(root: str) -> bool:
    """Whether a storage root is a local folder, as ``StorageResource.is_local`` decides."""
    return files.is_local_path(root)


def local_root_path(root: str) -> Path:
    """A local storage root as an absolute path (``StorageResource.local_root``)."""
    return Path(files.local_path(root))


def _setting(field: str) -> str:
    return f"{field} (env {FIELD_SETTINGS[field].name})" if field in FIELD_SETTINGS else field


def parse_recipients(value: str | None) -> list[str]:
    return [address.strip() for address in (value or "").split(",") if address.strip()]


class AlertResource(dg.ConfigurableResource):
    """Sends alerts through one channel: ``log`` (a JSON line under the storage root and the Dagster
    log), ``email`` (SMTP) or ``webhook`` (a JSON POST with ``text``, for Slack or Teams)."""

    channel: str = Field(default="log", description="log, email or webhook")
    label: str = Field(
        default="mlvp", description="Names the sender in subjects and messages, e.g. 'mlvp prod'"
    )
    dagster_url: str = Field(default=DEFAULT_DAGSTER_URL, description="The Dagster UI that alerts link to")
    storage_root: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_security: str = "starttls"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_ca_file: str | None = None
    email_from: str | None = None
    email_to: str | None = None
    webhook_url: str | None = None
    timeout_seconds: float = 20.0

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.check_settings()

    def check_settings(self) -> None:
        """Fail with an ``AlertConfigError`` naming the first wrong setting of the chosen channel."""
        if self.channel not in CHANNELS:
            raise AlertConfigError(
                f"unknown alert channel {self.channel!r} in {_setting('channel')}; "
                f"valid: {', '.join(CHANNELS)}"
            )
        required = {
            "log": ["storage_root"],
            "email": ["smtp_host", "email_from", "email_to"],
            "webhook": ["webhook_url"],
        }[self.channel]
        for field in required:
            self._required(field)
        if self.channel == "log" and not is_local_root(self._required("storage_root")):
            raise AlertConfigError(
                f"alert channel 'log' appends to a local file, but {_setting('storage_root')} is "
                f"{self.storage_root!r}; use channel email or webhook for an object-store root"
            )
        if self.channel == "email":
            if self.smtp_security not in SMTP_SECURITY_MODES:
                raise AlertConfigError(
                    f"unknown SMTP security {self.smtp_security!r} in {_setting('smtp_security')}; "
                    f"valid: {', '.join(SMTP_SECURITY_MODES)}"
                )
            if self.smtp_user and not self.smtp_password:
                raise AlertConfigError(
                    f"{_setting('smtp_user')} is set but {_setting('smtp_password')} is not"
                )
            if not parse_recipients(self.email_to):
                raise AlertConfigError(f"{_setting('email_to')} names no recipient")
        if self.channel == "webhook" and not self._required("webhook_url").startswith(
            ("http://", "https://")
        ):
            raise AlertConfigError(f"{_setting('webhook_url')} is not an http(s) URL")

    def _required(self, field: str) -> str:
        """The value of a setting the channel needs; fails naming it when it is not set."""
        value: str | None = getattr(self, field)
        if not value:
            raise AlertConfigError(
                f"alert channel {self.channel!r} needs {_setting(field)}, which is not set"
            )
        return value

    @property
    def ui_url(self) -> str:
        """The Dagster UI's base URL, without a trailing slash."""
        return self.dagster_url.rstrip("/")

    @property
    def alerts_file(self) -> Path:
        """``<storage root>/alerts/alerts.jsonl`` (the log channel's file)."""
        return local_root_path(self._required("storage_root")).joinpath(*ALERTS_FILE)

    def send(self, alert: Alert, log: Any = None) -> None:
        """Deliver ``alert`` through the channel and note it in ``log`` (a Dagster or Python logger).

        Raises ``AlertConfigError`` for a wrong setting and ``AlertDeliveryError`` when the
        server or webhook does not take the alert.
        """
        self.check_settings()
        logger = log or _fallback_logger
        if self.channel == "log":
            append_json_line(self.alerts_file, alert)
            where = str(self.alerts_file)
        elif self.channel == "email":
            recipients = parse_recipients(self.email_to)
            send_email(
                alert,
                host=self._required("smtp_host"),
                port=self.smtp_port,
                security=self.smtp_security,
                sender=self._required("email_from"),
                recipients=recipients,
                user=self.smtp_user,
                password=self.smtp_password,
                ca_file=self.smtp_ca_file,
                timeout=self.timeout_seconds,
                label=self.label,
            )
            where = f"email to {', '.join(recipients)}"
        else:
            post_webhook(alert, self._required("webhook_url"), timeout=self.timeout_seconds, label=self.label)
            where = "webhook"
        logger.log(LOG_LEVELS[alert.severity], f"alert sent ({where}): {alert.to_json()}")


def _resolved(value: str | dg.EnvVar | None) -> str | None:
    """The value of a setting now: an ``EnvVar`` is read from the environment."""
    if isinstance(value, dg.EnvVar):
        return value.get_value()
    return value


def _dagster_url() -> str:
    url = DAGSTER_URL.value() or ""
    if not url.startswith(("http://", "https://")):
        raise AlertConfigError(f"{DAGSTER_URL.name} is not an http(s) URL: {url!r}")
    return url


def _required_env(setting: Setting, channel: str) -> dg.EnvVar:
    if not setting.is_set():
        raise AlertConfigError(f"{ALERT_CHANNEL.name}={channel} needs {setting.name}, which is not set")
    return dg.EnvVar(setting.name)


def _optional_env(setting: Setting) -> dg.EnvVar | None:
    return dg.EnvVar(setting.name) if setting.is_set() else None


def _prod_alert_resource(storage_root: str | dg.EnvVar | None) -> AlertResource:
    channel = (ALERT_CHANNEL.value() or "log").strip().lower() or "log"
    label = "mlvp prod"
    if channel == "log":
        root = _resolved(storage_root)
        if not root:
            raise AlertConfigError(
                f"{ALERT_CHANNEL.name}=log needs the storage root ({STORAGE_ROOT.name}), which is not set"
            )
        if not is_local_root(root):
            raise AlertConfigError(
                f"{ALERT_CHANNEL.name}=log appends to a local file, but the storage root {root!r} "
                f"is not local; set {ALERT_CHANNEL.name}=email or webhook"
            )
        return AlertResource(
            channel="log", label=label, dagster_url=_dagster_url(), storage_root=storage_root
        )
    if channel == "email":
        security = (SMTP_SECURITY.value() or "starttls").strip().lower()
        if security not in SMTP_SECURITY_MODES:
            raise AlertConfigError(
                f"unknown SMTP security {security!r} in {SMTP_SECURITY.name}; "
                f"valid: {', '.join(SMTP_SECURITY_MODES)}"
            )
        port = SMTP_PORT.value()
        if port is not None and not port.strip().isdigit():
            raise AlertConfigError(f"{SMTP_PORT.name} must be a port number, not {port!r}")
        if SMTP_USER.is_set() and not SMTP_PASSWORD.is_set():
            raise AlertConfigError(f"{SMTP_USER.name} is set but {SMTP_PASSWORD.name} is not")
        if not parse_recipients(ALERT_EMAIL_TO.value()):
            raise AlertConfigError(
                f"{ALERT_CHANNEL.name}=email needs {ALERT_EMAIL_TO.name} (comma-separated addresses)"
            )
        return AlertResource(
            channel="email",
            label=label,
            dagster_url=_dagster_url(),
            smtp_host=_required_env(SMTP_HOST, channel),
            smtp_port=dg.EnvVar.int(SMTP_PORT.name) if port else DEFAULT_SMTP_PORTS[security],
            smtp_security=security,
            smtp_user=_optional_env(SMTP_USER),
            smtp_password=_optional_env(SMTP_PASSWORD),
            smtp_ca_file=_optional_env(SMTP_CA_FILE),
            email_from=_required_env(ALERT_EMAIL_FROM, channel),
            email_to=dg.EnvVar(ALERT_EMAIL_TO.name),
        )
    if channel == "webhook":
        url = _required_env(ALERT_WEBHOOK_URL, channel)
        if not (url.get_value() or "").startswith(("http://", "https://")):
            raise AlertConfigError(f"{ALERT_WEBHOOK_URL.name} is not an http(s) URL")
        return AlertResource(channel="webhook", label=label, dagster_url=_dagster_url(), webhook_url=url)
    raise AlertConfigError(
        f"unknown alert channel {channel!r} in {ALERT_CHANNEL.name}; valid: {', '.join(CHANNELS)}"
    )


def alert_resource_for(env: str, storage_root: str | dg.EnvVar | None) -> AlertResource:
    """The ``alerts`` resource of ``env``: the log channel under ``storage_root`` in dev and test,
    the channel of ``MLVP_ALERT_CHANNEL`` in prod (read now, when the definitions are built)."""
    if env in ("dev", "test"):
        if not _resolved(storage_root):
            raise AlertConfigError(f"the {env} alerts resource needs the storage root for its log file")
        return AlertResource(
            channel="log", label=f"mlvp {env}", dagster_url=_dagster_url(), storage_root=storage_root
        )
    if env == "prod":
        return _prod_alert_resource(storage_root)
    raise ValueError(f"unknown environment {env!r}; valid: dev, test, prod")
