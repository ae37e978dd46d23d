"""Sample archives for the reuse tests (CDXJ, WACZ, corpus reader, export, reextract).

Builds a small store the way a crawl leaves it: per-record-gzip WARC/1.1 files with a
warcinfo record and request + response pairs (one of them a revisit), their CDXJ indexes,
a corpus file and a run report.  The WARCs are written with warcio directly so these tests
do not depend on the crawler's own writer; all page text is invented.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.corpus.records import CorpusWriter
from archive.store.base import LocalStore, sha256_file
from archive.warc.cdxj import index_key_for, index_warc

WORDS = ("river valley council market bridge harvest winter school library road village "
         "festival museum railway garden province museum teacher orchard mountain lake "
         "archive newspaper weather season clinic factory harbour ferry meadow").split()

OUTLET_YAML = """\
name: {name}
start_urls: [http://127.0.0.1:9/]
article_urls: ['/news/\\d+']
language: eng
"""


def invented_paragraphs(seed: int, count: int = 6) -> list[str]:
    """Deterministic invented prose (no real text anywhere in the fixtures)."""
    paragraphs = []
    for p in range(count):
        words = [WORDS[(seed * 7 + p * 13 + i * 5) % len(WORDS)] for i in range(40 + p * 3)]
        paragraphs.append(f"Paragraph {p + 1} of story {seed}: " + " ".join(words).capitalize()
                          + ".")
    return paragraphs


def article_html(seed: int, title: str | None = None) -> str:
    title = title or f"Invented headline number {seed}"
    body = "\n".join(f"<p>{p}</p>" for p in invented_paragraphs(seed))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Sample News</title>
<meta property="og:title" content="{title}">
<meta name="author" content="Reporter {seed}">
<meta property="article:published_time" content="2026-05-0{1 + seed % 8}T08:00:00+00:00">
</head><body>
<nav><a href="/">Home</a> <a href="/news/">News</a> <a href="/sport/">Sport</a></nav>
<article><h1>{title}</h1>
<div class="byline">By Reporter {seed}</div>
{body}
<table><tr><td>Invented district {seed}</td><td>{seed * 11} kilometres of new road</td></tr>
<tr><td>Invented district {seed + 1}</td><td>{seed * 7} new classrooms</td></tr></table>
<p>Closing paragraph of story {seed}: the council will meet again next season to review it.</p>
</article>
<footer><p>Copyright Sample News. All rights reserved.</p></footer>
</body></html>"""


@dataclass
class Capture:
    url: str
    body: bytes
    date: datetime
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    gzip_body: bool = False
    revisit_of: int | None = None  # index of an earlier capture with the same payload


@dataclass
class Written:
    """Where a capture's response (or revisit) record landed."""

    key: str
    filename: str
    offset: int
    length: int
    record_id: str
    payload_digest: str
    date: str
    url: str

    def pointer(self) -> dict:
        return {"key": self.key, "filename": self.filename, "offset": self.offset,
                "length": self.length, "record_id": self.record_id,
                "payload_digest": self.payload_digest}


def warc_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_warc(path: Path, key: str, captures: list[Capture],
               earlier: list[Written] | None = None) -> list[Written]:
    """Write ``captures`` as one WARC file; return where each response/revisit went."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written: list[Written] = []
    known = list(earlier or [])
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True, warc_version="1.1")
        info = writer.create_warcinfo_record(path.name, {
            "software": "newsarchive-tests", "format": "WARC File Format 1.1",
            "isPartOf": "reuse-tests"})
        writer.write_record(info)
        for capture in captures:
            body = gzip.compress(capture.body, mtime=0) if capture.gzip_body else capture.body
            headers = [("Content-Type", capture.content_type),
                       ("Content-Length", str(len(body)))]
            if capture.gzip_body:
                headers.append(("Content-Encoding", "gzip"))
            reason = {200: "OK", 404: "Not Found", 301: "Moved Permanently"}[capture.status]
            http = StatusAndHeaders(f"{capture.status} {reason}", headers, protocol="HTTP/1.1")
            date = warc_date(capture.date)
            common = {"WARC-Date": date, "WARC-IP-Address": "127.0.0.1"}
            if capture.revisit_of is not None:
                original = known[capture.revisit_of]
                record = writer.create_revisit_record(
                    capture.url, original.payload_digest, original.url, original.date,
                    http_headers=http, warc_headers_dict=common)
                record.rec_headers.add_header("WARC-Refers-To", original.record_id)
                record.rec_headers.add_header("WARC-Truncated", "length")
            else:
                record = writer.create_warc_record(
                    capture.url, "response", payload=io.BytesIO(body), http_headers=http,
                    warc_headers_dict=common)
            offset = handle.tell()
            writer.write_record(record)
            length = handle.tell() - offset
            parts = urlsplit(capture.url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            request_http = StatusAndHeaders(
                f"GET {target} HTTP/1.1",
                [("Host", parts.netloc), ("User-Agent", "newsarchive-tests"),
                 ("Accept-Encoding", "gzip, deflate")], is_http_request=True)
            request = writer.create_warc_record(
                capture.url, "request", http_headers=request_http,
                warc_headers_dict={**common, "WARC-Concurrent-To":
                                   record.rec_headers.get_header("WARC-Record-ID")})
            writer.write_record(request)
            item = Written(key=key, filename=path.name, offset=offset, length=length,
                           record_id=record.rec_headers.get_header("WARC-Record-ID"),
                           payload_digest=record.rec_headers.get_header("WARC-Payload-Digest"),
                           date=date, url=capture.url)
            written.append(item)
            known.append(item)
    return written


def make_record(outlet: str, written: Written, *, run_id: str, seed: int, version: int = 1,
                title: str | None = None, text: str | None = None, language: str = "eng",
                fetched_at: str | None = None) -> dict:
    """A corpus record as the crawler writes it (fields of DESIGN.md), text invented."""
    text = text if text is not None else "\n\n".join(invented_paragraphs(seed))
    title = title or f"Invented headline number {seed}"
    sha = hashlib.sha256(f"{title}\n\n{text}".encode()).hexdigest()
    return {
        "id": f"{outlet}:{seed}", "outlet": outlet, "url": written.url,
        "canonical_url": written.url, "language": language, "title": title,
        "authors": [f"Reporter {seed}"], "published": "2026-05-02T08:00:00+00:00",
        "modified": None, "dateline": None, "section": "news", "tags": ["sample", "test"],
        "description": None, "image": None, "text": text, "word_count": len(text.split()),
        "fetched_at": fetched_at or written.date, "http_status": 200,
        "content_sha256": sha, "run_id": run_id, "version": version,
        "previous_sha256": None, "warc": written.pointer(),
        "extractor": {"name": "trafilatura", "version": "2.3.1", "options": {"fast": False}},
    }


@dataclass
class SampleArchive:
    store: LocalStore
    outlet: str
    run_ids: list[str]
    warc_keys: list[str]
    captures: list[Written] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)


def publish_run_report(store: LocalStore, outlet: str, run_id: str, started: datetime,
                       keys: list[str], kind: str = "crawl") -> None:
    files = [{"key": k, "size": store.path_for(k).stat().st_size,
              "sha256": sha256_file(store.path_for(k))} for k in keys]
    report = {"run_id": run_id, "outlet": outlet, "kind": kind,
              "started": started.isoformat(), "finished": started.isoformat(), "files": files}
    path = store.path_for(f"runs/{outlet}/{run_id}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))


def build_sample_archive(root: Path, outlet: str = "sample", articles: int = 4,
                         host: str = "127.0.0.1:9") -> SampleArchive:
    """Two crawl runs of ``outlet``: run 1 captures ``articles`` pages (one gzip-encoded)
    plus a 404; run 2 re-captures article 0 unchanged (a revisit) and article 1 edited
    (version 2).  Each run has one WARC, its index, a corpus file and a run report."""
    store = LocalStore(root)
    base = datetime(2026, 5, 3, 10, 0, 0, tzinfo=UTC)
    archive = SampleArchive(store, outlet, [], [])
    runs = [("20260503T100000Z-aaaaaa", base), ("20260510T100000Z-bbbbbb",
                                                 base + timedelta(days=7))]

    # run 1
    run_id, started = runs[0]
    name = f"sample-{started:%Y%m%d%H%M%S}-00000-testhost.warc.gz"
    key = f"warc/{outlet}/{started:%Y}/{started:%m}/{name}"
    captures = [Capture(f"http://{host}/news/{i}", article_html(i).encode(),
                        started + timedelta(seconds=2 * i), gzip_body=(i == 1))
                for i in range(articles)]
    captures.append(Capture(f"http://{host}/news/missing", b"<html>gone</html>",
                            started + timedelta(seconds=2 * articles), status=404))
    first = write_warc(store.path_for(key), key, captures)
    writer = CorpusWriter(store.spool_dir, outlet, run_id, started)
    for i in range(articles):
        record = make_record(outlet, first[i], run_id=run_id, seed=i)
        writer.write(record)
        archive.records.append(record)
    writer.close()
    _finish_run(store, outlet, run_id, started, key, writer.key)
    archive.run_ids.append(run_id)
    archive.warc_keys.append(key)
    archive.captures.extend(first)

    # run 2: article 0 unchanged (revisit), article 1 edited (new version)
    run_id, started = runs[1]
    name = f"sample-{started:%Y%m%d%H%M%S}-00000-testhost.warc.gz"
    key = f"warc/{outlet}/{started:%Y}/{started:%m}/{name}"
    edited_title = "Invented headline number 1 (updated)"
    second = write_warc(store.path_for(key), key, [
        Capture(f"http://{host}/news/0", article_html(0).encode(), started, revisit_of=0),
        Capture(f"http://{host}/news/1", article_html(1, edited_title).encode(),
                started + timedelta(seconds=2)),
    ], earlier=first)
    writer = CorpusWriter(store.spool_dir, outlet, run_id, started)
    edited = make_record(outlet, second[1], run_id=run_id, seed=1, version=2,
                         title=edited_title)
    edited["previous_sha256"] = archive.records[1]["content_sha256"]
    writer.write(edited)
    archive.records.append(edited)
    writer.close()
    _finish_run(store, outlet, run_id, started, key, writer.key)
    archive.run_ids.append(run_id)
    archive.warc_keys.append(key)
    archive.captures.extend(second)
    return archive


def _finish_run(store: LocalStore, outlet: str, run_id: str, started: datetime,
                warc_key: str, corpus_key: str) -> None:
    index_key = index_key_for(warc_key)
    index_warc(store.path_for(warc_key), store.path_for(index_key))
    publish_run_report(store, outlet, run_id, started, [warc_key, index_key, corpus_key])
