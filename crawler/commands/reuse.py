"""Reuse of what was captured: ``wacz``, ``reextract``, ``corpus export`` and ``replay``.

Thin argparse layer over archive.replay.wacz, archive.corpus.reextract, archive.corpus.export and
archive.replay.pywb; every command works on a local directory store and on s3://bucket/prefix.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from archive.outlet.config import OutletConfig, OutletConfigError
from archive.runs.report import EXIT_FAILED, EXIT_STORE, EXIT_USAGE
from archive.store import open_store
from archive.store.base import Store, StoreError
from crawler.commands import add_store_argument
from crawler.commands.errors import CommandFailed, command, failing_with


def register(subparsers: argparse._SubParsersAction) -> None:
    wacz = subparsers.add_parser(
        "wacz", help="package an outlet's WARCs, index and article pages as a WACZ",
        description="Build a WACZ 1.1.1 file (WARCs, CDXJ index, pages.jsonl with each "
                    "article's title and text, datapackage.json) for ReplayWeb.page. "
                    "Streams to disk: works for packages larger than memory. On a local "
                    "store the corpus files are read by one process per core and the "
                    "index merge runs beside them. Without --out the package is stored in "
                    "the store under wacz/.")
    add_store_argument(wacz)
    wacz.add_argument("--outlet", required=True, help="outlet name (as in the store)")
    which = wacz.add_mutually_exclusive_group()
    which.add_argument("--run", metavar="ID", help="only the WARCs of this crawl run")
    which.add_argument("--since", metavar="DATE",
                       help="only WARCs with captures at or after DATE (ISO 8601)")
    wacz.add_argument("--out", metavar="FILE", help="write the WACZ here instead of the store")
    wacz.add_argument("--title", help="package title (default: '<outlet> news archive')")
    wacz.set_defaults(handler=run_wacz)

    reextract = subparsers.add_parser(
        "reextract", help="rebuild the corpus from the WARCs with the current extractor",
        description="Re-extract every article version in the corpus from its WARC record, "
                    "in parallel worker processes, into a new corpus generation with its own "
                    "run id and run report (kind 'reextract'). WARCs are never modified.")
    add_store_argument(reextract)
    reextract.add_argument("--outlet", help="only this outlet (registered name or YAML path)")
    reextract.add_argument("--workers", type=int, default=0, metavar="N",
                           help="worker processes (default: one per core)")
    reextract.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                           help="extractor option (repeatable; VALUE parsed as JSON if it can "
                                "be, e.g. favor_precision=true)")
    reextract.add_argument("--reader", choices=("fastwarc", "warcio"),
                           help="WARC reader (default: fastwarc, the faster one)")
    reextract.add_argument("--state", default=os.environ.get("NEWSARCHIVE_STATE"),
                           help="crawl state that keeps the template stores learnt from the "
                                "corpus (default: the crawl's default for the store; 'off': "
                                "keep none)")
    reextract.set_defaults(handler=run_reextract)

    corpus = subparsers.add_parser("corpus", help="corpus access for other tools")
    corpus_commands = corpus.add_subparsers(dest="corpus_command", metavar="SUBCOMMAND")
    export = corpus_commands.add_parser(
        "export", help="export the corpus as Parquet or JSON lines",
        description="Export the corpus: the latest version of each article from the newest "
                    "generation (or --all-versions), as Parquet (schema in the README) or "
                    "JSON lines (.gz to compress).")
    add_store_argument(export)
    export.add_argument("--format", required=True, choices=("parquet", "jsonl"))
    export.add_argument("--out", required=True, metavar="PATH")
    export.add_argument("--outlet")
    export.add_argument("--since", metavar="DATE", help="records fetched at or after DATE")
    export.add_argument("--language", metavar="CODE", help="ISO 639-3 code, e.g. ckb")
    export.add_argument("--all-versions", action="store_true",
                        help="every version of every article, not only the latest")
    export.set_defaults(handler=run_export)
    corpus.set_defaults(handler=lambda args: _usage(corpus))

    replay = subparsers.add_parser(
        "replay", help="serve the archive in pywb on 127.0.0.1",
        description="Serve the store's WARCs in pywb (installed on first use into its own "
                    "virtualenv: pywb pins old dependencies). S3 WARCs are downloaded into "
                    "a cache directory first.")
    add_store_argument(replay)
    replay.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (8080)")
    replay.add_argument("--outlet", help="only this outlet's WARCs")
    replay.add_argument("--cache", metavar="DIR",
                        help="where S3 WARCs and the pywb collection live "
                             "(default: ~/.cache/newsarchive/replay)")
    replay.set_defaults(handler=run_replay)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _open(uri: str) -> Store:
    with failing_with((StoreError, EXIT_STORE)):
        return open_store(uri)


def _outlet_name(value: str) -> str:
    """An outlet name, or the name inside an outlet YAML file given by path."""
    if value.endswith((".yaml", ".yml")) or os.sep in value:
        from archive.outlet.config import load_outlet

        return load_outlet(value).name
    return value


def parse_options(pairs: list[str]) -> dict:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option expects KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


@command
def run_wacz(args: argparse.Namespace) -> int:
    from archive.replay.wacz import WaczError, package, publish_wacz

    store = _open(args.store)
    try:
        with failing_with(((OutletConfigError, ValueError), EXIT_USAGE),
                          (WaczError, EXIT_FAILED), (StoreError, EXIT_STORE)):
            outlet = _outlet_name(args.outlet)
            if args.out:
                contents = package(store, outlet, Path(args.out), run_id=args.run,
                                   since=args.since, title=args.title)
                where = str(contents.path)
            else:
                where, contents = publish_wacz(store, outlet, run_id=args.run,
                                               since=args.since, title=args.title)
                where = f"{store.uri.rstrip('/')}/{where}"
    finally:
        store.close()
    print(f"newsarchive: wacz={where} warcs={len(contents.warcs)} pages={contents.pages} "
          f"index_lines={contents.index_lines}")
    return 0


@command
def run_reextract(args: argparse.Namespace) -> int:
    from archive.corpus.reextract import reextract
    from archive.state.reextracted import resync_hashes
    from archive.state.templates import StateTemplates
    from crawler.outlets import resolve_outlet

    with failing_with(((OutletConfigError, ValueError), EXIT_USAGE)):
        options = parse_options(args.option)
        outlet: OutletConfig | None = resolve_outlet(args.outlet) if args.outlet else None
    store = _open(args.store)
    state = _template_state(args)
    try:
        with failing_with((StoreError, EXIT_STORE), (OutletConfigError, EXIT_USAGE),
                          hint=" (give --outlet with the outlet's YAML file)"):
            result = reextract(store, outlet, workers=args.workers or None,
                               options=options or None, config_for=resolve_outlet,
                               reader=args.reader,
                               templates=StateTemplates(state) if state else None)
            if state is not None:  # the next edit chains on the re-extracted hashes
                resync_hashes(store, state, {name: outlet_result.corpus_key for name,
                                             outlet_result in result.outlets.items()})
    finally:
        store.close()
        if state is not None:
            state.close()
    for name, outlet_result in sorted(result.outlets.items()):
        print(f"newsarchive: outlet={name} run={result.run_id} kind=reextract "
              f"records={outlet_result.records} non_articles={outlet_result.non_articles} "
              f"failures={sum(outlet_result.failures.values())} workers={result.workers} "
              f"reader={result.reader} extractor={result.extractor.get('name')}/"
              f"{result.extractor.get('version')} rate={result.articles_per_second:.1f}/s "
              f"report={outlet_result.report_key}")
    if not result.outlets:
        print("newsarchive: nothing to re-extract: the store has no corpus", file=sys.stderr)
    return EXIT_FAILED if result.failed else 0


def _template_state(args: argparse.Namespace) -> Any:
    """The state ``reextract`` keeps the learnt template stores in (None: keep none).  A
    state that cannot be opened costs the next crawl its warm start, not the re-extraction."""
    from archive.state import open_state
    from archive.state.base import default_state_path

    if args.state == "off":
        return None
    try:
        location = args.state or str(default_state_path(args.store))
        if "://" not in location:
            Path(location).parent.mkdir(parents=True, exist_ok=True)
        return open_state(location)
    except Exception as exc:  # noqa: BLE001 - StateError, OSError, redis errors alike
        print(f"newsarchive: reextract: template stores not kept ({exc})", file=sys.stderr)
        return None


@command
def run_export(args: argparse.Namespace) -> int:
    from archive.corpus.export import export_corpus

    store = _open(args.store)
    try:
        with failing_with(((OutletConfigError, ValueError), EXIT_USAGE),
                          (StoreError, EXIT_STORE)):
            count = export_corpus(store, args.format, Path(args.out),
                                  outlet=_outlet_name(args.outlet) if args.outlet else None,
                                  since=args.since, language=args.language,
                                  all_versions=args.all_versions)
    finally:
        store.close()
    print(f"newsarchive: exported {count} records to {args.out} ({args.format})")
    return 0


@command
def run_replay(args: argparse.Namespace) -> int:
    from archive.replay.pywb import PywbError, PywbServer
    from archive.warc.cdxj import LocalCopy, warc_keys

    store = _open(args.store)
    cache = Path(args.cache or Path.home() / ".cache" / "newsarchive" / "replay").expanduser()
    try:
        with failing_with(((OSError, StoreError), EXIT_STORE)):
            keys = warc_keys(store, _outlet_name(args.outlet) if args.outlet else None)
            if not keys:
                raise CommandFailed(f"no WARCs in {store.uri}", EXIT_FAILED)
            copies = LocalCopy(store, cache / "warcs")
            paths = [copies.path(k) for k in keys]  # S3: downloaded once, kept for next time
    finally:
        store.close()
    print(f"newsarchive: preparing pywb for {len(paths)} WARCs (the first run installs pywb "
          "into its own virtualenv) ...", file=sys.stderr, flush=True)
    try:
        with failing_with((PywbError, EXIT_FAILED)), PywbServer(paths, port=args.port) as server:
            print(f"newsarchive: replaying {len(paths)} WARCs at "
                  f"{server.base_url}/{server.collection}/ (Ctrl-C to stop)", flush=True)
            _serve_until_interrupted(server)
    except KeyboardInterrupt:
        pass
    return 0


def _serve_until_interrupted(server) -> None:
    """Block while wayback runs (Ctrl-C or SIGTERM ends it; the context manager stops it)."""
    import signal

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    server.wait()
