"""Score ``archive.extract.extract`` beside trafilatura's own settings on real pages.

Run from the repository root::

    python bench/extract_eval.py            # evaluation set + sample outlet
    python bench/extract_eval.py --no-sites # evaluation set only
    python bench/extract_eval.py --show 5   # also list the 5 pages where we lose most
    python bench/extract_eval.py --no-sites --misses  # snippets we miss or leak, per page

Why two kinds of gold: public test corpora ship either the full article text of a page
(newspaper4k) or "must contain" / "must not contain" snippets (trafilatura's real-world
tests).  ``bench/evalset/SOURCES.md`` says where every page comes from.

Metrics, exactly:

* **shingle P/R/F1** (primary, same definition as scrapinghub/article-extraction-benchmark):
  tokens are ``\\w+`` matches (Unicode, case kept); a document is the multiset of its
  4-token shingles (a text with fewer than 4 tokens is one shingle).  Per page
  tp = sum(min(pred, gold)), fp = pred surplus, fn = gold surplus, each divided by
  tp+fp+fn so that long pages do not weigh more.  Precision is the mean over pages with
  tp+fp > 0, recall the mean over pages with tp+fn > 0 (a page where both fp and fn are 0
  counts 1.0, a page with tp = 0 counts 0.0), and F1 = 2PR/(P+R) of those means.  An
  extractor that returns nothing for a page scores precision 0 on it when it has gold text.
* **bag-of-words P/R/F1**: the same computation with single tokens instead of shingles.
* **snippets** (trafilatura pages): tp = "must contain" snippets found, fn = not found,
  fp = "must not contain" snippets found, tn = not found, summed over all pages;
  precision = tp/(tp+fp), recall = tp/(tp+fn), F1 from those (trafilatura's own method).
  Snippets are compared after collapsing whitespace.
* **empty**: pages where the extractor returned nothing while trafilatura's default or
  precision setting returned text.
* **pages/CPU-s** = 1000 / ms/page.  Every extractor runs in the same process and run, on
  the same pages, page by page in turn, after an untimed warm-up on the first three;
  each page is timed ``--rounds`` times (default 3) and its fastest time kept.
* **ms/page**: CPU time (``time.process_time``) of the extractor call alone, mean over
  pages (fastest of ``--rounds``), one process; CPU rather than wall time so that other
  load on the machine does not blur the comparison.  The input is a ``str``; decoding
  bytes adds well under 1 ms.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from archive.extract.extractor import extract  # noqa: E402

EVALSET = ROOT / "bench" / "evalset"
TOKEN_RE = re.compile(r"\w+")
SPACE_RE = re.compile(r"\s+")

Extractor = Callable[[str, str], str]


# ---- extractors under test -----------------------------------------------------------------

def baseline(html: str, url: str) -> str:
    """trafilatura's own best settings for precision: precision mode, comments off."""
    return trafilatura.extract(html, url=url, favor_precision=True,
                               include_comments=False) or ""


def default(html: str, url: str) -> str:
    """trafilatura's default mode with comments off: the broader of its two settings."""
    return trafilatura.extract(html, url=url, include_comments=False) or ""


def fast(html: str, url: str) -> str:
    """trafilatura's fast mode (no readability/jusText comparison), comments off."""
    return trafilatura.extract(html, url=url, include_comments=False, fast=True) or ""


def ours(html: str, url: str) -> str:
    record = extract(html, url)
    return record["text"] if record else ""


EXTRACTORS: dict[str, Extractor] = {
    "trafilatura-default": default, "trafilatura-precision": baseline,
    "trafilatura-fast": fast, "newsarchive": ours,
}
TRAFILATURA = ("trafilatura-default", "trafilatura-precision")  # "has text" means: either
MISSES = False  # --misses: list our missed and leaked snippets per page


# ---- metrics ---------------------------------------------------------------------------------

def nfc(text: str) -> str:
    """Texts and gold are compared in NFC: a page's decomposed "ü" and a composed one are
    the same word, whichever form an extractor returns."""
    return unicodedata.normalize("NFC", text or "")


def shingles(text: str, n: int) -> Counter:
    tokens = TOKEN_RE.findall(nfc(text))
    if n == 1:
        return Counter(tokens)
    return Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1))
                   if tokens[i:i + n])


