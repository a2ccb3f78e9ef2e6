"""Real servers for the alert channels, shared by the channel tests and the engine tests' secrets:
an aiosmtpd SMTP server that requires a login and an ``http.server`` webhook receiver, each on
127.0.0.1 in a thread of the test process, and a private CA with a server certificate for TLS
(made by trustme).

Either can be down and come back: the SMTP server refuses messages (``Mailbox.refusal``, its
answer to DATA) or is stopped and started again on its port (``Mailbox.stop``, ``start``); the
webhook answers the status it is given (``WebhookReceiver.status``) and, when it has a
``token_path``, 404 on any other path. What they took is counted apart from what they refused,
and every login attempt is kept with whether its password was right.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import secrets
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme

from mlvp_assets_tests.server_processes import LOOPBACK, free_port

SMTP_USER = "alerts-bot"
SMTP_PASSWORD = "s3cret-for-tests"
WEBHOOK_PATH = "/hooks"


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


def make_certificates(folder: Path) -> Certificates:
    ca = trustme.CA()
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(ca_file)
    return Certificates(ca_file=ca_file, server_cert=ca.issue_cert(LOOPBACK, "localhost"))


# --- SMTP ----------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the SMTP server took: one parsed message per DATA accepted, with its envelope and login.

    It takes mail only after AUTH as ``user`` with ``password``; ``login_attempts`` keeps each
    attempt's user and whether it succeeded. While ``refusal`` is set (``"451 4.3.0 ..."``), DATA
    is answered with it and the message goes to ``refused`` instead. ``stop()`` closes the port (a
    client is refused the connection) and ``start()`` serves it again; what was received is kept.
    """

    host: str
    port: int
    user: str = SMTP_USER
    password: str = SMTP_PASSWORD
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str | None] = field(default_factory=list)
    login_attempts: list[tuple[str, bool]] = field(default_factory=list)
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

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        """aiosmtpd's authenticator: the mailbox's user and password, compared in constant time."""
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode()
        ok = login == self.user and secrets.compare_digest(auth_data.password, self.password.encode())
        self.login_attempts.append((login, ok))
        # handled=False: aiosmtpd answers a failed login with 535 itself.
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


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


def start_smtp(
    security: str = "plain",
    certificates: Certificates | None = None,
    user: str = SMTP_USER,
    password: str = SMTP_PASSWORD,
) -> Mailbox:
    """An SMTP server that requires a login, serving; ``security`` is ``plain``, ``starttls`` or
    ``ssl`` (the last two need ``certificates``). Stop it with ``Mailbox.stop``."""
    from aiosmtpd.controller import Controller

    options: dict = {"auth_required": True}
    if security == "plain":
        options["auth_require_tls"] = False
    elif security == "starttls":
        assert certificates is not None
        options.update(tls_context=certificates.server_context(), require_starttls=True)
    elif security == "ssl":
        assert certificates is not None
        # TLS from the first byte; aiosmtpd only knows of TLS it negotiated itself (STARTTLS), so it
        # must be told that AUTH without STARTTLS is fine here.
        options.update(ssl_context=certificates.server_context(), auth_require_tls=False)
    mailbox = Mailbox(
        host=LOOPBACK,
        port=free_port(),
        user=user,
        password=password,
        _controller_for=lambda box: Controller(
            _CollectingHandler(box),
            hostname=box.host,
            port=box.port,
            authenticator=box.authenticate,
            **options,
        ),
    )
    mailbox.start()
    return mailbox


# --- webhook -------------------------------------------------------------------------------------


@dataclass
class WebhookReceiver:
    """Every POST it received, with the status it answered (``status``, which a test may change).

    With a ``token_path``, only POSTs on that path are answered with ``status``; any other path is
    answered 404, as a chat service answers a URL whose token is wrong."""

    url: str
    token_path: str | None = None
    requests: list[dict] = field(default_factory=list)
    status: int = 200

    @property
    def delivered(self) -> list[dict]:
        """The requests it took (answered 2xx)."""
        return [request for request in self.requests if 200 <= request["status"] < 300]

    @property
    def refused_paths(self) -> list[str]:
        return [request["path"] for request in self.requests if request["status"] == 404]


def _handler_for(receiver: WebhookReceiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's hook name)
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8")
            wrong_path = receiver.token_path is not None and self.path != receiver.token_path
            status = 404 if wrong_path else receiver.status
            receiver.requests.append(
                {
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type"),
                    "raw": raw,
                    "body": json.loads(raw),
                    "status": status,
                }
            )
            # Slack's answers: "ok", "no_service" to a URL it does not know, "invalid_token" to a
            # refused one, a server's error otherwise.
            answer = (
                b"ok" if status < 300 else b"server_error" if status >= 500
                else b"no_service" if status == 404 else b"invalid_token"
            )  # fmt: skip
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format, *args):  # keep the test output clean
            pass

    return Handler


@contextlib.contextmanager
def running_webhook(token: str | None = None) -> Iterator[WebhookReceiver]:
    """A webhook receiver on ``/hooks`` (``/hooks/<token>`` with a token, 404 elsewhere), serving
    in a thread until the block ends."""
    path = f"{WEBHOOK_PATH}/{token}" if token else WEBHOOK_PATH
    receiver = WebhookReceiver(url="", token_path=path if token else None)
    server = ThreadingHTTPServer((LOOPBACK, 0), _handler_for(receiver))
    receiver.url = f"http://{LOOPBACK}:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
