"""Bad input: each case is captured or refused, counted by kind, and the crawl goes on."""

from __future__ import annotations

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import crawl
from tests.sites import load_expected

pytestmark = pytest.mark.slow

EXPECTED = load_expected()


@pytest.fixture(scope="module")
def bad_crawl(tmp_path_factory):
    from tests.sites.server import SampleSite

    with SampleSite(port=0, arabic_port=0) as site:
        work = tmp_path_factory.mktemp("bad")
        outlet_file = site.write_outlet(work / "outlet-bad.yaml", variant="bad")
        result = crawl(outlet_file, work / "store")
        result.site_requests = site.requests  # type: ignore[attr-defined]
    return result


def warc_records(result) -> list:
    records = []
    for warc in result.warcs():
        with open(warc, "rb") as handle:
            for rec in ArchiveIterator(handle):
                if rec.rec_type == "response":
                    records.append((rec.rec_headers.get("WARC-Target-URI"),
                                    dict(rec.rec_headers.headers), rec.http_headers))
    return records


def test_crawl_finishes_and_counts_every_kind(bad_crawl):
    assert bad_crawl.returncode == 0, bad_crawl.stderr[-3000:]
    failures = bad_crawl.reports[0]["failures"]["by_kind"]
    for path, case in EXPECTED["bad"].items():
        kind = case["expect"]
        if kind in ("article", "listing"):
            continue
        assert failures.get(kind, 0) >= 1, (path, kind, failures)
    assert failures.get("robots_forbidden") == 3
    assert failures.get("refused_address", 0) >= 1
    # the good part of the site is still fully extracted
    ids = {r["id"] for r in bad_crawl.corpus()}
    for truth in EXPECTED["articles"].values():
        assert f"rudaw-sample:{truth['id_key']}" in ids


def test_hard_pages_still_extract(bad_crawl):
    records = {r["id"]: r for r in bad_crawl.corpus()}
    for path, case in EXPECTED["bad"].items():
        if case["expect"] != "article":
            continue
        truth = case["article"]
        record = records[f"rudaw-sample:{truth['id_key']}"]
        assert record["title"] == truth["title"], path
        assert record["language"] == truth["language"], path
        assert record["text"].split("\n\n")[0] == truth["text_first"], path


def test_failed_pages_are_not_articles(bad_crawl):
    ids = {r["id"] for r in bad_crawl.corpus()}
    for number in ("1079902", "1079903", "1079904", "1079905", "1079906", "1079907"):
        assert f"rudaw-sample:english/{number}" not in ids


def test_truncated_and_oversize_are_captured_and_marked(bad_crawl):
    records = {uri: (headers, http) for uri, headers, http in warc_records(bad_crawl)}
    truncated = next(v for k, v in records.items() if k.endswith("/bad/1079905"))
    oversize = next(v for k, v in records.items() if k.endswith("/bad/1079906"))
    assert truncated[0].get("WARC-Truncated") == "disconnect"
    assert oversize[0].get("WARC-Truncated") == "length"
    # error statuses are archived as received
    assert any(k.endswith("/bad/1079903") and v[1].get_statuscode() == "404"
               for k, v in records.items())


def test_redirect_to_private_address_refused_and_not_archived(bad_crawl):
    uris = [uri for uri, _, _ in warc_records(bad_crawl)]
    assert any(uri.endswith("/english/go") for uri in uris)  # the 302 itself is archived
    assert not any(uri.startswith("http://127.0.0.1:9/") for uri in uris)
    assert not any(uri.startswith("http://169.254.169.254") for uri in uris)
    assert bad_crawl.reports[0]["failures"]["by_kind"]["refused_address"] >= 2


def test_robots_disallowed_seeds_never_requested(bad_crawl):
    requested = {entry.path for entry in bad_crawl.site_requests}
    for path in ("/private/front", "/private/rss", "/private/sitemap.xml"):
        assert path not in requested
    assert "/robots.txt" in requested


def test_broken_extraction_workers_fail_the_run(tmp_path, fresh_site):
    """A worker pool that cannot start (a missing dependency) is a failed run, not bad pages."""
    import os

    broken = tmp_path / "broken"
    (broken / "trafilatura").mkdir(parents=True)
    (broken / "trafilatura" / "__init__.py").write_text(
        "raise ImportError('trafilatura deliberately broken by the test')\n")
    outlet_file = fresh_site.write_outlet(tmp_path / "outlet.yaml")
    path = os.pathsep.join(filter(None, [str(broken), os.environ.get("PYTHONPATH")]))
    result = crawl(outlet_file, tmp_path / "store", env={"PYTHONPATH": path})
    assert result.returncode == 1, result.stderr[-2000:]
    assert "extraction workers died" in result.stderr
    assert result.reports[0]["finish_reason"] == "extraction_pool_broken"
    assert "status=failed" in result.stdout
    assert result.warcs()  # what was fetched is still archived


def test_report_lists_failing_urls_per_kind(bad_crawl):
    report = bad_crawl.reports[0]
    urls = report["failing_urls"]
    for path, case in EXPECTED["bad"].items():
        kind = case["expect"]
        if kind in ("article", "listing"):
            continue
        assert any(url.endswith(path) for url in urls.get(kind, [])), (path, kind, urls)
    for kind, count in report["failures"]["by_kind"].items():
        assert 0 < len(urls.get(kind, [])) <= min(count, 50), kind
    # article text lengths, for the health page's "median text length"
    assert report["text_length"]["count"] == report["articles"] > 0
    assert report["text_length"]["median"] > 200
