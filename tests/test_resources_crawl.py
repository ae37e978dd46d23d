"""End to end: page resources of the Rudaw sample outlet, crawled, revalidated and replayed.

Two crawls of the sample outlet into one store (the English front changes in between, so
its resources are requested again), then the archived pages open in pywb's replay in
headless Chromium: no resource answers 404, the photo decodes, the stylesheet applies
and the front's script draws its list from the flight data.
"""

from __future__ import annotations

import gzip
import json
import re
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.browser import chromium_binary
from tests.conftest import crawl, run_cli
from tests.sites.assets import (
    BACKGROUND,
    BUILD_MANIFEST,
    FONT,
    FONT_SHEET,
    FRONT_CHUNK,
    SCRIPT,
    STYLESHEET,
    STYLESHEET_URL,
    VIDEO_POSTER,
)

pytestmark = pytest.mark.slow

ARTICLE = "/english/categories/kurdistan/1079100"  # new style: photo with srcset
LEGACY_ARTICLE = "/english/middleeast/syria/05032020"  # photo on the CDN origin
NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
IDENTICAL = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"


def records(paths: list[Path]) -> list[dict]:
    out = []
    for path in paths:
        with open(path, "rb") as handle:
            for rec in ArchiveIterator(handle):
                if rec.rec_type in ("response", "revisit"):
                    out.append({"uri": rec.rec_headers.get_header("WARC-Target-URI"),
                                "type": rec.rec_type,
                                "date": rec.rec_headers.get_header("WARC-Date"),
                                "profile": rec.rec_headers.get_header("WARC-Profile"),
                                "status": int(rec.http_headers.get_statuscode())})
    return out


@pytest.fixture(scope="module")
def crawls(tmp_path_factory):
    from tests.sites.server import SampleSite

    work = tmp_path_factory.mktemp("resources")
    with SampleSite() as site:
        outlet = site.write_outlet(work / "outlet.yaml")
        first = crawl(outlet, work / "store")
        first.log = site.requests  # type: ignore[attr-defined]
        first.warc_set = set(first.warcs())  # type: ignore[attr-defined]
        site.touch_noise("/english")  # the front changes: fetched again with its resources
        site.clear_requests()
        second = crawl(outlet, work / "store")
        second.log = site.requests  # type: ignore[attr-defined]
        latest = [a.title for a in site._state.content.newest_first("english", "new")]
        urls = {"main": site.base_url, "cdn": site.cdn_url}
    return {"first": first, "second": second, "latest": latest, "urls": urls, "work": work,
            "site_outlet": outlet}


def test_first_run_archives_every_resource_once(crawls):
    first = crawls["first"]
    assert first.returncode == 0, first.stderr[-3000:]
    log = first.log
    for path in (STYLESHEET_URL, FONT_SHEET, FONT, BACKGROUND, SCRIPT, BUILD_MANIFEST,
                 FRONT_CHUNK):
        hits = [e for e in log if e.origin == "main" and e.path == path]
        assert len(hits) == 1, (path, len(hits))  # shared by every page, fetched once
    assert not [e.path for e in log if e.status == 404]
    cdn = [e for e in log if e.origin == "cdn" and e.path != "/robots.txt"]
    assert cdn and all(e.status == 200 for e in cdn)
    assert len({e.path for e in cdn}) == len(cdn)
    report = first.reports[0]
    resources = report["resources"]
    assert resources["fetched"] >= 20 and resources["failed"]["total"] == 0
    assert "resource" not in report["pages"]["by_kind"]
    captured = {r["uri"] for r in records(first.warcs())}
    main = crawls["urls"]["main"]
    assert {main + STYLESHEET_URL, main + FONT, main + BACKGROUND} <= captured


RESOURCE_URL = re.compile(r"\.(css|js|png|svg|woff2|ico)|_next/")


def test_resources_are_never_corpus_records_nor_wacz_pages(crawls):
    first = crawls["first"]
    urls = {r["url"] for r in first.corpus()}
    assert urls and not [u for u in urls if RESOURCE_URL.search(u)]
    wacz = crawls["work"] / "sample.wacz"
    done = run_cli("wacz", "--store", str(first.store), "--outlet", "rudaw-sample",
                   "--out", str(wacz))
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(wacz) as package:
        pages = [json.loads(line) for line in
                 package.read("pages/pages.jsonl").decode().splitlines()[1:]]
        index = "\n".join(gzip.decompress(package.read(name)).decode()
                          for name in package.namelist()
                          if name.startswith("indexes/") and name.endswith(".gz"))
    assert len(pages) == 26 and not [p for p in pages if RESOURCE_URL.search(p["url"])]
    for path in (STYLESHEET_URL, FONT, FRONT_CHUNK):  # indexed: ReplayWeb.page finds them
        assert ")" + path.lower() in index, path  # CDXJ keys are SURTs: "127,0,0,1:port)/..."


def test_audio_and_video_are_skipped_and_counted(crawls):
    first = crawls["first"]
    assert not [e for e in first.log if e.path.startswith("/media/")]
    assert [e for e in first.log if e.path == VIDEO_POSTER and e.status == 200]
    assert first.reports[0]["resources"]["skipped"]["by_reason"]["media"] >= 1


