"""The health page as a person sees it: rendered by headless Chromium (Debian's package).

A screenshot is taken and its pixels checked (alarm red present on a troubled store,
absent on a healthy one, chart bars drawn), and the DOM Chromium built is checked for
every outlet and every alarm marker.  .ci/run installs chromium; without it the tests
skip and say why.
"""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.pngread import colour_counts, read_png
from tests.run_reports import scenario, utc_now, write_local
from tests.test_health import OUTLETS

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ALARM_RED = bytes((0xC6, 0x28, 0x28))
CHART_BLUE = bytes((0x3B, 0x6E, 0xA8))
SIZE = (1200, 1500)


@pytest.fixture(scope="module")
def chromium() -> str:
    if CHROMIUM is None:
        reason = ("chromium is not installed: `apt-get install -y chromium` (Debian) to render "
                  "the health page; .ci/run installs it")
        print(f"SKIPPED: {reason}")
        pytest.skip(reason)
    return CHROMIUM


def headless(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", f"--user-data-dir={profile}",
                           "--force-device-scale-factor=1", *args],
                          capture_output=True, timeout=120)


def page_for(store: Path, out: Path) -> Path:
    proc = run_cli("report", "--store", str(store), "--out", str(out))
    assert out.is_file(), proc.stderr
    return out


def screenshot(chromium: str, page: Path, png: Path) -> bytes:
    proc = headless(chromium, png.parent / "profile", f"--screenshot={png}",
                    f"--window-size={SIZE[0]},{SIZE[1]}", page.as_uri())
    assert png.is_file(), proc.stderr.decode(errors="replace")[-2000:]
    return png.read_bytes()


class Markers(HTMLParser):
    """data-outlet / data-alarm attributes of the rendered DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, str] = {}
        self.alarms: set[tuple[str, str]] = set()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        found = dict(attrs)
        if tag == "section" and "data-outlet" in found:
            self.sections[found["data-outlet"]] = found.get("data-status", "")
        if tag == "li" and "data-alarm" in found and "data-outlet" in found:
            self.alarms.add((found["data-outlet"], found["data-alarm"]))


def test_troubled_store_renders_with_alarms(chromium, tmp_path):
    store = tmp_path / "store"
    for outlet, kind in OUTLETS.items():
        write_local(store, scenario(outlet, kind, utc_now(), runs=30))
    page = page_for(store, tmp_path / "health.html")
    png = screenshot(chromium, page, tmp_path / "health.png")
    width, height, _, _ = read_png(png)
    assert (width, height) == SIZE
    colours = colour_counts(png)
    assert colours[ALARM_RED] > 500      # badges, alarm borders, zero-article bars
    assert colours[CHART_BLUE] > 500     # the charts were drawn
    proc = headless(chromium, tmp_path / "profile-dom", "--dump-dom", page.as_uri())
    dom = proc.stdout.decode("utf-8")
    markers = Markers()
    markers.feed(dom)
    assert markers.sections == {"calm-times": "ok", "broken-herald": "alarm",
                                "walled-post": "alarm", "thin-gazette": "alarm",
                                "sleepy-news": "alarm"}
    assert markers.alarms == {("broken-herald", "zero_articles"), ("walled-post", "block_rate"),
                              ("thin-gazette", "text_collapse"), ("sleepy-news", "stale")}
    assert dom.count("<svg") == 4 * len(OUTLETS)


def test_healthy_store_renders_without_alarm_red(chromium, tmp_path):
    store = tmp_path / "store"
    write_local(store, scenario("calm-times", "healthy", utc_now(), runs=24))
    png = screenshot(chromium, page_for(store, tmp_path / "health.html"),
                     tmp_path / "health.png")
    colours = colour_counts(png)
    assert colours[ALARM_RED] == 0
    assert colours[CHART_BLUE] > 500
