"""The headless-browser check the dashboard test relies on: it sees charts, console errors and
blank pages. Pages are written by the tests; tests that need Chromium skip when it is missing."""

from __future__ import annotations

import io
import stat
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from mlvp_assets_tests.browser import (
    CHROMIUM_ENV_VAR,
    CHROMIUM_MISSING_REASON,
    BrowserError,
    Chromium,
    PageTimeout,
    chromium_executable,
    open_page,
    screenshot_is_blank,
)

requires_chromium = pytest.mark.skipif(chromium_executable() is None, reason=CHROMIUM_MISSING_REASON)

CHART_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Chart page</title></head>
<body>
  <h1>Prices</h1>
  <svg id="bars" width="300" height="150" viewBox="0 0 300 150">
    <rect x="10" y="50" width="60" height="100" fill="steelblue"/>
    <rect x="90" y="20" width="60" height="130" fill="darkorange"/>
    <line x1="0" y1="149" x2="300" y2="149" stroke="black"/>
  </svg>
  <canvas id="line" width="300" height="150"></canvas>
  <script>
    const ctx = document.getElementById("line").getContext("2d");
    ctx.strokeStyle = "crimson";
    ctx.lineWidth = 4;
    ctx.beginPath();
    ctx.moveTo(0, 140);
    [[60, 80], [120, 110], [180, 30], [240, 60], [300, 10]].forEach(([x, y]) => ctx.lineTo(x, y));
    ctx.stroke();
  </script>
</body></html>
"""


def write_page(directory: Path, body: str, name: str = "page.html") -> Path:
    path = directory / name
    head = f'<html><head><meta charset="utf-8"><title>{name}</title></head>'
    path.write_text(f"<!doctype html>\n{head}\n<body>{body}</body></html>\n")  # the body is on line 3
    return path


def png(draw=None, size=(200, 100), colour=(255, 255, 255)) -> bytes:
    image = Image.new("RGB", size, colour)
    if draw is not None:
        draw(ImageDraw.Draw(image))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def live_members(process_group: int) -> list[int]:
    """Processes (not zombies) still in a process group, from /proc."""
    members = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            # pid (comm) state ppid pgrp ...: split after the command name, which may hold spaces
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[2]) == process_group and fields[0] != "Z":
            members.append(int(stat_file.parent.name))
    return members


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module; every page gets its own tab and browser context."""
    if chromium_executable() is None:
        pytest.skip(CHROMIUM_MISSING_REASON)
    with Chromium() as chromium:
        yield chromium


# -- finding Chromium and judging screenshots (no browser needed) ---------------------------


def test_the_environment_variable_chooses_the_browser(tmp_path, monkeypatch):
    fake = tmp_path / "my-chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(CHROMIUM_ENV_VAR, str(fake))
    assert chromium_executable() == str(fake)
    monkeypatch.setenv(CHROMIUM_ENV_VAR, str(tmp_path / "not-there"))
    assert chromium_executable() is None


def test_the_skip_reason_says_how_to_install_chromium():
    assert "apt-get install chromium" in CHROMIUM_MISSING_REASON


def test_screenshot_is_blank_for_one_colour_and_not_for_a_drawing():
    assert screenshot_is_blank(png())
    assert screenshot_is_blank(png(colour=(30, 30, 30)))
    assert screenshot_is_blank(png(lambda d: d.point((5, 5), fill=(0, 0, 0))))  # one stray pixel
    assert not screenshot_is_blank(png(lambda d: d.line((0, 90, 199, 10), fill=(0, 0, 255), width=2)))
    assert not screenshot_is_blank(png(lambda d: d.text((10, 40), "chart", fill=(0, 0, 0))))


def test_a_browser_that_fails_to_start_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken-chromium"
    broken.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n")
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    page = write_page(tmp_path, "<p>hi</p>")
    with pytest.raises(
        BrowserError, match=r"(?s)while opening file://.*page.html: .*exited with code 3.*cannot open display"
    ):
        open_page(page, executable=str(broken))


