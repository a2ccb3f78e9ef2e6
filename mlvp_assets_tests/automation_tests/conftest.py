"""Fixtures of the alert channel tests: the real servers of :mod:`mlvp_assets_tests.alert_receivers`
(an SMTP server that requires a login, plain or over TLS, and a webhook receiver) on 127.0.0.1,
and a private CA for TLS."""

from __future__ import annotations

import pytest

from mlvp_assets_tests.alert_receivers import Certificates, make_certificates, running_webhook, start_smtp


@pytest.fixture(scope="session")
def certificates(tmp_path_factory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server(request):
    """An SMTP server that requires login; ``request.param`` is ``plain``, ``starttls`` or ``ssl``."""
    security = getattr(request, "param", "plain")
    certificates = request.getfixturevalue("certificates") if security != "plain" else None
    mailbox = start_smtp(security, certificates)
    try:
        yield mailbox
    finally:
        mailbox.stop()


@pytest.fixture
def webhook_receiver():
    with running_webhook() as receiver:
        yield receiver
