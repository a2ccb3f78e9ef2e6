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
    CHROMEDRIVER_ENV_VAR,
    CHROMIUM_ENV_VAR,
    CHROMIUM_MISSING_REASON,
    BrowserError,
    PageTimeout,
    chromium,
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
    # The body is on line 3, which chromedriver's log calls 2 (it counts lines and columns from 0).
    path.write_text(f"<!doctype html>\n{head}\n<body>{body}</body></html>\n")
    return path


def png(draw=None, size=(200, 100), colour=(255, 255, 255)) -> bytes:
    image = Image.new("RGB", size, colour)
    if draw is not None:
        draw(ImageDraw.Draw(image))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def live_descendants(pid: int) -> set[int]:
    """Processes (not zombies) descended from ``pid``, from /proc."""
    parents = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            # pid (comm) state ppid ...: split after the command name, which may hold spaces
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # gone meanwhile
            continue
        if fields[0] != "Z":
            parents[int(stat_file.parent.name)] = int(fields[1])
    found, generation = set(), {pid}
    while generation:
        generation = {child for child, parent in parents.items() if parent in generation} - found
        found |= generation
    return found


def is_alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# -- finding Chromium and judging screenshots (no browser needed) ---------------------------


def test_the_environment_variables_choose_the_browser_and_driver_and_both_are_needed(tmp_path, monkeypatch):
    fake_chromium, fake_driver = tmp_path / "my-chromium", tmp_path / "my-chromedriver"
    for fake in (fake_chromium, fake_driver):
        fake.write_text("#!/bin/sh\n")
        fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(CHROMIUM_ENV_VAR, str(fake_chromium))
    monkeypatch.setenv(CHROMEDRIVER_ENV_VAR, str(fake_driver))
    assert chromium_executable() == str(fake_chromium)
    monkeypatch.setenv(CHROMEDRIVER_ENV_VAR, str(tmp_path / "no-driver"))
    assert chromium_executable() is None  # a browser without its driver is of no use: skip
    monkeypatch.setenv(CHROMEDRIVER_ENV_VAR, str(fake_driver))
    monkeypatch.setenv(CHROMIUM_ENV_VAR, str(tmp_path / "not-there"))
    assert chromium_executable() is None


def test_the_skip_reason_says_how_to_install_chromium_and_its_driver():
    assert "apt-get install chromium chromium-driver" in CHROMIUM_MISSING_REASON


def test_screenshot_is_blank_for_one_colour_and_not_for_a_drawing():
    assert screenshot_is_blank(png())
    assert screenshot_is_blank(png(colour=(30, 30, 30)))
    assert screenshot_is_blank(png(lambda d: d.point((5, 5), fill=(0, 0, 0))))  # one stray pixel
    assert not screenshot_is_blank(png(lambda d: d.line((0, 90, 199, 10), fill=(0, 0, 255), width=2)))
    assert not screenshot_is_blank(png(lambda d: d.text((10, 40), "chart", fill=(0, 0, 0))))


@requires_chromium  # chromedriver, that is
def test_a_browser_that_fails_to_start_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken-chromium"
    broken.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n")
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    page = write_page(tmp_path, "<p>hi</p>")
    expected = r"(?s)while opening file://.*page.html: Chromium \(.*broken-chromium\) did not start: "
    with pytest.raises(BrowserError, match=expected + ".*cannot open display"):  # Chromium's own words
        open_page(page, executable=str(broken))


def test_a_missing_page_is_named_before_starting_the_browser(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.html"):
        open_page(tmp_path / "nowhere.html")


# -- pages in a real browser ---------------------------------------------------------------


@requires_chromium
def test_a_page_with_svg_and_canvas_charts_loads_cleanly(tmp_path):
    page = tmp_path / "charts.html"
    page.write_text(CHART_PAGE)
    report = open_page(page)
    assert report.console_errors == [], report.describe()
    assert report.title == "Chart page"
    assert report.ready_state == "complete"
    assert (report.svg_count, report.canvas_count) == (1, 1)
    assert not report.screenshot_is_blank()
    assert Image.open(io.BytesIO(report.screenshot_png)).size == (1280, 900)


@requires_chromium
def test_console_error_is_reported(tmp_path):
    page = write_page(
        tmp_path, "<p>text</p><script>console.log('fine'); console.error('price model missing', 42)</script>"
    )
    report = open_page(page)
    expected = f'SEVERE [console-api] {page.as_uri()} 2:54 "price model missing" 42'
    assert report.console_errors == [expected], report.describe()
    assert report.console_messages == [
        f'INFO [console-api] {page.as_uri()} 2:33 "fine"',
        *report.console_errors,
    ]


@requires_chromium
def test_uncaught_exceptions_are_reported(tmp_path):
    page = write_page(
        tmp_path,
        "<p>text</p><script>setTimeout(() => { throw new TypeError('drift is undefined') }, 0);"
        " Promise.reject(new Error('no data'));</script>",
    )
    report = open_page(page)
    assert sorted(report.console_errors) == [
        f"SEVERE [javascript] {page.as_uri()} 2:108 Uncaught Error: no data",
        f"SEVERE [javascript] {page.as_uri()} 2:50 Uncaught TypeError: drift is undefined",
    ], report.describe()


@requires_chromium
def test_a_missing_script_is_reported(tmp_path):
    page = write_page(tmp_path, '<p>text</p><script src="missing.js"></script>')
    report = open_page(page)
    missing = (tmp_path / "missing.js").as_uri()
    expected = f"SEVERE [network] {missing} - Failed to load resource: net::ERR_FILE_NOT_FOUND"
    assert report.console_errors == [expected], report.describe()


@requires_chromium
def test_a_blank_page_has_a_blank_screenshot(tmp_path):
    page = write_page(tmp_path, "", name="blank.html")
    report = open_page(page)
    assert report.console_errors == []
    assert report.chart_count == 0
    assert report.screenshot_is_blank()


@requires_chromium
def test_a_page_that_never_finishes_loading_times_out_with_its_path(tmp_path):
    page = write_page(tmp_path, "<script>while (true) {}</script>", name="hangs.html")
    started = time.monotonic()
    with pytest.raises(PageTimeout, match=f"did not finish loading within 2s: {page.as_uri()}"):
        open_page(page, timeout=2)
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
    """The real dashboard's shape, in a fresh Chromium whose temporary profile is gone afterwards."""
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
def test_chromedriver_and_chromium_are_stopped_even_when_the_work_fails(tmp_path):
    with pytest.raises(RuntimeError, match="a test failed"), chromium() as driver:
        driver.get(write_page(tmp_path, "<p>hi</p>").as_uri())
        processes = {driver.service.process.pid, *live_descendants(driver.service.process.pid)}
        profile = Path(driver.capabilities["chrome"]["userDataDir"])
        assert len(processes) > 2 and profile.is_dir()  # chromedriver, Chromium and its helpers
        raise RuntimeError("a test failed")
    assert [pid for pid in processes if is_alive(pid)] == []
    assert not profile.exists()


@requires_chromium
def test_plotly_webgl_charts_draw_with_software_webgl_and_only_warnings(tmp_path):
    """plotly.express switches to WebGL (Scattergl) above 1000 points. With --disable-gpu,
    Chromium falls back to SwiftShader and only warns that this fallback is deprecated."""
    report = open_page(plotly_page(tmp_path / "webgl.html", webgl=True))
    assert report.console_errors == [], report.describe()
    assert report.canvas_count > 0 and report.svg_count > 0
    assert not report.screenshot_is_blank()
    assert all(message.startswith("WARNING [rendering]") for message in report.console_messages), (
        report.describe()
    )