def test_a_missing_page_is_named_before_starting_the_browser(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.html"):
        open_page(tmp_path / "nowhere.html")


# -- pages in a real browser ---------------------------------------------------------------


def test_a_page_with_svg_and_canvas_charts_loads_cleanly(browser, tmp_path):
    page = tmp_path / "charts.html"
    page.write_text(CHART_PAGE)
    report = browser.open_page(page)
    assert report.console_errors == [], report.describe()
    assert report.title == "Chart page"
    assert report.ready_state == "complete"
    assert (report.svg_count, report.canvas_count) == (1, 1)
    assert not report.screenshot_is_blank()
    assert Image.open(io.BytesIO(report.screenshot_png)).size == (1280, 900)


def test_console_error_is_reported(browser, tmp_path):
    page = write_page(
        tmp_path, "<p>text</p><script>console.log('fine'); console.error('price model missing', 42)</script>"
    )
    report = browser.open_page(page)
    assert report.console_errors == [f"console.error: price model missing 42 ({page.as_uri()}:3)"]
    assert any(message.startswith("console.log: fine") for message in report.console_messages)


def test_uncaught_exceptions_are_reported(browser, tmp_path):
    page = write_page(
        tmp_path,
        "<p>text</p><script>setTimeout(() => { throw new TypeError('drift is undefined') }, 0);"
        " Promise.reject(new Error('no data'));</script>",
    )
    report = browser.open_page(page)
    assert sorted(report.console_errors) == [
        f"exception: Uncaught (in promise) Error: no data ({page.as_uri()}:3)",
        f"exception: Uncaught TypeError: drift is undefined ({page.as_uri()}:3)",
    ], report.describe()


def test_a_missing_script_is_reported(browser, tmp_path):
    page = write_page(tmp_path, '<p>text</p><script src="missing.js"></script>')
    report = browser.open_page(page)
    missing = (tmp_path / "missing.js").as_uri()
    assert report.console_errors == [
        f"log.error [network]: Failed to load resource: net::ERR_FILE_NOT_FOUND ({missing})"
    ]


def test_a_blank_page_has_a_blank_screenshot(browser, tmp_path):
    page = write_page(tmp_path, "", name="blank.html")
    report = browser.open_page(page)
    assert report.console_errors == []
    assert report.chart_count == 0
    assert report.screenshot_is_blank()


def test_a_page_that_never_finishes_loading_times_out_with_its_path(browser, tmp_path):
    page = write_page(tmp_path, "<script>while (true) {}</script>", name="hangs.html")
    started = time.monotonic()
    with pytest.raises(PageTimeout, match=f"did not finish loading within 2s: {page.as_uri()}"):
        browser.open_page(page, timeout=2)
    assert time.monotonic() - started < 8


# -- Plotly, as the dashboard embeds it ------------------------------------------------------


def plotly_page(path: Path, *, webgl: bool = False) -> Path:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("Predicted vs actual", "Drift by feature"))
    scatter = go.Scattergl if webgl else go.Scatter
    points = 2000 if webgl else 50
    fig.add_trace(
        scatter(x=list(range(points)), y=[(i * 37) % 101 for i in range(points)], mode="markers"), 1, 1
    )
    fig.add_trace(go.Bar(x=["price", "bedrooms", "reviews"], y=[0.1, 0.4, 0.2]), 1, 2)
    fig.update_layout(title="Model dashboard")
    fig.write_html(path, include_plotlyjs=True, full_html=True)
    return path


@requires_chromium
def test_an_offline_plotly_page_draws_its_charts(tmp_path, monkeypatch):
    """The real dashboard's shape, through the one-shot open_page: a fresh Chromium and profile
    that are gone afterwards."""
    page = plotly_page(tmp_path / "dashboard.html")
    profiles = tmp_path / "tmp"
    profiles.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(profiles))
    report = open_page(page)
    assert report.console_errors == [], report.describe()
    assert report.console_messages == [], report.describe()  # Plotly logs nothing for SVG traces
    assert report.plotly_count == 1
    assert report.svg_count > 0
    assert not report.screenshot_is_blank()
    assert list(profiles.iterdir()) == []  # the temporary profile is removed


@requires_chromium
def test_chromium_is_stopped_after_use(tmp_path):
    with Chromium() as chromium:
        group = chromium.process.pid
        assert live_members(group)
        chromium.open_page(write_page(tmp_path, "<p>hi</p>"))
    assert live_members(group) == []


def test_plotly_webgl_charts_draw_with_software_webgl_and_only_warnings(browser, tmp_path):
    """plotly.express switches to WebGL (Scattergl) above 1000 points. With --disable-gpu,
    Chromium falls back to SwiftShader and only warns that this fallback is deprecated."""
    report = browser.open_page(plotly_page(tmp_path / "webgl.html", webgl=True))
    assert report.console_errors == [], report.describe()
    assert report.canvas_count > 0 and report.svg_count > 0
    assert not report.screenshot_is_blank()
    assert all(message.startswith("log.warning [rendering]") for message in report.console_messages), (
        report.describe()
    )
