"""Politeness of one crawl process: per-host delay from the outlet file, identifying UA."""

from __future__ import annotations

import pytest

from tests.conftest import crawl

pytestmark = pytest.mark.slow


def test_per_host_delay_and_user_agent(tmp_path, fresh_site):
    outlet_file = fresh_site.write_outlet(tmp_path / "outlet.yaml")
    text = outlet_file.read_text()
    text = text.replace("download_delay: 0 ", "download_delay: 0.3 ")
    text = text.replace("concurrency: 4", "concurrency: 1")
    text += "\ncontact_url: https://example.org/our-crawler\n"
    outlet_file.write_text(text)
    result = crawl(outlet_file, tmp_path / "store", "--max-pages", "12")
    assert result.returncode == 0, result.stderr[-2000:]
    times = sorted(entry.monotonic for entry in fresh_site.requests)
    assert len(times) >= 10
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    # both sample origins live on host 127.0.0.1: one download slot, one delay. Gaps are
    # measured where the server receives, so connection set-up can shave a few ms off one.
    # The mean is (last - first) / n: a first request received a few ms late (its connection
    # set-up) shortens the span, so allow 5 ms; any real undercut of the delay is far larger.
    assert min(gaps) >= 0.25, gaps
    assert sum(gaps) / len(gaps) >= 0.3 - 0.005, gaps
    # page resources (stylesheets, scripts, images) keep the same per-host delay
    assert any(e.path.startswith(("/Content/", "/Scripts/", "/images/"))
               for e in fresh_site.requests)
    agents = {entry.header("User-Agent") for entry in fresh_site.requests}
    assert agents == {"newsarchive/0.1.0 (+https://example.org/our-crawler)"}
