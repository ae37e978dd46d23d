"""Score ``archive.extract.extract`` on the sample outlet (tests/sites/) against expected.json.

The pages are fetched over real HTTP from a ``SampleSite`` on free ports, with the outlet
YAML rendered for those ports, so the extractor sees exactly what the crawler would.  For
every article: field checks (title, authors, published, dateline, language, first and last
paragraph, paragraph count, no furniture string in the text) and the shingle F1 of the text
against the article's paragraphs; non-articles (fronts, listings, empty, PDF) must give None.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.extract.extractor import extract  # noqa: E402
from archive.outlet.config import load_outlet  # noqa: E402
from tests.sites.content import load_content  # noqa: E402
from tests.sites.server import SampleSite  # noqa: E402

EXPECTED = ROOT / "tests" / "sites" / "rudaw" / "expected.json"
# bad inputs that must give None (an "oversize" page is HTML: refusing it is the crawler's job)
NOT_ARTICLES = ("listing", "empty_body", "http_404", "http_500", "not_html", "broken_feed",
                "broken_sitemap", "robots_forbidden")
FIELDS = ("title", "authors", "published", "dateline", "language")


def fetch(url: str) -> tuple[bytes, str | None]:
    """Body and header charset of a 200 response (empty bytes for errors)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return response.read(), response.headers.get_content_charset()
    except Exception:  # noqa: BLE001 - error pages are scored as "no article"
        return b"", None


def check_article(record: dict | None, want: dict) -> list[str]:
    """Names of the expectations ``record`` misses (empty list = all good)."""
    if record is None:
        return ["returned None"]
    misses = [f for f in FIELDS if record.get(f) != want.get(f)]
    paragraphs = record["text"].split("\n\n")
    if paragraphs[0] != want["text_first"]:
        misses.append("text_first")
    if paragraphs[-1] != want["text_last"]:
        misses.append("text_last")
    if len(paragraphs) != want["paragraphs"]:
        misses.append(f"paragraphs {len(paragraphs)}!={want['paragraphs']}")
    leaked = [s for s in want["must_not_contain"] if s in record["text"]]
    if leaked:
        misses.append(f"furniture {leaked[:3]}")
    return misses


def evaluate_sample_outlet() -> None:
    from extract_eval import baseline, match, prf

    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    content = load_content()
    bodies = {a.canonical_path: "\n\n".join(a.paragraphs) for a in content.articles}
    with tempfile.TemporaryDirectory() as tmp, SampleSite() as site:
        outlet = load_outlet(site.write_outlet(Path(tmp)))
        articles = dict(expected["articles"])
        articles.update({p: b["article"] for p, b in expected["bad"].items()
                         if b.get("expect") == "article"})
        good, counts, elapsed, failures = 0, [], [], []
        generic: dict[str, list] = {"trafilatura-precision": [], "newsarchive, no outlet": []}
        for path, want in sorted(articles.items()):
            body, charset = fetch(site.url(path))
            start = time.process_time()
            record = extract(body, site.url(path), outlet, encoding=charset)
            elapsed.append(time.process_time() - start)
            misses = check_article(record, want)
            good += not misses
            if misses:
                failures.append(f"   {path}: {', '.join(misses)}")
            if path in bodies:  # full text known (bad pages only state first/last paragraph)
                counts.append(match(bodies[path], record["text"] if record else "", 4))
                plain = extract(body, site.url(path), encoding=charset)
                generic["newsarchive, no outlet"].append(
                    match(bodies[path], plain["text"] if plain else "", 4))
                generic["trafilatura-precision"].append(match(
                    bodies[path], baseline(body.decode(charset or "utf-8"), site.url(path)), 4))
        non_articles = [*expected["non_articles"]["fronts"], *expected["non_articles"]["listings"],
                        *[p for p, b in expected["bad"].items()
                          if b.get("expect") in NOT_ARTICLES]]
        rejected = 0
        for path in non_articles:
            body, charset = fetch(site.url(path))
            if extract(body, site.url(path), outlet, encoding=charset) is None:
                rejected += 1
            else:
                failures.append(f"   {path}: extracted, expected None")
    p, r, f1 = prf(counts)
    print(f"\n== sample outlet (tests/sites/rudaw): {len(articles)} articles, "
          f"{len(non_articles)} non-articles")
    print(f"articles with every field right: {good}/{len(articles)}   "
          f"non-articles rejected: {rejected}/{len(non_articles)}")
    print(f"text shingle P {p:.3f}  R {r:.3f}  F1 {f1:.3f} ({len(counts)} full texts)   "
          f"{1000 * sum(elapsed) / len(elapsed):.1f} ms/page")
    for name, name_counts in generic.items():
        gp, gr, gf = prf(name_counts)
        print(f"  generic path, {name:<24} shingle P {gp:.3f}  R {gr:.3f}  F1 {gf:.3f}")
    for line in failures:
        print(line)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    evaluate_sample_outlet()
