"""Open a page in a real headless Chromium and report what a user would see.

Selenium 4 drives Debian's Chromium through Debian's chromedriver of the same version (``apt-get
install chromium chromium-driver``); both paths are given, so Selenium Manager never downloads any.
The console is chromedriver's browser log; its ``SEVERE`` entries are the errors: console.error
and failed console.assert (source ``console-api``), uncaught exceptions and unhandled rejections
(``javascript``), failed loads such as a missing script (``network``).
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops
from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service

CHROMIUM_ENV_VAR, CHROMEDRIVER_ENV_VAR = "MLVP_CHROMIUM", "MLVP_CHROMEDRIVER"
CHROMIUM_MISSING_REASON = (
    "Chromium or chromedriver is missing: the browser tests need Debian's packages "
    "(`apt-get install chromium chromium-driver`, for /usr/bin/chromium and /usr/bin/chromedriver), "
    f"or set {CHROMIUM_ENV_VAR} and {CHROMEDRIVER_ENV_VAR}"
)
WIDTH, HEIGHT = 1280, 900  # the viewport, so the screenshot
# On top of chromedriver's own defaults (no first run, no background networking, no sync...).
CHROMIUM_FLAGS = ["--headless=new", "--disable-gpu", "--disable-component-update", "--hide-scrollbars"]
COUNT_SCRIPT = """const count = selector => document.querySelectorAll(selector).length;
return {canvas_count: count('canvas'), svg_count: count('svg'), plotly_count: count('.js-plotly-plot')};"""
# Returns after two animation frames, i.e. once what the load handlers drew has been painted.
PAINTED_SCRIPT = "requestAnimationFrame(() => requestAnimationFrame(arguments[arguments.length - 1]));"


class BrowserError(RuntimeError):
    """Chromium could not be started, or the page could not be loaded."""


class PageTimeout(BrowserError, TimeoutError):
    """The page did not load in time."""


def _which(env_var: str, *candidates: str) -> str | None:
    if os.environ.get(env_var):  # an explicit but wrong setting means "missing", not "fall back"
        return shutil.which(os.environ[env_var])
    return next(filter(None, map(shutil.which, candidates)), None)


def chromedriver_executable() -> str | None:
    """``$MLVP_CHROMEDRIVER`` if set, else /usr/bin/chromedriver or ``chromedriver``; or None."""
    return _which(CHROMEDRIVER_ENV_VAR, "/usr/bin/chromedriver", "chromedriver")


def chromium_executable() -> str | None:
    """``$MLVP_CHROMIUM``, else /usr/bin/chromium, ``chromium`` or ``chromium-browser``; or None,
    also when there is no chromedriver (the browser tests skip then)."""
    if chromedriver_executable() is None:
        return None
    return _which(CHROMIUM_ENV_VAR, "/usr/bin/chromium", "chromium", "chromium-browser")


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
    background = max(rgb.getcolors(maxcolors=width * height), key=lambda count_colour: count_colour[0])[1]
    red, green, blue = ImageChops.difference(rgb, Image.new("RGB", rgb.size, background)).split()
    largest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    ink = largest.point(lambda value: 255 if value > tolerance else 0).histogram()[255]
    return ink < min_ink_fraction * width * height


@dataclass
class PageReport:
    """What the browser saw of one page."""

    url: str
    title: str
    ready_state: str
    console_errors: list[str]  # the SEVERE entries of console_messages
    console_messages: list[str] = field(repr=False)  # every entry, as "LEVEL [source] message"
    canvas_count: int
    svg_count: int
    plotly_count: int  # Plotly graph containers (.js-plotly-plot)
    screenshot_png: bytes = field(repr=False)
    load_seconds: float

    @property
    def chart_count(self) -> int:
        """Elements charts are drawn in: ``canvas`` plus ``svg``."""
        return self.canvas_count + self.svg_count

    def screenshot_is_blank(self, **kwargs: Any) -> bool:
        return screenshot_is_blank(self.screenshot_png, **kwargs)

    def describe(self) -> str:
        """The report and its whole console, one message a line, for assertion messages."""
        console = "".join(f"\n  {message}" for message in self.console_messages) or " (empty)"
        return f"{self!r}\nconsole:{console}"


@contextmanager
def chromium(executable: str | None = None) -> Iterator[webdriver.Chrome]:
    """A headless Chromium under chromedriver, with an empty temporary profile and a WIDTH x HEIGHT
    viewport. On exit both processes are stopped and the profile is removed."""
    binary, driver_path = executable or chromium_executable(), chromedriver_executable()
    if binary is None or driver_path is None:
        raise BrowserError(CHROMIUM_MISSING_REASON)
    with tempfile.TemporaryDirectory(prefix="mlvp-chromium-", ignore_cleanup_errors=True) as workdir:
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        profile = Path(workdir, "profile")
        for flag in (*CHROMIUM_FLAGS, f"--window-size={WIDTH},{HEIGHT}", f"--user-data-dir={profile}"):
            options.add_argument(flag)
        if os.geteuid() == 0:
            options.add_argument("--no-sandbox")  # else Chromium refuses to run as root
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        log_path = Path(workdir, "chromedriver.log")  # Chromium's own output goes there too
        with log_path.open("w") as log:
            try:  # if this fails, Selenium stops chromedriver itself
                service = Service(executable_path=driver_path, log_output=log)
                driver = webdriver.Chrome(service=service, options=options)
            except WebDriverException as error:
                tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
                raise BrowserError(f"Chromium ({binary}) did not start: {error.msg}\n{tail}") from None
            try:  # the viewport itself, not the window (new headless draws a frame around it)
                metrics = {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False}
                driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
                yield driver
            finally:
                driver.quit()  # ends the session, which stops Chromium, then stops chromedriver


def open_page(
    page: str | Path, *, timeout: float = 20.0, settle_seconds: float = 0.3, executable: str | None = None
) -> PageReport:
    """Load a local file (which must exist) or a URL in a fresh headless Chromium; report on it.

    Waits for the load (``document.readyState == 'complete'``) and for two painted animation
    frames, each within ``timeout`` seconds (else :class:`PageTimeout`), then ``settle_seconds``
    more so that errors from load handlers and timers are caught; then counts the chart elements
    and takes a screenshot. Other failures are a :class:`BrowserError` naming the page.
    """
    url = os.fspath(page)
    if not ("://" in url or url.startswith(("about:", "data:"))):
        if not Path(url).is_file():
            raise FileNotFoundError(f"page not found: {Path(url).resolve()}")
        url = Path(url).resolve().as_uri()
    started = time.monotonic()
    try:
        with chromium(executable) as driver:
            driver.set_page_load_timeout(timeout)
            driver.set_script_timeout(timeout)
            driver.get(url)
            driver.execute_async_script(PAINTED_SCRIPT)
            time.sleep(settle_seconds)
            title, ready_state = driver.title, driver.execute_script("return document.readyState")
            counts, shot = driver.execute_script(COUNT_SCRIPT), driver.get_screenshot_as_png()
            log = driver.get_log("browser")
    except TimeoutException:
        raise PageTimeout(f"page did not finish loading within {timeout:g}s: {url}") from None
    except (BrowserError, WebDriverException) as error:
        raise BrowserError(f"while opening {url}: {getattr(error, 'msg', None) or error}") from None
    messages = [f"{entry['level']} [{entry['source']}] {entry['message']}" for entry in log]
    errors = [message for message in messages if message.startswith("SEVERE ")]
    seconds = round(time.monotonic() - started, 2)
    return PageReport(
        url, title, ready_state, errors, messages, **counts, screenshot_png=shot, load_seconds=seconds
    )
