"""Generic discovery end to end: an outlet file with a name and a start URL is enough.

The generated site (tests/sites/newsgen.py) is not the Rudaw sample: other URL shapes,
query/path/offset pagination, tag- and author-only articles, articles linked only as
related coverage, old URLs that redirect, a sitemap only robots.txt names and a feed
only ``<link rel=alternate>`` names.  Crawls run as real ``newsarchive crawl``
processes against it over HTTP.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from archive.outlet.config import OutletConfigError, load_outlet
from tests.conftest import crawl
from tests.sites.gensite import GeneratedSite

pytestmark = pytest.mark.slow

SITE_ARTICLES = 40  # every kind of hidden article appears at least twice
ARTICLE_PREFIXES = ("/news/", "/a/", "/stories/", "/politics/", "/economy/", "/culture/",
                    "/science/")


def run_records(result) -> list[dict]:
    """The corpus records this run wrote (the store holds both runs)."""
    run_id = result.reports[0]["run_id"]
    records = []
    for path in result.store.glob(f"corpus/**/{run_id}.jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            records.extend(json.loads(line) for line in handle if line.strip())
    return records


def _article_paths(requests) -> list[str]:
    return [r.path for r in requests if r.status == 200 and r.path.startswith(ARTICLE_PREFIXES)]


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """First crawl with the minimal outlet file, two edits, second crawl."""
    work = tmp_path_factory.mktemp("generic")
    with GeneratedSite(SITE_ARTICLES, deleted=1) as site:
        outlet = site.write_outlet(work / "outlet.yaml")
        assert outlet.read_text().splitlines()[0] == "name: gazette"
        assert len(outlet.read_text().splitlines()) == 2  # name and start_urls only
        first = crawl(outlet, work / "store", "--recheck", "off")
        assert first.returncode == 0, first.stderr[-3000:]
        first_requests = list(site.requests)
        sitemap_edit = site.edit(4)  # in the sitemap: its <lastmod> moves
        listing_edit = site.edit(2 * SITE_ARTICLES // 5 + 4)  # in no sitemap: listings only
        mark = len(site.requests)
        second = crawl(outlet, work / "store", "--recheck", "off")
        assert second.returncode == 0, second.stderr[-3000:]
        yield {"site": site, "first": first, "first_requests": first_requests,
               "second": second, "second_requests": site.requests[mark:],
               "edits": {sitemap_edit, listing_edit}}


def test_minimal_outlet_finds_every_article(story):
    site, first = story["site"], story["first"]
    expected = site.expected_urls()
    archived = {record["url"] for record in run_records(first)}
    assert len(archived & expected) / len(expected) >= 0.98, sorted(expected - archived)
    by_reach: dict[str, set[str]] = {}
    for article in site.articles:
        by_reach.setdefault(article.reach, set()).add(site.base + article.path)
    for reach in ("tag_only", "author_only", "related_only", "redirect_only"):
        assert by_reach[reach], reach
        assert by_reach[reach] <= archived, (reach, sorted(by_reach[reach] - archived))


def test_no_non_article_in_the_corpus(story):
    site, first = story["site"], story["first"]
    records = run_records(first)
    assert {r["url"] for r in records} <= site.expected_urls()
    assert len(records) == len({r["url"] for r in records})
    report = first.reports[0]
    assert report["articles"] == len(records)


def test_trap_guards_and_advertised_channels(story):
    paths = [r.path for r in story["first_requests"]]
    assert not [p for p in paths if p.startswith(("/search", "/login"))]
    assert "/sitemap.xml" in paths and "/feed.xml" in paths  # robots.txt and rel=alternate
    # every URL once, robots.txt included: its Sitemap: lines come from the robots.txt
    # middleware's download, not from a second one
    assert paths.count("/robots.txt") == 1
    assert max(paths.count(p) for p in set(paths)) == 1


def test_coverage_in_the_run_report(story):
    site = story["site"]
    coverage = story["first"].reports[0]["coverage"]
    for channel in ("feed", "listing"):
        counts = coverage["channels"][channel]
        assert counts["declared"] > 0, channel
        assert counts["archived"] == counts["declared"] - counts["not_articles"], channel
    sitemap = coverage["channels"]["sitemap"]
    # the sitemap declares one article that was taken down: missing, and why
    assert sitemap["missing"] == 1 and sitemap["missing_reasons"] == {"http_404": 1}
    assert sitemap["archived"] == sitemap["declared"] - 1 > 0
    assert coverage["missing_total"] == 1
    assert coverage["missing"] == [{"url": site.base + site.deleted[0], "channels": ["sitemap"],
                                    "reason": "http_404"}]
    assert coverage["archived_this_run"] >= SITE_ARTICLES
    assert story["second"].reports[0]["coverage"]["channels"]["sitemap"]["archived"] \
        == sitemap["archived"]  # already archived counts as covered


def test_second_run_recaptures_only_the_edited_articles(story):
    site, second = story["site"], story["second"]
    fetched = {site.base + p for p in _article_paths(story["second_requests"])}
    assert fetched == story["edits"]
    versions = {r["url"]: r for r in run_records(second)}
    assert set(versions) == story["edits"]
    assert all(r["version"] == 2 and r.get("previous_sha256") for r in versions.values())
    assert second.reports[0]["new_versions"] == 2


def test_calendar_trap_stays_within_the_page_budget(tmp_path):
    with GeneratedSite(120, calendar_trap=True) as site:
        outlet = site.write_outlet(tmp_path / "outlet.yaml")
        # politeness only (the test would take minutes at 1 page/s); discovery keys: none
        with outlet.open("a") as handle:
            handle.write("download_delay: 0\nconcurrency: 4\n")
        result = crawl(outlet, tmp_path / "store", "--recheck", "off")
        assert result.returncode == 0, result.stderr[-3000:]
        expected = site.expected_urls()
        archived = {record["url"] for record in result.corpus()}
        budget = result.reports[0]["coverage"]["page_budget"]
        article_paths = _article_paths(site.requests)
        navigation = [r for r in site.requests if r.path not in article_paths
                      and r.path not in ("/robots.txt", "/sitemap.xml", "/feed.xml")
                      and not r.path.startswith("/old/")]
    assert len(archived & expected) / len(expected) >= 0.98
    assert archived <= expected
    assert budget["refused"] > 0  # the trap ran into the budget ...
    assert len(navigation) <= budget["limit"] + 1  # ... which held (+1: the start page)
    assert site.count("/calendar/") < budget["limit"]


# ---- the outlet file ---------------------------------------------------------------------


def _outlet(tmp_path: Path, text: str):
    path = tmp_path / "o.yaml"
    path.write_text(text, encoding="utf-8")
    return load_outlet(path)


def test_article_urls_are_optional_priors(tmp_path):
    minimal = _outlet(tmp_path, "name: x\nstart_urls: ['https://e.org/']\n")
    assert minimal.discovery == "generic" and minimal.article_urls == []
    assert minimal.is_article_url("https://e.org/any") and not minimal.article_prior("https://e.org/any")
    ruled = _outlet(tmp_path, "name: x\nstart_urls: ['https://e.org/']\narticle_urls: ['/n/']\n")
    assert ruled.discovery == "rules" and ruled.article_prior("https://e.org/n/1")
    hinted = _outlet(tmp_path, "name: x\nstart_urls: ['https://e.org/']\n"
                               "article_urls: ['/n/']\ndiscovery: generic\n")
    assert hinted.discovery == "generic"


@pytest.mark.parametrize("text,message", [
    ("name: x\nstart_urls: ['https://e.org/']\ndiscovery: rules\n", "needs article_urls"),
    ("name: x\nstart_urls: ['https://e.org/']\ndiscovery: magic\n", "must be one of"),
])
def test_bad_discovery_keys_name_the_line(tmp_path, text, message):
    with pytest.raises(OutletConfigError, match=message) as error:
        _outlet(tmp_path, text)
    assert ":3:" in str(error.value)