def match(gold: str, pred: str, n: int) -> tuple[float, float, float]:
    g, p = shingles(gold, n), shingles(pred, n)
    tp = sum((g & p).values())
    fp = sum((p - g).values())
    fn = sum((g - p).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == 0 else tp / (tp + fp)


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == 0 else tp / (tp + fn)


def prf(counts: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    precisions = [_precision(*c) for c in counts if c[0] + c[1] > 0 or c[2] > 0]
    recalls = [_recall(*c) for c in counts if c[0] + c[2] > 0]
    p = statistics.mean(precisions) if precisions else 0.0
    r = statistics.mean(recalls) if recalls else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def snippet_counts(page: dict, pred: str) -> tuple[int, int, int, int]:
    text = SPACE_RE.sub(" ", nfc(pred))
    found = [SPACE_RE.sub(" ", nfc(s)) in text for s in page["with"]]
    leaked = [SPACE_RE.sub(" ", nfc(s)) in text for s in page["without"]]
    return sum(found), sum(leaked), len(found) - sum(found), len(leaked) - sum(leaked)


# ---- running -----------------------------------------------------------------------------------

def load(name: str) -> list[dict]:
    with gzip.open(EVALSET / name, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def run(extractors: dict[str, Extractor], pages: list[dict], rounds: int = 1
        ) -> tuple[dict[str, dict[str, str]], dict[str, float]]:
    """Outputs and mean CPU ms per page of every extractor.

    Page by page, every extractor in turn (rotating which goes first), so that other load
    on a shared machine falls on all of them alike; ``rounds`` repeats the timing and keeps
    each page's fastest, the usual way to take the noise out of CPU timings.  A few pages
    first, untimed, so that one-time set-up (trafilatura's stoplists, lazy imports) is not
    charged to one extractor."""
    names = list(extractors)
    for page in pages[:3]:
        for name in names:
            extractors[name](page["html"], page["url"])
    outputs: dict[str, dict[str, str]] = {name: {} for name in names}
    best: dict[str, list[float]] = {name: [] for name in names}
    for number, page in enumerate(pages):
        order = names[number % len(names):] + names[:number % len(names)]
        for name in order:
            fastest = float("inf")
            for _ in range(rounds):
                start = time.process_time()
                outputs[name][page["id"]] = extractors[name](page["html"], page["url"])
                fastest = min(fastest, time.process_time() - start)
            best[name].append(fastest)
    return outputs, {name: 1000 * statistics.mean(best[name]) for name in names}


def report_gold(name: str, pages: list[dict], outputs: dict[str, dict[str, str]],
                timings: dict[str, float], show: int) -> None:
    print(f"\n== {name}: {len(pages)} pages with gold text")
    print(f"{'extractor':<24}{'shingle P':>10}{'R':>7}{'F1':>7}{'bow P':>9}{'R':>7}{'F1':>7}"
          f"{'ms/page':>9}{'pages/CPU-s':>13}{'empty':>7}")
    per_page: dict[str, dict[str, float]] = {}
    for ext, out in outputs.items():
        sh = [match(p["gold_text"], out[p["id"]], 4) for p in pages]
        bow = [match(p["gold_text"], out[p["id"]], 1) for p in pages]
        s, b = prf(sh), prf(bow)
        print(f"{ext:<24}{s[0]:>10.3f}{s[1]:>7.3f}{s[2]:>7.3f}{b[0]:>9.3f}{b[1]:>7.3f}"
              f"{b[2]:>7.3f}{timings[ext]:>9.1f}{1000 / timings[ext]:>13.1f}"
              f"{empties(pages, outputs, ext):>7}")
        for page, counts in zip(pages, sh, strict=True):
            p, r = _precision(*counts), _recall(*counts)
            per_page.setdefault(page["id"], {})[ext] = 2 * p * r / (p + r) if p + r else 0.0
    _show_losses(per_page, show)


def report_snippets(name: str, pages: list[dict], outputs: dict[str, dict[str, str]],
                    timings: dict[str, float], show: int) -> None:
    print(f"\n== {name}: {len(pages)} pages with snippet gold "
          f"({sum(len(p['with']) for p in pages)} must / "
          f"{sum(len(p['without']) for p in pages)} must-not snippets)")
    print(f"{'extractor':<24}{'P':>8}{'R':>8}{'F1':>8}{'ms/page':>9}{'pages/CPU-s':>13}"
          f"{'empty':>7}")
    per_page: dict[str, dict[str, float]] = {}
    for ext, out in outputs.items():
        totals = [0, 0, 0, 0]
        for page in pages:
            counts = snippet_counts(page, out[page["id"]])
            totals = [a + b for a, b in zip(totals, counts, strict=True)]
            tp, fp, fn, _ = counts
            per_page.setdefault(page["id"], {})[ext] = (tp - fp) / max(1, tp + fn)
        tp, fp, fn, _ = totals
        p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
        print(f"{ext:<24}{p:>8.3f}{r:>8.3f}{2 * p * r / (p + r):>8.3f}{timings[ext]:>9.1f}"
              f"{1000 / timings[ext]:>13.1f}{empties(pages, outputs, ext):>7}")
    _show_losses(per_page, show)
    if MISSES:
        show_snippet_misses(pages, outputs)


def show_snippet_misses(pages: list[dict], outputs: dict[str, dict[str, str]]) -> None:
    """Per page, the "must contain" snippets we miss and the "must not" ones we keep, each
    marked with whether trafilatura's default setting gets it right: where to look first."""
    reference = outputs.get("trafilatura-default", {})
    for page in pages:
        ours_text = SPACE_RE.sub(" ", nfc(outputs["newsarchive"][page["id"]]))
        theirs = SPACE_RE.sub(" ", nfc(reference.get(page["id"], "")))
        lines = [f"   miss {'(default has it) ' * (s in theirs)}{s!r}"
                 for s in map(lambda x: SPACE_RE.sub(" ", nfc(x)), page["with"])
                 if s not in ours_text]
        lines += [f"   leak {'(default too) ' * (s in theirs)}{s!r}"
                  for s in map(lambda x: SPACE_RE.sub(" ", nfc(x)), page["without"])
                  if s in ours_text]
        if lines:
            print(f"  {page['id']}", *lines, sep="\n")


def empties(pages: list[dict], outputs: dict[str, dict[str, str]], ext: str) -> int:
    """Pages where ``ext`` returned no text while a trafilatura setting returned some."""
    return sum(1 for page in pages if not outputs[ext][page["id"]].strip()
               and any(outputs[t][page["id"]].strip() for t in TRAFILATURA if t in outputs))


def _show_losses(per_page: dict[str, dict[str, float]], show: int) -> None:
    if not show:
        return
    diffs = sorted(per_page.items(),
                   key=lambda kv: kv[1]["newsarchive"] - kv[1]["trafilatura-precision"])
    for page_id, scores in diffs[:show]:
        print(f"   {page_id:<50} base {scores['trafilatura-precision']:.3f}"
              f"  ours {scores['newsarchive']:.3f}")


def evaluate_sets(show: int, rounds: int = 1) -> None:
    cpu: dict[str, float] = dict.fromkeys(EXTRACTORS, 0.0)
    empty: dict[str, int] = dict.fromkeys(EXTRACTORS, 0)
    count = 0
    for filename, reporter in (("newspaper4k.jsonl.gz", report_gold),
                               ("trafilatura.jsonl.gz", report_snippets)):
        pages = load(filename)
        outputs, timings = run(EXTRACTORS, pages, rounds)
        reporter(filename.split(".")[0], pages, outputs, timings, show)
        count += len(pages)
        for name in EXTRACTORS:
            cpu[name] += timings[name] * len(pages) / 1000
            empty[name] += empties(pages, outputs, name)
    print(f"\n== both sets: {count} pages")
    print(f"{'extractor':<24}{'pages/CPU-s':>13}{'empty':>7}")
    for name in EXTRACTORS:
        print(f"{name:<24}{count / cpu[name]:>13.1f}{empty[name]:>7}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-sites", action="store_true", help="skip the sample outlet")
    parser.add_argument("--show", type=int, default=0, help="list the N worst pages vs base")
    parser.add_argument("--misses", action="store_true",
                        help="list the snippets newsarchive misses or leaks, per page")
    parser.add_argument("--rounds", type=int, default=3, metavar="N",
                        help="time each page N times and keep the fastest (default 3)")
    args = parser.parse_args(argv)
    global MISSES
    MISSES = args.misses
    evaluate_sets(args.show, args.rounds)
    if not args.no_sites:
        from bench.extract_sites import evaluate_sample_outlet

        evaluate_sample_outlet()


if __name__ == "__main__":
    main()
