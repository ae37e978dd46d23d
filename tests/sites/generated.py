"""Generated outlets that are not in the fixtures, for template learning (issue: clean text
with no per-outlet rules).

Each outlet dresses the invented article texts of the sample site (``tests/sites/rudaw``
articles) in its own markup with its own furniture inside and around the body: a
newsletter box between paragraphs, an "updated" stamp, share text, a related list and
comment guidelines (English and Sorani).  ``serve()`` runs one real HTTP server for both
outlets; ``write_outlet`` writes a YAML with no extraction rules at all.
"""

from __future__ import annotations

import itertools
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.sites.content import load_content

# furniture per outlet: (newsletter box, share text, related heading, comment guidelines)
FURNITURE = {
    "harbour": {
        "eng": ("Never miss a tide: the Harbour Letter reaches your inbox every weekday at six.",
                "Pass it on: Facebook · X · WhatsApp · Copy link",
                "More from the Herald",
                "We welcome comments that stay on topic; the desk reads every comment before "
                "it appears."),
        "ckb": ("هەموو بەیانییەک نامەی هاربەر بە خۆڕایی دەگاتە ئیمەیڵەکەت.",
                "بڵاوی بکەرەوە: فەیسبووک · ئێکس · واتسئاپ",
                "زیاتر لە هاربەر",
                "تکایە کۆمێنتەکانتان بە ڕێزەوە بنووسن؛ هەموو کۆمێنتێک پێش بڵاوبوونەوە "
                "دەخوێنرێتەوە."),
    },
    "valley": {
        "kmr": ("Nûçenameya Valley her sibê bi belaş tê qutiya te.",
                "Belav bike: Facebook · X · WhatsApp",
                "Ji Valley zêdetir",
                "Ji kerema xwe şîroveyên xwe bi rêz binivîsin; em berî weşanê her yekê dixwînin."),
        "tur": ("Valley bülteni her sabah ücretsiz olarak gelen kutunuza gelir.",
                "Paylaşın: Facebook · X · WhatsApp",
                "Valley'den daha fazlası",
                "Lütfen yorumlarınızı saygılı yazın; her yorum yayından önce okunur."),
    },
}
EDITIONS = {"harbour": {"english": "eng", "sorani": "ckb"},
            "valley": {"kurmanci": "kmr", "turkish": "tur"}}
STAMP = {"eng": "Last updated", "ckb": "دوایین نوێکردنەوە", "kmr": "Dawîn nûkirin",
         "tur": "Son güncelleme"}
CORRECTION = ("Correction: an earlier version of this story gave the wrong year for the "
              "opening of the bridge.")


@dataclass
class GenArticle:
    outlet: str
    path: str
    title: str
    section: str
    published: str
    language: str
    paragraphs: list[str]


def articles(outlet: str) -> list[GenArticle]:
    """The outlet's articles: every sample article of its editions, with a new path.

    One harbour article carries a correction line twice: recurring text that is content."""
    out = []
    for number, article in enumerate(a for a in load_content().articles
                                      if a.edition in EDITIONS[outlet]):
        language = EDITIONS[outlet][article.edition]
        paragraphs = list(article.paragraphs)
        if outlet == "harbour" and number == 0:
            paragraphs = [paragraphs[0], CORRECTION, *paragraphs[1:], CORRECTION]
        out.append(GenArticle(outlet, f"/{outlet}/{language}/{_slug(article.section)}/"
                                      f"{90001 + number}",
                              article.title, article.section, article.published[:10],
                              language, paragraphs))
    return out


def _slug(section: str) -> str:
    return section.lower().replace(" ", "-") if section.isascii() else \
        f"s{zlib.crc32(section.encode()) % 1000}"


