"""The rules behind the hostile-site defences (issue 13), each on its own, plus the CLI's
up-front checks (store URIs, outlet keys, time zones) that stop a run before it starts."""

from __future__ import annotations

import gzip
import logging
import sys
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from archive.outlet.config import OutletConfigError, outlet_from_mapping
from archive.outlet.netguard import AddressPolicy
from archive.runs.outcome import EXIT_DEGRADED, classify
from archive.store.base import StoreError
from archive.store.validate import check_uri, check_writable
from archive.warc.encoding import BodyEncoding, check_body
from crawler import resolver
from crawler.backoff import parse_retry_after
from crawler.robots import normalised_url
from crawler.scrub import clean_record, scrub
from tests.conftest import run_cli

# ---- run outcome --------------------------------------------------------------------------


def report(pages=None, articles=0, finish="finished", pending=0, robots=None, **extra):
    data = {"finish_reason": finish, "articles": articles, "pending_uploads": pending,
            "pages": {"by_kind": pages if pages is not None else {"front": 2, "article": 3}},
            "failures": {"by_kind": {}}, "refusals": {"by_kind": {}}}
    if robots is not None:
        data["robots"] = robots
    data.update(extra)
    return data


def test_outcome_ok_pending_and_failed():
    assert classify(report(articles=3)).status == "ok"
    assert classify(report(articles=3)).exit_status == 0
    assert classify(report(articles=3, pending=2)).exit_status == 4
    crashed = classify(report(finish="shutdown"))
    assert (crashed.status, crashed.exit_status) == ("failed", 1)


def test_outcome_degraded_when_nothing_came_back():
    dead = report(pages={"robots": 1}, refusals={"by_kind": {"robots": 3}})
    outcome = classify(dead)
    assert (outcome.status, outcome.exit_status) == ("degraded", EXIT_DEGRADED)
    assert "no page was fetched" in outcome.reason and "robots=3" in outcome.reason
    blocked = classify(report(robots={"origins": 2, "fetched": 0}, articles=1))
    assert blocked.status == "degraded" and "robots.txt" in blocked.reason


def test_outcome_degraded_only_when_history_usually_has_articles():
    usual = [report(articles=n) for n in (4, 0, 7, 2)]
    assert classify(report(articles=0), usual).status == "degraded"
    assert "3 of the last 4 runs" in classify(report(articles=0), usual).reason
    quiet = [report(articles=n) for n in (0, 0, 1, 0)]  # an outlet that rarely publishes
    assert classify(report(articles=0), quiet).status == "ok"
    assert classify(report(articles=0), [report(articles=5)]).status == "ok"  # too little
    assert classify(report(articles=0)).status == "ok"  # a first run
    # an incremental run that found only what is archived already is not a dead outlet
    assert classify(report(articles=0, skipped_archived=12), usual).status == "ok"
    assert classify(report(articles=0, revisits={"not_modified": 3}), usual).status == "ok"
    assert classify(report(articles=0, non_articles=9), usual).status == "degraded"


# ---- encodings, robots paths, Retry-After --------------------------------------------------


def test_body_encoding_verdicts():
    html = b"<p>invented text</p>" * 500
    packed = gzip.compress(html)
    assert check_body(packed, "gzip", 10**6) is BodyEncoding.OK
    assert check_body(packed[:-30], "gzip", 10**6) is BodyEncoding.SHORT
    assert check_body(packed[:20] + b"\xff" * 40 + packed[60:], "gzip", 10**6) \
        is BodyEncoding.CORRUPT
    assert check_body(packed, "gzip", 1000) is BodyEncoding.TOO_LARGE
    assert check_body(zlib.compress(html), "deflate", 10**6) is BodyEncoding.OK
    assert check_body(zlib.compress(html)[2:-4], "deflate", 10**6) is BodyEncoding.OK  # raw
    assert check_body(packed + packed, "gzip", 10**6) is BodyEncoding.OK  # two members
    assert check_body(html, None, 10) is BodyEncoding.OK  # nothing to decode
    assert check_body(gzip.compress(zlib.compress(html)), "deflate, gzip", 10**6) \
        is BodyEncoding.OK


@pytest.mark.parametrize(("url", "expected"), [
    ("http://h/./private/x", "http://h/private/x"),
    ("http://h//private/x", "http://h/private/x"),
    ("http://h/a/../private/x?q=1", "http://h/private/x?q=1"),
    ("http://h/%70rivate/x", "http://h/private/x"),
    ("http://h/a%2Fb/", "http://h/a%2Fb/"),  # an encoded slash is not a separator
    ("http://h/news/", "http://h/news/"),
])
def test_robots_paths_are_normalised(url, expected):
    assert normalised_url(url) == expected


def test_retry_after_values():
    assert parse_retry_after(b"3") == 3.0
    when = datetime.now(UTC) + timedelta(seconds=30)
    assert 25 <= parse_retry_after(format_datetime(when, usegmt=True)) <= 31
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# ---- addresses and credentials -----------------------------------------------------------


