"""The ``Alert`` value: what failed, how bad it is, where to look; and its renderings.

One alert has one form everywhere: the JSON line of the log channel, the email (subject and
plain-text body) and the webhook message (a JSON object whose ``text`` is the same plain text,
which Slack and Microsoft Teams incoming webhooks both display) are all rendered from it.

The webhook's text is escaped as Slack's formatting rules ask (``&``, ``<`` and ``>`` as
``&amp;``, ``&lt;`` and ``&gt;``): a value from a landing file such as ``<!channel>``,
``<@U123>`` or ``<https://evil.example|click>`` is shown as written, never read as a mention of
everyone, of a person, or as a link with a label.
"""

from __future__ import annotations

import datetime as dt
import enum
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SUMMARY_MAX_CHARS = 600


class Severity(enum.StrEnum):
    """How urgently someone should look: ``high`` stops the flow, ``medium`` needs a look today."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


def shorten(text: str, limit: int) -> str:
    """``text`` on at most ``limit`` characters, an ellipsis marking a cut."""
    text = text.strip()
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def escape_chat_text(text: str) -> str:
    """``text`` with Slack's control characters as entities, as Slack's message formatting asks:
    what a ``<...>`` would mention (``<!channel>``, ``<@U123>``) or link (``<url|label>``) is shown
    as written. Only these three, which is what ``html.escape`` does without ``quote``: Slack
    decodes no other entity."""
    return html.escape(text, quote=False)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Alert:
    """One failure worth telling a person about.

    ``kind`` says what produced it (``asset_check`` or ``run_failure``); ``links`` maps a label
    (``run``, ``report``, ``dashboard``...) to a URL or path.
    """

    severity: Severity
    title: str
    summary: str
    kind: str
    asset_key: str | None = None
    partition: str | None = None
    links: Mapping[str, str] = field(default_factory=dict)
    run_id: str | None = None
    created_at: dt.datetime = field(default_factory=_utc_now)

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", Severity(self.severity))
        object.__setattr__(self, "summary", shorten(self.summary, SUMMARY_MAX_CHARS))
        object.__setattr__(self, "links", dict(self.links))

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity.value,
            "title": self.title,
            "kind": self.kind,
            "asset_key": self.asset_key,
            "partition": self.partition,
            "summary": self.summary,
            "links": dict(self.links),
            "run_id": self.run_id,
            "created_at": self.created_at.isoformat(),
        }

    def to_json(self) -> str:
        """One line of JSON (the log channel's record)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        return cls(
            severity=Severity(data["severity"]),
            title=data["title"],
            summary=data["summary"],
            kind=data["kind"],
            asset_key=data.get("asset_key"),
            partition=data.get("partition"),
            links=data.get("links") or {},
            run_id=data.get("run_id"),
            created_at=dt.datetime.fromisoformat(data["created_at"]),
        )

    @classmethod
    def from_json(cls, line: str) -> Alert:
        return cls.from_dict(json.loads(line))

    def subject(self, label: str = "mlvp") -> str:
        """An email subject: ``[mlvp prod] HIGH: <title> [<partition>]``, naming the asset if the
        title does not."""
        subject = f"[{label}] {self.severity.value.upper()}: {self.title}"
        if self.asset_key and self.asset_key not in self.title:
            subject += f" on {self.asset_key}"
        return subject + (f" [{self.partition}]" if self.partition else "")

    def to_text(self, label: str = "mlvp") -> str:
        """The plain-text body shared by email and webhook messages."""
        lines = [
            f"{self.severity.value.upper()} alert from {label}: {self.title}",
            "",
            f"Severity: {self.severity.value}",
            f"Asset: {self.asset_key or '-'}",
            f"Partition: {self.partition or '-'}",
            f"Run: {self.run_id or '-'}",
            f"Time: {self.created_at.isoformat(timespec='seconds')}",
            "",
            "Summary:",
            *[f"  {line}" for line in self.summary.splitlines() or ["-"]],
        ]
        if self.links:
            lines += ["", "Links:", *[f"  {name}: {target}" for name, target in self.links.items()]]
        return "\n".join(lines) + "\n"

    def webhook_payload(self, label: str = "mlvp") -> dict[str, str]:
        """The JSON body of a webhook POST: only ``text``, the one field Slack and Teams both accept.

        The plain text with ``&``, ``<`` and ``>`` escaped (:func:`escape_chat_text`), so that no
        value in it is read as a mention or a labelled link. URLs are written bare; both tools turn
        them into links. The first line is the headline that chat notifications preview.
        """
        return {"text": escape_chat_text(self.to_text(label))}
