"""End to end: `newsarchive crawl` on the Rudaw sample outlet over real HTTP.

One crawl (module fixture) feeds most assertions: the corpus against the ground truth in
tests/sites/rudaw/expected.json, the WARC against the archival rules, the run report
against the files on disk.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import crawl, run_cli
from tests.sites import load_expected

pytestmark = pytest.mark.slow

EXPECTED = load_expected()


@pytest.fixture(scope="module")
def sample_crawl(tmp_path_factory):
    from tests.sites.server import SampleSite

    with SampleSite(port=0, arabic_port=0) as site:
        work = tmp_path_factory.mktemp("crawl")
        outlet_file = site.write_outlet(work / "outlet.yaml")
        result = crawl(outlet_file, work / "store")
        result.site_requests = site.requests  # type: ignore[attr-defined]
        result.site = site  # type: ignore[attr-defined]
    return result


def by_path(records: list[dict]) -> dict[str, dict]:
    from urllib.parse import urlsplit

    out = {}
    for record in records:
        parts = urlsplit(record["canonical_url"])
        out[parts.path] = record
    return out


def test_crawl_succeeds_quietly_with_one_summary_line(sample_crawl):
    assert sample_crawl.returncode == 0, sample_crawl.stderr[-3000:]
    lines = sample_crawl.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newsarchive: outlet=rudaw-sample ")
    assert "status=ok" in lines[0]
    assert sample_crawl.stderr.strip() == ""  # no TTY: quiet


def test_one_record_per_article(sample_crawl):
    records = sample_crawl.corpus()
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "an article was written twice in one run"
    expected_ids = {f"rudaw-sample:{a['id_key']}" for a in EXPECTED["articles"].values()}
    assert set(ids) == expected_ids


def test_seed_like_article_is_exact(sample_crawl):
    path = "/english/middleeast/syria/05032020"
    truth = EXPECTED["articles"][path]
    record = by_path(sample_crawl.corpus())[path]
    assert record["title"] == truth["title"]
    assert record["authors"] == truth["authors"]
    assert record["published"] == "2020-03-05"
    assert record["dateline"] == "ERBIL, Kurdistan Region"
    paragraphs = record["text"].split("\n\n")
    assert paragraphs[0] == truth["text_first"]
    assert paragraphs[-1] == truth["text_last"]
    assert len(paragraphs) == truth["paragraphs"]
    for furniture in truth["must_not_contain"]:
        assert furniture not in record["text"], furniture
    assert "@" not in " ".join(record["authors"])


def test_every_article_matches_ground_truth(sample_crawl):
    records = by_path(sample_crawl.corpus())
    for path, truth in EXPECTED["articles"].items():
        record = records[path]
        assert record["language"] == truth["language"], path
        assert record["title"] == truth["title"], path
        assert sorted(record["authors"]) == sorted(truth["authors"]), path
        assert (record["published"] or "")[:10] == (truth["published"] or "")[:10], path
        assert record["dateline"] == truth["dateline"], path
        paragraphs = record["text"].split("\n\n")
        assert paragraphs[0] == truth["text_first"], path
        assert paragraphs[-1] == truth["text_last"], path
        for furniture in truth["must_not_contain"]:
            assert furniture not in record["text"], (path, furniture)


def test_editions_get_their_languages(sample_crawl):
    languages = {r["id"].split(":")[1].split("/")[0]: r["language"]
                 for r in sample_crawl.corpus()}
    assert languages == {"english": "eng", "sorani": "ckb", "kurmanci": "kmr",
                         "turkish": "tur", "arabic": "arb"}


def test_both_generations_discovered(sample_crawl):
    ids = {r["id"] for r in sample_crawl.corpus()}
    assert any("/legacy/" in i for i in ids) and any("/legacy/" not in i for i in ids)
    # new-generation articles are only listed in flight data: fetching them proves it was read
    assert "rudaw-sample:arabic/1367254" in ids


def test_records_point_at_their_warc_response(sample_crawl):
    for record in sample_crawl.corpus():
        pointer = record["warc"]
        path = sample_crawl.store / pointer["key"]
        with open(path, "rb") as handle:
            handle.seek(pointer["offset"])
            raw = handle.read(pointer["length"])
        warc_record = next(iter(ArchiveIterator(__import__("io").BytesIO(raw))))
        assert warc_record.rec_type == "response"
        assert warc_record.rec_headers["WARC-Record-ID"] == pointer["record_id"]
        assert warc_record.rec_headers["WARC-Payload-Digest"] == pointer["payload_digest"]
        assert warc_record.rec_headers["WARC-Target-URI"] == record["url"]


def test_report_lists_every_file_with_its_sha256(sample_crawl):
    report = sample_crawl.reports[0]
    assert report["articles"] == len(EXPECTED["articles"])
    kinds = report["pages"]["by_kind"]
    for kind in ("robots", "front", "feed", "sitemap", "listing", "article", "redirect"):
        assert kinds.get(kind, 0) > 0, kind
    keys = set()
    for entry in report["files"]:
        data = (sample_crawl.store / entry["key"]).read_bytes()
        assert len(data) == entry["size"]
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        keys.add(entry["key"])
    on_disk = {p.relative_to(sample_crawl.store).as_posix()
               for p in sample_crawl.store.rglob("*")
               if p.is_file() and p.relative_to(sample_crawl.store).parts[0] != "state"}
    assert keys == on_disk - {report["report_key"]}
    stored_report = json.loads((sample_crawl.store / report["report_key"]).read_text())
    assert stored_report["run_id"] == report["run_id"]


def test_store_layout(sample_crawl):
    run_id = sample_crawl.reports[0]["run_id"]
    corpus = list(sample_crawl.store.glob(f"corpus/rudaw-sample/*/*/{run_id}.jsonl.gz"))
    assert len(corpus) == 1
    warcs = sample_crawl.warcs()
    assert warcs and all(p.parts[-4] == "rudaw-sample" for p in warcs)
    assert not list(sample_crawl.store.rglob("*.open"))
    import re

    for warc in warcs:
        assert re.fullmatch(r"newsarchive-rudaw-sample-\d{14}-\d{5}-[\w.-]+\.warc\.gz", warc.name)
    with gzip.open(corpus[0], "rt") as handle:
        assert all(json.loads(line)["run_id"] == run_id for line in handle)
    # every closed WARC has its sorted CDXJ index under indexes/
    for warc in warcs:
        key = warc.relative_to(sample_crawl.store).as_posix()
        index = sample_crawl.store / ("indexes/" + key[len("warc/"):] + ".cdxj")
        lines = index.read_text().splitlines()
        assert lines and lines == sorted(lines)
        assert all(json.loads(line.split(" ", 2)[2])["filename"] == warc.name for line in lines)


def test_robots_txt_fetched_before_anything_else(sample_crawl):
    by_origin: dict[str, list] = {}
    for entry in sample_crawl.site_requests:
        by_origin.setdefault(entry.origin, []).append(entry)
    assert set(by_origin) == {"main", "arabic", "cdn"}  # cdn: the image CDN origin
    for entries in by_origin.values():
        entries.sort(key=lambda e: e.monotonic)
        assert entries[0].path == "/robots.txt"


def test_private_links_never_fetched_nor_archived(sample_crawl):
    uris = set()
    for warc in sample_crawl.warcs():
        with open(warc, "rb") as handle:
            for rec in ArchiveIterator(handle):
                uri = rec.rec_headers.get("WARC-Target-URI")
                if uri:
                    uris.add(uri)
    for url in EXPECTED["never_fetch"]:
        assert url not in uris
    assert not any(u.startswith("http://127.0.0.1:9/") for u in uris)
    assert not any("/private/" in entry.path for entry in sample_crawl.site_requests)


def test_invalid_outlet_yaml_fails_clearly_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: broken\nstart_urls: [http://127.0.0.1:1/]\narticle_urls: ['/x/'\n")
    store = tmp_path / "store"
    proc = run_cli("crawl", str(bad), "--store", str(store))
    assert proc.returncode == 2
    assert f"{bad}:4" in proc.stderr and "invalid YAML" in proc.stderr
    assert not store.exists()


def test_unknown_outlet_fails_clearly(tmp_path):
    store = tmp_path / "store"
    proc = run_cli("crawl", "no-such-outlet", "--store", str(store))
    assert proc.returncode == 2
    assert "unknown outlet 'no-such-outlet'" in proc.stderr and "rudaw" in proc.stderr
    assert not store.exists()


def test_outlets_command_lists_rudaw_editions():
    proc = run_cli("outlets", "--json")
    assert proc.returncode == 0
    outlets = {o["name"]: o for o in json.loads(proc.stdout)}
    rudaw = outlets["rudaw"]
    assert {e["language"] for e in rudaw["editions"]} == {"eng", "ckb", "kmr", "tur", "arb"}
    assert any("rudawarabia.net" in u for u in rudaw["start_urls"])
    text = run_cli("outlets").stdout
    assert "rudaw" in text and "editions:" in text


def test_max_articles_caps_the_run(tmp_path, fresh_site):
    outlet_file = fresh_site.write_outlet(tmp_path / "outlet.yaml")
    result = crawl(outlet_file, tmp_path / "store", "--max-articles", "3")
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(result.corpus()) == 3
    assert result.reports[0]["finish_reason"] == "max_articles"


def test_warc_names_use_a_path_for_scrapy_crawl(tmp_path, fresh_site):
    """`scrapy crawl rudaw` from the repository root runs the same pipeline."""
    import subprocess
    import sys

    outlet_file = fresh_site.write_outlet(tmp_path / "outlet.yaml")
    store = tmp_path / "store"
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "rudaw", "-a", f"outlet={outlet_file}",
         "-s", f"NEWSARCHIVE_STORE={store}", "-s", "LOG_LEVEL=ERROR",
         "-s", "NEWSARCHIVE_EXTRACT_WORKERS=1"],
        cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert list(store.glob("warc/rudaw-sample/*/*/*.warc.gz"))
    assert list(store.glob("corpus/rudaw-sample/*/*/*.jsonl.gz"))
    assert list(store.glob("runs/rudaw-sample/*.json"))


def test_archive_replays_in_pywb_byte_for_byte(sample_crawl):
    """Every archived article comes back from a real pywb with the bytes as received."""
    import urllib.request

    from archive.replay.pywb import PywbServer, timestamp14

    payloads = {}
    for warc in sample_crawl.warcs():
        with open(warc, "rb") as handle:
            for rec in ArchiveIterator(handle):
                if rec.rec_type == "response":
                    uri = rec.rec_headers["WARC-Target-URI"]
                    payloads[uri] = (rec.rec_headers["WARC-Date"],
                                     rec.content_stream().read(), rec.raw_stream.read())
    records = sample_crawl.corpus()
    with PywbServer(sample_crawl.warcs()) as pywb:
        for record in records:
            date, _decoded, _ = payloads[record["url"]]
            request = urllib.request.Request(pywb.url_for(timestamp14(date), record["url"]),
                                             headers={"Accept-Encoding": "gzip, deflate"})
            with urllib.request.urlopen(request, timeout=30) as reply:
                body = reply.read()
                encoding = reply.headers.get("Content-Encoding")
            if encoding == "gzip":
                body = gzip.decompress(body)
            assert body == payloads[record["url"]][1], record["url"]
