"""Values a landing file may carry that are HTML or script, and how the tests judge a page that
shows them: by its content (Python's HTML parser) and in a real Chromium that records dialogs.

Every script payload calls ``alert``, so one spy on the dialog functions sees any of them run.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from mlvp_assets_tests.browser import PAINTED_SCRIPT, chromium

HOSTILE_VALUES = (
    "<img src=x onerror=alert(1)>",  # an element with a handler, in text or markup context
    "</script><script>alert(1)</script>",  # closes the script element the value is embedded in
    "<!--<script>alert(1)//",  # a comment opener changes how a script element's end is found
    "\"'><svg onload=alert(1)>",  # leaves an attribute value first
    '<b>Mission</b> & <a href="javascript:alert(1)">Castro</a>',  # markup Plotly would draw
)


@dataclass
class PageElements:
    """What an HTML parser finds in a page: script elements (their text), attributes that hold
    event handlers (``on...``), and the text outside scripts and styles with entities decoded."""

    scripts: list[str] = field(default_factory=list)
    handlers: list[str] = field(default_factory=list)  # "tag onerror=..."
    text: str = ""


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = PageElements()
        self._raw: str | None = None  # the element whose text is raw (script, style), if any
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.handlers += [f"{tag} {name}={value}" for name, value in attrs if name.startswith("on")]
        if tag in ("script", "style"):
            self._raw = tag
            if tag == "script":
                self.found.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._raw:
            self._raw = None

    def handle_data(self, data: str) -> None:
        if self._raw == "script":
            self.found.scripts[-1] += data
        elif self._raw is None:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        self.found.text = "".join(self._text)


def page_elements(page: str) -> PageElements:
    parser = _Parser()
    parser.feed(page)
    parser.close()
    return parser.found


# Replaces the dialog functions before any script of the page runs; the calls are kept.
DIALOG_SPY = """window.__dialogs = [];
for (const name of ["alert", "confirm", "prompt", "print"]) {
  window[name] = (...args) => { window.__dialogs.push(name + "(" + args.join(", ") + ")"); };
}"""
PAGE_STATE_SCRIPT = """const handlers = [];
for (const element of document.querySelectorAll("*")) {
  for (const attribute of element.attributes) {
    if (attribute.name.startsWith("on")) handlers.push(element.tagName + " " + attribute.name);
  }
}
return {
  dialogs: window.__dialogs,
  scripts: document.scripts.length,
  handlers: handlers,
  text: document.body.innerText,
  svg_text: Array.from(document.querySelectorAll("svg text"), element => element.textContent),
};"""


# Evidently's table of columns: a row per column, each with a button that opens its details.
TOGGLE_SELECTOR = "button[aria-label='Detail panel visibility toggle']"
ROWS_FOUND_SCRIPT = f"""const toggles = document.querySelectorAll("{TOGGLE_SELECTOR}");
const rows = Array.from(toggles, toggle => toggle.closest("tr"));
return rows.length > 0 && rows.every(row => row.innerText.includes(arguments[0]));"""


@dataclass
class OpenedPage:
    """What Chromium showed of a page: dialogs asked for, script elements, elements with an event
    handler attribute, the body's visible text, the text of its SVG charts, and console entries."""

    dialogs: list[str]
    scripts: int
    handlers: list[str]
    text: str
    svg_text: list[str]
    console: list[str]


def open_hostile_page(
    path: Path, *, details: tuple[str, ...] = (), timeout: float = 60.0, settle_seconds: float = 0.5
) -> OpenedPage:
    """Load ``path`` in a headless Chromium whose dialog functions are spied on, wait for it to be
    painted, and report what it shows. For each of ``details`` (an Evidently report's column), type
    it in the report's search field and open the details of the rows found; the texts drawn then are
    added to the report's. A real dialog left open would fail every later call."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.wait import WebDriverWait

    with chromium() as driver:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DIALOG_SPY})
        driver.set_page_load_timeout(timeout)
        driver.set_script_timeout(timeout)
        driver.get(Path(os.fspath(path)).resolve().as_uri())
        driver.execute_async_script(PAINTED_SCRIPT)
        time.sleep(settle_seconds)
        state = driver.execute_script(PAGE_STATE_SCRIPT)
        for name in details:
            found = driver.find_elements(By.CSS_SELECTOR, "input[aria-label=Search]")
            if not found:  # the report was not drawn: what the page shows is reported as it is
                break
            search = found[0]
            search.send_keys(Keys.CONTROL, "a")  # React keeps the field's value: replace it by typing
            search.send_keys(name)
            # The table filters a moment after the typing: wait until every row left is the column's.
            WebDriverWait(driver, timeout).until(
                lambda driver, name=name: driver.execute_script(ROWS_FOUND_SCRIPT, name)
            )
            toggles = driver.find_elements(By.CSS_SELECTOR, TOGGLE_SELECTOR)
            for toggle in toggles:
                toggle.click()
            driver.execute_async_script(PAINTED_SCRIPT)
            time.sleep(settle_seconds)
            opened = driver.execute_script(PAGE_STATE_SCRIPT)
            state.update(
                dialogs=opened["dialogs"],
                handlers=state["handlers"] + opened["handlers"],
                text=state["text"] + "\n" + opened["text"],
                svg_text=state["svg_text"] + opened["svg_text"],
            )
        console = [f"{entry['level']} {entry['message']}" for entry in driver.get_log("browser")]
    return OpenedPage(**state, console=console)


def collapse_spaces(text: str) -> str:
    """``innerText`` breaks and spaces text as laid out; compare it with single spaces."""
    return re.sub(r"\s+", " ", text)