def test_second_run_revalidates_with_revisits(crawls):
    second = crawls["second"]
    assert second.returncode == 0, second.stderr[-3000:]
    main = crawls["urls"]["main"]

    def asked(path: str) -> list:
        return [e for e in second.log if e.origin == "main" and e.path == path]

    # scripts, fonts, images: conditional requests answered 304
    for path in (SCRIPT, FRONT_CHUNK, FONT, BACKGROUND):
        entries = asked(path)
        assert len(entries) == 1, path
        assert entries[0].header("If-None-Match") and entries[0].status == 304, path
    # the stylesheet is fetched in full (its body names the font and background above)
    stylesheet = asked(STYLESHEET_URL)
    assert len(stylesheet) == 1 and stylesheet[0].status == 200
    assert stylesheet[0].header("If-None-Match") is None
    new = records([p for p in second.warcs() if p not in crawls["first"].warc_set])
    for url, profile in ((main + SCRIPT, NOT_MODIFIED), (main + FONT, NOT_MODIFIED),
                         (main + STYLESHEET_URL, IDENTICAL)):
        revisit = [r for r in new if r["uri"] == url]
        assert len(revisit) == 1 and revisit[0]["type"] == "revisit", url
        assert revisit[0]["profile"] == profile, url
    resources = second.reports[0]["resources"]
    assert resources["revalidated"] >= 5 and resources["failed"]["total"] == 0


@pytest.fixture(scope="module")
def replay(crawls):
    from archive.replay.pywb import PywbServer
    from tests.browser import Browser

    if chromium_binary() is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium; .ci/run "
                    "installs it)")
    with PywbServer(crawls["first"].warcs() + [
            p for p in crawls["second"].warcs() if p not in crawls["first"].warc_set],
            framed=False) as pywb, Browser() as browser:
        yield pywb, browser


def _open(replay, crawls, path: str, when: str):
    pywb, browser = replay
    url = pywb.url_for(when, crawls["urls"]["main"] + path, mod="mp_")
    load = browser.open(url)
    archived = [(u, s) for u, s in load.responses if f"/{pywb.collection}/" in u]
    missing = [(u, s) for u, s in archived if s == 404]
    return load, archived, missing


def _capture_date(crawls, run: str, path: str) -> str:
    url = crawls["urls"]["main"] + path
    return next(r["date"] for r in records(crawls[run].warcs())
                if r["uri"] == url and r["status"] == 200)


def test_article_replays_with_photo_and_stylesheet(crawls, replay):
    _, browser = replay
    load, archived, missing = _open(replay, crawls, ARTICLE,
                                    _capture_date(crawls, "first", ARTICLE))
    assert not missing, missing
    assert any(STYLESHEET in u for u, _ in archived) and any("_next/image" in u
                                                            for u, _ in archived)
    assert browser.evaluate("document.querySelector('.article__image img').naturalWidth") > 0
    assert browser.evaluate("getComputedStyle(document.querySelector('.site-header'))"
                            ".borderTopColor") == "rgb(0, 102, 153)"
    assert browser.evaluate("getComputedStyle(document.querySelector('.article__title'))"
                            ".color") == "rgb(20, 40, 60)"


def test_legacy_article_replays_its_cdn_photo(crawls, replay):
    _, browser = replay
    load, archived, missing = _open(replay, crawls, LEGACY_ARTICLE,
                                    _capture_date(crawls, "first", LEGACY_ARTICLE))
    assert not missing, missing
    cdn_host = urlsplit(crawls["urls"]["cdn"]).netloc
    assert any(cdn_host in u and s == 200 for u, s in archived)
    assert browser.evaluate(
        "document.querySelector('.article-main__image img').naturalWidth") > 0


def test_front_replays_its_script_drawn_list(crawls, replay):
    _, browser = replay
    # the second run's capture of the front: its stylesheet and scripts are revisits
    load, archived, missing = _open(replay, crawls, "/english",
                                    _capture_date(crawls, "second", "/english"))
    assert not missing, missing
    assert any(FRONT_CHUNK in u and s == 200 for u, s in archived)
    headlines = browser.evaluate(
        "[...document.querySelectorAll('.latest-list li')].map(e => e.textContent)")
    assert headlines == crawls["latest"]
    assert browser.evaluate("getComputedStyle(document.querySelector('.site-header'))"
                            ".borderTopColor") == "rgb(0, 102, 153)"


def test_unnamed_cdn_origin_is_refused_by_the_address_guard(crawls, tmp_path):
    """Without ``resource_hosts`` the loopback CDN is a private address nobody named."""
    from tests.sites.server import SampleSite

    with SampleSite() as site:
        text = site.write_outlet(tmp_path / "outlet.yaml").read_text()
        text = re.sub(r"resource_hosts:\n  - \S+\n", "", text)
        assert site.cdn_url not in text
        outlet = tmp_path / "outlet.yaml"
        outlet.write_text(text)
        result = crawl(outlet, tmp_path / "store", "--max-articles", "6")
        log = site.requests
    assert result.returncode == 0, result.stderr[-3000:]
    assert not [e for e in log if e.origin == "cdn"]
    report = result.reports[0]
    assert report["resources"]["skipped"]["by_reason"].get("refused_address", 0) >= 1
    assert report["failures"]["by_kind"]["refused_address"] >= 1
    assert site.cdn_url not in json.dumps([r["uri"] for r in records(result.warcs())])


def test_resources_none_fetches_pages_only(tmp_path):
    from tests.sites.server import SampleSite

    with SampleSite() as site:
        outlet = site.write_outlet(tmp_path / "outlet.yaml")
        outlet.write_text(outlet.read_text() + "resources: none\n")
        result = crawl(outlet, tmp_path / "store", "--max-articles", "4")
        log = site.requests
    assert result.returncode == 0, result.stderr[-3000:]
    assert not [e for e in log if e.path.startswith(("/Content/", "/Scripts/", "/_next/"))]
    assert result.reports[0]["resources"]["fetched"] == 0
