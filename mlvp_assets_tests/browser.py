"""Open a page in a real headless Chromium and report what a user would see.

The browser is the one from the system packages (``apt-get install chromium``), driven over the
Chrome DevTools Protocol (CDP) with ``websockets.sync.client``: no Selenium, no Playwright, no
downloaded browser. :func:`open_page` starts a fresh Chromium with an empty temporary profile,
loads one page, and returns a :class:`PageReport` with its title, console errors, the number of
chart elements and a PNG screenshot; Chromium is always stopped and the profile removed.

Console errors are gathered from three CDP events, so that any of them fails a "no console
errors" check:

* ``Runtime.consoleAPICalled`` of type ``error`` or ``assert`` (``console.error(...)``, a failed
  ``console.assert(...)``);
* ``Runtime.exceptionThrown`` (uncaught exceptions and unhandled promise rejections);
* ``Log.entryAdded`` of level ``error`` (the browser's own messages, e.g. ``Failed to load
  resource: net::ERR_FILE_NOT_FOUND`` for a missing script or image).

Every message, whatever its level, is also kept in :attr:`PageReport.console_messages` so that a
failing check can show the whole console.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

CHROMIUM_ENV_VAR = "MLVP_CHROMIUM"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
CHROMIUM_MISSING_REASON = (
    "Chromium is not installed: the browser tests need Debian's system package "
    "(`apt-get install chromium`, which provides /usr/bin/chromium), or set "
    f"{CHROMIUM_ENV_VAR}=/path/to/chromium"
)

# Flags for a quiet, isolated headless browser. The background-networking flags matter on a
# machine without network access: without them Chromium keeps trying to reach Google services.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # needed when running as root (containers, CI)
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
)

CONSOLE_ERROR_TYPES = frozenset({"error", "assert"})

# Counted in the page once it has loaded.
COUNT_SCRIPT = """(() => ({
  canvas: document.querySelectorAll('canvas').length,
  svg: document.querySelectorAll('svg').length,
  plotly: document.querySelectorAll('.js-plotly-plot').length,
}))()"""

# Resolves after two animation frames, i.e. once what the load handlers drew has been painted.
PAINTED_SCRIPT = (
    "new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(() => resolve(true))))"
)


class BrowserError(RuntimeError):
    """Chromium could not be started, or the page could not be loaded in time."""


class PageTimeout(BrowserError, TimeoutError):
    """Chromium did not answer, or the page did not load, in time."""


def chromium_executable() -> str | None:
    """The Chromium to use: ``$MLVP_CHROMIUM`` if set, else the first of /usr/bin/chromium,
    ``chromium`` or ``chromium-browser`` found; ``None`` if there is none."""
    override = os.environ.get(CHROMIUM_ENV_VAR)
    if override:
        found = shutil.which(override)
        return found  # an explicit but wrong setting means "missing", not "fall back silently"
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def screenshot_is_blank(png: bytes, *, tolerance: int = 8, min_ink_fraction: float = 0.0001) -> bool:
    """Whether a PNG is (nearly) one colour.

    The background is the most common colour; a pixel is "ink" when any channel differs from it
    by more than ``tolerance``. The image is blank when the ink covers less than
    ``min_ink_fraction`` of it (0.0001 of 1280x900 is about 115 pixels: far less than a line of
    text or a chart axis, more than compression or antialiasing noise).
    """
    with Image.open(io.BytesIO(png)) as image:
        rgb = image.convert("RGB")
    width, height = rgb.size
    if width == 0 or height == 0:
        return True
    colours = rgb.getcolors(maxcolors=width * height)
    background = max(colours, key=lambda count_colour: count_colour[0])[1]
    difference = ImageChops.difference(rgb, Image.new("RGB", rgb.size, background))
    red, green, blue = difference.split()
    largest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    ink = largest.point(lambda value: 255 if value > tolerance else 0).histogram()[255]
    return ink < min_ink_fraction * width * height


@dataclass
class PageReport:
    """What the browser saw of one page."""

    url: str
    title: str
    ready_state: str
    console_errors: list[str]
    console_messages: list[str]
    element_counts: dict[str, int]
    screenshot_png: bytes = field(repr=False)
    load_seconds: float

    @property
    def canvas_count(self) -> int:
        return self.element_counts["canvas"]

    @property
    def svg_count(self) -> int:
        return self.element_counts["svg"]

    @property
    def plotly_count(self) -> int:
        """Plotly graph containers (``.js-plotly-plot``)."""
        return self.element_counts["plotly"]

    @property
    def chart_count(self) -> int:
        """Elements charts are drawn in: ``canvas`` plus ``svg``."""
        return self.canvas_count + self.svg_count

    def screenshot_is_blank(self, **kwargs: Any) -> bool:
        return screenshot_is_blank(self.screenshot_png, **kwargs)

    def save_screenshot(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_bytes(self.screenshot_png)
        return path

    def describe(self) -> str:
        """A multi-line summary for assertion messages."""
        lines = [
            f"url: {self.url}",
            f"title: {self.title!r}, readyState: {self.ready_state}, loaded in {self.load_seconds:.2f}s",
            f"elements: {self.element_counts}",
            "console:" if self.console_messages else "console: (empty)",
            *(f"  {message}" for message in self.console_messages),
        ]
        return "\n".join(lines)


def page_url(path_or_url: str | os.PathLike[str]) -> str:
    """A URL for a local file (which must exist) or an ``scheme:...`` string taken as a URL."""
    text = os.fspath(path_or_url)
    if "://" in text or text.startswith(("about:", "data:")):
        return text
    path = Path(text).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"page not found: {path}")
    return path.as_uri()


def open_page(
    path_or_url: str | os.PathLike[str],
    *,
    width: int = 1280,
    height: int = 900,
    settle_seconds: float = 0.3,
    timeout: float = 20.0,
    executable: str | None = None,
) -> PageReport:
    """Load a page (a local file or a URL) in a fresh headless Chromium and report on it.

    Waits for the load event and ``document.readyState == 'complete'``, then for two painted
    animation frames and ``settle_seconds`` more, so that errors raised by load handlers and
    timers are caught, before counting elements and taking a ``width`` x ``height`` screenshot.
    Raises :class:`BrowserError` (naming the page) if Chromium does not start or the page does
    not load within ``timeout`` seconds, and :class:`FileNotFoundError` for a missing file.
    """
    url = page_url(path_or_url)
    try:
        with Chromium(executable=executable, timeout=timeout) as browser:
            return browser.open_page(
                url, width=width, height=height, settle_seconds=settle_seconds, timeout=timeout
            )
    except BrowserError as error:
        if url in str(error):
            raise
        raise type(error)(f"while opening {url}: {error}") from error


class Chromium:
    """A headless Chromium process with an empty temporary profile, as a context manager.

    ``with Chromium() as browser: browser.open_page(...)`` can load several pages in one browser,
    each in its own new tab and browser context (no shared cookies or cache).
    """

    def __init__(self, *, executable: str | None = None, timeout: float = 20.0) -> None:
        self.executable = executable or chromium_executable()
        if self.executable is None:
            raise BrowserError(CHROMIUM_MISSING_REASON)
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.workdir: Path | None = None
        self.cdp: _CdpConnection | None = None
        self._log = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Chromium:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="mlvp-chromium-"))
        profile = self.workdir / "profile"
        profile.mkdir()
        self._log = open(self.workdir / "chromium.log", "wb")
        command = [
            self.executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",  # any free port; Chromium writes it to DevToolsActivePort
            "about:blank",
        ]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,  # its own process group, so that close() stops the renderers too
        )
        endpoint = self._wait_for_devtools(profile / "DevToolsActivePort")
        self.cdp = _CdpConnection(endpoint, timeout=self.timeout)

    def _wait_for_devtools(self, port_file: Path) -> str:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrowserError(
                    f"Chromium ({self.executable}) exited with code {self.process.returncode} before "
                    f"opening its DevTools port:\n{self.log_tail()}"
                )
            try:
                port, path = port_file.read_text().split("\n")[:2]
            except (FileNotFoundError, ValueError):
                time.sleep(0.05)  # not written yet, or written halfway
                continue
            if port.strip().isdigit() and path.strip():
                return f"ws://127.0.0.1:{port.strip()}{path.strip()}"
            time.sleep(0.05)
        raise BrowserError(
            f"Chromium ({self.executable}) did not open its DevTools port within {self.timeout:g}s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        """The end of Chromium's own stdout/stderr."""
        if self.workdir is None or self._log is None:
            return "(no Chromium output)"
        self._log.flush()
        text = (self.workdir / "chromium.log").read_text(errors="replace").strip()
        return "\n".join(text.splitlines()[-lines:]) or "(no Chromium output)"

    def close(self) -> None:
        """Stop Chromium (politely, then by force) and remove the temporary profile."""
        if self.cdp is not None:
            try:
                self.cdp.send("Browser.close", timeout=2.0)
            except Exception:
                pass  # it is killed below anyway
            self.cdp.close()
            self.cdp = None
        if self.process is not None:
            # Give Browser.close a moment, but do not reap the browser yet: while its zombie exists,
            # its process id (our group's id) cannot be reused, so the kill below can only reach
            # the group we created (the browser and its zygote, GPU and renderer processes).
            _wait_without_reaping(self.process.pid, 3.0)
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    # -- pages -----------------------------------------------------------------------------

    def open_page(
        self,
        path_or_url: str | os.PathLike[str],
        *,
        width: int = 1280,
        height: int = 900,
        settle_seconds: float = 0.3,
        timeout: float | None = None,
    ) -> PageReport:
        """Load one page in a new tab; see :func:`open_page`."""
        if self.cdp is None:
            raise BrowserError("Chromium is not running: use it as a context manager")
        url = page_url(path_or_url)
        timeout = self.timeout if timeout is None else timeout
        cdp = self.cdp
        started = time.monotonic()
        deadline = started + timeout

        context = cdp.send("Target.createBrowserContext")["browserContextId"]
        target = cdp.send("Target.createTarget", {"url": "about:blank", "browserContextId": context})[
            "targetId"
        ]
        session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            return self._load(session, url, width, height, settle_seconds, started, deadline)
        finally:
            cdp.drop_session(session)
            try:  # a hung page may not answer; Chromium.close() kills it anyway
                cdp.send("Target.closeTarget", {"targetId": target}, timeout=2.0)
                cdp.send("Target.disposeBrowserContext", {"browserContextId": context}, timeout=2.0)
            except BrowserError:
                pass

    def _load(
        self,
        session: str,
        url: str,
        width: int,
        height: int,
        settle_seconds: float,
        started: float,
        deadline: float,
    ) -> PageReport:
        cdp = self.cdp
        messages: list[tuple[bool, str]] = []  # (is_error, text) in arrival order
        loaded: list[bool] = []

        def on_event(method: str, params: dict[str, Any]) -> None:
            if method == "Runtime.consoleAPICalled":
                messages.append((params["type"] in CONSOLE_ERROR_TYPES, _format_console_call(params)))
            elif method == "Runtime.exceptionThrown":
                messages.append((True, _format_exception(params["exceptionDetails"])))
            elif method == "Log.entryAdded":
                entry = params["entry"]
                messages.append((entry["level"] == "error", _format_log_entry(entry)))
            elif method == "Page.loadEventFired":
                loaded.append(True)

        cdp.listen(session, on_event)
        for domain in ("Runtime", "Log", "Page"):
            cdp.send(f"{domain}.enable", session=session)
        cdp.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        navigation = cdp.send("Page.navigate", {"url": url}, session=session)
        if navigation.get("errorText"):
            raise BrowserError(f"could not open {url}: {navigation['errorText']}")

        def ready_state() -> str:
            return cdp.evaluate("document.readyState", session=session)

        try:
            cdp.wait_until(lambda: bool(loaded), deadline)
            cdp.wait_until(lambda: ready_state() == "complete", deadline)
            cdp.evaluate(
                PAINTED_SCRIPT,
                session=session,
                await_promise=True,
                timeout=max(deadline - time.monotonic(), 0.1),
            )
        except PageTimeout:
            raise PageTimeout(
                f"page did not finish loading within {deadline - started:g}s: {url}"
                + "".join(f"\n  {text}" for _, text in messages)
            ) from None
        cdp.pump(min(settle_seconds, max(deadline - time.monotonic(), 0.0)))

        title = cdp.evaluate("document.title", session=session)
        state = ready_state()
        counts = cdp.evaluate(COUNT_SCRIPT, session=session)
        shot = cdp.send("Page.captureScreenshot", {"format": "png"}, session=session)
        cdp.pump(0)  # anything logged while taking the screenshot
        return PageReport(
            url=url,
            title=title,
            ready_state=state,
            console_errors=[text for is_error, text in messages if is_error],
            console_messages=[text for _, text in messages],
            element_counts={name: int(value) for name, value in counts.items()},
            screenshot_png=base64.b64decode(shot["data"]),
            load_seconds=time.monotonic() - started,
        )


