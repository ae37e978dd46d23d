"""Re-extraction: rebuild the corpus from the WARCs with the current extractor.

The WARC is the source of truth and the corpus is derived, so a better extractor (or a
changed option) never needs a re-crawl.  A re-extraction run is a new *generation*: it
writes ``corpus/{outlet}/{YYYY}/{MM}/{run_id}.jsonl.gz`` and ``runs/{outlet}/{run_id}.json``
(kind ``reextract``) exactly like a crawl does, under its own run id, and since the
corpus reader lets the newest run win for each (id, version), readers see its records from
then on.  WARCs are only ever read.

What is re-extracted: every article version the corpus knows (``archive.corpus.read`` with
``all_versions=True``), from the WARC response record its ``warc`` pointer names.  Working
from the corpus rather than from every HTML response in the WARCs keeps each article's
identity (id, version, fetched_at, the URL the crawler saw) and costs one seek per article
instead of a scan of every listing page, feed and asset.  A pointer at a revisit record is
followed to the original capture through the CDXJ indexes.  Pages the new extractor
rejects are counted (``non_articles``) and keep their record from the older generation.

Work is spread over worker processes: each task is a run of records in one WARC, the
worker seeks to each record, undoes its Content-Encoding and calls the same
``archive.article.build_record`` the crawler's pipeline uses (same encoding rule, same
content hash), so with an unchanged extractor the records come out identical.
"""

from __future__ import annotations

import copy
import json
import logging
import multiprocessing
import os
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archive.corpus.records import CorpusWriter, corpus_files, encode_record, read
from archive.corpus.spill import ReextractSpill, warc_chunks
from archive.corpus.templating import Persistence, StagedTemplates, learn_fields, stamp
from archive.extract.workers import default_workers
from archive.outlet.config import OutletConfig, OutletConfigError
from archive.runs.report import build_report, new_run_id, report_key, write_report
from archive.store.base import Store, StoredObject
from archive.warc.cdxj import LocalCopy, RevisitResolver, warc_keys
from archive.warc.reader import WarcReadError, backend_name, read_capture

logger = logging.getLogger(__name__)

CHUNK_RECORDS = 16  # records per task: ~0.4 s of extraction, small enough to balance load
HINT_FIELDS = ("title", "published", "description", "image")
OutletResolver = Callable[[str], OutletConfig]


@dataclass
class OutletResult:
    outlet: str
    records: int = 0
    non_articles: int = 0
    failures: Counter = field(default_factory=Counter)
    ids_changed: int = 0  # the new extraction would have given another id (kept the old one)
    corpus_key: str | None = None
    report_key: str | None = None


@dataclass
class ReextractResult:
    run_id: str
    workers: int
    reader: str
    extractor: dict[str, Any]
    seconds: float
    outlets: dict[str, OutletResult]
    files: list[StoredObject]

    @property
    def records(self) -> int:
        return sum(o.records for o in self.outlets.values())

    @property
    def failed(self) -> int:
        return sum(sum(o.failures.values()) for o in self.outlets.values())

    @property
    def non_articles(self) -> int:
        return sum(o.non_articles for o in self.outlets.values())

    @property
    def articles_per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


# ---- worker side --------------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _init_worker(outlets: dict[str, OutletConfig], run_id: str, reader: str,
                 options: dict[str, Any] | None) -> None:
    from archive.extract import article  # pay the extractor import once per worker

    _apply_options(options)
    _worker.update(outlets=outlets, run_id=run_id, reader=reader,
                   build=article.build_record_and_fingerprints)


# trafilatura options an operator may change for a re-extraction (bare_extraction kwargs)
EXTRACTOR_OPTION_NAMES = frozenset({
    "favor_precision", "favor_recall", "include_comments", "include_tables",
    "include_images", "include_formatting", "include_links", "deduplicate", "fast",
})


def check_options(options: dict[str, Any] | None) -> dict[str, Any]:
    options = dict(options or {})
    unknown = sorted(set(options) - EXTRACTOR_OPTION_NAMES)
    if unknown:
        raise ValueError(f"unknown extractor option(s) {', '.join(unknown)}: use "
                         f"{', '.join(sorted(EXTRACTOR_OPTION_NAMES))}")
    return options