def render(article: GenArticle, others: list[GenArticle]) -> str:
    news, share, related, guidelines = FURNITURE[article.outlet][article.language]
    body = [f"<p>{escape(p)}</p>" for p in article.paragraphs]
    body.insert(2, f'<div class="box-7"><p>{escape(news)}</p>'
                   f'<p><a href="/{article.outlet}/letter">→</a></p></div>')
    links = "".join(f'<li><a href="{o.path}">{escape(o.title)}</a></li>' for o in others[:3])
    day, hour = article.published, f"{10 + len(article.title) % 9}:{len(article.path) % 60:02d}"
    rtl = ' dir="rtl"' if article.language == "ckb" else ""
    return (
        f'<!DOCTYPE html><html lang="{article.language}"{rtl}><head><meta charset="utf-8">'
        f"<title>{escape(article.title)} | {article.outlet.title()}</title>"
        f'<meta property="article:published_time" content="{day}T08:00:00+00:00">'
        f'<meta property="article:section" content="{escape(article.section)}"></head><body>'
        f'<div class="top"><a href="/{article.outlet}/{article.language}">'
        f"{article.outlet.title()}</a></div>"
        f'<div class="wrap"><h1>{escape(article.title)}</h1>'
        f'<div class="line">{STAMP[article.language]} {day} {hour}</div>'
        f'<div class="story">{"".join(body)}'
        f"<p>{escape(share)}</p><h3>{escape(related)}</h3><ul>{links}</ul>"
        f"<p>{escape(guidelines)}</p></div></div>"
        f'<div class="end">{article.outlet.title()} 2026</div></body></html>')


def front(outlet: str, language: str, items: list[GenArticle]) -> str:
    links = "".join(f'<li><a href="{a.path}">{escape(a.title)}</a></li>' for a in items)
    return (f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8">'
            f"<title>{outlet.title()}</title></head><body><h1>{outlet.title()}</h1>"
            f"<ul>{links}</ul></body></html>")


def pages(outlet: str) -> dict[str, str]:
    """Path -> HTML of every page of the outlet (fronts and articles)."""
    items = articles(outlet)
    out = {}
    for language in sorted({a.language for a in items}):
        mine = [a for a in items if a.language == language]
        out[f"/{outlet}/{language}"] = front(outlet, language, mine)
        for article in mine:
            out[article.path] = render(article, [a for a in mine if a is not article])
    return out


@dataclass
class GeneratedSite:
    base: str
    pages: dict[str, dict[str, str]]  # outlet -> path -> html

    def write_outlet(self, outlet: str, directory: Path) -> Path:
        """An outlet YAML with no extraction rules (no prune_xpaths, drop_text...)."""
        languages = sorted({a.language for a in articles(outlet)})
        path = directory / f"{outlet}.yaml"
        starts = "".join(f"  - {self.base}/{outlet}/{lang}\n" for lang in languages)
        path.write_text(f"name: {outlet}\nstart_urls:\n{starts}"
                        f"article_urls: ['/{outlet}/[a-z]+/[^/]+/9\\d{{4}}$']\n"
                        f"language: {languages[0]}\ndownload_delay: 0\nconcurrency: 4\n",
                        encoding="utf-8")
        return path


@contextmanager
def serve() -> Iterator[GeneratedSite]:
    """Both generated outlets on one real HTTP server (127.0.0.1, a free port)."""
    by_outlet = {name: pages(name) for name in EDITIONS}
    table = {path: html for outlet_pages in by_outlet.values()
             for path, html in outlet_pages.items()}
    with serve_table(table) as base:
        yield GeneratedSite(base, by_outlet)


@contextmanager
def serve_table(table: dict[str, str], vary: bool = False) -> Iterator[str]:
    """Serve path -> HTML on a real HTTP server (127.0.0.1, a free port); yields its base.
    ``vary``: every response ends with a new comment (a page whose bytes change on every
    fetch while its text does not, like a page with a rotating ad)."""
    served = itertools.count()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/robots.txt":
                self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
            elif self.path in table:
                tail = f"<!-- {next(served)} -->" if vary else ""
                self._send(200, (table[self.path] + tail).encode(), "text/html; charset=utf-8")
            else:
                self._send(404, b"not found", "text/plain")

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