def _wait_without_reaping(pid: int, seconds: float) -> None:
    """Wait up to ``seconds`` for a child to exit, leaving it for ``Popen.wait`` to reap."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return
        except ChildProcessError:
            return
        time.sleep(0.02)


# -- message formatting ----------------------------------------------------------------------


def _remote_object_text(obj: dict[str, Any]) -> str:
    if "value" in obj:
        value = obj["value"]
        return value if isinstance(value, str) else json.dumps(value)
    if "unserializableValue" in obj:
        return obj["unserializableValue"]
    return obj.get("description", obj.get("type", "?"))


def _location(url: str | None, line: int | None) -> str:
    if not url:
        return ""
    return f" ({url}:{line + 1})" if line is not None else f" ({url})"


def _format_console_call(params: dict[str, Any]) -> str:
    text = " ".join(_remote_object_text(arg) for arg in params.get("args", []))
    frames = (params.get("stackTrace") or {}).get("callFrames") or []
    where = _location(frames[0].get("url"), frames[0].get("lineNumber")) if frames else ""
    return f"console.{params['type']}: {text}{where}"


def _format_exception(details: dict[str, Any]) -> str:
    text = details.get("text") or "Uncaught"
    exception = details.get("exception")
    summary = (_remote_object_text(exception).splitlines() or [""])[0] if exception else ""
    message = text if summary in text else f"{text} {summary}"
    return f"exception: {message}{_location(details.get('url'), details.get('lineNumber'))}"


def _format_log_entry(entry: dict[str, Any]) -> str:
    return f"log.{entry['level']} [{entry['source']}]: {entry['text']}{_location(entry.get('url'), entry.get('lineNumber'))}"


# -- the DevTools protocol -------------------------------------------------------------------


class _CdpConnection:
    """A minimal synchronous CDP client: commands with ids, events dispatched per session."""

    def __init__(self, endpoint: str, *, timeout: float) -> None:
        self.timeout = timeout
        # Entered as a context manager, the form websockets >= 17.1 asks for (it warns otherwise).
        # proxy=None: never route the local DevTools socket through an HTTP(S)_PROXY from the env.
        self._closing = contextlib.ExitStack()
        self.socket: ClientConnection = self._closing.enter_context(
            connect(endpoint, proxy=None, max_size=None, compression=None, open_timeout=timeout)
        )
        self.next_id = 0
        self.listeners: dict[str, Callable[[str, dict[str, Any]], None]] = {}

    def close(self) -> None:
        try:
            self._closing.close()
        except Exception:
            pass  # the browser may already be gone

    def listen(self, session: str, handler: Callable[[str, dict[str, Any]], None]) -> None:
        self.listeners[session] = handler

    def drop_session(self, session: str) -> None:
        self.listeners.pop(session, None)

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            reply = self._receive(deadline)
            if reply is None:
                raise PageTimeout(f"no reply to {method} within {timeout or self.timeout:g}s")
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    error = reply["error"]
                    raise BrowserError(
                        f"{method} failed: {error.get('message')} {error.get('data', '')}".strip()
                    )
                return reply.get("result", {})

    def evaluate(
        self, expression: str, *, session: str, await_promise: bool = False, timeout: float | None = None
    ) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": await_promise},
            session=session,
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            raise BrowserError(
                f"evaluating {expression!r} failed: {_format_exception(result['exceptionDetails'])}"
            )
        return result["result"].get("value")

    def wait_until(self, condition: Callable[[], bool], deadline: float) -> None:
        """Handle events until ``condition()`` holds; ``TimeoutError`` at ``deadline``."""
        while not condition():
            if time.monotonic() >= deadline:
                raise PageTimeout("deadline passed")
            self.pump(min(0.05, deadline - time.monotonic()))

    def pump(self, seconds: float) -> None:
        """Handle the events that arrive in the next ``seconds`` (at least those already queued)."""
        deadline = time.monotonic() + max(seconds, 0.0)
        while self._receive(deadline) is not None:
            pass

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        """The next message that is not an event (events go to their listeners); None at deadline."""
        while True:
            try:
                raw = self.socket.recv(timeout=max(deadline - time.monotonic(), 0.0))
            except TimeoutError:
                return None
            except ConnectionClosed as error:
                raise BrowserError(f"Chromium closed the DevTools connection ({error})") from None
            message = json.loads(raw)
            if "method" not in message:
                return message
            handler = self.listeners.get(message.get("sessionId", ""))
            if handler is not None:
                handler(message["method"], message.get("params", {}))