def _apply_options(options: dict[str, Any] | None) -> None:
    """Switch this worker process's extractor to ``options`` (before any extraction).

    Uses ``archive.extract.configure`` when the extractor offers it; otherwise updates the
    trafilatura option dicts the extractor passes on every call (``archive.extract.bodytext``: the
    precision pass, and the broad pass for everything but the precision/recall switch) and
    the options records carry (``EXTRACTOR_INFO["options"]``).  Only ever called in worker
    processes, which exist for this run alone.
    """
    if not options:
        return
    from archive.extract import extractor as extract

    configure = getattr(extract, "configure", None)
    if configure is not None:
        configure(**options)
        return
    from archive.extract import bodytext

    bodytext.PRECISION_OPTIONS.update(options)
    broad = getattr(bodytext, "DEFAULT_OPTIONS", None)
    if isinstance(broad, dict):
        broad.update({k: v for k, v in options.items() if not k.startswith("favor_")})
    extract.EXTRACTOR_INFO["options"] = {**extract.EXTRACTOR_INFO["options"], **options}


def extractor_info(options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The extractor's name, version and options as the records will carry them."""
    from archive.extract import extractor as extract

    info = copy.deepcopy(extract.EXTRACTOR_INFO)
    if options:
        info["options"] = {**info.get("options", {}), **options}
    return info


def _extract_chunk(path: str, items: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """Re-extract ``items`` (slim source records, all in the WARC at ``path``)."""
    results: list[tuple[str, Any]] = []
    for item in items:
        location = item.get("_read_from") or item["warc"]
        try:
            capture = read_capture(path, int(location["offset"]), backend=_worker["reader"])
        except (WarcReadError, OSError) as exc:
            results.append(("unreadable_record", {**_who(item), "error": str(exc)}))
            continue
        if capture.record_type == "revisit":
            results.append(("revisit", {**item, "_revisit": {
                "uri": capture.refers_to_uri or capture.uri, "date": capture.refers_to_date,
                "digest": capture.payload_digest}}))
            continue
        if capture.decode_error:
            results.append(("content_encoding", {**_who(item), "error": capture.decode_error}))
            continue
        outlet = _worker["outlets"][item["outlet"]]
        page = {
            "url": item["url"] or capture.uri,
            "status": item.get("http_status") or capture.status,
            "body": capture.body,
            "encoding": capture.charset,
            "fetched_at": item.get("fetched_at"),
            "warc_record": item["warc"],
            "hints": item.get("hints") or {},
        }
        try:
            record, fingerprints = _worker["build"](page, outlet, _worker["run_id"])
        except Exception as exc:  # one bad page must not end the run
            results.append(("extraction_error", {**_who(item), "error": repr(exc)}))
            continue
        if record is None:
            results.append(("non_article", _who(item)))
            continue
        id_changed = record["id"] != item["id"]
        record["id"] = item["id"]  # identity belongs to the crawl: (id, version) stays
        record["version"] = item["version"]
        record["previous_sha256"] = item.get("previous_sha256")
        stamp(record, fingerprints)
        results.append(("ok", {"outlet": item["outlet"], "id": item["id"],
                               "version": item["version"], "sha": record["content_sha256"],
                               "previous": record["previous_sha256"],
                               "id_changed": id_changed, "line": encode_record(record),
                               "learn": learn_fields(record, fingerprints)}))
    return results


def _who(item: dict[str, Any]) -> dict[str, Any]:
    return {"id": item["id"], "outlet": item["outlet"], "url": item.get("url")}


# ---- parent side --------------------------------------------------------------------------

def _slim(record: dict[str, Any]) -> dict[str, Any]:
    """What a worker needs of a source record (its text stays out of memory)."""
    return {
        "id": record.get("id"), "outlet": record.get("outlet"), "url": record.get("url"),
        "version": int(record.get("version") or 1), "fetched_at": record.get("fetched_at"),
        "http_status": record.get("http_status"), "warc": record.get("warc") or {},
        "previous_sha256": record.get("previous_sha256"),
        "hints": {k: record.get(k) for k in HINT_FIELDS if record.get(k)},
    }


def _resolver(outlet: str | OutletConfig | None,
              config_for: OutletResolver | None) -> OutletResolver:
    fixed = outlet if isinstance(outlet, OutletConfig) else None

    def resolve(name: str) -> OutletConfig:
        if fixed is not None and fixed.name == name:
            return fixed
        if config_for is not None:
            return config_for(name)
        raise OutletConfigError(
            f"no configuration for outlet {name!r}: pass its OutletConfig, or config_for "
            "(the CLI passes the registered outlets)")

    return resolve


def reextract(store: Store, outlet: str | OutletConfig | None = None,
              workers: int | None = None, options: dict[str, Any] | None = None, *,
              config_for: OutletResolver | None = None, reader: str | None = None,
              run_id: str | None = None, chunk_records: int = CHUNK_RECORDS,
              progress: Callable[[int, int], None] | None = None,
              templates: Persistence | None = None) -> ReextractResult:
    """Re-extract every article version in ``store`` (or of one outlet) into a new
    corpus generation; see the module docstring.  ``options`` are extractor options
    (recorded in each record's ``extractor``); ``config_for`` maps outlet names to their
    configuration (the CLI passes its registry; archive/ knows no outlet files);
    ``templates`` keeps the template stores learnt from the whole corpus (the state's)."""
    started_clock = time.monotonic()
    started = datetime.now(UTC)
    run_id = run_id or new_run_id(started)
    workers = workers or default_workers()
    reader = backend_name(reader)
    options = check_options(options)
    name = outlet.name if isinstance(outlet, OutletConfig) else outlet
    resolve = _resolver(outlet, config_for)
    info = extractor_info(options)

    names = sorted({f.outlet for f in corpus_files(store, name)})
    outlets = {n: resolve(n) for n in names}
    results = {n: OutletResult(n) for n in names}
    generations = sorted({f.run_id for f in corpus_files(store, name)})

    keys_by_name: dict[str, dict[str, str]] = {}  # outlet -> WARC file name -> key
    sources: Counter = Counter()  # outlet -> source records
    total = 0
    files: list[StoredObject] = []
    with tempfile.TemporaryDirectory(prefix="newsarchive-reextract-") as tmp, \
            LocalCopy(store, Path(tmp) / "warcs") as copies, \
            closing(ReextractSpill(Path(tmp) / "bookkeeping.sqlite3")) as by_warc:
        # source records grouped by WARC, and what was written: on disk (flat memory)
        for record in read(store, outlet=name, all_versions=True):
            item = _slim(record)
            key = item["warc"].get("key")
            if not key and item["warc"].get("filename"):  # a pointer without the store key
                names_here = keys_by_name.setdefault(item["outlet"], {
                    Path(k).name: k for k in warc_keys(store, item["outlet"])})
                key = names_here.get(item["warc"]["filename"])
            if not key or item["warc"].get("offset") is None:
                results[item["outlet"]].failures["no_warc_pointer"] += 1
                continue
            by_warc.add(key, item)
            sources[item["outlet"]] += 1
            total += 1

        # staged uncompressed: read back once, to fill in previous_sha256 where needed
        staged = {n: open(Path(tmp) / f"{n}.jsonl", "w", encoding="utf-8", newline="")
                  for n in names}
        staged_templates = {n: StagedTemplates(outlets[n], templates) for n in names}
        done = 0

        def accept(kind: str, payload: Any) -> dict[str, Any] | None:
            nonlocal done
            if kind == "revisit":
                return payload
            done += 1
            if kind == "ok":
                outlet_result = results[payload["outlet"]]
                outlet_result.ids_changed += payload["id_changed"]
                staged[payload["outlet"]].write(payload["line"])
                by_warc.wrote(payload["outlet"], payload["id"], payload["version"],
                              payload["previous"], payload["sha"])
                staged_templates[payload["outlet"]].learn(payload["id"], payload["version"],
                                                   payload["learn"])
                outlet_result.records += 1
            elif kind == "non_article":
                results[payload["outlet"]].non_articles += 1
            else:
                results[payload["outlet"]].failures[kind] += 1
                logger.warning("reextract %s (%s): %s %s", payload["id"], payload.get("url"),
                               kind, payload.get("error", ""))
            if progress:
                progress(done, total)
            return None

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                 initializer=_init_worker,
                                 initargs=(outlets, run_id, reader, options or None)) as pool:
            revisits = _run_tasks(pool, workers, copies, by_warc, chunk_records, accept)
            if revisits:
                followed = _follow_revisits(store, revisits, copies, results)
                _run_tasks(pool, workers, copies, followed, chunk_records, accept)
        for handle in staged.values():
            handle.close()
        for outlet_name in names:  # the template post-pass, with everything learnt
            staged_templates[outlet_name].clean_staged(Path(tmp) / f"{outlet_name}.jsonl",
                                                       by_warc.hashes())
            staged_templates[outlet_name].persist()

        finished_clock = time.monotonic()
        for outlet_name in names:
            outlet_result = results[outlet_name]
            writer = CorpusWriter(store.spool_dir, outlet_name, run_id, started)
            with open(Path(tmp) / f"{outlet_name}.jsonl", encoding="utf-8", newline="") as src:
                for line, (_id, _version, previous, chained) in zip(
                        src, by_warc.written(outlet_name), strict=True):
                    if chained and chained != previous:  # the previous version changed too
                        record = json.loads(line)
                        record["previous_sha256"] = chained
                        line = encode_record(record)
                    writer.write_line(line)
            outlet_files = []
            path = writer.close()
            if path is not None:
                stored = store.publish(path, writer.key)
                outlet_files.append(stored)
                outlet_result.corpus_key = writer.key
            files.extend(outlet_files)
            seconds = finished_clock - started_clock
            report = build_report(
                run_id=run_id, outlet=outlet_name, store_uri=store.uri, started=started,
                stats=_stats(outlet_result), files=outlet_files, finish_reason="finished",
                kind="reextract", extra={
                    "extractor": info, "workers": workers, "warc_reader": reader,
                    "source": {"generations": generations,
                               "records": sources[outlet_name]},
                    "ids_changed": outlet_result.ids_changed,
                    "articles_per_second": round(outlet_result.records / seconds, 2)
                    if seconds else None,
                })
            key = report_key(outlet_name, run_id)
            report["report_key"] = key
            local = write_report(report, Path(store.spool_dir) / key)
            files.append(store.publish(local, key))
            outlet_result.report_key = key
    return ReextractResult(run_id=run_id, workers=workers, reader=reader, extractor=info,
                           seconds=time.monotonic() - started_clock, outlets=results,
                           files=files)


def _stats(result: OutletResult) -> dict[str, int]:
    stats = {"newsarchive/articles": result.records,
             "newsarchive/non_articles": result.non_articles}
    for kind, count in result.failures.items():
        stats[f"newsarchive/failures/{kind}"] = count
    return stats


def _run_tasks(pool: ProcessPoolExecutor, workers: int, copies: LocalCopy,
               by_warc: ReextractSpill | dict[str, list[dict[str, Any]]], chunk_records: int,
               accept: Callable[[str, Any], dict[str, Any] | None]) -> list[dict[str, Any]]:
    """Feed chunks to the pool WARC by WARC (a remote WARC is downloaded just before its
    chunks are queued and dropped when they are done); return revisits to follow."""
    revisits: list[dict[str, Any]] = []
    in_flight: dict[Future, str] = {}
    remaining: Counter = Counter()
    limit = workers * 3

    def drain(block_until: int) -> None:
        while len(in_flight) > block_until:
            finished, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
            for future in finished:
                key = in_flight.pop(future)
                for kind, payload in future.result():
                    follow = accept(kind, payload)
                    if follow is not None:
                        revisits.append(follow)
                remaining[key] -= 1
                if remaining[key] == 0:
                    copies.discard(key)

    for key in sorted(by_warc):  # one WARC's items streamed chunk by chunk (flat memory)
        try:
            path = str(copies.path(key))
            if not os.path.isfile(path):
                raise FileNotFoundError(f"{key}: no such WARC in the store")
        except OSError as exc:
            for item in (i for chunk in warc_chunks(by_warc, key, 256) for i in chunk):
                accept("missing_warc", {**_who(item), "error": str(exc)})
            continue
        remaining[key] += 1  # held while chunks are queued: no discard between two of them
        for chunk in warc_chunks(by_warc, key, chunk_records):
            drain(limit - 1)
            future = pool.submit(_extract_chunk, path, chunk)
            in_flight[future] = key
            remaining[key] += 1
        remaining[key] -= 1
        if remaining[key] == 0:
            copies.discard(key)
    drain(0)
    return revisits


def _follow_revisits(store: Store, revisits: list[dict[str, Any]], copies: LocalCopy,
                     results: dict[str, OutletResult]) -> dict[str, list[dict[str, Any]]]:
    """Point each revisit item at its original capture (grouped by the original's WARC)."""
    finders: dict[str, RevisitResolver] = {}
    by_warc: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in revisits:
        finder = finders.setdefault(item["outlet"], RevisitResolver(store, item["outlet"],
                                                                    copies))
        info = item.pop("_revisit")
        original = finder.original(info["uri"], info["date"], info["digest"])
        if original is None:
            results[item["outlet"]].failures["revisit_unresolved"] += 1
            continue
        item["_read_from"] = {"offset": original["offset"]}
        by_warc[original["key"]].append(item)
    return by_warc
