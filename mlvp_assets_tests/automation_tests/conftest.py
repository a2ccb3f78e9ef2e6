"""Real servers for the alert channels: an aiosmtpd SMTP server and an ``http.server`` webhook
receiver on 127.0.0.1, each in a thread, plus a private CA and a server certificate for TLS
(made by trustme).

Either can be down and come back: the SMTP server refuses messages (``Mailbox.refusal``, its
answer to DATA) or is stopped and started again on its port (``Mailbox.stop``, ``start``); the
webhook answers the status it is given (``WebhookReceiver.status``). What they took is counted
apart from what they refused."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

SMTP_USER = "alerts-bot"
SMTP_PASSWORD = "s3cret-for-tests"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- TLS -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    """A throw-away CA (its certificate in ``ca_file``, what the client trusts) and the server
    certificate it signed for localhost and 127.0.0.1."""

    ca_file: Path
    server_cert: trustme.LeafCert

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(context)
        return context


@pytest.fixture(scope="session")
def certificates(tmp_path_factory) -> Certificates:
    ca = trustme.CA()
    ca_file = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(ca_file)
    return Certificates(ca_file=ca_file, server_cert=ca.issue_cert("127.0.0.1", "localhost"))


# --- SMTP ----------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the SMTP server took: one parsed message per DATA accepted, with its envelope and login.

    While ``refusal`` is set (``"451 4.3.0 ..."``), DATA is answered with it and the message goes
    to ``refused`` instead. ``stop()`` closes the port (a client is refused the connection) and
    ``start()`` serves it again; what was received is kept across.
    """

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str | None] = field(default_factory=list)
    refusal: str | None = None
    refused: list[EmailMessage] = field(default_factory=list)
    _controller_for: Callable[[Mailbox], object] | None = field(default=None, repr=False)
    _controller: object | None = field(default=None, repr=False)

    def start(self) -> None:
        assert self._controller_for is not None and self._controller is None, "already serving"
        self._controller = self._controller_for(self)
        self._controller.start()  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()  # type: ignore[attr-defined]
            self._controller = None


class _CollectingHandler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        if self.mailbox.refusal:
            self.mailbox.refused.append(message)
            return self.mailbox.refusal
        self.mailbox.messages.append(message)
        self.mailbox.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.mailbox.logins.append(session.auth_data.login.decode() if session.auth_data else None)
        return "250 Message accepted for delivery"


def _authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == SMTP_USER
        and auth_data.password.decode() == SMTP_PASSWORD
    )
    # handled=False: aiosmtpd answers a failed login with 535 itself.
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def _start_smtp(security: str, certificates: Certificates | None) -> Mailbox:
    from aiosmtpd.controller import Controller

    options: dict = {"authenticator": _authenticator, "auth_required": True}
    if security == "plain":
        options["auth_require_tls"] = False
    elif security == "starttls":
        options.update(tls_context=certificates.server_context(), require_starttls=True)
    elif security == "ssl":
        # TLS from the first byte; aiosmtpd only knows of TLS it negotiated itself (STARTTLS), so it
        # must be told that AUTH without STARTTLS is fine here.
        options.update(ssl_context=certificates.server_context(), auth_require_tls=False)
    mailbox = Mailbox(
        host="127.0.0.1",
        port=free_port(),
        _controller_for=lambda box: Controller(
            _CollectingHandler(box), hostname=box.host, port=box.port, **options
        ),
    )
    mailbox.start()
    return mailbox


@pytest.fixture
def smtp_server(request):
    """An SMTP server that requires login; ``request.param`` is ``plain``, ``starttls`` or ``ssl``."""
    security = getattr(request, "param", "plain")
    certificates = request.getfixturevalue("certificates") if security != "plain" else None
    mailbox = _start_smtp(security, certificates)
    try:
        yield mailbox
    finally:
        mailbox.stop()


# --- webhook -------------------------------------------------------------------------------------


@dataclass
class WebhookReceiver:
    """Every POST it received, with the status it answered (``status``, which a test may change)."""

    url: str
    requests: list[dict] = field(default_factory=list)
    status: int = 200

    @property
    def delivered(self) -> list[dict]:
        """The requests it took (answered 2xx)."""
        return [request for request in self.requests if 200 <= request["status"] < 300]


def _handler_for(receiver: WebhookReceiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's hook name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = receiver.status
            receiver.requests.append(
                {
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type"),
                    "body": json.loads(body),
                    "status": status,
                }
            )
            # Slack's answers: "ok", "invalid_token" to a wrong URL, a server's error otherwise.
            answer = b"ok" if status < 300 else b"server_error" if status >= 500 else b"invalid_token"
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format, *args):  # keep the test output clean
            pass

    return Handler


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