def test_guard_refuses_bad_ports_and_credentials_without_raising():
    policy = AddressPolicy(set(), resolver=lambda host: [])
    assert "port" in policy.refusal_reason("http://news.example:99999/a")
    assert "port" in policy.refusal_reason("http://news.example:http/a")
    assert "credentials" in policy.refusal_reason("http://u:p@news.example/a")
    assert policy.refusal_reason("http://news.example/a") is None


def test_resolver_refuses_private_answers_for_unnamed_hosts():
    resolver.allow_hosts(["intranet.example"])
    assert resolver.check_answer("intranet.example", "10.0.0.5") == "10.0.0.5"
    assert resolver.check_answer("news.example", "93.184.216.34") == "93.184.216.34"
    with pytest.raises(resolver.RefusedResolution):
        resolver.check_answer("evil.example", "127.0.0.2")
    assert "127.0.0.2" in resolver.refusal_for("EVIL.example.")
    assert resolver.is_ip_literal("[::1]") and not resolver.is_ip_literal("a.example")


def test_credentials_are_masked_and_tracebacks_dropped():
    assert scrub("Error downloading <GET http://bob:s3cret@h.example/x>") == \
        "Error downloading <GET http://***@h.example/x>"
    assert scrub("no url here") == "no url here"
    try:
        raise ValueError("https://bob:s3cret@h.example/")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed %s",
                               ("ftp://bob:s3cret@h.example/",), exc_info)
    quiet = clean_record(record, debug=False)
    assert quiet.getMessage() == "failed ftp://***@h.example/" and quiet.exc_info is None
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), exc_info)
    loud = clean_record(record, debug=True)
    assert "Traceback" in loud.exc_text and "s3cret" not in loud.exc_text


# ---- outlet files ------------------------------------------------------------------------

BASE = {"name": "x", "start_urls": ["https://news.example/"], "article_urls": ["/n/"]}


def test_misspelt_keys_warn_with_the_nearest_valid_key():
    outlet = outlet_from_mapping({**BASE, "prune_xpath": ["//aside"], "recheck": {},
                                  "__lines__": {"prune_xpath": 4}})
    assert outlet.warnings == ["<outlet>:4: unknown key 'prune_xpath' (did you mean "
                               "'prune_xpaths'?): it is ignored"]
    assert outlet_from_mapping(BASE).warnings == []


def test_unknown_time_zone_fails_validation():
    with pytest.raises(OutletConfigError, match="unknown time zone 'Europe/Londn'.*Europe/London"):
        outlet_from_mapping({**BASE, "timezone": "Europe/Londn"})
    assert outlet_from_mapping({**BASE, "timezone": "Asia/Baghdad"}).timezone == "Asia/Baghdad"


def test_cli_warns_on_a_misspelt_key(tmp_path):
    outlet = tmp_path / "typo.yaml"
    outlet.write_text("name: typo\nstart_urls: ['http://127.0.0.1:9/']\narticle_urls: ['/n/']\n"
                      "download_delay: 0\nprune_xpath: ['//aside']\n", encoding="utf-8")
    done = run_cli("crawl", str(outlet), "--store", str(tmp_path / "store"))
    warnings = [line for line in done.stderr.splitlines() if "warning:" in line]
    assert warnings == [f"newsarchive: warning: {outlet}:5: unknown key 'prune_xpath' (did you "
                        "mean 'prune_xpaths'?): it is ignored"]


def test_cli_stops_on_a_bad_zone(tmp_path):
    outlet = tmp_path / "typo.yaml"
    outlet.write_text("name: typo\nstart_urls: ['http://127.0.0.1:9/']\narticle_urls: ['/n/']\n"
                      "timezone: Mars/Olympus\n", encoding="utf-8")
    done = run_cli("crawl", str(outlet), "--store", str(tmp_path / "store"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "unknown time zone" in done.stderr
    assert not (tmp_path / "store").exists()


# ---- store URIs --------------------------------------------------------------------------


def test_store_uri_forms():
    for bad in ("s3:/", "s3:", "S3:/bucket", "file:///srv/a", "http://host/a", ""):
        with pytest.raises(StoreError):
            check_uri(bad)
    for good in ("s3://bucket/prefix", "./archive", "/srv/archive", "relative/dir"):
        check_uri(good)


def test_store_directories(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for bad, words in ((afile, "is a file"), (afile / "sub", "is a file"),
                       ("/proc/self/store", "system directory")):
        with pytest.raises(StoreError, match=words):
            check_writable(bad)
    assert check_writable(tmp_path / "new" / "store") == (tmp_path / "new" / "store")


@pytest.mark.parametrize("store", ["s3:/", "FILE", "/proc/newsarchive-test"])
def test_cli_rejects_bad_stores_with_one_line_and_exit_3(tmp_path, store):
    if store == "FILE":
        store = str(tmp_path / "afile")
        (tmp_path / "afile").write_text("not a directory")
    outlet = tmp_path / "ok.yaml"
    outlet.write_text("name: ok\nstart_urls: ['http://127.0.0.1:9/']\narticle_urls: ['/n/']\n",
                      encoding="utf-8")
    done = run_cli("crawl", str(outlet), "--store", store, cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newsarchive: error: "), lines
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "s3:").exists()
