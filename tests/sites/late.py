"""A generated outlet whose furniture is only recognisable late in a crawl (issue 12's cold
start).

Every third of its ``ARTICLES`` pages carries a newsletter box between the paragraphs, in
four sections over several days: a third of the pages, enough to be template once the
store has seen them all, but not while it has seen only the pages without it.  Two front
pages list the same articles in opposite orders (box pages first, box pages last), so two
crawls of the same articles meet the furniture early or late; a third lists only a few,
three of them with the box (too few to learn it).  Even-numbered articles are published
``soon`` (after their first capture: their re-checks count from it), the others in May.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from tests.sites.content import load_content

ARTICLES = 48
BOX = "Tide tables in your inbox: the Quay Letter is free for readers who sign up today."
SECTIONS = ("harbour", "ferries", "weather", "markets")
ORDERS = ("box-first", "box-last")


@dataclass
class LateArticle:
    path: str
    title: str
    section: str
    published: str
    paragraphs: list[str]
    boxed: bool


EARLY = (0, 6, 3, 1, 2, 4, 5, 7, 8, 10, 11, 13)  # the "early" front: three with the box


def articles(soon: str) -> list[LateArticle]:
    samples = load_content().articles
    out = []
    for number in range(ARTICLES):
        sample = samples[number % len(samples)]
        paragraphs = list(sample.paragraphs)
        paragraphs[0] = f"Quay report {number}: {paragraphs[0]}"
        section = SECTIONS[number % len(SECTIONS)]
        out.append(LateArticle(f"/quay/eng/{section}/{90001 + number}",
                               f"{sample.title} ({number})", section,
                               soon if number % 2 == 0 else f"2026-05-{1 + number % 5:02d}",
                               paragraphs, number % 3 == 0))
    return out


def render(article: LateArticle) -> str:
    published = article.published if "T" in article.published else \
        f"{article.published}T08:00:00+00:00"
    body = [f"<p>{escape(p)}</p>" for p in article.paragraphs]
    if article.boxed:
        body.insert(2, f'<div class="box-7"><p>{escape(BOX)}</p>'
                       f'<p><a href="/quay/letter">→</a></p></div>')
    return (
        '<!DOCTYPE html><html lang="eng"><head><meta charset="utf-8">'
        f"<title>{escape(article.title)} | Quay</title>"
        f'<meta property="article:published_time" content="{published}">'
        f'<meta property="article:section" content="{article.section}"></head><body>'
        f'<div class="wrap"><h1>{escape(article.title)}</h1>'
        f'<div class="story">{"".join(body)}</div></div></body></html>')


def pages(soon: str) -> dict[str, str]:
    """Path -> HTML: the fronts and every article."""
    items = articles(soon)
    boxed = [a for a in items if a.boxed]
    plain = [a for a in items if not a.boxed]
    out = {}
    for order, listed in (("box-first", boxed + plain), ("box-last", plain + boxed),
                          ("early", [items[n] for n in EARLY])):
        links = "".join(f'<li><a href="{a.path}">{escape(a.title)}</a></li>' for a in listed)
        out[f"/quay/{order}"] = (f'<!DOCTYPE html><html lang="eng"><head><meta charset="utf-8">'
                                 f"<title>Quay</title></head><body><ul>{links}</ul></body></html>")
    out.update({a.path: render(a) for a in items})
    return out


def write_outlet(base: str, directory: Path, order: str) -> Path:
    """An outlet YAML with no extraction rules, starting from the front of ``order``; one
    request at a time, so the pages are met in the front's order (or its reverse)."""
    path = directory / f"quay-{order}.yaml"
    path.write_text(f"name: quay\nstart_urls:\n  - {base}/quay/{order}\n"
                    "article_urls: ['/quay/eng/[^/]+/9\\d{4}$']\n"
                    "language: eng\ndownload_delay: 0\nconcurrency: 1\n", encoding="utf-8")
    return path
